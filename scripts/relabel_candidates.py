"""List gold/training sentences that may be recommendations now coded as obstacles, for blind re-coding.

A candidate has an `obstacle` code, an advice or need marker (…해야 하다, …면 좋겠다, 필요/요구,
read from Kiwi morphemes by kb.coding.spoken) and a sign that someone other than the case's own
organisation is addressed: the private group (firms talking about government) or another actor
named as topic/subject (공공은, 정부가, 지자체는 …), or a general prescription (no case: codebook
examples, written sentences). A second kind: sentences about an adopted strategy or master plan
(플랜, 마스터플랜, 기본계획, 국가 전략, 계획을 수립) without an institutional_basis code, which the
codebook now counts as institutional basis (표 7-1). Nothing is relabelled here; coders decide blind.

    python scripts/relabel_candidates.py [--out /work/blind/relabel_candidates.jsonl]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kb.coding.book import load_view  # noqa: E402
from kb.coding.data import load_gold, load_written  # noqa: E402
from kb.coding.spoken import markers, tokens  # noqa: E402


def candidates() -> list[dict]:
    rows = [{**r, "source": "eval/gold"} for r in load_gold()]
    rows += [{**r, "source": "corpus/training"} for r in load_written(ROOT / "corpus" / "training")]
    for cat in load_view().categories:
        for k, ex in enumerate(cat.examples):
            rows.append(
                {
                    "id": f"codebook:{cat.id}:{k}",
                    "text": ex.text,
                    "codes": [{"category": cat.id, "polarity": ex.polarity}],
                    "source": "corpus/codebook.yaml",
                }
            )
    out = []
    for r in rows:
        if is_plan(r["text"]) and not any(
            c.get("category") == "institutional_basis" for c in r.get("codes", [])
        ):
            out.append(
                {**_record(r), "why": ["adopted strategy/plan: institutional_basis? (codebook 2026-12)"]}
            )
            continue
        if not any(c.get("polarity") == "obstacle" for c in r.get("codes", [])):
            continue
        m = markers(r["text"])
        if not (m.get("advice") or m.get("need")):
            continue
        group = r.get("group")
        reasons = []
        if group == "private":
            reasons.append("private group")
        if m.get("other_actor"):
            reasons.append("another actor named")
        if not r.get("case") and not m.get("own_actor"):
            reasons.append("no case: general prescription?")
        if not reasons:
            continue
        out.append({**_record(r), "why": reasons})
    return out


def _record(r: dict) -> dict:
    keys = ("id", "source", "case", "group", "text", "codes")
    return {k: r.get(k) for k in keys}


PLAN_WORDS = {"플랜", "마스터플랜", "로드맵"}


def is_plan(text: str) -> bool:
    """Names an adopted strategy or plan (Kiwi morphemes): 플랜/마스터플랜/로드맵, 기본·종합 계획,
    국가 … 전략, or 계획/전략 + 수립."""
    toks = [f for f, t in tokens(text) if t.startswith(("NN", "SL"))]
    pairs = set(zip(toks, toks[1:], strict=False))
    if PLAN_WORDS & set(toks) or {("기본", "계획"), ("종합", "계획")} & pairs:
        return True
    if any(a == "국가" and b == "전략" for a, b in pairs) or any(
        b == "전략" and a == "인공지능" for a, b in pairs
    ):
        return True
    return any(a in ("계획", "전략") and b == "수립" for a, b in pairs)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="/work/blind/relabel_candidates.jsonl")
    args = ap.parse_args()
    rows = candidates()
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    tmp.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    tmp.replace(out)
    by = {}
    for r in rows:
        by[r["source"]] = by.get(r["source"], 0) + 1
    print(f"{len(rows)} candidates → {out}: {by}")


if __name__ == "__main__":
    main()
