"""Choose the interview settings (context weights, top-category fallback) on the development transcripts.

The new-transcript gold (eval/transcripts/) is a test set and is never read here. The development
transcripts (eval/dev_transcripts/dev_gold.jsonl: other transcripts, written and double-coded the
same way for development) are coded by the production fast coder (trained as `kb build` trains
it) under a grid of settings; the table shows macro-F1, polarity and the uncoded share for each,
and the setting chosen is the best macro-F1 whose uncoded share is within 5 points of the coders'.

    KB_CODER_TUNE_EPOCHS=0 python bench/calibrate_dev.py [--dev PATH] [--cache-dir DIR]

With --answers it instead chooses how interview answers keep their codes (kb.coding.answers): the
current coder's per-category diagnosis on the dev transcripts, then for each mechanism (a global
threshold offset, per-category offsets shrunk towards it, a stricter threshold for categories that
arrive only through context, keeping codes within x of the sentence's best, a cap on codes per
sentence, and their combination; then the answer context scale re-chosen together with offset and
within-x) leave-one-transcript-out: parameters chosen on three transcripts, scored on the fourth.
The values to ship are those chosen on all four; it prints them (`ANSWER_CONTEXT_SCALE` for
kb/coding/context.py, `ANSWER_CALIBRATION` for kb/coding/answers.py). Re-run it after the
training sentences change: the values depend on the trained models' confidences.

    KB_CODER_TUNE_EPOCHS=0 python bench/calibrate_dev.py --answers [--cache-dir DIR]

With --context it asks, per category, whether the context blend adds more wrong codes than right
ones, and scores general restrictions of the context leave-one-transcript-out (bench/context_dev.py).

    KB_CODER_TUNE_EPOCHS=0 python bench/calibrate_dev.py --context [--cache-dir DIR]
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.eval_coding import load_transcripts, metrics, row_context  # noqa: E402
from kb.coding import context as ctx_module  # noqa: E402
from kb.coding.book import load_view  # noqa: E402
from kb.coding.coder import Coder  # noqa: E402
from kb.coding.data import build_training_set, load_gold, load_written, without_transcripts  # noqa: E402

DEV = ROOT / "eval" / "dev_transcripts" / "dev_gold.jsonl"


def memoise(coder: Coder) -> None:
    """Parse and analyse each text once across the grid (only the settings change)."""
    nlp, analyse_docs = coder.analyzer.nlp, coder.analyzer.analyse_docs
    docs: dict[str, object] = {}
    done: dict[str, object] = {}

    def parse(text: str) -> object:
        if text not in docs:
            docs[text] = nlp(text)
        return docs[text]

    def analyse(batch: list, exclude_self: bool = False) -> list:
        todo = [d for d in batch if d.text not in done]
        for d, a in zip(todo, analyse_docs(todo, exclude_self=exclude_self), strict=True):
            done[d.text] = a
        return [done[d.text] for d in batch]

    coder.analyzer.nlp = parse  # type: ignore[assignment]
    coder.analyzer.analyse_docs = analyse  # type: ignore[method-assign]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dev", type=Path, default=DEV)
    ap.add_argument("--embedder", default="use")
    ap.add_argument("--cache-dir", type=Path, default=None)
    ap.add_argument("--fallbacks", default="0.25,0.3,0.35,0.4,0.5")
    ap.add_argument("--context-scales", default="0,0.5,1,1.5,2", help="ANSWER_CONTEXT_SCALE values")
    ap.add_argument(
        "--answers", action="store_true", help="choose kb.coding.answers (leave-one-transcript-out)"
    )
    ap.add_argument(
        "--answer-scales",
        default="1,1.5,2,2.5,3",
        help="with --answers: answer context scales re-chosen together with offset × within",
    )
    ap.add_argument(
        "--context", action="store_true", help="per-category context over-reach (bench/context_dev.py)"
    )
    args = ap.parse_args()
    rows = load_transcripts(args.dev)
    if not rows:
        sys.exit(f"no development transcripts at {args.dev}")
    t0 = time.time()
    book = load_view()
    coder = Coder(book, embedder=args.embedder, cache_dir=args.cache_dir)
    coder.fit(
        build_training_set(book, load_gold(), written=without_transcripts(load_written())), tune_epochs=0
    )
    coder.embedder.save()
    memoise(coder)
    if args.context:
        from bench.context_dev import run as run_context

        run_context(coder, rows, book.ids)
        print(f"{time.time() - t0:.0f} s")
        return
    if args.answers:
        from bench.calibrate_answers import run

        run(coder, rows, book.ids, [float(s) for s in args.answer_scales.split(",") if s])
        print(f"{time.time() - t0:.0f} s")
        return
    texts = [r["text"] for r in rows]
    contexts = [row_context(r) for r in rows]
    results = []
    for scale, fallback in itertools.product(
        [float(s) for s in args.context_scales.split(",")], [float(f) for f in args.fallbacks.split(",")]
    ):
        ctx_module.ANSWER_CONTEXT_SCALE = scale  # every dev row is an interview answer
        coder.fallback_min = fallback
        res = coder.code_texts(texts, contexts=contexts)
        preds = [{c["category"]: c["polarity"] for c in r["codes"]} for r in res]
        m = metrics(rows, preds, book.ids)
        results.append((scale, fallback, m))
        print(
            f"context ×{scale:g} fallback {fallback:g}: macro-F1 {m['macro_f1']:.3f} polarity "
            f"{m['polarity_acc']:.3f} uncoded {m['uncoded']:.1%} (coders {m['gold_uncoded']:.1%})",
            file=sys.stderr,
        )
    ok = [r for r in results if abs(r[2]["uncoded"] - r[2]["gold_uncoded"]) <= 0.05] or results
    best = max(ok, key=lambda r: r[2]["macro_f1"])
    print(f"chosen: context ×{best[0]:g}, fallback {best[1]:g}; {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
