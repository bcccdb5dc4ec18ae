"""Second pass over the report text: classified lines → paragraph, quotation, table, figure blocks.

Body lines are rejoined across wraps (`kb.text.textclean.join_wrapped_with_offsets`) into one block
per source paragraph; a “…” quotation is its own block; table cells next to a 표 caption become
one table block, whose wrapped cells are glued only into words the body text uses. Footnote
lines are collected aside and their glued markers in the body become offsets. Every block keeps
its section path, source lines and the printed page at each line start.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from kb.text.textclean import (
    collapse_ws,
    is_terminal,
    join_table_lines,
    join_wrapped_with_offsets,
    mark_footnote,
    pop_markers,
)
from pipelines.report.lines import FOOTNOTE_RE, Line, LineClassifier

__all__ = ["Block", "Footnote", "BlockAssembler"]


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


def _quote_start(text: str) -> bool:
    if not text.startswith("“"):
        return False
    close = text.find("”")
    return close == -1 or close == len(text.rstrip()) - 1


class BlockAssembler:
    """Turns classified lines into blocks (second pass)."""

    def __init__(self, cls: LineClassifier, pages: list[int | None], bounds: dict[str, int]):
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

    def __init__(self, texts: Iterable[str]):
        words = set()
        for t in texts:
            for w in t.split():
                w = re.sub(r"^[^\w]+|[^\w]+$", "", w)
                if len(w) >= 2:
                    words.add(w)
        self.words = sorted(words)

    def has(self, word: str) -> bool:
        w = re.sub(r"^[^\w]+|[^\w]+$", "", word)
        if len(w) < 2:
            return False
        i = bisect.bisect_left(self.words, w)
        return i < len(self.words) and self.words[i].startswith(w)


def _marker_chars(joined: str, upto: int) -> int:
    return sum(len(m.group(0)) for m in re.finditer("\x01\\d+\x02", joined[:upto]))
