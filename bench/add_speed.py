"""How long a transcript uploaded in the app takes to become searchable, seen from a real browser.

On a copy of a built store and its corpus (by default the report corpus built with `kb build
--fast` into a temp dir), starts the app, opens 자료 추가, uploads one transcript to a new case and
times: the click → the page's "added" message (kb.add read the file) → the sidebar's "searchable"
line (kb.update_job built it, keeping the coder; the sidebar polls every 5 s) → a search that
returns the transcript's passage. The transcript is one of the blind test transcripts
(eval/blind/transcripts): only its size matters here, nothing is scored.

    python -m bench.add_speed [--data-dir DIR]   # DIR: a built store of the repository's corpus
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.app_speed import ARGS, CHROMIUM, QUERY_BOX, TIMEOUT_S, free_port, search_once, settle
from bench.common import ROOT, md_table, stop, wait_until_up, write_fragment
from kb.settings import get_settings

TRANSCRIPT = ROOT / "eval" / "blind" / "transcripts" / "t2_namhae_market.txt"
QUESTION = "전통시장 배달 앱을 상인들이 쓰게 된 계기"


def store(data_dir: Path | None, tmp: Path) -> tuple[Path, Path]:
    """(data dir, corpus dir) copies to add to: the given built store, else a fresh fast build."""
    corpus = tmp / "corpus"
    shutil.copytree(ROOT / "corpus", corpus)
    data = tmp / "data"
    if data_dir is not None:
        shutil.copytree(data_dir, data)
    else:
        from kb import api

        api.build(get_settings(data_dir=data, corpus_dir=corpus, coder_tune_epochs=0), progress=False)
    return data, corpus


def measure(data: Path, corpus: Path, log_path: Path) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "KB_DATA_DIR": str(data), "KB_CORPUS_DIR": str(corpus), "KB_CODER_TUNE_EPOCHS": "0"}
    cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
           "--server.headless", "true", "--browser.gatherUsageStats", "false"]  # fmt: skip
    out: dict[str, Any] = {
        "transcript": TRANSCRIPT.name,
        "chars": len(TRANSCRIPT.read_text(encoding="utf-8")),
    }
    with sync_playwright() as p, log_path.open("w") as log:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1800}, locale="ko-KR")
        page.set_default_timeout(TIMEOUT_S * 1000)
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_until_up(f"{url}/_stcore/health", proc, TIMEOUT_S, poll=0.1)
            page.goto(url + "/add")
            page.get_by_label("사례 이름 case name", exact=False).fill("남해 전통시장 배달 앱 면담")
            page.get_by_label("영문 이름 English name", exact=False).fill("Namhae market delivery app")
            page.locator('input[type="file"]').set_input_files(str(TRANSCRIPT))
            page.get_by_text(TRANSCRIPT.name).wait_for()
            settle(page)
            t0 = time.monotonic()
            page.get_by_role("button", name="추가하고 색인하기 (add and index)").click()
            page.get_by_text("1개 파일을 추가했습니다", exact=False).wait_for()
            out["added_s"] = time.monotonic() - t0
            page.get_by_text("added transcripts searchable", exact=False).wait_for()
            out["searchable_s"] = time.monotonic() - t0
            page.goto(url + "/")
            page.get_by_label(QUERY_BOX).wait_for()
            settle(page)
            out["search_s"], out["search_server_ms"] = search_once(page, QUESTION)
            settle(page)
            out["found_in_results"] = "Namhae" in page.content() or "남해 전통시장" in page.content()
        finally:
            browser.close()
            stop(proc)
    status = (data / "background-update.log").read_text(encoding="utf-8")
    out["build_lines"] = [
        ln.split(" {")[0] for ln in status.splitlines() if ln.startswith("[") and "done in" in ln
    ]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, help="a built store of the repository's corpus")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kb-add-bench-") as tmp:
        data, corpus = store(args.data_dir, Path(tmp))
        got = measure(data, corpus, Path(tmp) / "streamlit.log")
    rows = [
        {"step": "click → page says the file was added (kb.add)", "seconds": got["added_s"]},
        {
            "step": "click → sidebar says it is searchable (update job built it)",
            "seconds": got["searchable_s"],
        },
        {"step": "a search typed → results shown", "seconds": got["search_s"]},
    ]
    stages = "; ".join(got["build_lines"])
    body = (
        f"Upload of `{got['transcript']}` ({got['chars']:,} characters) to a new case on the 자료 추가 "
        "page of an app serving the report corpus, in headless Chromium. The sidebar polls the job's "
        "status every 5 s, so the second row includes up to 5 s of waiting. Found by the search "
        f'"{QUESTION}" right after: {got["found_in_results"]} (server {got["search_server_ms"]} ms).\n\n'
        + md_table(rows, ["step", "seconds"])
        + f"\n\nThe update job's build stages: {stages}\n"
    )
    command = "python -m bench.add_speed" + (
        " --data-dir <a built store of the report>" if args.data_dir else ""
    )
    write_fragment("add", "Adding a transcript in the app", command, body)


if __name__ == "__main__":
    main()
