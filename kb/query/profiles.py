"""Case-level views of the knowledge base: the table of cases and one case's profile.

The profile lists a case's strongest success factors and obstacles (recommendations apart, never
as obstacles) with the passages to quote; the app's case page shows it, notebooks can read it.
"""

from __future__ import annotations

import csv
from typing import Any

import pandas as pd

from kb.corpus.cases import CASES
from kb.query.filters import Filters, validate
from kb.store.kbase import KnowledgeBase

CASE_COLUMNS = ["case", "name_ko", "name_en", "group", "platform_type", "organization"]
TOP = 4
KIND_ORDER = {"quote": 0, "narrative": 1, "summary": 2, "table": 3}
PROFILE_POLARITIES = ("success", "obstacle", "recommendation")


def case_table(kb: KnowledgeBase) -> pd.DataFrame:
    """One row per case present in the passages: names, group, platform type, organisation.

    The known cases' metadata (kb.corpus.cases), overridden by the corpus manifest, then by the
    passages themselves for cases added later (`kb add`); in the known cases' order."""
    rows = {cid: c.as_dict() for cid, c in CASES.items()}
    manifest = kb.settings.manifest_path
    if manifest.is_file():
        with manifest.open(encoding="utf-8") as fh:
            for r in csv.DictReader(fh):
                cid = r.get("case") or r.get("case_id")
                if cid and cid in rows:
                    for key in ("organization", "platform_type", "group"):
                        if r.get(key):
                            rows[cid][key] = r[key]
    present = kb.passages_df.drop_duplicates("case").set_index("case")
    out = []
    for cid, p in present.iterrows():
        base = rows.get(cid, {})
        out.append(
            {
                "case": cid,
                "name_ko": base.get("name_ko") or p.get("case_name") or cid,
                "name_en": base.get("name_en") or p.get("case_name_en") or "",
                "group": base.get("group") or p.get("group"),
                "platform_type": base.get("platform_type") or p.get("platform_type"),
                "organization": base.get("organization") or p.get("organization") or "",
            }
        )
    order = {cid: i for i, cid in enumerate(CASES)}
    df = pd.DataFrame(out, columns=CASE_COLUMNS)
    return df.sort_values("case", key=lambda s: s.map(lambda c: order.get(c, 999))).reset_index(drop=True)


def case_codes(kb: KnowledgeBase, case: str) -> pd.DataFrame:
    """Counted codes (once per direction, `KnowledgeBase.codes_by_direction`) of one case's passages,
    with the passage kind for exemplar ordering."""
    codes = kb.codes_by_direction()
    pdf = kb.passages_df
    codes = codes[codes["passage_id"].map(pdf["case"]) == case]
    return codes.assign(kind=codes["passage_id"].map(pdf["kind"]).fillna("narrative"))


def strongest(codes: pd.DataFrame, polarity: str, top: int = TOP) -> pd.DataFrame:
    """Factors with the most passages of this polarity; ties by summed confidence."""
    sub = codes[codes["polarity"] == polarity]
    if sub.empty:
        return pd.DataFrame(columns=["category", "passages", "weight"])
    agg = sub.groupby("category").agg(passages=("passage_id", "nunique"), weight=("confidence", "sum"))
    return agg.sort_values(["passages", "weight"], ascending=False).head(top).reset_index()


def exemplars(codes: pd.DataFrame, category: str, polarity: str, n: int = 2) -> list[str]:
    """Passage ids to quote: kind=quote first, then human-reviewed, then most confident."""
    sub = codes[(codes["category"] == category) & (codes["polarity"] == polarity)]
    sub = sub.assign(k=sub["kind"].map(KIND_ORDER).fillna(9), h=(sub["source"] != "human").astype(int))
    sub = sub.sort_values(["k", "h", "confidence"], ascending=[True, True, False], kind="stable")
    return list(dict.fromkeys(sub["passage_id"]))[:n]


def quote(kb: KnowledgeBase, pid: str, category: str, polarity: str | None = None) -> str:
    """The passage's sentences that carry the code – those read in `polarity` when there are any –
    as one quotation: neighbouring sentences joined by a space, " … " only where text was left out
    (the whole passage when no sentence carries it)."""
    from kb.review.queue import coded_sentences

    text = kb.passage_by_id[pid].get("text") or ""
    spans = [
        (start, end, mine)
        for start, end, codes in coded_sentences(kb, pid)
        if (mine := [c for c in codes if c.get("category") == category])
    ]
    chosen = [x for x in spans if any(c.get("polarity") == polarity for c in x[2])] or spans
    if not chosen:
        return text
    out, prev = "", None
    for start, end, _ in chosen:
        if prev is not None:
            out += " " if not text[prev:start].strip() else " … "
        out, prev = out + text[start:end].strip(), end
    return out


def case_profile(kb: KnowledgeBase, case: str, top: int = TOP, quotes: int = 2) -> dict[str, Any]:
    """One case: its table row, passage and code counts, and per polarity (success, obstacle,
    recommendation) its `top` factors {category, passages, weight, exemplars: passage ids, quotes:
    each exemplar's sentences in that direction (`quote`)}, and in `more` the factors past the top
    ones {category, passages}, so that no page shows part of a case's obstacles as all of them.
    A case without passages is an error (UnknownFilterValue, naming the cases), not an empty profile."""
    validate(kb, Filters(case=case))
    table = case_table(kb)
    info = table[table["case"] == case]
    codes = case_codes(kb, case)
    ranked = {pol: strongest(codes, pol, top=len(codes) + 1) for pol in PROFILE_POLARITIES}
    factors = {
        pol: [
            {**row, "passages": int(row["passages"]), "weight": float(row["weight"]),
             "exemplars": (ids := exemplars(codes, row["category"], pol, quotes)),
             "quotes": [quote(kb, pid, row["category"], pol) for pid in ids]}
            for row in ranked[pol].head(top).to_dict("records")
        ]
        for pol in PROFILE_POLARITIES
    }  # fmt: skip
    more = {
        pol: [
            {"category": r["category"], "passages": int(r["passages"])}
            for r in ranked[pol].iloc[top:].to_dict("records")
        ]
        for pol in PROFILE_POLARITIES
    }
    return {
        **(info.iloc[0].to_dict() if len(info) else {"case": case}),
        "passages": int((kb.passages_df["case"] == case).sum()),
        "coded": int(codes["passage_id"].nunique()),
        "codes": {pol: int((codes["polarity"] == pol).sum()) for pol in PROFILE_POLARITIES},
        "factors": factors,
        "more": more,
    }
