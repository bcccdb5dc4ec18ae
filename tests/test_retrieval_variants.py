"""The scoring helpers of bench/retrieval_variants.py (the candidates measured against kb.search's fusion)."""

from __future__ import annotations

import numpy as np
import pytest

from bench.retrieval_variants import aggregate, neighbour_windows, rocchio, zscores


def test_aggregate_max_and_top_k_per_passage() -> None:
    owner = np.array([0, 0, 0, 2, 2])
    scores = np.array([0.1, 0.9, 0.5, 0.3, 0.7])
    assert aggregate(owner, scores, 3, "max").tolist() == [0.9, -np.inf, 0.7]
    assert aggregate(owner, scores, 3, "top2").tolist() == pytest.approx([0.7, -np.inf, 0.5])
    top3 = aggregate(owner, scores, 3, "top3")
    assert top3[0] == pytest.approx(0.5) and top3[2] == pytest.approx(0.5)  # fewer than 3: all of them
    with pytest.raises(ValueError):
        aggregate(owner, scores, 3, "median")


def test_neighbour_windows_follow_sentence_order_within_a_passage() -> None:
    # ids out of position order (Chroma returns them sorted as strings: #10 before #2)
    ids = ["p1#10.aaaa", "p1#2.bbbb", "p1#9.cccc", "p2#0.dddd"]
    m = np.eye(4, dtype=np.float32)
    owners, win = neighbour_windows(ids, m)
    assert owners == ["p1", "p1", "p2"]
    s = 1 / np.sqrt(2)
    assert win[0] == pytest.approx([0, s, s, 0])  # sentences 2 and 9
    assert win[1] == pytest.approx([s, 0, s, 0])  # sentences 9 and 10
    assert win[2] == pytest.approx([0, 0, 0, 1])  # a one-sentence passage keeps its sentence


def test_rocchio_moves_the_query_towards_the_feedback_and_stays_unit() -> None:
    q = np.array([1.0, 0.0])
    fb = np.array([[0.0, 1.0], [0.0, 1.0]])
    out = rocchio(q, fb, 1.0)
    assert np.linalg.norm(out) == pytest.approx(1.0)
    assert out[1] > 0 and out[0] == pytest.approx(out[1])
    assert rocchio(q, fb, 0.0) is q and rocchio(q, fb[:0], 1.0) is q


def test_zscores_standardise_by_the_top_pool_and_fill_missing_with_the_minimum() -> None:
    s = np.array([3.0, 1.0, -np.inf, 2.0])
    z = zscores(s, pool=3)
    assert z[[0, 1, 3]] == pytest.approx([1.2247, -1.2247, 0.0], abs=1e-3)
    assert z[2] == pytest.approx(z[1])
    assert np.argsort(-z)[0] == 0
