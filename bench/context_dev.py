"""Does the context blend (kb.coding.context) over-reach, per category? Chosen on the dev transcripts.

Run through `bench/calibrate_dev.py --context` (it trains the production fast coder). The dev
transcripts are scored once; a code that only the context brings is one whose confidence from the
sentence alone is below 0.5. Per category it counts those codes right and wrong, then tries general
restrictions of the context, each leave-one-transcript-out (chosen on three transcripts, scored on
the fourth, with the shipped answer calibration):

* an evidence floor: the context may raise a category only when the sentence's own confidence
  for it reaches the floor (thin sentences, which say little on their own, exempt or not);
* per-category context weights: each category's push from the question and neighbours scaled by
  a weight chosen per category;
* one weight for the categories over-predicted on the three transcripts.

Nothing here changes the coder; the table says which restriction, if any, is worth shipping.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import replace

import numpy as np

from bench.calibrate_answers import Dev, pick
from kb.coding.answers import ANSWER_CALIBRATION
from kb.coding.coder import Coder
from kb.coding.context import BACKCHANNEL_LEMMAS, is_thin

FLOORS = (None, 0.05, 0.1, 0.15, 0.2, 0.3)  # None first: a tie keeps the coder as it is
WEIGHTS = (1.0, 0.75, 0.5, 0.25, 0.0)
OVER = 1.2  # a category predicted more than this many times its gold count is over-predicted


def context_counts(chosen: np.ndarray, own: np.ndarray, gold: np.ndarray) -> dict[str, np.ndarray]:
    """Per category, chosen codes from the sentence's own words (own ≥ 0.5) and from the context
    only, right (tp) and wrong (fp) against `gold` (all [n, k])."""
    mine, ctx = chosen & (own >= 0.5), chosen & (own < 0.5)
    return {
        "own_tp": np.sum(mine & gold, axis=0),
        "own_fp": np.sum(mine & ~gold, axis=0),
        "context_tp": np.sum(ctx & gold, axis=0),
        "context_fp": np.sum(ctx & ~gold, axis=0),
    }


def reweighted(raw_own: np.ndarray, raw: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Blended raw scores with each category's context push scaled by `weights` ([k]).

    The blend is p' = p + (1 − p)·push; the push is recovered from p and p' (exact unless the push
    was clipped at 1, where it is under-stated)."""
    push = np.where(raw_own < 1, (raw - raw_own) / np.maximum(1e-9, 1 - raw_own), 0.0)
    return raw_own + (1 - raw_own) * np.clip(weights[None, :] * push, 0, 1)


def floored(own: np.ndarray, conf: np.ndarray, exempt: np.ndarray, floor: float | None) -> np.ndarray:
    """Confidences with the context removed where the sentence's own confidence is below `floor`
    (rows in `exempt` keep it)."""
    if floor is None:
        return conf
    return np.where((own < floor) & ~exempt[:, None], own, conf)


class Variants:
    """The scored dev transcripts under context restrictions (each a copy of `dev` with new scores)."""

    def __init__(self, coder: Coder, dev: Dev) -> None:
        self.coder, self.dev = coder, dev
        s = dev.scored
        self.raw_own = coder.score_analyses(s.analyses)[2]
        self.thin = np.array([is_thin(a) or len(a.lemmas) < BACKCHANNEL_LEMMAS for a in s.analyses])
        self._cache: dict[tuple, Dev] = {}

    def _with(self, key: tuple, raw: np.ndarray, conf: np.ndarray) -> Dev:
        if key not in self._cache:
            out = copy.copy(self.dev)
            out.scored = replace(self.dev.scored, raw=raw, conf=conf)
            out._pred, out._full = {}, {}
            self._cache[key] = out
        return self._cache[key]

    def floor(self, value: float | None, thin_exempt: bool = True) -> Dev:
        s = self.dev.scored
        exempt = self.thin if thin_exempt else np.zeros_like(self.thin)
        return self._with(("floor", value, thin_exempt), s.raw, floored(s.own, s.conf, exempt, value))

    def weights(self, w: np.ndarray) -> Dev:
        raw = reweighted(self.raw_own, self.dev.scored.raw, w)
        return self._with(("weights", tuple(w)), raw, self.coder.confidences(self.dev.cats, raw))


def macro(d: Dev, mask: np.ndarray) -> tuple[float, float]:
    """(macro-F1, uncoded share) of `d` with the shipped answer calibration on the rows in `mask`."""
    return d.score(d.pred(ANSWER_CALIBRATION), mask)


def loo(dev: Dev, choose: Callable[[np.ndarray], tuple[Dev, str]]) -> tuple[float, list[float], list[str]]:
    """Mean held-out macro-F1, per transcript, and what each split chose."""
    per, picks = [], []
    for name, mask in dev.folds.items():
        d, label = choose(~mask)
        per.append(macro(d, mask)[0])
        picks.append(f"{name.split('_')[0]}: {label}")
    return float(np.mean(per)), per, picks


def per_category_weights(v: Variants, mask: np.ndarray) -> np.ndarray:
    """Each category's weight: its best F1 on `mask` (a weight must beat 1.0 by 0.01)."""
    k = len(v.dev.cats)
    w = np.ones(k)
    for j in range(k):
        best, best_f = 1.0, None
        for x in WEIGHTS:
            trial = np.ones(k)
            trial[j] = x
            d = v.weights(trial)
            f = d.score(d.pred(ANSWER_CALIBRATION), mask, [j])[0]
            if best_f is None or f > best_f + 0.01:
                best, best_f = x, f
        w[j] = best
    return w


def over_predicted(dev: Dev, mask: np.ndarray) -> list[int]:
    pred = dev.pred(ANSWER_CALIBRATION)[mask].sum(axis=0)
    gold = dev.gold[mask].sum(axis=0)
    return [j for j in range(len(dev.cats)) if gold[j] and pred[j] > OVER * gold[j]]


def over_weight(v: Variants, mask: np.ndarray) -> tuple[Dev, str]:
    """One weight for the categories over-predicted on `mask`, the best macro-F1 there."""
    over = over_predicted(v.dev, mask)
    cands = []
    for x in WEIGHTS:
        w = np.ones(len(v.dev.cats))
        w[over] = x
        d = v.weights(w)
        cands.append((macro(d, mask), d, x))
    top = pick(cands, v.dev.gold_uncoded(mask))
    return top[1], f"{top[2]:g} for {', '.join(v.dev.cats[j] for j in over)}"


def fmt(per: Sequence[float]) -> str:
    return " / ".join(f"{f:.3f}" for f in per)


def run(coder: Coder, rows: list[dict], cats: list[str]) -> None:
    """Print the per-category table and the leave-one-transcript-out rows of each restriction."""
    dev = Dev(coder, rows, cats)
    v = Variants(coder, dev)
    s = dev.scored
    counts = context_counts(dev.chosen(ANSWER_CALIBRATION), s.own, dev.gold[dev.owner])
    print(
        "per category, sentence codes of the shipped coder (own words / context only, right / wrong):\n"
        "| category | own words TP / FP | context only TP / FP | context adds more wrong than right |\n"
        "|---|---|---|---|"
    )
    for j, cat in enumerate(cats):
        c = {key: int(val[j]) for key, val in counts.items()}
        worse = "yes" if c["context_fp"] > c["context_tp"] else ""
        print(f"| {cat} | {c['own_tp']} / {c['own_fp']} | {c['context_tp']} / {c['context_fp']} | {worse} |")
    everything = np.ones(len(rows), bool)
    print(
        "\n| restriction | held-out macro-F1 (mean of 4) | per transcript | chosen per split |\n"
        "|---|---|---|---|"
    )
    mean, per, _ = loo(dev, lambda mask: (dev, "none"))
    print(f"| none (shipped) | {mean:.3f} | {fmt(per)} | – |")
    for exempt in (True, False):

        def floor_choice(mask: np.ndarray, exempt: bool = exempt) -> tuple[Dev, str]:
            cands = [(macro(v.floor(f, exempt), mask), f) for f in FLOORS]
            f = pick(cands, dev.gold_uncoded(mask))[1]
            return v.floor(f, exempt), f"floor {f}"

        mean, per, picks = loo(dev, floor_choice)
        label = f"evidence floor (thin sentences {'exempt' if exempt else 'included'})"
        print(f"| {label} | {mean:.3f} | {fmt(per)} | {' · '.join(picks)} |")
    mean, per, picks = loo(
        dev,
        lambda mask: (
            v.weights(w := per_category_weights(v, mask)),
            ", ".join(f"{cats[j]} {w[j]:g}" for j in np.flatnonzero(w < 1)) or "all 1",
        ),
    )
    print(f"| per-category context weights | {mean:.3f} | {fmt(per)} | {' · '.join(picks)} |")
    mean, per, picks = loo(dev, lambda mask: over_weight(v, mask))
    print(f"| one weight for the over-predicted categories | {mean:.3f} | {fmt(per)} | {' · '.join(picks)} |")
    print("\nin-sample (all four), resident_acceptance / output_quality predicted (gold), macro-F1, uncoded:")
    from bench.eval_coding import metrics

    for label, d in (
        [("none", dev)]
        + [(f"floor {f}", v.floor(f)) for f in FLOORS[1:]]
        + [(f"over-predicted ×{x:g}", over_weight_fixed(v, everything, x)) for x in WEIGHTS[1:]]
    ):
        m = metrics(rows, d.full(ANSWER_CALIBRATION), cats)
        ra, oq = m["per_category"]["resident_acceptance"], m["per_category"]["output_quality"]
        print(
            f"  {label}: RA {ra['predicted']} ({ra['support']}) F1 {ra['f1']:.2f}, OQ {oq['predicted']} "
            f"({oq['support']}) F1 {oq['f1']:.2f}; macro-F1 {m['macro_f1']:.3f}, uncoded {m['uncoded']:.1%}"
        )


def over_weight_fixed(v: Variants, mask: np.ndarray, x: float) -> Dev:
    w = np.ones(len(v.dev.cats))
    w[over_predicted(v.dev, mask)] = x
    return v.weights(w)
