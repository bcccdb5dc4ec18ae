"""How interview answers keep their codes (kb.coding.answers), chosen on the development transcripts.

Run through `bench/calibrate_dev.py --answers` (it trains the production fast coder). The dev
transcripts are scored once; each mechanism only re-decides which scored codes are kept, so the
grids are cheap. For every mechanism, leave-one-transcript-out: the parameters with the best
macro-F1 on three transcripts (uncoded share within 5 points of the coders' there) are scored on
the fourth. A mechanism is worth shipping only if that held-out score beats the plain coder's.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import replace
from functools import partial

import numpy as np

from bench.eval_coding import metrics, row_context
from kb.coding.answers import AnswerCalibration
from kb.coding.coder import Coder, Scored

PLAIN = AnswerCalibration()
# each grid starts with "no change", so a tie keeps the plain thresholds
OFFSETS = (0.0, -0.025, 0.025, -0.05, 0.05, 0.075, -0.1, 0.1, -0.15, 0.15, -0.2, 0.2, 0.25)
CONTEXT_OFFSETS = (0.0, 0.025, 0.05, 0.1, 0.15, 0.2, 0.3)
KEEP_WITHIN = (None, 0.3, 0.2, 0.15, 0.1, 0.05)
MAX_CODES = (None, 3, 2, 1)
CATEGORY_OFFSETS = (-0.15, -0.1, -0.05, 0.0, 0.05, 0.1, 0.15, 0.2, 0.3)
PRIOR_N = 10  # per-category offsets are shrunk towards the global one by n / (n + PRIOR_N), as thresholds
SHIPPED = "offset × within"  # the mechanism kept (its held-out score beat the plain thresholds')
SCALED = "answer context scale × offset × within"  # the same, with the context scale re-chosen
UNCODED_SLACK = 0.05  # the issue's constraint: uncoded share within 5 points of the coders'
# Parsimony: the first candidate (grids run from "no change" outwards) within this much macro-F1 of
# the best is taken, so a setting far from the current coder must earn more than noise to win.
TOLERANCE = 0.01


def pick(scored: list, gold_uncoded: float) -> tuple:
    """The first of `scored` ((macro-F1, uncoded), *choice) within TOLERANCE of the best macro-F1
    among those whose uncoded share is within UNCODED_SLACK of the coders'."""
    ok = [x for x in scored if abs(x[0][1] - gold_uncoded) <= UNCODED_SLACK] or scored
    top = max(x[0][0] for x in ok)
    return next(x for x in ok if x[0][0] >= top - TOLERANCE)


class Calibrations:
    """Category-level scoring of calibrations over sentence rows grouped into gold rows: subclasses set
    `cats`, `gold` ([rows, categories]), `owner` (sentence -> row), `_pred` ({}) and `chosen`."""

    cats: list[str]
    gold: np.ndarray
    owner: np.ndarray
    _pred: dict[str, np.ndarray]

    def chosen(self, cal: AnswerCalibration) -> np.ndarray:
        raise NotImplementedError

    def pred(self, cal: AnswerCalibration) -> np.ndarray:
        """[rows, categories] coded (a row is coded with the union of its sentences' codes)."""
        key = repr(cal)  # by repr: the calibration holds a dict
        if key not in self._pred:
            out = np.zeros_like(self.gold)
            np.logical_or.at(out, self.owner, self.chosen(cal))
            self._pred[key] = out
        return self._pred[key]

    def score(
        self, pred: np.ndarray, mask: np.ndarray, cols: Sequence[int] | None = None
    ) -> tuple[float, float]:
        """(macro-F1 over categories with support in `mask`, uncoded share) of `pred` on the rows."""
        y, p = self.gold[mask], pred[mask]
        f1s = []
        for k in cols if cols is not None else range(len(self.cats)):
            if y[:, k].any():
                f1s.append(2 * np.sum(y[:, k] & p[:, k]) / (y[:, k].sum() + p[:, k].sum()))
        return float(np.mean(f1s)) if f1s else 0.0, float(np.mean(~p.any(axis=1)))

    def micro(self, pred: np.ndarray, mask: np.ndarray) -> float:
        y, p = self.gold[mask], pred[mask]
        return float(2 * np.sum(y & p) / (y.sum() + p.sum()))

    def gold_uncoded(self, mask: np.ndarray) -> float:
        return float(np.mean(~self.gold[mask].any(axis=1)))

    def best(self, cands: Sequence[AnswerCalibration], mask: np.ndarray) -> AnswerCalibration:
        """Best macro-F1 on `mask` among the candidates within the uncoded slack (see `pick`)."""
        return pick([(self.score(self.pred(c), mask), c) for c in cands], self.gold_uncoded(mask))[1]


class Dev(Calibrations):
    """The scored dev transcripts; a calibration is applied through the coder's own `choose`."""

    def __init__(self, coder: Coder, rows: list[dict], cats: list[str]) -> None:
        self.coder, self.rows, self.cats = coder, rows, cats
        # the hand-composed choice is what this bench calibrates (the learned combiner of
        # kb.coding.category_stack would ignore the calibration; bench/category_stack.py measures it)
        coder.category_stack = False
        contexts = [row_context(r) for r in rows]
        self.scored: Scored = coder.score_texts([r["text"] for r in rows], contexts=contexts)
        self.owner = np.asarray(self.scored.owner)
        coded = [{c["category"] for c in r["codes"]} for r in rows]
        self.gold = np.array([[k in c for k in cats] for c in coded], bool)
        names = sorted({r["transcript"] for r in rows})
        self.folds = {n: np.array([r["transcript"] == n for r in rows]) for n in names}
        self._pred: dict[str, np.ndarray] = {}  # by repr: the calibration holds a dict
        self._full: dict[str, list[dict]] = {}

    def chosen(self, cal: AnswerCalibration) -> np.ndarray:
        self.coder.answer_calibration = cal
        return self.coder.choose(self.scored)

    def full(self, cal: AnswerCalibration) -> list[dict]:
        """{category: polarity} per row through the coder's own output path."""
        key = repr(cal)
        if key not in self._full:
            res = self.coder.assemble(self.scored, self.chosen(cal))
            self._full[key] = [{c["category"]: c["polarity"] for c in r["codes"]} for r in res]
        return self._full[key]


def category_offsets(dev: Calibrations, base: AnswerCalibration, mask: np.ndarray) -> AnswerCalibration:
    """Per-category offsets on top of `base`: each category's best F1 on `mask`, shrunk to 0 by support."""
    offsets = {}
    for k, cat in enumerate(dev.cats):
        n = int(dev.gold[mask][:, k].sum())
        cands = [replace(base, category_offsets={cat: d}) for d in CATEGORY_OFFSETS]
        f1 = [dev.score(dev.pred(c), mask, [k])[0] for c in cands]
        top = max(f1)
        fitted = min((d for d, f in zip(CATEGORY_OFFSETS, f1, strict=True) if f >= top - 1e-9), key=abs)
        shrunk = round(fitted * n / (n + PRIOR_N), 3)
        if shrunk:
            offsets[cat] = shrunk
    return replace(base, category_offsets=offsets)


def families() -> dict[str, Callable[[Dev, np.ndarray], AnswerCalibration]]:
    """Mechanism → how its parameters are chosen on a set of dev rows."""
    offset = [AnswerCalibration(offset=o) for o in OFFSETS]
    context = [AnswerCalibration(context_offset=o) for o in CONTEXT_OFFSETS]
    within = [AnswerCalibration(keep_within=w) for w in KEEP_WITHIN]
    cap = [AnswerCalibration(max_codes=m) for m in MAX_CODES]
    combined = [
        AnswerCalibration(offset=o, context_offset=c, keep_within=w, max_codes=m)
        for o, c, w, m in itertools.product(OFFSETS, CONTEXT_OFFSETS, KEEP_WITHIN, MAX_CODES)
    ]
    return {
        "plain thresholds": lambda dev, mask: PLAIN,
        "global offset": lambda dev, mask: dev.best(offset, mask),
        "per-category offsets (shrunk to global)": lambda dev, mask: category_offsets(
            dev, dev.best(offset, mask), mask
        ),
        "context-only offset": lambda dev, mask: dev.best(context, mask),
        "keep within x of best": lambda dev, mask: dev.best(within, mask),
        "max codes per sentence": lambda dev, mask: dev.best(cap, mask),
        "offset × within": lambda dev, mask: dev.best(offset_within(), mask),
        "combined (offset × context × within × cap)": lambda dev, mask: dev.best(combined, mask),
        "combined + per-category": lambda dev, mask: category_offsets(dev, dev.best(combined, mask), mask),
    }


def describe(cal: AnswerCalibration) -> str:
    parts = []
    if cal.offset:
        parts.append(f"offset {cal.offset:+g}")
    if cal.context_offset:
        parts.append(f"context {cal.context_offset:+g}")
    if cal.keep_within is not None:
        parts.append(f"within {cal.keep_within:g}")
    if cal.max_codes is not None:
        parts.append(f"max {cal.max_codes}")
    if cal.category_offsets:
        parts.append("per-cat " + ", ".join(f"{k} {v:+g}" for k, v in sorted(cal.category_offsets.items())))
    return "; ".join(parts) or "plain"


def diagnose(dev: Dev) -> None:
    """Per-category counts of the plain coder and where its predicted codes come from."""
    m = metrics(dev.rows, dev.full(PLAIN), dev.cats)
    print(
        f"plain coder on all dev: macro-F1 {m['macro_f1']:.3f} polarity {m['polarity_acc']:.3f} "
        f"uncoded {m['uncoded']:.1%} (coders {m['gold_uncoded']:.1%})"
    )
    print("| category | support | predicted | P | R | F1 |\n|---|---|---|---|---|---|")
    for cat, v in m["per_category"].items():
        if v["support"] or v["predicted"]:
            print(
                f"| {cat} | {v['support']} | {v['predicted']} | {v['precision']:.2f} | "
                f"{v['recall']:.2f} | {v['f1']:.2f} |"
            )
    s = dev.scored
    chosen = dev.chosen(PLAIN)
    gold_s = dev.gold[dev.owner]  # each sentence against its row's gold
    rank = np.argsort(np.argsort(-s.conf, axis=1, kind="stable"), axis=1, kind="stable")
    groups = {
        "own words (own conf ≥ 0.5)": chosen & (s.own >= 0.5),
        "context only (own < 0.5, blended ≥ 0.5)": chosen & (s.own < 0.5) & (s.conf >= 0.5),
        "fallback (blended < 0.5)": chosen & (s.conf < 0.5),
        "sentence's best code": chosen & (rank == 0),
        "second code": chosen & (rank == 1),
        "third code or later": chosen & (rank >= 2),
    }
    print("\n| predicted codes | n | precision |\n|---|---|---|")
    for name, g in groups.items():
        n = int(g.sum())
        print(f"| {name} | {n} | {np.sum(g & gold_s) / n if n else 0:.2f} |")
    per_row = dev.pred(PLAIN).sum(axis=1)
    print(
        f"\ncodes per sentence: coder {per_row.mean():.2f} (≥2: {np.mean(per_row >= 2):.1%}), "
        f"coders {dev.gold.sum(axis=1).mean():.2f} (≥2: {np.mean(dev.gold.sum(axis=1) >= 2):.1%})"
    )
    for lo, hi in ((0.5, 0.6), (0.6, 0.7), (0.7, 0.8), (0.8, 1.01)):
        g = chosen & (s.conf >= lo) & (s.conf < hi)
        n = int(g.sum())
        prec = np.sum(g & gold_s) / max(n, 1)
        print(f"  confidence {lo:.1f}–{min(hi, 1):.1f}: {n} codes, precision {prec:.2f}")


def offset_within() -> list[AnswerCalibration]:
    return [AnswerCalibration(offset=o, keep_within=w) for o, w in itertools.product(OFFSETS, KEEP_WITHIN)]


def per_category(plain: Dev, dev: Dev, cal: AnswerCalibration, label: str) -> None:
    """Per-category counts, the plain coder vs `cal` on `dev`, on all four transcripts (in-sample)."""
    before = metrics(plain.rows, plain.full(PLAIN), plain.cats)["per_category"]
    after = metrics(dev.rows, dev.full(cal), dev.cats)["per_category"]
    print(
        f"\nper category, all four dev transcripts, plain → {label} (in-sample):\n"
        "| category | support | predicted | precision | recall | F1 |\n|---|---|---|---|---|---|"
    )
    for cat, b in before.items():
        a = after[cat]
        if b["support"] or b["predicted"] or a["predicted"]:
            print(
                f"| {cat} | {b['support']} | {b['predicted']} → {a['predicted']} | "
                f"{b['precision']:.2f} → {a['precision']:.2f} | {b['recall']:.2f} → {a['recall']:.2f} | "
                f"{b['f1']:.2f} → {a['f1']:.2f} |"
            )


def scaled(dev: Dev, scales: Sequence[float]) -> dict[float, Dev]:
    """The dev transcripts scored at each answer context scale (kb.coding.context), nearest the
    current one first."""
    from kb.coding import context as ctx_module

    current = ctx_module.ANSWER_CONTEXT_SCALE
    devs = {current: dev}
    try:
        for scale in sorted(scales, key=lambda s: abs(s - current)):
            if scale not in devs:
                ctx_module.ANSWER_CONTEXT_SCALE = scale
                devs[scale] = Dev(dev.coder, dev.rows, dev.cats)
    finally:
        ctx_module.ANSWER_CONTEXT_SCALE = current
    return devs


def best_scaled(devs: dict[float, Dev], mask: np.ndarray) -> tuple[float, AnswerCalibration]:
    """Best (scale, offset × within) on `mask`, as `Dev.best` (scales nearest the current first)."""
    first = next(iter(devs.values()))
    scored = [(d.score(d.pred(c), mask), s, c) for s, d in devs.items() for c in offset_within()]
    top = pick(scored, first.gold_uncoded(mask))
    return top[1], top[2]


def run(
    coder: Coder, rows: list[dict], cats: list[str], scales: Sequence[float] = ()
) -> tuple[float, AnswerCalibration]:
    """Diagnosis, the leave-one-transcript-out table, and the settings chosen on all transcripts:
    (answer context scale, calibration) of the shipped mechanism."""
    dev = Dev(coder, rows, cats)
    diagnose(dev)
    everything = np.ones(len(rows), bool)
    devs = scaled(dev, scales)
    current = next(iter(devs))
    print(
        "\n| mechanism | held-out macro-F1 (mean of 4) | pooled held-out macro-F1 | polarity | uncoded "
        f"(coders {dev.gold_uncoded(everything):.1%}) | chosen per held-out transcript |\n"
        "|---|---|---|---|---|---|"
    )
    chooser: dict[str, Callable[[np.ndarray], tuple[float, AnswerCalibration]]] = {
        name: partial(lambda f, mask: (current, f(dev, mask)), choose) for name, choose in families().items()
    }
    for scale in devs:
        if scale != current:
            chooser[f"plain thresholds, context ×{scale:g}"] = partial(lambda s, mask: (s, PLAIN), scale)
    if len(devs) > 1:
        chooser[SCALED] = lambda mask: best_scaled(devs, mask)
    chosen_all = {}
    for name, choose in chooser.items():
        per_fold, pooled, picks = [], [{} for _ in rows], []
        for t, mask in dev.folds.items():
            scale, cal = choose(~mask)
            d = devs[scale]
            label = describe(cal) if scale == current else f"×{scale:g}, {describe(cal)}"
            picks.append(f"{t.split('_')[0]}: {label}")
            per_fold.append(d.score(d.pred(cal), mask)[0])
            full = d.full(cal)
            for i in np.flatnonzero(mask):
                pooled[i] = full[i]
        m = metrics(rows, pooled, cats)
        print(
            f"| {name} | {np.mean(per_fold):.3f} ({' / '.join(f'{f:.3f}' for f in per_fold)}) | "
            f"{m['macro_f1']:.3f} | {m['polarity_acc']:.3f} | {m['uncoded']:.1%} | {' · '.join(picks)} |"
        )
        chosen_all[name] = choose(everything)
    print(f"\nchosen on all four dev transcripts (in-sample; answer context ×{current:g} unless said):")
    for name, (scale, cal) in chosen_all.items():
        m = metrics(rows, devs[scale].full(cal), cats)
        label = describe(cal) if scale == current else f"×{scale:g}, {describe(cal)}"
        print(
            f"  {name}: {label} → macro-F1 {m['macro_f1']:.3f} polarity {m['polarity_acc']:.3f} "
            f"uncoded {m['uncoded']:.1%}"
        )
    name = SCALED if SCALED in chosen_all else SHIPPED
    scale, cal = chosen_all[name]
    per_category(dev, devs[scale], cal, f"×{scale:g}, {describe(cal)}")
    print(
        f"\nto ship (`{name}`, chosen on all four):\n"
        f"kb/coding/context.py: ANSWER_CONTEXT_SCALE = {scale:g}\n"
        f"kb/coding/answers.py: ANSWER_CALIBRATION = AnswerCalibration(offset={cal.offset:g}, "
        f"keep_within={cal.keep_within})"
    )
    return scale, cal
