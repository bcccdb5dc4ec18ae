"""Index what was added to the corpus since the last build, in the background.

The app's 자료 추가 page adds transcripts with `kb.add`, then starts `python -m kb.update_job`: a
build that keeps the saved coder (`kb.build(keep_coder=True)`: only the new documents are
segmented, coded and embedded), detached and niced like `kb.background`, with a status file of
its own so that it never overwrites the fine-tuned coder's. While another build holds the data
directory (the fine-tuned coder training) it waits and says so. After its build it looks again,
so a transcript added meanwhile is indexed in a second round. Nothing starts it on its own: a
corpus ahead of the knowledge base (`pending`, e.g. after `kb add` without `kb build`) is shown
in the app with a button.
"""

from __future__ import annotations

import os
import threading
import time

from kb.background import (
    START_GRACE_S,
    View,
    current_generation,
    read_status,
    run_detached,
    spawn,
    view_fields,
    write_status,
)  # fmt: skip
from kb.settings import Settings, get_settings
from kb.store.freshness import Pending, pending

STATUS_FILE = "background-update.json"
LOG_FILE = "background-update.log"
WAIT_S = 5.0  # between looks at the build lock while another build runs
MAX_WAIT_S = 6 * 3600
MAX_ROUNDS = 3
ACTIVE = ("starting", "waiting", "running")
_SPAWN_LOCK = threading.Lock()


# ----- starting it ------------------------------------------------------------------------------
def _alive(status: dict) -> bool:
    """An update job that is starting, waiting or building and whose process still exists."""
    if status.get("state") not in ACTIVE:
        return False
    pid = status.get("pid")
    if not isinstance(pid, int):  # written by the app before the child started
        return time.time() - float(status.get("started") or 0) < START_GRACE_S
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def start(settings: Settings | None = None) -> bool:
    """Start the update job unless one is running already (it indexes what is pending when it
    gets to build, a file added meanwhile included); True if one was started."""
    settings = settings or get_settings()
    with _SPAWN_LOCK:
        if _alive(read_status(settings.data_dir, STATUS_FILE) or {}):
            return False
        base = {"started": time.time(), "log": str(settings.data_dir / LOG_FILE)}
        write_status(settings.data_dir, STATUS_FILE, state="starting", **base)
        try:
            spawn(settings, "kb.update_job", settings.data_dir / LOG_FILE)
        except OSError as exc:
            write_status(settings.data_dir, STATUS_FILE, state="failed", error=str(exc)[:500], **base)
            return False
        return True


# ----- what the app shows -----------------------------------------------------------------------
def view(settings: Settings, done_for_s: float = 600.0) -> View | None:
    """The update job's status line (None: nothing to say). `stage` says what it indexes."""
    status = read_status(settings.data_dir, STATUS_FILE) or {}
    state = status.get("state")
    common = view_fields(status)
    if state in ACTIVE:
        return View(state if _alive(status) else "interrupted", **common)
    if state == "done" and time.time() - (common["finished"] or 0) < done_for_s:
        return View("done", **common)
    if state == "failed":
        return View("failed", **common)
    return None


# ----- the child --------------------------------------------------------------------------------
def run(settings: Settings | None = None) -> int:
    """Build (keeping the coder) until nothing is pending, waiting for any other build first."""
    settings = settings or get_settings()
    data_dir = settings.data_dir
    base = {"pid": os.getpid(), "started": time.time(), "log": str(data_dir / LOG_FILE)}
    asked: dict[str, None] = {}
    dropped: dict[str, None] = {}
    seen: Pending | None = None
    try:
        for _ in range(MAX_ROUNDS):
            todo = pending(settings)
            if not todo or todo == seen:  # built and still listed: a document that yields no passage
                break
            seen = todo
            asked.update(dict.fromkeys(todo.added))
            dropped.update(dict.fromkeys(todo.removed))
            _build_when_free(settings, _what(todo), base)
    except BaseException as exc:
        error = f"{type(exc).__name__}: {str(exc).strip()[:400]}"
        write_status(data_dir, STATUS_FILE, state="failed", error=error, finished=time.time(), **base)
        raise
    left = pending(settings)
    indexed = [d for d in asked if d not in left.added]
    gone = [d for d in dropped if d not in left.removed]
    said = [f"문서 {len(indexed)}개 색인 (indexed {len(indexed)})"] if asked else []
    said += [f"삭제 {len(gone)}개 반영 (removed {len(gone)})"] if dropped else []
    stage = " · ".join(said) or "바뀐 것 없음 (nothing to index)"
    if left.added:
        stage += f"; 구절이 없는 문서 (no passages): {', '.join(left.added)}"
    write_status(
        data_dir, STATUS_FILE, state="done", finished=time.time(), stage=stage, added=indexed, removed=gone,
        generation=current_generation(settings), **base,
    )  # fmt: skip
    print(f"done: {stage}; generation {current_generation(settings)}", flush=True)
    return 0


def _what(todo: Pending) -> str:
    parts = [f"{len(todo.added)}개 추가 (added)"] if todo.added else []
    parts += [f"{len(todo.removed)}개 삭제 (removed)"] if todo.removed else []
    return "문서 " + ", ".join(parts)


def _build_when_free(settings: Settings, what: str, base: dict) -> None:
    from kb import api
    from kb.background import build_running
    from kb.errors import BuildLocked

    def log(message: str) -> None:
        print(message, flush=True)
        write_status(settings.data_dir, STATUS_FILE, state="running", stage=f"{what} · {message}", **base)

    waited = 0.0
    while True:
        try:
            api.build(settings, progress=False, log=log, keep_coder=True)
            return
        except BuildLocked:
            if waited > MAX_WAIT_S:
                raise
            holder = build_running(settings) or "another build"
            stage = f"{what} · 다른 구축이 끝나기를 기다리는 중 (waiting for {holder})"
            write_status(settings.data_dir, STATUS_FILE, state="waiting", stage=stage, **base)
            time.sleep(WAIT_S)
            waited += WAIT_S


if __name__ == "__main__":
    run_detached(run)
