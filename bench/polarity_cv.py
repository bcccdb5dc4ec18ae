"""Development check for polarity: the polarity model alone, cross-validated, on speech and on report prose.

The new-transcript gold is a test set, so polarity rules are chosen here (and on the development
transcripts, eval/dev_transcripts/). Polarity is scored on the codes whose category is right, so
it can be measured without the category models: for each (sentence, gold category) pair of a
held-out fold, the coder's polarity (`Coder.polarity`: the polarity model plus the
recommendation / own-need reading of kb.coding.spoken) is compared with the gold polarity.

* speech: the written interview-style sentences of corpus/training/ in seeded folds, trained on
  the report gold, the codebook examples and the other written sentences;
* report: held-out case groups of eval/gold (as bench/eval_coding.py), trained on the other
  groups, the codebook examples and all written sentences;
* dev (with --dev PATH, e.g. eval/dev_transcripts/dev_gold.jsonl): every sentence of the
  development transcripts, trained as `kb build` trains (report gold + examples + written).

With --dev it also chooses the interview-answer polarity prior (kb.coding.question_polarity.
NEUTRAL_WEIGHTS): the best weights on all dev transcripts, and leave-one-transcript-out
(chosen on three, scored on the fourth) to show whether the choice carries; --only-dev skips the
speech and report folds.

    python bench/polarity_cv.py [--folds 5] [--dev PATH] [--only-dev] [--cache-dir DIR]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.eval_coding import case_folds  # noqa: E402
from kb.coding.book import POLARITIES, load_view  # noqa: E402
from kb.coding.coder import Coder  # noqa: E402
from kb.coding.context import blend_neighbour_polarity  # noqa: E402
from kb.coding.data import build_training_set, load_gold, load_written, without_transcripts  # noqa: E402
from kb.coding.question_polarity import (  # noqa: E402
    NEUTRAL_WEIGHTS,
    ORIENTATION_WEIGHTS,
    ORIENTATIONS,
    answer_weights,
    orientation,
)
from kb.coding.training import CoderModel, fit_polarity  # noqa: E402


def speech_folds(written: list[dict], n_folds: int) -> list[list[int]]:
    """Indices of the interview-style written rows, dealt into seeded folds."""
    idx = [i for i, r in enumerate(written) if r.get("style") == "interview"]
    order = [idx[k] for k in np.random.RandomState(0).permutation(len(idx))]
    return [sorted(order[f::n_folds]) for f in range(n_folds)]


def score(coder: Coder, cache: dict, train: list[dict], test: list[dict], written: list[dict]) -> Counter:
    """Counts of (gold polarity, coder polarity) over the test rows' gold codes."""
    pairs, probs = predict(coder, cache, train, test, written)
    return Counter(
        (c["polarity"], max(POLARITIES, key=p.get)) for (_, c), p in zip(pairs, probs, strict=True)
    )


def predict(
    coder: Coder, cache: dict, train: list[dict], test: list[dict], written: list[dict]
) -> tuple[list[tuple[dict, dict]], list[dict[str, float]]]:
    """(test row, gold code) pairs and the coder's polarity probabilities for each."""
    book = coder.book
    data = build_training_set(book, train, written=written)
    model = CoderModel("full", book.ids, book.fingerprint(), coder.embedder_spec)
    model.polarity = fit_polarity([cache[t] for t in data.texts], data, book.ids, 3.0)
    coder.model = model
    pairs = [(r, c) for r in test for c in r["codes"]]
    probs = coder.polarity(
        [cache[r["text"]] for r, _ in pairs],
        [c["category"] for _, c in pairs],
        [r.get("group") for r, _ in pairs],
    )
    return pairs, probs


NO_WEIGHTS = dict.fromkeys(POLARITIES, 1.0)
GRID = [
    {"success": 1.0, "obstacle": o, "neutral": n, "recommendation": r}
    for o in (1.0, 1.25, 1.5, 2.0, 2.5)
    for n in (0.5, 0.75, 1.0, 1.5)
    for r in (1.0, 1.5, 2.0)
]


def weighted_hits(pairs: list, probs: list, w: dict[str, float]) -> int:
    return sum(
        c["polarity"] == max(POLARITIES, key=lambda q: p[q] * w[q])
        for (_, c), p in zip(pairs, probs, strict=True)
    )


def transcript_splits(pairs: list) -> Iterator[tuple[str, list[int], list[int]]]:
    """Leave-one-transcript-out: (held-out transcript, indices of the other transcripts, its own)."""
    for name in sorted({r["transcript"] for r, _ in pairs}):
        yield (
            name,
            [k for k, (r, _) in enumerate(pairs) if r["transcript"] != name],
            [k for k, (r, _) in enumerate(pairs) if r["transcript"] == name],
        )


def choose_priors(pairs: list, probs: list) -> None:
    """Interview-answer polarity weights: best on all dev transcripts, and leave-one-transcript-out
    (weights chosen on three transcripts, scored on the fourth) to see whether the choice carries."""
    best = max(GRID, key=lambda w: weighted_hits(pairs, probs, w))
    n = len(pairs)
    print(
        f"dev, no weights: {weighted_hits(pairs, probs, NO_WEIGHTS) / n:.3f}; best weights {best}: "
        f"{weighted_hits(pairs, probs, best) / n:.3f}"
    )
    plain = chosen = 0
    for name, inside, out in transcript_splits(pairs):

        def sub(ks: list[int]) -> tuple[list, list]:
            return [pairs[k] for k in ks], [probs[k] for k in ks]

        w = max(GRID, key=lambda w: weighted_hits(*sub(inside), w))
        plain += weighted_hits(*sub(out), NO_WEIGHTS)
        chosen += weighted_hits(*sub(out), w)
        print(f"  held-out {name}: weights {w}")
    print(f"leave-one-transcript-out: no weights {plain / n:.3f}, chosen weights {chosen / n:.3f}")


def _w(obstacle: float = 2.0, recommendation: float = 1.0) -> dict[str, float]:
    return {"success": 1.0, "obstacle": obstacle, "neutral": 0.5, "recommendation": recommendation}


# per question orientation (kb.coding.question_polarity), the weights tried; the others stay neutral
ORIENTATION_GRID = {
    "difficulty": [_w(o) for o in (1.0, 2.0, 3.0, 4.0)],
    "success": [_w(o) for o in (1.0, 1.5, 2.0)],
    "advice": [_w(o, r) for o in (1.0, 2.0) for r in (1.0, 2.0, 4.0, 8.0)],
}


def oriented_hits(pairs: list, probs: list, spoken: list, table: dict[str, dict[str, float]]) -> int:
    hits = 0
    for (r, c), p, sp in zip(pairs, probs, spoken, strict=True):
        w = answer_weights(r.get("question"), sp, table)
        hits += c["polarity"] == max(POLARITIES, key=lambda q: p[q] * w[q])
    return hits


def choose_orientation_priors(pairs: list, probs: list, spoken: list) -> None:
    """The answer prior by question orientation: the shipped table, and leave-one-transcript-out
    (each orientation's weights chosen on three transcripts, the others neutral; scored on the fourth)."""
    n = len(pairs)
    counts = Counter(orientation(r.get("question")) for r, _ in pairs)
    plain = {o: NEUTRAL_WEIGHTS for o in ORIENTATIONS}
    print(f"question orientations of the dev codes: {dict(counts)}")
    print(
        f"dev, one prior for every answer: {oriented_hits(pairs, probs, spoken, plain) / n:.3f}; "
        f"shipped prior by question: {oriented_hits(pairs, probs, spoken, ORIENTATION_WEIGHTS) / n:.3f}"
    )
    base = loo = 0
    for name, inside, out in transcript_splits(pairs):

        def sub(ks: list[int]) -> tuple[list, list, list]:
            return [pairs[k] for k in ks], [probs[k] for k in ks], [spoken[k] for k in ks]

        table = dict(plain)
        for o, grid in ORIENTATION_GRID.items():
            table[o] = max(grid, key=lambda w, o=o: oriented_hits(*sub(inside), {**plain, o: w}))
        base += oriented_hits(*sub(out), plain)
        loo += oriented_hits(*sub(out), table)
        chosen = {o: (table[o]["obstacle"], table[o]["recommendation"]) for o in ORIENTATION_GRID}
        print(f"  held-out {name}: (obstacle, recommendation) weights {chosen}")
    print(f"leave-one-transcript-out: one prior {base / n:.3f}, prior by question {loo / n:.3f}")


def neighbour_probs(coder: Coder, cache: dict, pairs: list) -> list[list[dict[str, float]]]:
    """Per (row, gold code): the polarity probabilities of the row's prev/next sentences (same
    answer) for the code's category, as `Coder.assemble` reads them."""
    texts = [t for r, _ in pairs for t in (r.get("prev"), r.get("next")) if t and t not in cache]
    texts = list(dict.fromkeys(texts))
    if texts:
        cache.update(zip(texts, coder.analyzer.analyse(texts), strict=True))
    wanted = [
        (k, t, c["category"], r.get("group"))
        for k, (r, c) in enumerate(pairs)
        for t in (r.get("prev"), r.get("next"))
        if t
    ]
    probs = coder.polarity(
        [cache[t] for _, t, _, _ in wanted], [w[2] for w in wanted], [w[3] for w in wanted]
    )
    out: list[list[dict[str, float]]] = [[] for _ in pairs]
    for (k, _, _, _), p in zip(wanted, probs, strict=True):
        out[k].append(p)
    return out


NEIGHBOUR_GRID = (0.0, 0.1, 0.2, 0.3, 0.4)


def choose_neighbour_weight(pairs: list, probs: list, near: list, spoken: list) -> None:
    """The neighbour polarity weight (kb.coding.context.NEIGHBOUR_POLARITY_WEIGHT) with the shipped
    prior by question: on all dev transcripts, and leave-one-transcript-out."""
    ones = [True] * len(pairs)

    def hits(ks: list[int], w: float) -> int:
        mixed = blend_neighbour_polarity([probs[k] for k in ks], [near[k] for k in ks], ones[: len(ks)], w)
        return oriented_hits([pairs[k] for k in ks], mixed, [spoken[k] for k in ks], ORIENTATION_WEIGHTS)

    n, every = len(pairs), list(range(len(pairs)))
    print("dev, neighbour weight: " + ", ".join(f"{w} {hits(every, w) / n:.3f}" for w in NEIGHBOUR_GRID))
    base = loo = 0
    for name, inside, out in transcript_splits(pairs):
        w = max(NEIGHBOUR_GRID, key=lambda w: hits(inside, w))
        base += hits(out, 0.0)
        loo += hits(out, w)
        before, after = hits(out, 0.0) / len(out), hits(out, w) / len(out)
        print(f"  held-out {name}: neighbour weight {w} ({before:.3f} -> {after:.3f})")
    print(f"leave-one-transcript-out: no neighbours {base / n:.3f}, chosen neighbour weight {loo / n:.3f}")


def dev_choices(coder: Coder, cache: dict, pairs: list, probs: list) -> None:
    """The interview-answer polarity choices made on the development transcripts."""
    spoken = [cache[r["text"]].spoken for r, _ in pairs]
    choose_priors(pairs, probs)
    choose_orientation_priors(pairs, probs, spoken)
    near = neighbour_probs(coder, cache, pairs)
    choose_neighbour_weight(pairs, probs, near, spoken)
    mixed = blend_neighbour_polarity(probs, near, [True] * len(pairs))
    counts = Counter(
        (
            c["polarity"],
            max(POLARITIES, key=lambda q, p=p, sp=sp, r=r: p[q] * answer_weights(r.get("question"), sp)[q]),
        )
        for (r, c), p, sp in zip(pairs, mixed, spoken, strict=True)
    )
    print(summary("dev transcripts, as the coder reads answers (neighbours + prior by question)", counts))


def summary(name: str, counts: Counter) -> str:
    n = sum(counts.values())
    hits = sum(v for (g, p), v in counts.items() if g == p)
    per = []
    for pol in POLARITIES:
        support = sum(v for (g, _), v in counts.items() if g == pol)
        if support:
            per.append(f"{pol} {counts[(pol, pol)] / support:.2f} (n={support})")
    return f"{name}: polarity accuracy {hits / n:.3f} (n={n}); recall " + ", ".join(per)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--dev", type=Path, default=None)
    ap.add_argument("--only-dev", action="store_true", help="skip the speech and report folds")
    ap.add_argument("--embedder", default="use")
    ap.add_argument("--cache-dir", type=Path, default=None)
    args = ap.parse_args()
    t0 = time.time()
    book = load_view()
    gold, written = load_gold(), without_transcripts(load_written())
    dev = (
        [json.loads(x) for x in args.dev.read_text(encoding="utf-8").splitlines() if x.strip()]
        if args.dev
        else []
    )
    coder = Coder(book, embedder=args.embedder, cache_dir=args.cache_dir)
    texts = [e.text for c in book.categories for e in c.examples] + [r["text"] for r in written + gold + dev]
    texts = list(dict.fromkeys(texts))
    cache = dict(zip(texts, coder.analyzer.analyse(texts, exclude_self=True), strict=True))
    coder.embedder.save()
    if args.only_dev:
        pairs, probs = predict(coder, cache, gold, dev, written)
        dev_choices(coder, cache, pairs, probs)
        return
    speech: Counter = Counter()
    for fold in speech_folds(written, args.folds):
        held = set(fold)
        rest = [r for i, r in enumerate(written) if i not in held]
        speech += score(coder, cache, gold, [written[i] for i in fold], rest)
    report: Counter = Counter()
    for held_out in case_folds(gold, args.folds):
        train = [r for r in gold if r["case"] not in held_out]
        report += score(coder, cache, train, [r for r in gold if r["case"] in held_out], written)
    print(summary("speech (written interview sentences)", speech))
    print(summary("report (held-out case groups)", report))
    if dev:
        pairs, probs = predict(coder, cache, gold, dev, written)
        counts = Counter(
            (c["polarity"], max(POLARITIES, key=p.get)) for (_, c), p in zip(pairs, probs, strict=True)
        )
        print(summary("dev transcripts", counts))
        print("dev confusion (gold, coder): count", dict(counts))
        dev_choices(coder, cache, pairs, probs)
    print(f"{time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
