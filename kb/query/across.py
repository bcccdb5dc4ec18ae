"""One question across cases: for the factors a question asks about, each case's success and
obstacle passages among what the question retrieves.

A researcher who asks "what held back resident participation?" wants the cases side by side, not
ten passages of the one case that talks most about participation. This reads the question's factors
and direction as search does (kb.query.intent) and takes those factors' rows of the query-scoped
matrix (kb.query.crosscase: the passages the question retrieves), the cases grouped as the report
compares them (domestic, international, private) and within a group in the order of the direction
asked about – most obstacles first for "what held back …". A comparison also needs the cases the
results say nothing about, so the view keeps the cases its filters allow (`scope`): a case without a
passage among the results is a zero row of `per_case`, which is no evidence, not evidence of none.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from kb.corpus.cases import GROUPS, UNATTRIBUTED
from kb.errors import BadQuery
from kb.query.crosscase import MATRIX_COLUMNS, matrix
from kb.query.filters import Filters, validate
from kb.query.intent import read_intent
from kb.query.ltr import SYNTHESIS_TYPES
from kb.query.profiles import case_table
from kb.query.retrieval import NO_FILTERS
from kb.records import POLARITIES
from kb.review.queue import coded_sentences
from kb.store.kbase import KnowledgeBase

MAX_FACTORS = 3  # as many as the intent reads (kb.query.intent.IntentConfig.max_categories)
# case, factor and polarity are the view's own axes, not filters
ACROSS_FILTERS = ("group", "platform_type", "reviewed", "min_confidence", "source")


@dataclass(frozen=True)
class AcrossCases:
    """The cross-case view of one question.

    `table`: the `kb matrix` rows (factor × case, see kb.query.crosscase.MATRIX_COLUMNS) of `factors`,
    grouped by factor in that order, within a factor by group (GROUPS order), within a group the cases
    with most passages of the asked direction first (`polarity`; all passages when the question names
    no direction) and the report's own overview and synthesis sections (`synthesis` true) after the
    cases, plus `evidence_success` / `evidence_obstacle`: the sentence of the exemplar passage that
    carries the factor in that polarity ("" when no sentence does). Cells with only neutral codes are
    left out.

    `scope`: the cases the filters allow (kb.query.profiles.case_table rows), in GROUPS order, each
    with `expected`: a case of its group, not one of the report's overviews or syntheses nor the
    private companies' unattributed passages, whose absence from the results would say nothing."""

    query: str
    factors: list[str]  # the factors shown: the question's own, else the most retrieved
    asked: list[str]  # the factors read from the question, strongest first (may be empty)
    polarity: str | None  # the direction the question asks about, when it says so
    table: pd.DataFrame
    scope: pd.DataFrame

    def per_case(self, factor: str) -> pd.DataFrame:
        """The `table` rows of `factor` for the cases (no syntheses), plus a zero row for every expected
        case of `scope` without one, grouped as `table` is (zero rows last in their group)."""
        rows = self.table[(self.table["category"] == factor) & ~self.table["synthesis"]]
        missing = self.scope[self.scope["expected"] & ~self.scope["case"].isin(rows["case"])]
        fill = {"category": factor, **dict.fromkeys(COUNTS, 0), "synthesis": False}
        zeros = missing[["group", "case", "name_ko"]].rename(columns={"name_ko": "case_name"})
        zeros = zeros.assign(**fill, evidence_success="", evidence_obstacle="")
        zeros = zeros.reindex(columns=self.table.columns)
        both = pd.concat([x for x in (rows, zeros) if len(x)] or [rows], ignore_index=True)
        order = both["group"].map(group_rank)
        return both.iloc[order.argsort(kind="stable")].reset_index(drop=True)

    def absent(self, factor: str) -> list[str]:
        """The expected cases in scope without a success, obstacle or recommendation passage of
        `factor` among the results, in group order."""
        rows = self.per_case(factor)
        return rows.loc[rows["passages"] == 0, "case"].tolist()


COUNTS = ("success", "obstacle", "neutral", "recommendation", "passages")


def group_rank(group: str) -> int:
    """A group's place in the report's comparison (GROUPS order); another group after them."""
    return GROUPS.index(group) if group in GROUPS else len(GROUPS)


def case_scope(kb: KnowledgeBase, filters: Filters) -> pd.DataFrame:
    """The knowledge base's cases the group and platform-type filters allow, in GROUPS order, with
    `expected` (see AcrossCases.scope)."""
    cases = case_table(kb)
    for col in ("group", "platform_type"):
        if getattr(filters, col):
            cases = cases[cases[col] == getattr(filters, col)]
    cases = cases.assign(
        expected=~cases["platform_type"].isin(SYNTHESIS_TYPES) & (cases["case"] != UNATTRIBUTED)
    )
    return cases.iloc[cases["group"].map(group_rank).argsort(kind="stable")].reset_index(drop=True)


def across_cases(
    kb: KnowledgeBase, query: str, filters: Filters = NO_FILTERS, factor: str | None = None
) -> AcrossCases:
    """`factor`: show this factor instead of the ones read from the question."""
    query = query.strip()
    if not query:
        raise BadQuery("the cross-case view needs a question")
    if filters.case or filters.factor or filters.polarity:
        raise BadQuery(
            "the cross-case view shows every case, factor and polarity; filters: " + ", ".join(ACROSS_FILTERS)
        )
    validate(kb, Filters(factor=factor))
    intent = read_intent(kb, query)
    asked = sorted(intent.categories, key=lambda c: -intent.categories[c])
    mx = matrix(kb, query, filters)
    if factor is not None:
        factors = [factor]
    else:
        factors = [c for c in asked if c in set(mx["category"])][:MAX_FACTORS]
        if not factors:  # the retrieved passages carry none of the question's factors: their fullest
            fullest = mx.groupby("category", sort=False)["passages"].sum()
            factors = list(fullest.sort_values(ascending=False, kind="stable").index[:MAX_FACTORS])
    direction = intent.polarity if intent.polarity in POLARITIES else "passages"
    table = mx[mx["category"].isin(factors) & (mx[["success", "obstacle", "recommendation"]].sum(axis=1) > 0)]
    table = table.copy()
    table["_order"] = table["category"].map(factors.index)
    kinds = kb.passages_df.drop_duplicates("case").set_index("case")["platform_type"]
    table["synthesis"] = table["case"].map(kinds).isin(SYNTHESIS_TYPES)
    table["_group"] = table["group"].map(group_rank)
    table = table.sort_values(
        ["_order", "synthesis", "_group", direction, "passages"],
        ascending=[True, True, True, False, False],
        kind="stable",
    )
    table = table.reset_index(drop=True)[[*MATRIX_COLUMNS, "synthesis"]]
    for pol in ("success", "obstacle"):
        table[f"evidence_{pol}"] = [
            evidence(kb, pid, cat, pol) if isinstance(pid, str) and pid else ""
            for pid, cat in zip(table[f"exemplar_{pol}"], table["category"], strict=True)
        ]
    return AcrossCases(query, factors, asked, intent.polarity, table, case_scope(kb, filters))


def evidence(kb: KnowledgeBase, pid: str, category: str, polarity: str) -> str:
    """The most confident sentence of passage `pid` that the auto coder coded `category` with
    `polarity`; "" when none is (a reviewer may have changed the passage's code, not a sentence's)."""
    text = kb.passage_by_id.get(pid, {}).get("text") or ""
    best = (-1.0, "")
    for start, end, codes in coded_sentences(kb, pid):
        for c in codes:
            conf = float(c.get("confidence") or 0.0)
            if c.get("category") == category and c.get("polarity") == polarity and conf > best[0]:
                best = (conf, text[start:end])
    return best[1]
