"""The one filter set of search, matrix and export, validated against what the knowledge base holds.

`kb.api.search`, `kb.api.matrix`, `kb.api.export` and the `kb search|matrix|export` options all take
exactly the fields of `Filters`; the CLI builds its options from `FILTER_HELP`, so a new filter is
added here once and appears everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

from kb.errors import BadQuery, UnknownFilterValue
from kb.records import ADDED_PREFIX, POLARITIES

if TYPE_CHECKING:  # numpy and pandas load on first use: the CLI imports this module for its options
    import numpy as np
    import pandas as pd

    from kb.store.kbase import KnowledgeBase


@dataclass(frozen=True)
class Filters:
    """Which passages (and which of their codes) a search, matrix or export considers; all AND-ed."""

    group: str | None = None  # domestic, international or private
    case: str | None = None  # case id
    platform_type: str | None = None
    factor: str | None = None  # codebook category id: passages with an effective code of it
    polarity: str | None = None  # passages with a code of this polarity (of `factor` when given)
    reviewed: bool = False  # only passages a human coder reviewed
    min_confidence: float = 0.0  # only codes at least this confident count for factor/polarity
    source: str | None = None  # report (the report's own text) or added (transcripts added with kb add)

    def is_empty(self) -> bool:
        return self == Filters()

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def of(cls, **options: Any) -> Filters:
        """Filters from keyword options (None = not given); an unknown option name lists the valid ones."""
        unknown = set(options) - set(FILTER_NAMES)
        if unknown:
            raise BadQuery(f"unknown filter {sorted(unknown)[0]!r}; valid filters: {', '.join(FILTER_NAMES)}")
        return cls(**{k: v for k, v in options.items() if v is not None})


FILTER_NAMES: tuple[str, ...] = tuple(f.name for f in fields(Filters))
FILTER_HELP: dict[str, str] = {
    "group": "domestic, international or private.",
    "case": "Case id, e.g. gyeonggi_bis.",
    "platform_type": "information, policy_proposal, …",
    "factor": "Codebook category id, e.g. leadership.",
    "polarity": f"{', '.join(POLARITIES[:-1])} or {POLARITIES[-1]}.",
    "reviewed": "Only passages a human coder reviewed.",
    "min_confidence": "Only codes with at least this confidence (0–1).",
    "source": "report (the report's chapters) or added (transcripts added with `kb add`).",
}
SOURCES = ("report", "added")


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
    _check("source", f.source, list(SOURCES))
    if not 0.0 <= f.min_confidence <= 1.0:
        raise BadQuery(f"minimum confidence must be between 0 and 1, got {f.min_confidence}")


def matching_codes(kb: KnowledgeBase, f: Filters) -> pd.DataFrame:
    """Counted codes (`KnowledgeBase.codes_by_direction`: a mixed passage once per direction) that
    satisfy the factor/polarity/confidence parts of the filter."""
    codes = kb.codes_by_direction()
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
    import numpy as np

    keep = np.ones(len(df), dtype=bool)
    for col in ("group", "case", "platform_type"):
        value = getattr(f, col)
        if value is not None:
            keep &= df[col].to_numpy() == value
    if f.source is not None:  # the user's own material apart from the report's, or the report alone
        added = df["doc_id"].astype(str).str.startswith(ADDED_PREFIX).to_numpy()
        keep &= added if f.source == "added" else ~added
    ids = set(df["id"].to_numpy()[keep].tolist())
    if f.factor or f.polarity or f.min_confidence > 0:
        ids &= set(matching_codes(kb, f)["passage_id"].tolist())
    if f.reviewed:
        ids &= kb.reviewed_ids()
    return frozenset(ids)


def mask_for(kb: KnowledgeBase, f: Filters, order: list[str]) -> np.ndarray | None:
    """Boolean mask over `order` (e.g. the keyword index rows) of the passages passing `f`."""
    import numpy as np

    ids = allowed_ids(kb, f)
    if ids is None:
        return None
    return kb.memo(
        ("mask", f, id(order)),
        lambda: np.fromiter((pid in ids for pid in order), dtype=bool, count=len(order)),
    )
