"""Parse chapters 4–6 of the KRILA 2022-01 report text into structured blocks.

Each visual line of the PDF text is classified (running header, page number, chapter title
page, heading, footnote, table/figure caption, table cell, body); body lines are rejoined into
paragraphs and quotations, table cells into table blocks. Every block keeps its section path,
its source lines and the printed page of each line. Report-specific patterns live here;
generic line helpers are in `kb.textclean`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from itertools import pairwise
from statistics import median

from kb.errors import SourceLayoutError
from kb.textclean import (
    collapse_ws,
    display_width,
    estimate_pages,
    has_cell_gap,
    is_terminal,
    join_table_lines,
    join_wrapped_with_offsets,
    mark_footnote,
    pop_markers,
    starts_with_glyph,
)

CHAPTERS = {
    4: "제4장 지방자치단체 플랫폼 활용 국내 사례 분석",
    5: "제5장 플랫폼 지방정부 해외 우수 사례 분석",
    6: "제6장 민간 플랫폼 기업 성공 사례 분석",
}
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


@dataclass
class Block:
    kind: str  # narrative | quote | table | figure
    chapter: int
    path: list[str]
    lines: list[int]
    text: str = ""
    page_map: list[tuple[int, int | None]] = field(default_factory=list)  # (offset, page) at line starts
    markers: list[tuple[int, int]] = field(default_factory=list)  # (footnote number, offset)
    para: int | None = None  # index of the source paragraph (shared by pieces of a split paragraph)
    case: str | None = None  # set by attribution (chapter 6 interview results)
    attribution: str = "section"  # section | named | lead_in | quote_context | none


@dataclass
class Footnote:
    number: int
    text: str
    line: int
    page: int | None


@dataclass
class Parsed:
    blocks: list[Block]
    footnotes: list[Footnote]
    pages: list[int | None]
    lines: list[Line]


def _find(lines: list[Line], pattern: str, start: int = 0) -> int:
    rx = re.compile(pattern)
    for ln in lines[start:]:
        if rx.search(ln.text):
            return ln.idx
    raise SourceLayoutError(
        f"heading matching {pattern!r} not found in the source text; pass the KRILA 2022-01 report text"
    )


def _make_lines(raw_lines: list[str]) -> list[Line]:
    out = []
    for i, raw in enumerate(raw_lines):
        text = collapse_ws(raw)
        nxt = raw_lines[i + 1] if i + 1 < len(raw_lines) else ""
        out.append(
            Line(i, raw, text, display_width(text), raw[:1].isspace() and bool(text), bool(nxt.strip()))
        )
    return out


def _anchors_and_breaks(lines: list[Line]) -> tuple[list[tuple[int, int]], list[int]]:
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


class _Classifier:
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


def _quote_start(text: str) -> bool:
    if not text.startswith("“"):
        return False
    close = text.find("”")
    return close == -1 or close == len(text.rstrip()) - 1


class _Assembler:
    """Turns classified lines into blocks (second pass)."""

    def __init__(self, cls: _Classifier, pages: list[int | None], bounds: dict[str, int]):
        self.cls, self.pages, self.bounds = cls, pages, bounds
        self.blocks: list[Block] = []
        self.footnotes: list[Footnote] = []
        self.path: list[str] = []
        self.chapter = 4
        self.override: dict[int, str] = {}
        self.tables: list[tuple[Block, Line | None, list[Line]]] = []

    def chapter_of(self, idx: int) -> int:
        return 6 if idx >= self.bounds["ch6"] else 5 if idx >= self.bounds["ch5"] else 4

    def run(self) -> None:
        c = self.cls.content
        self._footnotes(c)
        para: list[Line] = []
        table: list[Line] = []
        caption: Line | None = None
        in_quote = False
        for j, ln in enumerate(c):
            ch = self.chapter_of(ln.idx)
            if ch != self.chapter:
                self._flush(para, in_quote), self._flush_table(table, caption)
                para, table, caption, in_quote = [], [], None, False
                self.chapter, self.path = ch, []
            k = ln.kind
            if k in ("drop", "chapter", "footnote", "footnote_cont"):
                continue
            if k == "table" or (k == "table_caption" and table):
                if para:
                    self._flush(para, in_quote)
                    para, in_quote = [], False
                if k == "table_caption":
                    caption = ln
                else:
                    table.append(ln)
                continue
            if table or (caption and k != "table_caption"):
                self._flush_table(table, caption)
                table, caption = [], None
            if k == "table_caption":
                caption = ln
                continue
            if k in ("heading", "heading_cont", "figure_caption", "figure_source"):
                self._flush(para, in_quote)
                para, in_quote = [], False
                if k == "heading":
                    nxt = c[j + 1] if j + 1 < len(c) and c[j + 1].kind == "heading_cont" else None
                    self._set_heading(ln, nxt)
                elif k == "figure_caption":
                    self._add(Block("figure", ch, list(self.path), [ln.idx]), [ln.raw])
                elif k == "figure_source" and self.blocks and self.blocks[-1].kind == "figure":
                    b = self.blocks[-1]
                    b.lines.append(ln.idx)
                    b.text += "\n" + ln.text
                continue
            # body line
            if para and not in_quote and is_terminal(self._raw(para[-1])) and _quote_start(ln.text):
                self._flush(para, in_quote)
                para = []
            if not para:
                in_quote = _quote_start(ln.text)
            para.append(ln)
            raw = self._raw(ln).rstrip()
            if in_quote:
                if raw.endswith("”") or raw.endswith("”."):
                    self._flush(para, True)
                    para, in_quote = [], False
            elif is_terminal(raw) and ln.width < 0.92 * self.cls.full:
                self._flush(para, False)
                para = []
        self._flush(para, in_quote)
        self._flush_table(table, caption)

    def _raw(self, ln: Line) -> str:
        return self.override.get(ln.idx, ln.raw)

    def _footnotes(self, c: list[Line]) -> None:
        for j, ln in enumerate(c):
            if ln.kind != "footnote":
                continue
            num = int(FOOTNOTE_RE.match(ln.text).group(1))
            parts = [ln.raw]
            k = j + 1
            while k < len(c) and c[k].kind == "footnote_cont":
                parts.append(c[k].raw)
                k += 1
            text, _ = join_wrapped_with_offsets(parts, latin_space=False)  # URLs wrap mid-word
            text = re.sub(r"^\d{1,2}\)\s*", "", text)
            self.footnotes.append(Footnote(num, text, ln.idx, self.pages[ln.idx]))
            for back in range(j - 1, max(-1, j - 80), -1):
                prev = c[back]
                if prev.kind not in ("content", "table"):
                    continue
                marked = mark_footnote(self._raw(prev), num)
                if marked is not None:
                    self.override[prev.idx] = marked
                    break

    def _set_heading(self, ln: Line, cont: Line | None) -> None:
        text = collapse_ws(ln.raw + (" " + cont.raw if cont else ""))
        level = ln.level
        self.path = self.path[: level - 1] + [""] * max(0, level - 1 - len(self.path)) + [text]

    def _add(self, block: Block, raws: list[str]) -> None:
        if True:
            joined, starts = join_wrapped_with_offsets(raws)
            text, markers = pop_markers(joined)
            block.markers = markers
            block.text = text
            pm: list[tuple[int, int | None]] = []
            for idx, s in zip(block.lines, starts, strict=True):
                page = self.pages[idx]
                offset = s - _marker_chars(joined, s)  # placeholders are gone from `text`
                if not pm or pm[-1][1] != page:
                    pm.append((max(0, offset), page))
            block.page_map = pm
        if block.text.strip():
            block.para = len(self.blocks)
            self.blocks.append(block)

    def _flush(self, para: list[Line], quote: bool) -> None:
        if para:
            self._add(
                Block(
                    "quote" if quote else "narrative", self.chapter, list(self.path), [ln.idx for ln in para]
                ),
                [self._raw(ln) for ln in para],
            )

    def _flush_table(self, table: list[Line], caption: Line | None) -> None:
        if not table and not caption:
            return
        lines = sorted([*table, *([caption] if caption else [])], key=lambda ln: ln.idx)
        block = Block("table", self.chapter, list(self.path), [ln.idx for ln in lines])
        block.text = " "  # filled by fill_tables() once the body vocabulary is known
        block.page_map = [(0, self.pages[lines[0].idx])]
        self.tables.append((block, caption, table))
        block.para = len(self.blocks)
        self.blocks.append(block)

    def fill_tables(self) -> None:
        """Table text: caption line, then one line per cell; wraps glued only into known words."""
        vocab = _Vocabulary(b.text for b in self.blocks if b.kind in ("narrative", "quote"))
        for block, caption, table in self.tables:
            body = join_table_lines([self._raw(ln) for ln in table], is_word=vocab.has)
            text, _ = pop_markers((caption.text + "\n" if caption else "") + body)
            block.text = text.strip()


class _Vocabulary:
    """Word forms of the body text; `has(w)` is true when some body word starts with `w`."""

    def __init__(self, texts):
        words = set()
        for t in texts:
            for w in t.split():
                w = re.sub(r"^[^\w]+|[^\w]+$", "", w)
                if len(w) >= 2:
                    words.add(w)
        self.words = sorted(words)

    def has(self, word: str) -> bool:
        import bisect

        w = re.sub(r"^[^\w]+|[^\w]+$", "", word)
        if len(w) < 2:
            return False
        i = bisect.bisect_left(self.words, w)
        return i < len(self.words) and self.words[i].startswith(w)


def _marker_chars(joined: str, upto: int) -> int:
    return sum(len(m.group(0)) for m in re.finditer("\x01\\d+\x02", joined[:upto]))


def parse_report(text: str) -> Parsed:
    """Blocks, footnotes and page numbers of chapters 4–6 of the report text."""
    lines = _make_lines(text.split("\n"))
    bounds: dict[str, int] = {}
    pos = 0
    for name, pattern in MARKERS:
        if name == "ch4":
            continue
        bounds[name] = _find(lines, pattern, pos)
        pos = bounds[name] + 1
    ch4 = [ln.idx for ln in lines[: bounds["ch4_s2"]] if re.search(MARKERS[0][1], ln.text)]
    if not ch4:
        raise SourceLayoutError(
            "heading '제1절 사례 분석 개요' of chapter 4 not found; pass the KRILA 2022-01 report"
        )
    bounds["ch4"] = ch4[-1]
    anchors, breaks = _anchors_and_breaks(lines)
    pages = estimate_pages(len(lines), anchors, breaks)
    cls = _Classifier(lines, bounds["ch4"], bounds["end"])
    cls.run()
    asm = _Assembler(cls, pages, bounds)
    asm.run()
    asm.fill_tables()
    return Parsed(asm.blocks, asm.footnotes, pages, lines)
