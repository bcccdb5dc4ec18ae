"""A transcript's header: the "key: value" lines before the first turn (일시, 장소, 면담 대상, …),
and its title and a recording tool's date and participant lines (`is_title_line`).

A header line "면담자: 연구자 이OO (OO대학교 행정학과)" looks like the interviewer's first turn;
read as one, the researcher's name became the question of the first answer (and of every
export). So before the first turn a labelled line is metadata when its key is a header key and
its value says nothing but names, numbers and dates: Kiwi finds no predicate, ending, adverb or
interjection in it and it asks nothing. "면담자: 먼저 소개 부탁드립니다" has a predicate and stays
a question.
"""

from __future__ import annotations

import re

from kb.text.morphs import get_kiwi

# Keys that only ever head metadata ("면담 일시", "인터뷰 장소" end in one of _KEY_ENDS).
_META_KEYS = frozenset(
    {
        *("일시", "날짜", "일자", "시간", "장소", "대상", "주제", "제목", "비고", "참고", "기관", "부서"),
        *("소속", "직위", "직책", "성명", "이름", "참석", "면담", "인터뷰", "녹취", "녹취자", "전사자"),
        *("기록자", "작성자", "작성일", "면담방식", "방식", "형식", "date", "place", "location", "time"),
    }
)
_KEY_ENDS = ("일시", "일자", "날짜", "장소", "대상", "시간")
# Speaker roles that also head a header line ("면담자: 연구자 이OO", "참석자: 김OO, 이OO").
_ROLE_KEYS = frozenset(
    {
        *("면담자", "면접자", "조사자", "연구자", "연구진", "진행자", "사회자", "인터뷰어", "응답자"),
        *("피면담자", "참석자", "참여자", "연구참여자", "구술자", "interviewer", "interviewee"),
    }
)
# Tags that make a value more than a name, number or date: predicates, endings, adverbs, interjections.
_SAYS_MORE = ("V", "E", "MA", "IC", "XSV", "XSA")
_PARENS = re.compile(r"\([^()]*\)")
MAX_VALUE = 80


def is_title_line(text: str) -> bool:
    """Whether an unlabelled line before the first turn is a title or a recording tool's line ("청솔군
    돌봄 앱 면담", "2024.06.03 월 오전 10:02 ・ 52분 40초", "참석자 1 참석자 2") rather than a
    researcher's preface: short, and no sentence ends in it."""
    text = text.strip()
    if not text or len(text) > MAX_VALUE or "?" in text or "？" in text:
        return False
    return not any(token.tag.startswith("EF") for token in get_kiwi().tokenize(text))


def is_header_line(key: str, value: str) -> bool:
    """Whether "key: value" before the first turn is metadata rather than a turn."""
    norm = re.sub(r"\s+", "", key).casefold()
    if norm not in _META_KEYS and norm not in _ROLE_KEYS and not norm.endswith(_KEY_ENDS):
        return False
    value = value.strip()
    if not value or len(value) > MAX_VALUE or "?" in value or "？" in value:
        return False
    if norm not in _ROLE_KEYS:
        return True
    # outside parentheses only nouns, numbers, symbols (kiwi reads "(…행정과)" as a particle 과)
    outside = _PARENS.sub(" ", value)
    for token in get_kiwi().tokenize(value):
        if token.tag.startswith(_SAYS_MORE):
            return False
    return not any(t.tag.startswith("J") and t.tag not in ("JKG", "JC") for t in get_kiwi().tokenize(outside))
