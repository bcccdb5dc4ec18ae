"""Agreement between the two human coders on the overlap set (eval/gold/overlap_*.jsonl).

This is the bar for the auto-coder: two careful humans coding the same sentences
independently with the codebook.

    python -m bench.human_agreement
"""

from __future__ import annotations

import json

import krippendorff
import numpy as np

from bench.common import ROOT, md_table, write_fragment


def presence(rows: list[dict], cat: str) -> list[int]:
    return [int(any(c["category"] == cat for c in r["codes"])) for r in rows]


def main() -> None:
    gold = ROOT / "eval" / "gold"
    a = [json.loads(x) for x in (gold / "overlap_g1.jsonl").read_text(encoding="utf-8").splitlines() if x]
    b = [json.loads(x) for x in (gold / "overlap_g2.jsonl").read_text(encoding="utf-8").splitlines() if x]
    assert [r["text"] for r in a] == [r["text"] for r in b], "overlap files must code the same sentences"
    cats = sorted({c["category"] for r in a + b for c in r["codes"]})
    rows = []
    for cat in cats:
        x, y = presence(a, cat), presence(b, cat)
        both = sum(i & j for i, j in zip(x, y, strict=True))
        f1 = 2 * both / (sum(x) + sum(y))
        alpha = krippendorff.alpha(reliability_data=np.array([x, y]), level_of_measurement="nominal")
        rows.append({"category": cat, "coder 1": sum(x), "coder 2": sum(y), "F1": f1, "alpha": float(alpha)})
    same = total = 0
    for r, s in zip(a, b, strict=True):
        pa = {c["category"]: c["polarity"] for c in r["codes"]}
        pb = {c["category"]: c["polarity"] for c in s["codes"]}
        for cat in set(pa) & set(pb):
            total += 1
            same += pa[cat] == pb[cat]
    body = (
        f"{len(a)} sentences of 제4장 제5절 소결 coded independently by two coders.\n\n"
        + md_table(rows, ["category", "coder 1", "coder 2", "F1", "alpha"])
        + f"\n\nMean α {np.mean([r['alpha'] for r in rows]):.3f}, "
        f"macro-F1 {np.mean([r['F1'] for r in rows]):.3f}, "
        f"polarity agreement on codes both gave: {same}/{total} ({same / total:.1%}). Categories absent "
        "from both coders' overlap codes are not listed. 40 sentences is a small sample: read these as rough."
    )
    write_fragment(
        "human_agreement", "Agreement between human coders", "python -m bench.human_agreement", body
    )


if __name__ == "__main__":
    main()
