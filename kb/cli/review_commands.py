"""`kb reviews export|import|backup`: the coders' decision log in and out of its SQLite file."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from kb.cli.common import State, friendly

reviews_app = typer.Typer(
    help="Export, import (merge) and back up coders' review decisions.", no_args_is_help=True
)


@reviews_app.command("export")
@friendly
def export_cmd(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="JSONL file (default: stdout).")
    ] = None,
) -> None:
    """Write every decision (oldest first, with coder and time) as JSON lines."""
    from kb import api

    n, db = api.export_reviews(output or sys.stdout, settings=State.settings)
    typer.echo(f"exported {n} decisions from {db}", err=True)


@reviews_app.command("import")
@friendly
def import_cmd(
    files: Annotated[list[Path], typer.Argument(help="JSONL files written by `kb reviews export`.")],
) -> None:
    """Merge decisions from other coders' exports; decisions already here are skipped."""
    from kb import api

    read, added, db = api.import_reviews(files, settings=State.settings)
    typer.echo(f"read {read} decisions, {added} new, {read - added} already present → {db}")


@reviews_app.command("backup")
@friendly
def backup_cmd() -> None:
    """Snapshot the review database now (SQLite online backup) into its backups folder."""
    from kb import api

    path = api.backup_reviews(settings=State.settings)
    missing = f"no backup: {State.settings.reviews_db} missing or KB_REVIEWS_BACKUPS=0"
    typer.echo(str(path) if path else missing)


def register(app: typer.Typer) -> None:
    app.add_typer(reviews_app, name="reviews")
