"""The retrieval query set is well-formed, grounded in the report, and maps onto passages."""

from __future__ import annotations

from difflib import SequenceMatcher

import pytest

from kb.query.evalsets import (
    DEFAULT_QUERIES,
    collapse_ws,
    load_queries,
    qrels,
    rejoin_wrapped,
    relevant_passage_ids,
    unmatched_snippets,
)
from kb.settings import get_settings

CASE_IDS = {
    "gyeonggi_bis",
    "eunpyeong_forest",
    "gyeonggi_delivery",
    "domestic_synthesis",
    "singapore_smart_nation",
    "london_talk_london",
    "amsterdam_smart_city",
    "international_synthesis",
    "daangn",
    "gangnam_unni",
    "baemin",
    "private:unattributed",
    "private_synthesis",
}


@pytest.fixture(scope="module")
def queries() -> list[dict]:
    return load_queries()


@pytest.fixture(scope="module")
def source_text() -> str:
    path = get_settings().source_path
    if not path.exists():
        pytest.skip(f"source report not available at {path}")
    return rejoin_wrapped(path.read_text(encoding="utf-8"))


def test_default_path_is_repo_eval_dir() -> None:
    assert DEFAULT_QUERIES.name == "queries.jsonl"
    assert DEFAULT_QUERIES.parent.name == "eval"
    assert DEFAULT_QUERIES.exists()


def test_size_and_languages(queries: list[dict]) -> None:
    assert len(queries) >= 70
    assert sum(q["lang"] == "en" for q in queries) >= 15
    assert {q["lang"] for q in queries} <= {"ko", "en"}


def test_records_are_well_formed(queries: list[dict]) -> None:
    ids = [q["id"] for q in queries]
    assert len(ids) == len(set(ids))
    for q in queries:
        assert q["query"].strip()
        assert q["cases"] and set(q["cases"]) <= CASE_IDS, q["id"]
        assert 1 <= len(q["relevant"]) <= 6, q["id"]
        assert any(r["grade"] == 2 for r in q["relevant"]), q["id"]
        for rel in q["relevant"]:
            assert rel["grade"] in (1, 2)
            assert 20 <= len(rel["snippet"]) <= 80, (q["id"], rel["snippet"])
            assert rel["snippet"] == collapse_ws(rel["snippet"])


def test_every_case_is_covered(queries: list[dict]) -> None:
    covered = {c for q in queries for c in q["cases"]}
    assert covered == CASE_IDS


def test_queries_are_paraphrased(queries: list[dict]) -> None:
    """Apart from the few name/term-exact queries, no query shares a long run with its evidence."""
    for q in queries:
        if "term-exact" in q.get("note", ""):
            continue
        for rel in q["relevant"]:
            a, b = q["query"], rel["snippet"]
            run = SequenceMatcher(None, a, b, autojunk=False).find_longest_match(0, len(a), 0, len(b)).size
            assert run <= 12, (q["id"], rel["snippet"])


def test_snippets_occur_in_source(queries: list[dict], source_text: str) -> None:
    missing = [
        (q["id"], r["snippet"]) for q in queries for r in q["relevant"] if r["snippet"] not in source_text
    ]
    assert not missing


def test_rejoin_handles_wrapped_words() -> None:
    raw = "시민들이 많다. 교통 혼잡을 줄이기 위해\n서는 대중\n\n교통 \n중심의  체계"
    assert rejoin_wrapped(raw) == "시민들이 많다. 교통 혼잡을 줄이기 위해서는 대중교통 중심의 체계"


PASSAGES = [
    {"id": "p1", "text": "버스정보팀의 현재 인력으로 대용량의 데이터를\n매일 수집하고 있으나"},
    {
        "id": "p2",
        "text": "이를 체계적으로 분석하여 서비스 개선점을 도출하고 정책 제안을 수행할 수 있는 "
        "데이터 분석 인원의 충원이 필요하다.",
    },
    {"id": "p3", "text": "실시간 버스정보를 수집하기 위해 매년 35억 원가량의 정보 이용료를 지출하고 있다."},
    {"id": "p4", "text": "정책 제안을 수행할 수 있는 데이터 분석 인원의 충원이 필요하다는 점이 반복된다."},
]


def test_mapping_exact_and_max_grade() -> None:
    query = {
        "id": "t1",
        "relevant": [
            {"snippet": "데이터 분석 인원의 충원이 필요하다", "grade": 1},
            {"snippet": "정책 제안을 수행할 수 있는 데이터 분석 인원의", "grade": 2},
        ],
    }
    assert relevant_passage_ids(query, PASSAGES) == {"p2": 2, "p4": 2}


def test_mapping_tolerates_whitespace_differences() -> None:
    # The passage has a line break and the segmenter may drop or add spaces at wraps.
    query = {"id": "t2", "relevant": [{"snippet": "대용량의 데이터를 매일 수집하고", "grade": 2}]}
    assert relevant_passage_ids(query, PASSAGES) == {"p1": 2}
    squeezed = {"id": "t3", "relevant": [{"snippet": "매년 35억원가량의 정보 이용료를 지출하고", "grade": 1}]}
    assert relevant_passage_ids(squeezed, PASSAGES) == {"p3": 1}


def test_mapping_snippet_split_across_passages_picks_longest_part() -> None:
    # 7 chars at the end of p1, the long rest at the start of p2.
    query = {
        "id": "t4",
        "relevant": [{"snippet": "수집하고 있으나 이를 체계적으로 분석하여 서비스 개선점을", "grade": 2}],
    }
    assert relevant_passage_ids(query, PASSAGES) == {"p2": 2}


def test_unmatched_and_qrels() -> None:
    query = {
        "id": "t5",
        "relevant": [
            {"snippet": "이 문장은 어느 패시지에도 들어 있지 않습니다 정말로", "grade": 2},
            {"snippet": "매년 35억 원가량의 정보 이용료를", "grade": 2},
        ],
    }
    assert unmatched_snippets(query, PASSAGES) == ["이 문장은 어느 패시지에도 들어 있지 않습니다 정말로"]
    assert qrels([query], PASSAGES) == {"t5": {"p3": 2}}


def test_load_queries_reports_bad_lines(tmp_path) -> None:
    bad = tmp_path / "q.jsonl"
    bad.write_text('{"id": "a", "relevant": []}\n{broken\n', encoding="utf-8")
    with pytest.raises(ValueError, match="q.jsonl:2"):
        load_queries(bad)
