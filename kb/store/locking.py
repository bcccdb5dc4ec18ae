"""One build at a time per data directory: an OS file lock on `<data_dir>/.lock`.

The kernel drops the lock when its holder exits, however it exits (SIGKILL included), so a
crashed build never leaves a stale lock behind. The holder's PID is written into the file
so the second build can say who holds it.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from kb.errors import BuildLocked

LOCK_FILE = ".lock"


@contextmanager
def build_lock(data_dir: Path, what: str = "kb build") -> Iterator[None]:
    """Hold the data directory's lock for the block, or raise BuildLocked at once."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / LOCK_FILE
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip() or "another process"
            raise BuildLocked(
                f"{data_dir} is being built by {holder}; wait for it to finish, then run `kb build` again"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} ({what})".encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def holder(data_dir: Path) -> str | None:
    """Who holds the build lock now ('pid N (...)'), or None when no build runs."""
    path = data_dir / LOCK_FILE
    if not path.exists():
        return None
    fd = os.open(path, os.O_RDWR)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return os.pread(fd, 200, 0).decode("utf-8", "replace").strip() or "another process"
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)
