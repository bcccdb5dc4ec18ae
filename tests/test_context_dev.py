"""The dev-transcript check of the context blend's over-reach (bench/context_dev.py), on small arrays."""

from __future__ import annotations

import numpy as np

from bench.context_dev import context_counts, floored, reweighted

# three sentences, two categories; own: the sentence alone, conf: with its question and neighbours
OWN = np.array([[0.8, 0.1], [0.3, 0.02], [0.1, 0.6]])
CONF = np.array([[0.9, 0.7], [0.6, 0.55], [0.3, 0.8]])
GOLD = np.array([[True, False], [True, False], [False, True]])


def test_codes_are_split_into_own_words_and_context_only() -> None:
    c = context_counts(CONF >= 0.5, OWN, GOLD)
    assert c["own_tp"].tolist() == [1, 1]  # sentence 1's first, sentence 3's second category
    assert c["own_fp"].tolist() == [0, 0]
    assert c["context_tp"].tolist() == [1, 0]  # sentence 2: its question made it right
    assert c["context_fp"].tolist() == [0, 2]  # the second category spread to sentences 1 and 2


def test_an_evidence_floor_removes_context_only_where_the_sentence_has_none() -> None:
    thin = np.array([False, True, False])
    out = floored(OWN, CONF, thin, 0.05)
    assert out[0].tolist() == [0.9, 0.7]  # own 0.1 ≥ 0.05: the context stays
    assert out[1].tolist() == [0.6, 0.55]  # a thin sentence keeps its context
    assert floored(OWN, CONF, np.zeros(3, bool), 0.05)[1].tolist() == [0.6, 0.02]
    assert floored(OWN, CONF, thin, None) is CONF


def test_context_weights_scale_the_push_of_the_blend() -> None:
    raw_own = np.array([[0.2, 0.5]])
    push = np.array([[0.5, 0.2]])
    blended = raw_own + (1 - raw_own) * push  # kb.coding.context.blend_context's formula
    assert np.allclose(reweighted(raw_own, blended, np.ones(2)), blended)
    assert np.allclose(reweighted(raw_own, blended, np.zeros(2)), raw_own)
    half = reweighted(raw_own, blended, np.array([0.5, 1.0]))
    assert np.allclose(half, [[0.2 + 0.8 * 0.25, blended[0, 1]]])
