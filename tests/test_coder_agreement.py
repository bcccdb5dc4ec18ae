"""Two coders on the same passages: agreement on factor and polarity, and every differing unit listed."""

from __future__ import annotations

from fixtures_kb import copy_kb

from kb import api
from kb.review import agreement
from kb.review import queue as rq
from kb.store.kbase import KnowledgeBase, forget


def test_polarity_and_added_factors_count_as_disagreements(kb_settings, tmp_path) -> None:
    mine = copy_kb(kb_settings, tmp_path)
    kb = KnowledgeBase(mine)
    first, second = [it.passage_id for it in rq.queue(kb)[:2]]
    suggested = {pid: [c["category"] for c in rq.auto_by_id(kb)[pid]["codes"]] for pid in (first, second)}
    x = suggested[first][0]
    y = next(c for c in kb.codebook.ids if c not in suggested[first])
    for coder in ("hana", "jun"):  # both done with both passages
        for pid in (first, second):
            for cat in suggested[pid]:
                api.decide(coder, pid, cat, "accept", settings=mine)
    api.decide("hana", first, x, "set_polarity", polarity="obstacle", settings=mine)
    api.decide("jun", first, x, "set_polarity", polarity="success", settings=mine)
    api.decide("hana", first, y, "add", polarity="obstacle", settings=mine)  # jun did not code it
    forget(mine)
    kb = KnowledgeBase(mine)

    pairs = agreement.between_coders(kb).set_index("category")
    assert pairs.loc[x, "factor_agreement"] == 1.0 and pairs.loc[x, "agreement"] == 0.5  # 2 passages
    assert pairs.loc[y, "factor_agreement"] == 0.5 and pairs.loc[y, "agreement"] == 0.5
    total = pairs.loc[agreement.TOTAL]
    assert total["agreement"] < total["factor_agreement"] < 1.0
    assert total["alpha"] < total["factor_alpha"] < 1.0

    differ = agreement.disagreements(kb)
    got = {(r.passage_id, r.category): (r.decision_a, r.decision_b) for r in differ.itertuples()}
    assert got == {
        (first, x): ("accepted obstacle", "accepted success"),
        (first, y): ("accepted obstacle", "not coded"),
    }
    assert set(zip(differ["coder_a"], differ["coder_b"], strict=True)) == {("hana", "jun")}
