"""What every `kb` command shares: the settings of this run and one-line errors.

Its own module so that the command modules (main, io_commands, review_commands, team_commands)
import it and kb.cli.main imports them: no module imports back the one that registers it.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

import typer

from kb.errors import KbError
from kb.settings import Settings


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
