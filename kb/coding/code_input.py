"""Input for `kb code`: one passage per line, plain text or JSON objects with `id` and `text`.

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


def parse_lines(lines: Iterable[str]) -> tuple[list[Unit], list[LineError]]:
    """Units to code and the errors of lines that could not be read. Blank lines are skipped."""
    units: list[Unit] = []
    errors: list[LineError] = []
    for n, raw in enumerate(lines, 1):
        line = raw.rstrip("\r\n")
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
            errors.append(LineError(n, "JSON object has no non-empty 'text'"))
            continue
        ident = obj.get("id", n)
        if isinstance(ident, (dict, list)):
            errors.append(LineError(n, "'id' must be a string or a number"))
            continue
        units.append(Unit(str(ident), text, _opt(obj, "question"), _opt(obj, "speaker"), _opt(obj, "answer")))
    return units, errors
