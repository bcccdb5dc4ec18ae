"""Sidebar status of the background fine-tuned build (`kb.background`).

While the fine-tuned coder trains, every page says so (since when, how long, which stage) and
that its codes will replace the fast coder's; a fragment polls the small status file and, when
the build's generation arrives, reruns the app so the pages load the new codes. The line also
starts the build when it is owed (an app restarted after the job was interrupted) and offers a
retry after a failure. Nothing here waits for the build.
"""

from __future__ import annotations

import time

import streamlit as st

from kb import background
from kb.settings import Settings, get_settings
from kb.ui.components import HOURGLASS, md_escape

POLL_S = 5.0


def show(s: Settings | None = None) -> None:
    """Render the status line in the sidebar (nothing when no background build is owed or recent)."""
    s = s or get_settings()
    if not background.enabled(s):
        return
    v = _view(s)
    if v is None:
        return
    with st.sidebar:
        st.fragment(_line, run_every=POLL_S if _polls(v) else None)(s, background.current_generation(s))


def _polls(v: background.View) -> bool:
    return v.active or v.state in ("owed", "interrupted")


def _view(s: Settings) -> background.View | None:
    """The current view, starting the build first when it is owed and nothing else builds."""
    v = background.view(s)
    if v is not None and v.state in ("owed", "interrupted") and background.start(s):
        v = background.view(s)
    return v


def _line(s: Settings, shown: str | None) -> None:
    if background.current_generation(s) != shown:  # a build switched generations: reload every page
        st.rerun()
    v = _view(s)
    if v is None:
        return
    since = time.strftime("%H:%M", time.localtime(v.started)) if v.started else "?"
    minutes = v.minutes()
    if v.state == "starting":
        st.info("미세조정 코더 학습을 시작합니다 (starting the fine-tuned coder's build) …", icon=HOURGLASS)
    elif v.state == "training":
        st.info(
            f"미세조정 코더 학습 중 · fine-tuned coder training since {since}, {minutes} min. "
            "지금 코드는 빠른 코더의 것이며, 학습이 끝나면 교체됩니다 (codes will be replaced).",
            icon=HOURGLASS,
        )
        if v.stage:
            st.caption(md_escape(v.stage))
    elif v.state == "done":
        st.success(
            f"미세조정 코더의 코드 사용 중 (fine-tuned codes in use; trained in {minutes} min)",
            icon=":material/check_circle:",
        )
    elif v.state == "failed":
        st.warning(f"미세조정 코더 학습 실패 (fine-tuned build failed): {md_escape(v.error)}")
        st.caption(f"log: {md_escape(v.log)}")
        if st.button("다시 시도 (retry)", key="bg_retry"):
            background.start(s, retry=True)
            st.rerun()
    else:  # owed but not started: another build holds the data directory
        holder = background.build_running(s)
        after = f"진행 중인 구축 다음에 (after the running build: {md_escape(holder)})" if holder else "곧"
        st.info(f"빠른 코더의 코드 (fast coder's codes); 미세조정 코더는 {after} 학습됩니다.")
