"""Two coders on the same passages: agreement on factor and polarity, and every differing unit listed."""

from __future__ import annotations

import pandas as pd
import pytest
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


def two_coders_differ(kb_settings, tmp_path) -> tuple:
    """A private knowledge base where hana reads the first queued passage's first suggestion as an
    obstacle and jun, later, as a success: (settings, passage id, category)."""
    mine = copy_kb(kb_settings, tmp_path)
    kb = KnowledgeBase(mine)
    pid = rq.queue(kb)[0].passage_id
    x = rq.auto_by_id(kb)[pid]["codes"][0]["category"]
    api.decide("hana", pid, x, "set_polarity", polarity="obstacle", settings=mine)
    api.decide("jun", pid, x, "set_polarity", polarity="success", settings=mine)
    forget(mine)
    return mine, pid, x


def test_a_qdpx_export_keeps_each_coders_own_coding(kb_settings, tmp_path) -> None:
    """Another QDA tool recomputes the agreement from the codings' users: each coder who accepted or
    added a code has their own coding, in their own polarity (the effective code alone would lose
    the earlier coder)."""
    from kb.exchange.refiqda import MACHINE_USER, code_guid, read_qdpx

    mine, pid, x = two_coders_differ(kb_settings, tmp_path)
    path = tmp_path / "double.qdpx"
    api.export("qdpx", path=path, settings=mine)
    codings = read_qdpx(path)
    unit = codings[codings["selection"] == pid]
    ours = {(r.user, r.code_guid) for r in unit.itertuples() if r.user != MACHINE_USER}
    assert ours == {("hana", code_guid(x, "obstacle")), ("jun", code_guid(x, "success"))}
    assert code_guid(x, "success") not in set(unit.loc[unit["user"] == MACHINE_USER, "code_guid"])


def test_a_disputed_code_is_flagged_on_cards_and_in_exports(kb_settings, tmp_path) -> None:
    """Until two coders agree the later decision counts; search results and excerpt exports say the
    code is disputed, and stop saying so once they agree."""
    mine, pid, x = two_coders_differ(kb_settings, tmp_path)

    def flags() -> tuple[set, set]:
        rows = api.export("csv", settings=mine)
        exported = {(r.passage_id, r.category) for r in rows.itertuples() if r.disputed}
        found = api.search_records("플랫폼", 200, settings=mine)  # every passage of the small store
        assert pid in {r["id"] for r in found}
        carded = {(r["id"], c["category"]) for r in found for c in r["codes"] if c["disputed"]}
        return exported, carded

    assert flags() == ({(pid, x)}, {(pid, x)})
    api.decide("hana", pid, x, "set_polarity", polarity="success", settings=mine)  # they agree now
    assert flags() == (set(), set())
    # and the card and the export name both coders, not only the last one
    from kb.ui.components import factor_chip

    (code,) = [c for r in api.search_records("플랫폼", 200, settings=mine) if r["id"] == pid
               for c in r["codes"] if c["category"] == x]  # fmt: skip
    assert code["agreed_by"] == ["hana", "jun"] and "hana · jun 합의" in factor_chip(code, {})
    rows = api.export("csv", settings=mine)
    assert rows.loc[(rows["passage_id"] == pid) & (rows["category"] == x), "agreed_by"].tolist() == [
        "hana; jun"
    ]


def test_the_chip_of_a_disputed_code_says_so() -> None:
    from kb.ui.components import factor_chip

    code = {
        "category": "leadership",
        "polarity": "success",
        "source": "human",
        "reviewer": "jun",
        "disputed": True,
    }
    assert "⚠ 코더 불일치" in factor_chip(code, {})
    assert "불일치" not in factor_chip({**code, "disputed": False}, {})


def test_an_adjudicator_resolves_a_disagreement_without_changing_the_coders_agreement(
    kb_settings, tmp_path
) -> None:
    """`resolve` settles a unit two coders differ on: the code takes the adjudicator's decision, the
    dispute flag goes, the disagreement row says how it was resolved, the QDPX export gains the
    adjudicator's coding, and coder-vs-coder agreement stays as the coders left it (reliability is
    measured before adjudication). A coder who changes their code afterwards reopens the dispute."""
    from kb.errors import ReviewError
    from kb.exchange.refiqda import code_guid, read_qdpx

    mine, pid, x = two_coders_differ(kb_settings, tmp_path)
    other = next(it.passage_id for it in rq.queue(KnowledgeBase(mine)) if it.passage_id != pid)
    other_cat = rq.auto_by_id(KnowledgeBase(mine))[other]["codes"][0]["category"]
    with pytest.raises(ReviewError, match="nothing to resolve"):
        api.decide("pi", other, other_cat, "resolve", polarity="success", settings=mine)
    before = api.agreement(settings=mine)["between_coders"]

    api.decide(
        "pi", pid, x, "resolve", polarity="obstacle", memo="hana's reading: a complaint", settings=mine
    )
    tables = api.agreement(settings=mine)
    (row,) = tables["disagreements"].itertuples()
    assert (row.decision_a, row.decision_b, row.resolution) == (
        "accepted obstacle",
        "accepted success",
        "accepted obstacle by pi",
    )
    pd.testing.assert_frame_equal(tables["between_coders"], before)  # pi is no third coder
    rows = api.export("csv", settings=mine)
    unit = rows[(rows["passage_id"] == pid) & (rows["category"] == x)]
    assert unit[["polarity", "reviewer", "disputed"]].values.tolist() == [["obstacle", "pi", False]]
    found = api.search_records("플랫폼", 200, settings=mine)
    assert not any(c["disputed"] for r in found for c in r["codes"])
    path = tmp_path / "resolved.qdpx"
    api.export("qdpx", path=path, settings=mine)
    codings = read_qdpx(path)
    users = set(zip(*codings.loc[codings["selection"] == pid, ["user", "code_guid"]].values.T, strict=True))
    assert {
        ("hana", code_guid(x, "obstacle")),
        ("jun", code_guid(x, "success")),
        ("pi", code_guid(x, "obstacle")),
    } <= users

    api.decide("jun", pid, x, "set_polarity", polarity="neutral", settings=mine)  # jun disagrees again
    assert api.agreement(settings=mine)["disagreements"]["resolution"].tolist() == [""]
    assert (pid, x) in agreement.disputed_units(KnowledgeBase(mine))

    api.decide("pi", pid, x, "resolve", settings=mine)  # no polarity: the factor is not coded
    assert api.agreement(settings=mine)["disagreements"]["resolution"].tolist() == ["rejected by pi"]
    rows = api.export("csv", settings=mine)
    assert rows[(rows["passage_id"] == pid) & (rows["category"] == x)].empty


def test_a_dispute_carried_to_a_re_imported_passage_stays_a_dispute_under_its_new_id(
    kb_settings, tmp_path
) -> None:
    """A transcript replaced by an edited version keeps its unchanged passages' text under new ids;
    the decisions made on the old ids are carried to them. Each coder's reading is carried too: the
    disagreement is listed (with its case) and flagged under the new id, and each coder's own
    decisions and the passage memo are found there, not under an id that no longer exists."""
    from kb.review.decisions import open_store

    mine = copy_kb(kb_settings, tmp_path)
    kb = KnowledgeBase(mine)
    pid = rq.queue(kb)[0].passage_id
    passage = kb.passage_by_id[pid]
    x = rq.auto_by_id(kb)[pid]["codes"][0]["category"]
    old = "add-first-version-0a1b2c3d:" + pid.split(":")[-1]  # the id the coders decided on
    store = open_store(mine.reviews_db, valid_categories=kb.codebook.ids)
    store.record("park", old, passage["text_hash"], x, "set_polarity", polarity="success")
    store.record("lee", old, passage["text_hash"], x, "set_polarity", polarity="obstacle")
    store.record("park", old, passage["text_hash"], None, "memo", memo="원자료 확인 필요")
    forget(mine)

    (row,) = api.agreement(settings=mine)["disagreements"].itertuples()
    assert (row.passage_id, row.case, row.category) == (pid, passage["case"], x)
    assert (pid, x) in agreement.disputed_units(KnowledgeBase(mine))
    rows = api.export("csv", settings=mine)
    unit = rows[(rows["passage_id"] == pid) & (rows["category"] == x) & (rows["polarity_from"] == "passage")]
    assert unit[["polarity", "reviewer", "disputed"]].values.tolist() == [["obstacle", "lee", True]]
    assert api.current_decisions([pid], settings=mine)[pid][x]["coder"] == "lee"
    assert api.current_decisions([pid], coder="park", settings=mine)[pid][x]["polarity"] == "success"
    assert api.current_decisions([old], settings=mine) == {}  # nothing left behind under the old id
    assert api.passage_memo(pid, settings=mine) == "원자료 확인 필요"
    assert api.passage_memos(settings=mine) == {pid: "원자료 확인 필요"}
