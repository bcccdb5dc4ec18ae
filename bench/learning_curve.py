"""Learning from coders: how much a few reviewed sentences of a new transcript improve the rest of it.

For each new transcript (eval/transcripts gold, never trained on otherwise), the production coder
(report gold + codebook examples + written sentences, fast models) codes the transcript with its
interview context. A simulated coder then reviews sentences in the review queue's order
(kb.review.queue.queue_order: most uncertain first, every third the most certain left): for each
reviewed sentence the auto codes that the gold has are accepted (with the gold polarity), the
others rejected, and the gold codes the coder missed are added. After 25, 50 and 100 reviewed
sentences the fast models are retrained with those decisions (kb.coding.retrain's weighting) and
the rest of the transcript is coded again; it is scored against the gold next to the untrained
coder's codes on the same sentences.

    KB_CODER_TUNE_EPOCHS=0 python bench/learning_curve.py [--steps 25,50,100] [--transcripts PATH]
        [--out docs/bench/learning_curve.md] [--review-weight N] [--no-implicit]
        [--confident-every K]

The default transcripts are the test set (eval/transcripts, reported once). Choices are made on
the development transcripts: `--transcripts eval/dev_transcripts/dev_gold.jsonl --out
docs/bench/learning_curve_dev.md`.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.eval_coding import load_transcripts, metrics, row_context  # noqa: E402
from kb.coding.book import load_view  # noqa: E402
from kb.coding.coder import Coder  # noqa: E402
from kb.coding.data import build_training_set, load_gold, load_written  # noqa: E402
from kb.coding.retrain import REVIEW_WEIGHT  # noqa: E402
from kb.review.queue import CONFIDENT_EVERY, queue_order  # noqa: E402


def decisions(row: dict, auto: dict, implicit: bool = True) -> list[dict]:
    """What a coder reviewing `row` records: accept/add gold codes, reject the auto codes not in gold.

    Every suggestion gets a decision, so a sentence with suggestions is done in the queue and its
    rows are `complete` (kb.review.merge.complete_passages), unless `implicit` is off."""
    gold = {c["category"]: c["polarity"] for c in row["codes"]}
    done = implicit and bool(auto["codes"])
    out = [
        {"text": row["text"], "category": c, "polarity": p, "label": 1, "complete": done}
        for c, p in gold.items()
    ]
    out += [
        {
            "text": row["text"],
            "category": c["category"],
            "polarity": c["polarity"],
            "label": 0,
            "complete": done,
        }
        for c in auto["codes"]
        if c["category"] not in gold
    ]
    return out


def code(coder: Coder, rows: list[dict]) -> list[dict]:
    return coder.code_texts([r["text"] for r in rows], contexts=[row_context(r) for r in rows])


def as_preds(records: list[dict]) -> list[dict]:
    return [{c["category"]: c["polarity"] for c in r["codes"]} for r in records]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", default="25,50,100")
    ap.add_argument("--transcripts", type=Path, default=None)
    ap.add_argument("--embedder", default="use")
    ap.add_argument("--cache-dir", type=Path, default=None, help="keep sentence embeddings here between runs")
    ap.add_argument("--out", default=str(ROOT / "docs" / "bench" / "learning_curve.md"))
    ap.add_argument("--review-weight", type=float, default=REVIEW_WEIGHT, help="as quick_retrain's")
    ap.add_argument(
        "--confident-every", type=int, default=CONFIDENT_EVERY, help="queue: k-th = most certain; 0 off"
    )
    ap.add_argument(
        "--no-implicit", action="store_true", help="review rows say nothing of the categories not decided"
    )
    args = ap.parse_args()
    rows = load_transcripts(args.transcripts)
    if not rows:
        sys.exit("no new-transcript gold yet (eval/transcripts/transcripts_gold.jsonl)")
    steps = [int(s) for s in args.steps.split(",")]
    t0 = time.time()
    book = load_view()
    report_gold, written = load_gold(), load_written()
    coder = Coder(book, embedder=args.embedder, cache_dir=args.cache_dir)
    if coder.analyzer.cache is None:  # as in the app: parsed texts kept between retrains
        coder.analyzer.use_cache(None)
    t1 = time.time()  # the first retrain: parse every training text, fit
    coder.fit(build_training_set(book, report_gold, written=written), tune_epochs=0)
    first_fit = time.time() - t1
    coder.embedder.save()
    coder.analyzer.cache.save()  # a no-op without --cache-dir
    n_train = len(set(build_training_set(book, report_gold, written=written).texts))
    base = coder.model
    by_tr: dict[str, list[dict]] = {}
    for r in rows:
        by_tr.setdefault(str(r.get("transcript")), []).append(r)
    pooled: dict[int, dict[str, list]] = {n: {"gold": [], "base": [], "after": []} for n in steps}
    per_tr, retrain_s = [], []
    for name, tr_rows in sorted(by_tr.items()):
        coder.model = base
        auto = code(coder, tr_rows)
        order = queue_order(auto, args.confident_every)
        for n in steps:
            if n >= len(tr_rows):
                continue
            seen, rest = order[:n], sorted(order[n:])
            reviews = [d for i in seen for d in decisions(tr_rows[i], auto[i], not args.no_implicit)]
            t1 = time.time()
            data = build_training_set(
                book, report_gold, reviews, written=written, review_weight=args.review_weight
            )
            coder.fit(data, tune_epochs=0)  # parses only the reviewed sentences (kb.coding.parse_cache)
            retrain_s.append(time.time() - t1)
            rest_rows = [tr_rows[i] for i in rest]
            after = as_preds(code(coder, rest_rows))
            before = as_preds([auto[i] for i in rest])
            pooled[n]["gold"] += rest_rows
            pooled[n]["base"] += before
            pooled[n]["after"] += after
            mb, ma = metrics(rest_rows, before, book.ids), metrics(rest_rows, after, book.ids)
            per_tr.append((name, n, len(rest_rows), mb, ma))
            print(f"{name} n={n}: {mb['macro_f1']:.3f} → {ma['macro_f1']:.3f}", file=sys.stderr)
            coder.model = base
    lines = [
        "## Learning from coders (new transcripts)"
        if args.transcripts is None
        else f"## Learning from coders: development transcripts `{args.transcripts}` (for choosing only)",
        "",
        "Simulated review in the review queue's order (most uncertain first"
        + (f"; one item in {args.confident_every} is the most certain left" if args.confident_every else "")
        + "), decisions = the adjudicated "
        "gold codes of the reviewed sentences; after N reviewed sentences the fast models are retrained "
        f"(review rows weighted ×{args.review_weight}; "
        + (
            "no implicit negatives"
            if args.no_implicit
            else "a done sentence's other categories taken as absent"
        )
        + ") and the rest of the same transcript is coded again. "
        "Before = the coder without those decisions, on the same remaining sentences. "
        f"The first retrain (parse the {n_train} training texts, fit the fast models; embeddings cached) "
        f'took {first_fit:.0f} s; later ones, as "retrain now" runs them with the parse cache, '
        f"took {np.mean(retrain_s):.0f} s on average (max {np.max(retrain_s):.0f} s). Total run "
        f"{time.time() - t0:.0f} s (load average {os.getloadavg()[0]:.0f} on 2 cores at the end).",
        "",
        f"Reproduce: `KB_CODER_TUNE_EPOCHS=0 python bench/learning_curve.py {' '.join(sys.argv[1:])}`",
        "",
        "| reviewed sentences | remaining sentences (pooled) | macro-F1 before → after | Δ | "
        "polarity before → after | uncoded before → after (gold) |",
        "|---|---|---|---|---|---|",
    ]
    for n in steps:
        p = pooled[n]
        if not p["gold"]:
            continue
        mb, ma = metrics(p["gold"], p["base"], book.ids), metrics(p["gold"], p["after"], book.ids)
        lines.append(
            f"| {n} | {len(p['gold'])} | {mb['macro_f1']:.3f} → {ma['macro_f1']:.3f} | "
            f"{ma['macro_f1'] - mb['macro_f1']:+.3f} | {mb['polarity_acc']:.3f} → {ma['polarity_acc']:.3f} | "
            f"{mb['uncoded']:.1%} → {ma['uncoded']:.1%} ({mb['gold_uncoded']:.1%}) |"
        )
    lines += ["", "Per transcript (macro-F1 on its remaining sentences):", ""]
    lines += ["| transcript | reviewed | remaining | before | after |", "|---|---|---|---|---|"]
    for name, n, k, mb, ma in per_tr:
        lines.append(f"| {name} | {n} | {k} | {mb['macro_f1']:.3f} | {ma['macro_f1']:.3f} |")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
