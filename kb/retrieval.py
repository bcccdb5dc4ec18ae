"""Hybrid retrieval: BM25 over kiwi lemmas plus dense vectors in Chroma, fused by rank.

Dense retrieval finds paraphrases ("참여가 저조" for "이용이 적었다"); BM25 finds names and
exact terms (배달특급, Talk London). Reciprocal rank fusion needs no score calibration
between the two, and its weights are measured in bench/eval_retrieval.py.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from kb.errors import BadQuery
from kb.filters import Filters, allowed_ids, mask_for
from kb.kbase import KnowledgeBase
from kb.morphs import terms
from kb.vectorstore import query as dense_query

MAX_K = 200
RRF_K = 60


@dataclass(frozen=True)
class Weights:
    dense: float = 1.0
    keyword: float = 1.0


DEFAULT_WEIGHTS = Weights()
NO_FILTERS = Filters()
MODES = ("hybrid", "dense", "keyword")


def rrf(rankings: Sequence[tuple[float, Sequence[str]]], k: int = RRF_K) -> list[tuple[str, float]]:
    """Weighted reciprocal rank fusion of id lists, best first (ties keep first-seen order)."""
    scores: dict[str, float] = {}
    for weight, ids in rankings:
        for rank, pid in enumerate(ids):
            scores[pid] = scores.get(pid, 0.0) + weight / (k + rank + 1)
    return sorted(scores.items(), key=lambda kv: -kv[1])


def check_query(query: str, k: int) -> str:
    query = (query or "").strip()
    if not query:
        raise BadQuery("the query is empty; type what you are looking for, e.g. kb search '주민 참여 저조'")
    if not 1 <= k <= MAX_K:
        raise BadQuery(f"k must be between 1 and {MAX_K}, got {k}")
    return query


def ranked_ids(
    kb: KnowledgeBase,
    query: str,
    k: int,
    filters: Filters = NO_FILTERS,
    mode: str = "hybrid",
    weights: Weights = DEFAULT_WEIGHTS,
) -> list[tuple[str, float]]:
    """(passage id, fused score) for the top k passages that pass the filters."""
    query = check_query(query, k)
    if mode not in MODES:
        raise BadQuery(f"unknown search mode {mode!r}; valid values: {', '.join(MODES)}")
    allowed = allowed_ids(kb, filters)
    if allowed is not None and not allowed:
        return []
    pool = max(50, 5 * k)
    rankings: list[tuple[float, list[str]]] = []
    if mode in ("hybrid", "dense"):
        vector = kb.embedder.embed_queries([query])[0]
        hits = dense_query(kb.collection, vector, pool, allowed, cache=kb.vector_cache)
        if allowed is None:  # Chroma may hold vectors of another generation than the one read
            hits = [(pid, s) for pid, s in hits if pid in kb.passage_by_id]
        rankings.append((weights.dense, [pid for pid, _ in hits]))
    if mode in ("hybrid", "keyword"):
        index = kb.keyword_index
        hits = index.search(query, pool, mask_for(kb, filters, index.ids))
        rankings.append((weights.keyword, [pid for pid, _ in hits]))
    return rrf(rankings)[:k]


def search(
    kb: KnowledgeBase,
    query: str,
    k: int = 10,
    filters: Filters = NO_FILTERS,
    mode: str = "hybrid",
) -> list[dict[str, Any]]:
    """Ranked passages with their effective codes, dominant polarity and citation."""
    hits = ranked_ids(kb, query, k, filters, mode)
    kb.codes_df()  # pick up review decisions made since the last call
    query_terms = sorted(set(terms(query)))
    return [result_record(kb, pid, score, query_terms) for pid, score in hits]


def dominant_polarity(codes: list[dict[str, Any]]) -> str:
    if not codes:
        return "none"
    weight: dict[str, float] = {}
    for c in codes:
        weight[c["polarity"]] = weight.get(c["polarity"], 0.0) + float(c.get("confidence") or 0.0)
    return max(sorted(weight), key=lambda p: weight[p])


def _missing_to_none(value: Any) -> Any:
    """pandas >= 3 stores a missing string as NaN, which json.dumps writes as invalid `NaN`."""
    return None if isinstance(value, float) and math.isnan(value) else value


def result_record(kb: KnowledgeBase, pid: str, score: float, query_terms: list[str]) -> dict[str, Any]:
    p = kb.passage_by_id[pid]
    codes = [
        {
            k: _missing_to_none(c[k])
            for k in ("category", "dimension", "polarity", "confidence", "source", "reviewer", "memo")
        }
        for c in kb.codes_for(pid)
    ]
    return {
        "id": pid,
        "text": p["text"],
        "case": p["case"],
        "case_name": p["case_name"],
        "group": p["group"],
        "platform_type": p["platform_type"],
        "doc_id": p["doc_id"],
        "kind": p.get("kind"),
        "speaker": p.get("speaker"),
        "section": p.get("section"),
        "page": p.get("page"),
        "codes": codes,
        "polarity": dominant_polarity(codes),
        "score": round(score, 6),
        "query_terms": query_terms,
    }
