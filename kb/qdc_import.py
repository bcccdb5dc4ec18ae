"""`kb import-codebook`: merge a REFI-QDA codebook (.qdc, or a .qdpx's codebook) into codebook.yaml.

Codes that another tool added become new categories (dimension from their parent code when
that is a known dimension or category, else 'other'); known codes (matched by our GUID or by
id/label) and the polarity sub-codes our own export adds are left alone. New entries are
appended as YAML text, so the hand-written file keeps its comments, and the result is
validated with kb.codebook before it replaces the file.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import yaml

from kb.codebook import Codebook
from kb.errors import CodebookImportError
from kb.refiqda import KB_NS, NS_CODEBOOK, NS_PROJECT, POLARITY_LABELS, code_guid, guid


@dataclass
class QdcCode:
    name: str
    guid: str
    codable: bool
    description: str
    children: list[QdcCode] = field(default_factory=list)


@dataclass
class ImportReport:
    added: list[dict[str, Any]] = field(default_factory=list)  # new category entries, as written
    known: list[str] = field(default_factory=list)  # category ids already in the codebook
    notes: list[str] = field(default_factory=list)  # what was skipped or assumed, one line each
    written: Path | None = None


def _parse_code(el: ET.Element) -> QdcCode:
    desc = next((d.text or "" for d in el if d.tag.endswith("}Description")), "")
    return QdcCode(
        el.get("name") or "",
        el.get("guid") or "",
        (el.get("isCodable") or "true").lower() != "false",
        desc.strip(),
        [_parse_code(c) for c in el if c.tag.endswith("}Code")],
    )


def read_qdc(path: str | Path) -> tuple[list[QdcCode], str]:
    """Top-level codes (with their sub-codes) and origin of a .qdc file, or of a .qdpx's codebook."""
    path = Path(path)
    if not path.is_file():
        raise CodebookImportError(f"codebook file not found: {path}")
    try:
        raw = path.read_bytes()
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as zf:
                qde = next((n for n in zf.namelist() if n.lower().endswith(".qde")), None)
                if qde is None:
                    raise CodebookImportError(
                        f"{path.name} is a zip without a project .qde; expected a .qdc or .qdpx"
                    )
                raw = zf.read(qde)
        root = ET.fromstring(raw)
    except ET.ParseError as exc:
        raise CodebookImportError(
            f"{path.name} is not valid REFI-QDA XML ({exc}); export a .qdc from your tool"
        ) from exc
    if root.tag not in (f"{{{NS_CODEBOOK}}}CodeBook", f"{{{NS_PROJECT}}}Project"):
        raise CodebookImportError(
            f"{path.name}: root element {root.tag!r} is not a REFI-QDA CodeBook or Project"
        )
    holder = (
        root
        if root.tag.endswith("}CodeBook")
        else next((c for c in root if c.tag.endswith("}CodeBook")), None)
    )
    codes_el = None if holder is None else next((c for c in holder if c.tag.endswith("}Codes")), None)
    if codes_el is None:
        raise CodebookImportError(f"{path.name} has no <Codes> element; nothing to import")
    return [_parse_code(c) for c in codes_el if c.tag.endswith("}Code")], root.get("origin") or ""


def _key(text: str) -> str:
    return "".join(unicodedata.normalize("NFC", text).casefold().split())


def _slug(name: str, taken: set[str]) -> str:
    base = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
    if not base or not base[0].isalpha() or not base.isascii():
        base = "imported_" + uuid.uuid5(KB_NS, name).hex[:8]
    slug, n = base[:48], 2
    while slug in taken:
        slug, n = f"{base[:45]}_{n}", n + 1
    taken.add(slug)
    return slug


def plan_import(book: Codebook, codes: list[QdcCode], source: str) -> ImportReport:
    """Which imported codes are new categories (and their dimension) and which are already known."""
    dims = {guid("dimension", d.id): d.id for d in book.dimensions}
    dims.update({_key(x): d.id for d in book.dimensions for x in (d.id, d.label_ko, d.label_en)})
    cats = {code_guid(c.id): c for c in book.categories}
    cats.update(
        {
            _key(x): c
            for c in book.categories
            for x in (c.id, c.label_ko, c.label_en, f"{c.label_ko} ({c.label_en})")
        }
    )
    polar = {code_guid(c.id, p) for c in book.categories for p in POLARITY_LABELS}
    polar |= {_key(x) for p, label in POLARITY_LABELS.items() for x in (p, label, label.split(" (")[0])}
    if "other" not in {d.id for d in book.dimensions}:
        raise CodebookImportError("the codebook has no 'other' dimension for imported codes; add it first")
    report, taken, seen = ImportReport(), set(book.ids), set()
    today = datetime.now(timezone.utc).date().isoformat()

    def walk(code: QdcCode, dim: str | None) -> None:
        if code.guid in polar or _key(code.name) in polar:
            return
        known_dim = dims.get(code.guid) or dims.get(_key(code.name))
        known_cat = cats.get(code.guid) or cats.get(_key(code.name))
        if known_dim and not known_cat:
            for child in code.children:
                walk(child, known_dim)
            return
        if known_cat:
            report.known.append(known_cat.id)
            child_dim = known_cat.dimension
        elif not code.codable or not code.name.strip():
            report.notes.append(f"group {code.name!r} is not a known dimension; its codes go to 'other'")
            child_dim = "other"
        else:
            child_dim = dim or "other"
            if _key(code.name) not in seen:
                seen.add(_key(code.name))
                name = unicodedata.normalize("NFC", code.name.strip())
                report.added.append(
                    {
                        "id": _slug(name, taken),
                        "dimension": child_dim,
                        "label_ko": name,
                        "label_en": name,
                        "definition": code.description
                        or f"{name} (imported without a definition; write one)",
                        "notes": f"imported from {source} on {today} (REFI-QDA guid {code.guid})",
                    }
                )
        for child in code.children:
            walk(child, child_dim)

    for code in codes:
        walk(code, None)
    report.known = list(dict.fromkeys(report.known))
    return report


def merged_yaml(text: str, entries: list[dict[str, Any]], comment: str) -> str:
    """`text` with `entries` appended to its `categories:` list; comments and layout stay as they are."""
    if not entries:
        return text
    block = yaml.safe_dump(entries, allow_unicode=True, sort_keys=False, width=100)
    block = f"  # {comment}\n" + "".join(f"  {line}\n" if line else "\n" for line in block.splitlines())
    lines = text.splitlines(keepends=True)
    start = next((i for i, ln in enumerate(lines) if re.match(r"^categories:\s*(#.*)?$", ln)), None)
    if start is None:
        raise CodebookImportError("the codebook YAML has no top-level 'categories:' list to add codes to")
    end = next((i for i in range(start + 1, len(lines)) if re.match(r"^[^\s#]", lines[i])), len(lines))
    head = "".join(lines[:end])
    head += "" if head.endswith("\n") else "\n"
    return head + block + "".join(lines[end:])


def import_codebook(qdc: str | Path, codebook_path: str | Path, write: bool = True) -> ImportReport:
    """Merge the codes of a .qdc into the codebook YAML (new codes appended; known ones left alone)."""
    from kb.codebook import load_codebook, parse_codebook
    from kb.errors import InvalidCodebook

    codebook_path = Path(codebook_path)
    book = load_codebook(codebook_path)
    codes, origin = read_qdc(qdc)
    source = Path(qdc).name + (f" ({origin})" if origin else "")
    report = plan_import(book, codes, source)
    if not report.added:
        return report
    text = merged_yaml(codebook_path.read_text(encoding="utf-8"), report.added, f"imported from {source}")
    try:
        parse_codebook(yaml.safe_load(text), codebook_path)
    except (InvalidCodebook, yaml.YAMLError) as exc:
        raise CodebookImportError(f"merging {source} would make the codebook invalid: {exc}") from exc
    if write:
        from kb.exporting import write_atomic

        report.written = write_atomic(codebook_path, text.encode("utf-8"))
    return report
