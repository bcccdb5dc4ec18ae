"""Synthetic knowledge bases of any size, recombined from the corpus's own sentences (bench only).

The report yields ~220 passages; the scale bench needs 100 000. A synthetic passage is 1..n
real sentences of one case (n drawn from the real passages' sentence counts) with that case's
metadata, `synthetic: true` and an id `syn-NNNNNN`; its auto codes recombine the codes of its
sentences (the built store's codes when there are any, else the human gold codes of eval/gold).

Vectors: each distinct source sentence is embedded once with the real embedder and a passage's
vector is the L2-normalised mean of its sentences' vectors. Embedding 100 000 passages with the
real models would take hours on 2 cores, so a synthetic store measures search and matrix cost,
not embedding throughput (bench/build_speed.py measures that). Kiwi terms are likewise computed
per sentence and concatenated for BM25. Stores go to a temp dir and are never committed.

    python -m bench.synthetic 10000 /tmp/kb_syn_10k
"""

from __future__ import annotations

import argparse
import hashlib
import json
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import peak_rss_mb
from kb.query.evalsets import collapse_ws
from kb.settings import ROOT, Settings, get_settings
from kb.store.generations import store_dir
from kb.store.kbase import CODES_FILE, PASSAGES_FILE, KnowledgeBase, read_jsonl, write_jsonl

GOLD_FILES = ("part1.jsonl", "part2.jsonl")
UPSERT_BATCH = 5000
BUILD_INFO = "synthetic.json"
CACHE_DIR = Path(tempfile.gettempdir()) / "kb_bench_cache"


@dataclass
class Sentence:
    text: str
    source: dict[str, Any]  # the real passage it comes from (metadata donor)
    codes: list[dict[str, Any]] = field(default_factory=list)


def _unit_codes(codes: list[dict[str, Any]], rng: np.random.Generator) -> list[dict[str, Any]]:
    """Codes with a confidence (gold codes have none: draw one like a calibrated coder's)."""
    return [
        {
            "category": c["category"],
            "polarity": c.get("polarity") or "neutral",
            "confidence": float(c["confidence"])
            if c.get("confidence") is not None
            else round(float(rng.uniform(0.45, 0.97)), 3),
        }
        for c in codes
    ]


def corpus_sentences(
    passages: list[dict[str, Any]], code_records: list[dict[str, Any]] | None, seed: int = 0
) -> tuple[list[Sentence], str]:
    """Every sentence of the real passages with codes; returns (sentences, where the codes came from).

    With auto codes: a sentence gets its own sentence-level codes when the record has them, else
    the passage's codes are dealt round-robin over its sentences. Without: the gold codes of the
    same sentence text, else those of a random gold sentence of the same case."""
    rng = np.random.default_rng(seed)
    out: list[Sentence] = []
    by_pid = {r["passage_id"]: r for r in code_records or []}
    gold = [json.loads(line) for name in GOLD_FILES for line in (ROOT / "eval" / "gold" / name).open()]
    gold_text = {collapse_ws(g["text"]): g["codes"] for g in gold}
    gold_case: dict[str, list[list[dict]]] = defaultdict(list)
    for g in gold:
        gold_case[g["case"]].append(g["codes"])
    for p in passages:
        spans = p.get("sentences") or [[p["start"], p["end"]]]
        texts = [p["text"][s - p["start"] : e - p["start"]].strip() for s, e in spans]
        rec = by_pid.get(p["id"])
        for i, text in enumerate(texts):
            if not text:
                continue
            if rec is not None:
                sent = [s for s in rec.get("sentences") or [] if s.get("start") == spans[i][0]]
                codes = sent[0]["codes"] if sent else rec["codes"][i :: len(texts)]
            elif collapse_ws(text) in gold_text:
                codes = gold_text[collapse_ws(text)]
            else:
                pool = gold_case.get(p["case"]) or [g["codes"] for g in gold]
                codes = pool[int(rng.integers(len(pool)))]
            out.append(Sentence(text, p, _unit_codes(codes, rng)))
    return out, ("auto codes of the built store" if code_records else "human gold codes (eval/gold)")


def generate(
    n: int, sentences: list[Sentence], passages: list[dict[str, Any]], seed: int = 0
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[list[int]]]:
    """(passages, auto code records, sentence indexes per passage) for n synthetic passages."""
    rng = np.random.default_rng(seed)
    by_case: dict[str, list[int]] = defaultdict(list)
    for i, s in enumerate(sentences):
        by_case[s.source["case"]].append(i)
    case_weights = Counter(p["case"] for p in passages if p["case"] in by_case)
    cases = sorted(case_weights)
    probs = np.array([case_weights[c] for c in cases], dtype=float)
    case_of = rng.choice(len(cases), size=n, p=probs / probs.sum())
    lengths = np.array([max(1, len(p.get("sentences") or [1])) for p in passages])
    n_sent = rng.choice(lengths, size=n)
    offsets: Counter[str] = Counter()
    out_p, out_c, members = [], [], []
    for i in range(n):
        pool = by_case[cases[case_of[i]]]
        idx = [pool[j] for j in rng.integers(len(pool), size=int(n_sent[i]))]
        src = sentences[idx[0]].source
        doc_id = f"syn-{src['doc_id']}"
        text, spans, start = "", [], offsets[doc_id]
        for j in idx:
            if text:
                text += " "
            spans.append([start + len(text), start + len(text) + len(sentences[j].text)])
            text += sentences[j].text
        offsets[doc_id] = start + len(text) + 2
        pid = f"syn-{i:06d}"
        rec = {
            k: src.get(k)
            for k in (
                "case",
                "case_name",
                "case_name_en",
                "group",
                "platform_type",
                "organization",
                "section",
                "section_path",
                "page",
                "kind",
                "speaker",
            )
        }
        out_p.append(
            {
                "id": pid,
                "doc_id": doc_id,
                **rec,
                "text": text,
                "start": start,
                "end": start + len(text),
                "sentences": spans,
                "text_hash": hashlib.sha256(text.encode()).hexdigest(),
                "synthetic": True,
            }
        )
        out_c.append(_code_record(pid, [sentences[j].codes for j in idx], spans))
        members.append(idx)
    return out_p, out_c, members


def _code_record(pid: str, sent_codes: list[list[dict]], spans: list[list[int]]) -> dict[str, Any]:
    """The coder's record shape: passage codes (best per category), dominant polarity, sentences."""
    best: dict[str, dict] = {}
    for codes in sent_codes:
        for c in codes:
            if c["category"] not in best or c["confidence"] > best[c["category"]]["confidence"]:
                best[c["category"]] = c
    unit = sorted(best.values(), key=lambda c: -c["confidence"])
    votes: Counter[str] = Counter()
    for c in unit:
        votes[c["polarity"]] += c["confidence"]
    return {
        "passage_id": pid,
        "codes": unit,
        "polarity": max(sorted(votes), key=lambda p: votes[p]) if votes else "neutral",
        "sentences": [
            {"start": s, "end": e, "codes": c} for (s, e), c in zip(spans, sent_codes, strict=True)
        ],
        "synthetic": True,
    }


def sentence_vectors(texts: list[str], embedder: Any) -> np.ndarray:
    """Real embeddings of the distinct source sentences, cached on disk between bench runs."""
    key = hashlib.sha1((embedder.name + embedder.version + "\0".join(texts)).encode()).hexdigest()[:16]
    path = CACHE_DIR / f"sentences-{key}.npy"
    if path.exists():
        return np.load(path, allow_pickle=False)
    vectors = embedder.embed_passages(texts, progress=False)
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    np.save(path, vectors)
    return vectors


def keyword_index(passages: list[dict], members: list[list[int]], sentence_terms: list[list[str]]) -> Any:
    """kb.store.keyword_index.KeywordIndex over per-sentence kiwi terms concatenated (same BM25 build)."""
    import bm25s

    from kb.store.keyword_index import KeywordIndex, corpus_fingerprint

    vocab: dict[str, int] = {}
    ids_lists = [[vocab.setdefault(t, len(vocab)) for j in idx for t in sentence_terms[j]] for idx in members]
    retriever = bm25s.BM25()
    retriever.index(bm25s.tokenization.Tokenized(ids=ids_lists, vocab=vocab), show_progress=False)
    return KeywordIndex(retriever, [p["id"] for p in passages], corpus_fingerprint(passages))


def real_passages(source: Settings) -> list[dict[str, Any]]:
    """The built store's passages, or (no store yet) the committed corpus segmented afresh."""
    path = store_dir(source) / PASSAGES_FILE
    if path.exists():
        return read_jsonl(path)
    from pipelines import segment

    with tempfile.TemporaryDirectory() as tmp:
        return segment.run(corpus_dir=source.corpus_dir, data_dir=Path(tmp))


def build_store(
    n: int, data_dir: Path, source: Settings | None = None, seed: int = 0, sources: int | None = None
) -> dict[str, Any]:
    """Write passages, codes, BM25 and Chroma for n synthetic passages into data_dir; returns timings.

    `source`: where the real passages, codes and model come from; `sources`: use only that many
    real passages (tests)."""
    from kb.embeddings import get_embedder
    from kb.store.vectorstore import open_client, open_collection
    from kb.text.morphs import terms_many
    from pipelines.index import passage_metadata as chroma_metadata

    source = source or get_settings()
    settings = get_settings(
        data_dir=Path(data_dir), embed_model=source.embed_model, corpus_dir=source.corpus_dir
    )
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    times: dict[str, float] = {}
    t = time.perf_counter()
    real = real_passages(source)[:sources]
    codes_path = store_dir(source) / CODES_FILE
    sentences, code_source = corpus_sentences(
        real, read_jsonl(codes_path) if codes_path.exists() else None, seed
    )
    passages, codes, members = generate(n, sentences, real, seed)
    write_jsonl(settings.data_dir / PASSAGES_FILE, passages)
    write_jsonl(settings.data_dir / CODES_FILE, codes)
    times["generate_s"] = time.perf_counter() - t

    t = time.perf_counter()
    embedder = get_embedder(settings.embed_model)
    sent_vecs = sentence_vectors([s.text for s in sentences], embedder)
    times["embed_sentences_s"] = time.perf_counter() - t

    t = time.perf_counter()
    keyword_index(passages, members, terms_many(s.text for s in sentences)).save(settings.data_dir / "bm25")
    times["bm25_s"] = time.perf_counter() - t

    t = time.perf_counter()
    kb = KnowledgeBase(settings)
    meta = chroma_metadata(kb)
    col = open_collection(open_client(settings), embedder)
    for start in range(0, n, UPSERT_BATCH):
        chunk = range(start, min(n, start + UPSERT_BATCH))
        vecs = np.stack([sent_vecs[members[i]].mean(axis=0) for i in chunk])
        vecs /= np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-12)
        col.upsert(
            ids=[passages[i]["id"] for i in chunk],
            embeddings=vecs,
            metadatas=[meta(passages[i]) for i in chunk],
            documents=[passages[i]["text"] for i in chunk],
        )
    times["chroma_s"] = time.perf_counter() - t
    t = time.perf_counter()
    n_sentences = sentence_store(settings, embedder, passages, members, sent_vecs)
    times["chroma_sentences_s"] = time.perf_counter() - t
    out = {
        "n": n,
        "vectors": col.count(),
        "sentence_vectors": n_sentences,
        "distinct_sentences": len(sentences),
        "model": embedder.name,
        "code_source": code_source,
        "codes": sum(len(c["codes"]) for c in codes),
        **{k: round(v, 2) for k, v in times.items()},
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }
    (settings.data_dir / BUILD_INFO).write_text(json.dumps(out, ensure_ascii=False), encoding="utf-8")
    return out


def sentence_store(
    settings: Settings, embedder: Any, passages: list[dict], members: list[list[int]], sent_vecs: np.ndarray
) -> int:
    """Each encoder's sentence collection (kb.store.sentence_index), from the source sentences' vectors.

    A sentence unit's vector is the mean of the source sentences it spans (short ones are merged);
    a fused vector is split back into its encoders' parts."""
    from kb.store.sentence_index import encoders, sentence_parts, sentences_of
    from kb.store.vectorstore import open_client, open_collection

    client = open_client(settings)
    starts = np.cumsum([0] + [int(e.dim) for e in encoders(embedder)])
    parts = []
    for i, enc in sentence_parts(embedder):
        block = sent_vecs[:, starts[i] : starts[i + 1]] if len(encoders(embedder)) > 1 else sent_vecs
        parts.append((open_collection(client, enc, kind="sentences"), block))
    ids: list[str] = []
    metas: list[dict[str, Any]] = []
    rows: list[list[int]] = []
    total = 0

    def flush() -> None:
        for col, block in parts:
            vecs = np.stack([block[r].mean(axis=0) for r in rows])
            vecs /= np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-12)
            col.upsert(ids=list(ids), embeddings=vecs, metadatas=list(metas))
        ids.clear(), metas.clear(), rows.clear()

    for p, member in zip(passages, members, strict=True):
        spans = [(a - p["start"], b - p["start"]) for a, b in p["sentences"]]
        for sent in sentences_of(p):
            inside = [m for m, (a, b) in zip(member, spans, strict=True) if a >= sent.start and b <= sent.end]
            ids.append(sent.id)
            metas.append({"passage_id": p["id"], "start": sent.start, "end": sent.end})
            rows.append(inside or member)
            total += 1
        if len(ids) >= UPSERT_BATCH:
            flush()
    if ids:
        flush()
    return total


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("n", type=int)
    ap.add_argument("data_dir", type=Path)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    print(json.dumps(build_store(args.n, args.data_dir, seed=args.seed), ensure_ascii=False))


if __name__ == "__main__":
    main()
