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
    # each row cites its document (the manifest's citation) and page, as a quotation needs
    manifest = pd.read_csv(kb.settings.manifest_path, dtype=str).set_index("doc_id")["citation"]
    for row in df.itertuples():
        assert row.citation.startswith(manifest[row.doc_id])
        assert pd.isna(row.page) or row.citation.endswith(f", p. {row.page}")
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
    added = "mujin.txt (added 2026-12-07), mujin"
    assert cite(added, {"page": None, "lines": [12, 15]}) == f"{added}, lines 12–15"
    assert cite(added, {"page": None, "lines": None}) == added


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
        export(kb, "csv", unit="sentence")
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
