"""The app's door: solo mode only on loopback; team mode requires a streamlit-authenticator login.

`gate()` runs in app.py before any page. Pages ask `team_coder()` for the logged-in coder and the
review write path calls `require_coder()`, so a decision is never stored under a name nobody logged in as.
"""

from __future__ import annotations

import copy

import streamlit as st

from kb import auth
from kb.errors import AuthError, ReviewError
from kb.settings import get_settings

LOGIN_FIELDS = {
    "Form name": "로그인 · Login",
    "Username": "사용자 이름 username",
    "Password": "비밀번호 password",
    "Login": "로그인 login",
}


def team_mode() -> bool:
    return bool(get_settings().team_mode)


def gate() -> None:
    """Stop the run unless this session may see content (solo on loopback, or logged in)."""
    if not team_mode():
        address = st.get_option("server.address")
        if not auth.is_loopback(address):
            st.error(
                f"이 앱은 {address or '모든 인터페이스'}에서 열려 있지만 팀 모드가 꺼져 있습니다. "
                "Listening beyond loopback needs team mode: `kb serve --team` (README: Team mode)."
            )
            st.stop()
        return
    try:
        config = auth.load_users(get_settings().users_file)
    except AuthError as exc:
        st.error(str(exc), icon=":material/error:")
        st.stop()
    import streamlit_authenticator as stauth

    cookie = config["cookie"]
    authenticator = stauth.Authenticate(
        copy.deepcopy(config["credentials"]),
        cookie.get("name", auth.COOKIE_NAME),
        cookie["key"],
        float(cookie.get("expiry_days", 1)),
        auto_hash=False,
    )
    if st.session_state.get("authentication_status") is not True:
        _remember_address()
    authenticator.login(location="main", fields=LOGIN_FIELDS, key="kb_login")
    status = st.session_state.get("authentication_status")
    if status is False:
        st.error("사용자 이름 또는 비밀번호가 틀렸습니다 (wrong username or password).")
    if status is not True:
        st.stop()
    role = auth.role_of(st.session_state.get("roles"))
    with st.sidebar:
        st.markdown(f"**{st.session_state['username']}** · {role or '역할 없음 no role'}")
        authenticator.logout("로그아웃 logout", location="sidebar", key="kb_logout")


def _remember_address() -> None:
    """The page and parameters a link asked for (e.g. a review link with its passage), kept while
    the login form is shown: the login's rerun opens the default page without them."""
    from urllib.parse import urlparse

    if "kb_wanted" not in st.session_state:
        page = urlparse(st.context.url or "").path.strip("/").rsplit("/", 1)[-1]
        st.session_state["kb_wanted"] = (page, {k: st.query_params[k] for k in st.query_params})


def address_after_login() -> tuple[str, dict[str, str]] | None:
    """Once, after a login: the page (its url path, "" for the default) and parameters asked for."""
    if st.session_state.get("authentication_status") is not True:
        return None
    return st.session_state.pop("kb_wanted", None)


def team_coder() -> str | None:
    """The logged-in user's name when they hold the coder role; None for viewers and anonymous."""
    if st.session_state.get("authentication_status") is not True:
        return None
    if auth.role_of(st.session_state.get("roles")) != "coder":
        return None
    return st.session_state.get("username")


def can_write() -> bool:
    """Whether this session may see write widgets (decisions, retraining): always in solo mode."""
    return not team_mode() or team_coder() is not None


def require_coder(coder: str) -> None:
    """In team mode, refuse a decision unless `coder` is the logged-in user with the coder role."""
    if team_mode() and (not coder or team_coder() != coder):
        raise ReviewError("team mode: only a logged-in coder can record decisions, under their own name")
