"""Tabular exports: every format written, read back with pandas, Korean intact, filters applied."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from fixtures_kb import REVIEWER

from kb.errors import ExportError, UnknownFilterValue
from kb.exchange.export import EXCERPT_COLUMNS, export, write_atomic
from kb.query.filters import Filters

KOREAN = "단체장의 관심은 높은 것으로 나타났다"


def test_excerpt_rows_carry_codes_and_citation(kb):
    df = export(kb, "csv")
    assert list(df.columns) == EXCERPT_COLUMNS
    assert len(df) == 10  # 9 auto codes + 1 code a human added
    human = df[df["source"] == "human"]
    assert set(human["reviewer"]) == {REVIEWER}
    assert set(human["category"]) == {"financial_resources", "human_resources"}
    assert "예산의 단절성" in human["memo"].dropna().iloc[0]
    assert df["text"].str.contains(KOREAN).any()
    # each row cites its document (the manifest's citation) and page, as a quotation needs; the
    # fixture's documents say their pages were estimated, and so does every citation of a page
    manifest = pd.read_csv(kb.settings.manifest_path, dtype=str).set_index("doc_id")
    assert set(manifest["pages_estimated"]) == {"true"}
    for row in df.itertuples():
        assert row.citation.startswith(manifest.loc[row.doc_id, "citation"])
        assert pd.isna(row.page) or row.citation.endswith(f", p. {row.page} (추정)")
    assert set(df["label_en"]) <= {c.label_en for c in kb.codebook.categories}
    assert df["fallback"].dtype == bool
    assert df.loc[df["source"] == "human", "coder"].isna().all()  # a reviewed code is the reviewer's
    # `quote`: the sentences that carry the code, out of the passage's text
    assert all(part in r.text for r in df.itertuples() for part in r.quote.split(" … "))


def test_a_citation_gives_the_passages_own_pages_or_lines_and_never_repeats_itself() -> None:
    from kb.corpus.citation import cite

    report = "이경은 외 (2022). 연구보고서 2022-01, 제6장 제2절, pp. 166–182"
    assert (
        cite(report, {"page": 175, "page_end": 176})
        == "이경은 외 (2022). 연구보고서 2022-01, 제6장 제2절, pp. 175–176"
    )
    assert (
        cite(report, {"page": 177, "page_end": 177})
        == "이경은 외 (2022). 연구보고서 2022-01, 제6장 제2절, p. 177"
    )
    assert cite("보고서, 제4장 제1절, p. 106", {"page": 106}) == "보고서, 제4장 제1절, p. 106"
    # an estimated page is never passed off as a printed one
    assert cite(report, {"page": 175, "page_end": 176}, estimated=True).endswith(", pp. 175–176 (추정)")
    added = "mujin.txt (added 2026-12-07), mujin"
    assert cite(added, {"page": None, "lines": [12, 15]}) == f"{added}, lines 12–15"
    assert cite(added, {"page": None, "lines": None}) == added


def test_a_card_cites_a_report_passage_by_its_section_and_a_transcript_as_the_export_does() -> None:
    from kb.corpus.citation import card_cite, cite

    report = "이경은 외 (2022). 연구보고서 2022-01, 제4장 제3절, pp. 111–118"
    section = {"section": "제4장 > 제3절 > 2. 조직 내부 요인", "page": 112, "page_end": 113}
    assert card_cite(report, section) == "제4장 > 제3절 > 2. 조직 내부 요인, pp. 112–113"
    assert (
        card_cite(report, section, estimated=True) == "제4장 > 제3절 > 2. 조직 내부 요인, pp. 112–113 (추정)"
    )
    answer = {"section": "haenam_dolbom", "page": None, "lines": [16, 16]}
    added = "haenam_dolbom.txt (added 2026-12-07)"
    assert card_cite(added, answer) == cite(added, answer) == f"{added}, line 16"
    assert cite(added, answer, estimated=True) == f"{added}, line 16"  # lines are never estimated


def test_an_excerpt_gives_the_directions_confidence_apart_from_the_factors(kb):
    df = export(kb, "csv")
    own = df[df["polarity_from"] == "passage"]
    assert (own.loc[own["source"] == "human", "polarity_confidence"] == 1.0).all()
    auto = own[own["source"] == "auto"]
    assert len(auto) and (auto["polarity_confidence"] == 0.7).all() and (auto["confidence"] != 0.7).any()


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "jsonl", "parquet"])
def test_format_round_trip(kb, tmp_path, fmt):
    path = tmp_path / f"out.{fmt}"
    df = export(kb, fmt, path=path)
    if fmt == "csv":
        assert path.read_bytes().startswith(b"\xef\xbb\xbf")  # UTF-8 BOM so Excel opens Korean correctly
        back = pd.read_csv(path, encoding="utf-8-sig")
    elif fmt == "xlsx":
        book = pd.read_excel(path, sheet_name=None)
        assert {"overview", "excerpts", "matrix", "matrix_detail", "leadership", "org_culture"} <= set(book)
        back = book["excerpts"]
        assert next(iter(book)) == "excerpts"  # what pd.read_excel(path) reads without a sheet name
        assert len(book["leadership"]) == 2
        assert "리더십" in set(book["matrix"]["label_ko"])
    elif fmt == "jsonl":
        back = pd.read_json(path, lines=True)
        assert "codes" in back and isinstance(back["codes"].iloc[0], list)
    else:
        back = pd.read_parquet(path)
    assert len(back) == len(df)
    id_col = "id" if fmt == "jsonl" else "passage_id"
    assert list(back[id_col]) == list(df[id_col])
    assert list(back["text"]) == list(df["text"])  # Korean text intact
    assert back["text"].str.contains(KOREAN).any()


def test_passage_unit_lists_uncoded_passages(kb):
    df = export(kb, "jsonl")
    assert len(df) == len(kb.passages)
    uncoded = df[df["n_codes"] == 0]
    assert uncoded.empty or (uncoded["polarity"] == "none").all()
    for col in (
        "id",
        "doc_id",
        "case",
        "case_name",
        "group",
        "platform_type",
        "section",
        "page",
        "kind",
        "text",
    ):
        assert col in df
    quote = df[df["kind"] == "quote"].iloc[0]
    assert quote["speaker"] == "응답자"


def test_filters_restrict_rows(kb):
    assert set(export(kb, "csv", filters=Filters(group="private"))["case"]) == {"daangn"}
    lead = export(kb, "csv", filters=Filters(factor="leadership"))
    assert set(lead["category"]) == {"leadership"} and len(lead) == 2
    obstacles = export(kb, "csv", filters=Filters(polarity="obstacle"))
    assert set(obstacles["polarity"]) == {"obstacle"} and len(obstacles) == 4
    confident = export(kb, "csv", filters=Filters(min_confidence=0.8))
    assert (confident["confidence"] >= 0.8).all() and len(confident) == 5
    reviewed = export(kb, "csv", filters=Filters(reviewed=True))
    assert set(reviewed["source"]) == {"human"}
    assert set(export(kb, "jsonl", "passage", Filters(case="london_talk_london"))["case"]) == {
        "london_talk_london"
    }
    with pytest.raises(UnknownFilterValue, match="valid values"):
        export(kb, "csv", filters=Filters(group="nowhere"))


def test_query_restricts_to_retrieved_passages(kb):
    df = export(kb, "csv", query="예산 부족", k=2)
    assert df["rank"].tolist() == sorted(df["rank"].tolist())
    assert df["passage_id"].nunique() <= 2
    assert (df["category"] == "financial_resources").any()


def test_bad_format_unit_and_path(kb, tmp_path):
    with pytest.raises(ExportError, match="valid formats"):
        export(kb, "docx")
    with pytest.raises(ExportError, match="valid units"):
        export(kb, "csv", unit="paragraph")
    with pytest.raises(ExportError, match="does not exist"):
        export(kb, "csv", path=tmp_path / "missing" / "out.csv")
    with pytest.raises(ExportError, match="is a directory"):
        write_atomic(tmp_path, b"x")


def test_atomic_write_leaves_no_temp_files(tmp_path):
    target = tmp_path / "a.csv"
    target.write_text("old")
    write_atomic(target, "새 내용".encode())
    assert target.read_text(encoding="utf-8") == "새 내용"
    assert [p.name for p in tmp_path.iterdir()] == ["a.csv"]


def test_cli_export(kb_settings, kb_cli, tmp_path):
    out = kb_cli(
        "export", "--factor", "org_culture", "-f", "jsonl", "--unit", "excerpt", settings=kb_settings
    )
    assert out.exit_code == 0, out.stderr
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert {r["category"] for r in rows} == {"org_culture"} and len(rows) == 2
    binary = kb_cli("export", "-f", "xlsx", settings=kb_settings)
    assert binary.exit_code == 1 and "give an output file" in binary.stderr
    path = tmp_path / "domestic.parquet"
    written = kb_cli("export", "-o", str(path), "--group", "domestic", settings=kb_settings)
    assert written.exit_code == 0 and "wrote 6 excerpts" in written.stderr
    assert set(pd.read_parquet(path)["group"]) == {"domestic"}
    codebook = kb_cli("export", "-f", "qdc", "--factor", "leadership", settings=kb_settings)
    assert codebook.exit_code == 0 and "the filters do not apply" in codebook.stderr  # not silently ignored
    assert "<CodeBook" in codebook.stdout
    unknown = kb_cli("export", "-f", "nvivo", settings=kb_settings)
    assert unknown.exit_code == 1 and "taguette-codebook (= codebook-csv)" in unknown.stderr
    pdf = kb_cli("export", "-o", str(tmp_path / "x.pdf"), settings=kb_settings)
    assert pdf.exit_code == 1 and "cannot write a .pdf file" in pdf.stderr  # not CSV under a PDF name
    assert not (tmp_path / "x.pdf").exists()


def test_a_passage_memo_reaches_every_export_of_its_passage(kb_settings, tmp_path):
    """A coder's memo on a passage (not on one code) is in the excerpt and passage rows and the qdpx notes."""
    import zipfile

    from fixtures_kb import copy_kb

    from kb.review.decisions import open_store
    from kb.store.kbase import get_kb

    settings = copy_kb(kb_settings, tmp_path / "kb")
    kb = get_kb(settings)
    p = next(p for p in kb.passages if kb.codes_for(p["id"]))
    open_store(settings.reviews_db).record(
        REVIEWER, p["id"], p["text_hash"], None, "memo", memo="표 7-1 재확인"
    )
    rows = export(kb, "csv")
    mine = rows[rows["passage_id"] == p["id"]]
    assert len(mine) and (mine["passage_memo"] == "표 7-1 재확인").all()
    assert rows.loc[rows["passage_id"] != p["id"], "passage_memo"].isna().all()
    by_passage = export(kb, "jsonl").set_index("id")
    assert by_passage.loc[p["id"], "memo"] == "표 7-1 재확인"
    export(kb, "qdpx", path=tmp_path / "p.qdpx")
    with zipfile.ZipFile(tmp_path / "p.qdpx") as zf:
        assert "passage memo: 표 7-1 재확인" in zf.read("project.qde").decode("utf-8")


# ── the data manager's view: row ids, the column dictionary, one table per sheet ─────────────────

BUDGET = "financial_resources"


def _two_directions(settings, passages) -> None:  # noqa: ANN001
    """Sentence codes on 은평구's first budget passage, as the coder writes them: the code reads
    obstacle, one sentence success and one recommendation – two `sentence` rows for one code."""
    from fixtures_kb import DOCS, passage_id

    from kb.store.kbase import CODES_FILE, read_jsonl, write_jsonl

    text = DOCS["eunpyeong_forest"][6][0][0]
    pid = passage_id("eunpyeong_forest", text)
    spans = [("예산과 관련하여", "obstacle", 0.9), ("다만 해당 플랫폼이", "success", 0.64)]
    spans.append(("따라서 향후 예산 확대가", "recommendation", 0.7))
    sentences = [
        {
            "start": text.index(s),
            "end": text.index(s) + len(s),
            "codes": [{"category": BUDGET, "polarity": pol, "confidence": conf, "polarity_confidence": 0.8}],
        }
        for s, pol, conf in spans
    ]
    path = settings.data_dir / CODES_FILE
    rows = read_jsonl(path)
    for row in rows:
        row["sentences"] = sentences if row["passage_id"] == pid else []
    write_jsonl(path, rows)


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    """The small knowledge base with a passage whose budget code carries two other directions."""
    from fixtures_kb import build_kb

    from kb.store.kbase import get_kb

    return get_kb(build_kb(tmp_path_factory.mktemp("kb_two_directions"), before_index=_two_directions))


def test_every_excerpt_row_has_an_id_unique_in_the_export_and_the_same_in_the_next(mixed, tmp_path):
    df = export(mixed, "csv", path=tmp_path / "a.csv")
    extra = df[df["polarity_from"] == "sentence"]
    assert sorted(extra["polarity"]) == ["recommendation", "success"]  # one code, three rows
    assert df.duplicated(["passage_id", "category", "polarity_from"]).any()  # polarity_from is no key
    assert df["excerpt_id"].is_unique
    assert list(df["excerpt_id"]) == [
        f"{r.passage_id}/{r.category}/{r.polarity}" for r in df.itertuples()
    ]  # passage × factor × direction, the unit a row stands for
    again = export(mixed, "xlsx", path=tmp_path / "b.xlsx")
    assert list(again["excerpt_id"]) == list(df["excerpt_id"])
    read = [pd.read_csv(tmp_path / "a.csv"), pd.read_excel(tmp_path / "b.xlsx")]  # what a data manager does
    assert [list(x["excerpt_id"]) for x in read] == [list(df["excerpt_id"])] * 2


def test_the_counting_rule_the_dictionary_states_holds(mixed):
    """COUNTING: rows per factor and direction are the matrix's counts; distinct passages per factor
    are the `passage` rows (without a polarity or confidence filter)."""
    from kb.exchange.columns import COUNTING
    from kb.query.crosscase import matrix

    df = export(mixed, "csv")
    assert (df["polarity_from"] == "sentence").any()
    per_factor = df.groupby("category")["passage_id"].nunique()
    own = df[df["polarity_from"] == "passage"].groupby("category").size()
    assert per_factor.to_dict() == own.to_dict()
    assert df.groupby("category").size()[BUDGET] > per_factor[BUDGET]  # what over-counted in pandas
    counted = df.groupby(["category", "case", "polarity"]).size()
    mat = matrix(mixed).set_index(["category", "case"])
    for (category, case, polarity), n in counted.items():
        assert mat.loc[(category, case), polarity] == n
    assert 'polarity_from == "passage"' in COUNTING


def _documented(unit: str) -> set[str]:
    from kb.exchange.columns import columns_of

    return set(columns_of(unit))


def test_every_exported_column_is_documented_and_every_documented_one_exported(kb):
    from kb.exchange.columns import UNIT_COLUMNS

    for unit in UNIT_COLUMNS:
        plain = export(kb, "csv", unit=unit)
        ranked = export(kb, "csv", unit=unit, query="예산 부족", k=3)
        assert set(plain.columns) == _documented(unit) - {"rank"}, unit
        assert set(ranked.columns) == _documented(unit), unit
    types = {}
    for unit in UNIT_COLUMNS:  # a name shared by both units has one type (kb.read_export casts by name)
        for name, col in UNIT_COLUMNS[unit].items():
            assert types.setdefault(name, col.type) == col.type, name


def test_the_docs_column_table_is_the_code_dictionary_and_readme_links_it():
    from pathlib import Path

    from kb.exchange.columns import COUNTING, SENTENCE_COUNTING, markdown

    root = Path(__file__).resolve().parent.parent
    doc = (root / "docs" / "export_columns.md").read_text(encoding="utf-8")
    assert doc == markdown(), "regenerate: python -m kb.exchange.columns > docs/export_columns.md"
    for unit in ("excerpt", "passage", "sentence"):
        for name in _documented(unit):
            assert f"| `{name}` |" in doc
    assert COUNTING in doc and SENTENCE_COUNTING in doc
    readme = (root / "README.md").read_text(encoding="utf-8")
    assert "docs/export_columns.md" in readme
    assert 'polarity_from == "passage"' in readme


def test_xlsx_sheets_each_read_as_one_table_with_a_columns_sheet(kb, tmp_path):
    from kb.exchange.columns import dictionary
    from kb.exchange.spreadsheet import read_export

    path = tmp_path / "out.xlsx"
    df = export(kb, "xlsx", filters=Filters(factor="leadership"), path=path)
    book = pd.read_excel(path, sheet_name=None)
    assert list(book)[:5] == ["excerpts", "읽기용 reading", "overview", "about", "columns"]
    # the reading sheet: Korean headers and values, the excerpts without fallback codes, in group order
    reading = book["읽기용 reading"]
    assert list(reading.columns) == [
        "그룹",
        "사례",
        "요인",
        "구분",
        "인용문",
        "출처",
        "확신도",
        "검토",
        "구절 id",
    ]
    firm = df[~df["fallback"]]
    assert len(reading) == len(firm) and set(reading["요인"]) == {"리더십"}
    assert set(reading["구분"]) <= {"성공 요인", "장애 요인", "중립", "제언"} and set(reading["그룹"]) <= {
        "국내",
        "해외",
        "민간",
    }
    assert reading["그룹"].map(["국내", "해외", "민간"].index).is_monotonic_increasing
    assert sorted(reading["인용문"]) == sorted(firm["quote"]) and set(reading["출처"]) == set(
        firm["citation"]
    )
    overview = book["overview"]
    assert len(overview) == len(kb.codebook.categories)  # the factor table alone: no key/value rows below
    assert not overview.isna().any().any()
    assert list(overview.columns) == [
        "dimension", "category", "label_ko", "label_en", "success", "obstacle", "neutral", "recommendation",
        "passages",
    ]  # fmt: skip
    assert overview.set_index("category").loc["leadership", "passages"] == df["passage_id"].nunique()
    about = book["about"].set_index("key")["value"]
    assert about["unit"] == "excerpt" and about["filter.factor"] == "leadership"
    assert int(about["rows"]) == len(df) and "polarity_from" in about["counting"]
    columns = read_export(path, sheet="columns")
    expected = dictionary("excerpt")
    assert columns[["column", "type"]].values.tolist() == expected[["column", "type"]].values.tolist()
    assert list(book["excerpts"].columns) == list(df.columns) == [*columns["column"]][1:]  # no rank
    passages = tmp_path / "passages.xlsx"
    export(kb, "xlsx", unit="passage", path=passages)
    both = pd.read_excel(passages, sheet_name="columns")
    assert set(both["unit"]) == {"excerpt", "passage"}  # the factor sheets hold excerpt rows


def test_every_xlsx_sheet_opens_readable_header_frozen_filtered_and_columns_fitted(kb, tmp_path):
    """A researcher reads the workbook in Excel: bold frozen header, an autofilter over the data, the
    passage's text and quote in wide wrapping columns, ids and codes narrow (they were all 14 wide)."""
    import openpyxl
    from openpyxl.utils import get_column_letter

    path = tmp_path / "read.xlsx"
    df = export(kb, "xlsx", unit="passage", path=path)
    export(kb, "xlsx", path=tmp_path / "excerpts.xlsx")
    for book in (openpyxl.load_workbook(path), openpyxl.load_workbook(tmp_path / "excerpts.xlsx")):
        for ws in book.worksheets:
            assert ws.freeze_panes == "A2", ws.title
            assert ws.auto_filter.ref == f"A1:{get_column_letter(ws.max_column)}{ws.max_row}", ws.title
            assert all(cell.font.b for cell in ws[1]), ws.title
    sheets = {"passages": openpyxl.load_workbook(path)["passages"]}
    sheets["excerpts"] = openpyxl.load_workbook(tmp_path / "excerpts.xlsx")["excerpts"]
    assert sheets["passages"].max_row == len(df) + 1  # the filter covers every row
    widths = {
        name: {c.value: ws.column_dimensions[c.column_letter].width for c in ws[1]}
        for name, ws in sheets.items()
    }
    for name, ws in sheets.items():
        width, cell = widths[name], {c.value: ws.cell(2, c.column) for c in ws[1]}
        assert 60 <= width["text"] <= 80 and cell["text"].alignment.wrap_text, name
        assert width["doc_id"] < width["text"] and width["case"] <= 20 and width["polarity"] <= 12, name
        assert not cell["doc_id"].alignment.wrap_text, name
    width = widths["excerpts"]
    assert width["quote"] >= 60 and width["excerpt_id"] <= 32 and width["confidence"] <= 14


def test_read_export_gives_empty_columns_their_type(kb, tmp_path):
    """No leadership code is reviewed: reviewer, memo, agreed_by … have no values yet."""
    from kb.exchange.spreadsheet import read_export

    for fmt in ("csv", "xlsx"):
        path = tmp_path / f"lead.{fmt}"
        export(kb, fmt, filters=Filters(factor="leadership"), path=path)
        plain = pd.read_csv(path) if fmt == "csv" else pd.read_excel(path)
        assert plain["reviewer"].dtype == "float64"  # what plain pandas does with an empty column
        back = read_export(path)
        assert back["reviewer"].isna().all() and pd.api.types.is_string_dtype(back["reviewer"])
        assert pd.api.types.is_string_dtype(back["memo"]) and back["page"].dtype == "Int64"
        assert back["fallback"].dtype == "boolean" and back["confidence"].dtype == "float64"
        assert back["excerpt_id"].is_unique


def test_kb_export_columns_prints_the_dictionary(kb_cli):
    from kb import api

    out = kb_cli("export", "--columns")
    assert out.exit_code == 0, out.output
    table = api.export_columns()
    for name in table["column"]:
        assert f"\n{name} " in "\n" + out.stdout
    assert "polarity_from" in out.stdout.split("\n\n")[-1]  # the counting rule after the table
    passage = kb_cli("export", "--columns", "--unit", "passage")
    assert passage.exit_code == 0 and "n_codes" in passage.stdout and "excerpt_id" not in passage.stdout
    assert list(api.export_columns(None)["unit"].unique()) == ["excerpt", "passage", "sentence"]


def test_a_word_transcript_is_cited_by_its_paragraphs(kb_settings, tmp_path):
    """kb add reads a .docx as one line per body paragraph (empty ones too) and per table row; the
    citation calls those numbers paragraphs, not lines of a file the researcher never saw."""
    import docx
    from fixtures_kb import copy_kb

    from kb.exchange.ingest import add_files
    from kb.store.kbase import forget, get_kb
    from pipelines.run import build

    settings = copy_kb(kb_settings, tmp_path / "kb")
    d = docx.Document()
    d.add_heading("들녘 면담", level=1)  # paragraph 1
    d.add_paragraph("")  # 2: an empty paragraph counts, as Word shows it
    d.add_paragraph("면담자: 예산은 어떻게 마련하셨어요?")  # 3
    d.add_paragraph("응답자: 처음엔 구비로 충당했습니다.")  # 4
    table = d.add_table(rows=2, cols=2)  # 5 and 6: one per row
    for row, cells in zip(table.rows, [("연도", "예산"), ("2021", "3억")], strict=True):
        for cell, value in zip(row.cells, cells, strict=True):
            cell.text = value
    d.add_paragraph("면담자: 인력은 어떠셨어요?")  # 7
    d.add_paragraph("응답자: 담당 인력이 자주 바뀌어서 힘들었어요.")  # 8
    d.add_paragraph("그래도 교육으로 버텼습니다.")  # 9: the same answer goes on
    d.save(tmp_path / "deulnyeok_interview.docx")
    source = tmp_path / "deulnyeok_interview.docx"
    (added,) = add_files([source], settings.corpus_dir, "deulnyeok", "들녘 면담",
                         "domestic", "policy_proposal")  # fmt: skip
    assert added.status == "added", added.reason
    build(settings, stages=("segment", "index"), progress=False)
    forget(settings)
    rows = export(get_kb(settings), "jsonl", filters=Filters(case="deulnyeok"))
    cited = {r.text: r.citation for r in rows.itertuples()}
    first = next(c for t, c in cited.items() if t.startswith("처음엔 구비로"))
    second = next(c for t, c in cited.items() if t.startswith("담당 인력이"))
    assert first.startswith("deulnyeok_interview.docx (added ") and first.endswith(", paragraph 4")
    assert second.endswith(", paragraphs 8–9")
    assert "line" not in first + second


def test_every_unit_names_the_passage_passage_id_so_scripts_can_join_them(kb_settings):
    """A script that joins the passage export to the excerpt or sentence export joins on one name."""
    from kb.store.kbase import get_kb

    kb = get_kb(kb_settings)
    passages, excerpts = export(kb, "jsonl", unit="passage"), export(kb, "csv")
    sentences = export(kb, "csv", unit="sentence")
    assert (passages["passage_id"] == passages["id"]).all()  # `id` stays for the scripts that use it
    joined = excerpts.merge(passages[["passage_id", "n_codes"]], on="passage_id", how="left")
    assert len(joined) == len(excerpts) and joined["n_codes"].ge(1).all()
    assert set(sentences["passage_id"]) == set(passages["passage_id"])  # every passage has sentence rows
