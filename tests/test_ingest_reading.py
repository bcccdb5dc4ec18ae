"""How `kb add` reads what researchers actually save: text pasted from a PDF (hard-wrapped, CP949,
CRLF), a metadata header above the first turn, timestamps, Markdown, numbered Q/A labels. The
passages that come out must hold running text, with the answer's real question, and their offsets
must slice the document text `kb add` wrote (what exports read)."""

from __future__ import annotations

import difflib
import json

import docx
import pytest

from kb.exchange.ingest import add_files, read_manifest
from kb.exchange.transcript import read_transcript
from kb.exchange.unwrap import Break, separators
from kb.text.textclean import display_width
from pipelines.segment import segment_document

CASE = dict(case="wrap_case", case_name="청솔군 면담", group="domestic", platform_type="private_brokerage")
# Turns of an interview (from a tester's transcript) as typed: one turn per line.
TURNS = [
    ("면담자", "오늘 시간 내주셔서 감사합니다. 먼저 청솔배달을 어떻게 시작하게 되셨는지 말씀해 주시겠어요?"),
    (
        "응답자",
        "네, 그게 2021년에 군수님이 공약으로 내거셨던 거예요. 코로나 때 읍내 식당들이 민간 배달앱 "
        "수수료 때문에 너무 힘들다고 해서, 군수님이 직접 챙기시면서 빨리 추진이 됐죠.",
    ),
    ("면담자", "처음에 준비하시면서 가장 어려웠던 점은 뭐였나요?"),
    (
        "응답자",
        "솔직히 사람이죠. 저희 팀이 세 명인데 그 중에 앱이나 IT 아는 사람이 한 명도 없었어요. "
        "다 순환보직으로 온 사람들이라 1년 지나면 또 바뀌고.",
    ),
    ("면담자", "개발은 외부에 맡기셨어요?"),
    (
        "응답자",
        "네, 위탁 운영사에 통째로 맡겼는데, 그러다 보니까 저희가 뭘 요구해야 하는지도 잘 몰랐어요. "
        "오류가 나도 업체 연락만 기다리는 식이었고요.",
    ),
    ("면담자", "예산 쪽은 어땠습니까?"),
    (
        "응답자",
        "첫해는 도비 매칭으로 3억 정도 받아서 괜찮았는데, 그 다음 해부터 도비가 끊겼어요. "
        "군비로만 하려니까 운영비 대기도 빠듯하고, 홍보비는 거의 못 썼죠.",
    ),
    ("면담자", "주민들 반응은 어땠어요?"),
    (
        "응답자",
        "읍내 젊은 층은 그래도 좀 썼는데, 면 지역 어르신들은 거의 안 쓰셨어요. 스마트폰으로 주문하는 것 "
        "자체를 어려워하시고, 그냥 전화로 시키는 게 편하다고 하세요.",
    ),
    ("면담자", "다른 지자체가 공공배달앱을 한다면 어떤 조언을 하시겠어요?"),
    (
        "응답자",
        "도나 중앙정부가 공통 플랫폼을 만들어 주면 군 단위에서 따로따로 개발할 필요가 없을 것 같아요.",
    ),
]
TITLE = "청솔군 공공배달앱 「청솔배달」 담당자 면담 녹취"


def _wrapped(lines: list[str], width: int = 40) -> list[str]:
    """Lines broken every `width` characters, inside words too, trailing spaces lost (a PDF paste)."""
    out = []
    for line in lines:
        while len(line) > width:
            out.append(line[:width].rstrip())
            line = line[width:].lstrip()
        out.append(line)
    return out


def _passages(corpus) -> list[dict]:
    return [p for row in read_manifest(corpus)[1] for p in segment_document(row, corpus)]


def _words_differing(a: str, b: str) -> int:
    sm = difflib.SequenceMatcher(None, a.split(), b.split(), autojunk=False)
    return sum(i2 - i1 for op, i1, i2, _, _ in sm.get_opcodes() if op != "equal")


def test_a_hard_wrapped_cp949_transcript_is_read_as_running_text(tmp_path) -> None:
    original = [TITLE, *(f"{who}: {text}" for who, text in TURNS)]
    src = tmp_path / "청솔.txt"
    src.write_bytes("\r\n".join(_wrapped(original)).encode("cp949"))
    corpus = tmp_path / "corpus"
    [result] = add_files([src], corpus, **CASE)
    assert result.status == "converted" and result.joined > 10
    assert f"joined {result.joined} wrapped lines" in result.reason
    passages = _passages(corpus)
    answers = [text for who, text in TURNS if who == "응답자"]
    got = {p["question"]: p["text"] for p in passages}
    assert all("\n" not in p["text"] for p in passages)
    pairs = zip(TURNS[::2], TURNS[1::2], strict=True)
    assert sum(_words_differing(got[q], a) for (_, q), (_, a) in pairs) <= 2
    # the words broken at the line ends are whole again, the spaces between words kept
    text = " ".join(got.values())
    for words in (
        "코로나 때",
        "군수님이 직접",
        "IT 아는 사람이",
        "따로따로 개발할",
        "식이었고요.",
        "안 쓰셨어요.",
    ):
        assert words in text
    assert len(passages) == len(answers)  # one passage per answer; the title is header (meta)
    row = read_manifest(corpus)[1][0]
    doc = (corpus / row["text_file"]).read_text(encoding="utf-8")
    assert all(doc[p["start"] : p["end"]] == p["text"] for p in passages)  # exports' offsets hold
    # the same interview unwrapped (another file, UTF-8) is the same text: not added twice
    again = tmp_path / "원본.txt"
    again.write_text("\n".join(original) + "\n", encoding="utf-8")
    [second] = add_files([again], corpus, "wrap_case")
    assert second.status == "present" and second.doc_id == result.doc_id


def test_lines_of_sentences_or_turns_keep_their_line_breaks() -> None:
    # one sentence per line, and spoken lines without punctuation of very different lengths
    lines = [
        "응답자: 예산이 단년도로 편성되어 사업이 끊기는 경우가 많습니다.",
        "유지보수 비용도 전액 구비로 충당하고 있습니다.",
        "면담자: 인력은요?",
        "응답자: 인력은 한 명뿐이었어요",
        "그래서 유지보수는 거의 못 했고 민원이 들어와도 바로 대응을 못 하는 상황이 계속됐어요",
        "네 그랬죠",
        "결국 작년에 업체를 바꿨습니다",
        "그 뒤로는 좀 나아졌어요",
    ]
    read = read_transcript([(line, 0) for line in lines], "t")
    assert read.joined == 0
    turns = [read.text[b["start"] : b["end"]] for b in read.blocks]
    assert turns[0] == "\n".join(line.removeprefix("응답자: ") for line in lines[:2])
    assert turns[2].count("\n") == 4


@pytest.mark.parametrize(
    ("line", "body", "spaced", "after", "sep"),
    [
        ("코로", "코로", False, "나 때 읍내", ""),  # inside a word (Kiwi: 코로나)
        ("군", "군", False, "수님이 직접", ""),
        ("상인회랑 협약을 맺고", "상인회랑 협약을 맺고", False, "회장님이 직접", " "),  # Kiwi: two words
        ("거의 안", "거의 안", False, "쓰셨어요.", " "),
        ("협약을 맺", "협약을 맺", True, "고 회장님이", " "),  # ended in a space: a word ended there
        ("힘들다고 해서,", "힘들다고 해서,", False, "군수님이", " "),  # after a comma
        ("결제하면 10%", "결제하면 10%", False, "할인이 되니까", " "),
        ("그 중에 앱이나 IT", "그 중에 앱이나 IT", False, "는 사람", ""),  # a particle after Latin letters
        ("그게 2021", "그게 2021", False, "년에 군수님이", ""),  # a counter after digits
        ("앱이나", "앱이나", False, "IT 아는", " "),  # Latin letters: a space
    ],
)
def test_how_a_wrapped_line_is_joined(line, body, spaced, after, sep) -> None:
    assert separators([Break(line, body, spaced, after)], wrap=display_width(line)) == [sep]
    assert separators([Break(line, body, spaced, after)], wrap=None) == ["\n"]  # not wrapped: kept


def _header_docx(path, first_question: str) -> None:
    d = docx.Document()
    d.add_heading("한빛시 주민제안 플랫폼 심층면담 녹취록", 1)
    d.add_paragraph("면담 일시: 2023년 5월 17일(수) 14:00~15:10")
    d.add_paragraph("장소: 한빛시청 3층 소회의실")
    d.add_paragraph("면담 대상: 김OO 주무관 (한빛시 자치행정과)")
    d.add_paragraph("면담자: 연구자 이OO (OO대학교 행정학과)")
    d.add_paragraph("※ 녹음 및 연구 활용에 대한 동의를 받았음.")
    d.add_paragraph(f"[00:00:12] 연구자: {first_question}")
    d.add_paragraph("[00:00:20] 김OO 주무관: 네, 시민들이 온라인으로 정책을 제안하는 구조예요.")
    d.add_paragraph("[00:01:40] 연구자: 부서 간 협조는 어땠나요?")
    d.add_paragraph("[00:01:48] 김OO 주무관: 그게 제일 힘들었어요.")
    d.save(path)


def test_a_metadata_header_is_kept_apart_from_the_first_question(tmp_path) -> None:
    src = tmp_path / "한빛.docx"
    _header_docx(src, "먼저 한빛 소통마당이 어떤 플랫폼인지 소개 부탁드립니다.")
    corpus = tmp_path / "corpus"
    [result] = add_files([src], corpus, **CASE)
    assert result.speakers == ["연구자", "김OO 주무관"]
    passages = _passages(corpus)
    assert [(p["question"], p["text"]) for p in passages] == [
        (
            "먼저 한빛 소통마당이 어떤 플랫폼인지 소개 부탁드립니다.",
            "네, 시민들이 온라인으로 정책을 제안하는 구조예요.",
        ),
        ("부서 간 협조는 어땠나요?", "그게 제일 힘들었어요."),
    ]  # the header (and the researcher's name in it) is neither a question nor a passage
    row = read_manifest(corpus)[1][0]
    blocks = [json.loads(x) for x in (corpus / row["blocks_file"]).read_text("utf-8").splitlines()]
    doc = (corpus / row["text_file"]).read_text(encoding="utf-8")
    [meta] = [doc[b["start"] : b["end"]] for b in blocks if b["kind"] == "meta"]
    assert (
        meta.startswith("면담 일시: 2023년")
        and "면담자: 연구자 이OO" in meta
        and meta.endswith("동의를 받았음.")
    )


def test_a_title_and_a_recording_tools_lines_are_header_a_preface_is_not() -> None:
    lines = [
        "해온시 주차나눔 플랫폼 담당자 인터뷰",
        "2024.06.03 월 오전 10:02 ・ 52분 40초",
        "참석자 1 참석자 2",
        "",
        "참석자 1 00:02",
        "주차나눔이 어떤 사업인지 설명 부탁드려도 될까요?",
        "",
        "참석자 2 00:11",
        "네, 빈 주차면을 시간 단위로 공유하는 플랫폼이에요.",
    ]
    t = read_transcript([(line, 0) for line in lines], "t")
    assert [b["kind"] for b in t.blocks] == ["meta", "quote", "quote"]
    preface = "본 면담은 2023년 5월 청솔군청에서 진행되었다."
    t = read_transcript([(preface, 0), ("", 0), ("면담자: 예산은요?", 0), ("응답자: 부족했어요.", 0)], "t")
    assert [b["kind"] for b in t.blocks] == ["narrative", "quote", "quote"]  # a sentence: the researcher's


def test_a_first_question_under_a_role_label_stays_a_question(tmp_path) -> None:
    src = tmp_path / "면담.txt"
    src.write_text(
        "일시: 2023년 5월 17일\n면담자: 먼저 소개 부탁드립니다\n응답자: 네, 저는 자치행정과 주무관입니다.\n"
        "면담자: 연구자 이OO입니다. 예산은요?\n응답자: 부족했어요.\n",
        encoding="utf-8",
    )
    corpus = tmp_path / "corpus"
    add_files([src], corpus, **CASE)
    assert [(p["question"], p["text"]) for p in _passages(corpus)] == [
        ("먼저 소개 부탁드립니다", "네, 저는 자치행정과 주무관입니다."),
        ("연구자 이OO입니다. 예산은요?", "부족했어요."),
    ]
    # without speakers there is no header to tell apart: "key: value" lines stay text
    plain = read_transcript([("일시: 2023년 5월", 0), ("예산이 부족했다.", 0)], "t")
    assert [b["kind"] for b in plain.blocks] == ["narrative"]


def test_timestamps_are_left_out_of_passages(tmp_path) -> None:
    src = tmp_path / "clova.txt"
    src.write_text(
        "면담자 00:00:05\n예산은 충분했나요?\n\n응답자 00:00:09\n"
        "아니요, 예산이 늘 부족했어요. [00:00:15] 그래서 홍보를 거의 못 했어요.\n\n"
        "[00:01:02]\n면담자: 인력은요?\n(00:01:10)\n응답자: 담당자가 한 명뿐이에요.\n",
        encoding="utf-8",
    )
    corpus = tmp_path / "corpus"
    add_files([src], corpus, **CASE)
    passages = _passages(corpus)
    assert [(p["question"], p["text"]) for p in passages] == [
        ("예산은 충분했나요?", "아니요, 예산이 늘 부족했어요. 그래서 홍보를 거의 못 했어요."),
        ("인력은요?", "담당자가 한 명뿐이에요."),
    ]
    row = read_manifest(corpus)[1][0]
    doc = (corpus / row["text_file"]).read_text(encoding="utf-8")
    assert "[00:00:15]" not in doc and "[00:01:02]" not in doc  # the text the offsets point into
    assert all(doc[p["start"] : p["end"]] == p["text"] for p in passages)


def test_markdown_marks_and_a_note_before_the_first_turn(tmp_path) -> None:
    src = tmp_path / "서하.md"
    src.write_text(
        "# 서하바이크 담당자 면담\n\n- 일시: 2023. 9. 12.(화)\n- 대상: 교통정책과 박OO 팀장\n\n"
        "> 아래 내용은 녹음 파일을 바탕으로 연구진이 정리한 것임.\n\n---\n\n"
        "**Q1.** 운영에서 어려운 점은요?\n\nA1. 두 가지예요.\n- **예산**이 부족하고\n- 인력이 모자라요.\n"
        "> 공단에 열두 명뿐이에요.\n\n**Q2.** 이용자는 늘었나요?\n\nA2. 네, 두 배가 됐어요.\n\n"
        "Q3. 조언은요?\n\nA3. 앱보다 운영 체계가 중요해요.\n\n"
        "**질문**: 마지막 말씀은요?\n\n**답변**: 없습니다.\n",
        encoding="utf-8",
    )
    corpus = tmp_path / "corpus"
    [result] = add_files([src], corpus, **CASE)
    assert result.speakers == ["Q", "A"]  # numbered labels and 질문/답변: one interviewer, one respondent
    passages = _passages(corpus)
    assert [(p["speaker"], p["question"], p["text"]) for p in passages] == [
        (
            "A",
            "운영에서 어려운 점은요?",
            "두 가지예요.\n예산이 부족하고\n인력이 모자라요.\n공단에 열두 명뿐이에요.",
        ),
        ("A", "이용자는 늘었나요?", "네, 두 배가 됐어요."),
        ("A", "조언은요?", "앱보다 운영 체계가 중요해요."),
        ("A", "마지막 말씀은요?", "없습니다."),
    ]
