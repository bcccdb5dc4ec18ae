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
from kb.errors import StoreUnavailable
from kb.query.filters import Filters
from kb.query.retrieval import search
from kb.settings import Settings
from kb.store.kbase import get_kb
from kb.store.vectorstore import open_client
from pipelines.run import build

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
    proc, url = _start_chroma(tmp_path)
    server_settings = search_settings.with_overrides(data_dir=data, chroma_url=url)
    try:
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


class TokenProxy:
    """A reverse proxy that lets through only requests carrying the token, as nginx or Caddy in
    front of `chroma run` would (Chroma 1.x's server has no authentication of its own)."""

    def __init__(self, upstream: str, token: str) -> None:
        import http.server
        import threading
        import urllib.error
        import urllib.request

        self.seen: list[tuple[str, str | None, str | None]] = []
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _forward(self) -> None:
                auth, xtoken = self.headers.get("Authorization"), self.headers.get("X-Chroma-Token")
                proxy.seen.append((self.path, auth, xtoken))
                if auth != f"Bearer {token}" or xtoken != token:
                    self.send_response(401)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0)) or None
                req = urllib.request.Request(upstream + self.path, data=body, method=self.command)
                req.add_header("Content-Type", self.headers.get("Content-Type") or "application/json")
                try:
                    with urllib.request.urlopen(req, timeout=60) as resp:
                        status, payload, ctype = resp.status, resp.read(), resp.headers.get("Content-Type")
                except urllib.error.HTTPError as exc:
                    status, payload, ctype = exc.code, exc.read(), exc.headers.get("Content-Type")
                self.send_response(status)
                self.send_header("Content-Type", ctype or "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _forward

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _start_chroma(tmp_path: Path) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
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
    _wait_for_heartbeat(url, proc, log)
    return proc, url


@pytest.mark.slow
def test_shared_server_keeps_knowledge_bases_apart_and_sends_the_token(tmp_path: Path) -> None:
    """Two knowledge bases on one server behind a token-checking proxy: each has its own
    collection; one's builds, prunes and model change never touch the other's vectors."""
    from fixtures_kb import build_kb

    from kb.store.generations import store_dir
    from kb.store.kbase import PASSAGES_FILE, read_jsonl, write_jsonl
    from kb.store.vectorstore import _names

    proc, upstream = _start_chroma(tmp_path)
    proxy = TokenProxy(upstream, "s3cret")
    try:
        local_a, local_b = build_kb(tmp_path / "a"), build_kb(tmp_path / "b")
        a = local_a.with_overrides(chroma_url=proxy.url, chroma_token="s3cret")
        b = local_b.with_overrides(chroma_url=proxy.url, chroma_token="s3cret")
        n = len(get_kb(local_a).passages)
        for s in (a, b):
            assert build(s, stages=("index",), progress=False).stages[0].detail["embedded"] == n
        assert proxy.seen and all(auth == "Bearer s3cret" and x == "s3cret" for _, auth, x in proxy.seen)
        client = open_client(a)
        col_a, col_b = (get_kb(s).collection for s in (a, b))
        assert col_a.name != col_b.name and {col_a.name, col_b.name} <= _names(client)
        assert col_a.count() == col_b.count() == n
        # A drops a passage; after two builds its vector is pruned from A's collection only
        recs = read_jsonl(store_dir(a) / PASSAGES_FILE)
        write_jsonl(a.data_dir / PASSAGES_FILE, recs[1:])
        build(a, stages=("index",), progress=False)
        report = build(a, stages=("index",), progress=False)
        assert report.stages[-1].detail["vectors_pruned"] == 1
        assert get_kb(a).collection.count() == n - 1 and get_kb(b).collection.count() == n
        # A switches model: a new collection; A's old one and B's stay, even with the drop flag
        # for A (which drops only A's own old collection)
        use_a = a.with_overrides(embed_model="use")
        build(use_a, stages=("index",), progress=False)
        assert {col_a.name, col_b.name} <= _names(client)
        build(use_a, stages=("index",), progress=False, drop_old_collections=True)
        names = _names(client)
        assert col_a.name not in names and col_b.name in names and get_kb(b).collection.count() == n
        assert search(get_kb(b), "조직문화와 리더십", 1)[0]["case"] == "daangn"
        # without the token the proxy refuses, and kb says so in one line
        with pytest.raises(StoreUnavailable, match="cannot reach the Chroma server"):
            open_client(a.with_overrides(chroma_token=""))
        with pytest.raises(StoreUnavailable):
            open_client(a.with_overrides(chroma_token="wrong"))
    finally:
        proxy.close()
        stop(proc, timeout=20)


@pytest.mark.slow
def test_installed_chroma_server_has_no_token_auth_of_its_own(tmp_path: Path, monkeypatch) -> None:
    """Why the README sends team setups through a reverse proxy: `chroma run` ignores the
    Python server's auth settings and answers a client without any token."""
    monkeypatch.setenv(
        "CHROMA_SERVER_AUTHN_PROVIDER", "chromadb.auth.token_authn.TokenAuthenticationServerProvider"
    )
    monkeypatch.setenv("CHROMA_SERVER_AUTHN_CREDENTIALS", "s3cret")
    proc, url = _start_chroma(tmp_path)
    try:
        client = open_client(Settings(data_dir=tmp_path / "d", chroma_url=url))
        client.get_or_create_collection("kb-open-door", embedding_function=None)
        assert "kb-open-door" in {c.name for c in client.list_collections()}
    finally:
        stop(proc, timeout=20)
