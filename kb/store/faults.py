"""Deterministic crash points for the fault-injection test: `KB_FAULT_POINT=<name>:<n>`.

`checkpoint(name)` kills the process with SIGKILL the n-th time the named point is reached
(n counts from 1). Unset, it is one dictionary lookup, so the hooks can stay in the build.
"""

from __future__ import annotations

import os
import signal

_ENV = "KB_FAULT_POINT"
_counts: dict[str, int] = {}


def _target() -> tuple[str, int] | None:
    raw = os.environ.get(_ENV)
    if not raw:
        return None
    name, _, n = raw.rpartition(":")
    return (name, int(n)) if name and n.isdigit() else (raw, 1)


def checkpoint(name: str) -> None:
    """Die here (SIGKILL, no cleanup) when KB_FAULT_POINT names this point and its count is reached."""
    target = _target()
    if target is None or target[0] != name:
        return
    _counts[name] = _counts.get(name, 0) + 1
    if _counts[name] == target[1]:
        os.kill(os.getpid(), signal.SIGKILL)
