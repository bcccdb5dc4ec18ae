"""The comparison behind "what a retrain changed": counts and rows from hand-made suggestion sets."""

from __future__ import annotations

from kb.coding.suggestion_changes import compare, readable

BEFORE = {
    "a": {"leadership": "success", "budget": "obstacle"},
    "b": {"governance": "neutral"},
    "c": {"human_resources": "obstacle"},
    "d": {"leadership": "success"},
}
AFTER = {
    "a": {"leadership": "obstacle"},  # one re-polarised, one dropped
    "b": {"governance": "neutral"},  # unchanged
    "c": {"human_resources": "obstacle", "org_culture": "success"},  # one added, on a reviewed passage
    "e": {"accessibility": "success"},  # a new passage
}


def test_compare_counts_reviewed_and_unreviewed_passages_apart() -> None:
    out = compare(BEFORE, AFTER, reviewed={"c"}, cases={"c": "seoul"})
    assert out["unreviewed"] == {"passages": 3, "added": 1, "dropped": 2, "polarity": 1}
    assert out["reviewed"] == {"passages": 1, "added": 1, "dropped": 0, "polarity": 0}
    assert [r["passage_id"] for r in out["rows"]] == ["c", "a", "d", "e"]  # reviewed first
    a = out["rows"][1]
    assert a["dropped"] == [["budget", "obstacle"]] and a["polarity"] == [
        ["leadership", "success", "obstacle"]
    ]
    assert out["rows"][0]["case"] == "seoul" and out["rows"][0]["reviewed"]
    assert out["summary"] == (
        "suggestions changed on 3 passages nobody reviewed (+1 / −2 / 1 re-polarised) "
        "and on 1 reviewed passages (+1 / −0 / 0 re-polarised)"
    )
    assert readable(a, str.upper) == {
        "added": "",
        "dropped": "BUDGET·OBSTACLE",
        "polarity": "LEADERSHIP: SUCCESS→OBSTACLE",
    }


def test_nothing_changed_says_so() -> None:
    out = compare(BEFORE, BEFORE, reviewed=set())
    assert out["rows"] == [] and out["summary"] == "no suggestion changed"
