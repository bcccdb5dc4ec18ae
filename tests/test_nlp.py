"""The Kiwi-backed spaCy pipeline: exact round trip, lemmas, sentences, registry, pickling."""

from __future__ import annotations

import pickle

import pytest
import spacy

from kb.text.nlp import KiwiTokenizer, content_lemmas, get_nlp

SENTENCES = [
    "예산이 부족했다.",
    "담당자가 직접 봤다고 했다.",
    "사업을 추진해서 결국 됐다!",
    "주민 참여가 저조했던 반면, 만족도는 높았다.",
    "GPS 기반 서비스는 2022년 3.5% 증가했음.",
    "해보았지만 안 됐어요…   그래도 다시 해봤다.",
    "「배달특급」의 가맹점 수는 5만 개(2022.4. 기준)이다.",
    "Smart Nation 정책은 PM Office가 총괄합니다.",
    "줄바꿈이\n있는 문장과\t탭, 그리고  두 칸 띄어쓰기",
    "  앞뒤 공백  ",
    "이모지 😀 와 한자 行政, 그리고 URL https://example.org/a?b=1 도 있다.",
    "‘버스정보 시스템’은 13,000대 버스의 실시간 위치정보를 제공한다.",
    "도와줬고 나았다 빨라서 좋아요 걸어서 왔다 입니다",
    "1) 첫째, 2) 둘째 — 셋째: ~끝~",
    "ㅋㅋ ㅠㅠ 단독 자모도 섞여 있다",
]


@pytest.fixture(scope="module")
def nlp():
    return get_nlp()


@pytest.mark.parametrize("text", SENTENCES)
def test_round_trip_and_offsets(nlp, text):
    doc = nlp(text)
    assert doc.text == text
    assert "".join(t.text_with_ws for t in doc) == text
    for tok in doc:
        assert text[tok.idx : tok.idx + len(tok.text)] == tok.text


def test_long_report_chunks_round_trip(nlp):
    text = " ".join(SENTENCES) * 40
    doc = nlp(text)
    assert doc.text == text
    assert len(list(doc.sents)) > 40


def test_contractions_are_single_tokens_with_lemmas(nlp):
    doc = nlp("예산이 부족했다. 그래서 봤다. 추진해서 됐다.")
    by_text = {t.text: t for t in doc}
    assert by_text["했"].lemma_ == "하다" and by_text["했"].tag_ == "XSA+EP"
    assert by_text["봤"].lemma_ == "보다" and by_text["봤"].tag_.startswith("VV")
    assert by_text["해서"].lemma_ == "하다"
    assert by_text["됐"].lemma_ == "되다"
    assert by_text["예산"].tag_ == "NNG" and by_text["이"].tag_ == "JKS"


def test_predicate_lemmas_end_in_da(nlp):
    doc = nlp("서비스가 빨라서 좋았고 걸어서 왔다")
    lemmas = {t.lemma_ for t in doc}
    assert {"빠르다", "좋다", "걷다", "오다"} <= lemmas
    assert "좋다" in content_lemmas(doc)


def test_sentences_come_from_kiwi(nlp):
    doc = nlp("첫 번째 문장이다. 두 번째 문장이다! 세 번째인가?")
    sents = [s.text.strip() for s in doc.sents]
    assert sents == ["첫 번째 문장이다.", "두 번째 문장이다!", "세 번째인가?"]


@pytest.mark.parametrize("text", ["", " ", "\n\n", "   \t "])
def test_empty_and_blank(nlp, text):
    doc = nlp(text)
    assert doc.text == text


def test_registry_config_and_pickle(nlp):
    fresh = spacy.blank("ko", config={"nlp": {"tokenizer": {"@tokenizers": "kb.KiwiTokenizer.v1"}}})
    assert isinstance(fresh.tokenizer, KiwiTokenizer)
    assert get_nlp() is nlp
    clone = pickle.loads(pickle.dumps(nlp))
    assert [t.lemma_ for t in clone("예산이 부족했다")] == [t.lemma_ for t in nlp("예산이 부족했다")]


def test_ten_thousand_characters(nlp):
    text = ("플랫폼 운영 예산이 부족했다. " * 700)[:10_000]
    doc = nlp(text)
    assert doc.text == text
