"""Line-level cleaning of PDF-extracted Korean text.

PDF extraction leaves one visual line per text line: words cut by the wrap, running headers
and page numbers between lines, footnotes in the middle of sentences and table cells as
short lines. These helpers are report-agnostic; the report-specific patterns live in
`pipelines.report.lines` and `pipelines.report.blocks`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence

__all__ = [
    "nfc",
    "display_width",
    "ends_word",
    "is_terminal",
    "has_cell_gap",
    "starts_with_glyph",
    "join_wrapped",
    "join_wrapped_with_offsets",
    "collapse_inner",
    "join_table_lines",
    "is_pua",
    "strip_pua",
    "mark_footnote",
    "pop_markers",
    "collapse_ws",
    "estimate_pages",
    "MARK_OPEN",
    "MARK_CLOSE",
]

#: Placeholder around a footnote number removed from the body (so its offset survives joining).
MARK_OPEN, MARK_CLOSE = "\x01", "\x02"
_MARK_RE = re.compile(f"{MARK_OPEN}(\\d+){MARK_CLOSE}")
_TERMINAL_RE = re.compile(r"[.!?。](?:[\"'”’」』)\]]|\x01\d+\x02)*\s*$")
_CELL_GAP_RE = re.compile(r"\S {2,}\S")
_LATIN_END = re.compile(r"[A-Za-z]$")
_LATIN_START = re.compile(r"^[A-Za-z]")
_GLYPHS = "•⇒▼→▶◦○●■□◆◇※-"
_CELL_SEP_RE = re.compile(r"\s*[\ue000-\uf8ff\U000f0000-\U0010ffff]\s*| {2,}")
_WS_RE = re.compile(r"\s+")


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def collapse_ws(text: str) -> str:
    """All whitespace runs to one space, ends stripped (for comparisons)."""
    return _WS_RE.sub(" ", text).strip()


def display_width(text: str) -> int:
    """Width in half-width cells: Hangul/CJK count 2, everything else 1 (a proxy for print width)."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def ends_word(raw_line: str) -> bool:
    """A wrapped line that ends in a space ends a word; one without continues it on the next line."""
    return raw_line != raw_line.rstrip()


def is_terminal(text: str) -> bool:
    """Does the line end a sentence (period/question/exclamation, maybe followed by closing quotes)?"""
    return bool(_TERMINAL_RE.search(text))


def has_cell_gap(text: str) -> bool:
    """Two or more inner spaces: the extraction's separator between table cells on one line."""
    s = text.strip()
    return bool(_CELL_GAP_RE.search(s)) or any(is_pua(c) for c in s[1:])


def starts_with_glyph(text: str) -> bool:
    """Bullet-like first character (incl. private-use-area symbol fonts), typical of table cells."""
    s = text.lstrip()
    if not s:
        return False
    return s[0] in _GLYPHS or is_pua(s[0])


def join_wrapped(lines: Sequence[str]) -> str:
    """Rejoin wrapped body lines into one paragraph string (see `join_wrapped_with_offsets`)."""
    return join_wrapped_with_offsets(lines)[0]


def join_wrapped_with_offsets(lines: Sequence[str], latin_space: bool = True) -> tuple[str, list[int]]:
    """Rejoin wrapped lines; also return where each input line starts in the result.

    A line ending in whitespace ends a word (joined with one space); a line without trailing
    whitespace continues its last word on the next line (joined directly). Exception: two Latin
    letters meeting across a wrap get a space (English words are not split by this layout,
    e.g. "connected" / "to"), and so does a line ending a sentence ("…구성된다." / "다섯 번째로").
    A line's leading whitespace never counts: lines that start a page carry one even mid-word
    ("…플랫폼의 도" / " 입이"). Space runs inside a line collapse to one space.
    """
    out: list[str] = []
    starts: list[int] = []
    length = 0
    prev_raw = ""
    for raw in lines:
        text = collapse_inner(strip_pua(raw))
        if not text:
            starts.append(length)
            continue
        latin = latin_space and _LATIN_END.search(out[-1] if out else "") and _LATIN_START.search(text)
        if out and (ends_word(prev_raw) or latin or is_terminal(out[-1])):  # a sentence end ends a word
            out.append(" ")
            length += 1
        starts.append(length)
        out.append(text)
        length += len(text)
        prev_raw = raw
    return "".join(out), starts


def collapse_inner(text: str) -> str:
    """Every whitespace run (incl. ideographic space, nbsp) to one space, ends stripped."""
    return _WS_RE.sub(" ", text).strip()


def is_pua(ch: str) -> bool:
    """Private-use code point (symbol-font bullets the PDF extraction leaves behind)."""
    o = ord(ch)
    return 0xE000 <= o <= 0xF8FF or o >= 0xF0000


def strip_pua(text: str) -> str:
    return "".join(" " if is_pua(c) else c for c in text)


def join_table_lines(
    lines: Sequence[str], is_word: Callable[[str], bool] | None = None, min_wrap_width: int = 16
) -> str:
    """Join table lines: one output line per cell, wrapped cell text rejoined, cells on one
    source line separated by " | ".

    A line without trailing space continues its last word on the next line only when the glued
    word is a known word (`is_word`, e.g. a body-text vocabulary) — otherwise "구분" / "경기도"
    would glue into a non-word. Without `is_word`, lines shorter than `min_wrap_width` never glue.
    A line starting with a bullet glyph or a space starts a new cell.
    """
    cells: list[str] = []
    prev_raw = ""
    for raw in lines:
        body = raw.strip()
        if not body:
            continue
        lead_glyph = starts_with_glyph(body)
        text = body.lstrip("".join(_GLYPHS)).strip() if lead_glyph else body
        text = collapse_ws(_CELL_SEP_RE.sub(" | ", text)).strip(" |")
        if not text:
            continue
        new_cell = lead_glyph or raw[:1].isspace() or not cells
        prev_text = cells[-1] if cells else ""
        long_prev = display_width(prev_raw.strip()) >= min_wrap_width
        if new_cell:
            cells.append(text)
        elif ends_word(prev_raw):
            if long_prev:
                cells[-1] += " " + text
            else:
                cells.append(text)
        else:
            tail = prev_text.rsplit(" ", 1)[-1]
            head = text.split(" ", 1)[0]
            glue = is_word(tail + head) if is_word else long_prev
            if glue:
                cells[-1] += text
            else:
                cells.append(text)
        prev_raw = raw
    return "\n".join(cells)


def mark_footnote(line: str, number: int) -> str | None:
    """Replace the in-text footnote marker `N)` in `line` by a placeholder; None if absent.

    The marker is glued to the preceding text ("있다18).", "201916))"). A digit before it only
    counts when the digit run would otherwise be longer than a year (so "2016)" is not marker 16).
    """
    n = str(number)
    for m in reversed(list(re.finditer(rf"(?<=\S){n}\)", line))):
        before = line[: m.start()]
        run = re.search(r"\d*$", before).group(0)
        if run and len(run) + len(n) <= 4:
            continue
        return before + f"{MARK_OPEN}{n}{MARK_CLOSE}" + line[m.end() :]
    return None


def pop_markers(text: str) -> tuple[str, list[tuple[int, int]]]:
    """Remove footnote placeholders; return clean text and (footnote number, offset) pairs."""
    found: list[tuple[int, int]] = []
    parts: list[str] = []
    pos = 0
    clean_len = 0
    for m in _MARK_RE.finditer(text):
        parts.append(text[pos : m.start()])
        clean_len += m.start() - pos
        found.append((int(m.group(1)), clean_len))
        pos = m.end()
    parts.append(text[pos:])
    return "".join(parts), found


def estimate_pages(
    n_lines: int, anchors: Sequence[tuple[int, int]], breaks: Sequence[int]
) -> list[int | None]:
    """Printed page of every line from sparse page-number anchors and detected page breaks.

    `anchors` are (line index where page P starts, P); `breaks` are line indices that likely
    start a page. Between two anchors a line's page blends the count forward from the earlier
    anchor and the count backward from the later one, weighted by distance (breaks lost at
    tables, figures and chapter title pages then shift pages less); outside the anchors pages
    are counted from the nearest anchor. Anchor lines get their printed page exactly.
    """
    import bisect

    anchors = sorted(anchors)
    breaks = sorted(set(breaks) - {a for a, _ in anchors})
    pages: list[int | None] = [None] * n_lines
    if not anchors:
        return pages

    def nbreaks(lo: int, hi: int) -> int:  # breaks b with lo < b <= hi
        return max(0, bisect.bisect_right(breaks, hi) - bisect.bisect_right(breaks, lo))

    positions = [a for a, _ in anchors]
    for x in range(n_lines):
        i = bisect.bisect_right(positions, x) - 1
        if i < 0:
            a1, p1 = anchors[0]
            pages[x] = p1 - 1 - nbreaks(x, a1 - 1)
            continue
        a0, p0 = anchors[i]
        fwd = p0 + nbreaks(a0, x)
        if i + 1 < len(anchors):
            a1, p1 = anchors[i + 1]
            bwd = p1 - 1 - nbreaks(x, a1 - 1)
            t = (x - a0) / max(1, a1 - a0)  # trust the nearer anchor more
            pages[x] = max(p0, min(p1 - 1, round(fwd * (1 - t) + bwd * t)))
        else:
            pages[x] = fwd
    return pages
