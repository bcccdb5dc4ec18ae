"""Search and export filters, validated against what the knowledge base actually holds."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from kb.errors import BadQuery, UnknownFilterValue
from kb.records import POLARITIES

if TYPE_CHECKING:
    from kb.store.kbase import KnowledgeBase


@dataclass(frozen=True)
class Filters:
    group: str | None = None
    case: str | None = None
    platform_type: str | None = None
    factor: str | None = None
    polarity: str | None = None
    reviewed: bool = False
    min_confidence: float = 0.0

    def is_empty(self) -> bool:
        return self == Filters()

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def _check(name: str, value: str | None, valid: list[str]) -> None:
    if value is not None and value not in valid:
        raise UnknownFilterValue(f"unknown {name} {value!r}; valid values: {', '.join(sorted(valid))}")


def validate(kb: KnowledgeBase, f: Filters) -> None:
    values = kb.passage_values
    _check("group", f.group, values["group"])
    _check("case", f.case, values["case"])
    _check("platform type", f.platform_type, values["platform_type"])
    _check("factor", f.factor, list(kb.codebook.ids))
    _check("polarity", f.polarity, list(POLARITIES))
    if not 0.0 <= f.min_confidence <= 1.0:
        raise BadQuery(f"minimum confidence must be between 0 and 1, got {f.min_confidence}")


def matching_codes(kb: KnowledgeBase, f: Filters) -> pd.DataFrame:
    """Effective codes that satisfy the factor/polarity/confidence parts of the filter."""
    codes = kb.codes_df()
    keep = codes["confidence"] >= f.min_confidence
    if f.factor:
        keep &= codes["category"] == f.factor
    if f.polarity:
        keep &= codes["polarity"] == f.polarity
    if f.reviewed:
        keep &= codes["source"] == "human"
    return codes[keep]


def allowed_ids(kb: KnowledgeBase, f: Filters) -> frozenset[str] | None:
    """Passage ids that pass the filter, or None when nothing is filtered (cached per codes version)."""
    if f.is_empty():
        return None
    validate(kb, f)
    return kb.memo(("allowed", f), lambda: _allowed(kb, f))


def _allowed(kb: KnowledgeBase, f: Filters) -> frozenset[str]:
    df = kb.passages_df
    keep = np.ones(len(df), dtype=bool)
    for col in ("group", "case", "platform_type"):
        value = getattr(f, col)
        if value is not None:
            keep &= df[col].to_numpy() == value
    ids = set(df["id"].to_numpy()[keep].tolist())
    if f.factor or f.polarity or f.min_confidence > 0:
        ids &= set(matching_codes(kb, f)["passage_id"].tolist())
    if f.reviewed:
        ids &= kb.reviewed_ids()
    return frozenset(ids)


def mask_for(kb: KnowledgeBase, f: Filters, order: list[str]) -> np.ndarray | None:
    """Boolean mask over `order` (e.g. the keyword index rows) of the passages passing `f`."""
    ids = allowed_ids(kb, f)
    if ids is None:
        return None
    return kb.memo(
        ("mask", f, id(order)),
        lambda: np.fromiter((pid in ids for pid in order), dtype=bool, count=len(order)),
    )
