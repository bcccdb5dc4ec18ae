"""Sidebar status of the background builds: the fine-tuned coder (`kb.background`) and the
indexing of transcripts added in the app (`kb.update_job`).

While the fine-tuned coder trains, every page says so (since when, how long, which stage) and
that its codes will replace the fast coder's; while added transcripts are indexed, every page
says that too. A fragment polls the small status files and, when a build's generation arrives,
reruns the app so the pages load the new passages and codes. The fine-tuned line also starts
that build when it is owed (an app restarted after the job was interrupted) and offers a retry
after a failure. Nothing here waits for a build.
"""

from __future__ import annotations

import time

import streamlit as st

from kb import background, update_job
from kb.settings import Settings, get_settings
from kb.ui.components import HOURGLASS, md_escape

POLL_S = 5.0


def show(s: Settings | None = None) -> None:
    """Render the status lines in the sidebar (nothing when no background build is owed or recent)."""
    s = s or get_settings()
    fine, update = _views(s)
    if fine is None and update is None:
        return
    polls = any(v is not None and _polls(v) for v in (fine, update))
    with st.sidebar:
        st.fragment(_lines, run_every=POLL_S if polls else None)(s, background.current_generation(s))


def _views(s: Settings) -> tuple[background.View | None, background.View | None]:
    return (_view(s) if background.enabled(s) else None), update_job.view(s)


def _polls(v: background.View) -> bool:
    return v.active or v.state in ("owed", "interrupted", "waiting", "running")


def _view(s: Settings) -> background.View | None:
    """The current view, starting the build first when it is owed and nothing else builds."""
    v = background.view(s)
    indexing = (u := update_job.view(s)) is not None and u.state in update_job.ACTIVE
    if v is not None and v.state in ("owed", "interrupted") and not indexing and background.start(s):
        v = background.view(s)  # (added transcripts are indexed first: a researcher waits for those)
    return v


def _lines(s: Settings, shown: str | None) -> None:
    if background.current_generation(s) != shown:  # a build switched generations: reload every page
        st.rerun()
    fine, update = _views(s)
    if update is not None:
        _update_line(s, update)
    if fine is not None:
        _fine_tune_line(s, fine)


def _update_line(s: Settings, v: background.View) -> None:
    since = time.strftime("%H:%M", time.localtime(v.started)) if v.started else "?"
    what = f" · {md_escape(v.stage)}" if v.stage else ""
    if v.state in ("starting", "running"):
        st.info(
            f"추가한 자료를 색인하는 중 (indexing added transcripts, since {since}){what}", icon=HOURGLASS
        )
    elif v.state == "waiting":
        st.info(f"추가한 자료 색인 대기 중 (indexing waits for the running build){what}", icon=HOURGLASS)
    elif v.state == "done":
        st.success(f"자료 색인 완료: 검색에 반영되었습니다 (added transcripts searchable){what}")
    elif v.state == "failed":
        st.warning(f"추가한 자료 색인 실패 (indexing failed): {md_escape(v.error)}")
        st.caption(f"log: {md_escape(v.log)}")
    else:  # interrupted: the app or the machine stopped while it ran
        st.warning("추가한 자료 색인이 중단되었습니다 (indexing was interrupted)")
    if v.state in ("failed", "interrupted") and st.button("다시 색인 (index again)", key="update_retry"):
        update_job.start(s)
        st.rerun()


def _fine_tune_line(s: Settings, v: background.View) -> None:
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
