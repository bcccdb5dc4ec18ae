"""`kb code`'s input reads a transcript as `kb add` does (kb.exchange.transcript): a .docx, wrapped
lines joined, the header and timestamps left out; each unit keeps the line it came from."""

from __future__ import annotations

import docx
import pytest

from kb.coding.code_input import contexts, parse_lines, read_units
from kb.errors import KbError

WRAPPED = (
    "면담자: 오늘 시간 내주셔서 감사합니다. 먼저 청솔배달을 어떻게 시작하게\n"
    "되셨는지 말씀해 주시겠어요?\n"
    "응답자: 네, 그게 2021년에 군수님이 공약으로 내거셨던 거예요. 코로\n"
    "나 때 읍내 식당들이 민간 배달앱 수수료 때문에 너무 힘들다고 해서, 군\n"
    "수님이 직접 챙기시면서 빨리 추진이 됐죠.\n"
    "면담자: 처음에 준비하시면서 가장 어려웠던 점은 뭐였나요?\n"
    "응답자: 솔직히 사람이죠. 저희 팀이 세 명인데 그 중에 앱이나 IT 아\n"
    "는 사람이 한 명도 없었어요. 다 순환보직으로 온 사람들이라 1년 지나면\n"
    "또 바뀌고.\n"
    "면담자: 개발은 외부에 맡기셨어요?\n"
    "응답자: 네, 위탁 운영사에 통째로 맡겼는데, 그러다 보니까 저희가 뭘\n"
    "요구해야 하는지도 잘 몰랐어요. 오류가 나도 업체 연락만 기다리는 식이었\n"
    "고요.\n"
)


def test_a_wrapped_transcript_is_coded_turn_by_turn_not_line_by_line(tmp_path) -> None:
    path = tmp_path / "청솔.txt"
    path.write_bytes(WRAPPED.replace("\n", "\r\n").encode("cp949"))
    units, errors = read_units(path)
    assert not errors
    assert [(u.id, u.speaker) for u in units] == [
        ("1", "면담자"), ("3", "응답자"), ("6", "면담자"),
        ("7", "응답자"), ("10", "면담자"), ("11", "응답자"),
    ]  # fmt: skip
    first = units[1]
    assert (
        first.text.startswith("네, 그게 2021년에")
        and "코로나 때" in first.text
        and "군수님이 직접" in first.text
    )
    assert (
        first.question
        == "오늘 시간 내주셔서 감사합니다. 먼저 청솔배달을 어떻게 시작하게 되셨는지 말씀해 주시겠어요?"
    )
    assert [c["speaker"] for c in contexts(units)][:2] == ["면담자", "응답자"]
    assert "\n" not in "".join(u.text for u in units)


def test_a_docx_with_a_header_table_and_timestamps(tmp_path) -> None:
    d = docx.Document()
    d.add_heading("면담 녹취록", 1)
    d.add_paragraph("일시: 2023년 5월 17일")
    d.add_paragraph("면담자: 연구자 이OO (OO대학교)")
    d.add_paragraph("[00:00:12] 참석자 1: 예산은 어떠셨어요?")
    d.add_paragraph("[00:00:20] 참석자 2: 늘 부족했어요. [00:00:25] 그래서 홍보를 못 했어요.")
    d.add_paragraph("[00:01:00] 참석자 1: 인력은 몇 명이었나요?")
    d.add_paragraph("[00:01:05] 참석자 2: 한 명이었어요.")
    d.save(tmp_path / "면담.docx")
    units, _ = read_units(tmp_path / "면담.docx")
    assert [(u.speaker, u.question, u.text, u.interviewer) for u in units] == [
        ("참석자 1", None, "예산은 어떠셨어요?", True),  # the one who asks, by kb add's rule
        ("참석자 2", "예산은 어떠셨어요?", "늘 부족했어요. 그래서 홍보를 못 했어요.", False),
        ("참석자 1", None, "인력은 몇 명이었나요?", True),
        ("참석자 2", "인력은 몇 명이었나요?", "한 명이었어요.", False),
    ]
    assert contexts(units)[0]["speaker"] == "interviewer"  # so the coder leaves the question uncoded
    broken = tmp_path / "broken.docx"
    broken.write_bytes(b"PK\x03\x04 not a docx")
    with pytest.raises(KbError, match="broken.docx.* not a readable zip"):
        read_units(broken)


def test_a_table_in_an_answer_is_one_unit_as_it_is_one_passage(tmp_path) -> None:
    d = docx.Document()
    d.add_paragraph("면담자: 이용은 어떤가요?")
    d.add_paragraph("응답자: 해마다 늘었어요.")
    table = d.add_table(rows=3, cols=2)
    for row, cells in zip(
        table.rows, [("연도", "호출 건수"), ("2022", "18,200"), ("2023", "31,000")], strict=True
    ):
        for cell, value in zip(row.cells, cells, strict=True):
            cell.text = value
    d.add_paragraph("면담자: 예산은요?")
    d.save(tmp_path / "면담.docx")
    units, _ = read_units(tmp_path / "면담.docx")
    texts = [u.text for u in units]
    assert texts[2] == "연도 | 호출 건수\n2022 | 18,200\n2023 | 31,000" and len(units) == 4, texts


def test_plain_lines_and_json_lines_are_units_as_before() -> None:
    units, errors = parse_lines(["예산이 부족했다.", "", "인력도 부족했다.", "일시: 2023년"])
    assert [(u.id, u.text, u.speaker) for u in units] == [
        ("1", "예산이 부족했다.", None), ("3", "인력도 부족했다.", None), ("4", "일시: 2023년", None),
    ]  # fmt: skip
    units, errors = parse_lines(['{"id": "a", "text": "예산이 부족했다."}', "인력도 부족했다.", "{bad"])
    assert [(u.id, u.text) for u in units] == [("a", "예산이 부족했다."), ("2", "인력도 부족했다.")]
    assert [e.line for e in errors] == [3]
