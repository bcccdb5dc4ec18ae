"""How report-prose sentences keep their codes (kb.coding.answers.PROSE_CALIBRATION), chosen by
nested cross-validation over the held-out report folds.

Three steps:

1. `--dump D/prose.npz`: the held-out protocol of bench/eval_coding.py (5 grouped case folds, each
   fold coded by a model trained without it, `loco_predictions` itself), keeping per gold sentence
   its fold, the scored confidences (`own`, `raw`, `conf` per category and Kiwi sentence) and the
   gold codes, so every mechanism replays from the dump without retraining. The dump's plain-
   threshold macro-F1 is checked against the bench's own predictions (equal only while the shipped
   PROSE_CALIBRATION is the plain one; with it, the bench's number is the calibrated one). The dump
   also keeps each fold's polarity readings per sentence and category.
2. `--replay D/prose.npz`: for each mechanism (the grids and the `pick` rule of
   bench/calibrate_answers.py: parsimony tolerance, uncoded share within 5 points of the coders'),
   nested: parameters chosen on four folds, scored on the fifth. A mechanism is worth shipping only
   if its held-out macro-F1 beats the plain thresholds' on at least four of the five folds and
   pooled.
3. `--polarity D/prose.npz`: the same nesting for report-prose polarity (every gold code, the gold
   category's readings): a mix with the neighbouring sentences' readings and an obstacle/neutral
   prior, chosen by accuracy (kb.coding.context.PROSE_NEIGHBOUR_POLARITY_WEIGHT).

    KB_CODER_TUNE_EPOCHS=0 python bench/calibrate_prose.py --dump D/prose.npz --cache-dir D/cache
    python bench/calibrate_prose.py --replay D/prose.npz --polarity D/prose.npz
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.calibrate_answers import (  # noqa: E402
    KEEP_WITHIN,
    MAX_CODES,
    OFFSETS,
    Calibrations,
    category_offsets,
    describe,
)
from kb.coding.answers import AnswerCalibration, calibrated  # noqa: E402
from kb.records import POLARITIES  # noqa: E402

PLAIN = AnswerCalibration()
# codes other than the sentence's best must clear their threshold by this much more
SHIPPED = "global offset"  # the mechanism kept (its nested held-out score beat the plain thresholds')
MARGINS = (0.0, 0.025, 0.05, 0.1, 0.15, 0.2, 0.3)


def dump(path: Path, cache_dir: Path | None, n_folds: int = 5) -> None:
    """Run the bench's held-out protocol once and keep what every calibration replays from."""
    from bench.eval_coding import TUNE_EPOCHS, case_folds, loco_predictions, metrics
    from kb.coding.book import load_view
    from kb.coding.coder import Coder
    from kb.coding.data import load_gold, load_written

    t0 = time.time()
    book, gold, written = load_view(), load_gold(), load_written()
    coder = Coder(book, embedder="use", cache_dir=cache_dir)
    captured, polarity = [], []
    score_texts = coder.score_texts

    def capture(*args, **kwargs):  # every fold's Scored, in fold order, and its polarity readings
        s = score_texts(*args, **kwargs)
        captured.append(s)
        n, k = s.conf.shape
        groups = [s.ctx[s.owner[i]].group for i in range(n) for _ in range(k)]
        probs = coder.polarity([a for a in s.analyses for _ in range(k)], s.cats * n, groups)
        polarity.append(np.array([[p[q] for q in POLARITIES] for p in probs]).reshape(n, k, len(POLARITIES)))
        return s

    coder.score_texts = capture  # type: ignore[method-assign]
    preds = loco_predictions(coder, gold, "full", ("model",), None, written, TUNE_EPOCHS, n_folds)["model"]
    bench = metrics(gold, preds, book.ids)
    folds = case_folds(gold, n_folds)
    if len(captured) != len(folds):
        raise RuntimeError(f"{len(captured)} scored batches for {len(folds)} folds")
    by_id = {r["id"]: i for i, r in enumerate(gold)}
    conf, own, raw, owner, fold_of = [], [], [], [], np.zeros(len(gold), int)
    for f, (held_out, s) in enumerate(zip(folds, captured, strict=True)):
        rows = [by_id[r["id"]] for r in gold if r["case"] in held_out]
        fold_of[rows] = f
        conf.append(s.conf)
        own.append(s.own)
        raw.append(s.raw)
        owner += [rows[i] for i in s.owner]
        cats = s.cats
    pol_gold = np.full((len(gold), len(cats)), -1)
    for i, r in enumerate(gold):
        for c in r["codes"]:
            pol_gold[i, cats.index(c["category"])] = POLARITIES.index(c["polarity"])
    gold_codes = np.array([[any(c["category"] == k for c in r["codes"]) for k in cats] for r in gold], bool)
    np.savez_compressed(
        path,
        cats=np.array(cats),
        conf=np.vstack(conf),
        own=np.vstack(own),
        raw=np.vstack(raw),
        owner=np.array(owner),
        fold=fold_of,
        gold=gold_codes,
        case=np.array([r["case"] for r in gold]),
        ids=np.array([r["id"] for r in gold]),
        tune_epochs=np.array(TUNE_EPOCHS),
        polarity=np.vstack(polarity),
        polarity_gold=pol_gold,
        polarities=np.array(POLARITIES),
    )
    rep = Replay(path)
    replayed = rep.score(rep.pred(PLAIN), np.ones(len(gold), bool))[0]
    meta = {
        "bench_macro_f1": bench["macro_f1"],
        "bench_micro_f1": bench["micro_f1"],
        "bench_uncoded": bench["uncoded"],
        "replayed_macro_f1": replayed,
        "tune_epochs": TUNE_EPOCHS,
        "seconds": round(time.time() - t0),
        "folds": [sorted(f) for f in folds],
        "predictions": preds,
    }
    path.with_suffix(".json").write_text(json.dumps(meta, ensure_ascii=False, indent=1), encoding="utf-8")
    print(
        f"bench macro-F1 {bench['macro_f1']:.3f} micro {bench['micro_f1']:.3f} "
        f"uncoded {bench['uncoded']:.1%}; "
        f"replayed from the dump {replayed:.3f} ({time.time() - t0:.0f} s)"
    )


class Replay(Calibrations):
    """The dumped held-out scores and fast category-level scoring of a calibration."""

    def __init__(self, path: Path) -> None:
        d = np.load(path)
        self.cats = [str(c) for c in d["cats"]]
        self.conf, self.own, self.owner = d["conf"], d["own"], d["owner"]
        self.gold, self.fold = d["gold"], d["fold"]
        self.folds = {int(f): self.fold == f for f in sorted(set(self.fold.tolist()))}
        self._pred: dict[str, np.ndarray] = {}

    def chosen(self, cal: AnswerCalibration) -> np.ndarray:
        return calibrated(cal, self.cats, self.conf, self.own, self.conf >= 0.5)


def families() -> dict[str, Callable[[Replay, np.ndarray], AnswerCalibration]]:
    """Mechanism → how its parameters are chosen on a set of held-out rows."""
    offset = [AnswerCalibration(offset=o) for o in OFFSETS]
    within = [AnswerCalibration(keep_within=w) for w in KEEP_WITHIN]
    cap = [AnswerCalibration(max_codes=m) for m in MAX_CODES]
    margin = [AnswerCalibration(second_margin=m) for m in MARGINS]
    offset_within = [
        AnswerCalibration(offset=o, keep_within=w) for o, w in itertools.product(OFFSETS, KEEP_WITHIN)
    ]
    combined = [
        AnswerCalibration(offset=o, keep_within=w, max_codes=m)
        for o, w, m in itertools.product(OFFSETS, KEEP_WITHIN, MAX_CODES)
    ]
    return {
        "plain thresholds": lambda rep, mask: PLAIN,
        "answers' calibration (within 0.2), fixed": lambda rep, mask: AnswerCalibration(keep_within=0.2),
        "global offset": lambda rep, mask: rep.best(offset, mask),
        "per-category offsets (shrunk to global)": lambda rep, mask: category_offsets(
            rep, rep.best(offset, mask), mask
        ),
        "keep within x of best": lambda rep, mask: rep.best(within, mask),
        "max codes per sentence": lambda rep, mask: rep.best(cap, mask),
        "second-code margin": lambda rep, mask: rep.best(margin, mask),
        "offset × within": lambda rep, mask: rep.best(offset_within, mask),
        "combined (offset × within × cap)": lambda rep, mask: rep.best(combined, mask),
        "combined + per-category": lambda rep, mask: category_offsets(rep, rep.best(combined, mask), mask),
    }


def fixed_offsets(rep: Replay, plain_folds: list[float]) -> None:
    """Sensitivity: each global offset fixed (not chosen), per held-out fold."""
    everything = np.ones(len(rep.gold), bool)
    print(
        "\n| fixed global offset | macro-F1 per fold | wins vs plain | pooled | micro | uncoded |\n"
        "|---|---|---|---|---|---|"
    )
    for o in sorted(OFFSETS):
        cal = AnswerCalibration(offset=o)
        per_fold = [rep.score(rep.pred(cal), m)[0] for m in rep.folds.values()]
        wins = sum(a > b + 1e-12 for a, b in zip(per_fold, plain_folds, strict=True))
        macro, unc = rep.score(rep.pred(cal), everything)
        print(
            f"| {o:+g} | {' / '.join(f'{x:.3f}' for x in per_fold)} | {wins}/5 | {macro:.3f} | "
            f"{rep.micro(rep.pred(cal), everything):.3f} | {unc:.1%} |"
        )


def per_category(rep: Replay, choose: Callable[[Replay, np.ndarray], AnswerCalibration]) -> None:
    """Per category, pooled held-out: the plain thresholds vs the mechanism chosen on the other folds."""
    nested = np.zeros_like(rep.gold)
    for m in rep.folds.values():
        nested[m] = rep.pred(choose(rep, ~m))[m]
    plain = rep.pred(PLAIN)
    print(
        f"\nper category, pooled held-out, plain → {SHIPPED} (nested):\n"
        "| category | support | predicted | precision | recall | F1 |\n|---|---|---|---|---|---|"
    )
    for k, cat in enumerate(rep.cats):
        y = rep.gold[:, k]
        rows = []
        for p in (plain[:, k], nested[:, k]):
            tp = int(np.sum(y & p))
            rows.append(
                (int(p.sum()), tp / max(p.sum(), 1), tp / max(y.sum(), 1), 2 * tp / max(y.sum() + p.sum(), 1))
            )
        (n0, p0, r0, f0), (n1, p1, r1, f1) = rows
        print(
            f"| {cat} | {int(y.sum())} | {n0} → {n1} | {p0:.2f} → {p1:.2f} | {r0:.2f} → {r1:.2f} | "
            f"{f0:.2f} → {f1:.2f} |"
        )


def label(cal: AnswerCalibration) -> str:
    text = describe(cal)
    if cal.second_margin:
        text = (text + "; " if text != "plain" else "") + f"margin {cal.second_margin:g}"
    return text


def replay(path: Path) -> dict[str, AnswerCalibration]:
    """The nested table; returns each mechanism's parameters chosen on all five folds."""
    rep = Replay(path)
    everything = np.ones(len(rep.gold), bool)
    names = list(rep.folds)
    plain_folds = [rep.score(rep.pred(PLAIN), rep.folds[f])[0] for f in names]
    print(
        f"{len(rep.gold)} gold sentences, {len(rep.conf)} scored Kiwi sentences, folds "
        + ", ".join(f"{f}: {int(m.sum())}" for f, m in rep.folds.items())
        + f"; coders leave {rep.gold_uncoded(everything):.1%} uncoded\n"
    )
    print(
        "| mechanism | held-out macro-F1 per fold | wins vs plain | pooled held-out macro-F1 | micro-F1 | "
        "uncoded | chosen per held-out fold |\n|---|---|---|---|---|---|---|"
    )
    chosen_all = {}
    for name, choose in families().items():
        per_fold, picks = [], []
        pooled = np.zeros_like(rep.gold)
        for f in names:
            mask = rep.folds[f]
            cal = choose(rep, ~mask)
            picks.append(f"{f}: {label(cal)}")
            per_fold.append(rep.score(rep.pred(cal), mask)[0])
            pooled[mask] = rep.pred(cal)[mask]
        wins = sum(a > b + 1e-12 for a, b in zip(per_fold, plain_folds, strict=True))
        macro, unc = rep.score(pooled, everything)
        micro = rep.micro(pooled, everything)
        print(
            f"| {name} | {' / '.join(f'{x:.3f}' for x in per_fold)} (mean {np.mean(per_fold):.3f}) | "
            f"{wins}/5 | {macro:.3f} | {micro:.3f} | {unc:.1%} | {' · '.join(picks)} |"
        )
        chosen_all[name] = choose(rep, everything)
    fixed_offsets(rep, plain_folds)
    per_category(rep, families()[SHIPPED])
    print("\nchosen on all five folds (in-sample):")
    for name, cal in chosen_all.items():
        macro, unc = rep.score(rep.pred(cal), everything)
        print(f"  {name}: {label(cal)} → macro-F1 {macro:.3f} uncoded {unc:.1%}")
    return chosen_all


NEIGHBOUR_WEIGHTS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5)
OBSTACLE_WEIGHTS = (1.0, 0.75, 1.25, 0.5, 1.5)
NEUTRAL_WEIGHTS = (1.0, 0.75, 1.25, 0.5, 1.5, 2.0)


class PolarityReplay:
    """Report-prose polarity of every gold code from the dump: the row's sentences' readings for the
    gold category, weighted by confidence, after a neighbour mix and a prior (both off by default)."""

    def __init__(self, path: Path) -> None:
        d = np.load(path)
        self.pol, self.gold, self.conf = d["polarity"], d["polarity_gold"], d["conf"]
        self.owner, self.fold, case = d["owner"], d["fold"], d["case"]
        self.names = [str(p) for p in d["polarities"]]
        sent_case = case[self.owner]
        n = len(self.owner)
        self.prev = np.array([i - 1 if i and sent_case[i - 1] == sent_case[i] else -1 for i in range(n)])
        self.next = np.array(
            [i + 1 if i + 1 < n and sent_case[i + 1] == sent_case[i] else -1 for i in range(n)]
        )
        self.rows, self.cols = np.nonzero(self.gold >= 0)
        self.folds = {int(f): self.fold[self.rows] == f for f in sorted(set(self.fold.tolist()))}

    def predict(self, w: float, obstacle: float, neutral: float) -> np.ndarray:
        pol = self.pol
        if w:
            near = np.zeros_like(pol)
            cnt = np.zeros(pol.shape[0])
            for nb in (self.prev, self.next):
                ok = nb >= 0
                near[ok] += pol[nb[ok]]
                cnt += ok
            has = cnt > 0
            mixed = pol.copy()
            mixed[has] = (1 - w) * pol[has] + w * near[has] / cnt[has, None, None]
            pol = mixed
        prior = np.ones(len(self.names))
        prior[self.names.index("obstacle")] = obstacle
        prior[self.names.index("neutral")] = neutral
        votes = np.zeros(self.gold.shape + (len(self.names),))
        np.add.at(votes, self.owner, pol * prior * np.maximum(self.conf, 1e-6)[:, :, None])
        return votes[self.rows, self.cols].argmax(axis=1)

    def score(self, pred: np.ndarray, mask: np.ndarray) -> tuple[float, float]:
        """(accuracy, balanced accuracy) over the gold codes in `mask`."""
        y, p = self.gold[self.rows, self.cols][mask], pred[mask]
        recalls = [np.mean(p[y == c] == c) for c in range(len(self.names)) if np.any(y == c)]
        return float(np.mean(p == y)), float(np.mean(recalls))


def polarity_replay(path: Path) -> None:
    """Nested over the folds, as `replay`: parameters chosen on four folds by accuracy (the first of
    the grid within TOLERANCE of the best), scored on the fifth."""
    from bench.calibrate_answers import TOLERANCE

    rep = PolarityReplay(path)
    everything = np.ones(len(rep.rows), bool)
    grids = {
        "plain": [(0.0, 1.0, 1.0)],
        "neighbour mix": [(w, 1.0, 1.0) for w in NEIGHBOUR_WEIGHTS],
        "prior (obstacle × neutral)": [
            (0.0, o, n) for o, n in itertools.product(OBSTACLE_WEIGHTS, NEUTRAL_WEIGHTS)
        ],
        "neighbour × prior": list(itertools.product(NEIGHBOUR_WEIGHTS, OBSTACLE_WEIGHTS, NEUTRAL_WEIGHTS)),
    }
    cache: dict[tuple, np.ndarray] = {}

    def pred(c: tuple) -> np.ndarray:
        if c not in cache:
            cache[c] = rep.predict(*c)
        return cache[c]

    plain = [rep.score(pred((0.0, 1.0, 1.0)), m)[0] for m in rep.folds.values()]
    print(
        f"\n{len(rep.rows)} gold codes; polarity of every gold code (the gold category's readings)\n\n"
        "| mechanism | held-out accuracy per fold | wins vs plain | pooled accuracy | pooled balanced "
        "| chosen |\n"
        "|---|---|---|---|---|---|"
    )
    for name, cands in grids.items():
        per_fold, picks, pooled = [], [], np.zeros(len(rep.rows), int)
        for f, m in rep.folds.items():
            scored = [(rep.score(pred(c), ~m)[0], c) for c in cands]
            top = max(a for a, _ in scored)
            choice = next(c for a, c in scored if a >= top - TOLERANCE)
            picks.append(f"{f}: w {choice[0]:g}, obst ×{choice[1]:g}, neutral ×{choice[2]:g}")
            per_fold.append(rep.score(pred(choice), m)[0])
            pooled[m] = pred(choice)[m]
        wins = sum(a > b + 1e-12 for a, b in zip(per_fold, plain, strict=True))
        acc, bal = rep.score(pooled, everything)
        print(
            f"| {name} | {' / '.join(f'{x:.3f}' for x in per_fold)} | {wins}/5 | {acc:.3f} | {bal:.3f} | "
            f"{' · '.join(picks)} |"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dump", type=Path, help="run the held-out protocol once and write the dump here")
    ap.add_argument("--replay", type=Path, help="the nested table from a dump")
    ap.add_argument("--polarity", type=Path, help="the nested polarity table from a dump with readings")
    ap.add_argument("--cache-dir", type=Path, default=None)
    ap.add_argument("--folds", type=int, default=5)
    args = ap.parse_args()
    if args.dump:
        dump(args.dump, args.cache_dir, args.folds)
    if args.replay:
        replay(args.replay)
    if args.polarity:
        polarity_replay(args.polarity)


if __name__ == "__main__":
    main()
