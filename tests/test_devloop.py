"""The developer loop's own promises: plain `pytest` from the repo root works like `python -m pytest`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import bench.common  # noqa: F401 - not installed: importable only with the repo root on sys.path

ROOT = Path(__file__).resolve().parent.parent


def test_plain_pytest_imports_bench_and_this_checkout() -> None:
    """`pytest` (unlike `python -m pytest`) does not put the working directory on sys.path;
    pyproject's `pythonpath` must, or test modules importing bench/ (as this one does) fail to collect."""
    pytest_exe = Path(sys.executable).with_name("pytest")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run(
        [str(pytest_exe), "--collect-only", "-q", "-p", "no:cacheprovider", "tests/test_devloop.py"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "test_devloop.py::test_plain_pytest" in done.stdout
