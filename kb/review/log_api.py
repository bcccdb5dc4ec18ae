"""The review log as a whole, for kb.api: export it, merge other coders' exports, back it up.

`kb reviews export|import|backup` and notebooks call these through kb.api; the JSONL format and its
checks are in kb.review.transfer, the SQLite backup in kb.review.backup.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TextIO

from kb.errors import ReviewError
from kb.fileio import atomic_open
from kb.review.backup import backup_reviews
from kb.review.decisions import open_store
from kb.review.store import ReviewStore
from kb.review.transfer import import_files, write_export
from kb.settings import Settings


def review_store(settings: Settings, check_categories: bool = False) -> ReviewStore:
    """The settings' review database; with `check_categories`, decisions must name codebook categories."""
    valid = None
    if check_categories and settings.codebook_path.exists():
        from kb.coding.codebook import load_codebook

        valid = load_codebook(settings.codebook_path).ids
    return open_store(settings.reviews_db, valid_categories=valid)


def export_log(settings: Settings, output: Path | TextIO) -> tuple[int, Path]:
    """Every decision (oldest first, with coder and time) as JSON lines into a stream, or a file
    replaced atomically; (decisions written, the review database)."""
    store = review_store(settings)
    if not isinstance(output, Path):
        return write_export(store, output), store.path
    output.parent.mkdir(parents=True, exist_ok=True)
    try:
        with atomic_open(output, "w") as fh:
            n = write_export(store, fh)
    except OSError as exc:
        raise ReviewError(f"cannot write {output}: {exc.strerror or exc}") from None
    return n, store.path


def import_logs(settings: Settings, files: Iterable[Path]) -> tuple[int, int, Path]:
    """Merge decisions exported elsewhere (a backup first); (read, new here, the review database)."""
    store = review_store(settings, check_categories=True)
    backup_reviews(settings, reason="import")
    read, added = import_files(store, files)
    return read, added, store.path


def backup_now(settings: Settings) -> Path | None:
    """A snapshot of the review database now; None when there is none or backups are off."""
    return backup_reviews(settings, reason="manual", force=True)
