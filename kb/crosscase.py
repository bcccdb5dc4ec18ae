"""Factor × case table: how many passages show each factor as a success or an obstacle."""

from __future__ import annotations

import pandas as pd

from kb.filters import Filters, validate
from kb.kbase import KnowledgeBase
from kb.retrieval import NO_FILTERS, ranked_ids

MATRIX_COLUMNS = [
    "dimension", "category", "label_ko", "group", "case", "case_name",
    "success", "obstacle", "neutral", "passages", "exemplar_success", "exemplar_obstacle", "exemplar",
]  # fmt: skip
QUERY_POOL = 100


def matrix(kb: KnowledgeBase, query: str | None = None, filters: Filters = NO_FILTERS) -> pd.DataFrame:
    """One row per (factor, case) cell that has coded passages.

    Counts are passages (a passage counts once per factor, under the polarity of that code).
    With a query, only the passages the query retrieves (top 100) are counted. The exemplar
    is the cell's best passage: by search rank with a query, else human-coded first, then
    the most confident.
    """
    validate(kb, filters)
    codes = kb.codes_with_meta()
    keep = (codes["confidence"] >= filters.min_confidence).to_numpy().copy()
    for col, value in (
        ("group", filters.group), ("case", filters.case), ("platform_type", filters.platform_type),
        ("category", filters.factor), ("polarity", filters.polarity),
    ):  # fmt: skip
        if value is not None:
            keep &= codes[col].to_numpy() == value
    if filters.reviewed:
        keep &= codes["passage_id"].isin(kb.reviewed_ids()).to_numpy()
    if query:
        hits = ranked_ids(kb, query, QUERY_POOL, filters)
        rank = pd.Series(range(len(hits)), index=[pid for pid, _ in hits], dtype=float)
        keep &= codes["passage_id"].isin(rank.index).to_numpy()
    df = codes[keep]
    if df.empty:
        return pd.DataFrame(columns=MATRIX_COLUMNS)
    if query:
        score = -df["passage_id"].map(rank)
    else:
        score = (df["source"] == "human") * 2.0 + df["confidence"]
    df = df.assign(_score=score).sort_values("_score", ascending=False, kind="stable")
    keys = ["category", "group", "case", "case_name"]
    cells = df.groupby(keys, sort=False)
    out = (
        df.groupby(keys + ["polarity"], sort=False)
        .size()
        .unstack("polarity", fill_value=0)
        .reindex(columns=["success", "obstacle", "neutral"], fill_value=0)
    )
    out.columns.name = None
    out["passages"] = cells.size()
    for pol in ("success", "obstacle"):
        out[f"exemplar_{pol}"] = df[df["polarity"] == pol].groupby(keys, sort=False)["passage_id"].first()
    out["exemplar"] = cells["passage_id"].first()
    out = out.reset_index()
    labels = {c.id: (c.dimension, c.label_ko) for c in kb.codebook.categories}
    order = {c.id: i for i, c in enumerate(kb.codebook.categories)}
    out["dimension"] = out["category"].map(lambda c: labels.get(c, ("other", c))[0])
    out["label_ko"] = out["category"].map(lambda c: labels.get(c, ("", c))[1])
    out["_order"] = out["category"].map(order).fillna(len(order))
    out = out.sort_values(["_order", "group", "case"], kind="stable")
    counts = ["success", "obstacle", "neutral", "passages"]
    out[counts] = out[counts].astype(int)
    out = out.astype({"exemplar_success": object, "exemplar_obstacle": object})
    out[["exemplar_success", "exemplar_obstacle"]] = out[["exemplar_success", "exemplar_obstacle"]].where(
        out[["exemplar_success", "exemplar_obstacle"]].notna(), None
    )
    return out[MATRIX_COLUMNS].reset_index(drop=True)
