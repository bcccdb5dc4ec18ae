"""The same knowledge base served by a real Chroma server (`chroma run`) answers like the embedded one."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from test_search import RESIDENTS_ID, search_settings  # noqa: F401

from bench.common import stop, wait_until_up
from kb.builder import build
from kb.errors import StoreUnavailable
from kb.filters import Filters
from kb.kbase import get_kb
from kb.retrieval import search
from kb.settings import Settings
from kb.vectorstore import open_client

QUERIES = [
    ("why did few residents take part?", Filters(), "hybrid"),
    ("주민 참여 저조", Filters(group="domestic"), "dense"),
    ("예산 부족", Filters(factor="financial_resources"), "hybrid"),
    ("조직문화와 리더십", Filters(polarity="success", group="private"), "dense"),
    ("플랫폼 운영", Filters(reviewed=True), "hybrid"),
    ("데이터 공유", Filters(platform_type="information"), "dense"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _chroma_cli() -> str:
    exe = Path(sys.executable).with_name("chroma")
    return str(exe) if exe.exists() else (shutil.which("chroma") or pytest.skip("no `chroma` CLI"))


def _wait_for_heartbeat(url: str, proc: subprocess.Popen, log: Path, timeout: float = 90) -> None:
    try:
        wait_until_up(f"{url}/api/v2/heartbeat", proc, timeout)
    except RuntimeError as exc:
        raise AssertionError(f"chroma: {exc}: {log.read_text()[-2000:]}") from None


@pytest.mark.slow
def test_server_store_gives_the_same_results(search_settings: Settings, tmp_path: Path) -> None:  # noqa: F811
    # the same passages, codes, reviews and BM25 index; no embedded Chroma
    data = tmp_path / "data"
    shutil.copytree(search_settings.data_dir, data, ignore=shutil.ignore_patterns("chroma"))
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    server_settings = search_settings.with_overrides(data_dir=data, chroma_url=url)
    log = tmp_path / "chroma.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                _chroma_cli(),
                "run",
                "--path",
                str(tmp_path / "server"),
                "--port",
                str(port),
                "--host",
                "127.0.0.1",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_for_heartbeat(url, proc, log)
        n = len(get_kb(search_settings).passages)
        detail = build(server_settings, stages=("index",), progress=False).stages[0].detail
        assert (detail["embedded"], detail["vectors"], detail["keyword_index_rebuilt"]) == (n, n, False)
        assert not (data / "chroma").exists()
        local, remote = get_kb(search_settings), get_kb(server_settings)
        for query, filters, mode in QUERIES:
            want = [r["id"] for r in search(local, query, 5, filters, mode)]
            got = [r["id"] for r in search(remote, query, 5, filters, mode)]
            assert got == want and want, (query, filters)
        assert search(remote, "why did few residents take part?", 1)[0]["id"] == RESIDENTS_ID
        # incremental against the server too
        assert build(server_settings, stages=("index",), progress=False).stages[0].detail["embedded"] == 0
    finally:
        stop(proc, timeout=20)
    with pytest.raises(StoreUnavailable, match="cannot reach the Chroma server at .*chroma run --path"):
        open_client(server_settings)
