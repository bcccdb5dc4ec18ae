"""Built stores as generations: each build writes a new folder, then switches one pointer.

Layout under the data directory::

    CURRENT                  name of the generation readers use ("g000007"), replaced atomically
    generations/g000007/     passages.jsonl, codes.jsonl, bm25/, coder/, build_report.jsonl
    generations/g000006/     the previous generation, kept so a reader that opened it keeps working
    generations/.build-*/    a build in progress (removed by the next build if that one crashed)

A build seeds its folder from the current generation (hard links: every writer replaces files,
never rewrites them in place), runs its stages there, fsyncs it, renames it to its final name
and only then replaces `CURRENT`. A crash at any point leaves `CURRENT` naming a complete
generation. Files that sit directly in the data directory (the layout before generations, or
written there by a tool such as the sample builder) are staged input: the next build takes
them in and removes them after the switch.
"""

from __future__ import annotations

import contextvars
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from kb.fileio import atomic_open, fsync_dir
from kb.settings import Settings
from kb.store.faults import checkpoint

POINTER = "CURRENT"
GENERATIONS = "generations"
BUILD_PREFIX = ".build-"
# What a generation holds; these names at the data directory's top level are staged input.
STORE_ITEMS = ("passages.jsonl", "codes.jsonl", "bm25", "coder", "build_report.jsonl")
COPY_BELOW = 1 << 20  # small files are copied, large ones hard-linked
_NAME = re.compile(r"^g(\d{6,})$")

# data dir -> generation folder being built in this context (the builder's stages write there)
_building: contextvars.ContextVar[dict[Path, Path] | None] = contextvars.ContextVar(
    "kb_building", default=None
)


def _key(data_dir: Path) -> Path:
    return Path(os.path.abspath(data_dir))


def current_name(data_dir: Path) -> str | None:
    """The generation `CURRENT` names, or None (never built with generations)."""
    try:
        name = (data_dir / POINTER).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    return name if _NAME.match(name) else None


def current_dir(data_dir: Path) -> Path:
    """Folder of the current generation; the data directory itself for the older layout."""
    name = current_name(data_dir)
    if name is not None and (data_dir / GENERATIONS / name).is_dir():
        return data_dir / GENERATIONS / name
    return data_dir


def store_dir(settings: Settings) -> Path:
    """Where this process reads and writes the built store: the generation being built (inside
    the builder) or the current one."""
    building = (_building.get() or {}).get(_key(settings.data_dir))
    return building if building is not None else current_dir(settings.data_dir)


@contextmanager
def building(settings: Settings, path: Path) -> Iterator[None]:
    """Within the block, `store_dir(settings)` is `path` (this thread / context only)."""
    token = _building.set({**(_building.get() or {}), _key(settings.data_dir): path})
    try:
        yield
    finally:
        _building.reset(token)


def _fsync_tree(root: Path) -> None:
    for dirpath, _, files in os.walk(root):
        for f in files:
            fd = os.open(os.path.join(dirpath, f), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        fsync_dir(Path(dirpath))


def _clone(src: Path, dst: Path) -> None:
    if src.is_dir():
        shutil.copytree(src, dst, copy_function=_link_or_copy, dirs_exist_ok=True)
    else:
        _link_or_copy(str(src), str(dst))


def _link_or_copy(src: str, dst: str) -> None:
    if os.path.getsize(src) >= COPY_BELOW:
        try:
            os.link(src, dst)
            return
        except OSError:
            pass
    shutil.copy2(src, dst)


def _numbers(data_dir: Path) -> list[int]:
    root = data_dir / GENERATIONS
    if not root.is_dir():
        return []
    return sorted(int(m.group(1)) for d in root.iterdir() if (m := _NAME.match(d.name)))


@dataclass
class Draft:
    """A generation being built: its temporary folder and what it started from."""

    data_dir: Path
    path: Path
    previous: str | None
    staged: list[str]


def begin(data_dir: Path) -> Draft:
    """A new build folder seeded from the current generation plus staged top-level files.

    Call with the build lock held: leftovers of crashed builds are removed here."""
    root = data_dir / GENERATIONS
    root.mkdir(parents=True, exist_ok=True)
    for stale in root.glob(BUILD_PREFIX + "*"):
        shutil.rmtree(stale, ignore_errors=True)
    path = Path(tempfile.mkdtemp(prefix=BUILD_PREFIX, dir=root))
    previous = current_name(data_dir)
    base = current_dir(data_dir)
    staged = [item for item in STORE_ITEMS if (data_dir / item).exists()]
    for item in STORE_ITEMS:
        src = data_dir / item if item in staged else base / item
        if src.exists() and (item in staged or base != data_dir):
            _clone(src, path / item)
    checkpoint("generation:seeded")
    return Draft(data_dir, path, previous, staged)


def commit(draft: Draft) -> str:
    """Make the draft the current generation; returns its name. Atomic: fsync, rename, switch."""
    _fsync_tree(draft.path)
    checkpoint("generation:synced")
    numbers = _numbers(draft.data_dir)
    name = f"g{(numbers[-1] + 1) if numbers else 1:06d}"
    final = draft.data_dir / GENERATIONS / name
    os.rename(draft.path, final)
    fsync_dir(final.parent)
    checkpoint("generation:renamed")
    write_pointer(draft.data_dir, name)
    checkpoint("generation:switched")
    return name


def write_pointer(data_dir: Path, name: str) -> None:
    with atomic_open(
        data_dir / POINTER, before_replace=lambda: checkpoint("generation:pointer-written")
    ) as fh:
        fh.write(name + "\n")


def abandon(draft: Draft) -> None:
    shutil.rmtree(draft.path, ignore_errors=True)


def kept(data_dir: Path, previous: str | None) -> list[str]:
    """The generations to keep: the current one and the one it replaced."""
    cur = current_name(data_dir)
    return [n for n in (cur, previous) if n and (data_dir / GENERATIONS / n).is_dir()]


def prune(data_dir: Path, keep: list[str], staged: list[str]) -> list[str]:
    """Remove generations not in `keep`, staged top-level inputs now taken in, and temp pointers."""
    removed = []
    root = data_dir / GENERATIONS
    for d in sorted(root.iterdir()) if root.is_dir() else []:
        if _NAME.match(d.name) and d.name not in keep:
            shutil.rmtree(d, ignore_errors=True)
            removed.append(d.name)
            checkpoint("generation:pruned-one")
    for item in staged:
        p = data_dir / item
        shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)
    for tmp in data_dir.glob(".CURRENT.*"):
        tmp.unlink(missing_ok=True)
    return removed


def describe(data_dir: Path) -> dict[str, object]:
    """Current generation and the kept ones (for `kb settings`-like reports and tests)."""
    return {
        "current": current_name(data_dir),
        "generations": [f"g{n:06d}" for n in _numbers(data_dir)],
        "pointer": json.dumps(str(data_dir / POINTER)),
    }
