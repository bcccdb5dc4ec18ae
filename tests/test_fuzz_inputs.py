"""Property-based tests (hypothesis) of every parser of outside input (issue 15 §8).

Random bytes, huge lines, control characters and deep nesting go into `kb code` input lines,
transcripts (`kb add` on .txt/.md/.docx), .qdc/.qdpx/codebook CSV imports, manifests and the
search/export filter options. Each either works or raises one of kb's errors with a one-line
message, and on an error nothing is written. Example counts are small so the file runs in well
under a minute (KB_FUZZ_EXAMPLES=500 for a deeper local run); hypothesis keeps failing examples
in its database for the next run.
"""

from __future__ import annotations

import io
import os
import shutil
import zipfile
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from kb.coding.code_input import parse_lines
from kb.corpus.manifest import load_manifest
from kb.errors import BadImportFile, CodebookImportError, CorpusMissing, KbError
from kb.exchange.codebook_import import import_codebook
from kb.exchange.export import export
from kb.exchange.ingest import add_files
from kb.exchange.refiqda import NS_CODEBOOK, NS_PROJECT, read_qdpx
from kb.query.filters import Filters

N = int(os.environ.get("KB_FUZZ_EXAMPLES", "25"))  # more for a deeper local run
FUZZ = settings(
    max_examples=N,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
CASE = dict(case="fuzz_case", case_name="퍼즈", group="domestic", platform_type="policy_proposal")

# text with Hangul, control characters, speaker labels, markdown and JSON punctuation
ALPHABET = st.sampled_from(
    list("가나다 면담자응답자:：QA.#{}[]\"\\,=+-@'\t\r\n\x00\x0b\x1f\x7f\u2028\ufeff ab1")
)
TEXT = st.text(ALPHABET, max_size=300) | st.text(max_size=200)
HUGE = st.builds(
    lambda ch, n: ch * n,
    st.sampled_from(["#", " ", "가", "면담자: ", "{", "[", "-"]),
    st.integers(50_000, 200_000),
)


def one_line(exc: BaseException) -> None:
    event(f"error {type(exc).__name__}")  # --hypothesis-show-statistics shows how often each path ran
    assert isinstance(exc, KbError), f"{type(exc).__name__}: {exc}"
    assert str(exc) and "\n" not in str(exc).strip(), repr(str(exc))


def files_under(path: Path) -> list[Path]:
    return sorted(p for p in path.rglob("*")) if path.exists() else []


# ---- kb code input ---------------------------------------------------------------------------
@FUZZ
@given(
    st.lists(
        TEXT | HUGE | st.builds(lambda n: "{" + '"a":[' * n + "1" + "]" * n + "}", st.integers(1, 5000)),
        max_size=8,
    )
)
def test_code_input_lines(lines):
    units, errors = parse_lines(lines)
    assert all(u.text.strip() for u in units)
    assert len(units) + len(errors) <= len(lines)
    assert all("\n" not in str(e) for e in errors)


# ---- transcripts -----------------------------------------------------------------------------
def _docx_bytes(paragraphs: list[str]) -> bytes:
    import docx

    d = docx.Document()
    for text in paragraphs:
        d.add_paragraph("".join(ch for ch in text if ch in "\t\n" or ch >= " ").replace("\x7f", ""))
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


TRANSCRIPT = st.one_of(
    st.tuples(st.just(".txt"), st.binary(max_size=3000)),
    st.tuples(st.just(".txt"), st.lists(TEXT, max_size=20).map(lambda ls: "\n".join(ls).encode("utf-8"))),
    st.tuples(
        st.just(".md"), st.lists(TEXT | HUGE, max_size=4).map(lambda ls: "\n".join(ls).encode("utf-8"))
    ),
    st.tuples(
        st.just(".txt"), st.lists(TEXT, max_size=10).map(lambda ls: "\n".join(ls).encode("cp949", "ignore"))
    ),
    st.tuples(st.just(".docx"), st.lists(TEXT, max_size=6).map(_docx_bytes)),
    st.tuples(st.just(".docx"), st.binary(max_size=2000).map(lambda b: b"PK\x03\x04" + b)),
)


@FUZZ
@given(TRANSCRIPT)
def test_transcripts(tmp_path_factory, transcript):
    suffix, data = transcript
    root = tmp_path_factory.mktemp("add")
    src = root / f"in{suffix}"
    src.write_bytes(data)
    corpus = root / "corpus"
    try:
        [result] = add_files([src], corpus, **CASE)
    except KbError as exc:
        one_line(exc)
        assert files_under(corpus) == []
        return
    assert "\n" not in result.reason
    event(f"{suffix} {result.status}")
    if result.status == "skipped":
        assert files_under(corpus) == []
    else:
        _, rows = load_manifest(corpus)
        assert [r["doc_id"] for r in rows] == [result.doc_id]
        assert (corpus / rows[0]["text_file"]).read_text(encoding="utf-8").strip()


# ---- codebook imports ------------------------------------------------------------------------
NAMES = st.text(max_size=40) | st.text(ALPHABET, max_size=40)
XML_TEXT = st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")) | st.sampled_from(
    list("가나\n\t<&\"'")
)
CLEAN = st.text(XML_TEXT, min_size=1, max_size=40)  # valid in XML: reaches the merge into the YAML


def _code(draw_children):
    return st.builds(
        lambda name, desc, codable, kids: (name, desc, codable, kids),
        NAMES,
        st.text(max_size=60),
        st.booleans(),
        draw_children,
    )


CODES = st.recursive(
    st.builds(lambda n, d, c: (n, d, c, []), NAMES, st.text(max_size=60), st.booleans()),
    lambda kids: _code(st.lists(kids, max_size=3)),
    max_leaves=12,
)
CLEAN_CODES = st.recursive(
    st.builds(lambda n, d: (n, d, True, []), CLEAN, st.text(XML_TEXT, max_size=60)),
    lambda kids: st.builds(lambda n, k: (n, "", False, k), CLEAN, st.lists(kids, max_size=3)),
    max_leaves=8,
)


def _xml(codes, project: bool, origin: str) -> bytes:
    ns = NS_PROJECT if project else NS_CODEBOOK
    root = ET.Element(f"{{{ns}}}{'Project' if project else 'CodeBook'}", {"origin": origin, "name": "p"})
    holder = ET.SubElement(root, f"{{{ns}}}CodeBook") if project else root
    parent = ET.SubElement(holder, f"{{{ns}}}Codes")

    def add(el, code, i):
        name, desc, codable, kids = code
        c = ET.SubElement(
            el, f"{{{ns}}}Code", {"name": name, "guid": f"g{i}", "isCodable": str(codable).lower()}
        )
        ET.SubElement(c, f"{{{ns}}}Description").text = desc
        for j, kid in enumerate(kids):
            add(c, kid, f"{i}.{j}")

    for i, code in enumerate(codes):
        add(parent, code, i)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def _deep(n: int) -> bytes:
    return (
        f'<CodeBook xmlns="{NS_CODEBOOK}"><Codes>'
        + '<Code name="x">' * n
        + "</Code>" * n
        + "</Codes></CodeBook>"
    ).encode()


IMPORTS = st.one_of(
    st.tuples(st.just(".qdc"), st.binary(max_size=2000)),
    st.tuples(st.just(".qdc"), st.builds(_xml, st.lists(CODES, max_size=4), st.just(False), NAMES)),
    st.tuples(
        st.just(".qdc"), st.builds(_xml, st.lists(CLEAN_CODES, min_size=1, max_size=4), st.just(False), CLEAN)
    ),
    st.tuples(st.just(".qdc"), st.integers(1, 3000).map(_deep)),
    st.tuples(st.just(".qdpx"), st.builds(_xml, st.lists(CODES, max_size=3), st.just(True), NAMES)),
    st.tuples(
        st.just(".csv"),
        st.lists(st.lists(NAMES, min_size=1, max_size=3), max_size=6).map(
            lambda rows: "\n".join(",".join(r) for r in [["tag", "description"], *rows]).encode("utf-8")
        ),
    ),
    st.tuples(st.just(".csv"), st.binary(max_size=1000)),
)


@pytest.fixture(scope="module")
def codebook_copy(kb_settings, tmp_path_factory):
    path = tmp_path_factory.mktemp("book") / "codebook.yaml"
    shutil.copy(kb_settings.codebook_path, path)
    return path


@settings(FUZZ, max_examples=N * 8 // 5)
@given(IMPORTS)
def test_codebook_imports(codebook_copy, tmp_path_factory, item):
    from kb.coding.codebook import load_codebook

    suffix, data = item
    root = tmp_path_factory.mktemp("imp")
    path = root / f"in{suffix}"
    if suffix == ".qdpx":
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr("project.qde", data)
    else:
        path.write_bytes(data)
    target = root / "codebook.yaml"
    shutil.copy(codebook_copy, target)
    before = target.read_bytes()
    n_before = len(load_codebook(target).categories)
    try:
        report = import_codebook(path, target)
    except CodebookImportError as exc:
        one_line(exc)
        assert target.read_bytes() == before
        return
    event(f"imported {suffix}, {'new codes' if report.added else 'nothing new'}")
    book = load_codebook(target)  # still a valid codebook
    assert len(book.categories) == n_before + len(report.added)
    assert [c.id for c in book.categories[n_before:]] == [e["id"] for e in report.added]
    assert all("\n" not in c.label_ko for c in book.categories)


@FUZZ
@given(
    st.binary(max_size=3000) | st.builds(_xml, st.lists(CODES, max_size=2), st.just(True), NAMES),
    st.booleans(),
)
def test_qdpx_reader(tmp_path_factory, qde, with_source):
    path = tmp_path_factory.mktemp("qdpx") / "p.qdpx"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("project.qde", qde)
        if with_source:
            zf.writestr("sources/../../evil.txt", b"x")
    try:
        df = read_qdpx(path)
    except BadImportFile as exc:
        one_line(exc)
        return
    event("read")
    assert df.empty or set(df.columns) >= {"source", "code"}
    assert not (path.parent.parent / "evil.txt").exists()


# ---- manifests -------------------------------------------------------------------------------
CELLS = st.text(ALPHABET, max_size=30) | st.sampled_from(
    ["../x", "/etc/passwd", "docs/a.txt", "", "docs/../../x"]
)
MANIFESTS = st.one_of(
    st.binary(max_size=2000),
    st.lists(st.lists(CELLS, min_size=4, max_size=4), max_size=5).map(
        lambda rows: "\n".join(
            ",".join(r) for r in [["doc_id", "case", "text_file", "blocks_file"], *rows]
        ).encode()
    ),
    st.builds(
        lambda n: b"doc_id,text_file,blocks_file\n" + b'"' + b"x" * n + b'",a,b\n', st.integers(1, 300_000)
    ),
)


@FUZZ
@given(MANIFESTS)
def test_manifests(tmp_path_factory, data):
    corpus = tmp_path_factory.mktemp("corpus")
    (corpus / "manifest.csv").write_bytes(data)
    try:
        _, rows = load_manifest(corpus)
    except CorpusMissing as exc:
        one_line(exc)
        return
    event(f"manifest with {min(len(rows), 2)}+ rows")
    root = corpus.resolve()
    for row in rows:
        for key in ("text_file", "blocks_file"):
            assert root in (corpus / row[key]).resolve().parents


# ---- search / export filter options ------------------------------------------------------------
OPTION = st.none() | st.sampled_from(["domestic", "private", "daangn", "leadership", "success", ""]) | NAMES


@settings(max_examples=N * 6 // 5, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.tuples(OPTION, OPTION, OPTION, OPTION, OPTION),
    st.booleans(),
    st.floats(allow_nan=True, allow_infinity=True) | st.floats(0, 1),
    st.none() | NAMES,
    st.integers(-5, 500),
    st.sampled_from(["csv", "jsonl", "qdc", "xlsx ", "codebook-csv", "taguette-codebook", ""]),
)
def test_export_filter_options(kb, tmp_path_factory, opts, reviewed, min_conf, query, k, fmt):
    group, case, ptype, factor, polarity = opts
    out = tmp_path_factory.mktemp("exp") / "out"
    try:
        filters = Filters(group, case, ptype, factor, polarity, reviewed, min_conf)
        df = export(kb, fmt, filters=filters, query=query, k=k, path=out)
    except KbError as exc:
        one_line(exc)
        assert not out.exists() and files_under(out.parent) == []
        return
    event(f"exported {fmt}")
    assert out.is_file() and df is not None
