"""Search and export filters, validated against what the knowledge base actually holds."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from kb.errors import BadQuery, UnknownFilterValue

if TYPE_CHECKING:
    from kb.kbase import KnowledgeBase

POLARITIES = ("success", "obstacle", "neutral")


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
    df = kb.passages_df
    _check("group", f.group, df["group"].dropna().unique().tolist())
    _check("case", f.case, df["case"].dropna().unique().tolist())
    _check("platform type", f.platform_type, df["platform_type"].dropna().unique().tolist())
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


def allowed_ids(kb: KnowledgeBase, f: Filters) -> set[str] | None:
    """Passage ids that pass the filter, or None when nothing is filtered."""
    if f.is_empty():
        return None
    validate(kb, f)
    df = kb.passages_df
    keep = pd.Series(True, index=df.index)
    for col in ("group", "case", "platform_type"):
        value = getattr(f, col)
        if value is not None:
            keep &= df[col] == value
    ids = set(df.index[keep])
    if f.factor or f.polarity or f.min_confidence > 0:
        ids &= set(matching_codes(kb, f)["passage_id"])
    if f.reviewed:
        ids &= kb.reviewed_ids()
    return ids


def chroma_where(f: Filters) -> dict[str, Any] | None:
    """The filter as a Chroma `where` on the metadata that `kb.builder.chroma_metadata` writes.

    Code-derived fields (f_<factor>, has_<polarity>, reviewed) stay current because the
    knowledge base rewrites reviewed passages' metadata whenever decisions change; the exact
    check (factor and polarity on the same code, confidence) is done on the results.
    """
    clauses: list[dict[str, Any]] = []
    for col in ("group", "case", "platform_type"):
        value = getattr(f, col)
        if value is not None:
            clauses.append({col: value})
    if f.factor:
        clauses.append({f"f_{f.factor}": True})
    if f.polarity:
        clauses.append({f"has_{f.polarity}": True})
    if f.reviewed:
        clauses.append({"reviewed": True})
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


def mask_for(ids: set[str] | None, order: list[str]) -> np.ndarray | None:
    if ids is None:
        return None
    return np.fromiter((pid in ids for pid in order), dtype=bool, count=len(order))
