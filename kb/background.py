"""The fine-tuned coder trains after the first search: a detached build with a status file.

A fresh install's first build (the app's) codes with the fast coder – logistic models over
sentence embeddings, no e5 fine-tuning – so the search page opens in about two minutes on 2
cores. The app then starts `python -m kb.background`: a normal build (the same stages as
`kb build`, fine-tuning included) in its own process group, niced, logging to
`<data_dir>/background-build.log`. The build lock (`kb.store.locking`) keeps it to one at a time;
it records what it does in `<data_dir>/background-build.json` (replaced atomically) for the app's
status line, and its new generation replaces the fast codes like any build's (readers reload when
`CURRENT` switches). The fast coder's manifest says `kind: fast`, so the app knows the job is
still owed after a restart, and the full build retrains instead of reusing it (its training
stamp includes the fine-tuning epochs). A quick retrain from the review page saves a coder of no
kind: nothing starts in the background then (the next `kb build` fine-tunes).
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from kb.fileio import read_record, write_atomic
from kb.settings import ROOT, Settings, get_settings

STATUS_FILE = "background-build.json"
LOG_FILE = "background-build.log"
FAST, FINE_TUNED = "fast", "fine-tuned"
START_GRACE_S = 180  # a child that has not taken the build lock by then has died
MAX_STATUS_BYTES = 64 << 10
NICE = 10  # the app's searches come first on 2 cores
_SPAWN_LOCK = threading.Lock()
STAGE_NOTES = {  # what the builder's stage messages mean in this build, for the status line
    "[segment] …": "[segment] checking the corpus for changes …",
    "[code] …": "[code] fine-tuning the coder (e5) and re-coding every passage …",
    "[index] …": "[index] updating the search index with the new codes …",
}
FIRST_BUILD_NOTE = (
    "빠른 코더로 먼저 구축합니다 (fast coder first, about a minute on 2 cores); "
    "미세조정 코더는 검색을 여는 동안 백그라운드에서 학습되고, 끝나면 코드가 교체됩니다 "
    "(the fine-tuned coder then trains in the background and its codes replace these)."
)


def coder_kind_of(epochs: int) -> str:
    """What `kb.coding.build.train_coder` records in the model manifest."""
    return FINE_TUNED if epochs > 0 else FAST


# ----- status file ------------------------------------------------------------------------------
def status_path(data_dir: Path, status_file: str = STATUS_FILE) -> Path:
    return Path(data_dir) / status_file


def read_status(data_dir: Path, status_file: str = STATUS_FILE) -> dict[str, Any] | None:
    """The last status written, or None (none, or not ours: the file is data, read defensively)."""
    record = read_record(status_path(data_dir, status_file), MAX_STATUS_BYTES)
    return record if record is not None and isinstance(record.get("state"), str) else None


def write_status(data_dir: Path, status_file: str = STATUS_FILE, **record: Any) -> dict[str, Any]:
    """Replace the status file atomically with `record` plus the time it was written."""
    record = {**record, "updated": time.time()}
    write_atomic(status_path(data_dir, status_file), json.dumps(record, ensure_ascii=False))
    return record


# ----- what the current generation holds ---------------------------------------------------------
def coder_kind(settings: Settings) -> str | None:
    """`fast` or `fine-tuned` for the current generation's coder; None when unknown.

    Reads only the manifest's `info` (for display and scheduling); loading the model still
    verifies every file (`kb.coding.model_io`)."""
    from kb.store.generations import current_dir

    path = current_dir(settings.data_dir) / "coder" / "manifest.json"
    try:
        if path.stat().st_size > MAX_STATUS_BYTES:
            return None
        info = json.loads(path.read_text(encoding="utf-8")).get("info")
    except (OSError, ValueError, AttributeError):
        return None
    kind = info.get("kind") if isinstance(info, dict) else None
    return kind if kind in (FAST, FINE_TUNED) else None


def coder_plan(settings: Settings) -> str:
    """One line for `kb build`: which coder this build trains and what that costs."""
    epochs = settings.coder_tune_epochs
    if epochs <= 0:
        return "coder: fast (logistic models, no e5 fine-tuning); `kb build` without --fast fine-tunes it"
    return (
        f"coder: fine-tuned (e5, {epochs} epochs; about 7 min on 2 cores when the codebook, training data "
        "or a fast coder call for training, else reused); `kb build --fast` skips the fine-tuning"
    )


def enabled(settings: Settings) -> bool:
    """Whether the app builds fast first and fine-tunes in the background."""
    return bool(settings.background_finetune) and settings.coder_tune_epochs > 0


def owed(settings: Settings) -> bool:
    """The current coder is the fast one and the settings ask for the fine-tuned one."""
    return enabled(settings) and coder_kind(settings) == FAST


def build_running(settings: Settings) -> str | None:
    """Who holds the data directory's build lock ('pid N (…)'), or None."""
    from kb.store.locking import holder

    return holder(settings.data_dir)


# ----- starting it ------------------------------------------------------------------------------
def child_env(settings: Settings) -> dict[str, str]:
    """The environment that makes a child process see exactly `settings`."""
    env = dict(os.environ)
    for f in fields(Settings):
        env[f.metadata["env"]] = str(getattr(settings, f.name))
    return env


def start(settings: Settings | None = None, *, retry: bool = False) -> bool:
    """Start the background build when it is owed and none runs; True if one was started.

    A failed attempt for the current generation is not repeated unless `retry`."""
    settings = settings or get_settings()
    with _SPAWN_LOCK:
        if not owed(settings) or build_running(settings):
            return False
        status = read_status(settings.data_dir) or {}
        if status.get("state") == "starting" and time.time() - status.get("started", 0) < START_GRACE_S:
            return False
        if (
            status.get("state") == "failed"
            and not retry
            and status.get("from") == current_generation(settings)
        ):
            return False
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        base = {"started": time.time(), "log": str(settings.data_dir / LOG_FILE)}
        base["from"] = current_generation(settings)
        write_status(settings.data_dir, state="starting", **base)  # before the child can write its own
        try:
            spawn(settings, "kb.background", settings.data_dir / LOG_FILE)
        except OSError as exc:
            error = _one_line(exc)
            write_status(settings.data_dir, state="failed", error=error, finished=time.time(), **base)
            return False
        return True


def spawn(settings: Settings, module: str, log_path: Path) -> None:
    """Run `python -m module` detached: its own session (it outlives the app, the app's Ctrl-C does
    not reach it), output to `log_path`, reaped by a thread. OSError when it cannot start."""
    with log_path.open("w", encoding="utf-8") as log:
        proc = subprocess.Popen(  # noqa: S603 - our own interpreter and module, no shell
            [sys.executable, "-m", module],
            cwd=ROOT,
            env=child_env(settings),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    threading.Thread(target=proc.wait, daemon=True, name=f"kb-reaper-{module}").start()


def current_generation(settings: Settings) -> str | None:
    """The generation the data folder serves now (the app reloads when it changes)."""
    from kb.store.generations import current_name

    return current_name(settings.data_dir)


# ----- what the app shows -----------------------------------------------------------------------
@dataclass(frozen=True)
class View:
    """The status line: `state` is training, starting, done, failed or interrupted."""

    state: str
    started: float | None = None
    finished: float | None = None
    stage: str = ""
    error: str = ""
    log: str = ""

    @property
    def active(self) -> bool:
        return self.state in ("starting", "training")

    def minutes(self, now: float | None = None) -> int:
        end = self.finished or now or time.time()
        return max(0, int((end - (self.started or end)) // 60))


def view(settings: Settings, done_for_s: float = 600.0) -> View | None:
    """What the app should say about the background build now (None: nothing to say)."""
    status = read_status(settings.data_dir) or {}
    state = status.get("state")
    common = view_fields(status)
    running = build_running(settings)
    if state == "running" and running:
        return View("training", **common)
    if state == "starting":
        if running or time.time() - (common["started"] or 0) < START_GRACE_S:
            return View("starting", **common)
    if state == "done":
        fresh = time.time() - (common["finished"] or 0) < done_for_s
        return View("done", **common) if fresh else None
    if state == "failed":
        return View("failed", **common) if owed(settings) else None
    if owed(settings):  # interrupted (killed, machine restarted) or never started
        return View("interrupted" if state in ("running", "starting") else "owed", **common)
    return None


def view_fields(status: dict[str, Any]) -> dict[str, Any]:
    """A status record's fields a `View` shows, typed and cut to size (the file is data)."""
    return {
        "started": _num(status.get("started")),
        "finished": _num(status.get("finished")),
        "stage": str(status.get("stage") or "")[:300],
        "error": str(status.get("error") or "")[:500],
        "log": str(status.get("log") or ""),
    }


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) else None


# ----- the child --------------------------------------------------------------------------------
def run(settings: Settings | None = None) -> int:
    """The background build itself: a full build (fine-tuned coder) with status updates.

    Exit 0 also when another build holds the lock (that one does the work) or nothing is owed."""
    from kb.errors import BuildLocked

    settings = settings or get_settings()
    data_dir = settings.data_dir
    started = time.time()
    base = {"pid": os.getpid(), "started": started, "log": str(data_dir / LOG_FILE)}
    base["from"] = current_generation(settings)
    if not owed(settings):
        print("nothing to do: the current coder is not the fast one", flush=True)
        write_status(data_dir, state="skipped", finished=time.time(), stage="nothing owed", **base)
        return 0

    def log(message: str) -> None:
        # the builder's first message comes after it took the build lock: from here on we own the status
        print(message, flush=True)
        write_status(data_dir, state="running", stage=STAGE_NOTES.get(message, message), **base)

    epochs = settings.coder_tune_epochs
    print(f"background build: fine-tuned coder ({epochs} epochs) for {data_dir}", flush=True)
    try:
        from kb import api

        report = api.build(settings, progress=False, log=log)
    except BuildLocked as exc:  # another build runs; the app starts this one again if still owed
        print(f"skipped: {exc}", flush=True)
        if (read_status(data_dir) or {}).get("state") != "running":  # not a twin that got the lock
            write_status(data_dir, state="skipped", finished=time.time(), stage=_one_line(exc), **base)
        return 0
    except BaseException as exc:
        write_status(data_dir, state="failed", finished=time.time(), error=_one_line(exc), **base)
        raise
    usage = resource.getrusage(resource.RUSAGE_SELF)
    write_status(
        data_dir, state="done", finished=time.time(), seconds=round(report.seconds, 1),
        cpu_seconds=round(usage.ru_utime + usage.ru_stime, 1), generation=current_generation(settings),
        coder=coder_kind(settings), **base,
    )  # fmt: skip
    print(f"done in {report.seconds:.0f}s: generation {current_generation(settings)}", flush=True)
    return 0


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:500]


def run_detached(job: Callable[[], int]) -> None:
    """A detached job's entry: below the app's priority (its searches come first on 2 cores), then
    the job, whose return value is the process's exit status."""
    try:
        os.nice(NICE)
    except OSError:
        pass
    sys.exit(job())


def main() -> None:
    run_detached(run)


if __name__ == "__main__":
    main()
