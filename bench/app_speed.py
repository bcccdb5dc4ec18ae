"""How long the app takes to come up and to answer one search, seen from a real browser.

Starts `streamlit run app.py` (headless, free port, KB_DATA_DIR of a built store) and drives
headless Debian Chromium with Playwright: process start → health endpoint → first rendered
search page (query box and corpus summary shown) → a search typed in the box → results shown.
The browser is launched before the server so its own start-up is not counted.

    python -m bench.app_speed [--data-dir DIR]   # default: ./data if built, else the sample store
    python -m bench.app_speed --fresh            # first run: empty data dir → search page (fast
                                                 # coder), a search while the fine-tuned coder
                                                 # trains, then its codes in use (docs/bench/first_search.md)
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import ROOT, md_table, stop, wait_until_up, write_fragment
from kb.settings import get_settings
from kb.store.generations import current_dir, store_dir

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]  # fmt: skip
QUERY_BOX = "질문 또는 키워드 (Korean or English)"
QUERIES = ("주민 참여가 저조한 이유", "budget shortage for platform maintenance")
TIMEOUT_S = 300


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pick_store(data_dir: Path | None, tmp: Path) -> tuple[Path, str, str]:
    """(data dir, embed model, description): the given store, ./data if built, else the sample."""
    from kb.settings import get_settings
    from kb.store.kbase import is_built

    settings = get_settings(data_dir=data_dir) if data_dir else get_settings()
    if is_built(settings) and (settings.data_dir / "chroma").exists():
        n = sum(1 for _ in (store_dir(settings) / "passages.jsonl").open(encoding="utf-8"))
        path = settings.data_dir.resolve()
        where = "the build bench's, in a temp dir"
        if path.is_relative_to(ROOT):
            where = f"`{path.relative_to(ROOT)}`"
        return settings.data_dir, settings.embed_model, f"built store ({where}, {n} passages)"
    from tests.sample_kb import build_sample

    built = build_sample(tmp / "data", embed_model=settings.embed_model)
    n = sum(1 for _ in (store_dir(built) / "passages.jsonl").open(encoding="utf-8"))
    return (
        built.data_dir,
        settings.embed_model,
        f"sample store (tests/sample_kb.py, {n} real-text passages)",
    )


def settle(page: Any) -> None:
    """Until Streamlit has finished the current run (its status widget is gone)."""
    page.wait_for_timeout(200)
    page.locator('[data-testid="stStatusWidget"]').wait_for(state="detached", timeout=TIMEOUT_S * 1000)


def measure(data_dir: Path, model: str, log_path: Path) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "KB_DATA_DIR": str(data_dir), "KB_EMBED_MODEL": model}
    cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
           "--server.headless", "true", "--browser.gatherUsageStats", "false"]  # fmt: skip
    out: dict[str, Any] = {}
    with sync_playwright() as p, log_path.open("w") as log:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1800}, locale="ko-KR")
        page.set_default_timeout(TIMEOUT_S * 1000)
        t0 = time.monotonic()
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_until_up(f"{url}/_stcore/health", proc, TIMEOUT_S, poll=0.1)
            out["health_s"] = time.monotonic() - t0
            page.goto(url + "/")
            page.get_by_label(QUERY_BOX).wait_for()
            page.get_by_text("개가 있습니다").wait_for()
            out["first_page_s"] = time.monotonic() - t0
            settle(page)
            out["first_page_settled_s"] = time.monotonic() - t0
            for i, query in enumerate(QUERIES, 1):
                box = page.get_by_label(QUERY_BOX)
                box.fill(query)
                t1 = time.monotonic()
                box.press("Enter")
                caption = page.get_by_text(re.compile(r"\d+개 결과 · \d+ ms")).first
                caption.wait_for()
                out[f"search{i}_results_s"] = time.monotonic() - t1
                settle(page)
                out[f"search{i}_settled_s"] = time.monotonic() - t1
                out[f"search{i}_server_ms"] = int(re.search(r"(\d+) ms", caption.inner_text()).group(1))
                box.fill("")  # back to the empty page (no results caption) before the next query
                box.press("Enter")
                page.get_by_text("개가 있습니다").wait_for()
                settle(page)
        finally:
            browser.close()
            stop(proc)
    return out


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a running process (Linux /proc), threads included."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def search_once(page: Any, query: str) -> tuple[float, int]:
    """Type `query`, press Enter; (seconds until results show, server ms)."""
    box = page.get_by_label(QUERY_BOX)
    box.fill(query)
    t1 = time.monotonic()
    box.press("Enter")
    caption = page.get_by_text(re.compile(r"\d+개 결과 · \d+ ms")).first
    caption.wait_for()
    return time.monotonic() - t1, int(re.search(r"(\d+) ms", caption.inner_text()).group(1))


def measure_fresh(data_dir: Path, model: str, log_path: Path, budget_s: float = 3600) -> dict[str, Any]:
    """Empty data dir → usable search page → a search while the background build trains → its
    codes in use (the app reloads by itself). Loads are the 1-minute load averages at each step."""
    from playwright.sync_api import sync_playwright

    from kb import background

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "KB_DATA_DIR": str(data_dir), "KB_EMBED_MODEL": model}
    cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
           "--server.headless", "true", "--browser.gatherUsageStats", "false"]  # fmt: skip
    out: dict[str, Any] = {"load_start": os.getloadavg()[0]}
    with sync_playwright() as p, log_path.open("w") as log:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1800}, locale="ko-KR")
        page.set_default_timeout(budget_s * 1000)
        t0 = time.monotonic()
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_until_up(f"{url}/_stcore/health", proc, TIMEOUT_S, poll=0.1)
            out["health_s"] = time.monotonic() - t0
            page.goto(url + "/")
            page.get_by_text("개가 있습니다").wait_for()
            out["first_page_s"], out["load_first_page"] = time.monotonic() - t0, os.getloadavg()[0]
            out["first_page_cpu_s"] = cpu_seconds(proc.pid)
            report = json.loads((current_dir(data_dir) / "build_report.jsonl").read_text().splitlines()[0])
            out["fast_stages"] = {st["name"]: st["seconds"] for st in report["stages"]}
            page.get_by_text("fine-tuned coder").first.wait_for()
            out["status_shown_s"] = time.monotonic() - t0
            settle(page)
            out["search_training_s"], out["search_training_server_ms"] = search_once(page, QUERIES[0])
            page.get_by_text("fine-tuned codes in use").wait_for()  # the app reloaded by itself
            out["replaced_s"], out["load_replaced"] = time.monotonic() - t0, os.getloadavg()[0]
            status = background.read_status(data_dir) or {}
            out["background_s"] = float(status.get("finished", 0) - status.get("started", 0))
            out["background_cpu_s"] = float(status.get("cpu_seconds", 0))
            page.get_by_label(QUERY_BOX).fill("")  # back to the empty page: no stale results caption
            page.get_by_label(QUERY_BOX).press("Enter")
            page.get_by_text("개가 있습니다").wait_for()
            settle(page)
            out["search_after_s"], out["search_after_server_ms"] = search_once(page, QUERIES[1])
        finally:
            browser.close()
            stop(proc)
            status = background.read_status(data_dir) or {}
            if isinstance(status.get("pid"), int) and background.build_running(
                get_settings(data_dir=data_dir)
            ):
                os.killpg(status["pid"], 15)  # the background build this bench's app started
    return out


def fresh_main(model: str) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="kb_first_search_"))
    try:
        r = measure_fresh(tmp / "data", model, tmp / "streamlit.log")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    rows = [
        {"step": "`streamlit run` on an empty data dir → health endpoint answers", "seconds": r["health_s"]},
        {"step": "→ search page usable (fast build done, query box + summary)", "seconds": r["first_page_s"],
         "CPU seconds": r["first_page_cpu_s"]},
        {"step": "→ sidebar says the fine-tuned coder is training", "seconds": r["status_shown_s"]},
        {"step": f"search during training `{QUERIES[0]}`: Enter → results "
                 f"(server {r['search_training_server_ms']} ms)", "seconds": r["search_training_s"]},
        {"step": "background build (fine-tuned coder, re-code, index metadata), start → switch",
         "seconds": r["background_s"], "CPU seconds": r["background_cpu_s"]},
        {"step": "→ app shows the fine-tuned codes (reloaded by itself), from process start",
         "seconds": r["replaced_s"]},
        {"step": f"search after `{QUERIES[1]}`: Enter → results (server {r['search_after_server_ms']} ms)",
         "seconds": r["search_after_s"]},
    ]  # fmt: skip
    body = (
        "A fresh install's first `make app` (`streamlit run app.py`) on an empty temp data dir and the "
        f"committed `corpus/`, embedder `{model}`, default settings (`KB_CODER_TUNE_EPOCHS=4`, "
        "`KB_BACKGROUND_FINETUNE=1`), driven by headless Chromium (Playwright). The first build codes "
        "with the fast coder; the app then starts the background build (`python -m kb.background`, "
        "niced) that trains the fine-tuned coder, and reloads when its generation arrives. "
        f"1-minute load average {r['load_start']:.1f} at start, {r['load_first_page']:.1f} when the page "
        f"was usable, {r['load_replaced']:.1f} when the codes were replaced (2 cores shared with other "
        "jobs: wall times are noisy; CPU seconds, threads included, are what the work costs). Fast build "
        f"stages (s): {', '.join(f'{k} {v:.0f}' for k, v in r['fast_stages'].items())}.\n\n"
        + md_table(rows, ["step", "seconds", "CPU seconds"])
    )
    write_fragment(
        "first_search", "First search on a fresh install", "python -m bench.app_speed --fresh", body
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", type=Path, default=None)
    ap.add_argument("--fresh", action="store_true", help="First run on an empty data dir (first_search.md).")
    args = ap.parse_args()
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"{CHROMIUM} not found: apt-get install chromium fonts-noto-cjk")
    if args.fresh:
        from kb.settings import get_settings as settings_now

        fresh_main(settings_now().embed_model)
        return
    tmp = Path(tempfile.mkdtemp(prefix="kb_app_speed_"))
    try:
        data_dir, model, store = pick_store(args.data_dir, tmp)
        load = os.getloadavg()[0]
        r = measure(data_dir, model, tmp / "streamlit.log")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    rows = [
        {"step": "`streamlit run` → health endpoint answers", "seconds": r["health_s"]},
        {"step": "→ first search page rendered (query box + corpus summary)", "seconds": r["first_page_s"]},
        {"step": "→ first page run finished (status widget gone)", "seconds": r["first_page_settled_s"]},
    ]
    for i, q in enumerate(QUERIES, 1):
        server = r[f"search{i}_server_ms"]
        step = f"search {i} `{q}`: Enter → results shown (server {server} ms)"
        rows.append({"step": step, "seconds": r[f"search{i}_results_s"]})
        rows.append({"step": f"search {i}: Enter → run finished", "seconds": r[f"search{i}_settled_s"]})
    body = (
        f"Headless Chromium (Playwright) against `streamlit run app.py` on the {store}, embedder `{model}`. "
        "Start-up times count from process start; the browser was already running. Search 1 is the first "
        "query of the session (query embedder warm-up included), search 2 a second one. "
        f"Load average {load:.1f} (2 shared cores).\n\n" + md_table(rows, ["step", "seconds"])
    )
    write_fragment("app", "App start-up and search in the browser", "python -m bench.app_speed", body)


if __name__ == "__main__":
    main()
