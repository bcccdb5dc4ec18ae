"""Input for `kb code`: one passage per line, plain text or JSON objects with `id` and `text`.

A bad line is reported with its line number and skipped; the other lines are still coded.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Unit:
    id: str
    text: str


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
        units.append(Unit(str(ident), text))
    return units, errors
