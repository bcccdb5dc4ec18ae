"""Per-category decision thresholds chosen on out-of-fold predictions, never guessed.

Categories differ a lot in base rate and in how separable they are, so one global 0.5 cut is
wrong for most of them. Thresholds are picked to maximise F1 on predictions for cases the
model did not see (grouped folds), then pulled towards the neutral 0.5 when a category has few
positives, because a threshold fitted to five examples is mostly noise.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

GRID = np.round(np.arange(0.05, 0.96, 0.025), 3)


def f1_at(y: np.ndarray, p: np.ndarray, t: float) -> float:
    pred = p >= t
    tp = float(np.sum(pred & (y == 1)))
    fp = float(np.sum(pred & (y == 0)))
    fn = float(np.sum(~pred & (y == 1)))
    return 0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn)


def best_threshold(
    y: Sequence[int], p: Sequence[float], default: float = 0.5, prior_n: int = 10, grid: np.ndarray = GRID
) -> float:
    """F1-optimal threshold, smoothed: mean of the top plateau, shrunk to `default` by n/(n+prior_n)."""
    y_arr, p_arr = np.asarray(y, int), np.asarray(p, float)
    n_pos = int(y_arr.sum())
    if n_pos == 0 or n_pos == len(y_arr):
        return default
    scores = np.array([f1_at(y_arr, p_arr, t) for t in grid])
    top = grid[scores >= scores.max() - 0.01]  # plateau: thresholds within 0.01 F1 of the best
    fitted = float(np.median(top))
    weight = n_pos / (n_pos + prior_n)
    return float(np.clip(weight * fitted + (1 - weight) * default, grid[0], grid[-1]))


def group_folds(groups: Sequence[str], n_folds: int = 5) -> list[np.ndarray]:
    """Indices of each held-out fold; whole groups (cases) stay together, deterministic order."""
    groups_arr = np.asarray(groups)
    unique = sorted(set(groups_arr.tolist()))
    if len(unique) < 2:
        idx = np.arange(len(groups_arr))
        return [idx[i::n_folds] for i in range(min(n_folds, len(idx)))] if len(idx) > 1 else []
    k = min(n_folds, len(unique))
    sizes = {g: int(np.sum(groups_arr == g)) for g in unique}
    buckets: list[list[str]] = [[] for _ in range(k)]
    load = [0] * k
    for g in sorted(unique, key=lambda g: (-sizes[g], g)):  # greedy balance by size
        j = int(np.argmin(load))
        buckets[j].append(g)
        load[j] += sizes[g]
    return [np.flatnonzero(np.isin(groups_arr, b)) for b in buckets]


def out_of_fold(
    fit_predict: Callable[[np.ndarray, np.ndarray], np.ndarray], n: int, folds: list[np.ndarray]
) -> np.ndarray:
    """`fit_predict(train_idx, test_idx)` over the folds → one out-of-fold prediction row per item.

    Rows never held out (e.g. codebook examples, always in training) stay NaN."""
    out: np.ndarray | None = None
    for test_idx in folds:
        train_idx = np.setdiff1d(np.arange(n), test_idx)
        pred = np.asarray(fit_predict(train_idx, test_idx), float)
        if out is None:
            out = np.full((n,) + pred.shape[1:], np.nan)
        out[test_idx] = pred
    return out if out is not None else np.full((n,), np.nan)


def to_confidence(p: float, threshold: float) -> float:
    """Rescale a probability so the category's threshold maps to 0.5: confidence ≥ 0.5 ⇔ coded."""
    p = float(min(max(p, 0.0), 1.0))
    if p >= threshold:
        return 0.5 + 0.5 * (p - threshold) / max(1e-9, 1 - threshold)
    return 0.5 * p / max(1e-9, threshold)
