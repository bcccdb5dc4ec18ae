"""Reading zip archives we did not make (.qdpx, .docx) without letting them exhaust memory.

The size on disk says nothing about what a zip expands to (a 199 KB .qdpx can hold 700 MB of
XML), and the sizes in its directory can lie. So members are read by streaming with a running
cap on the bytes actually decompressed, archives with too many members or with an absurd
compression ratio are refused before anything is inflated, and member names are only ever
looked up, never used as paths on disk.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from pathlib import Path

MAX_MEMBERS = 5_000
MAX_TOTAL = 256 * 1024 * 1024  # bytes all members together may decompress to
MAX_MEMBER = 128 * 1024 * 1024  # bytes one member may decompress to
MAX_RATIO = 200  # uncompressed / compressed, checked for members over RATIO_FLOOR
RATIO_FLOOR = 1024 * 1024
CHUNK = 1 << 16

ErrorFactory = Callable[[str], Exception]


class ZipLimits:
    """An open archive whose members are read under a shared decompression budget."""

    def __init__(self, path: str | Path, error: ErrorFactory, *, total: int = MAX_TOTAL) -> None:
        self.path, self.error, self.budget = Path(path), error, total
        try:
            self.zf = zipfile.ZipFile(self.path)
            infos = self.zf.infolist()
        except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
            raise error(f"{self.path.name} is not a readable zip archive ({exc})") from exc
        if len(infos) > MAX_MEMBERS:
            self.zf.close()
            raise error(f"{self.path.name} has {len(infos)} members (limit {MAX_MEMBERS}); not a real export")
        for info in infos:
            if info.file_size > RATIO_FLOOR and info.file_size > MAX_RATIO * max(info.compress_size, 1):
                self.zf.close()
                raise error(
                    f"{self.path.name}: member compresses {info.file_size // max(info.compress_size, 1)}:1 "
                    f"(limit {MAX_RATIO}:1); refusing a possible zip bomb"
                )
        self.names = {i.filename: i for i in infos if not i.is_dir()}

    def __enter__(self) -> ZipLimits:
        return self

    def __exit__(self, *exc: object) -> None:
        self.zf.close()

    def find(self, name: str) -> str | None:
        """The member called `name` (case-insensitive), or None."""
        lower = name.lower()
        return next((n for n in self.names if n.lower() == lower), None)

    def read(self, name: str, cap: int = MAX_MEMBER) -> bytes:
        """A member's bytes, decompressed in chunks; refused as soon as it exceeds a cap."""
        info = self.names.get(name)
        if info is None:
            raise self.error(f"{self.path.name} has no member {name!r}")
        limit = min(cap, self.budget)
        out = bytearray()
        try:
            with self.zf.open(info) as fh:
                while chunk := fh.read(CHUNK):
                    out += chunk
                    if len(out) > limit:
                        mb = limit // (1024 * 1024)
                        raise self.error(f"{self.path.name}: {name!r} decompresses to more than {mb} MB")
        except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError) as exc:
            raise self.error(f"{self.path.name}: cannot decompress {name!r} ({exc})") from exc
        except RuntimeError as exc:  # encrypted member
            raise self.error(f"{self.path.name}: {name!r} is encrypted ({exc})") from exc
        self.budget -= len(out)
        return bytes(out)

    def scan(self) -> int:
        """Decompress every member once (discarding the bytes) to prove the archive stays in budget."""
        total = 0
        for name in self.names:
            total += len(self.read(name))
        return total
