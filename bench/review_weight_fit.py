"""Fit time of the fast models: review rows repeated (the old "retrain now") vs one weighted row each.

Both fit gold + written sentences + the decisions on the first N sentences of the development
transcripts (their adjudicated codes, every other category absent), the review weight as
repeated rows or as a sample weight; alternating, in one process with the parse and embedding
caches warm, so the only difference is the number of rows. Prints wall and CPU seconds.

    KB_CODER_TUNE_EPOCHS=0 python bench/review_weight_fit.py --cache-dir DIR [--reviews 50] [--rounds 2]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kb.coding.book import load_view  # noqa: E402
from kb.coding.coder import Coder  # noqa: E402
from kb.coding.data import REVIEW_WEIGHT, build_training_set, load_gold, load_written  # noqa: E402
from kb.coding.supervised import TrainingSet  # noqa: E402

DEV = ROOT / "eval" / "dev_transcripts" / "dev_gold.jsonl"


def repeated(data: TrainingSet) -> TrainingSet:
    """The same rows, each weighted row repeated `weight` times at weight 1 (the old way)."""
    out = TrainingSet()
    w = data.sample_weights()
    cats = list(data.labels)
    for i, text in enumerate(data.texts):
        codes = {c: (data.labels[c][i], data.polarities[c][i]) for c in cats}
        for _ in range(int(round(w[i]))):
            out.add(text, data.groups[i], codes, cats, known_negative=False, evaluable=data.evaluable[i])
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache-dir", type=Path, default=None)
    ap.add_argument("--reviews", type=int, default=50)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    book = load_view()
    rows = [json.loads(line) for line in DEV.read_text(encoding="utf-8").splitlines() if line.strip()]
    rows = [r for r in rows if r.get("speaker") != "interviewer"][: args.reviews]
    reviews = [
        {
            "text": r["text"],
            "category": c["category"],
            "polarity": c.get("polarity"),
            "label": 1,
            "complete": True,
        }
        for r in rows
        for c in r["codes"]
    ]
    weighted = build_training_set(
        book, load_gold(), reviews, written=load_written(), review_weight=REVIEW_WEIGHT
    )
    variants = {"repeated": repeated(weighted), "weighted": weighted}
    coder = Coder(book, embedder="use", cache_dir=args.cache_dir)
    coder.analyzer.analyse(weighted.texts, exclude_self=True)  # parse and embed once, outside the timing
    for k in range(args.rounds):
        for name, data in variants.items():
            t0, c0 = time.perf_counter(), time.process_time()
            coder.fit(data, tune_epochs=0)
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
            print(
                f"round {k + 1} {name}: {len(data)} rows, {wall:.1f} s wall, {cpu:.1f} s CPU "
                f"(load average {os.getloadavg()[0]:.1f})",
                flush=True,
            )


if __name__ == "__main__":
    main()
