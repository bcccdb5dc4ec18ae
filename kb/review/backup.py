"""Rotating copies of the review database, made with SQLite's online backup API.

The backup API copies a consistent snapshot while coders keep writing (no file copy of a WAL
database can promise that). A backup is skipped when the newest one already holds the same
decisions (the log is append-only, so the same newest decision id means the same log).
"""

from __future__ import annotations

import os
import re
import sqlite3
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from kb.errors import ReviewError
from kb.fileio import fsync_dir
from kb.settings import Settings

_NAME = re.compile(r"^reviews-(\d{8}T\d{6}\d*Z)-([a-z0-9-]+)-d(\d+)\.sqlite$")
BUSY_TIMEOUT_S = 10.0


def _newest_id(con: sqlite3.Connection) -> int:
    try:
        return int(con.execute("SELECT COALESCE(MAX(id), 0) FROM decisions").fetchone()[0])
    except sqlite3.OperationalError:  # no decisions table yet
        return 0


def backups(directory: Path) -> list[Path]:
    """Backups in `directory`, oldest first."""
    if not directory.is_dir():
        return []
    return sorted((p for p in directory.iterdir() if _NAME.match(p.name)), key=lambda p: p.name)


def backup_db(db: Path, directory: Path, keep: int, reason: str, *, force: bool = False) -> Path | None:
    """Snapshot `db` into `directory` and keep the newest `keep` snapshots; None when skipped."""
    if keep <= 0 or not db.exists():
        return None
    directory.mkdir(parents=True, exist_ok=True)
    try:
        src = sqlite3.connect(db, timeout=BUSY_TIMEOUT_S)
    except sqlite3.Error as exc:
        raise ReviewError(f"cannot open {db} for a backup: {exc}") from exc
    try:
        newest = _newest_id(src)
        existing = backups(directory)
        if not force and existing and int(_NAME.match(existing[-1].name).group(3)) == newest:
            return None
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        slug = re.sub(r"[^a-z0-9-]+", "-", reason.lower()).strip("-") or "manual"
        final = directory / f"reviews-{stamp}-{slug}-d{newest}.sqlite"
        fd, tmp = tempfile.mkstemp(prefix=".reviews-", suffix=".sqlite", dir=directory)
        os.close(fd)
        try:
            dst = sqlite3.connect(tmp)
            try:
                src.backup(dst)
                dst.execute("PRAGMA journal_mode = DELETE")  # one self-contained file
            finally:
                dst.close()
            with open(tmp, "rb") as fh:
                os.fsync(fh.fileno())
            os.replace(tmp, final)
            fsync_dir(directory)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except sqlite3.Error as exc:
        raise ReviewError(f"backup of {db} failed: {exc}") from exc
    finally:
        src.close()
    for old in backups(directory)[:-keep]:
        old.unlink(missing_ok=True)
    return final


def backup_reviews(settings: Settings, reason: str = "manual", *, force: bool = False) -> Path | None:
    """Back up the settings' review database (before a build, a schema change, or by hand)."""
    return backup_db(
        settings.reviews_db, settings.reviews_backup_dir, settings.reviews_backups, reason, force=force
    )
