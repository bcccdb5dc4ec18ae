""" "Retrain now" while a build (the background fine-tune after `make app`) holds the build lock:
the review page says so and keeps the button off; decisions made meanwhile are stored; a build
that takes the lock between drawing and clicking leaves the store as it was (AppTest, a real
lock held by this process, the small real-text knowledge base).

Before this, the click during the background build opened a "retraining …" box that ended in a
BuildLocked error telling the coder to run `kb build`."""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

from streamlit.testing.v1 import AppTest

from kb import background
from kb.store.generations import current_name
from kb.store.locking import build_lock

ROOT = Path(__file__).resolve().parent.parent


def _review_page() -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180).run()
    at.switch_page("kb/ui/review_page.py").run()
    at.text_input(key="rv_coder_input").input("park")
    at.button[0].click().run()  # the coder-name form
    _no_errors(at)
    return at


def _no_errors(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def _decisions(data: Path) -> list[tuple]:
    with sqlite3.connect(data / "reviews.sqlite") as con:
        return con.execute("SELECT coder, passage_id, category, action FROM decisions").fetchall()


def _accept_first(at: AppTest) -> tuple[str, str]:
    pid = at.session_state["review_pid"]
    accept = next(b for b in at.button if b.key and b.key.startswith(f"acc_{pid}_"))
    accept.click().run()
    _no_errors(at)
    return pid, accept.key.removeprefix(f"acc_{pid}_")


def test_retrain_is_off_with_the_reason_while_the_background_build_runs(data_dir: Path) -> None:
    with build_lock(data_dir, "kb background build"):
        background.write_status(
            data_dir, state="running", pid=os.getpid(), started=time.time() - 180,
            stage="[code] fine-tuning the coder (e5) and re-coding every passage …",
        )  # fmt: skip
        at = _review_page()
        button = at.sidebar.button(key="rv_retrain")
        assert button.disabled
        said = " ".join(i.value for i in at.sidebar.info)
        assert "백그라운드에서 학습 중" in said and "3 min so far" in said and "about 4 min left" in said
        assert "결정은 지금도 저장" in said
        pid, category = _accept_first(at)  # reviewing goes on; the decision is stored at once
        assert ("park", pid, category, "accept") in _decisions(data_dir)
        assert at.sidebar.button(key="rv_retrain").disabled
    background.write_status(data_dir, state="done", pid=os.getpid(), finished=time.time())
    at.run()  # the build is done: the button is back, the message gone
    _no_errors(at)
    assert not at.sidebar.button(key="rv_retrain").disabled
    assert not any("재학습할 수 없습니다" in i.value for i in at.sidebar.info)


def test_any_build_holding_the_lock_turns_retrain_off(data_dir: Path) -> None:
    with build_lock(data_dir, "kb build"):
        at = _review_page()
        assert at.sidebar.button(key="rv_retrain").disabled
        assert any("다른 구축이 진행 중" in i.value and "kb build" in i.value for i in at.sidebar.info)


def test_a_build_that_takes_the_lock_first_leaves_everything_as_it_was(data_dir: Path) -> None:
    """The click reruns the page, which checks the lock again before retraining."""
    at = _review_page()
    pid, category = _accept_first(at)
    generation = current_name(data_dir)
    assert not at.sidebar.button(key="rv_retrain").disabled
    with build_lock(data_dir, "kb background build"):  # taken after the page was drawn
        at.sidebar.button(key="rv_retrain").click().run()
        assert not at.exception, [e.value for e in at.exception]
        assert not at.error, [e.value for e in at.error]
        assert any("다른 구축이 진행 중" in i.value for i in at.sidebar.info), [i.value for i in at.info]
    assert current_name(data_dir) == generation  # no new generation, nothing half-written
    assert ("park", pid, category, "accept") in _decisions(data_dir)
    assert not any("재학습 완료" in s.value for s in at.success)
