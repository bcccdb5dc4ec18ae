"""What a transcript line says once its typing is taken off: Markdown marks and timestamps.

A .md transcript's list bullets, quote markers and bold are layout, not words: left in, they
are searched, embedded and shown as part of an answer. A transcription tool's timestamps
("[00:01:02]") are not words either: alone on a line they would become a passage of their own
(and be coded), inside a turn part of a coded sentence. Plain time of day ("15:00에 시작") has no
brackets and is kept.
"""

from __future__ import annotations

import re

_TIMESTAMP = r"[\[(]\d{1,2}:\d{2}(?::\d{2})?(?:[.,]\d{1,3})?[\])]"
_TIMESTAMP_LINE = re.compile(rf"^[ \t]*(?:{_TIMESTAMP}|\d{{1,2}}:\d{{2}}:\d{{2}})[ \t]*$")
_INLINE_TIMESTAMP = re.compile(rf"[ \t]*{_TIMESTAMP}[ \t]*")
_MD_QUOTE = re.compile(r"^[ \t]*(?:>[ \t]?)+")
_MD_BULLET = re.compile(r"^[ \t]*[-*+][ \t]+(?=\S)")
_MD_RULE = re.compile(r"^[ \t]*(?:(?:-[ \t]*){3,}|(?:\*[ \t]*){3,}|(?:_[ \t]*){3,})$")
_MD_EMPHASIS = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")


def is_timestamp_line(line: str) -> bool:
    """A line that is only a timestamp ("[00:01:02]", "(01:02)", "00:01:02")."""
    return bool(_TIMESTAMP_LINE.match(line))


def drop_timestamps(text: str) -> str:
    """`text` without bracketed timestamps ("…부족했어요. [00:00:15] 그래서…" → "…부족했어요. 그래서…")."""
    if "[" not in text and "(" not in text:
        return text
    out = _INLINE_TIMESTAMP.sub(" ", text)
    return out.strip(" ") if out != text else text


def markdown_line(line: str) -> tuple[str | None, bool]:
    """(the line without its Markdown marks, whether it was a "> " quotation); None for a rule (---).

    Bullets ("- ", "* ", "+ "), quote markers ("> ") and bold ("**…**", "__…__") go; the words
    stay. A numbered item ("1. ") keeps its number: the order can be part of what is said."""
    if _MD_RULE.match(line):
        return None, False
    quote = _MD_QUOTE.match(line)
    if quote:
        line = line[quote.end() :]
    line = _MD_BULLET.sub("", line, count=1)
    return _MD_EMPHASIS.sub(r"\2", line), bool(quote)
