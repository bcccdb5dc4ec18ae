"""The document context embedded above passages and sentences, and the hashes that follow it."""

from __future__ import annotations

import hashlib

from kb.store.embed_context import context, heading
from kb.store.sentence_index import sentences_of
from kb.store.vectorstore import embed_hash, embed_text

HEAD = "1) 플랫폼 이용 현황"
TEXT = "본 플랫폼은 이용자 의견을 매달 반영하였다. 그 결과 만족도가 크게 높아졌다고 담당자는 밝혔다."


def passage(**over: object) -> dict:
    p = {
        "id": "doc:abc",
        "case_name": "경기도 버스정보시스템",
        "case_name_en": "Gyeonggi-do Bus Information System (BIS)",
        "section_path": ["제4장 국내 사례 분석", "제2절 정보제공형 플랫폼 사례", "2. 운영 현황", HEAD],
        "attribution": "section",
        "question": None,
        "text": TEXT,
        "start": 0,
        "sentences": [[0, 24], [25, len(TEXT)]],
        "text_hash": hashlib.sha256(TEXT.encode()).hexdigest(),
    }
    return {**p, **over}


def test_heading_is_the_innermost_one_below_the_chapter_without_numbering() -> None:
    assert heading(passage()) == "플랫폼 이용 현황"
    assert heading(passage(section_path=["제4장 국내 사례 분석", "제5절 소결"])) == "소결"
    assert heading(passage(section_path=["제4장 국내 사례 분석"])) == ""
    # an added transcript's path starts with its file name: no heading
    assert heading(passage(section_path=["면담_시청"], attribution="added")) == ""
    assert heading(passage(section_path=["면담_시청", "(2) 예산"], attribution="added")) == "예산"


def test_passage_is_embedded_below_case_names_and_heading_and_question() -> None:
    p = passage(question="운영 예산은 어떻게 마련했나요?")
    lines = embed_text(p).split("\n")
    assert lines == [
        "경기도 버스정보시스템 (Gyeonggi-do Bus Information System (BIS)) · 플랫폼 이용 현황",
        "운영 예산은 어떻게 마련했나요?",
        TEXT,
    ]
    assert context(p, ()) == "" and context(p, ("case",)) == "경기도 버스정보시스템"


def test_embed_hash_follows_the_context() -> None:
    p = passage()
    assert embed_hash(p) != p["text_hash"]  # the text is not embedded alone
    assert embed_hash(passage(case_name="경기도 BIS")) != embed_hash(p)  # a renamed case re-embeds
    assert embed_hash(passage(section_path=["제4장", "제2절 사례", "3) 향후 과제"])) != embed_hash(p)
    assert embed_hash(passage(group="other")) == embed_hash(p)  # what is not embedded changes nothing


def test_sentence_ids_follow_the_sentence_context_only() -> None:
    p = passage()
    sents = sentences_of(p)
    assert [s.text for s in sents] == [TEXT[:24], TEXT[25:]]
    assert all(s.embedded == f"경기도 버스정보시스템\n{s.text}" for s in sents)
    renamed = sentences_of(passage(case_name="경기도 BIS"))
    assert not {s.id for s in sents} & {s.id for s in renamed}  # renamed: new ids, the old pruned
    # the heading is not embedded with sentences, so a new heading keeps them
    moved = sentences_of(passage(section_path=["제4장", "제2절 사례", "3) 향후 과제"]))
    assert [s.id for s in moved] == [s.id for s in sents]


def test_without_context_the_old_hashes_and_ids_stay() -> None:
    """A passage with no case name and no heading is embedded as its text alone, under the hash and
    sentence ids a store built before the context existed holds."""
    p = passage(case_name="", case_name_en="", section_path=["제4장 국내 사례 분석"])
    assert embed_text(p) == TEXT and embed_hash(p) == p["text_hash"]
    s = sentences_of(p)[0]
    assert s.embedded == s.text
    assert s.id == f"doc:abc#0.{hashlib.sha1(s.text.encode()).hexdigest()[:8]}"
