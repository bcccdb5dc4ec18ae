"""The per-document calibration fits of bench/learn_calibration.py (tried, not shipped): offsets and
biases move in the direction of the decisions, shrink with their prior, and vanish without one."""

from __future__ import annotations

import numpy as np

from bench.learn_calibration import fit_offsets, fit_polarity_bias
from kb.records import POLARITIES


def _reviewed(n: int = 20, k: int = 3) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Category 0 scored low but decided present, category 1 scored high but rejected, 2 right."""
    logit = np.tile([-1.5, 1.5, -2.0], (n, 1))[:, :k]
    y = np.tile([1.0, 0.0, 0.0], (n, 1))[:, :k]
    return logit, y, np.ones((n, k), bool)


def test_offsets_follow_the_decisions_per_category() -> None:
    logit, y, known = _reviewed()
    d = fit_offsets(logit, y, known, sg=0.0, sc=1.0)
    assert d[0] > 0.5 and d[1] < -0.5  # under-coded: easier; over-coded: harder
    assert abs(d[2]) < abs(d[0]) and abs(d[2]) < abs(d[1])  # already right: moves least


def test_offsets_shrink_with_their_prior_and_vanish_without_one() -> None:
    logit, y, known = _reviewed()
    wide, narrow = fit_offsets(logit, y, known, 0.0, 2.0), fit_offsets(logit, y, known, 0.0, 0.1)
    assert np.all(np.abs(narrow) < np.abs(wide))
    assert np.all(fit_offsets(logit, y, known, 0.0, 0.0) == 0)
    assert np.all(fit_offsets(logit, y, np.zeros_like(known), 1.0, 1.0) == 0)  # nothing decided


def test_a_global_offset_is_one_shift_for_every_category() -> None:
    logit, y, known = _reviewed()
    d = fit_offsets(logit, y, known, sg=1.0, sc=0.0)
    assert np.allclose(d, d[0])


def test_polarity_bias_leans_to_the_decided_polarity() -> None:
    flat = dict.fromkeys(POLARITIES, 1 / len(POLARITIES))
    bias = fit_polarity_bias([flat] * 10, ["obstacle"] * 10, s=1.0)
    assert bias["obstacle"] > 0 and all(bias[q] < bias["obstacle"] for q in POLARITIES if q != "obstacle")
    assert fit_polarity_bias([flat] * 10, ["obstacle"] * 10, s=0.0) == {}
