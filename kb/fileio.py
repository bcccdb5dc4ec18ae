"""Atomic file writes and JSONL, in one place: every file kb writes is replaced, never rewritten in place.

`atomic_open` writes a temp file in the target's own folder (same file system, so the rename is
atomic), flushes and fsyncs it, `os.replace`s it over the target and fsyncs the folder, so after a
crash a reader finds either the old file or the new one, never half of one. On any error the temp
file is removed and the target is untouched.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

PRIVATE = 0o600  # owner only (mkstemp's default): stores, users files


def default_mode(path: Path) -> int:
    """An existing file's permissions, else what a plain `open()` gives (0666 minus the umask): exports."""
    try:
        return path.stat().st_mode & 0o7777
    except OSError:
        mask = os.umask(0)
        os.umask(mask)
        return 0o666 & ~mask


def fsync_dir(path: Path) -> None:
    """Make a rename or a new file in `path` durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def atomic_open(
    path: str | Path,
    mode: str = "w",
    *,
    perm: int = PRIVATE,
    before_replace: Callable[[], None] | None = None,
) -> Iterator[IO[Any]]:
    """A file handle whose content replaces `path` atomically when the block ends without error.

    `mode` is "w" (UTF-8 text, no newline translation) or "wb". `before_replace` runs after the
    data is synced and before the rename (a crash-test checkpoint). The parent folder must exist.
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_open mode must be 'w' or 'wb', not {mode!r}")
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, perm)
        text = {"encoding": "utf-8", "newline": ""} if mode == "w" else {}
        with os.fdopen(fd, mode, **text) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        if before_replace is not None:
            before_replace()
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def write_atomic(path: str | Path, data: bytes | str, *, perm: int = PRIVATE) -> Path:
    """Replace `path` with `data` (bytes, or str written as UTF-8) atomically."""
    path = Path(path)
    with atomic_open(path, "wb", perm=perm) as fh:
        fh.write(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def jsonl_line(record: Any) -> str:
    """One JSONL line: UTF-8 text as is (Hangul stays readable), no trailing spaces."""
    return json.dumps(record, ensure_ascii=False) + "\n"


def write_jsonl(path: str | Path, records: Iterable[Any], *, perm: int = PRIVATE) -> Path:
    """Replace `path` with one JSON record per line, atomically; creates the parent folder."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_open(path, "w", perm=perm) as fh:
        for rec in records:
            fh.write(jsonl_line(rec))
    return path


def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    """Every record of a JSONL file written by kb (blank lines skipped)."""
    with Path(path).open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def read_record(path: str | Path, max_bytes: int) -> dict[str, Any] | None:
    """A small JSON object kb wrote (a status, a timing), or None when there is none or the file is not
    one: such files are data, read defensively (size first, then the JSON, then its type)."""
    path = Path(path)
    try:
        if path.stat().st_size > max_bytes:
            return None
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None
