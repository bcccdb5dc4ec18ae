"""What every `kb` command shares: the settings of this run, one-line errors, tables and JSON values.

Its own module so that the command modules (main, io_commands, review_commands, team_commands)
import it and kb.cli.main imports them: no module imports back the one that registers it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from functools import wraps
from typing import Any

import typer

from kb.errors import KbError
from kb.settings import Settings

MAX_CELL = 60  # terminal columns of one table cell; longer text is cut with …
WHOLE = ("id", "passage_id", "doc_id")  # never cut: a script or a coder pastes them into other commands
NUMBER_LIKE = re.compile(r"[\d.,/%+-]+")  # 0.74, 1/2, 12: right-aligned in a table


class State:
    settings = Settings()  # replaced by `main` (defaults + environment + options) before any command


def friendly(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn a KbError into one line on stderr and exit status 1."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except KbError as exc:
            typer.echo(f"Error: {exc}", err=True)
            raise typer.Exit(1) from None

    return wrapper


def stdout_is_a_file() -> bool:
    """Whether standard output was redirected to a file (`kb matrix --csv > m.csv`): CSV written
    there gets the UTF-8 BOM that Excel needs to read Korean; a pipe gets plain UTF-8."""
    import os
    import stat
    import sys

    try:
        return stat.S_ISREG(os.fstat(sys.stdout.fileno()).st_mode)
    except (OSError, ValueError, AttributeError):  # no real descriptor (a test runner's buffer)
        return False


def width(text: str) -> int:
    """Terminal columns of `text`: Hangul and other wide characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def clip(text: str, columns: int) -> str:
    """`text` on one line, cut with … to at most `columns` terminal columns."""
    text = " ".join(text.split())
    if width(text) <= columns:
        return text
    out = ""
    for ch in text:
        if width(out + ch) > columns - 1:
            break
        out += ch
    return out + "…"


def table(rows: list[dict[str, Any]], max_width: int = MAX_CELL) -> str:
    """Rows as aligned columns: text left, numbers (12, 0.74, 1/2) right, None blank, each cell on one
    line of at most `max_width` columns (ids whole). Hangul counts two columns, so Korean names and memos
    line up in a terminal (pandas' to_string counts one per character and right-aligns text)."""
    if not rows:
        return ""
    cols = list(rows[0])
    limit = [10**6 if c in WHOLE else max_width for c in cols]
    cells = [
        [clip("" if r.get(c) is None else str(r.get(c)), n) for c, n in zip(cols, limit, strict=True)]
        for r in rows
    ]
    numeric = [all(NUMBER_LIKE.fullmatch(row[i]) for row in cells) for i in range(len(cols))]
    widths = [max(width(c), *(width(row[i]) for row in cells)) for i, c in enumerate(cols)]

    def line(values: list[str]) -> str:
        padded = [
            " " * (w - width(v)) + v if num else v + " " * (w - width(v))
            for v, w, num in zip(values, widths, numeric, strict=True)
        ]
        return "  ".join(padded).rstrip()

    return "\n".join([line(cols), *(line(row) for row in cells)])


def plain(value: Any) -> Any:
    """A value for json.dumps: numpy scalars as Python numbers, NaN as null."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, str | bytes):  # numpy scalar
        value = value.item()
    if isinstance(value, float) and value != value:
        return None
    return value


def code_text(code: dict[str, Any]) -> str:
    """category(polarity), with the other directions its sentences carry: budget(success+obstacle)."""
    return f"{code['category']}({'+'.join([code['polarity'], *(code.get('also') or {})])})"


SENTENCE_DIRECTIONS = (
    "success+obstacle: coded success, and a sentence of the passage reads obstacle (the matrix counts "
    "the passage under both)"
)
