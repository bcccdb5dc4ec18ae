"""Input for `kb code`: one passage per line, plain text or JSON objects with `id` and `text`.

Plain lines that carry speaker labels ("면담자: …", "응답자: …", "Q: …", as `kb add` reads them)
are read as a transcript: a label opens a turn, unlabelled lines continue it, an interviewer's turn
is the `question` of the answer lines after it (and gets no codes), and one turn's lines are one
answer.

A JSON line may carry interview context: `question` (the interviewer's preceding turn),
`speaker` (an interviewer's line gets no codes) and `answer` (an id shared by the lines of one
answer). Consecutive lines of one answer (same `answer`, else same non-empty `question`) are
each other's neighbours. A bad line is reported with its line number and skipped; the other
lines are still coded.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from kb.errors import KbError
from kb.exchange.speakers import speaker_match, speakers_in
from kb.exchange.transcript import decode
from kb.text.segment import is_interviewer


@dataclass(frozen=True)
class Unit:
    id: str
    text: str
    question: str | None = None
    speaker: str | None = None
    answer: str | None = None


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
                "speaker": u.speaker,
                "prev": units[i - 1].text if same_prev else None,
                "next": units[i + 1].text if same_next else None,
            }
        )
    return out


@dataclass(frozen=True)
class LineError:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


def read_file_lines(path: Path) -> list[str]:
    """Lines of a text file, UTF-8 or a legacy Korean encoding (CP949, EUC-KR), as `kb add` reads it."""
    if not path.is_file():
        raise KbError(f"{path}: no such file; give a text or JSONL file, or - for standard input")
    try:
        text, _ = decode(path.read_bytes())
    except ValueError:
        raise KbError(f"{path}: binary file, not text (or an unknown encoding)") from None
    return text.splitlines()


class _Turns:
    """Who speaks on plain lines with speaker labels, and the interviewer's last question."""

    def __init__(self, lines: list[str]) -> None:
        self.speakers = speakers_in([line for line in lines if not line.lstrip().startswith("{")])
        self.speaker: str | None = None
        self.turn = 0
        self.question: str | None = None

    def read(self, n: int, line: str) -> Unit | None:
        m = speaker_match(line) if self.speakers else None
        if m and m.group("who").strip() in self.speakers:
            self.speaker, self.turn = m.group("who").strip(), self.turn + 1
            line = line[m.end() :]
            if is_interviewer(self.speaker):
                self.question = None
        text = line.strip()
        if not text:
            return None
        if self.speaker is None:
            return Unit(str(n), text)
        if is_interviewer(self.speaker):
            self.question = f"{self.question} {text}" if self.question else text
            return Unit(str(n), text, speaker=self.speaker, answer=f"turn {self.turn}")
        return Unit(str(n), text, self.question, self.speaker, f"turn {self.turn}")


def parse_lines(lines: Iterable[str]) -> tuple[list[Unit], list[LineError]]:
    """Units to code and the errors of lines that could not be read. Blank lines are skipped."""
    units: list[Unit] = []
    errors: list[LineError] = []
    lines = [raw.rstrip("\r\n") for raw in lines]
    turns = _Turns(lines)
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        if not line.lstrip().startswith("{"):
            if unit := turns.read(n, line):
                units.append(unit)
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
