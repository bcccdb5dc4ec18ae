"""`kb import-codebook`: merge a REFI-QDA codebook (.qdc, or a .qdpx's codebook) or a Taguette
codebook CSV (columns tag, description) into codebook.yaml.

Codes that another tool added become new categories (dimension from their parent code when
that is a known dimension or category, else 'other'); known codes (matched by our GUID, by
id/label, or by the `id:` line of our own descriptions) and the polarity sub-codes our own export
adds (old names "성공 요인 (success)" and new "리더십 · 성공 요인") are left alone.

The file is hostile until proven otherwise: it is size-capped (also what a .qdpx decompresses
to), parsed with defusedxml, and its text reaches the YAML only as values serialised by
yaml.safe_dump. New entries are appended so the hand-written file keeps its comments, and
the result must load back as exactly the old codebook plus the new entries before it replaces
the file. `diff` is the unified diff that will be applied, shown by the CLI before it writes.
"""

from __future__ import annotations

import csv
import difflib
import io
import re
import unicodedata
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import yaml

from kb.coding.codebook import Codebook
from kb.errors import CodebookImportError
from kb.exchange.refiqda import (
    KB_NS,
    NS_CODEBOOK,
    NS_PROJECT,
    POLARITY_LABELS,
    POLARITY_SHORT,
    _describe,
    code_guid,
    guid,
    subcode_name,
)

MAX_FILE = 20 * 1024 * 1024  # a .qdc/.csv, or the project.qde inside a .qdpx once decompressed
MAX_CODES = 5_000
MAX_NAME = 200
MAX_DESCRIPTION = 20_000


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
    diff: str = ""  # unified diff of the codebook file
    written: Path | None = None


def clean_name(text: str) -> str:
    """One line of NFC text: control characters dropped, runs of whitespace (newlines too) one space."""
    text = unicodedata.normalize("NFC", text or "")
    text = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C" or ch in "\t\n")
    return " ".join(text.split())[:MAX_NAME]


def clean_text(text: str) -> str:
    """Multi-line NFC text without control characters other than newlines and tabs."""
    text = unicodedata.normalize("NFC", (text or "").replace("\r\n", "\n").replace("\r", "\n"))
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Cc" or ch in "\t\n")
    return text.strip()[:MAX_DESCRIPTION]


def _parse_code(el: Any) -> QdcCode:
    desc = next((d.text or "" for d in el if str(d.tag).endswith("}Description")), "")
    return QdcCode(
        clean_name(el.get("name") or ""),
        clean_name(el.get("guid") or ""),
        (el.get("isCodable") or "true").lower() != "false",
        clean_text(desc),
        [_parse_code(c) for c in el if str(c.tag).endswith("}Code")],
    )


def _count(codes: list[QdcCode]) -> int:
    return sum(1 + _count(c.children) for c in codes)


def read_codebook_csv(raw: bytes, name: str) -> list[QdcCode]:
    """Codes of a Taguette codebook CSV (tag/name/path column, optional description)."""
    from kb.exchange.spreadsheet import restore

    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = raw.decode("cp949")
        except UnicodeDecodeError as exc:
            raise CodebookImportError(f"{name} is not UTF-8 or CP949 text; save it as UTF-8 CSV") from exc
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise CodebookImportError(f"{name} is not a valid CSV file ({exc})") from exc
    if not rows:
        raise CodebookImportError(f"{name} is empty; expected a header with a 'tag' column")
    header = [restore(h).strip().lower() for h in rows[0]]
    col = next((header.index(c) for c in ("tag", "name", "path") if c in header), None)
    if col is None:
        raise CodebookImportError(f"{name}: no 'tag' (or 'name', 'path') column; expected Taguette's CSV")
    desc = header.index("description") if "description" in header else None
    codes = []
    for n, row in enumerate(rows[1:], 2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) <= max(col, desc or 0):
            raise CodebookImportError(f"{name} line {n}: not enough columns")
        tag = clean_name(restore(row[col]))
        if not tag:
            raise CodebookImportError(f"{name} line {n}: empty tag name")
        codes.append(QdcCode(tag, "", True, clean_text(restore(row[desc])) if desc is not None else ""))
    return codes


def read_qdc(path: str | Path) -> tuple[list[QdcCode], str]:
    """Top-level codes (with sub-codes) and origin of a .qdc, a .qdpx's codebook or a codebook CSV."""
    from kb.exchange.safexml import parse
    from kb.exchange.safezip import ZipLimits

    path = Path(path)
    if not path.is_file():
        raise CodebookImportError(f"codebook file not found: {path}")
    if path.stat().st_size > MAX_FILE:
        raise CodebookImportError(
            f"{path.name} is larger than {MAX_FILE // (1024 * 1024)} MB; not a codebook"
        )
    with open(path, "rb") as fh:
        head = fh.read(4)
    if head.startswith(b"PK"):
        with ZipLimits(path, CodebookImportError, total=MAX_FILE) as zf:
            qde = next((n for n in zf.names if n.lower().endswith(".qde")), None)
            if qde is None:
                raise CodebookImportError(
                    f"{path.name} is a zip without a project .qde; expected a .qdc or .qdpx"
                )
            raw = zf.read(qde, MAX_FILE)
    else:
        raw = path.read_bytes()
        if path.suffix.lower() in (".csv", ".tsv", ".txt"):
            codes = read_codebook_csv(raw, path.name)
            if len(codes) > MAX_CODES:
                raise CodebookImportError(f"{path.name} has {len(codes)} codes (limit {MAX_CODES})")
            return codes, ""
    root = parse(raw, path.name, CodebookImportError)
    if root.tag not in (f"{{{NS_CODEBOOK}}}CodeBook", f"{{{NS_PROJECT}}}Project"):
        raise CodebookImportError(
            f"{path.name}: root element {clean_name(str(root.tag))!r} is not a REFI-QDA CodeBook or Project"
        )
    holder = (
        root
        if root.tag.endswith("}CodeBook")
        else next((c for c in root if str(c.tag).endswith("}CodeBook")), None)
    )
    codes_el = None if holder is None else next((c for c in holder if str(c.tag).endswith("}Codes")), None)
    if codes_el is None:
        raise CodebookImportError(f"{path.name} has no <Codes> element; nothing to import")
    codes = [_parse_code(c) for c in codes_el if str(c.tag).endswith("}Code")]
    if _count(codes) > MAX_CODES:
        raise CodebookImportError(f"{path.name} has more than {MAX_CODES} codes; not a codebook")
    return codes, clean_name(root.get("origin") or "")[:80]


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
    polar |= {
        _key(x)
        for c in book.categories
        for p in POLARITY_SHORT
        for x in (subcode_name(c.label_ko, p), f"{subcode_name(c.label_ko, p)} ({c.id}/{p})")
    }
    own_id = re.compile(r"^id: ([a-z][a-z0-9_]*)\s*$", re.M)
    if "other" not in {d.id for d in book.dimensions}:
        raise CodebookImportError("the codebook has no 'other' dimension for imported codes; add it first")
    report, taken, seen = ImportReport(), set(book.ids), set()
    today = datetime.now(timezone.utc).date().isoformat()

    def walk(code: QdcCode, dim: str | None) -> None:
        if code.guid in polar or _key(code.name) in polar:
            return
        known_dim = dims.get(code.guid) or dims.get(_key(code.name))
        m = own_id.match(code.description)
        known_cat = cats.get(code.guid) or cats.get(_key(code.name)) or (m and cats.get(_key(m.group(1))))
        if known_dim and not known_cat:
            for child in code.children:
                walk(child, known_dim)
            return
        if known_cat:
            report.known.append(known_cat.id)
            ours = {clean_text(_describe(known_cat)), clean_text(known_cat.definition), ""}
            if code.description not in ours:
                report.notes.append(
                    f"{known_cat.id}: the file's description differs from codebook.yaml; "
                    "kept ours (edit the YAML to adopt it)"
                )
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
                        "notes": f"imported from {source} on {today}"
                        + (f" (REFI-QDA guid {code.guid})" if code.guid else ""),
                    }
                )
        for child in code.children:
            walk(child, child_dim)

    for code in codes:
        walk(code, None)
    report.known = list(dict.fromkeys(report.known))
    return report


def merged_yaml(text: str, entries: list[dict[str, Any]]) -> str:
    """`text` with `entries` appended to its `categories:` list; comments and layout stay as they are.

    Only yaml.safe_dump output is added (no text of the imported file outside quoted values), and
    the result must load as exactly the old data plus `entries`, else CodebookImportError.
    """
    if not entries:
        return text
    block = yaml.safe_dump(entries, allow_unicode=True, sort_keys=False, width=100)
    block = "".join(f"  {line}\n" if line else "\n" for line in block.splitlines())
    lines = text.splitlines(keepends=True)
    start = next((i for i, ln in enumerate(lines) if re.match(r"^categories:\s*(#.*)?$", ln)), None)
    if start is None:
        raise CodebookImportError("the codebook YAML has no top-level 'categories:' list to add codes to")
    end = next((i for i in range(start + 1, len(lines)) if re.match(r"^[^\s#]", lines[i])), len(lines))
    head = "".join(lines[:end])
    head += "" if head.endswith("\n") else "\n"
    merged = head + block + "".join(lines[end:])
    try:
        before, after = yaml.safe_load(text), yaml.safe_load(merged)
    except yaml.YAMLError as exc:
        raise CodebookImportError(
            f"cannot append to this codebook's layout ({exc.__class__.__name__})"
        ) from exc
    expected = {**before, "categories": list(before["categories"]) + entries}
    if after != expected:
        raise CodebookImportError("merging would change more than the new categories; codebook left as it is")
    return merged


def yaml_diff(old: str, new: str, name: str) -> str:
    """Unified diff of the codebook file, as `diff -u` shows it."""
    return "".join(
        difflib.unified_diff(
            old.splitlines(keepends=True), new.splitlines(keepends=True), f"a/{name}", f"b/{name}"
        )
    )


def import_codebook(qdc: str | Path, codebook_path: str | Path, write: bool = True) -> ImportReport:
    """Merge the codes of a .qdc/.qdpx/codebook CSV into the codebook YAML (new codes appended).

    report.diff is what changes in the file; nothing is written when `write` is false.
    """
    from kb.coding.codebook import load_codebook, parse_codebook
    from kb.errors import InvalidCodebook

    codebook_path = Path(codebook_path)
    book = load_codebook(codebook_path)
    codes, origin = read_qdc(qdc)
    source = clean_name(Path(qdc).name)[:120] + (f" ({origin})" if origin else "")
    report = plan_import(book, codes, source)
    if not report.added:
        return report
    old = codebook_path.read_text(encoding="utf-8")
    text = merged_yaml(old, report.added)
    try:
        parse_codebook(yaml.safe_load(text), codebook_path)
    except (InvalidCodebook, yaml.YAMLError) as exc:
        raise CodebookImportError(f"merging {source} would make the codebook invalid: {exc}") from exc
    report.diff = yaml_diff(old, text, codebook_path.name)
    if write:
        from kb.exchange.export import write_atomic

        report.written = write_atomic(codebook_path, text.encode("utf-8"))
    return report
