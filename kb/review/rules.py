"""What a review decision may be and how it changes a code's state; no database here.

Kept apart from the SQLite store so the app can validate input and preview a decision's
effect with exactly the rules the store applies.
"""

from __future__ import annotations

from dataclasses import dataclass

from kb.errors import ReviewError
from kb.records import POLARITIES

ACTIONS = ("accept", "reject", "add", "set_polarity", "memo", "resolve")
STATUSES = ("accepted", "rejected", "added", "noted")  # noted = memo on a code nobody decided yet


def next_code_state(
    action: str, prev: dict | None, polarity: str | None, memo: str | None, before: dict | None
) -> dict:
    """New (status, polarity, memo) of one code: the single rule for how an action changes state."""
    prev = prev or {}
    memo = memo if memo is not None else prev.get("memo")
    if action == "memo":
        return {"status": prev.get("status") or "noted", "polarity": prev.get("polarity"), "memo": memo}
    if action == "resolve":  # an adjudicator's final word where coders differ: coded, or not
        status = ("accepted" if before else "added") if polarity else "rejected"
        return {"status": status, "polarity": polarity, "memo": memo}
    if action == "set_polarity":
        status = prev.get("status") if prev.get("status") == "added" else "accepted"
        return {"status": status, "polarity": polarity, "memo": memo}
    fallback = (before or {}).get("polarity") or prev.get("polarity")
    status = {"accept": "accepted", "reject": "rejected", "add": "added"}[action]
    return {"status": status, "polarity": polarity or fallback, "memo": memo}


@dataclass(frozen=True)
class Decision:
    """One coder action as given to `record`, checked before it touches the database."""

    coder: str
    passage_id: str
    text_hash: str
    category: str | None
    action: str
    polarity: str | None
    memo: str | None
    before: dict | None

    @property
    def is_passage_memo(self) -> bool:
        return self.action == "memo" and not self.category

    def check(self, valid: frozenset[str] | None) -> None:
        """Raise `ReviewError` (one line) for anything the store must not accept."""
        if not self.coder:
            raise ReviewError("coder name must not be empty")
        if self.action not in ACTIONS:
            raise ReviewError(f"unknown action {self.action!r}; expected one of {', '.join(ACTIONS)}")
        if self.polarity is not None and self.polarity not in POLARITIES:
            raise ReviewError(f"unknown polarity {self.polarity!r}; expected one of {', '.join(POLARITIES)}")
        if not self.passage_id or not self.text_hash:
            raise ReviewError("passage_id and text_hash are required to anchor a decision")
        if self.action != "memo" and not self.category:
            raise ReviewError(f"action {self.action!r} needs a category (the factor it decides on)")
        if self.category and valid is not None and self.category not in valid:
            raise ReviewError(
                f"unknown category {self.category!r} (not in the codebook); valid: {', '.join(sorted(valid))}"
            )
        if self.action in ("add", "set_polarity") and self.polarity is None:
            raise ReviewError(f"action {self.action!r} needs a polarity")
        if self.action == "memo" and self.memo is None:
            raise ReviewError("action 'memo' needs memo text (use '' to clear a memo)")
