"""A recommendation aimed at another actor never counts as the case's obstacle (issue 14).

The small fixture knowledge base (fixtures_kb) gets one more human code: on a private firm's
passage, a governance code with polarity `recommendation` (advice to government). The matrix
must show it in its own column and leave the obstacle counts as they were.
"""

from __future__ import annotations

import json

import pytest
from fixtures_kb import DOCS, copy_kb, passage_id

from kb.query.crosscase import matrix
from kb.query.filters import Filters
from kb.review.decisions import open_store
from kb.store.kbase import KnowledgeBase, forget


@pytest.fixture(scope="module")
def settings(kb_settings, tmp_path_factory):
    return copy_kb(kb_settings, tmp_path_factory.mktemp("kb_recommendation"))


def _cell(df, category: str, case: str) -> dict:
    rows = df[(df["category"] == category) & (df["case"] == case)].to_dict("records")
    return rows[0] if rows else {}


def test_recommendation_is_not_an_obstacle_in_the_matrix(settings, kb_cli) -> None:
    before = matrix(KnowledgeBase(settings))
    text = DOCS["daangn_interview"][6][0][0]
    pid = passage_id("daangn_interview", text)
    kb = KnowledgeBase(settings)
    store = open_store(settings.reviews_db)
    store.record(
        "박코더", pid, kb.passage_by_id[pid]["text_hash"], "governance", "add", polarity="recommendation"
    )
    forget(settings)
    after = matrix(KnowledgeBase(settings))
    cell = _cell(after, "governance", "daangn")
    assert (cell["recommendation"], cell["obstacle"], cell["success"], cell["passages"]) == (1, 0, 0, 1)
    assert after["obstacle"].sum() == before["obstacle"].sum()
    assert after["recommendation"].sum() == before["recommendation"].sum() + 1
    only_obstacles = matrix(KnowledgeBase(settings), filters=Filters(case="daangn", polarity="obstacle"))
    assert only_obstacles.empty
    recs = matrix(KnowledgeBase(settings), filters=Filters(polarity="recommendation"))
    assert list(zip(recs["category"], recs["case"], strict=True)) == [("governance", "daangn")]
    out = kb_cli("matrix", "--polarity", "recommendation", "--json", settings=settings)
    assert out.exit_code == 0, out.output
    assert [r["recommendation"] for r in json.loads(out.output)] == [1]
