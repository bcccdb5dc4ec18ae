"""The matrix by group: domestic, international and private cases side by side, as the report compares
them (표 7-1), from the cases alone.

A group's overview and synthesis chapters are the researchers' writing about the group, not one of
its cases: summed in, they would count a sentence of the 소결 beside the case text it summarises
(and the chapter-5 overview speaks of Korean apps). They are left out here and stay in the matrix by
case. Groups hold different amounts of text, so beside the passage counts each row says in how many
of the group's cases the factor shows success or obstacle evidence at all.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from kb.corpus.cases import UNATTRIBUTED
from kb.query.profiles import case_table

if TYPE_CHECKING:
    from kb.store.kbase import KnowledgeBase

REPORT_SUMMARIES = ("overview", "synthesis")  # platform types of the report's own summary chapters
GROUP_COLUMNS = [
    "dimension", "category", "label_ko", "label_en", "group", "success", "obstacle", "neutral",
    "recommendation", "passages", "cases", "cases_success", "cases_obstacle", "summary_success",
    "summary_obstacle",
]  # fmt: skip
NOT_ONE_CASE = (UNATTRIBUTED,)  # answers of several firms, none named: evidence, not a case
SUMMED = ["success", "obstacle", "neutral", "recommendation", "passages"]
KEYS = ["dimension", "category", "label_ko", "label_en", "group"]


def group_totals(kb: KnowledgeBase, by_case: pd.DataFrame) -> pd.DataFrame:
    """One row per factor × group from the matrix by case (`kb.query.crosscase.matrix`): passage counts
    summed over the group's cases (a passage belongs to one case, so none is counted twice), `cases` in
    the group, and `cases_success` / `cases_obstacle`: how many of them show that direction. The
    private firms' unattributed answers count as passages but not as a case (they are several firms).
    `summary_success` / `summary_obstacle`: the passages of the group's overview and synthesis
    chapters, apart – where the report's synthesis claims what its case texts do not show."""
    table = case_table(kb)
    summaries = set(table.loc[table["platform_type"].isin(REPORT_SUMMARIES), "case"])
    real = table[~table["case"].isin(summaries | set(NOT_ONE_CASE))]
    rows = by_case[~by_case["case"].isin(summaries)]
    told = by_case[by_case["case"].isin(summaries)]
    if rows.empty and told.empty:
        return pd.DataFrame(columns=GROUP_COLUMNS)
    out = rows.groupby(KEYS, sort=False, dropna=False)[SUMMED].sum().reset_index()
    counted = rows[rows["case"].isin(set(real["case"]))]
    shown = counted.assign(cases_success=counted["success"] > 0, cases_obstacle=counted["obstacle"] > 0)
    shown = shown.groupby(["category", "group"])[["cases_success", "cases_obstacle"]].sum().reset_index()
    said = told.groupby(KEYS, sort=False, dropna=False)[["success", "obstacle"]].sum().reset_index()
    said = said.rename(columns={"success": "summary_success", "obstacle": "summary_obstacle"})
    out = out.merge(said, on=KEYS, how="outer").merge(shown, on=["category", "group"], how="left")
    counts = [*SUMMED, "cases_success", "cases_obstacle", "summary_success", "summary_obstacle"]
    out[counts] = out[counts].fillna(0).astype(int)
    out["cases"] = out["group"].map(real.groupby("group")["case"].nunique()).fillna(0).astype(int)
    order = {c: i for i, c in enumerate(kb.codebook.ids)}
    out = out.sort_values(["category", "group"], key=lambda s: s.map(order) if s.name == "category" else s)
    return out[GROUP_COLUMNS].reset_index(drop=True)
