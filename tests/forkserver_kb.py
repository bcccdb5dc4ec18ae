"""A fork server for tests that start many short `kb` processes (fault injection, concurrency).

It imports kb's heavy modules once (torch, scikit-learn, chromadb, kiwi: ~7 s) without starting
any thread or model, then forks one child per request, so each child is a real, separate
process (its own Chroma client, killed for real by SIGKILL) that starts in milliseconds.

Protocol on stdin/stdout, one JSON object a line:
  {"argv": ["build", "-q"], "env": {...}, "log": "/path"}       -> runs the `kb` CLI
  {"call": "module:function", "args": [...], "env": {...}, "log": ...}  -> runs a function
answered by {"status": exit code, or -signal number}.
"""

from __future__ import annotations

import importlib
import json
import os
import sys


def _child(req: dict) -> int:
    os.environ.update(req.get("env") or {})
    log = os.open(req["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(log, 1)
    os.dup2(log, 2)
    if "argv" in req:
        from kb.cli.main import app

        try:
            app(args=req["argv"], prog_name="kb")
        except SystemExit as exc:
            return int(exc.code or 0) if not isinstance(exc.code, str) else 1
        return 0
    module, _, name = req["call"].partition(":")
    getattr(importlib.import_module(module), name)(*req.get("args", []))
    return 0


def main() -> None:
    import kb.cli.main  # noqa: F401
    import kb.query.retrieval  # noqa: F401
    import kb.store.vectorstore  # noqa: F401
    import pipelines.run  # noqa: F401 - the imports every child would otherwise repeat
    import pipelines.segment  # noqa: F401
    from kb.text.morphs import get_kiwi

    get_kiwi()  # loading Kiwi starts no thread (its first analysis does): safe to fork

    print(json.dumps({"ready": os.getpid()}), flush=True)
    for line in sys.stdin:
        req = json.loads(line)
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                code = _child(req)
            except BaseException as exc:  # noqa: BLE001 - reported through the exit status
                import traceback

                traceback.print_exception(exc)
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        code = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
        print(json.dumps({"status": code, "pid": pid}), flush=True)


class ForkServer:
    """Client side: start the server once, then `run(...)` requests through it."""

    def __init__(self, env: dict[str, str], cwd: str) -> None:
        import subprocess

        self.proc = subprocess.Popen(
            [sys.executable, __file__],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, **env},
            cwd=cwd,
        )
        ready = self.proc.stdout.readline()
        if not ready:
            raise RuntimeError("fork server did not start")

    def run(self, log: str, env: dict[str, str] | None = None, **req: object) -> int:
        self.proc.stdin.write(json.dumps({**req, "env": env or {}, "log": log}) + "\n")
        self.proc.stdin.flush()
        answer = self.proc.stdout.readline()
        if not answer:
            raise RuntimeError("fork server died")
        return int(json.loads(answer)["status"])

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.close()
            self.proc.wait(timeout=30)


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    main()


def snapshot(queries: list[str], settings: object = None) -> dict:
    """What a reader of the data directory sees now: generation, passages, codes, top results
    and the ids in the Chroma collection (opened afresh, as a new process would)."""
    from kb.query.retrieval import search
    from kb.settings import get_settings
    from kb.store.kbase import KnowledgeBase
    from kb.store.vectorstore import _existing

    kb = KnowledgeBase.open(settings or get_settings())
    codes = kb.codes_df()
    state = {
        "generation": kb.generation,
        "ids": sorted(p["id"] for p in kb.passages),
        "codes": sorted(
            map(list, zip(codes["passage_id"], codes["category"], codes["polarity"], strict=True))
        ),
        "search": {
            f"{mode}:{q}": [r["id"] for r in search(kb, q, 3, mode=mode)]
            for q in queries
            for mode in ("hybrid", "dense", "keyword")
        },
        "chroma_ids": sorted(_existing(kb.collection)),
    }
    return json.loads(json.dumps(state))
