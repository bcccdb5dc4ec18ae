"""Input for `kb code`: one passage per line, plain text or JSON objects with `id` and `text`.

Plain text (a .txt, .md or .docx file, or standard input) is read the way `kb add` reads a
transcript (kb.exchange.transcript): speaker labels ("면담자: …", "응답자: …", "Q1. …") open turns,
hard-wrapped lines are joined into running text, timestamps, Markdown marks and a metadata header
are left out. Each line that remains is a unit, its id the number of its first line in the file (of
a .docx: of its paragraph); an interviewer's turn is the `question` of the answer lines after it (and
gets no codes), and one turn's lines are one answer. Without labels or wrapping every line is a unit,
as before.

A JSON line may carry interview context: `question` (the interviewer's preceding turn),
`speaker` (an interviewer's line gets no codes) and `answer` (an id shared by the lines of one
answer). Consecutive lines of one answer (same `answer`, else same non-empty `question`) are
each other's neighbours. A bad line is reported with its line number and skipped; the other
lines are still coded.
"""

from __future__ import annotations

import json
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kb.errors import IngestError, KbError
from kb.exchange.transcript import (
    Transcript,
    decode,
    lines_of_text,
    mark_interviewer,
    read_lines,
    read_transcript,
)
from kb.text.segment import block_questions


@dataclass(frozen=True)
class Unit:
    id: str
    text: str
    question: str | None = None
    speaker: str | None = None
    answer: str | None = None
    interviewer: bool = False  # a turn of the one who asks, whatever its label (kb add's role)


def _opt(obj: dict, key: str) -> str | None:
    v = obj.get(key)
    return str(v) if isinstance(v, (str, int)) and str(v).strip() else None


def contexts(units: list[Unit]) -> list[dict[str, str | None]]:
    """Per unit {question, speaker, prev, next}: neighbours are adjacent units of the same answer."""
    keys = [u.answer or (f"q:{u.question}" if u.question else None) for u in units]
    out = []
    for i, u in enumerate(units):
        same_prev = i > 0 and keys[i] is not None and keys[i - 1] == keys[i]
        same_next = i + 1 < len(units) and keys[i] is not None and keys[i + 1] == keys[i]
        out.append(
            {
                "question": u.question,
                "speaker": "interviewer" if u.interviewer else u.speaker,
                "prev": units[i - 1].text if same_prev else None,
                "next": units[i + 1].text if same_next else None,
            }
        )
    return out


def traced(unit: Unit, record: dict[str, Any]) -> dict[str, Any]:
    """A coded record with what was coded: id, text, speaker and question (when known), then the codes."""
    known = {"speaker": unit.speaker, "question": unit.question}
    return {"id": unit.id, "text": unit.text, **{k: v for k, v in known.items() if v}, **record}


@dataclass(frozen=True)
class LineError:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


def read_units(path: Path) -> tuple[list[Unit], list[LineError]]:
    """Units of a file: JSON lines, or a transcript (.txt/.md in UTF-8 or a legacy Korean encoding
    such as CP949, or .docx) read as `kb add` reads it."""
    if not path.is_file():
        raise KbError(f"{path}: no such file; give a text or JSONL file, or - for standard input")
    suffix = path.suffix.lower()
    if suffix == ".docx":
        try:
            lines, _ = read_lines(path)
        except IngestError as exc:  # over the decompression caps
            raise KbError(f"{path}: {exc}") from None
        except Exception as exc:  # python-docx raises several types for a damaged file
            raise KbError(f"{path}: cannot read as .docx ({type(exc).__name__}: {exc})") from None
        return transcript_units(read_transcript(lines, path.stem)), []
    try:
        text, _ = decode(path.read_bytes())
    except ValueError:
        raise KbError(f"{path}: binary file, not text (or an unknown encoding)") from None
    if suffix == ".md":
        return transcript_units(read_transcript(lines_of_text(text, True), path.stem, markdown=True)), []
    return parse_lines(text.splitlines())


def transcript_units(t: Transcript) -> list[Unit]:
    """One unit per line of each block's text (a wrapped paragraph, joined, is one line; a table whole),
    the header left out; an answer's units carry its question (kb.text.segment.block_questions, as
    passages do)."""
    mark_interviewer(t.text, t.blocks)  # "참석자 1" who only asks: the interviewer, as kb add takes it
    starts = [offset for offset, _ in t.lines]
    units: list[Unit] = []
    for i, (block, question) in enumerate(zip(t.blocks, block_questions(t.text, t.blocks), strict=True)):
        if block["kind"] == "meta":
            continue
        who, pos, asker = block.get("speaker"), block["start"], block.get("role") == "interviewer"
        body = t.text[block["start"] : block["end"]]
        # a table is one unit, as it is one passage (a row "2023 | 31,000" says nothing on its own)
        for piece in [body] if block["kind"] == "table" else body.split("\n"):
            if text := piece.strip():
                line = t.lines[bisect_right(starts, pos + len(piece) - len(piece.lstrip())) - 1][1]
                units.append(Unit(str(line), text, question, who, f"turn {i}" if who else None, asker))
            pos += len(piece) + 1
    return units


def parse_lines(lines: Iterable[str]) -> tuple[list[Unit], list[LineError]]:
    """Units to code and the errors of lines that could not be read. Blank lines are skipped.

    Lines without JSON are a transcript (transcript_units); among JSON lines a plain line is one text."""
    units: list[Unit] = []
    errors: list[LineError] = []
    lines = [" ".join(raw.splitlines()) for raw in lines]
    if not any(line.lstrip().startswith("{") for line in lines):
        return transcript_units(read_transcript([(line, 0) for line in lines], "input")), []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        if not line.lstrip().startswith("{"):
            units.append(Unit(str(n), line.strip()))
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            errors.append(LineError(n, f"invalid JSON: {exc.msg} (column {exc.colno})"))
            continue
        except RecursionError:
            errors.append(LineError(n, "JSON nested too deeply"))
            continue
        text = obj.get("text") if isinstance(obj, dict) else None
        if not isinstance(text, str) or not text.strip():
            errors.append(LineError(n, "JSON object has no non-empty 'text' (the passage to code)"))
            continue
        ident = obj.get("id", n)
        if isinstance(ident, (dict, list)):
            errors.append(LineError(n, "'id' must be a string or a number"))
            continue
        units.append(Unit(str(ident), text, _opt(obj, "question"), _opt(obj, "speaker"), _opt(obj, "answer")))
    return units, errors
