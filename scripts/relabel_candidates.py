"""List gold/training sentences that may be recommendations now coded as obstacles, for blind re-coding.

A candidate has an `obstacle` code, an advice or need marker (…해야 하다, …면 좋겠다, 필요/요구,
read from Kiwi morphemes by kb.coding.spoken) and a sign that someone other than the case's own
organisation is addressed: the private group (firms talking about government) or another actor
named as topic/subject (공공은, 정부가, 지자체는 …), or a general prescription (no case: codebook
examples, written sentences). Nothing is relabelled here; coders decide blind.

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
from kb.coding.spoken import markers  # noqa: E402


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
        out.append(
            {
                "id": r["id"],
                "source": r["source"],
                "case": r.get("case"),
                "group": group,
                "text": r["text"],
                "codes": r["codes"],
                "why": reasons,
            }
        )
    return out


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
