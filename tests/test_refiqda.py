"""REFI-QDA: the qdpx project and qdc codebook parse as XML in the right namespaces, codes and
offsets round-trip, every selection slices exactly its passage text, and codebooks import back."""

from __future__ import annotations

import shutil
import uuid
import zipfile
from xml.etree import ElementTree as ET

import pytest
import yaml
from fixtures_kb import REVIEWER

from kb.coding.codebook import load_codebook
from kb.errors import CodebookImportError
from kb.exchange.codebook_import import import_codebook, read_qdc
from kb.exchange.export import export
from kb.exchange.refiqda import MACHINE_USER, NS_CODEBOOK, NS_PROJECT, code_guid, read_qdpx
from kb.query.filters import Filters
from kb.store.kbase import get_kb

P = f"{{{NS_PROJECT}}}"
C = f"{{{NS_CODEBOOK}}}"


@pytest.fixture(scope="module")
def qdpx(kb, tmp_path_factory):
    path = tmp_path_factory.mktemp("qdpx") / "kb.qdpx"
    df = export(kb, "qdpx", path=path)
    return path, df


def test_project_structure(qdpx):
    path, _ = qdpx
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        root = ET.fromstring(zf.read("project.qde"))
    assert root.tag == f"{P}Project" and root.get("name")
    assert [child.tag.removeprefix(P) for child in root] == [
        "Users",
        "CodeBook",
        "Variables",
        "Cases",
        "Sources",
        "Notes",
    ]
    users = {u.get("name") for u in root.iter(f"{P}User")}
    assert users == {MACHINE_USER, REVIEWER}
    for el in root.iter():
        for attr in ("guid", "targetGUID", "creatingUser", "creatingUserGUID"):
            if el.get(attr):
                uuid.UUID(el.get(attr))  # every GUID is a valid UUID
    sources = list(root.iter(f"{P}TextSource"))
    assert len(sources) == 4
    for src in sources:
        assert src.get("plainTextPath") == f"internal://{src.get('guid')}.txt"
        assert f"sources/{src.get('guid')}.txt" in names
    case = next(c for c in root.iter(f"{P}Case") if c.find(f"{P}Description").text == "case id: daangn")
    values = [v.find(f"{P}TextValue").text for v in case.findall(f"{P}VariableValue")]
    assert values == ["private", "private_platform", "당근마켓"]
    assert case.find(f"{P}SourceRef") is not None
    dims = root.find(f"{P}CodeBook/{P}Codes").findall(f"{P}Code")
    assert [d.get("isCodable") for d in dims] == ["false"] * 4


def test_offsets_slice_exact_passage_text(kb, qdpx):
    path, df = qdpx
    codings = read_qdpx(path)
    assert len(codings) == len(df)
    passages = kb.passage_by_id
    for row in codings.itertuples():
        p = passages[row.selection]
        assert row.text == p["text"]  # the selection covers exactly the coded passage
        assert (row.start, row.end) == (p["start"], p["end"])  # offsets are the corpus offsets
    with zipfile.ZipFile(path) as zf:
        text = zf.read(next(n for n in zf.namelist() if n.startswith("sources/"))).decode("utf-8")
    assert not text.startswith("\ufeff")


def test_codes_round_trip(kb, qdpx):
    path, df = qdpx
    codings = read_qdpx(path)
    labels = {c.id: c.label_ko for c in kb.codebook.categories}
    got = sorted(zip(codings["selection"], codings["code_guid"], strict=True))
    want = sorted((r.passage_id, code_guid(r.category, r.polarity)) for r in df.itertuples())
    assert got == want
    lead = codings[codings["parent_code"] == labels["leadership"]]
    assert set(lead["code"]) == {f"{labels['leadership']} · 성공 요인"}
    human = codings[codings["user"] == REVIEWER]
    assert len(human) == 2
    assert (
        codings[codings["user"] == MACHINE_USER]["selection"].isin(
            df.loc[df["source"] == "auto", "passage_id"]
        )
    ).all()


def test_notes_carry_confidence_and_memo(qdpx):
    path, _ = qdpx
    with zipfile.ZipFile(path) as zf:
        root = ET.fromstring(zf.read("project.qde"))
    notes = {n.get("guid"): n.find(f"{P}PlainTextContent").text for n in root.iter(f"{P}Note")}
    refs = [c.find(f"{P}NoteRef").get("targetGUID") for c in root.iter(f"{P}Coding")]
    assert set(refs) <= set(notes)
    assert any("confidence 0.91" in t for t in notes.values())
    assert any("예산의 단절성" in t and REVIEWER in t for t in notes.values())


def test_filtered_project(kb, tmp_path):
    path = tmp_path / "private.qdpx"
    df = export(kb, "qdpx", filters=Filters(group="private"), path=path)
    codings = read_qdpx(path)
    assert len(codings) == len(df) == 3
    assert set(codings["source"]) == {"당근마켓 사례"}


def test_codebook_qdc(kb, tmp_path):
    path = tmp_path / "kb.qdc"
    export(kb, "qdc", path=path)
    root = ET.parse(path).getroot()
    assert root.tag == f"{C}CodeBook"
    dims = root.find(f"{C}Codes").findall(f"{C}Code")
    assert [d.get("name") for d in dims] == [d.label_ko for d in kb.codebook.dimensions]
    cats = [c for d in dims for c in d.findall(f"{C}Code")]
    assert [c.get("name") for c in cats] == [c.label_ko for c in kb.codebook.categories]
    assert all(c.get("isCodable") == "true" and c.get("color").startswith("#") for c in cats)
    assert cats[0].get("guid") == code_guid("leadership")
    assert "단체장" in cats[0].find(f"{C}Description").text
    codes, origin = read_qdc(path)
    assert origin == "kb" and len(codes) == 4


def _edited_qdc(src, dst):
    ET.register_namespace("", NS_CODEBOOK)
    tree = ET.parse(src)
    codes = tree.getroot().find(f"{C}Codes")
    internal = codes[0]
    new = ET.SubElement(
        internal, f"{C}Code", guid=str(uuid.uuid4()), name="Digital literacy", isCodable="true"
    )
    ET.SubElement(new, f"{C}Description").text = "공무원의 디지털 역량과 교육"
    ET.SubElement(codes, f"{C}Code", guid=str(uuid.uuid4()), name="주민 신뢰", isCodable="true")
    tree.write(dst, encoding="utf-8", xml_declaration=True)


def test_import_codebook_merges_new_codes(kb, tmp_path):
    export(kb, "qdc", path=tmp_path / "kb.qdc")
    _edited_qdc(tmp_path / "kb.qdc", tmp_path / "edited.qdc")
    target = tmp_path / "codebook.yaml"
    shutil.copy(kb.settings.codebook_path, target)
    before = target.read_text(encoding="utf-8")
    unchanged = import_codebook(tmp_path / "kb.qdc", target)
    assert unchanged.added == [] and len(unchanged.known) == 14
    report = import_codebook(tmp_path / "edited.qdc", target)
    assert [(e["dimension"], e["label_ko"]) for e in report.added] == [
        ("internal", "Digital literacy"),
        ("other", "주민 신뢰"),
    ]
    after = target.read_text(encoding="utf-8")
    assert after.startswith(before.rstrip("\n"))  # appended: comments and layout of the file kept
    book = load_codebook(target)
    assert len(book.categories) == 16
    assert book.by_id["digital_literacy"].definition == "공무원의 디지털 역량과 교육"
    assert import_codebook(tmp_path / "edited.qdc", target).added == []  # idempotent
    assert yaml.safe_load(after)["version"] == 1


def test_import_codebook_errors(tmp_path, kb):
    bad = tmp_path / "bad.qdc"
    bad.write_text("<CodeBook><Codes>", encoding="utf-8")
    with pytest.raises(CodebookImportError, match="not valid XML"):
        import_codebook(bad, kb.settings.codebook_path, write=False)
    other = tmp_path / "other.qdc"
    other.write_text('<?xml version="1.0"?><html/>', encoding="utf-8")
    with pytest.raises(CodebookImportError, match="not a REFI-QDA"):
        import_codebook(other, kb.settings.codebook_path, write=False)
    with pytest.raises(CodebookImportError, match="not found"):
        import_codebook(tmp_path / "missing.qdc", kb.settings.codebook_path, write=False)


def test_every_coding_of_every_polarity_refers_to_a_defined_code(kb_settings, tmp_path):  # noqa: F811
    """A recommendation coding used to point at a sub-code the codebook did not define."""
    from kb.records import POLARITIES
    from kb.review.decisions import open_store
    from kb.settings import get_settings
    from kb.store.kbase import forget

    data = tmp_path / "data"
    shutil.copytree(kb_settings.data_dir, data)
    settings = get_settings(
        data_dir=data, corpus_dir=kb_settings.corpus_dir, embed_model=kb_settings.embed_model
    )
    passage = get_kb(settings).passages[0]
    store = open_store(settings.reviews_db)
    store.record(
        REVIEWER, passage["id"], passage["text_hash"], "governance", "add", polarity="recommendation"
    )
    forget(settings)
    path = tmp_path / "rec.qdpx"
    df = export(get_kb(settings), "qdpx", path=path)
    assert set(df["polarity"]) >= {"recommendation"} and set(df["polarity"]) <= set(POLARITIES)
    with zipfile.ZipFile(path) as zf:
        root = ET.fromstring(zf.read("project.qde"))
    defined = {c.get("guid") for c in root.iter(f"{P}Code")}
    refs = {r.get("targetGUID") for r in root.iter(f"{P}CodeRef")}
    assert code_guid("governance", "recommendation") in refs
    assert refs <= defined, refs - defined
