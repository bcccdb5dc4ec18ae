"""A passage's citation for a quotation: its document's reference with the passage's own pages
(pp. 175–176 when it runs over a page break) or, for an added transcript, its lines in the file –
its paragraphs for a Word file: kb.exchange.transcript reads a .docx as one line per body paragraph
(empty ones included) and per non-empty table row, in document order, and numbers those from 1.

The manifest's document citation ends with the document's page range ("…, 제4장 제2절, pp.
107–111"); a passage replaces that range with its own, so the citation never repeats itself.

The report's page numbers are mostly estimated (only four printed page numbers survive the PDF
extraction; corpus/README.md: usually exact, off by up to two pages near tables and figures): the
pages of a document whose manifest row says `pages_estimated` are marked "(추정)" – estimated –
wherever they are cited, so that no footnote passes an estimate off as a printed page.

A card in the app cites a passage shorter (`card_cite`): the report's reference is the same on every
report card, so there a paged passage names its section instead; an added transcript keeps its
export citation, which is already short: its file, the date it was added and the lines."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kb.store.kbase import KnowledgeBase

_DOC_PAGES = re.compile(r",\s*pp?\.\s*\d+(?:\s*[–-]\s*\d+)?\s*$")
# `kb add` cites a document as "<file name> (added <date>)" (kb.exchange.ingest)
_WORD_FILE = re.compile(r"\.docx \(added \d{4}-\d{2}-\d{2}\)", re.IGNORECASE)
ESTIMATED = "(추정)"  # after pages that were estimated, not printed


def _int(value: Any) -> int | None:
    if value is None or isinstance(value, float) and math.isnan(value):
        return None
    return int(value)


def locator(p: dict[str, Any], unit: str = "line", estimated: bool = False) -> str:
    """ "p. 109", "pp. 175–176", "p. 120 (추정)" (`estimated`), "lines 12–18" (an added transcript's
    turn; "paragraphs 4–6" with `unit` paragraph, for a Word file), or ""."""
    page, last = _int(p.get("page")), _int(p.get("page_end"))
    if page:
        pages = f"pp. {page}–{last}" if last and last > page else f"p. {page}"
        return f"{pages} {ESTIMATED}" if estimated else pages
    lines = p.get("lines") or []
    if len(lines) == 2 and all(isinstance(x, int) for x in lines):
        return f"{unit} {lines[0]}" if lines[0] == lines[1] else f"{unit}s {lines[0]}–{lines[1]}"
    return ""


def cite(document: str, p: dict[str, Any], estimated: bool = False) -> str:
    """The document's citation without its own page range, then the passage's locator (the lines of
    an added transcript are paragraphs when it was a Word file)."""
    unit = "paragraph" if _WORD_FILE.search(document) else "line"
    parts = [_DOC_PAGES.sub("", document.strip()), locator(p, unit, estimated)]
    return ", ".join(x for x in parts if x)


def card_cite(document: str, p: dict[str, Any], estimated: bool = False) -> str:
    """ "제4장 > 제3절 > 2. 조직 내부 요인, p. 120" for a report passage (its section path and pages);
    otherwise `cite`: "면담.txt (added 2026-12-07), lines 12–18"."""
    if _int(p.get("page")) and p.get("section"):
        return f"{p['section']}, {locator(p, estimated=estimated)}"
    return cite(document, p, estimated)


def citations(kb: KnowledgeBase, card: bool = False) -> Callable[[dict[str, Any]], str]:
    """passage -> its citation (`card`: as a card shows it, `card_cite`), from the manifest's document
    citations (read once)."""
    from kb.corpus.manifest import load_manifest

    _, rows = load_manifest(kb.settings.corpus_dir, required=False)
    documents = {r["doc_id"]: r.get("citation") or "" for r in rows}
    estimated = {r["doc_id"] for r in rows if str(r.get("pages_estimated") or "").lower() == "true"}
    how = card_cite if card else cite

    def one(p: dict[str, Any]) -> str:
        doc = p.get("doc_id") or ""
        return how(documents.get(doc, "") or p.get("citation") or "", p, doc in estimated)

    return one
