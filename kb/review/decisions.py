"""Coders' review decisions: one import for the store and the merge with auto codes.

`ReviewStore` (kb.review.store) keeps an append-only SQLite log plus current state;
`merge`, `needs_attention` and `training_examples` (kb.review.merge) apply it to passages.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from kb.records import POLARITIES
from kb.review.merge import anchor, merge, needs_attention, training_examples
from kb.review.rules import ACTIONS, STATUSES, Decision, next_code_state
from kb.review.store import SCHEMA_VERSION, ReviewStore

__all__ = [
    "ACTIONS",
    "POLARITIES",
    "SCHEMA_VERSION",
    "STATUSES",
    "Decision",
    "ReviewStore",
    "anchor",
    "merge",
    "needs_attention",
    "next_code_state",
    "open_store",
    "training_examples",
]


def open_store(path: str | Path | None = None, valid_categories: Iterable[str] | None = None) -> ReviewStore:
    """The review store at `path`, or at `get_settings().reviews_db` when no path is given."""
    return ReviewStore(path, valid_categories=valid_categories)
