"""Agreement between the two human coders of the gold set, and of each with the adjudicated gold.

Coder A (eval/gold/coder_a.jsonl) and coder B (eval/gold/coder_b.jsonl) coded the same 756
sentences independently with the codebook; the gold (eval/gold/part*.jsonl) is their
adjudicated consensus. A vs B is the bar for the auto-coder: how far two careful coders agree.
The written training sentences (corpus/training/) are checked the same way: a second coder coded
a random sample of them blind (eval/written_blind_sample.jsonl).

    python -m bench.human_agreement
"""

from __future__ import annotations

import json
from pathlib import Path

import krippendorff
import numpy as np

from bench.common import ROOT, md_table, write_fragment

GOLD = ROOT / "eval" / "gold"


def read(path: Path) -> dict[str, list[dict]]:
    rows = (json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip())
    return {r["id"]: r["codes"] for r in rows}


def read_written() -> dict[str, list[dict]]:
    from kb.coding.data import load_written

    return {r["id"]: r["codes"] for r in load_written(ROOT / "corpus" / "training")}


def agreement(a: dict[str, list[dict]], b: dict[str, list[dict]], cats: list[str]) -> dict:
    """Per-category F1 and α of presence, and polarity agreement on codes both gave."""
    ids = sorted(set(a) & set(b))
    per_cat = []
    for cat in cats:
        x = np.array([any(c["category"] == cat for c in a[i]) for i in ids], int)
        y = np.array([any(c["category"] == cat for c in b[i]) for i in ids], int)
        both = int(np.sum(x & y))
        f1 = 2 * both / (x.sum() + y.sum()) if x.sum() + y.sum() else float("nan")
        alpha = (
            float(krippendorff.alpha(reliability_data=np.vstack([x, y]), level_of_measurement="nominal"))
            if len(set(x.tolist()) | set(y.tolist())) > 1
            else float("nan")
        )
        per_cat.append({"category": cat, "A": int(x.sum()), "B": int(y.sum()), "F1": f1, "alpha": alpha})
    same = total = 0
    for i in ids:
        pa = {c["category"]: c["polarity"] for c in a[i]}
        pb = {c["category"]: c["polarity"] for c in b[i]}
        for cat in set(pa) & set(pb):
            total += 1
            same += pa[cat] == pb[cat]
    return {
        "n": len(ids),
        "per_category": per_cat,
        "macro_f1": float(np.nanmean([r["F1"] for r in per_cat])),
        "alpha": float(np.nanmean([r["alpha"] for r in per_cat])),
        "polarity": same / total if total else float("nan"),
        "polarity_n": total,
    }


def main() -> None:
    from kb.coding.book import load_view

    cats = load_view().ids
    coder_a, coder_b = read(GOLD / "coder_a.jsonl"), read(GOLD / "coder_b.jsonl")
    gold: dict[str, list[dict]] = {}
    for path in sorted(GOLD.glob("part*.jsonl")):
        gold.update(read(path))
    pairs = {"A vs B": (coder_a, coder_b), "A vs gold": (coder_a, gold), "B vs gold": (coder_b, gold)}
    sample = read(ROOT / "eval" / "written_blind_sample.jsonl")
    written = {k: v for k, v in read_written().items() if k in sample}
    pairs["written: writer vs blind coder (sample)"] = (written, sample)
    results = {name: agreement(x, y, cats) for name, (x, y) in pairs.items()}
    summary = [
        {
            "pair": name,
            "sentences": r["n"],
            "macro-F1": r["macro_f1"],
            "mean α": r["alpha"],
            "polarity agreement": f"{r['polarity']:.3f} (n={r['polarity_n']})",
        }
        for name, r in results.items()
    ]
    body = (
        f"{results['A vs B']['n']} sentences of chapters 4–6 (all 13 cases), coded independently by coder A "
        "and coder B (B coded blind: no access to A's codes or the model); the gold is their adjudicated "
        "consensus. A vs B is the human bar the auto-coder is measured against. The last row checks the "
        "written training sentences: a second coder coded a random sample blind.\n\n"
        + md_table(summary, ["pair", "sentences", "macro-F1", "mean α", "polarity agreement"])
        + "\n\nA vs B per category:\n\n"
        + md_table(results["A vs B"]["per_category"], ["category", "A", "B", "F1", "alpha"])
    )
    write_fragment(
        "human_agreement", "Agreement between human coders", "python -m bench.human_agreement", body
    )


if __name__ == "__main__":
    main()
