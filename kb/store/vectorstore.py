"""Passages in Chroma: our own embeddings, filterable metadata, incremental sync.

Chroma never embeds anything itself (its default embedding function downloads a model);
every vector comes from `kb.embeddings`. The embedder's name, version and dimension are
stored on the collection, so switching models re-embeds instead of mixing vectors.

On a shared server every knowledge base has its own collections, named from its id (`kb_id`)
and the model signature: a build only adds vectors to its own collection, removes only ids no
kept generation of its own uses (`prune`), and never deletes a collection unless asked to.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

import chromadb  # noqa: E402
import numpy as np  # noqa: E402
from chromadb.config import Settings as ChromaSettings  # noqa: E402
from tqdm.auto import tqdm  # noqa: E402

from kb.errors import StoreUnavailable  # noqa: E402
from kb.settings import Settings  # noqa: E402
from kb.store.embed_context import passage_context, with_context  # noqa: E402

COLLECTION = "kb-passages"  # the single collection of kb versions before per-KB collections
KB_ID_FILE = "kb_id"


def _telemetry_off() -> ChromaSettings:
    # A fresh object each time: chromadb's HttpClient writes the server address into the
    # Settings it is given, and a shared instance would turn later embedded clients into HTTP ones.
    return ChromaSettings(anonymized_telemetry=False)


def open_client(settings: Settings, *, fresh: bool = False) -> Any:
    """Embedded persistent client under the data directory, or a shared server by URL.

    `fresh`: for the embedded store, load it from disk again instead of reusing this process's
    open instance, whose in-memory HNSW index does not see vectors another process (a `kb build`
    while the app runs) has added since. Builds and newly opened generations use it.
    """
    if settings.chroma_url:
        url = urlparse(settings.chroma_url)
        if not url.hostname:
            raise StoreUnavailable(
                f"KB_CHROMA_URL {settings.chroma_url!r} is not a URL like http://host:8000"
            )
        try:
            client = chromadb.HttpClient(
                host=url.hostname,
                port=url.port or 8000,
                ssl=url.scheme == "https",
                headers=auth_headers(settings.chroma_token),
                settings=_telemetry_off(),
            )
            client.heartbeat()
        except Exception as exc:  # chromadb raises several kinds here
            raise StoreUnavailable(
                f"cannot reach the Chroma server at {settings.chroma_url} ({exc.__class__.__name__}); "
                "start it with `chroma run --path DIR` or unset KB_CHROMA_URL"
            ) from exc
        return client
    path = settings.data_dir / "chroma"
    path.mkdir(parents=True, exist_ok=True)
    if fresh:
        from chromadb.api.shared_system_client import SharedSystemClient

        # Objects already holding the old instance keep using it; new clients get a new one.
        SharedSystemClient._identifier_to_system.pop(str(path), None)
    return chromadb.PersistentClient(path=str(path), settings=_telemetry_off())


def auth_headers(token: str) -> dict[str, str]:
    """Chroma's token headers (both forms its token authentication accepts); none without a token."""
    return {"Authorization": f"Bearer {token}", "X-Chroma-Token": token} if token else {}


def kb_id(settings: Settings, *, create: bool = True) -> str:
    """This knowledge base's stable id: `KB_ID`, else a uuid kept in `<data_dir>/kb_id`."""
    if settings.kb_id:
        return settings.kb_id
    path = settings.data_dir / KB_ID_FILE
    try:
        return path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        if not create:
            return ""
    from kb.store.generations import fsync_dir

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{KB_ID_FILE}.{os.getpid()}")
    tmp.write_text(uuid.uuid4().hex + "\n", encoding="utf-8")
    try:
        os.link(tmp, path)  # first writer wins, even between racing processes
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)
    fsync_dir(settings.data_dir)
    return path.read_text(encoding="utf-8").strip()


def model_signature(embedder: Any) -> dict[str, str | int]:
    return {"model": embedder.name, "model_version": embedder.version, "dim": int(embedder.dim)}


def collection_name(kb: str, embedder: Any, kind: str = "passages") -> str:
    """`kb-<kind>-<kb id>-<model hash>`: one collection per knowledge base, model and kind."""
    sig = json.dumps(model_signature(embedder), sort_keys=True)
    digest = hashlib.sha256(sig.encode()).hexdigest()[:12]
    safe_id = "".join(c for c in kb if c.isalnum() or c in "-_")[:40] or "none"
    return f"kb-{kind}-{safe_id}-{digest}"


def _names(client: Any) -> set[str]:
    return {c.name if hasattr(c, "name") else c for c in client.list_collections()}


def open_collection(
    client: Any, embedder: Any, *, kb_id: str = "", kind: str = "passages", create: bool = True
) -> Any:
    """This knowledge base's collection for this embedder (None when absent and `create` is off).

    A new model gets a new collection; the old one stays until `kb build --drop-old-collections`.
    """
    name = collection_name(kb_id, embedder, kind)
    if name in _names(client):
        return client.get_collection(name, embedding_function=None)
    if not create:
        return None
    return client.get_or_create_collection(
        name,
        embedding_function=None,
        configuration={"hnsw": {"space": "cosine"}},
        metadata={**model_signature(embedder), "kb_id": kb_id, "kind": kind},
    )


def prune(col: Any, live_ids: Collection[str], batch_size: int = 256) -> int:
    """Delete the ids `col` holds that are not in `live_ids` (those of the kept generations)."""
    from kb.store.faults import checkpoint

    stale = sorted(pid for pid in _existing(col) if pid not in live_ids)
    for chunk in _batches(stale, batch_size):
        col.delete(ids=list(chunk))
        checkpoint("prune:batch")
    return len(stale)


def drop_other_collections(client: Any, keep: Any, kb: str, *, legacy: bool = False) -> list[str]:
    """Delete this knowledge base's collections other than `keep` (other models); with `legacy`
    (an embedded store, which only this knowledge base uses) also the pre-id `kb-passages`."""
    dropped = []
    for name in sorted(_names(client)):
        if name == keep.name:
            continue
        meta = client.get_collection(name, embedding_function=None).metadata or {}
        mine = meta.get("kb_id") == kb and meta.get("kind") == (keep.metadata or {}).get("kind")
        if mine or (legacy and name == COLLECTION):
            client.delete_collection(name)
            dropped.append(name)
    return dropped


@dataclass
class SyncReport:
    total: int = 0
    embedded: int = 0
    metadata_updated: int = 0


def embed_text(p: dict[str, Any]) -> str:
    """What a passage's vector is made of: its document context (case, heading; see
    `kb.store.embed_context`) above its text, and an interview answer's question between them."""
    q = p.get("question")
    return with_context(passage_context(p), f"{q}\n{p['text']}" if q else p["text"])


def embed_hash(p: dict[str, Any]) -> str:
    """The hash of what is embedded: a changed context (a case renamed) re-embeds like changed text.

    The passage's own `text_hash` only when the text is embedded alone (as stores built before the
    context was added hold it, under no `embed_hash`)."""
    text = embed_text(p)
    if text == p["text"]:
        return p["text_hash"]
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _existing(col: Any) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    offset, page = 0, 5000
    while True:
        got = col.get(include=["metadatas"], limit=page, offset=offset)
        for pid, meta in zip(got["ids"], got["metadatas"] or [], strict=False):
            out[pid] = meta or {}
        if len(got["ids"]) < page:
            return out
        offset += page


def _batches(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def sync(
    col: Any,
    passages: Sequence[dict[str, Any]],
    embedder: Any,
    metadata_for: Callable[[dict[str, Any]], dict[str, Any]],
    *,
    progress: bool = False,
    batch_size: int = 256,
) -> SyncReport:
    """Upsert passages whose text changed and refresh metadata of the rest.

    Ids of vanished passages stay: the previous generation may still be read; `prune` removes
    them after the switch. Vectors already stored under an id with the same text are reused, so
    a build after a crash embeds only what the crashed one had not stored yet.
    """
    from kb.store.faults import checkpoint

    report = SyncReport(total=len(passages))
    have = _existing(col)

    def embedded_as(meta: dict[str, Any]) -> Any:
        return meta.get("embed_hash", meta.get("text_hash"))

    to_embed = [p for p in passages if embedded_as(have.get(p["id"], {})) != embed_hash(p)]
    to_touch = [
        p
        for p in passages
        if p["id"] in have
        and embedded_as(have[p["id"]]) == embed_hash(p)
        and _differs(have[p["id"]], _meta(p, metadata_for))
    ]
    bar = tqdm(total=len(to_embed), desc="embed", unit="passage", disable=not progress or not to_embed)
    for chunk in _batches(to_embed, batch_size):  # embed and store batch by batch: a crash keeps the rest
        col.upsert(
            ids=[p["id"] for p in chunk],
            embeddings=embedder.embed_passages([embed_text(p) for p in chunk]),
            metadatas=[_meta(p, metadata_for) for p in chunk],
            documents=[p["text"] for p in chunk],
        )
        bar.update(len(chunk))
        checkpoint("index:upsert")
    bar.close()
    report.embedded = len(to_embed)
    for chunk in _batches(to_touch, batch_size):
        col.update(ids=[p["id"] for p in chunk], metadatas=[_meta(p, metadata_for) for p in chunk])
        checkpoint("index:metadata")
    report.metadata_updated = len(to_touch)
    return report


def _meta(p: dict[str, Any], metadata_for: Callable[[dict[str, Any]], dict[str, Any]]) -> dict[str, Any]:
    meta = metadata_for(p)
    digest = embed_hash(p)
    if digest != p["text_hash"]:  # embedded with more than its text
        meta["embed_hash"] = digest
    return meta


def _differs(old: dict[str, Any], new: dict[str, Any]) -> bool:
    return any(old.get(k) != v for k, v in new.items())


OVERSAMPLE_LIMIT = 5000
EXACT_LIMIT = 20_000  # filters passing at most this many passages are searched exactly, in memory
GET_PAGE = 1000  # ids per `get`: SQLite caps one statement's variables, and larger pages were slower
CACHE_ROWS = 60_000  # vectors kept for recent filters: ~215 MB at the fusion model's 896 dimensions


@dataclass(frozen=True)
class Vectors:
    """Unit-length stored vectors of some passages (row i is ids[i]): exact search is one product."""

    ids: list[str]
    matrix: np.ndarray

    def nearest(self, vector: Sequence[float], n: int) -> list[tuple[str, float]]:
        """(id, cosine similarity) of the n most similar rows, best first (ties by id)."""
        if not self.ids or n <= 0:
            return []
        q = np.asarray(vector, dtype=np.float32)
        norm = float(np.linalg.norm(q))
        scores = self.matrix @ (q / norm if norm else q)
        n = min(n, len(scores))
        top = np.argpartition(-scores, n - 1)[:n]
        top = top[np.lexsort((top, -scores[top]))]  # rows are in id order: ties by id
        return [(self.ids[i], float(scores[i])) for i in top]

    def subset(self, ids: Collection[str]) -> Vectors:
        """The rows of these ids (still in id order); ids not held are skipped."""
        wanted = ids if isinstance(ids, (set, frozenset)) else set(ids)
        keep = [i for i, pid in enumerate(self.ids) if pid in wanted]
        return Vectors([self.ids[i] for i in keep], self.matrix[keep])


def fetch_all(col: Any) -> Vectors:
    """Every vector the collection holds, normalised, in id order (whatever order Chroma pages in)."""
    got_ids: list[str] = []
    blocks: list[np.ndarray] = []
    offset = 0
    while True:
        got = col.get(include=["embeddings"], limit=GET_PAGE, offset=offset)
        _collect(got, got_ids, blocks)
        if len(got["ids"]) < GET_PAGE:
            break
        offset += GET_PAGE
    return _in_id_order(got_ids, blocks)


def fetch_vectors(col: Any, ids: Collection[str]) -> Vectors:
    """The stored vectors of these ids, normalised; ids Chroma does not hold are skipped."""
    got_ids: list[str] = []
    blocks: list[np.ndarray] = []
    for chunk in _batches(sorted(ids), GET_PAGE):
        got = col.get(ids=list(chunk), include=["embeddings"])
        _collect(got, got_ids, blocks)
    return _in_id_order(got_ids, blocks)


def vectors_of(col: Any, ids: Collection[str], cache: VectorCache | None = None) -> Vectors:
    """These ids' vectors: a slice of what the cache holds (the whole collection, or a recent
    filter's vectors: a filtered search asks for its own passages' vectors again), else one read."""
    held = cache.holding(col, ids) if cache is not None else None
    return held if held is not None else fetch_vectors(col, ids)


def _collect(got: dict[str, Any], got_ids: list[str], blocks: list[np.ndarray]) -> None:
    if got["ids"]:
        got_ids += got["ids"]
        blocks.append(np.asarray(got["embeddings"], dtype=np.float32).reshape(len(got["ids"]), -1))


def _in_id_order(got_ids: list[str], blocks: list[np.ndarray]) -> Vectors:
    if not blocks:
        return Vectors([], np.zeros((0, 0), dtype=np.float32))
    order = np.argsort(np.array(got_ids), kind="stable")  # by id, whatever order Chroma answers in
    matrix = np.concatenate(blocks)[order]
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return Vectors([got_ids[i] for i in order], matrix / np.where(norms == 0, 1.0, norms))


class VectorCache:
    """The vectors of recently used filters, so repeated searches with one filter skip Chroma.

    Keyed by the filter's allowed id set, least recently used dropped first, bounded in rows
    (not filters) so memory stays predictable. One cache serves one collection.
    """

    def __init__(self, max_rows: int = CACHE_ROWS) -> None:
        self.max_rows = max_rows
        self._lock = threading.Lock()
        self._entries: OrderedDict[frozenset[str], Vectors] = OrderedDict()
        self._whole: Vectors | None = None  # all of the collection's vectors, once read
        self._too_large = False  # decided once too, not counted again on every query

    def whole(self, col: Any, limit: int = EXACT_LIMIT) -> Vectors | None:
        """All of the collection's vectors when it holds at most `limit` (None: use the index).

        Read once, like the filters' entries (and outside their row budget): the vectors of an open
        store's generation do not change, and a build switches to a new generation, which is opened
        with a new cache. Refetching when the count changes would refetch on every query while
        another process builds into the same collection."""
        with self._lock:
            if self._whole is not None or self._too_large:
                return self._whole
        if col.count() > limit:
            self._too_large = True
            return None
        vectors = fetch_all(col)
        with self._lock:
            self._whole = vectors
        return vectors

    def holding(self, col: Any, ids: Collection[str]) -> Vectors | None:
        """These ids' vectors sliced from the whole collection or a filter entry holding them all."""
        whole = self.whole(col)
        if whole is not None:
            return whole.subset(ids)
        wanted = ids if isinstance(ids, (set, frozenset)) else set(ids)
        with self._lock:
            entry = next((v for key, v in self._entries.items() if wanted <= key), None)
        return None if entry is None else entry.subset(wanted)

    def get(self, col: Any, ids: Collection[str]) -> Vectors:
        key = ids if isinstance(ids, frozenset) else frozenset(ids)
        with self._lock:
            hit = self._entries.get(key)
            if hit is not None:
                self._entries.move_to_end(key)
                return hit
        vectors = fetch_vectors(col, key)
        with self._lock:
            self._entries[key] = vectors
            rows = sum(len(v.ids) for v in self._entries.values())
            while self._entries and rows > self.max_rows:
                rows -= len(self._entries.popitem(last=False)[1].ids)
        return vectors


def query(
    col: Any,
    vector: Sequence[float],
    n: int,
    allowed: Collection[str] | None = None,
    *,
    cache: VectorCache | None = None,
    exact_limit: int = EXACT_LIMIT,
) -> list[tuple[str, float]]:
    """(passage id, cosine similarity) of the n nearest passages, among `allowed` when given.

    Unfiltered, with a `cache`: a collection of at most `exact_limit` vectors is searched exactly over
    all of them (fetched once, kept in the cache), larger ones by Chroma's HNSW index. HNSW is
    approximate, and Chroma rebuilds its in-memory graph from its log in a different order in each
    process, so the same query gave different neighbours in two sessions (docs/bench/determinism.md);
    exact search is reproducible and, up to that size, costs a few milliseconds. Once a collection is
    held whole, a filter is a slice of those vectors.
    A filter passing at most `exact_limit` passages is searched
    exactly over those passages' vectors, fetched once and kept in `cache`: at 100 000 passages
    Chroma's `where` took 0.4–4.7 s and its filtered HNSW search missed closer matches, and
    over-sampling a narrow filter needs a deep, slow HNSW query (37–113 ms p50–p95 for 9 000
    allowed ids of 100 000, against 1–4 ms for the product). A wider filter over-samples the
    unfiltered nearest neighbours and keeps the allowed ones; if too few pass, it too goes exact.
    """
    whole = cache.whole(col, exact_limit) if cache is not None else None
    if allowed is None:
        if whole is not None:
            return whole.nearest(vector, n)
        return _nearest(col, vector, n)  # Chroma returns fewer when it holds fewer
    if not allowed:
        return []
    if whole is not None:  # already in memory: a filter is a slice of it, not another read
        return whole.subset(allowed).nearest(vector, n)
    cache = cache if cache is not None else VectorCache(max_rows=0)
    if len(allowed) <= exact_limit:
        return cache.get(col, allowed).nearest(vector, n)
    count = col.count()
    first = min(count, max(n, int(n * count / len(allowed) * 3)))
    # If the query's neighbourhood lies mostly outside the filter, look wider before going exact.
    for want in sorted({first, min(count, OVERSAMPLE_LIMIT)}):
        if want > OVERSAMPLE_LIMIT:
            break
        hits = [(pid, s) for pid, s in _nearest(col, vector, want) if pid in allowed]
        if len(hits) >= n or want == count:
            return hits[:n]
    return cache.get(col, allowed).nearest(vector, n)


def _nearest(col: Any, vector: Sequence[float], n: int) -> list[tuple[str, float]]:
    got = col.query(query_embeddings=[list(map(float, vector))], n_results=n, include=["distances"])
    return [(pid, 1.0 - float(d)) for pid, d in zip(got["ids"][0], got["distances"][0], strict=True)]
