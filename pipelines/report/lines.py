"""First pass over the report text: mark every visual line of chapters 4–6 with its kind.

The PDF text interleaves body lines with running headers, page numbers, chapter title pages,
footnotes, table cells and captions; the block assembler (`pipelines.report.blocks`) needs to
know which is which before it can rejoin paragraphs. Line kinds: `content` (body), `drop`,
`chapter`, `heading`, `heading_cont`, `footnote`, `footnote_cont`, `table_caption`,
`figure_caption`, `figure_source`, `table`. Page-break detection lives here too, because it
works on the same raw lines (leading-space lines, header + page-number pairs).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import pairwise
from statistics import median

from kb.errors import SourceLayoutError
from kb.text.textclean import collapse_ws, display_width, has_cell_gap, is_terminal, starts_with_glyph

__all__ = [
    "Line",
    "LineClassifier",
    "make_lines",
    "find_line",
    "anchors_and_breaks",
    "MARKERS",
    "HEADER_RES",
    "HEADING_RES",
    "FOOTNOTE_RE",
    "PAGE_NUM_RE",
]

# (name, pattern) in document order; each marks where a part of chapters 4–6 starts.
MARKERS = [
    ("ch4", r"^제1절 사례 분석 개요$"),
    ("ch4_s2", r"^제2절 정보제공형 플랫폼 사례: 경기도"),
    ("ch5", r"^제5장$"),
    ("ch6", r"^제1절 심층 인터뷰 개요$"),
    ("end", r"^본 장에서는 지방자치단체 플랫폼 실태조사"),
]
HEADER_RES = [
    re.compile(r"^제\d장\s*❘\s*\S.*$"),
    re.compile(r"^제\d장\s+(?!.*에서)\S.{4,60}[^.\s]$"),
    re.compile(r"^지방자치단체 플랫폼 정부\(Platform Government\)의(\s+효과적인 운영방안 연구)?$"),
]
PAGE_NUM_RE = re.compile(r"^\d{1,3}$")
CHAPTER_TITLE_RE = re.compile(r"^제(\d)장$")
FOOTNOTE_RE = re.compile(r"^(\d{1,2})\)\s+\S")
TABLE_CAP_RE = re.compile(r"^표\s*\d+-\d+\s+\S")
FIGURE_CAP_RE = re.compile(r"^그림\s*\d+-\d+\s+\S")
SOURCE_RE = re.compile(r"^출처\s*:")
HEADING_RES = [
    (1, re.compile(r"^제\d+절\s+\S")),
    (2, re.compile(r"^\d{1,2}\.\s+\S")),
    (3, re.compile(r"^\d\)\s+\S")),
    (4, re.compile(r"^\(\d{1,2}\)\s+\S")),
]
LINES_PER_PAGE = 48  # raw lines (text + blank) on a full body page
BREAK_GAP = 30  # raw lines: a leading-space line this far from the last page start starts a page


@dataclass
class Line:
    idx: int
    raw: str
    text: str
    width: int
    lead: bool
    adjacent_next: bool  # next raw line is not blank
    kind: str = "content"
    level: int = 0


def find_line(lines: list[Line], pattern: str, start: int = 0) -> int:
    """Index of the first line from `start` matching `pattern`; SourceLayoutError if none."""
    rx = re.compile(pattern)
    for ln in lines[start:]:
        if rx.search(ln.text):
            return ln.idx
    raise SourceLayoutError(
        f"heading matching {pattern!r} not found in the source text; pass the KRILA 2022-01 report text"
    )


def make_lines(raw_lines: list[str]) -> list[Line]:
    out = []
    for i, raw in enumerate(raw_lines):
        text = collapse_ws(raw)
        nxt = raw_lines[i + 1] if i + 1 < len(raw_lines) else ""
        out.append(
            Line(i, raw, text, display_width(text), raw[:1].isspace() and bool(text), bool(nxt.strip()))
        )
    return out


def anchors_and_breaks(lines: list[Line]) -> tuple[list[tuple[int, int]], list[int]]:
    """Printed page anchors (line where page P starts, P) and likely page-start lines."""
    anchors, breaks, last = [], [], -BREAK_GAP
    content = [ln for ln in lines if ln.text]
    for j, ln in enumerate(content):
        if any(rx.match(ln.text) for rx in HEADER_RES) and j + 2 < len(content):
            num = content[j + 1]
            if PAGE_NUM_RE.match(num.text):
                anchors.append((content[j + 2].idx, int(num.text)))
                last = content[j + 2].idx
        if ln.lead and ln.idx - last >= BREAK_GAP:
            breaks.append(ln.idx)
            last = ln.idx
    # long stretches without a detected break (tables, figures, title pages): one per LINES_PER_PAGE
    filled = []
    marks = sorted({*breaks, *(a for a, _ in anchors)})
    for lo, hi in pairwise(marks):
        if hi - lo > 1.6 * LINES_PER_PAGE:
            filled.extend(range(lo + LINES_PER_PAGE, hi - LINES_PER_PAGE // 2, LINES_PER_PAGE))
    return anchors, sorted({*breaks, *filled})


class LineClassifier:
    """Marks every line of the chapter range with its kind (first pass)."""

    def __init__(self, lines: list[Line], start: int, end: int):
        self.lines, self.start, self.end = lines, start, end
        self.content = [ln for ln in lines[start:end] if ln.text]
        body = [ln.width for ln in self.content if ln.width >= 60]
        self.full = median(body) if body else 80

    def run(self) -> None:
        c = self.content
        j = 0
        while j < len(c):
            ln = c[j]
            if CHAPTER_TITLE_RE.match(ln.text):  # chapter title page: drop up to the next 절 heading
                ln.kind = "chapter"
                j += 1
                while j < len(c) and not HEADING_RES[0][1].match(c[j].text):
                    c[j].kind = "drop"
                    j += 1
                continue
            if any(rx.match(ln.text) for rx in HEADER_RES):
                ln.kind = "drop"
                if j + 1 < len(c) and PAGE_NUM_RE.match(c[j + 1].text):
                    c[j + 1].kind = "drop"
                    j += 1
            elif (m := FOOTNOTE_RE.match(ln.text)) and int(m.group(1)) >= 10:
                ln.kind = "footnote"
                k = j
                while k + 1 < len(c) and c[k].adjacent_next and not c[k + 1].lead:
                    k += 1
                    c[k].kind = "footnote_cont"
                j = k
            elif TABLE_CAP_RE.match(ln.text):
                ln.kind = "table_caption"
            elif FIGURE_CAP_RE.match(ln.text):
                ln.kind = "figure_caption"
            elif SOURCE_RE.match(ln.text):
                ln.kind = "figure_source"
            else:
                level = self._heading_level(ln, c[j - 1] if j else None)
                if level:
                    ln.kind, ln.level = "heading", level
                    if j + 2 < len(c) and self._heading_continues(c[j + 1], c[j + 2]):
                        c[j + 1].kind = "heading_cont"
                        j += 1
            j += 1
        self._mark_tables()

    def _heading_level(self, ln: Line, prev: Line | None = None) -> int:
        """Numbered heading: short, or full-width but following a finished paragraph."""
        after_para = prev is None or is_terminal(prev.text) or prev.kind != "content"
        for level, rx in HEADING_RES:
            if rx.match(ln.text) and not is_terminal(ln.text):
                if ln.width <= 0.85 * self.full or (after_para and ln.width <= 1.1 * self.full):
                    return level
        return 0

    def _heading_continues(self, nxt: Line, after: Line) -> bool:
        """A short second heading line ("「공정구매 플랫폼」") followed by body text or a heading."""
        if nxt.width >= 0.6 * self.full or is_terminal(nxt.text) or starts_with_glyph(nxt.text):
            return False
        if self._heading_level(nxt) or TABLE_CAP_RE.match(nxt.text) or FIGURE_CAP_RE.match(nxt.text):
            return False
        return bool(self._heading_level(after)) or after.width >= 0.6 * self.full

    def body_like(self, ln: Line) -> bool:
        if starts_with_glyph(ln.text) or has_cell_gap(ln.text):
            return False
        return 0.85 * self.full <= ln.width <= 1.15 * self.full or is_terminal(ln.text)

    def _mark_tables(self) -> None:
        c = self.content
        for j, ln in enumerate(c):
            if ln.kind != "table_caption":
                continue
            for step in (-1, 1):
                k = j + step
                while 0 <= k < len(c):
                    cur = c[k]
                    if cur.kind in ("drop", "footnote", "footnote_cont"):
                        k += step
                        continue
                    if cur.kind != "content" or self.body_like(cur):
                        break
                    cur.kind = "table"
                    k += step
