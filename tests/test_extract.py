"""Extraction stage: report text → corpus/ (documents, blocks, footnotes, manifest)."""

from __future__ import annotations

import csv
import json
import re
import unicodedata
from pathlib import Path

import pytest

from kb.corpus.cases import CASES, companies_named
from kb.errors import KbError, SourceEmpty, SourceLayoutError, SourceNotFound, SourceNotUtf8
from kb.records import CASE_FIELDS
from kb.settings import get_settings
from kb.text.textclean import (
    estimate_pages,
    join_table_lines,
    join_wrapped,
    join_wrapped_with_offsets,
    mark_footnote,
    pop_markers,
)
from pipelines import extract

SOURCE = get_settings().source_path
pytestmark = pytest.mark.skipif(not SOURCE.is_file(), reason="report text (shared/seeds) not available")


@pytest.fixture(scope="session")
def corpus(tmp_path_factory) -> tuple[Path, list[dict]]:
    out = tmp_path_factory.mktemp("corpus")
    rows = extract.run(source=SOURCE, corpus_dir=out)
    return out, rows


def _docs(out: Path) -> dict[str, str]:
    return {p.stem: p.read_text(encoding="utf-8") for p in (out / "docs").glob("*.txt")}


def test_every_document_and_case_present(corpus):
    out, rows = corpus
    assert [r["doc_id"] for r in rows] == list(extract.DOCS)
    assert {r["case"] for r in rows} == set(CASES)
    docs = _docs(out)
    minimum = {"case": 2500, "synthesis": 3000, "company_intro": 800, "interview": 1500, "overview": 2000}
    minimum |= {"domestic_overview": 800, "international_overview": 800}  # 제4·5장 제1절: one page each
    for r in rows:
        assert len(docs[r["doc_id"]]) >= minimum.get(r["doc_id"], minimum[r["part"]]), r["doc_id"]
        assert len(docs[r["doc_id"]]) < 12000, r["doc_id"]


def test_manifest_columns_pages_and_citation(corpus):
    out, rows = corpus
    with open(out / "manifest.csv", encoding="utf-8", newline="") as f:
        disk = list(csv.DictReader(f))
    assert len(disk) == len(rows)
    for r in disk:
        for col in ("doc_id", "case", *CASE_FIELDS, "chapter", "section", "page_start", "page_end"):
            assert r[col], (r["doc_id"], col)
        assert r["citation"], r["doc_id"]
        p0, p1 = int(r["page_start"]), int(r["page_end"])
        assert 100 <= p0 <= p1 <= 190
        assert "한국지방행정연구원 연구보고서 2022-01" in r["citation"]
        assert "ISBN 978-89-7865-512-5" in r["citation"]
        assert re.search(r"제[456]장 제\d절.*pp?\. \d+", r["citation"])
    by_id = {r["doc_id"]: r for r in disk}
    assert by_id["gyeonggi_bis"]["chapter"].startswith("제4장")
    assert by_id["london_talk_london"]["chapter"].startswith("제5장")
    assert int(by_id["amsterdam_smart_city"]["page_start"]) == 148  # printed page number line "148"


def test_clean_text_has_no_headers_page_numbers_or_footnotes(corpus):
    out, _ = corpus
    for doc_id, text in _docs(out).items():
        assert unicodedata.is_normalized("NFC", text)
        assert "❘" not in text, doc_id
        assert "효과적인 운영방안 연구" not in text, doc_id
        assert "http" not in text, doc_id
        assert not re.search(r"^\s*\d{1,3}\s*$", text, re.M), doc_id
        assert not re.search(r"[가-힣]\d{2}\)", text), doc_id  # glued footnote marker like 있다18)
        assert "\x01" not in text and "\uf09f" not in text, doc_id


def test_footnotes_kept_aside_with_page_and_anchor(corpus):
    out, _ = corpus
    notes = [json.loads(line) for line in open(out / "footnotes.jsonl", encoding="utf-8")]
    assert {n["number"] for n in notes} == {14, 15, 16, 17, 18, 19, 20}
    docs = _docs(out)
    for n in notes:
        assert isinstance(n["page"], int) and n["text"]
        assert 0 <= n["anchor"] <= len(docs[n["doc_id"]])
    mfds = next(n for n in notes if n["number"] == 17)
    assert mfds["text"].endswith("&page=194")  # URL wrapped over three lines, rejoined without spaces
    assert "2019)" in docs["private_overview"]  # "(삼정KPMG, 201916))" lost its marker only


def test_blocks_structure_and_tables(corpus):
    out, _ = corpus
    docs = _docs(out)
    kinds = set()
    for path in (out / "docs").glob("*.blocks.jsonl"):
        text = docs[path.name.removesuffix(".blocks.jsonl")]
        for line in open(path, encoding="utf-8"):
            b = json.loads(line)
            kinds.add(b["kind"])
            body = text[b["start"] : b["end"]]
            assert body.strip() == body and body
            assert b["section_path"][0].startswith("제")
            assert b["case"] in CASES
            if b["kind"] in ("narrative", "summary", "quote"):
                assert " | " not in body and not body.startswith(("표 ", "그림 "))
                assert not any(body.startswith(p) for p in b["section_path"][1:])  # heading not in body
            if b["kind"] == "table":
                assert body.startswith("표 ")
    assert {"narrative", "summary", "quote", "table", "figure"} <= kinds
    assert "표 4-2 국내 플랫폼 사례 분석 결과 종합" in docs["domestic_synthesis"]


def test_method_overviews_of_chapters_4_and_5(corpus):
    out, rows = corpus
    by_id = {r["doc_id"]: r for r in rows}
    docs = _docs(out)
    for doc_id, group, table, first in (
        ("domestic_overview", "domestic", "표 4-1 국내 사례 인터뷰 내용", "지난 절에서는"),
        ("international_overview", "international", "표 5-1 해외 우수 플랫폼 사례 조사 내용", "독점적 지위"),
    ):
        row = by_id[doc_id]
        assert (row["case"], row["group"], row["platform_type"], row["part"]) == (
            doc_id,
            group,
            "overview",
            "overview",
        )
        assert row["section"] == "제1절 사례 분석 개요"
        assert docs[doc_id].startswith(first) and table in docs[doc_id]
        blocks_file = out / "docs" / f"{doc_id}.blocks.jsonl"
        kinds = [json.loads(line)["kind"] for line in open(blocks_file, encoding="utf-8")]
        assert kinds == ["narrative", "narrative", "table"]
    private = by_id["private_overview"]  # the researchers' chapter-6 introduction: no firm's words
    assert (private["case"], private["group"], private["platform_type"]) == ("private_overview", "private",
                                                                            "overview")  # fmt: skip
    assert "2022년 8월부터 9월 사이에" in docs["domestic_overview"]
    assert "(디지털데일리, 22.04.05). 본 과제에서는" in docs["international_overview"]  # marker 15) gone


def test_company_attribution(corpus):
    out, _ = corpus
    for doc_id, company in (
        ("daangn_interview", "daangn"),
        ("gangnam_unni_interview", "gangnam_unni"),
        ("baemin_interview", "baemin"),
    ):
        for line in open(out / "docs" / f"{doc_id}.blocks.jsonl", encoding="utf-8"):
            b = json.loads(line)
            assert b["case"] == company
            assert b["attribution"] in ("named", "lead_in", "quote_context")
    text = _docs(out)["private_interview_unattributed"]
    for line in open(out / "docs" / "private_interview_unattributed.blocks.jsonl", encoding="utf-8"):
        b = json.loads(line)
        assert len(companies_named(text[b["start"] : b["end"]])) != 1 or b["kind"] == "figure"


def test_existing_corpus_files_survive_rerun(tmp_path):
    (tmp_path / "codebook.yaml").write_text("version: 1\n", encoding="utf-8")
    extract.run(source=SOURCE, corpus_dir=tmp_path)
    extract.run(source=SOURCE, corpus_dir=tmp_path)
    assert (tmp_path / "codebook.yaml").read_text(encoding="utf-8") == "version: 1\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "codebook.yaml",
        "docs",
        "footnotes.jsonl",
        "manifest.csv",
    ]


@pytest.mark.parametrize("case", ["missing", "directory", "empty", "blank", "cp949", "wrong_text"])
def test_bad_source_raises_one_line_error_and_writes_nothing(tmp_path, case):
    src = tmp_path / "report.txt"
    if case == "directory":
        src.mkdir()
    elif case == "empty":
        src.write_bytes(b"")
    elif case == "blank":
        src.write_text(" \n\n\t\n", encoding="utf-8")
    elif case == "cp949":
        src.write_bytes("지방자치단체 플랫폼 정부".encode("cp949"))
    elif case == "wrong_text":
        src.write_text("플랫폼 정부에 관한 다른 글입니다.\n", encoding="utf-8")
    expected = {
        "missing": SourceNotFound,
        "directory": SourceNotFound,
        "empty": SourceEmpty,
        "blank": SourceEmpty,
        "cp949": SourceNotUtf8,
        "wrong_text": SourceLayoutError,
    }[case]
    out = tmp_path / "corpus"
    out.mkdir()
    (out / "manifest.csv").write_text("old\n", encoding="utf-8")
    with pytest.raises(expected) as info:
        extract.run(source=src, corpus_dir=out)
    msg = str(info.value)
    assert isinstance(info.value, KbError) and "\n" not in msg and len(msg) < 300
    if case != "wrong_text":
        assert str(src) in msg
    assert sorted(p.name for p in out.iterdir()) == ["manifest.csv"]  # nothing half-written, old kept
    assert (out / "manifest.csv").read_text(encoding="utf-8") == "old\n"


def test_join_wrapped_follows_trailing_space_rule():
    assert (
        join_wrapped(["지방자치단체 플", "랫폼 정부를 ", "운영한다."])
        == "지방자치단체 플랫폼 정부를 운영한다."
    )
    assert join_wrapped(["정보제공형 플", "랫폼이다. ", "다음 문장"]) == "정보제공형 플랫폼이다. 다음 문장"
    assert join_wrapped(["(Everyone connected", "to Everything)"]) == "(Everyone connected to Everything)"


def test_join_wrapped_ignores_page_start_leading_space():
    # a line that starts a new page carries a leading space even in the middle of a word
    assert join_wrapped(["온라인 참여활동 플랫폼의 도", " 입이 보다 요구되었다. "]) == (
        "온라인 참여활동 플랫폼의 도입이 보다 요구되었다."
    )
    assert join_wrapped(["통해 수수", " 료를 폐지한 결정이다."]) == "통해 수수료를 폐지한 결정이다."
    text, starts = join_wrapped_with_offsets(["플랫폼 ", " 정부를"])
    assert text == "플랫폼 정부를" and starts == [0, 4]


def test_table_lines_glue_only_known_words():
    vocab = {"플랫폼", "플랫폼의"}
    text = join_table_lines(["구분", "경기도", " 정보제공형 플", "랫폼의 특징"], is_word=lambda w: w in vocab)
    assert text.split("\n") == ["구분", "경기도", "정보제공형 플랫폼의 특징"]


def test_footnote_marker_helpers():
    assert mark_footnote("가치를 중시한다18). ", 18) == "가치를 중시한다\x0118\x02. "
    assert mark_footnote("(삼정KPMG, 201916)). 첫", 16) == "(삼정KPMG, 2019\x0116\x02). 첫"
    assert mark_footnote("(김명희, 2016). 끝", 16) is None  # a year, not marker 16
    assert pop_markers("있다\x0118\x02. 끝") == ("있다. 끝", [(18, 2)])


def test_estimate_pages_exact_at_anchors():
    pages = estimate_pages(200, anchors=[(10, 5), (110, 7)], breaks=[60, 150])
    assert pages[10] == 5 and pages[110] == 7 and pages[60] == 6 and pages[150] == 8
    assert pages == sorted(pages)
