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
        [--out docs/bench/learning_curve.md] [--review-weight N] [--review-polarity-weight N] [--no-implicit]
        [--confident-every K] [--weight-grid 0,30,60,100] [--shift-grid strength:prior,...]

`--weight-grid` retrains once more per listed review weight (0: no retrain) and `--shift-grid`
codes the rest again with per-document threshold shifts from the decisions (`category_shifts`;
tried, not shipped) on each of those models; the output then lists every variant's Δ per
transcript and the leave-one-transcript-out choice among them.

The default transcripts are the test set (eval/transcripts, reported once). Choices are made on
the development transcripts: `--transcripts eval/dev_transcripts/dev_gold.jsonl --out
docs/bench/learning_curve_dev.md`.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.eval_coding import load_transcripts, metrics, row_context  # noqa: E402
from kb.coding.book import load_view  # noqa: E402
from kb.coding.coder import Coder  # noqa: E402
from kb.coding.data import (  # noqa: E402
    REVIEW_POLARITY_WEIGHT,
    REVIEW_WEIGHT,
    build_training_set,
    load_gold,
    load_written,
    without_transcripts,
)
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


def category_shifts(decisions: list[tuple[str, str]], strength: float, prior: float) -> dict[str, float]:
    """Per-document threshold shifts (tried, not shipped; docs/bench/learning_curve_dev.md): a
    category's confidence in the document's other sentences moves by strength × (added −
    rejected) / (accepted + added + rejected + prior) of its decisions there."""
    counts: dict[str, dict[str, int]] = {}
    for cat, action in decisions:
        counts.setdefault(cat, {"accept": 0, "add": 0, "reject": 0})[action] += 1
    return {
        cat: strength * (c["add"] - c["reject"]) / (sum(c.values()) + prior)
        for cat, c in counts.items()
        if c["add"] != c["reject"]
    }


def shift_confidences(conf: np.ndarray, cats: list[str], shifts: dict[str, float]) -> np.ndarray:
    out = np.array(conf, float, copy=True)
    for j, cat in enumerate(cats):
        if shifts.get(cat):
            out[:, j] = np.clip(out[:, j] + shifts[cat], 0.0, 1.0)
    return out


def actions(reviews: list[dict], auto: dict[str, dict]) -> list[tuple[str, str]]:
    """(category, accept|add|reject) of the decisions, as the review store records them."""
    out = []
    for d in reviews:
        shown = any(c["category"] == d["category"] for c in auto[d["text"]]["codes"])
        out.append((d["category"], ("accept" if shown else "add") if d["label"] else "reject"))
    return out


def code_shifted(coder: Coder, rows: list[dict], shift_variants: list[dict[str, float]]) -> list[list[dict]]:
    """The rows coded once per variant of per-document category shifts (scored once)."""
    scored = coder.score_texts([r["text"] for r in rows], contexts=[row_context(r) for r in rows])
    out = []
    for shifts in shift_variants:
        s = replace(
            scored,
            conf=shift_confidences(scored.conf, scored.cats, shifts),
            own=shift_confidences(scored.own, scored.cats, shifts),
        )
        out.append(as_preds(coder.assemble(s, coder.choose(s))))
    return out


def parse_grid(text: str) -> list[tuple[float, float]]:
    return [tuple(float(x) for x in item.split(":")) for item in text.split(",") if item]  # type: ignore[misc]


def loo(results: dict[str, dict[tuple[str, int], float]], names: list[str], steps: list[int]) -> list[str]:
    """Leave one transcript out: choose the variant with the best mean Δ (both steps) on the others."""
    lines = []
    held: dict[int, list[float]] = {n: [] for n in steps}

    def score(v: str, out: str) -> float:
        vals = [results[v][(t, n)] for t in names if t != out for n in steps if (t, n) in results[v]]
        return float(np.mean(vals)) if vals else -1.0

    for out in names:
        best = max(results, key=lambda v: score(v, out))  # noqa: B023 (used at once)
        lines.append(f"- without {out}: chose {best} (mean Δ on the others {score(best, out):+.3f})")
        for n in steps:
            if (out, n) in results[best]:
                held[n].append(results[best][(out, n)])
    for n in steps:
        lines.append(f"- held-out mean Δ after {n}: {np.mean(held[n]):+.3f}")
    return lines


def polarity_on_common(gold: list[dict], before: list[dict], after: list[dict]) -> tuple[int, int, int]:
    """(right before, right after, n) of the polarities of the gold codes whose category both
    codings found. Polarity accuracy is scored on the codes whose category is right, so a retrain
    that finds more codes changes what it is scored on; this compares like with like."""
    hb = ha = n = 0
    for row, b, a in zip(gold, before, after, strict=True):
        for c in row["codes"]:
            if c["category"] in b and c["category"] in a:
                n += 1
                hb += b[c["category"]] == c["polarity"]
                ha += a[c["category"]] == c["polarity"]
    return hb, ha, n


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
        "--review-polarity-weight",
        type=float,
        default=REVIEW_POLARITY_WEIGHT,
        help="a review row's weight in the polarity model, as quick_retrain's",
    )
    ap.add_argument(
        "--confident-every", type=int, default=CONFIDENT_EVERY, help="queue: k-th = most certain; 0 off"
    )
    ap.add_argument(
        "--no-implicit", action="store_true", help="review rows say nothing of the categories not decided"
    )
    ap.add_argument(
        "--weight-grid", default="", help="also retrain with these review weights, e.g. 30,60,100 (0: none)"
    )
    ap.add_argument(
        "--shift-grid", default="", help="per-document category shifts strength:prior,... on each retrain"
    )
    args = ap.parse_args()
    weight_grid = [float(w) for w in args.weight_grid.split(",") if w]
    shift_grid = parse_grid(args.shift_grid)
    shift_names = ["no shift"] + [f"shift {st:g}/{pr:g}" for st, pr in shift_grid]
    grid: dict[tuple, dict[tuple[str, int], float]] = {}
    rows = load_transcripts(args.transcripts)
    if not rows:
        sys.exit("no new-transcript gold yet (eval/transcripts/transcripts_gold.jsonl)")
    steps = [int(s) for s in args.steps.split(",")]
    t0 = time.time()
    book = load_view()
    # the production coder's training rows less the reviewed transcripts' own (dev transcripts train it)
    report_gold, written = load_gold(), without_transcripts(load_written(), rows)
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
                book,
                report_gold,
                reviews,
                written=written,
                review_weight=args.review_weight,
                review_polarity_weight=args.review_polarity_weight,
            )
            coder.fit(data, tune_epochs=0)  # parses only the reviewed sentences (kb.coding.parse_cache)
            retrain_s.append(time.time() - t1)
            rest_rows = [tr_rows[i] for i in rest]
            after = as_preds(code(coder, rest_rows))
            before = as_preds([auto[i] for i in rest])
            if weight_grid or shift_grid:
                acts = actions(reviews, {tr_rows[i]["text"]: auto[i] for i in range(len(tr_rows))})
                variants = [{}] + [category_shifts(acts, st, pr) for st, pr in shift_grid]
                f1_before = metrics(rest_rows, before, book.ids)["macro_f1"]
                retrained = coder.model
                for w in weight_grid or [args.review_weight]:
                    coder.model = retrained if w == args.review_weight else base
                    if w and w != args.review_weight:
                        data = build_training_set(
                            book,
                            report_gold,
                            reviews,
                            written=written,
                            review_weight=w,
                            review_polarity_weight=args.review_polarity_weight,
                        )
                        coder.fit(data, tune_epochs=0)
                    label = f"×{w:g}" if w else "no retrain"
                    for vname, preds in zip(
                        shift_names, code_shifted(coder, rest_rows, variants), strict=True
                    ):
                        f1 = metrics(rest_rows, preds, book.ids)["macro_f1"]
                        grid.setdefault((label, vname), {})[(name, n)] = f1 - f1_before
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
        f"(review rows weighted ×{args.review_weight:g}, "
        f"×{args.review_polarity_weight:g} in the polarity model; "
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
        "polarity before → after | polarity on the codes right both times | "
        "uncoded before → after (gold) |",
        "|---|---|---|---|---|---|---|",
    ]
    for n in steps:
        p = pooled[n]
        if not p["gold"]:
            continue
        mb, ma = metrics(p["gold"], p["base"], book.ids), metrics(p["gold"], p["after"], book.ids)
        hb, ha, k = polarity_on_common(p["gold"], p["base"], p["after"])
        common = f"{hb / k:.3f} → {ha / k:.3f} (n={k})" if k else "– (no code right both times)"
        lines.append(
            f"| {n} | {len(p['gold'])} | {mb['macro_f1']:.3f} → {ma['macro_f1']:.3f} | "
            f"{ma['macro_f1'] - mb['macro_f1']:+.3f} | {mb['polarity_acc']:.3f} → {ma['polarity_acc']:.3f} "
            f"(n={mb['polarity_n']} → {ma['polarity_n']}) | {common} | "
            f"{mb['uncoded']:.1%} → {ma['uncoded']:.1%} ({mb['gold_uncoded']:.1%}) |"
        )
    lines += ["", "Per transcript (macro-F1 on its remaining sentences):", ""]
    lines += ["| transcript | reviewed | remaining | before | after |", "|---|---|---|---|---|"]
    for name, n, k, mb, ma in per_tr:
        lines.append(f"| {name} | {n} | {k} | {mb['macro_f1']:.3f} | {ma['macro_f1']:.3f} |")
    if grid:
        names = sorted(by_tr)
        lines += ["", "Variants (Δ macro-F1 on the rest vs the untrained coder):", ""]
        lines += [
            "| variant | step | " + " | ".join(names) + " | mean Δ |",
            "|---|---|" + "---|" * (len(names) + 1),
        ]
        for v, res in grid.items():
            for n in steps:
                vals = [res.get((t, n)) for t in names]
                got = [x for x in vals if x is not None]
                cells = " | ".join(f"{x:+.3f}" if x is not None else "" for x in vals)
                lines.append(f"| {' '.join(v)} | {n} | {cells} | {np.mean(got):+.3f} |")
        lines += ["", "Leave one transcript out (chosen by the mean Δ over both steps):", ""]
        lines += loo({" ".join(v): r for v, r in grid.items()}, names, steps)
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
