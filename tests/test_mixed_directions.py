"""A passage whose sentences carry both directions of a factor counts under each.

The rule is kb.records.sentence_directions.

The small fixture knowledge base is built again with sentence codes on two budget passages, as the
coder writes them (data/codes.jsonl `sentences`):
- 은평구's first passage: the code reads obstacle, one of its sentences success (auto, no decision);
- the synthesis passage: the code reads obstacle, one sentence success, and a coder *accepted* it
  (the fixture's review), so only the accepted obstacle counts: a decision is the passage's one
  reading for the factor, never an auto reading under the reviewer's name.
Then search filters, the matrix, the cell, the case profile, exports and the chip all see the
auto passage's success sentence; a reviewer who sets the polarity makes it the only direction.
"""

from __future__ import annotations

import json

import pytest
from fixtures_kb import DOCS, build_kb, passage_id

from kb import api
from kb.query.crosscase import cell_passages, matrix
from kb.query.filters import Filters
from kb.records import sentence_directions
from kb.store.kbase import CODES_FILE, KnowledgeBase, forget, read_jsonl, write_jsonl
from kb.ui.components import factor_chip

FOREST = DOCS["eunpyeong_forest"][6][0][0]
SYNTHESIS = DOCS["domestic_synthesis"][6][1][0]
FOREST_ID = passage_id("eunpyeong_forest", FOREST)
SYNTHESIS_ID = passage_id("domestic_synthesis", SYNTHESIS)
BUDGET = "financial_resources"


def _sentence(text: str, sentence: str, polarity: str, confidence: float) -> dict:
    start = text.index(sentence)
    code = {"category": BUDGET, "polarity": polarity, "confidence": confidence, "polarity_confidence": 0.8}
    return {"start": start, "end": start + len(sentence), "codes": [code]}


SENTENCES = {
    FOREST_ID: [  # sentence codes made up for the mechanism: three sentences, three readings
        _sentence(FOREST, "예산과 관련하여", "neutral", 0.6),
        _sentence(FOREST, "다만 해당 플랫폼이 운영된 첫해이므로", "success", 0.64),
        _sentence(FOREST, "따라서 향후 예산 확대가", "obstacle", 0.91),
    ],
    SYNTHESIS_ID: [
        _sentence(SYNTHESIS, "또한, 플랫폼의 효과적인 운영을", "success", 0.7),
        _sentence(SYNTHESIS, "그러나 플랫폼 관련", "obstacle", 0.83),
    ],
}


def _with_sentences(settings, passages) -> None:  # noqa: ANN001
    path = settings.data_dir / CODES_FILE
    rows = read_jsonl(path)
    for row in rows:
        row["sentences"] = SENTENCES.get(row["passage_id"], [])
    write_jsonl(path, rows)


@pytest.fixture(scope="module")
def settings(tmp_path_factory):
    return build_kb(tmp_path_factory.mktemp("kb_mixed"), before_index=_with_sentences)


def _cell(df, case: str) -> dict:
    rows = df[(df["category"] == BUDGET) & (df["case"] == case)].to_dict("records")
    return rows[0] if rows else {}


def test_the_rule_lists_other_directions_with_their_best_sentence() -> None:
    success = [{"category": BUDGET, "polarity": "success", "confidence": c} for c in (0.6, 0.7)]
    sentences = [{"codes": [code]} for code in success]
    sentences.append({"codes": [{"category": "leadership", "polarity": "recommendation", "confidence": 0.9}]})
    assert sentence_directions(BUDGET, "obstacle", sentences) == {"success": 0.7}
    assert sentence_directions(BUDGET, "success", sentences) == {}  # its own polarity is not "also"
    assert sentence_directions("leadership", "obstacle", sentences) == {"recommendation": 0.9}
    # a sentence code under the coder's own threshold (kept from the question's context) is no direction
    weak = [{"codes": [{"category": BUDGET, "polarity": "success", "confidence": 0.07}]}]
    assert sentence_directions(BUDGET, "obstacle", weak) == {}


def test_auto_codes_keep_their_sentence_directions_decided_ones_do_not(settings) -> None:
    codes = KnowledgeBase(settings).codes_df().set_index(["passage_id", "category"])
    assert codes.loc[(FOREST_ID, BUDGET), "polarity"] == "obstacle"
    assert codes.loc[(FOREST_ID, BUDGET), "also"] == {"success": 0.64}  # neutral is not a direction
    accepted = codes.loc[(SYNTHESIS_ID, BUDGET)]
    assert (accepted["source"], accepted["also"]) == ("human", {})


def test_matrix_cell_profile_search_and_export_count_both_directions(settings, kb_cli) -> None:
    kb = KnowledgeBase(settings)
    forest = _cell(matrix(kb), "eunpyeong_forest")
    # two passages, both obstacles; the first also a success: one passage in two columns
    assert (forest["obstacle"], forest["success"], forest["passages"]) == (2, 1, 2)
    assert forest["exemplar_success"] == FOREST_ID
    only_success = matrix(kb, filters=Filters(polarity="success", factor=BUDGET))
    assert set(only_success["case"]) == {"eunpyeong_forest"}  # the accepted obstacle stays one
    assert cell_passages(kb, BUDGET, "eunpyeong_forest", filters=Filters(polarity="success")) == [FOREST_ID]
    # the sentence's confidence counts, not the code's
    for at, cases in ((0.6, ["eunpyeong_forest"]), (0.65, [])):
        confident = Filters(factor=BUDGET, polarity="success", min_confidence=at)
        assert matrix(kb, filters=confident)["case"].tolist() == cases
    profile = api.case_profile("eunpyeong_forest", settings=settings)
    assert BUDGET in [f["category"] for f in profile["factors"]["success"]]
    found = api.search_records("예산", 10, factor=BUDGET, polarity="success", settings=settings)
    assert {r["id"] for r in found} == {FOREST_ID}
    also = {r["id"]: [c["also"] for c in r["codes"] if c["category"] == BUDGET] for r in found}
    assert also == {FOREST_ID: [{"success": 0.64}]}
    rows = api.export("csv", unit="excerpt", factor=BUDGET, settings=settings)
    forest_rows = rows[rows["passage_id"] == FOREST_ID]
    assert list(zip(forest_rows["polarity"], forest_rows["polarity_from"], strict=True)) == [
        ("obstacle", "passage"),
        ("success", "sentence"),
    ]
    listed = kb_cli("search", "예산", "--factor", BUDGET, "--polarity", "success", settings=settings)
    assert listed.exit_code == 0 and f"{BUDGET}(obstacle+success)" in listed.stdout, listed.output
    out = kb_cli("matrix", "--polarity", "success", "--factor", BUDGET, "--json", settings=settings)
    assert out.exit_code == 0, out.output
    assert [r["success"] for r in json.loads(out.output)] == [1]


def test_another_polarity_or_a_re_added_code_is_the_only_direction(settings, tmp_path) -> None:
    from fixtures_kb import copy_kb

    mine = copy_kb(settings, tmp_path)
    api.decide("박코더", FOREST_ID, BUDGET, "set_polarity", polarity="success", settings=mine)
    api.decide("박코더", SYNTHESIS_ID, BUDGET, "reject", settings=mine)
    api.decide("박코더", SYNTHESIS_ID, BUDGET, "add", polarity="obstacle", settings=mine)
    forget(mine)
    kb = KnowledgeBase(mine)
    codes = kb.codes_df().set_index(["passage_id", "category"])
    for pid, polarity in ((FOREST_ID, "success"), (SYNTHESIS_ID, "obstacle")):
        code = codes.loc[(pid, BUDGET)]
        assert (code["source"], code["polarity"], code["also"]) == ("human", polarity, {})
    forest = _cell(matrix(kb), "eunpyeong_forest")
    assert (forest["obstacle"], forest["success"], forest["passages"]) == (1, 1, 2)
    assert _cell(matrix(kb), "domestic_synthesis")["success"] == 0


def test_the_chip_names_the_other_direction() -> None:
    code = {"category": BUDGET, "polarity": "obstacle", "confidence": 0.9, "also": {"success": 0.6}}
    chip = factor_chip(code, {})
    assert "장애 요인" in chip and "＋성공 요인 문장" in chip
    assert "문장" not in factor_chip({"category": BUDGET, "polarity": "obstacle", "also": {}}, {})


def test_the_chip_puts_each_confidence_next_to_what_it_measures() -> None:
    """A sure factor with a doubtful direction: "성공 요인 97%" read as "97% sure it is a success"."""
    code = {"category": BUDGET, "polarity": "success", "confidence": 0.97, "polarity_confidence": 0.63}
    assert "재정 자원 97% · 성공 요인 63%" in factor_chip(code, {BUDGET: "재정 자원"})
    human = {**code, "confidence": 1.0, "polarity_confidence": 1.0, "source": "human", "reviewer": "kim"}
    assert "%" not in factor_chip(human, {BUDGET: "재정 자원"})


def test_a_profile_quotes_the_sentences_of_its_own_direction(settings) -> None:
    from kb.query.profiles import quote

    kb = KnowledgeBase(settings)
    assert quote(kb, FOREST_ID, BUDGET, "success") == "다만 해당 플랫폼이 운영된 첫해이므로"
    assert quote(kb, FOREST_ID, BUDGET, "obstacle") == "따라서 향후 예산 확대가"
    # no sentence of the direction: every sentence of the code, " … " where text was left out between
    assert quote(kb, FOREST_ID, BUDGET, "recommendation") == (
        "예산과 관련하여 … 다만 해당 플랫폼이 운영된 첫해이므로 … 따라서 향후 예산 확대가"
    )
    profile = api.case_profile("eunpyeong_forest", settings=settings)
    (budget,) = [f for f in profile["factors"]["success"] if f["category"] == BUDGET]
    assert budget["quotes"] == [quote(kb, pid, BUDGET, "success") for pid in budget["exemplars"]]
    assert "다만 해당 플랫폼이 운영된 첫해이므로" in budget["quotes"]


def test_a_card_lists_its_most_confident_evidence_sentences_in_text_order(settings) -> None:
    from kb.ui.cards import carrying_sentences
    from kb.ui.state import Resources

    res = Resources(KnowledgeBase(settings))
    every = carrying_sentences(res, FOREST_ID, FOREST, BUDGET)
    assert every == ["예산과 관련하여", "다만 해당 플랫폼이 운영된 첫해이므로", "따라서 향후 예산 확대가"]
    assert carrying_sentences(res, FOREST_ID, FOREST, BUDGET, most=2) == every[1:]  # 0.64 and 0.91, not 0.6


def test_the_search_page_says_which_cards_pass_a_direction_filter_by_one_sentence(
    settings, monkeypatch
) -> None:
    """Under "success", 은평구's budget passage reads obstacle and passes by its success sentence: the page
    says so, so the obstacle chip under a success filter does not look like a broken filter."""
    from streamlit.testing.v1 import AppTest

    from kb.settings import ROOT

    for key, value in (("KB_DATA_DIR", settings.data_dir), ("KB_CORPUS_DIR", settings.corpus_dir)):
        monkeypatch.setenv(key, str(value))
    monkeypatch.setenv("KB_EMBED_MODEL", settings.embed_model)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180).run()
    at.switch_page("kb/ui/search_page.py").run()
    at.selectbox(key="f_polarity").select("success").run()
    at.text_input(key="q").input("예산").run()
    assert not at.exception, [e.value for e in at.exception]
    ids = at.dataframe[0].value["id"].tolist()
    assert FOREST_ID in ids
    notes = [c.value for c in at.caption if "필터:" in c.value]
    assert len(notes) == 1 and f"{len(ids) - 1}개는 코드의 방향이 성공 요인이고, 1개는" in notes[0], notes
