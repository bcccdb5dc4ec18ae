"""REFI-QDA exchange: project (.qdpx) and codebook (.qdc) writers, and a .qdpx reader.

Researchers continue in NVivo, ATLAS.ti, MAXQDA or QualCoder, which all read REFI-QDA 1.5
(schemas Project-mrt2019.xsd, urn:QDA-XML:project:1.0, and Codebook.xsd, urn:QDA-XML:codebook:1.0).
GUIDs are uuid5 of stable keys, so re-exporting gives the same codes and sources and another
tool can merge instead of duplicating. Code tree: dimension (not codable) › category › polarity.
Every code name is unique in the project (sub-codes are "리더십 · 성공 요인", not just "성공 요인"):
QualCoder matches codes by name and silently drops codings onto a repeated name.
Selection offsets count characters (Unicode code points) in the exported plain text, which is
the corpus document text the passage offsets refer to. Reading a .qdc back: kb.exchange.codebook_import.
"""

from __future__ import annotations

import io
import uuid
import zipfile
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any
from xml.etree import ElementTree as ET

import pandas as pd

from kb.coding.codebook import Codebook
from kb.records import POLARITIES

if TYPE_CHECKING:
    from kb.store.kbase import KnowledgeBase

NS_PROJECT = "urn:QDA-XML:project:1.0"
NS_CODEBOOK = "urn:QDA-XML:codebook:1.0"
KB_NS = uuid.UUID("6f1c2b1e-4a52-5c0e-9d2a-6b62a1f0c0de")
MACHINE_USER = "kb auto-coder"
# One sub-code per polarity in kb.records.POLARITIES (a recommendation coding needs its code too).
POLARITY_SHORT = dict(zip(POLARITIES, ("성공 요인", "장애 요인", "중립·배경", "제언"), strict=True))
# Sub-code names of exports before names were made unique; `kb import-codebook` still knows them.
POLARITY_LABELS = {p: f"{label} ({p})" for p, label in POLARITY_SHORT.items()}
POLARITY_COLORS = {
    "success": "#2E7D32",
    "obstacle": "#C62828",
    "neutral": "#757575",
    "recommendation": "#F9A825",
}
DIMENSION_COLORS = {"internal": "#1565C0", "external": "#6A1B9A", "platform": "#EF6C00", "other": "#00838F"}
VARIABLES = (
    ("group", "domestic / international / private"),
    ("platform_type", "information, policy_proposal, private_brokerage, service, private_platform, …"),
    ("organization", "Organisation that runs the platform"),
)


def guid(kind: str, key: str) -> str:
    """Stable GUID for an object of `kind` (code, source, user, …) named `key`."""
    return str(uuid.uuid5(KB_NS, f"{kind}:{key}"))


def code_guid(category: str, polarity: str | None = None) -> str:
    return guid("code", category if polarity is None else f"{category}/{polarity}")


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _sub(parent: ET.Element, ns: str, tag: str, text: str | None = None, **attrs: Any) -> ET.Element:
    el = ET.SubElement(parent, f"{{{ns}}}{tag}", {k: str(v) for k, v in attrs.items() if v is not None})
    if text is not None:
        el.text = text
    return el


def _describe(c: Any) -> str:
    parts = [f"id: {c.id} ({c.label_en})" if c.label_en else f"id: {c.id}", c.definition]
    if c.definition_en:
        parts.append(f"EN: {c.definition_en}")
    if c.include:
        parts.append("포함 (include):\n" + "\n".join(f"- {r}" for r in c.include))
    if c.exclude:
        parts.append("제외 (exclude):\n" + "\n".join(f"- {r}" for r in c.exclude))
    return "\n\n".join(parts)


def subcode_name(label: str, polarity: str) -> str:
    return f"{label} · {POLARITY_SHORT[polarity]}"


def code_names(book: Codebook) -> dict[str, str]:
    """GUID → name for every code, unique across the project (a clash gets its id appended)."""
    wanted: list[tuple[str, str, str]] = []  # (guid, name, fallback suffix)
    for dim in book.dimensions:
        wanted.append((guid("dimension", dim.id), dim.label_ko, dim.id))
    for c in book.categories:
        wanted.append((code_guid(c.id), c.label_ko, c.id))
        for pol in POLARITY_SHORT:
            wanted.append((code_guid(c.id, pol), subcode_name(c.label_ko, pol), f"{c.id}/{pol}"))
    names: dict[str, str] = {}
    taken: set[str] = set()
    for gid, name, suffix in wanted:
        candidate, n = name, 2
        if candidate.casefold() in taken:
            candidate = f"{name} ({suffix})"
        while candidate.casefold() in taken:
            candidate, n = f"{name} ({suffix} {n})", n + 1
        taken.add(candidate.casefold())
        names[gid] = candidate
    return names


def add_codes(parent: ET.Element, ns: str, book: Codebook) -> None:
    """<Codes>: dimension (isCodable=false) › category › success/obstacle/neutral sub-codes."""
    names = code_names(book)
    codes = _sub(parent, ns, "Codes")
    for dim in book.dimensions:
        color = DIMENSION_COLORS.get(dim.id, "#455A64")
        d = _sub(
            codes,
            ns,
            "Code",
            guid=guid("dimension", dim.id),
            name=names[guid("dimension", dim.id)],
            isCodable="false",
            color=color,
        )
        _sub(d, ns, "Description", f"dimension: {dim.id} — {dim.label_en}")
        for c in book.in_dimension(dim.id):
            cat = _sub(
                d,
                ns,
                "Code",
                guid=code_guid(c.id),
                name=names[code_guid(c.id)],
                isCodable="true",
                color=color,
            )
            _sub(cat, ns, "Description", _describe(c))
            for pol in POLARITY_SHORT:
                sub = _sub(
                    cat,
                    ns,
                    "Code",
                    guid=code_guid(c.id, pol),
                    name=names[code_guid(c.id, pol)],
                    isCodable="true",
                    color=POLARITY_COLORS[pol],
                )
                _sub(sub, ns, "Description", f"{c.id} / {pol}")


def _xml(root: ET.Element, ns: str) -> bytes:
    ET.register_namespace("", ns)
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def codebook_qdc(book: Codebook) -> bytes:
    """The codebook as a REFI-QDA .qdc file."""
    root = ET.Element(f"{{{NS_CODEBOOK}}}CodeBook", {"origin": "kb"})
    add_codes(root, NS_CODEBOOK, book)
    return _xml(root, NS_CODEBOOK)


def codebook_csv(book: Codebook) -> bytes:
    """The codebook in Taguette's codebook CSV (columns tag, description), spreadsheet-safe.

    One row per codable code (categories and their polarity sub-codes), named as in the .qdc.
    """
    from kb.exchange.spreadsheet import csv_bytes

    names = code_names(book)
    rows = []
    for c in book.categories:
        rows.append({"tag": names[code_guid(c.id)], "description": _describe(c)})
        for pol in POLARITY_SHORT:
            rows.append({"tag": names[code_guid(c.id, pol)], "description": f"{c.id} / {pol}"})
    return csv_bytes(pd.DataFrame(rows, columns=["tag", "description"]), bom=False)


# ---- project ------------------------------------------------------------------------------
def _manifest(kb: KnowledgeBase) -> dict[str, dict[str, str]]:
    from kb.corpus.manifest import load_manifest

    return {row["doc_id"]: row for row in load_manifest(kb.settings.corpus_dir, required=False)[1]}


def document_text(
    kb: KnowledgeBase, doc_id: str, row: dict[str, str] | None
) -> tuple[str, dict[str, tuple[int, int]]]:
    """The document's clean text and each of its passages' (start, end) in it.

    Normally the corpus file, in which passage offsets already point at the passage text. If the
    file is missing or out of date, the text is rebuilt from the passages (joined by blank lines).
    """
    from kb.corpus.manifest import inside

    own = sorted((p for p in kb.passages if p.get("doc_id") == doc_id), key=lambda p: p.get("start") or 0)
    path = inside(kb.settings.corpus_dir, (row or {}).get("text_file") or f"docs/{doc_id}.txt", "text_file")
    text = path.read_text(encoding="utf-8") if path.is_file() else None  # as segmentation reads it
    if text is not None and all(
        text[p["start"] : p["end"]] == p["text"] for p in own if p.get("start") is not None
    ):
        return text, {p["id"]: (p["start"], p["end"]) for p in own}
    parts, spans, pos = [], {}, 0
    for p in own:
        spans[p["id"]] = (pos, pos + len(p["text"]))
        parts.append(p["text"])
        pos += len(p["text"]) + 2
    return "\n\n".join(parts) + "\n", spans


def _p(parent: ET.Element, tag: str, text: str | None = None, **attrs: Any) -> ET.Element:
    return _sub(parent, NS_PROJECT, tag, text, **attrs)


def _coding_note(r: dict[str, Any], human: bool) -> str:
    if human:
        lines = [f"coded by {r['reviewer']}"] + ([f"memo: {r['memo']}"] if r["memo"] else [])
    else:
        lines = [f"auto-coded {r['category']} / {r['polarity']}, confidence {r['confidence']:.2f}"]
        if r.get("evidence"):
            lines.append(f"evidence: {r['evidence']}")
    if r.get("passage_memo"):
        lines.append(f"passage memo: {r['passage_memo']}")
    return "\n".join(lines)


class _Project:
    """Builds project.qde and the source files from excerpt rows."""

    def __init__(self, kb: KnowledgeBase, rows: list[dict[str, Any]], name: str):
        self.kb, self.now, self.manifest = kb, _now(), _manifest(kb)
        from kb.review.agreement import coder_decisions

        self.machine = guid("user", MACHINE_USER)
        self.by_coder = coder_decisions(kb)  # every coder's own latest decisions: double coding survives
        passages = {r["passage_id"] for r in rows}
        coders = {c for c, decided in self.by_coder.items() if passages & set(decided)}
        reviewers = sorted(coders | {r["reviewer"] for r in rows if self.is_human(r)})
        self.users = {MACHINE_USER: self.machine, **{n: guid("user", n) for n in reviewers}}
        self.root = ET.Element(f"{{{NS_PROJECT}}}Project", {"name": name, "origin": "kb",
                               "creatingUserGUID": self.machine, "creationDateTime": self.now})  # fmt: skip
        users = _p(self.root, "Users")
        for user, gid in self.users.items():
            _p(users, "User", guid=gid, name=user, id=user)
        add_codes(_p(self.root, "CodeBook"), NS_PROJECT, kb.codebook)
        variables = _p(self.root, "Variables")
        for var, desc in VARIABLES:
            _p(_p(variables, "Variable", guid=guid("variable", var), name=var, typeOfVariable="Text"),
               "Description", desc)  # fmt: skip
        self.cases = _p(self.root, "Cases")
        self.sources = ET.Element(f"{{{NS_PROJECT}}}Sources")
        self.notes = ET.Element(f"{{{NS_PROJECT}}}Notes")
        self.files: dict[str, str] = {}
        self.case_refs: dict[str, list[tuple[str, str]]] = {}  # case -> [(SourceRef|SelectionRef, guid)]

    @staticmethod
    def is_human(r: dict[str, Any]) -> bool:
        return r["source"] == "human" and isinstance(r["reviewer"], str)

    def user_of(self, r: dict[str, Any]) -> str:
        return self.users[r["reviewer"]] if self.is_human(r) else self.machine

    def source(self, doc_id: str, rows: list[dict[str, Any]]) -> None:
        text, spans = document_text(self.kb, doc_id, self.manifest.get(doc_id))
        sid, m = guid("source", doc_id), self.manifest.get(doc_id, {})
        self.files[f"sources/{sid}.txt"] = text
        src = _p(self.sources, "TextSource", guid=sid, name=m.get("title") or doc_id,
                 plainTextPath=f"internal://{sid}.txt", creatingUser=self.machine,
                 creationDateTime=self.now)  # fmt: skip
        _p(src, "Description", m.get("citation") or f"kb document {doc_id}")
        doc_cases = list(dict.fromkeys(p["case"] for p in self.kb.passages if p.get("doc_id") == doc_id))
        single_case = len(doc_cases) == 1 or len({r["case"] for r in rows}) == 1 and not doc_cases
        if single_case:
            case = doc_cases[0] if doc_cases else rows[0]["case"]
            self.case_refs.setdefault(case, []).append(("SourceRef", sid))
        for pid in dict.fromkeys(r["passage_id"] for r in rows):
            codes = [r for r in rows if r["passage_id"] == pid]
            first, (start, end) = codes[0], spans[pid]
            author = self.machine if not all(self.is_human(r) for r in codes) else self.user_of(first)
            sel = _p(src, "PlainTextSelection", guid=guid("selection", pid), name=pid, startPosition=start,
                     endPosition=end, creatingUser=author, creationDateTime=self.now)  # fmt: skip
            page = f" · p. {first['page']}" if pd.notna(first["page"]) else ""
            _p(sel, "Description", f"{first['case_name']} · {first['section'] or ''}{page} · {pid}")
            for r in codes:  # an adjudicator's resolution is a coding of its own
                if self.is_human(r) and r["category"] in self.by_coder.get(r["reviewer"], {}).get(pid, {}):
                    continue  # each coder's own coding follows
                self.coding(sel, f"{pid}/{r['category']}", r, self.user_of(r), r["source"])
            for coder, mine in sorted(self.by_coder.items()):
                for cat, state in sorted(mine.get(pid, {}).items()):
                    if state.get("status") in ("accepted", "added"):
                        r = {**first, "category": cat, "polarity": self.polarity_of(pid, cat, state),
                             "reviewer": coder, "memo": state.get("memo"), "source": "human"}  # fmt: skip
                        self.coding(sel, f"{pid}/{cat}/{coder}", r, self.users[coder], "human")
            if not single_case:
                self.case_refs.setdefault(first["case"], []).append(("SelectionRef", guid("selection", pid)))

    def polarity_of(self, pid: str, category: str, state: dict[str, Any]) -> str:
        """A coder's polarity for the code: their own, or (accepted as suggested) the suggestion's."""
        from kb.review.queue import auto_code

        if state.get("polarity"):
            return str(state["polarity"])
        return (auto_code(self.kb, pid, category) or {}).get("polarity") or "neutral"

    def coding(self, sel: ET.Element, key: str, r: dict[str, Any], user: str, source: str) -> None:
        """One Coding of the selection with its code (category and polarity) and a note."""
        coding = _p(sel, "Coding", guid=guid("coding", key), creatingUser=user, creationDateTime=self.now)
        _p(coding, "CodeRef", targetGUID=code_guid(r["category"], r["polarity"]))
        note = _p(self.notes, "Note", guid=guid("note", key), name=f"{key} ({source})",
                  creatingUser=user, creationDateTime=self.now)  # fmt: skip
        _p(note, "PlainTextContent", _coding_note(r, source == "human"))
        _p(coding, "NoteRef", targetGUID=guid("note", key))

    def finish(self) -> bytes:
        meta = {p["case"]: p for p in self.kb.passages}
        for case, refs in self.case_refs.items():
            p = meta.get(case, {})
            el = _p(self.cases, "Case", guid=guid("case", case), name=p.get("case_name") or case)
            _p(el, "Description", f"case id: {case}")
            for var, _ in VARIABLES:
                value = _p(el, "VariableValue")
                _p(value, "VariableRef", targetGUID=guid("variable", var))
                _p(value, "TextValue", str(p.get(var) or ""))
            for tag in ("SourceRef", "SelectionRef"):  # schema order: all SourceRefs first
                for kind, target in dict.fromkeys(refs):
                    if kind == tag:
                        _p(el, tag, targetGUID=target)
        if not len(self.cases):
            self.root.remove(self.cases)
        for el in (self.sources, self.notes):
            if len(el):
                self.root.append(el)
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("project.qde", _xml(self.root, NS_PROJECT))
            for name, text in self.files.items():
                zf.writestr(name, text.encode("utf-8"))
        return buf.getvalue()


def project_qdpx(
    kb: KnowledgeBase,
    excerpts: pd.DataFrame,
    meta: dict[str, Any] | None = None,
    doc_ids: list[str] | None = None,
) -> bytes:
    """A .qdpx (zip of project.qde + sources/<guid>.txt) with every excerpt as a coded selection.

    Sources are the documents of `doc_ids` (the selected passages, coded or not) and of the
    excerpts, in corpus order. Auto codes are created by the user "kb auto-coder" with confidence
    and evidence in a note; a code coders decided is one coding per coder who accepted or added it,
    by that coder, in their own polarity, with their memo in a note – so another QDA tool can
    compute the agreement between coders (the other exports carry the effective code only).
    """
    rows = excerpts.to_dict("records")
    query = (meta or {}).get("query")
    project = _Project(kb, rows, "kb export" + (f": {query}" if query else ""))
    wanted = set(doc_ids or ()) | {r["doc_id"] for r in rows}
    by_doc: dict[str, list[dict[str, Any]]] = {
        d: [] for d in dict.fromkeys(p["doc_id"] for p in kb.passages) if d in wanted
    }
    for r in rows:
        by_doc.setdefault(r["doc_id"], []).append(r)
    for doc_id, doc_rows in by_doc.items():
        project.source(doc_id, doc_rows)
    return project.finish()


def read_qdpx(path: str | Path) -> pd.DataFrame:
    """Codings in a .qdpx as one row each: source, selection, offsets, the text they cover, code, user.

    The archive is untrusted: members are read under decompression caps and looked up by name
    only; a malformed project raises BadImportFile with one line.
    """
    from kb.errors import BadImportFile
    from kb.exchange.safexml import parse
    from kb.exchange.safezip import ZipLimits

    q = f"{{{NS_PROJECT}}}"
    name = Path(path).name
    with ZipLimits(path, BadImportFile) as zf:
        qde = zf.find("project.qde")
        if qde is None:
            raise BadImportFile(f"{name} has no project.qde; not a REFI-QDA project")
        root = parse(zf.read(qde), name, BadImportFile)
        codes = {c.get("guid"): c for c in root.iter(f"{q}Code")}
        parent = {child.get("guid"): c for c in root.iter(f"{q}Code") for child in c.findall(f"{q}Code")}
        users = {u.get("guid"): u.get("name") for u in root.iter(f"{q}User")}
        rows = []
        try:
            for src in root.iter(f"{q}TextSource"):
                file = (src.get("plainTextPath") or "").removeprefix("internal://")
                member = zf.find(f"sources/{file}")
                if member is None:
                    raise BadImportFile(f"{name}: source {src.get('name')!r} has no text file {file!r}")
                text = zf.read(member).decode("utf-8")
                for sel in src.findall(f"{q}PlainTextSelection"):
                    start, end = int(sel.get("startPosition")), int(sel.get("endPosition"))
                    for coding in sel.findall(f"{q}Coding"):
                        target = coding.find(f"{q}CodeRef").get("targetGUID")
                        code, up = codes[target], parent.get(target)
                        rows.append(
                            {
                                "source": src.get("name"),
                                "selection": sel.get("name"),
                                "start": start,
                                "end": end,
                                "text": text[start:end],
                                "code": code.get("name"),
                                "parent_code": None if up is None else up.get("name"),
                                "code_guid": target,
                                "user": users.get(coding.get("creatingUser")),
                            }
                        )
        except (TypeError, ValueError, KeyError, AttributeError, UnicodeDecodeError) as exc:
            raise BadImportFile(f"{name}: malformed REFI-QDA project ({type(exc).__name__}: {exc})") from exc
    return pd.DataFrame(rows)
