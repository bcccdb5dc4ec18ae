"""Code-aware search: a query's codebook categories and direction, and the coded passages it prefers.

Over the real search fixture (fixture corpus plus test_search's passages, embedded with the
bundled encoders). Expected categories come from the codebook's own wording of each factor.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from test_search import BUS_ID, RESIDENTS_ID, search_settings  # noqa: F401 - the session fixture

from kb.query.intent import (
    DEFAULT_INTENT,
    Intent,
    IntentConfig,
    category_texts,
    code_scores,
    coder_confidences,
    query_polarity,
    reader_for,
    with_coder,
)
from kb.query.retrieval import DEFAULT_WEIGHTS, ranked_ids
from kb.store.kbase import KnowledgeBase, get_kb
from kb.store.sentence_index import split_query_vector


@pytest.fixture(scope="module")
def kb(search_settings):  # noqa: F811
    """The store with the learned reranker off: these tests are about the intent list of the fusion."""
    return get_kb(replace(search_settings, rerank_ltr=0))


def read(kb, query: str) -> Intent:
    vectors = split_query_vector(kb.embedder, kb.embedder.embed_queries([query])[0])
    return reader_for(kb).read(query, vectors, DEFAULT_INTENT)


@pytest.mark.parametrize(
    ("query", "category"),
    [
        ("what held back resident participation?", "resident_acceptance"),
        ("예산 확보가 성공에 어떤 역할을 했나", "financial_resources"),
        ("단체장의 추진 의지는 어땠나", "leadership"),
        ("How did the head of the city drive the project?", "leadership"),
    ],
)
def test_query_intent_names_the_category_in_either_language(kb, query: str, category: str) -> None:
    intent = read(kb, query)
    assert category in intent.categories and len(intent.categories) <= DEFAULT_INTENT.max_categories, intent


@pytest.mark.parametrize(
    ("query", "polarity"),
    [
        ("what held back resident participation?", "obstacle"),
        ("주민 참여의 걸림돌은 무엇이었나", "obstacle"),
        ("예산 확보가 성공에 어떤 역할을 했나", "success"),
        ("What worked well for the bus information system?", "success"),
        ("앞으로 무엇을 해야 하나", "recommendation"),
        ("What should other cities learn?", "recommendation"),
        ("What advice did interviewees give to other local governments?", "recommendation"),
        ("다른 지자체에 주는 조언", "recommendation"),
        ("what would they advise a new city?", "recommendation"),
        ("버스정보시스템은 어떤 정보를 제공하나", None),
        ("what went wrong and what worked?", None),  # both directions: none chosen
        ("Was there a shortage of staff to run the platform?", "obstacle"),  # a lack named as such
        ("Were budgets insufficient?", "obstacle"),
        ("사업 추진에 차질이 생긴 이유", "obstacle"),
        ("why did residents not use the app?", "obstacle"),  # why … not: the reasons of a failure
        ("Why didn't the staff adopt it?", "obstacle"),
        ("주민들은 왜 앱을 쓰지 않았나", "obstacle"),
        ("왜 참여가 안 됐나", "obstacle"),
        ("why did the city choose a private operator?", None),  # a why without a negation says no direction
        ("왜 안내 문자를 보냈나", None),  # 안내 is not a negation
        ("공공 플랫폼이 주민들에게 외면받거나 중단된 이유", "obstacle"),  # abandoned, discontinued
        ("Why were some public apps abandoned?", "obstacle"),
        ("주민들이 플랫폼을 잘 안 쓴 이유는 뭔가요", "obstacle"),  # the reason of a negated verb
        ("주민이 참여하지 않는 원인", "obstacle"),
        ("the reasons residents did not sign up", "obstacle"),
        ("주민들이 플랫폼을 쓰는 이유", None),  # a reason without a negation says no direction
    ],
)
def test_query_polarity_from_direction_words(query: str, polarity: str | None) -> None:
    assert query_polarity(query) == polarity


def test_code_scores_prefer_the_asked_direction(kb) -> None:
    intent = Intent({"resident_acceptance": 1.0}, "obstacle")
    scores = code_scores(kb.codes_for, [RESIDENTS_ID, BUS_ID], intent, IntentConfig(off_polarity=0.5))
    # RESIDENTS: resident_acceptance obstacle 0.84; BUS: resident_acceptance success 0.77, halved
    assert scores[RESIDENTS_ID] == pytest.approx(0.84) and scores[BUS_ID] == pytest.approx(0.385)
    assert code_scores(kb.codes_for, [RESIDENTS_ID], Intent({"leadership": 1.0}), DEFAULT_INTENT) == {}


def test_search_ranks_the_passages_coded_with_the_asked_factor_first(kb) -> None:
    """The two passages coded resident_acceptance lead a question about resident participation;
    without the intent list, passages that merely share its words sit between them."""
    query = "What held back resident participation?"
    # without the English glossary's BM25 list (kb.query.glossary), itself a ranking by shared words
    base = replace(DEFAULT_WEIGHTS, keyword_en=0.0)
    off = [pid for pid, _ in ranked_ids(kb, query, 200, weights=replace(base, intent=0.0))]
    on = [pid for pid, _ in ranked_ids(kb, query, 200, weights=base)]
    assert DEFAULT_WEIGHTS.intent > 0 and set(on) == set(off)  # it reorders the candidates, adds none
    assert on[:2] == [RESIDENTS_ID, BUS_ID]  # the asked direction (obstacle) first
    assert BUS_ID not in off[:2]


def test_category_vectors_are_cached_and_a_garbage_cache_is_replaced(search_settings) -> None:  # noqa: F811
    kb = KnowledgeBase.open(search_settings)
    reader_for(kb)
    (path,) = (search_settings.data_dir / "cache").glob("intent-*.npz")
    with np.load(path, allow_pickle=False) as data:
        assert len(data["keys"]) == len(category_texts(kb.codebook)[1])
    expected = reader_for(kb).parts[0]
    path.write_bytes(b"not an npz")  # hostile or truncated: a cache, never a reason to fail
    fresh = KnowledgeBase.open(search_settings)
    assert np.allclose(reader_for(fresh).parts[0], expected)
    with np.load(path, allow_pickle=False) as data:  # rewritten
        assert len(data["keys"]) == len(category_texts(kb.codebook)[1])


@pytest.mark.parametrize(
    ("query", "category"),
    [
        ("재정 지원이 부족했던 이유", "financial_resources"),
        ("주민 참여가 저조했던 원인", "resident_acceptance"),
    ],
)
def test_the_store_coder_codes_a_korean_question_like_a_passage(kb, query: str, category: str) -> None:
    conf = coder_confidences(kb, query)
    assert conf[category] >= DEFAULT_INTENT.coder_min
    assert sum(c >= DEFAULT_INTENT.coder_min for c in conf.values()) <= 2  # not everything


def test_coder_categories_join_the_intent_at_full_weight() -> None:
    intent = Intent({"governance": 1.0, "org_structure": 0.6}, "success")
    got = with_coder(intent, {"leadership": 0.88, "org_culture": 0.3, "governance": 0.7}, 0.5)
    assert got == Intent({"governance": 1.0, "org_structure": 0.6, "leadership": 1.0}, "success")
