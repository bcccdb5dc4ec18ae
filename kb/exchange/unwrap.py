"""Hard-wrapped transcripts (text pasted from a PDF, lines broken at ~40 characters) as running text.

Kept as they are, the breaks stay inside passages and inside words ("코로\\n나", "군\\n수님"):
keyword search for 코로나 finds nothing and the coder reads broken words. A document is taken for
wrapped when its lines that go on in the next line mostly end mid-sentence at about the same width
and few lines are longer; then each such line is joined to the next. How to join, as the report
source's rule says, a line that ends in a space ends a word; pasted text often lost its trailing
spaces, so otherwise: after sentence punctuation or a comma a space; between two Hangul syllables
Kiwi's spacing decides (`Kiwi.space` on the words around the break); before Hangul after Latin
letters or digits, none when Kiwi reads the Hangul as a particle, suffix or counter ("IT는",
"2021년"), else a space; anything else a space. A transcript with one sentence or one turn per
line is not wrapped and keeps its line breaks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from statistics import median

from kb.text.morphs import get_kiwi
from kb.text.textclean import display_width

_SENTENCE_END = re.compile(r"[.?!…。][\"'”’)\]」』]*$")
_SPACE_AFTER = set(".,?!…;:)]}」』”’\"'")
_GLUE_BEFORE = set(".,?!…;:)]}」』”’%")
_GLUE_TAGS = ("J", "VCP", "XSN", "XSV", "XSA", "NNB", "NR")
MIN_BREAKS = 4  # wrapped lines needed before a document counts as wrapped


@dataclass(frozen=True)
class Break:
    """A line that goes on in the next line of the same paragraph or turn."""

    line: str  # the whole line as shown (its width is the wrap width)
    body: str  # its words (without a speaker label)
    spaced: bool  # the line ended in a space before it was trimmed
    next: str  # the next line's words


def wrap_width(breaks: list[Break], lines: list[str]) -> float | None:
    """The width the document was wrapped at, or None when it was not hard-wrapped.

    `lines` are all its text lines. Wrapped: at least MIN_BREAKS breaks end mid-sentence, they are
    at least half the breaks, two thirds of them are within 75–110 % of their median width, and at
    most one line in ten is wider than 115 % of it."""
    mid = [display_width(b.line) for b in breaks if not _SENTENCE_END.search(b.line)]
    if len(mid) < MIN_BREAKS or len(mid) * 2 < len(breaks):
        return None
    w = median(mid)
    if sum(0.75 * w <= x <= 1.1 * w for x in mid) * 3 < len(mid) * 2:
        return None
    if sum(display_width(line) > 1.15 * w for line in lines) * 10 > len(lines):
        return None
    return w


def separators(breaks: list[Break], wrap: float | None) -> list[str]:
    """Per break what joins it to the next line: "\\n" (kept), " " or "" (inside a word)."""
    out: list[str | None] = []
    ask: list[tuple[int, str, int]] = []  # (break, words around it glued, where they were glued)
    for i, b in enumerate(breaks):
        full = wrap is not None and display_width(b.line) >= 0.75 * wrap
        if wrap is None or not b.body or not b.next or (not full and _SENTENCE_END.search(b.line)):
            out.append("\n")  # not wrapped, or a short line that ends its sentence: a paragraph end
            continue
        sep = _separator(b)
        if sep is None:
            left, right = b.body.split()[-2:], b.next.split()[:2]
            glued = " ".join(left[:-1] + [left[-1] + right[0]] + right[1:])
            ask.append((i, glued, len("".join(left))))
        out.append(sep)
    if ask:
        spaced = get_kiwi().space([g for _, g, _ in ask], reset_whitespace=False)
        for (i, _, at), result in zip(ask, spaced, strict=True):
            out[i] = " " if _space_at(result, at) else ""
    return [s if s is not None else " " for s in out]


def _separator(b: Break) -> str | None:
    """The join by the characters around the break; None: Kiwi's spacing decides."""
    a, z = b.body[-1], b.next[0]
    if b.spaced or a in _SPACE_AFTER:
        return " "
    if z in _GLUE_BEFORE:
        return ""
    if _hangul(z) and _hangul(a):
        return None
    if _hangul(z) and a.isalnum():
        return "" if _attaches(b.body.split()[-1], b.next.split()[0]) else " "
    return " "


def _attaches(left: str, right: str) -> bool:
    """Whether Kiwi reads `right` glued to `left` ("IT"+"는", "2021"+"년에") as a particle, suffix
    or counter of it."""
    first = next((t for t in get_kiwi().tokenize(left + right) if t.start >= len(left)), None)
    return first is not None and first.start == len(left) and first.tag.startswith(_GLUE_TAGS)


def _hangul(c: str) -> bool:
    return "가" <= c <= "힣"


def _space_at(text: str, at: int) -> bool:
    """Whether `text` has a space after its `at`-th non-space character."""
    seen = 0
    for i, c in enumerate(text):
        if c.isspace():
            continue
        if seen == at:
            return i > 0 and text[i - 1].isspace()
        seen += 1
    return False
