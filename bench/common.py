"""Shared bench helpers: machine facts, timing, and writing a markdown fragment per bench."""

from __future__ import annotations

import datetime as dt
import os
import platform
import resource
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FRAGMENTS = ROOT / "docs" / "bench"


def machine() -> str:
    mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    cpu = platform.processor() or platform.machine()
    return f"{os.cpu_count()} cores, {mem_gb:.0f} GiB RAM, {cpu}, Python {sys.version.split()[0]}"


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def write_fragment(name: str, title: str, command: str, body: str) -> Path:
    """docs/bench/<name>.md: the numbers, the command that produced them, when and where."""
    FRAGMENTS.mkdir(parents=True, exist_ok=True)
    path = FRAGMENTS / f"{name}.md"
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    text = f"## {title}\n\nCommand: `{command}`  \nRun: {stamp} on {machine()}\n\n{body.strip()}\n"
    path.write_text(text, encoding="utf-8")
    print(text)
    return path


def md_table(rows: list[dict], columns: list[str]) -> str:
    def fmt(v: object) -> str:
        return f"{v:.3f}" if isinstance(v, float) else str(v)

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(fmt(r.get(c, "")) for c in columns) + " |" for r in rows]
    return "\n".join(lines)
