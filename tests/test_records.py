"""kb.records: the one dominant-polarity rule and the field lists every stage shares."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from kb.records import (
    MANIFEST_FIELDS,
    NO_POLARITY,
    PASSAGE_FIELDS,
    POLARITIES,
    SEARCH_RESULT_FIELDS,
    TIE_ORDER,
    dominant,
    dominant_polarity,
)

ROOT = Path(__file__).resolve().parent.parent


def code(polarity: str, confidence: float) -> dict[str, object]:
    return {"category": "leadership", "polarity": polarity, "confidence": confidence}


def test_weight_wins_over_count() -> None:
    codes = [code("success", 0.3), code("success", 0.3), code("obstacle", 0.9)]
    assert dominant_polarity(codes) == "obstacle"


@pytest.mark.parametrize(
    ("tied", "winner"),
    [
        (("success", "obstacle"), "obstacle"),
        (("success", "neutral"), "neutral"),
        (("obstacle", "neutral"), "neutral"),
        (("recommendation", "obstacle"), "obstacle"),
        (("success", "recommendation"), "recommendation"),
    ],
)
def test_tie_break_is_pinned(tied: tuple[str, str], winner: str) -> None:
    """Ties go to the more cautious reading, whatever order the codes come in."""
    for order in (tied, tied[::-1]):
        assert dominant_polarity([code(p, 0.5) for p in order]) == winner
        assert dominant({p: 2.0 for p in order}) == winner


def test_no_codes_and_unknown_polarity() -> None:
    assert dominant_polarity([]) == NO_POLARITY == "none"
    assert dominant({"other": 1.0, "success": 1.0}) == "success"  # a known polarity wins a tie
    assert dominant({"other": 2.0, "success": 1.0}) == "other"
    assert sorted(TIE_ORDER) == sorted(POLARITIES)


def test_coder_vote_uses_the_rule() -> None:
    """The coder's per-unit vote and the search/export vote agree on a tie."""
    from kb.coding.output import dominant as _dominant

    assert _dominant({"success": 0.4, "obstacle": 0.4, "neutral": 0.0, "recommendation": 0.0}) == (
        "obstacle",
        0.5,
    )
    assert _dominant(dict.fromkeys(POLARITIES, 0.0)) == ("neutral", 0.5)


def test_field_lists_keep_their_contract() -> None:
    assert MANIFEST_FIELDS[:2] == ("doc_id", "case") and "blocks_file" in MANIFEST_FIELDS
    assert {"id", "text", "start", "end", "text_hash", "question"} <= set(PASSAGE_FIELDS)
    assert {"codes", "polarity", "score", "match"} <= set(SEARCH_RESULT_FIELDS)


def _string_tuples(tree: ast.AST) -> list[tuple[str, ...]]:
    return [
        tuple(e.value for e in node.elts)
        for node in ast.walk(tree)
        if isinstance(node, ast.Tuple | ast.List)
        and node.elts
        and all(isinstance(e, ast.Constant) and isinstance(e.value, str) for e in node.elts)
    ]


def test_polarities_and_field_lists_are_defined_once() -> None:
    """No other module spells out the polarity list or the case-variable list again."""
    offenders = []
    for path in [*(ROOT / "kb").rglob("*.py"), *(ROOT / "pipelines").rglob("*.py")]:
        if path.name == "records.py" or path.parts[-2] == "ui" and path.name == "sample.py":
            continue
        for values in _string_tuples(ast.parse(path.read_text(encoding="utf-8"))):
            if set(values) == set(POLARITIES) or {"case_name", "platform_type", "organization"} <= set(
                values
            ):
                offenders.append(f"{path.relative_to(ROOT)}: {values}")
    assert not offenders, offenders
