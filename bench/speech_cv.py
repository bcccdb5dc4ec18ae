"""Development check for speech: cross-validation over the written interview-style training sentences.

The new-transcript gold is a test set: no choice may be made on it. Choices about speech (polarity
markers, recall thresholds, the top-category fallback) are made here instead and on the development
transcripts (eval/dev_transcripts/). The written sentences in interview style (corpus/training/,
`style: interview`) are dealt into folds; each fold is coded as an interview answer by a coder
trained as `kb build` trains it (report gold + codebook examples + the other written sentences,
fast models) and scored like the transcripts. Report-style written sentences stay in every
training set.

    KB_CODER_TUNE_EPOCHS=0 python bench/speech_cv.py [--folds 5] [--fallback 0.35] [--cache-dir DIR]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.eval_coding import metrics  # noqa: E402
from kb.coding.book import load_view  # noqa: E402
from kb.coding.coder import Coder  # noqa: E402
from kb.coding.data import build_training_set, load_gold, load_written  # noqa: E402
from kb.coding.training import train_model  # noqa: E402


def speech_folds(written: list[dict], n_folds: int) -> list[list[int]]:
    """Indices of the interview-style written rows, dealt into seeded folds."""
    idx = [i for i, r in enumerate(written) if r.get("style") == "interview"]
    order = [idx[k] for k in np.random.RandomState(0).permutation(len(idx))]
    return [sorted(order[f::n_folds]) for f in range(n_folds)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--fallback", type=float, default=None)
    ap.add_argument("--embedder", default="use")
    ap.add_argument("--cache-dir", type=Path, default=None)
    args = ap.parse_args()
    t0 = time.time()
    book = load_view()
    gold, written = load_gold(), load_written()
    coder = Coder(book, embedder=args.embedder, cache_dir=args.cache_dir)
    coder.fallback_min = args.fallback
    texts = [e.text for c in book.categories for e in c.examples] + [r["text"] for r in written + gold]
    texts = list(dict.fromkeys(texts))
    cache = dict(zip(texts, coder.analyzer.analyse(texts, exclude_self=True), strict=True))
    coder.embedder.save()
    rows, preds = [], []
    for fold in speech_folds(written, args.folds):
        held = set(fold)
        data = build_training_set(book, gold, written=[r for i, r in enumerate(written) if i not in held])
        coder.model = train_model(
            coder.analyzer,
            data,
            "full",
            coder.embedder_spec,
            analyses=[cache[t] for t in data.texts],
            tune_epochs=0,
        )
        test = [written[i] for i in fold]
        res = coder.code_texts([r["text"] for r in test], contexts=[{"speaker": "응답자"}] * len(test))
        rows += test
        preds += [{c["category"]: c["polarity"] for c in r["codes"]} for r in res]
    m = metrics(rows, preds, book.ids)
    print(
        f"speech CV ({len(rows)} sentences, {args.folds} folds, fallback {args.fallback}): "
        f"macro-F1 {m['macro_f1']:.3f} micro-F1 {m['micro_f1']:.3f} polarity {m['polarity_acc']:.3f} "
        f"(n={m['polarity_n']}) uncoded {m['uncoded']:.1%} vs {m['gold_uncoded']:.1%}; "
        f"{time.time() - t0:.0f} s"
    )


if __name__ == "__main__":
    main()
