"""Fit the search reranker (`kb.query.ltr`) on the dev halves of the blind questions; print its CV table.

For each dev question of the report and of the added transcripts, kb's own search path
(`kb.query.retrieval.fuse_candidates`, the shipped fusion) gives the fused candidates and the signals
behind them; `kb.query.ltr.features` turns the top N into feature rows; the graded judgments say which
rows are relevant. Models (pairwise logistic on the pairs of one question with different grades, or
pointwise logistic; L2 strength C; N) are compared by K-fold cross-validation over QUESTIONS (report and
transcripts pooled, folds fixed by a hash of the question id), each fold scored on questions the model
did not see. A configuration is eligible only if it raises the report's CV MRR@10 and loses at most one
question's worth of the transcripts' hit@5 and MRR@10 in each language; the eligible one with the best
pooled CV MRR@10 is then fit on all dev questions and written as JSON (the file search loads). Only
`split: dev` rows are read. Deterministic: the same stores give the same file.

    python -m bench.fit_ltr --data-dir REPORT_STORE --transcript-store TR_DIR [--out PATH] [--no-write]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression

from bench.common import md_table
from bench.eval_retrieval import BLIND, dev_only, metrics
from kb.query import ltr
from kb.query.evalsets import qrels
from kb.query.retrieval import DEFAULT_WEIGHTS, NO_FILTERS, fuse_candidates
from kb.settings import get_settings
from kb.store.kbase import KnowledgeBase

NS = (20, 30)
CS = (0.001, 0.01, 0.03, 0.1, 1.0)
KINDS = ("pairwise", "pointwise")
FOLDS = 5
SEEDS = (0, 1, 2)  # fold assignments: every CV number is the mean over these repetitions
SEARCH_K = 10  # the k the end-to-end eval searches with (it sets the candidate pool)


@dataclass
class Query:
    set: str
    qid: str
    lang: str
    fused: list[str]  # every fused candidate, best first
    x: dict[int, np.ndarray]  # N -> features of the top N
    rel: dict[str, int]
    fold: int


def collect(name: str, kb: KnowledgeBase, path: Path) -> list[Query]:
    queries = dev_only(path)
    rels = qrels(queries, kb.passages)
    out = []
    for q in queries:
        if not rels[q["id"]]:
            continue
        fused, _, sig = fuse_candidates(kb, q["query"], SEARCH_K, NO_FILTERS, "hybrid", DEFAULT_WEIGHTS)
        assert sig is not None
        ids = [pid for pid, _ in fused]
        x = {n: ltr.features(kb, sig, ids[:n]) for n in NS}
        out.append(Query(name, q["id"], q["lang"], ids, x, rels[q["id"]], fold_of(name, q["id"], 0)))
    return out


def fold_of(name: str, qid: str, seed: int) -> int:
    """The question's CV fold: a hash of its set, id and the seed (no order or content involved)."""
    return int(hashlib.sha1(f"{seed}/{name}/{qid}".encode()).hexdigest(), 16) % FOLDS


def latency(rs, ts, queries: list[Query], blind: Path) -> str:
    """kb.search's ranking (`ranked_ids`, k=10) per dev question with the reranker off and on, interleaved."""
    from dataclasses import replace

    from kb.query.evalsets import load_queries
    from kb.query.retrieval import ranked_ids

    text = {}
    for path in (blind / "report_queries.jsonl", blind / "transcript_queries.jsonl"):
        text.update({q["id"]: q["query"] for q in load_queries(path) if q.get("split") == "dev"})
    lines = []
    for name, settings in (("report", rs), ("transcripts", ts)):
        kbs = {on: KnowledgeBase.open(replace(settings, rerank_ltr=on)) for on in (0, 1)}
        times: dict[int, list[float]] = {0: [], 1: []}
        qs = [text[q.qid] for q in queries if q.set == name]
        for on in (0, 1):  # warm-up: models, caches, lemma sets
            ranked_ids(kbs[on], qs[0], 10)
        for query in qs:
            for on in (0, 1):
                t = time.perf_counter()
                ranked_ids(kbs[on], query, 10)
                times[on].append((time.perf_counter() - t) * 1000)
        lines.append(
            f"{name} ({len(qs)} dev questions): kb.search ranking p50/p95 "
            + ", ".join(
                f"{'with' if on else 'without'} reranker {np.percentile(times[on], 50):.0f}/"
                f"{np.percentile(times[on], 95):.0f} ms"
                for on in (0, 1)
            )
            + f"; the reranker's own median cost {np.median(np.subtract(times[1], times[0])):.1f} ms"
        )
    return "\n".join(lines)


def standardiser(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean = rows.mean(axis=0)
    scale = rows.std(axis=0)
    return mean, np.where(scale > 1e-9, scale, 1.0)


class Trees:
    """Pointwise gradient-boosted trees with few leaves: measured in CV only (not shipped as coefficients)."""

    def __init__(self, train: list[Query], n: int, leaves: int) -> None:
        from sklearn.ensemble import HistGradientBoostingClassifier

        self.n = n
        xs = np.concatenate([q.x[n] for q in train])
        ys = np.concatenate([[float(q.rel.get(pid, 0) > 0) for pid in q.fused[:n]] for q in train])
        self.clf = HistGradientBoostingClassifier(
            max_leaf_nodes=leaves, max_iter=100, learning_rate=0.05, l2_regularization=1.0, random_state=0
        ).fit(xs, ys)

    def score(self, x: np.ndarray) -> np.ndarray:
        return self.clf.predict_proba(x)[:, 1]


def fit(train: list[Query], n: int, kind: str, c: float) -> ltr.Model:
    allx = np.concatenate([q.x[n] for q in train])
    mean, scale = standardiser(allx)
    if kind == "pairwise":
        diffs = []
        for q in train:
            z = (q.x[n] - mean) / scale
            g = np.array([q.rel.get(pid, 0) for pid in q.fused[:n]])
            for i in np.flatnonzero(g > 0):
                for j in np.flatnonzero(g < g[i]):
                    diffs.append(z[i] - z[j])
        d = np.asarray(diffs)
        xs, ys = np.concatenate([d, -d]), np.r_[np.ones(len(d)), np.zeros(len(d))]
        clf = LogisticRegression(C=c, fit_intercept=False, max_iter=5000).fit(xs, ys)
    else:
        xs = np.concatenate([(q.x[n] - mean) / scale for q in train])
        ys = np.concatenate([[float(q.rel.get(pid, 0) > 0) for pid in q.fused[:n]] for q in train])
        clf = LogisticRegression(C=c, max_iter=5000).fit(xs, ys)
    return ltr.Model(n=n, mean=mean, scale=scale, coef=clf.coef_[0].astype(np.float64), sha256="", version="")


def ranked(q: Query, model: ltr.Model | Trees | None) -> list[str]:
    if model is None:
        return q.fused
    n = model.n
    fused = [(pid, 0.0) for pid in q.fused]
    return [pid for pid, _ in ltr.rerank(model, fused, q.x[n][: len(q.fused[:n])])]  # type: ignore[arg-type]


def cv(queries: list[Query], n: int, kind: str, c: float) -> dict[str, dict[str, float]]:
    """Per query (set/qid) metrics of the model fit on the other folds, averaged over the SEEDS' fold
    assignments (one assignment's CV moved MRR@10 by up to ±0.006 against another)."""
    runs = []
    for seed in SEEDS:
        for q in queries:
            q.fold = fold_of(q.set, q.qid, seed)
        runs.append(cv_once(queries, n, kind, c))
    return {key: {m: float(np.mean([r[key][m] for r in runs])) for m in runs[0][key]} for key in runs[0]}


def cv_once(queries: list[Query], n: int, kind: str, c: float) -> dict[str, dict[str, float]]:
    out = {}
    for f in range(FOLDS):
        train = [q for q in queries if q.fold != f]
        model = Trees(train, n, int(c)) if kind == "trees" else fit(train, n, kind, c)
        for q in queries:
            if q.fold == f:
                out[f"{q.set}/{q.qid}"] = metrics(ranked(q, model), q.rel)
    return out


def summary(queries: list[Query], per: dict[str, dict[str, float]]) -> dict[tuple[str, str], dict]:
    """(set, lang) -> n, hit@5, MRR@10, and the sums (hits, reciprocal ranks) for one-question deltas."""
    out = {}
    for s in ("report", "transcripts", "all"):
        for lang in ("ko", "en", "all"):
            sel = [
                per[f"{q.set}/{q.qid}"] for q in queries if s in ("all", q.set) and lang in ("all", q.lang)
            ]
            if sel:
                hits = sum(m["hit@5"] for m in sel)
                rr = sum(m["MRR@10"] for m in sel)
                out[(s, lang)] = {
                    "n": len(sel),
                    "hit@5": hits / len(sel),
                    "MRR@10": rr / len(sel),
                    "hits": hits,
                    "rr": rr,
                }
    return out


def eligible(sm: dict, base: dict) -> bool:
    """Report CV MRR@10 up; transcripts' hit@5 and MRR@10 down by at most one question, per language."""
    if sm[("report", "all")]["MRR@10"] <= base[("report", "all")]["MRR@10"] + 1e-12:
        return False
    for lang in ("ko", "en"):
        key = ("transcripts", lang)
        if key not in sm:
            continue
        if sm[key]["hits"] < base[key]["hits"] - 1 or sm[key]["rr"] < base[key]["rr"] - 1.0 - 1e-9:
            return False
    return True


def rounded(a: np.ndarray) -> list[float]:
    return [float(f"{v:.10g}") for v in a]


def model_json(model: ltr.Model, kind: str, c: float, queries: list[Query], cv_row: dict) -> dict:
    body = {
        "format": ltr.FORMAT,
        "version": "1",
        "model": f"{kind} logistic, L2 C={c}",
        "n": model.n,
        "features": list(ltr.FEATURES),
        "mean": rounded(model.mean),
        "scale": rounded(model.scale),
        "coef": rounded(model.coef),
        "fit_on": {s: sum(q.set == s for q in queries) for s in ("report", "transcripts")},
        "cv": cv_row,
    }
    body["sha256"] = ltr.body_sha(body)
    return body


def fmt(sm: dict, base: dict | None, key: tuple[str, str]) -> str:
    r = sm.get(key)
    if r is None:
        return "–"
    text = f"{r['hit@5']:.3f} / {r['MRR@10']:.3f}"
    if base is not None:
        b = base[key]
        text += f" ({r['hits'] - b['hits']:+.1f} hits, {r['rr'] - b['rr']:+.2f} RR)"
    return text


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-dir", type=Path, required=True, help="the built report store")
    ap.add_argument("--transcript-store", type=Path, required=True, help="DIR with corpus/ and data/")
    ap.add_argument("--blind-dir", type=Path, default=BLIND)
    ap.add_argument("--out", type=Path, default=ltr.MODEL_PATH)
    ap.add_argument("--no-write", action="store_true", help="print the CV table only")
    ap.add_argument("--latency", action="store_true", help="then time kb.search without and with the file")
    args = ap.parse_args()
    os.environ.setdefault("KB_CODER_TUNE_EPOCHS", "0")
    t0 = time.time()
    rs = get_settings(data_dir=args.data_dir, rerank_ltr=0)
    ts = get_settings(
        corpus_dir=args.transcript_store / "corpus", data_dir=args.transcript_store / "data", rerank_ltr=0
    )
    queries = collect("report", KnowledgeBase.open(rs), args.blind_dir / "report_queries.jsonl")
    queries += collect("transcripts", KnowledgeBase.open(ts), args.blind_dir / "transcript_queries.jsonl")
    print(f"{len(queries)} dev questions collected in {time.time() - t0:.0f} s")
    base = summary(queries, {f"{q.set}/{q.qid}": metrics(q.fused, q.rel) for q in queries})
    keys = [
        ("report", "all"),
        ("report", "ko"),
        ("report", "en"),
        ("transcripts", "all"),
        ("transcripts", "ko"),
        ("transcripts", "en"),
        ("all", "all"),
    ]
    cols = ["config", *[f"{s} {lang}" for s, lang in keys], "eligible"]
    rows = [
        {
            "config": "fused order (no reranker)",
            **{f"{s} {lang}": fmt(base, None, (s, lang)) for s, lang in keys},
            "eligible": "–",
        }
    ]
    tried = []
    for kind in KINDS:
        for n in NS:
            for c in CS:
                sm = summary(queries, cv(queries, n, kind, c))
                ok = eligible(sm, base)
                tried.append((kind, n, c, sm, ok))
                rows.append(
                    {
                        "config": f"{kind} N={n} C={c}",
                        **{f"{s} {lang}": fmt(sm, base, (s, lang)) for s, lang in keys},
                        "eligible": "yes" if ok else "no",
                    }
                )
    for n in NS:  # trees: reported, never chosen (the shipped model must be a few coefficients)
        for leaves in (3, 7):
            sm = summary(queries, cv(queries, n, "trees", leaves))
            rows.append(
                {
                    "config": f"trees (CV only) N={n} leaves={leaves}",
                    **{f"{s} {lang}": fmt(sm, base, (s, lang)) for s, lang in keys},
                    "eligible": "yes" if eligible(sm, base) else "no",
                }
            )
    print(
        f"\nCV over questions ({FOLDS} folds, mean of {len(SEEDS)} fold assignments), hit@5 / MRR@10 "
        "(change against the fused order in questions: hits, sum of reciprocal ranks):\n"
    )
    print(md_table(rows, cols))
    good = [t for t in tried if t[4]]
    if not good:
        print("\nno configuration is eligible: nothing written")
        return
    # the most regularised (smallest C) of the eligible configurations within one question's reciprocal
    # rank of the best pooled CV MRR@10: a gain smaller than one question does not buy a weaker prior
    best = max(t[3][("all", "all")]["rr"] for t in good)
    kind, n, c, sm, _ = min(
        (t for t in good if t[3][("all", "all")]["rr"] >= best - 1.0),
        key=lambda t: (t[2], -t[3][("all", "all")]["rr"], t[1], t[0]),
    )
    print(f"\nchosen: {kind} N={n} C={c}")
    model = fit(queries, n, kind, c)
    cv_row = {
        f"{s} {lang}": {
            "n": sm[(s, lang)]["n"],
            "hit@5": round(sm[(s, lang)]["hit@5"], 4),
            "MRR@10": round(sm[(s, lang)]["MRR@10"], 4),
        }
        for s, lang in keys
        if (s, lang) in sm
    }
    body = model_json(model, kind, c, queries, cv_row)
    print("coefficients (standardised features):")
    for name, w in zip(ltr.FEATURES, body["coef"], strict=True):
        print(f"  {name:28s} {w:+.4f}")
    if not args.no_write:
        args.out.write_text(json.dumps(body, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {args.out} sha256 {body['sha256'][:12]}")
        if args.latency:
            print(latency(rs, ts, queries, args.blind_dir))


if __name__ == "__main__":
    main()
