"""Reading a transcript (.txt, .md, .docx) into document text and blocks, as `kb add` and `kb code` do.

The file's lines become one clean text: Markdown marks and timestamps off (kb.exchange.markup),
hard-wrapped lines joined into running text (kb.exchange.unwrap), a metadata header before the
first turn kept apart from the turns (kb.exchange.header). Each block (a paragraph, a speaker's
turn, a table, a header) is a span of that text, so what a passage shows and the offsets an export
gives (docs/<id>.txt) are the same characters.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kb.errors import IngestError
from kb.exchange.header import is_header_line, is_title_line
from kb.exchange.markup import drop_timestamps, is_timestamp_line, markdown_line
from kb.exchange.speakers import speaker_match, speaker_name, speakers_in
from kb.exchange.unwrap import Break, separators, wrap_width
from kb.text.segment import is_interviewer


# ---- reading ------------------------------------------------------------------------------
def decode(raw: bytes) -> tuple[str, str | None]:
    """Text of a .txt/.md file and the legacy encoding it was converted from (None for UTF-8).

    Raises ValueError("binary") when the bytes are not text in any encoding we accept.
    """
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16"), "UTF-16"
    if b"\x00" in raw[:8192]:
        raise ValueError("binary")
    try:
        return raw.decode("utf-8-sig"), None
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(raw, cp_isolation=["cp949", "euc_kr", "johab", "utf_8"]).best()
    if best is None or best.encoding.lower() not in {"cp949", "euc_kr", "johab"}:
        raise ValueError("binary")
    return str(best), best.encoding.upper().replace("_", "-")


TABLE_ROW = -1  # the "level" of a .docx table row: rows form a table block of their own


def _docx_lines(path: Path) -> list[tuple[str, int]]:
    """(text, heading level, 0, or TABLE_ROW) per paragraph and table row, in document order."""
    import docx
    from docx.table import Table

    from kb.exchange.safezip import ZipLimits

    with ZipLimits(path, IngestError) as zf:  # what it decompresses to, before python-docx inflates it
        zf.scan()

    doc = docx.Document(str(path))
    out: list[tuple[str, int]] = []
    for item in doc.iter_inner_content():
        if isinstance(item, Table):
            rows = ([c.text.strip() for c in row.cells] for row in item.rows)
            out.extend((" | ".join(cells), TABLE_ROW) for cells in rows if any(cells))
            continue
        style = (item.style.name if item.style is not None else "") or ""
        m = re.match(r"(?:Heading|제목)\s*(\d)", style)
        level = int(m.group(1)) if m else 1 if style == "Title" else 0
        out.append((item.text, level))
    return out


def _text_lines(text: str, markdown: bool) -> list[tuple[str, int]]:
    out = []
    for line in text.split("\n"):
        m = re.match(r"^(#{1,6})[ \t]+(?=\S)", line) if markdown else None
        if m:  # closing #s stripped without a backtracking regex (huge lines stay linear)
            title = line[m.end() :].rstrip()
            bare = title.rstrip("#")
            title = bare.rstrip() if bare != title and (not bare or bare[-1].isspace()) else title
            out.append((title, len(m.group(1))))
        else:
            out.append((line, 0))
    return out


def lines_of_text(text: str, markdown: bool = False) -> list[tuple[str, int]]:
    """Lines of a text (any line ends) as (text, heading level: a Markdown "#" heading's, else 0)."""
    return _text_lines(text.replace("\r\n", "\n").replace("\r", "\n"), markdown)


def read_lines(path: Path) -> tuple[list[tuple[str, int]], str | None]:
    """Lines of a transcript as (text, heading level) and the encoding converted from, if any."""
    if path.suffix.lower() == ".docx":
        return _docx_lines(path), None
    text, converted = decode(path.read_bytes())
    return lines_of_text(text, path.suffix.lower() == ".md"), converted


# ---- structure ----------------------------------------------------------------------------
@dataclass
class Transcript:
    """A transcript read: its text and blocks, (offset in the text, line number in the file) of each
    line kept, and how many wrapped lines were joined to the line before."""

    text: str
    blocks: list[dict[str, Any]]
    lines: list[tuple[int, int]] = field(default_factory=list)
    joined: int = 0


@dataclass
class _Line:
    n: int  # line number in the file
    text: str  # NFC, trimmed at the end, Markdown marks off
    level: int  # 0 text, a heading level, or TABLE_ROW
    spaced: bool  # it ended in a space: a word ends there
    note: bool = False  # a Markdown "> " quotation or a "※" note
    who: str | None = None  # the speaker whose turn it opens
    label: int = 0  # length of that speaker label
    meta: bool = False  # a header line before the first turn
    sep: str | None = None  # what joins it to the line before, when it goes on that line's text

    def body(self) -> str:
        """Its words: after the speaker label, without timestamps."""
        return drop_timestamps(self.text[self.label :])


_ANSWER_ROLES = ("a", "답", "답변", "answer")
_QUESTION_ROLES = ("q", "문", "질문", "question")


def _read(lines: list[tuple[str, int]], markdown: bool) -> list[_Line | None]:
    """One entry per line of the file; None for a line with nothing to read (a timestamp alone, a
    Markdown rule), which does not end a paragraph either."""
    out: list[_Line | None] = []
    for n, (raw, level) in enumerate(lines, 1):
        line: str | None = unicodedata.normalize("NFC", raw).replace("\t", " ")
        note = False
        if level == 0 and markdown:
            line, note = markdown_line(line or "")
        if line is None or (level == 0 and is_timestamp_line(line)):
            out.append(None)
            continue
        spaced, line = line[-1:].isspace(), line.rstrip()
        out.append(_Line(n, line, level, spaced, note or line.lstrip().startswith("※")))
    return out


def _turns(rows: list[_Line]) -> None:
    """Mark who opens a turn on which line, and the header lines before the first turn (only in a
    transcript with speakers: a document without turns has no header to tell apart)."""
    speakers = speakers_in([r.text for r in rows])
    started = False
    for r in rows:
        m = speaker_match(r.text)
        if not started and speakers:
            if r.note or (m and is_header_line(m.group("who"), r.text[m.end() :])):
                r.meta = True
                continue
            if not m and not r.level and is_title_line(r.text):
                r.meta = True
                continue
        if m and m.group("who").strip() in speakers:
            r.who, r.label, started = speaker_name(m.group("who")), m.end(), True
    for roles in (_ANSWER_ROLES, _QUESTION_ROLES):  # "A." and "답변:" in one file: one respondent
        names = list(dict.fromkeys(r.who for r in rows if r.who and r.who.casefold() in roles))
        for r in rows:
            if r.who in names[1:]:
                r.who = names[0]


def _join_wrapped(rows: list[_Line | None]) -> int:
    """Set `sep` on each line that goes on the line before it in a hard-wrapped transcript
    (kb.exchange.unwrap); the number of lines joined."""
    pairs: list[tuple[_Line, Break]] = []
    prev: _Line | None = None
    for r in rows:
        if r is None:
            continue
        if not r.text.strip() or r.level:
            prev = None
            continue
        if prev is not None and not r.who and not r.meta and not prev.meta:
            line = prev.text[: prev.label] + prev.body()
            pairs.append((r, Break(line, prev.body(), prev.spaced, r.body().lstrip())))
        prev = r
    texts = [r.text for r in rows if r is not None and r.text.strip() and not r.level]
    seps = separators([b for _, b in pairs], wrap_width([b for _, b in pairs], texts))
    for (r, _), sep in zip(pairs, seps, strict=True):
        r.sep = sep if sep != "\n" else None
    return sum(sep != "\n" for sep in seps)


def read_transcript(lines: list[tuple[str, int]], title: str, markdown: bool = False) -> Transcript:
    """Document text and block records (same fields as extracted documents' blocks).

    A table (its rows at level TABLE_ROW) is a block of kind "table" between the paragraphs around
    it: not part of the speaker turn it interrupts, which goes on after it. Header lines before the
    first turn are blocks of kind "meta": document metadata, never a turn or a passage."""
    rows = _read(lines, markdown)
    _turns([r for r in rows if r is not None and r.text.strip() and not r.level])
    joined = _join_wrapped(rows)
    text, blocks, path, offsets = "", [], [title], []
    current: dict[str, Any] | None = None  # open block: kind, speaker, start, end

    def close() -> None:
        nonlocal current
        if current is not None and current["end"] > current["start"]:
            blocks.append(
                {
                    "i": len(blocks),
                    "kind": current["kind"],
                    "start": current["start"],
                    "end": current["end"],
                    "section_path": list(path),
                    "page": None,
                    "page_end": None,
                    "page_map": [],
                    "speaker": current["speaker"],
                    "attribution": "added",
                    "para": None,
                    "source_lines": [current["line"], current["last"]],
                }
            )
        current = None

    turn: str | None = None
    for r in rows:
        if r is None:
            continue
        if not r.text.strip():
            close()  # a blank line ends the paragraph; an open speaker turn continues in the next one
            continue
        if (r.level == TABLE_ROW) != (current is not None and current["kind"] == "table"):
            close()  # a table starts or ends here
        if current is not None and r.meta != (current["kind"] == "meta"):
            close()  # the header ends
        content = r.text if r.level else r.text[: r.label] + r.body()
        if r.sep is not None and current is not None:
            text += r.sep  # a wrapped line: running text
            content = content.lstrip()
        elif text:
            text += "\n" if current is not None else "\n\n"
        start = len(text)
        text += content
        offsets.append((start, r.n))
        if current is not None and current["end"] == current["start"]:
            current["start"] = start  # a label alone on its line: the turn starts below it
        if r.level == TABLE_ROW:
            if current is None:
                current = {"kind": "table", "speaker": None, "start": start, "line": r.n}
            current.update(end=len(text), last=r.n)
            continue
        if r.level:
            close()
            turn = None
            path = [title, *path[1 : r.level], r.text.strip()][: r.level + 1]
            continue
        if r.who:
            close()
            turn = r.who
            start += r.label
        if current is None:
            kind = "meta" if r.meta else "quote" if turn else "narrative"
            current = {"kind": kind, "speaker": None if r.meta else turn, "start": start, "line": r.n}
        current.update(end=len(text), last=r.n)
    close()
    return Transcript(text, blocks, offsets, joined)


def structure(lines: list[tuple[str, int]], title: str) -> tuple[str, list[dict[str, Any]]]:
    """Document text and block records of plain-text lines (read_transcript without Markdown)."""
    t = read_transcript(lines, title)
    return t.text, t.blocks


_ASKS = re.compile(r"(?:\?|(?:까요|나요|가요|니까|는지요|세요)[.]?)[\"'”’)]*\s*$")


def mark_interviewer(text: str, blocks: list[dict[str, Any]]) -> str | None:
    """When no label says who interviews ("참석자 1" / "참석자 2", a transcription tool's labels),
    take the one speaker who mostly asks: its blocks get `role: interviewer`; the label, or None.

    Only clear cases: at least two speakers, none an interviewer label (kb.text.segment), one
    with two or more turns of which at least half end in a question, every other speaker's turns
    at most one in five."""
    turns: dict[str, list[bool]] = {}
    for b in blocks:
        if b.get("speaker"):
            turns.setdefault(b["speaker"], []).append(bool(_ASKS.search(text[b["start"] : b["end"]])))
    if len(turns) < 2 or any(is_interviewer(who) for who in turns):
        return None
    share = {who: sum(asks) / len(asks) for who, asks in turns.items()}
    askers = [who for who in turns if len(turns[who]) >= 2 and share[who] >= 0.5]
    if len(askers) != 1 or any(share[who] > 0.2 for who in turns if who != askers[0]):
        return None
    for b in blocks:
        if b.get("speaker") == askers[0]:
            b["role"] = "interviewer"
    return askers[0]
