"""Factor × case table: how many passages show each factor as a success or an obstacle."""

from __future__ import annotations

import pandas as pd

from kb.filters import Filters, allowed_ids, matching_codes
from kb.kbase import KnowledgeBase
from kb.retrieval import NO_FILTERS, ranked_ids

MATRIX_COLUMNS = [
    "dimension", "category", "label_ko", "group", "case", "case_name",
    "success", "obstacle", "neutral", "passages", "exemplar_success", "exemplar_obstacle", "exemplar",
]  # fmt: skip
QUERY_POOL = 100


def matrix(kb: KnowledgeBase, query: str | None = None, filters: Filters = NO_FILTERS) -> pd.DataFrame:
    """One row per (factor, case) cell that has coded passages.

    Counts are passages (a passage counts once per factor, under each polarity it carries).
    With a query, only the passages the query retrieves (top 100) are counted. The exemplar
    is the most confident passage of the cell (human-coded first; search rank with a query).
    """
    ids = allowed_ids(kb, filters)
    rank: dict[str, int] = {}
    if query:
        hits = ranked_ids(kb, query, QUERY_POOL, filters)
        rank = {pid: i for i, (pid, _) in enumerate(hits)}
        ids = set(rank)
    codes = matching_codes(kb, Filters(factor=filters.factor, polarity=filters.polarity,
                                       reviewed=filters.reviewed, min_confidence=filters.min_confidence))
    if ids is not None:
        codes = codes[codes["passage_id"].isin(ids)]
    if codes.empty:
        return pd.DataFrame(columns=MATRIX_COLUMNS)
    meta = kb.passages_df[["case", "case_name", "group"]]
    df = codes.join(meta, on="passage_id")
    df = df.assign(
        human=(df["source"] == "human").astype(int),
        rank=df["passage_id"].map(rank).fillna(len(rank)) if rank else 0,
    )
    df = df.sort_values(["rank", "human", "confidence"], ascending=[True, False, False], kind="stable")
    keys = ["category", "group", "case", "case_name"]
    counts = (
        df.drop_duplicates(["passage_id", "category", "polarity"])
        .pivot_table(index=keys, columns="polarity", values="passage_id", aggfunc="count", fill_value=0)
        .reindex(columns=["success", "obstacle", "neutral"], fill_value=0)
    )
    counts["passages"] = df.groupby(keys)["passage_id"].nunique()
    for pol in ("success", "obstacle"):
        best = df[df["polarity"] == pol].groupby(keys)["passage_id"].first()
        counts[f"exemplar_{pol}"] = best
    counts["exemplar"] = df.groupby(keys)["passage_id"].first()
    out = counts.reset_index()
    labels = {c.id: (c.dimension, c.label_ko) for c in kb.codebook.categories}
    order = {c.id: i for i, c in enumerate(kb.codebook.categories)}
    out["dimension"] = out["category"].map(lambda c: labels.get(c, ("other", c))[0])
    out["label_ko"] = out["category"].map(lambda c: labels.get(c, ("", c))[1])
    out = out.sort_values(
        ["category", "group", "case"], key=lambda s: s.map(order) if s.name == "category" else s
    )
    counted = ["success", "obstacle", "neutral", "passages"]
    out[counted] = out[counted].astype(int)
    return out[MATRIX_COLUMNS].reset_index(drop=True)
