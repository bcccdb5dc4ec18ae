"""Shared bench helpers: machine facts, timing, and writing a markdown fragment per bench."""

from __future__ import annotations

import datetime as dt
import os
import platform
import resource
import subprocess
import sys
import time
import urllib.request
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


def wait_until_up(url: str, proc: subprocess.Popen, timeout: float, poll: float = 0.2) -> None:
    """Until `url` answers 200 (a server we started); RuntimeError if `proc` exits or time runs out."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        if proc.poll() is not None:
            raise RuntimeError(f"{url}: the server exited with {proc.returncode}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{url}: no answer within {timeout:.0f} s")
        time.sleep(poll)


def stop(proc: subprocess.Popen, timeout: float = 15) -> None:
    """Terminate a server we started; kill it if it does not exit in `timeout` seconds."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)
