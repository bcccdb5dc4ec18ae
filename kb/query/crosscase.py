"""Factor × case table: how many passages show each factor as a success or an obstacle.

A `recommendation` (advice aimed at another actor, or a general prescription) has its own
column and is never counted among the case's obstacles."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from kb.query.filters import Filters, validate
from kb.query.profiles import case_table
from kb.query.retrieval import NO_FILTERS, ranked_ids
from kb.records import ADDED_PREFIX, POLARITIES
from kb.store.kbase import KnowledgeBase

MATRIX_COLUMNS = [
    "dimension", "category", "label_ko", "label_en", "group", "case", "case_name", "case_name_en",
    "success", "obstacle", "neutral", "recommendation", "passages",
    "exemplar_success", "exemplar_obstacle", "exemplar",
]  # fmt: skip
QUERY_POOL = 100
KEYS = ["category", "group", "case", "case_name"]
SLOTS = len(POLARITIES) + 1  # POLARITIES in column order; any other polarity: the last slot
FILTER_COLUMNS = ("group", "case", "platform_type", "category", "polarity")


@dataclass(frozen=True)
class CodedRows:
    """Counted codes (one row per passage, factor and direction) as integer arrays, built once per
    codes version.

    A matrix is then a few vectorised passes over these arrays: sorting and grouping the
    300 000 string rows of a 100 000-passage store on every call took ~400 ms.
    """

    cell: np.ndarray  # row -> cell (category, group, case, case_name); -1 when a key is missing
    cells: pd.DataFrame  # cell -> its KEYS values
    cell_polarity: np.ndarray  # row -> cell * SLOTS + index in POLARITIES (SLOTS - 1: any other)
    confidence: np.ndarray
    passage: np.ndarray  # row -> index in passage_ids
    passage_ids: pd.Index
    columns: dict[str, tuple[np.ndarray, pd.Index]]  # key or filter column -> (row codes, values)
    best_first: np.ndarray  # rows in exemplar order without a query: human-coded, then confidence

    @classmethod
    def of(cls, codes: pd.DataFrame) -> CodedRows:
        columns = {c: _factorize(codes[c]) for c in (*KEYS, *FILTER_COLUMNS)}
        parts = [columns[c][0] for c in KEYS]
        combined = np.zeros(len(codes), dtype=np.int64)
        for part, col in zip(parts, KEYS, strict=True):
            combined = combined * (len(columns[col][1]) + 1) + part + 1  # overflow-free: few values each
        missing = np.any(np.stack(parts) < 0, axis=0) if parts else np.zeros(len(codes), bool)
        cell, firsts = np.full(len(codes), -1, dtype=np.int64), np.zeros(0, dtype=np.int64)
        if (~missing).any():
            ok = np.flatnonzero(~missing)
            _, firsts, inverse = np.unique(combined[ok], return_index=True, return_inverse=True)
            cell[ok] = inverse
            firsts = ok[firsts]
        polarity = pd.Categorical(codes["polarity"], categories=POLARITIES).codes.astype(np.int64)
        passage, passage_ids = _factorize(codes["passage_id"])
        score = (codes["source"] == "human").to_numpy(dtype=float) * 2.0 + codes["confidence"].to_numpy(float)
        return cls(
            cell=cell,
            cells=codes[KEYS].iloc[firsts].reset_index(drop=True),
            cell_polarity=cell * SLOTS + np.where(polarity < 0, SLOTS - 1, polarity),
            confidence=codes["confidence"].to_numpy(dtype=float),
            passage=passage,
            passage_ids=passage_ids,
            columns=columns,
            best_first=np.argsort(-score, kind="stable"),
        )

    def equals(self, column: str, value: str) -> np.ndarray:
        codes, values = self.columns[column]
        where = values.get_indexer([value])[0]
        return codes == where if where >= 0 else np.zeros(len(codes), dtype=bool)

    def per_passage(self, ids: list[str], values: np.ndarray, fill: float) -> np.ndarray:
        """`values[i]` for the rows of passage `ids[i]`, `fill` for the other rows."""
        out = np.full(len(self.passage_ids), fill, dtype=float)
        where = self.passage_ids.get_indexer(ids)
        out[where[where >= 0]] = values[where >= 0]
        return out[self.passage]


def _factorize(values: pd.Series) -> tuple[np.ndarray, pd.Index]:
    codes, uniques = pd.factorize(values)
    return codes.astype(np.int64), pd.Index(uniques)


def coded_rows(kb: KnowledgeBase) -> CodedRows:
    return kb.memo(("coded rows",), lambda: CodedRows.of(kb.codes_with_meta()))


def matrix(kb: KnowledgeBase, query: str | None = None, filters: Filters = NO_FILTERS) -> pd.DataFrame:
    """One row per (factor, case) cell that has coded passages.

    Counts are passages: a passage counts once per factor and direction, under the polarity of its
    code and under each other direction one of its sentences carries (`kb.records.sentence_directions`).
    With a query, only the passages the query retrieves (top 100) are counted. The exemplar
    is the cell's best passage: by search rank with a query, else human-coded first, then
    the most confident (ties: the earlier code).
    """
    rows, order = _kept(kb, query, filters)
    if not len(order):
        return pd.DataFrame(columns=MATRIX_COLUMNS)
    return _table(kb, rows, order)


def cell_passages(
    kb: KnowledgeBase, category: str, case: str, query: str | None = None, filters: Filters = NO_FILTERS
) -> list[str]:
    """The passage ids one cell of `matrix(kb, query, filters)` counts, as many as its `passages`:
    success, obstacle, neutral, recommendation, each best first (search rank with a query, else
    human-coded first, then the most confident); the cell's exemplar is among them. An unknown
    factor or case is an error (UnknownFilterValue), not an empty cell."""
    validate(kb, Filters(case=case, factor=category))
    rows, order = _kept(kb, query, filters)
    mine = rows.equals("category", category) & rows.equals("case", case) & (rows.cell >= 0)
    order = order[mine[order]]
    slot = rows.cell_polarity[order] % SLOTS
    order = order[np.argsort(slot, kind="stable")]
    return list(dict.fromkeys(rows.passage_ids[rows.passage[order]]))


def _kept(kb: KnowledgeBase, query: str | None, filters: Filters) -> tuple[CodedRows, np.ndarray]:
    """The coded rows and the positions of those the query and filters keep, best first."""
    validate(kb, filters)
    rows = coded_rows(kb)
    keep = rows.confidence >= filters.min_confidence
    for col, value in (
        ("group", filters.group), ("case", filters.case), ("platform_type", filters.platform_type),
        ("category", filters.factor), ("polarity", filters.polarity),
    ):  # fmt: skip
        if value is not None:
            keep &= rows.equals(col, value)
    if filters.source is not None:  # a passage id starts with its document's, an added one's with "add-"
        added = np.asarray(rows.passage_ids.str.startswith(ADDED_PREFIX), dtype=bool)
        keep &= (added if filters.source == "added" else ~added)[rows.passage]
    if filters.reviewed:
        reviewed = sorted(kb.reviewed_ids())
        keep &= rows.per_passage(reviewed, np.ones(len(reviewed)), 0.0) > 0
    if query:
        hits = [pid for pid, _ in ranked_ids(kb, query, QUERY_POOL, filters)]
        rank = rows.per_passage(hits, np.arange(len(hits), dtype=float), np.inf)
        kept = np.flatnonzero(keep & np.isfinite(rank))
        order = kept[np.argsort(rank[kept], kind="stable")]
    else:
        order = rows.best_first[keep[rows.best_first]]
    return rows, order


def _english_case_names(kb: KnowledgeBase) -> dict[str, str]:
    """case -> its English name, for tables and figures in English (empty names left out)."""
    table = case_table(kb)
    return {c: n for c, n in zip(table["case"], table["name_en"], strict=True) if n}


def _table(kb: KnowledgeBase, rows: CodedRows, order: np.ndarray) -> pd.DataFrame:
    """Counts and exemplars per cell from the kept rows, best first (`order`)."""
    n_cells = len(rows.cells)
    in_cell = np.flatnonzero(rows.cell[order] >= 0)  # positions in `order`; others miss a key
    key = rows.cell_polarity[order[in_cell]]
    counts = np.bincount(key, minlength=n_cells * SLOTS).reshape(n_cells, SLOTS)
    first = np.full(n_cells * SLOTS, len(order))
    np.minimum.at(first, key, in_cell)  # position of each (cell, polarity)'s best row
    first = first.reshape(n_cells, SLOTS)
    present = np.flatnonzero(counts.sum(axis=1))
    if not len(present):
        return pd.DataFrame(columns=MATRIX_COLUMNS)
    counts, first = counts[present], first[present]
    best = first.min(axis=1)

    def passage_at(positions: np.ndarray) -> pd.Index:
        return rows.passage_ids[rows.passage[order[positions]]]

    out = rows.cells.iloc[present].reset_index(drop=True)
    for i, pol in enumerate(POLARITIES):
        out[pol] = counts[:, i].astype(int)
    # distinct passages: a mixed passage sits in two polarity columns but is one passage
    cell_of = rows.cell[order[in_cell]]
    pairs = _distinct(cell_of * len(rows.passage_ids) + rows.passage[order[in_cell]])
    out["passages"] = np.bincount(pairs // len(rows.passage_ids), minlength=n_cells)[present].astype(int)
    for i, pol in enumerate(POLARITIES[:2]):
        has = counts[:, i] > 0
        ids = passage_at(np.where(has, first[:, i], 0)).to_numpy(dtype=object)
        out[f"exemplar_{pol}"] = pd.Series(np.where(has, ids, None), dtype=object)
    out["exemplar"] = pd.Series(passage_at(best), dtype=rows.passage_ids.dtype)
    labels = {c.id: (c.dimension, c.label_ko, c.label_en) for c in kb.codebook.categories}
    codebook_order = {c.id: i for i, c in enumerate(kb.codebook.categories)}
    out["dimension"] = out["category"].map(lambda c: labels.get(c, ("other", c))[0])
    out["label_ko"] = out["category"].map(lambda c: labels.get(c, ("", c))[1])
    out["label_en"] = out["category"].map(lambda c: labels.get(c, ("", c, c))[2])
    out["case_name_en"] = out["case"].map(_english_case_names(kb)).fillna(out["case_name"])
    out["_order"] = out["category"].map(codebook_order).fillna(len(codebook_order))
    # Ties (categories outside the codebook, a case under two names): where they first rank.
    out["_cat_rank"] = _first_rank(rows, order, "category", out["category"])
    out["_name_rank"] = _first_rank(rows, order, "case_name", out["case_name"])
    out = out.sort_values(["_order", "group", "case", "_cat_rank", "_name_rank"], kind="stable")
    return out[MATRIX_COLUMNS].reset_index(drop=True)


def _distinct(values: np.ndarray) -> np.ndarray:
    """The distinct values, sorted: np.unique's hashing (numpy 2.3+) took ~100 ms on 100 000 passages'
    codes, a sort and a neighbour comparison ~10 ms (docs/bench/scale.md)."""
    ordered = np.sort(values)
    return ordered[np.concatenate(([True], ordered[1:] != ordered[:-1]))] if len(ordered) else ordered


def _first_rank(rows: CodedRows, order: np.ndarray, column: str, values: pd.Series) -> np.ndarray:
    """Position in `order` where each of `values` first occurs in `column`."""
    codes, uniques = rows.columns[column]
    at = codes[order]
    first = np.full(len(uniques), len(order))
    np.minimum.at(first, at[at >= 0], np.flatnonzero(at >= 0))
    return first[uniques.get_indexer(values)]
