"""Who is reviewing and where: the coder's name and the queue's place, kept in the page address so a
reload resumes the session, and the passages seen in it (to go back to one that left the queue)."""

from __future__ import annotations

import streamlit as st

from kb.ui import components as ui
from kb.ui import login
from kb.ui.state import Resources

CODER_MAX = 40


def ask_coder(res: Resources) -> str | None:
    """The coder's name: the login in team mode (viewers get none), else asked once per session.

    The name is also kept in the page address (`?coder=`), so reloading the page does not ask again.
    A new session starts with an empty name: on a shared workstation a prefilled name would record a
    second coder's decisions under the first one's and spoil their agreement (the recent names are
    listed for reference only)."""
    if login.team_mode():
        coder = login.team_coder()
        if not coder:
            st.info("보기 전용 계정입니다: 검토 결정은 코더 계정만 기록할 수 있습니다 (viewer: read-only).")
        return coder
    coder = st.session_state.get("coder") or _coder_name(st.query_params.get("coder", ""))
    if coder:
        st.session_state["coder"] = coder
        st.query_params["coder"] = coder
        with st.sidebar:
            st.markdown(f"**코더 coder:** {ui.md_escape(coder)}")
            if st.button("코더 바꾸기", key="rv_change_coder"):
                del st.session_state["coder"]
                st.query_params.pop("coder", None)
                st.rerun()
        return coder
    st.info("검토 결정에는 코더 이름이 함께 기록됩니다. 본인의 이름(또는 이니셜)을 입력하세요.")
    recent = res.kb.reviews.recent_coders()
    with st.form("coder_form"):
        name = st.text_input("코더 이름 coder name", key="rv_coder_input", max_chars=CODER_MAX)
        if recent:
            st.caption("최근 결정을 기록한 코더 (recent coders): " + ", ".join(map(ui.md_escape, recent[:5])))
        if st.form_submit_button("검토 시작 start"):
            if not _coder_name(name):
                st.warning(f"이름을 입력하세요 (1–{CODER_MAX}자).")
            else:
                st.session_state["coder"] = _coder_name(name)
                st.rerun()
    return None


def _coder_name(raw: str) -> str:
    """A usable name from the form or the address: trimmed, one line, at most CODER_MAX characters."""
    name = " ".join(str(raw).split())
    return name if len(name) <= CODER_MAX else ""


def restore_from_address(res: Resources) -> None:
    """After a reload, the queue's filters and passage come back from the page address."""
    q = st.query_params
    restore = {
        "rv_factor": (q.get("factor"), set(res.kb.codebook.ids)),
        "rv_case": (q.get("case"), set(res.cases["case"])),
        "review_pid": (q.get("pid"), set(res.kb.passage_by_id)),
    }
    for key, (value, valid) in restore.items():
        if key not in st.session_state and value in valid:
            st.session_state[key] = value
            if key == "review_pid":  # shown as it was, even when it is no longer in the queue
                st.session_state["rv_from"] = value


def keep_in_address(factor: str | None, case: str | None, pid: str | None) -> None:
    for name, value in (("factor", factor), ("case", case), ("pid", pid)):
        if value:
            st.query_params[name] = value
        else:
            st.query_params.pop(name, None)


def seen_passages(pid: str | None) -> list[str]:
    """The passages shown in this session, oldest first, each once (the latest last)."""
    seen: list[str] = st.session_state.setdefault("rv_seen", [])
    if pid and (not seen or seen[-1] != pid):
        if pid in seen:
            seen.remove(pid)
        seen.append(pid)
    return seen
