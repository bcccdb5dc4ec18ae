"""`kb reviews export|import|backup`: the coders' decision log in and out of its SQLite file."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from kb.cli.main import State, friendly
from kb.errors import ReviewError

reviews_app = typer.Typer(
    help="Export, import (merge) and back up coders' review decisions.", no_args_is_help=True
)


def _store(check_categories: bool = False):  # noqa: ANN202 - ReviewStore, imported lazily
    from kb.review.decisions import open_store

    valid = None
    if check_categories and State.settings.codebook_path.exists():
        from kb.coding.codebook import load_codebook

        valid = load_codebook(State.settings.codebook_path).ids
    return open_store(State.settings.reviews_db, valid_categories=valid)


@reviews_app.command("export")
@friendly
def export_cmd(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="JSONL file (default: stdout).")
    ] = None,
) -> None:
    """Write every decision (oldest first, with coder and time) as JSON lines."""
    from kb.review.transfer import write_export

    store = _store()
    if output is None:
        n = write_export(store, sys.stdout)
    else:
        from kb.fileio import atomic_open

        output.parent.mkdir(parents=True, exist_ok=True)
        try:
            with atomic_open(output, "w") as fh:
                n = write_export(store, fh)
        except OSError as exc:
            raise ReviewError(f"cannot write {output}: {exc.strerror or exc}") from None
    typer.echo(f"exported {n} decisions from {store.path}", err=True)


@reviews_app.command("import")
@friendly
def import_cmd(
    files: Annotated[list[Path], typer.Argument(help="JSONL files written by `kb reviews export`.")],
) -> None:
    """Merge decisions from other coders' exports; decisions already here are skipped."""
    from kb.review.backup import backup_reviews
    from kb.review.transfer import import_files

    store = _store(check_categories=True)
    backup_reviews(State.settings, reason="import")
    read, added = import_files(store, files)
    typer.echo(f"read {read} decisions, {added} new, {read - added} already present → {store.path}")


@reviews_app.command("backup")
@friendly
def backup_cmd() -> None:
    """Snapshot the review database now (SQLite online backup) into its backups folder."""
    from kb.review.backup import backup_reviews

    path = backup_reviews(State.settings, reason="manual", force=True)
    missing = f"no backup: {State.settings.reviews_db} missing or KB_REVIEWS_BACKUPS=0"
    typer.echo(str(path) if path else missing)


def register(app: typer.Typer) -> None:
    app.add_typer(reviews_app, name="reviews")
