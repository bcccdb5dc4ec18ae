"""`kb add`: transcripts of each type land in the corpus like extracted documents; bad files are
skipped with a reason while the others still go in; the next build indexes only the new text."""

from __future__ import annotations

import json
import os
import unicodedata

import docx
import pytest
from fixtures_kb import copy_kb

from kb.errors import IngestError
from kb.exchange.ingest import MAX_BYTES, MAX_TEXT_CHARS, add_files, api_add, read_manifest
from kb.exchange.transcript import structure
from kb.store.generations import store_dir

TRANSCRIPT = """서울시 플랫폼 담당자 면담 (2022년 5월)

면담자: 플랫폼 운영에서 가장 어려운 점은 무엇입니까?
응답자: 예산이 단년도로 편성되어 사업이 끊기는 경우가 많습니다.
유지보수 비용도 전액 구비로 충당하고 있습니다.

그리고 담당 인력이 자주 바뀌어서 전문성이 쌓이지 않습니다.
면담자: 단체장의 관심은 어떻습니까?
응답자: 현 구청장님이 참여 플랫폼에 관심이 높아 추진력이 있습니다.
"""
CASE = dict(
    case="seoul_interview", case_name="서울시 담당자 면담", group="domestic", platform_type="policy_proposal"
)


@pytest.fixture
def files(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    (src / "면담1.txt").write_text(TRANSCRIPT, encoding="utf-8")
    (src / "면담2.md").write_text(
        "# 2차 면담\n\n## 예산\n\nQ: 주민 참여는 어떻습니까?\nA: 참여가 저조합니다.\n", encoding="utf-8"
    )
    d = docx.Document()
    d.add_heading("3차 면담", level=1)
    d.add_paragraph("면담자: 민간과의 협력은 어떻습니까?")
    d.add_paragraph("응답자: 민간 기업과 공동 개발을 하고 있어 기술 수준이 높습니다.")
    d.save(src / "면담3.docx")
    (src / "legacy.txt").write_bytes(
        "면담자: 예산이 부족했습니까?\n응답자: 네, 예산이 부족했습니다.\n".encode("cp949")
    )
    (src / "empty.txt").write_bytes(b"")
    (src / "blank.md").write_text("  \n\n \n", encoding="utf-8")
    (src / "binary.txt").write_bytes(bytes(range(256)) * 20)
    (src / "broken.docx").write_bytes(b"PK\x03\x04 not really a docx")
    (src / "report.hwp").write_bytes(b"HWP Document File")
    big = src / "big.txt"
    with open(big, "wb") as fh:
        fh.truncate(MAX_BYTES + 1)  # sparse: larger than 50 MB without writing 50 MB
    return src


def test_each_file_type_and_each_bad_file(tmp_path, files):
    corpus = tmp_path / "corpus"
    names = ["면담1.txt", "면담2.md", "면담3.docx", "legacy.txt", "empty.txt", "blank.md", "binary.txt",
             "broken.docx", "report.hwp", "big.txt", "missing.txt"]  # fmt: skip
    results = {os.path.basename(r.path): r for r in add_files([files / n for n in names], corpus, **CASE)}
    assert [results[n].status for n in names[:4]] == ["added", "added", "added", "converted"]
    assert "CP949" in results["legacy.txt"].reason or "EUC-KR" in results["legacy.txt"].reason
    reasons = {n: results[n].reason for n in names[4:]}
    assert all(results[n].status == "skipped" for n in names[4:])
    assert reasons["empty.txt"] == "empty file"
    assert "only whitespace" in reasons["blank.md"]
    assert "binary" in reasons["binary.txt"]
    assert ".docx" in reasons["broken.docx"]
    assert ".hwp" in reasons["report.hwp"] and "한글" in reasons["report.hwp"]
    assert "50 MB" in reasons["big.txt"]
    assert reasons["missing.txt"] == f"not found (looked for {(files / 'missing.txt').resolve()})"
    assert results["면담1.txt"].speakers == ["면담자", "응답자"]
    assert results["면담2.md"].speakers == ["Q", "A"]
    assert results["면담3.docx"].speakers == ["면담자", "응답자"]
    _, rows = read_manifest(corpus)
    assert len(rows) == 4 and {r["group"] for r in rows} == {"domestic"}
    for row in rows:  # same layout as extracted documents: every block slices the document text
        text = (corpus / row["text_file"]).read_text(encoding="utf-8")
        blocks = [
            json.loads(line)
            for line in (corpus / row["blocks_file"]).read_text(encoding="utf-8").splitlines()
        ]
        assert int(row["chars"]) == len(text) - 1 and int(row["blocks"]) == len(blocks)
        for b in blocks:
            assert text[b["start"] : b["end"]].strip() == text[b["start"] : b["end"]] != ""
            assert b["case"] == "seoul_interview"
    legacy = next(r for r in rows if r["title"] == "legacy")
    assert "예산이 부족했습니다" in (corpus / legacy["text_file"]).read_text(encoding="utf-8")
    again = add_files([files / "면담1.txt"], corpus, **CASE)
    assert again[0].status == "present" and "in the corpus as" in again[0].reason


def test_the_same_text_under_another_name_or_encoding_is_not_added_twice(tmp_path, files):
    corpus = tmp_path / "corpus"
    first = add_files([files / "면담1.txt"], corpus, **CASE)[0]
    (files / "사본.txt").write_text(TRANSCRIPT, encoding="utf-8")
    (files / "legacy_copy.txt").write_bytes(TRANSCRIPT.encode("cp949"))
    (files / "edited.txt").write_text(TRANSCRIPT + "응답자: 한 줄 더.\n", encoding="utf-8")
    # other line breaks and spacing: the same text (e.g. the same interview wrapped at another width)
    (files / "respaced.txt").write_text(
        TRANSCRIPT.replace("\n", "\r\n\r\n").replace("가장 ", "가장  "), "utf-8"
    )
    names = ("사본.txt", "legacy_copy.txt", "edited.txt", "respaced.txt")
    results = add_files([files / n for n in names], corpus, **CASE)
    assert [r.status for r in results] == ["present", "present", "added", "present"]
    assert results[0].doc_id == results[1].doc_id == results[3].doc_id == first.doc_id
    assert len(read_manifest(corpus)[1]) == 2


def test_files_with_nothing_to_code_or_too_long_are_skipped_with_the_reason(tmp_path):
    src = tmp_path / "only_q.txt"
    src.write_text("면담자: 예산은 어떠셨어요?\n면담자: 인력은요?\n", encoding="utf-8")
    long = tmp_path / "long.txt"
    long.write_text("응답자: " + "예산이 부족했습니다. " * (MAX_TEXT_CHARS // 12 + 1), encoding="utf-8")
    results = add_files([src, long], tmp_path / "corpus", **CASE)
    assert [r.status for r in results] == ["skipped", "skipped"]
    assert "only interviewer turns (면담자)" in results[0].reason
    assert "split it into one file per interview" in results[1].reason
    assert not (tmp_path / "corpus" / "manifest.csv").exists()


def test_a_very_long_turn_is_added_with_a_warning(tmp_path):
    """A transcript pasted without line breaks is one turn of a few hundred thousand characters: it is
    added (it may be meant), but `kb add` says what it will become and how to take it out."""
    src = tmp_path / "one_line.txt"
    src.write_text("면담자: 예산은요?\n응답자: " + "예산이 부족했습니다. " * 2500 + "\n", encoding="utf-8")
    normal = tmp_path / "normal.txt"
    normal.write_text("면담자: 예산은요?\n응답자: 예산이 부족했습니다.\n", encoding="utf-8")
    long_one, short = add_files([src, normal], tmp_path / "corpus", **CASE)
    assert long_one.status == "added" and "warning: one turn of 29,999 characters" in long_one.reason
    assert "kb remove" in long_one.reason and "warning" not in short.reason


def test_a_docx_table_is_a_block_of_its_own_inside_the_turn_it_interrupts(tmp_path):
    d = docx.Document()
    d.add_paragraph("면담자: 예산은 어떻게 마련하셨어요?")
    d.add_paragraph("응답자: 연도별로 보면 이렇습니다.")
    table = d.add_table(rows=3, cols=2)
    for row, cells in zip(table.rows, [("연도", "예산"), ("", ""), ("2021", "3억")], strict=True):
        for cell, value in zip(row.cells, cells, strict=True):
            cell.text = value
    d.add_paragraph("그래서 해마다 부족했습니다.")
    d.save(tmp_path / "표.docx")
    result = add_files([tmp_path / "표.docx"], tmp_path / "corpus", **CASE)[0]
    assert result.status == "added", result.reason
    row = read_manifest(tmp_path / "corpus")[1][0]
    text = (tmp_path / "corpus" / row["text_file"]).read_text(encoding="utf-8")
    blocks = [
        json.loads(x) for x in (tmp_path / "corpus" / row["blocks_file"]).read_text("utf-8").splitlines()
    ]
    got = [(b["kind"], b["speaker"], text[b["start"] : b["end"]]) for b in blocks]
    assert got == [
        ("quote", "면담자", "예산은 어떻게 마련하셨어요?"),
        ("quote", "응답자", "연도별로 보면 이렇습니다."),
        ("table", None, "연도 | 예산\n2021 | 3억"),  # the empty row left out
        ("quote", "응답자", "그래서 해마다 부족했습니다."),  # the answer goes on after the table
    ]
    assert "\n\n연도 | 예산" in text and "3억\n\n그래서" in text
    from pipelines.segment import run as segment

    passages = segment(tmp_path / "corpus", tmp_path / "data")
    assert [(p["kind"], p["question"]) for p in passages] == [
        ("quote", "예산은 어떻게 마련하셨어요?"),
        ("table", None),
        ("quote", "예산은 어떻게 마련하셨어요?"),  # the answer after the table keeps its question
    ]


def test_speaker_turns_become_quote_blocks():
    text, blocks = structure([(line, 0) for line in TRANSCRIPT.splitlines()], "면담1")
    turns = [(b["speaker"], text[b["start"] : b["end"]]) for b in blocks if b["kind"] == "quote"]
    assert turns[0] == ("면담자", "플랫폼 운영에서 가장 어려운 점은 무엇입니까?")
    assert turns[1] == (
        "응답자",
        "예산이 단년도로 편성되어 사업이 끊기는 경우가 많습니다.\n"
        "유지보수 비용도 전액 구비로 충당하고 있습니다.",
    )
    assert turns[2] == (
        "응답자",
        "그리고 담당 인력이 자주 바뀌어서 전문성이 쌓이지 않습니다.",
    )  # the turn goes on
    assert [b["kind"] for b in blocks][0] == "meta"  # the title line above the first turn
    md_text, md_blocks = structure(
        [("2차 면담", 1), ("", 0), ("예산", 2), ("Q. 참여는?", 0), ("A. 저조합니다.", 0)], "f"
    )
    assert md_blocks[0]["section_path"] == ["f", "2차 면담", "예산"] and md_blocks[1]["speaker"] == "A"


def test_case_checks(tmp_path, files):
    corpus = tmp_path / "corpus"
    with pytest.raises(IngestError, match="--case-name, --group .* and --platform-type"):
        add_files([files / "면담1.txt"], corpus, "brand_new")
    with pytest.raises(IngestError, match="lower-case"):
        add_files([files / "면담1.txt"], corpus, "Bad Case")
    with pytest.raises(IngestError, match="unknown platform type 'parking'; valid: .*service"):
        add_files([files / "면담1.txt"], corpus, "x_case", "이름", "domestic", "parking")
    with pytest.raises(IngestError, match="unknown group"):
        add_files([files / "면담1.txt"], corpus, "x_case", "이름", "abroad", "information")
    with pytest.raises(IngestError, match="is group 'private'"):
        add_files([files / "면담1.txt"], corpus, "daangn", group="domestic")
    known = add_files([files / "면담1.txt"], corpus, "daangn")  # an existing case needs no metadata
    assert known[0].status == "added"
    _, rows = read_manifest(corpus)
    assert rows[0]["case_name"] == "당근마켓" and rows[0]["platform_type"] == "private_platform"
    frame = api_add([files / "면담2.md", files / "empty.txt"], "daangn", settings=_settings(corpus))
    assert list(frame["status"]) == ["added", "skipped"]
    assert {r["case_name_en"] for r in read_manifest(corpus)[1]} == {"Daangn Market (Karrot)"}


def test_a_new_case_gets_its_english_name(tmp_path, files, kb_cli) -> None:
    corpus = tmp_path / "corpus"
    args = ("--case", "hanbit", "--case-name", "한빛 소통마당", "--group", "domestic")
    result = kb_cli(
        "add", str(files / "면담1.txt"), *args, "--platform-type", "policy_proposal",
        "--case-name-en", "Hanbit Citizen Forum", settings=_settings(corpus),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    add_files([files / "면담2.md"], corpus, "hanbit", case_name="한빛시 소통마당")  # renamed in Korean
    add_files([files / "면담3.docx"], corpus, "other", "다른 사례", "domestic", "information")
    names = [(r["case_name"], r["case_name_en"]) for r in read_manifest(corpus)[1]]
    assert names == [
        ("한빛 소통마당", "Hanbit Citizen Forum"),
        ("한빛시 소통마당", "Hanbit Citizen Forum"),  # the English name is kept
        ("다른 사례", "다른 사례"),  # none given: the Korean name stands for it
    ]


def _settings(corpus):
    from kb.settings import get_settings

    return get_settings(corpus_dir=corpus)


def test_build_indexes_only_the_new_document(kb_settings, tmp_path, files, kb_cli):
    from pipelines.run import build

    settings = copy_kb(kb_settings, tmp_path / "kb")
    before = sum(1 for _ in open(store_dir(settings) / "passages.jsonl", encoding="utf-8"))
    add_files([files / "면담1.txt", files / "면담3.docx"], settings.corpus_dir, **CASE)
    report = build(settings, stages=("segment", "index"), progress=False)
    passages = [json.loads(line) for line in open(store_dir(settings) / "passages.jsonl", encoding="utf-8")]
    new = [p for p in passages if p["doc_id"].startswith("add-")]
    # the interviewer's three turns are the answers' questions, not passages of their own
    assert len(passages) == before + len(new) and len(new) == 4  # the title line is header
    index = next(s for s in report.stages if s.name == "index").detail
    assert index["embedded"] == len(new)  # the report passages were not embedded again
    quotes = [p for p in new if p["kind"] == "quote"]
    assert len(quotes) == 4 and any("구비로 충당" in p["text"] for p in quotes)
    assert {p["speaker"] for p in quotes} == {"응답자"}

    def question(start: str) -> str | None:
        (q,) = [p["question"] for p in new if p["text"].startswith(start)]
        return q

    assert (
        question("그리고 담당 인력이 자주") == "플랫폼 운영에서 가장 어려운 점은 무엇입니까?"
    )  # 2nd paragraph, same turn
    assert question("현 구청장님이 참여 플랫") == "단체장의 관심은 어떻습니까?"
    assert question("민간 기업과 공동 개발") == "민간과의 협력은 어떻습니까?"
    assert not any(p["text"].startswith("서울시 플랫폼 담당자") for p in new)  # the title is header

    # `kb remove` takes a transcript out again; the next build drops its passages
    docx_doc = next(p["doc_id"] for p in new if "민간 기업과 공동 개발" in p["text"])
    refused = kb_cli("remove", docx_doc, settings=settings)  # not a terminal and no --yes: nothing changes
    assert refused.exit_code == 1 and "--yes" in refused.stderr
    report_doc = next(p["doc_id"] for p in passages if not p["doc_id"].startswith("add-"))
    wrong = kb_cli("remove", docx_doc, report_doc, "--yes", settings=settings)
    assert wrong.exit_code == 1 and f"not an added document: {report_doc}" in wrong.stderr
    assert docx_doc in {r["doc_id"] for r in read_manifest(settings.corpus_dir)[1]}  # all or nothing
    done = kb_cli("remove", docx_doc, "--yes", settings=settings)
    assert done.exit_code == 0 and f"removed   {docx_doc}" in done.stderr
    assert not list((settings.corpus_dir / "docs").glob(f"{docx_doc}*"))
    build(settings, stages=("segment", "index"), progress=False)
    after = [json.loads(line) for line in open(store_dir(settings) / "passages.jsonl", encoding="utf-8")]
    assert len(after) == len(passages) - 1 and docx_doc not in {p["doc_id"] for p in after}


# (interviewer's turn prefix, respondent's turn prefix) as transcripts and transcription tools write them
TURN_STYLES = {
    "colon": ("면담자: ", "응답자: "),
    "spaced colon": ("면담자 : ", "응답자 : "),
    "Korean Q/A": ("문: ", "답: "),
    "numbered Q/A": ("Q1. ", "A1. "),
    "researcher": ("조사자: ", "참여자: "),
    "interviewer/interviewee": ("면접자: ", "피면접자: "),
    "named respondent": ("인터뷰어: ", "김OO 주무관: "),
    "English initials": ("I: ", "R: "),
    "brackets, no colon": ("[면담자] ", "[응답자] "),
    "timestamp first": ("[00:01:23] 면담자: ", "[00:01:40] 응답자: "),
    "timestamp after label": ("면담자 (00:01:23): ", "응답자 (00:01:40): "),
    "timestamp after label, no colon": ("면담자 00:00:05 ", "응답자 00:00:09 "),
    "numbered speakers, timestamp, no colon": ("화자1 00:00:05 ", "화자2 00:00:09 "),
    "list bullets": ("- 면담자: ", "- 응답자: "),
    "label line with time": ("면담자 00:03\n", "응답자 00:10\n"),
    "label line": ("면담자:\n", "응답자:\n"),
    "name after the role": ("면담자(김OO): ", "응답자(박OO 팀장): "),
    "Markdown bold": ("**면담자**: ", "**응답자**: "),
    "Markdown bold with colon": ("**면담자:** ", "**응답자:** "),
    "Q1) / A1)": ("Q1) ", "A1) "),
    "질문 1) / 답변)": ("질문 1) ", "답변) "),
    "dash": ("면담자 - ", "응답자 - "),
    "chat arrow": ("면담자> ", "응답자> "),
}


@pytest.mark.parametrize("style", list(TURN_STYLES))
def test_interviewer_turns_become_the_question_of_the_answer_in_every_turn_style(tmp_path, style) -> None:
    from pipelines.segment import segment_document

    asks, answers = TURN_STYLES[style]
    turns = [
        ("예산 확보는 어떠셨어요?", "그게 제일 골치였죠. 해마다 삭감됐어요."),
        ("인력은요?", "한 명이 다 했습니다."),
    ]
    src = tmp_path / "면담.md"
    src.write_text("\n".join(f"{asks}{q}\n{answers}{a}" for q, a in turns) + "\n", encoding="utf-8")
    corpus = tmp_path / "corpus"
    assert add_files([src], corpus, **CASE)[0].status == "added"
    passages = [p for row in read_manifest(corpus)[1] for p in segment_document(row, corpus)]
    assert [(p["question"], p["text"]) for p in passages] == turns  # no turn of the interviewer's own
    # each answer is cited by its lines in the file
    lines = src.read_text(encoding="utf-8").splitlines()
    for p in passages:
        first, last = p["lines"]
        assert p["text"] in "\n".join(lines[first - 1 : last]) and last - first <= 1


def test_a_speaker_who_mostly_asks_is_taken_for_the_interviewer_when_no_label_says_so(
    tmp_path, kb_cli
) -> None:
    from kb.settings import get_settings
    from pipelines.segment import segment_document

    turns = [("예산은 어떠셨어요?", "해마다 삭감됐어요."), ("인력은 몇 명이었나요?", "혼자 했어요."),
             ("주민 반응은요?", "처음엔 좋았습니다.")]  # fmt: skip
    src = tmp_path / "clova.txt"  # a transcription tool's export: numbered participants, times
    src.write_text(
        "".join(f"참석자 1 00:0{i}\n{q}\n참석자 2 00:1{i}\n{a}\n" for i, (q, a) in enumerate(turns)),
        encoding="utf-8",
    )
    corpus = tmp_path / "corpus"
    result = kb_cli("add", str(src), "--case", "daangn", settings=get_settings(corpus_dir=corpus))
    assert result.exit_code == 0 and "참석자 1 asks the questions" in result.output
    passages = [p for row in read_manifest(corpus)[1] for p in segment_document(row, corpus)]
    assert [(p["question"], p["text"], p["speaker"]) for p in passages] == [
        (q, a, "참석자 2") for q, a in turns
    ]
    # both ask as much as they answer: no one is taken for the interviewer, every turn stays a passage
    src.write_text(
        "참석자 1: 예산은요?\n참석자 2: 부족했어요. 인력은요?\n참석자 1: 저희도 부족했죠.\n", encoding="utf-8"
    )
    assert add_files([src], tmp_path / "other", "daangn")[0].interviewer_by_questions is None
    assert (
        len(
            [
                p
                for row in read_manifest(tmp_path / "other")[1]
                for p in segment_document(row, tmp_path / "other")
            ]
        )
        == 3
    )


def test_list_items_are_not_speaker_turns(tmp_path) -> None:
    from pipelines.segment import segment_document

    src = tmp_path / "메모.txt"
    src.write_text(
        "과제\n가) 예산 확보\n나) 인력 충원\n가) 조례 개정\n나) 협의체 구성\n예산 - 확보\n예산 - 집행\n",
        encoding="utf-8",
    )
    corpus = tmp_path / "corpus"
    assert add_files([src], corpus, **CASE)[0].speakers == []
    text = " ".join(p["text"] for row in read_manifest(corpus)[1] for p in segment_document(row, corpus))
    assert "가) 예산 확보" in text and "나) 협의체 구성" in text and "예산 - 집행" in text


# ---- an edited version of a file added before ------------------------------------------------------
def _interview(n_answers: int, edited: bool = False) -> str:
    """An interview of `n_answers` answers; `edited` changes two of them (210건 → 250건) as a user did."""
    turns = []
    for i in range(n_answers):
        count = "250건" if edited and i in (3, 7) else "210건"
        turns.append(f"면담자: {i + 1}번째 질문입니다. 민원 처리는 어떠셨어요?")
        turns.append(f"응답자: {i + 1}번째 해에는 민원이 {count} 들어왔고 담당 인력은 두 명이었습니다.")
    return "\n".join(turns) + "\n"


@pytest.fixture
def versions(tmp_path):
    """The same file name in two folders: v1 as added first, v2 with two answers edited."""
    for folder, edited in (("v1", False), ("v2", True)):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "cheongrim_burumi.txt").write_text(_interview(20, edited), encoding="utf-8")
    return tmp_path


def _texts(corpus) -> dict[str, str]:
    return {r["doc_id"]: (corpus / r["text_file"]).read_text("utf-8") for r in read_manifest(corpus)[1]}


def test_an_edited_file_added_again_to_its_case_is_refused_and_replace_puts_it_in_place(
    tmp_path, versions, kb_cli
) -> None:
    corpus = tmp_path / "corpus"
    settings = _settings(corpus)
    old = add_files([versions / "v1" / "cheongrim_burumi.txt"], corpus, **CASE)[0].doc_id
    refused = kb_cli("add", str(versions / "v2" / "cheongrim_burumi.txt"), "--case", CASE["case"],
                     settings=settings)  # fmt: skip
    assert refused.exit_code == 1, refused.output  # a script must notice, as for any skipped file
    (line,) = [x for x in refused.stderr.splitlines() if x.startswith("skipped")]
    assert f"case seoul_interview already has a cheongrim_burumi.txt with other text: {old}" in line
    assert "95% the same text" in line and "--replace" in line and "--as-new" in line  # 38 of 40 lines
    assert list(_texts(corpus)) == [old]  # still the one document, the old text
    # --replace: the new version in the old one's place, in one step
    done = kb_cli("add", str(versions / "v2" / "cheongrim_burumi.txt"), "--case", CASE["case"], "--replace",
                  settings=settings)  # fmt: skip
    assert done.exit_code == 0, done.output
    (new,) = _texts(corpus)
    assert new != old and f"removed   {old}" in done.stderr and f"replaces {old}" in done.stdout
    assert "250건" in _texts(corpus)[new] and not list((corpus / "docs").glob(f"{old}*"))
    # the same version again is `present`, as before; with --replace too, nothing is removed
    again = add_files([versions / "v2" / "cheongrim_burumi.txt"], corpus, **CASE, replace=True)[0]
    assert (again.status, again.doc_id, list(_texts(corpus))) == ("present", new, [new])


def test_the_same_name_in_another_case_or_with_as_new_is_added_beside_it(tmp_path, versions) -> None:
    corpus = tmp_path / "corpus"
    first = add_files([versions / "v1" / "cheongrim_burumi.txt"], corpus, **CASE)[0]
    other_case = add_files([versions / "v2" / "cheongrim_burumi.txt"], corpus, "daangn")[0]
    assert other_case.status == "added" and other_case.earlier == [] and other_case.reason == ""
    frame = api_add([versions / "v2" / "cheongrim_burumi.txt"], CASE["case"], settings=_settings(corpus))
    assert list(frame["status"]) == ["present"]  # its text is in the corpus now (in daangn)
    (versions / "v2" / "cheongrim_burumi.txt").write_text(_interview(21, edited=True), encoding="utf-8")
    frame = api_add([versions / "v2" / "cheongrim_burumi.txt"], CASE["case"], settings=_settings(corpus))
    assert list(frame["status"]) == ["skipped"] and list(frame["earlier"]) == [[first.doc_id]]
    kept = api_add([versions / "v2" / "cheongrim_burumi.txt"], CASE["case"], settings=_settings(corpus),
                   as_new=True)  # fmt: skip
    assert list(kept["status"]) == ["added"] and f"beside {first.doc_id}" in kept["reason"][0]
    assert len(_texts(corpus)) == 3 and first.doc_id in _texts(corpus)
    with pytest.raises(IngestError, match="exclude each other"):
        api_add([versions / "v2" / "cheongrim_burumi.txt"], "daangn", settings=_settings(corpus),
                replace=True, as_new=True)  # fmt: skip


def test_replace_through_the_api_knows_a_hangul_name_written_decomposed(tmp_path, versions) -> None:
    """A Hangul file name written decomposed (as macOS does) is the same name; the replaced document's
    manifest row and files go as `kb remove` takes them, the other documents stay."""
    import unicodedata

    corpus = tmp_path / "corpus"
    composed = versions / "v1" / "청림.txt"
    composed.write_text(_interview(10), encoding="utf-8")
    decomposed = versions / "v2" / unicodedata.normalize("NFD", "청림.txt")
    decomposed.write_text(_interview(10, edited=True), encoding="utf-8")
    old, other = (r.doc_id for r in add_files([composed, versions / "v1" / "cheongrim_burumi.txt"], corpus,
                                              **CASE))  # fmt: skip
    frame = api_add([decomposed], CASE["case"], settings=_settings(corpus), replace=True)
    assert list(frame["status"]) == ["added"] and list(frame["earlier"]) == [[old]]
    assert set(_texts(corpus)) == {other, frame["doc_id"][0]}


def test_two_files_of_one_name_in_one_call_go_to_a_case_only_with_as_new(tmp_path, versions) -> None:
    corpus = tmp_path / "corpus"
    both = [versions / "v1" / "cheongrim_burumi.txt", versions / "v2" / "cheongrim_burumi.txt"]
    first, second = add_files(both, corpus, **CASE, replace=True)
    assert (first.status, second.status) == ("added", "skipped") and "just now" in second.reason
    assert list(_texts(corpus)) == [first.doc_id]
    assert [r.status for r in add_files(both, tmp_path / "other", **CASE, as_new=True)] == ["added"] * 2


def test_a_file_without_speaker_labels_is_added_as_narrative_text_with_a_note(tmp_path, kb_cli) -> None:
    from pipelines.segment import segment_document

    src = tmp_path / "no_labels.txt"
    src.write_text(
        "현장 메모 (5월 3일)\n주민센터를 방문했다. 담당자는 예산이 부족하다고 했다.\n\n"
        "다음 방문은 6월이다. 주민 참여가 늘었다고 한다.\n",
        encoding="utf-8",
    )
    corpus = tmp_path / "corpus"
    result = kb_cli("add", str(src), "--case", "daangn", settings=_settings(corpus))
    assert result.exit_code == 0, result.output  # still added: field notes are a legitimate document
    assert result.stdout.startswith("added") and "no_labels.txt →" in result.stdout
    (note,) = [x for x in result.stderr.splitlines() if x.startswith("note")]
    assert "no speaker turns recognised" in note and "added as narrative text" in note
    passages = [p for row in read_manifest(corpus)[1] for p in segment_document(row, corpus)]
    assert passages and all(p["speaker"] is None and p["question"] is None for p in passages)
    labelled = tmp_path / "면담.txt"
    labelled.write_text("면담자: 예산은요?\n응답자: 부족했습니다.\n", encoding="utf-8")
    assert "no speaker turns" not in add_files([labelled], corpus, "daangn")[0].reason


def test_an_english_interview_is_added_with_a_warning_and_a_hangul_name_stays_in_its_id(
    tmp_path, kb_cli
) -> None:
    """A tester's English interview went in without a word about the coder knowing Korean only, and
    "면담_순천.txt" became "…-doc-…": the id now keeps the name, the warning says what to expect."""
    corpus = tmp_path / "corpus"
    english = tmp_path / "tallinn interview.txt"
    english.write_text(
        "Interviewer: What about the budget?\nRespondent: The council gives us a stable line every year.\n",
        encoding="utf-8",
    )
    result = kb_cli("add", str(english), "--case", "daangn", settings=_settings(corpus))
    assert result.exit_code == 0, result.output
    (warning,) = [x for x in result.stderr.splitlines() if x.startswith("warning")]
    assert "mostly not Korean (0% of its letters are Hangul)" in warning and "review its codes" in warning
    korean = tmp_path / unicodedata.normalize("NFD", "면담_순천 2차.txt")
    korean.write_text("면담자: 예산은요?\n응답자: 부족했습니다. API 연동도 늦었어요.\n", encoding="utf-8")
    (added,) = add_files([korean], corpus, "daangn")
    assert added.doc_id.startswith("add-daangn-면담-순천-2차-") and "not Korean" not in added.reason
