"""Filtered dense search in a real embedded Chroma collection against exact brute force.

The vectors are seeded random unit vectors (no model needed): the expected neighbours are
computed here with numpy over exactly the allowed ids, never with kb's own search code.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import chromadb
import numpy as np
import pytest

from kb.store import vectorstore
from kb.store.vectorstore import VectorCache, fetch_vectors, query

N, DIM = 3000, 128  # random 128-d vectors: Chroma's HNSW misses ~12% of the true top 10


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, list[str], np.ndarray]:
    rng = np.random.default_rng(7)
    vectors = rng.normal(size=(N, DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    ids = [f"p{i:05d}" for i in range(N)]
    path = Path(tmp_path_factory.mktemp("chroma"))
    client = chromadb.PersistentClient(path=str(path), settings=chromadb.Settings(anonymized_telemetry=False))
    col = client.create_collection(
        "test-vectors", embedding_function=None, configuration={"hnsw": {"space": "cosine"}}
    )
    for i in range(0, N, 1000):
        col.add(ids=ids[i : i + 1000], embeddings=vectors[i : i + 1000])
    return col, ids, vectors


def brute_force(ids: list[str], vectors: np.ndarray, q: np.ndarray, allowed: set[str], n: int) -> list[str]:
    rows = [i for i, pid in enumerate(ids) if pid in allowed]
    scores = vectors[rows] @ (q / np.linalg.norm(q))
    return [ids[rows[j]] for j in np.argsort(-scores, kind="stable")[:n]]


def queries(k: int = 5) -> np.ndarray:
    return np.random.default_rng(11).normal(size=(k, DIM)).astype(np.float32)


@pytest.mark.parametrize("share", [0.01, 0.1, 0.5])
def test_narrow_filter_is_exact(store, share: float) -> None:
    col, ids, vectors = store
    rng = np.random.default_rng(int(share * 100))
    allowed = frozenset(pid for pid in ids if rng.random() < share)
    # the whole collection held in memory (a filter slices it), and one too large for that
    # (the filter's own vectors fetched from Chroma)
    for limit in (N, N - 1):
        cache = VectorCache()
        for q in queries():
            got = query(col, q, 10, allowed, cache=cache, exact_limit=limit)
            assert [pid for pid, _ in got] == brute_force(ids, vectors, q, allowed, 10)
            want_scores = np.sort(vectors[[ids.index(pid) for pid, _ in got]] @ (q / np.linalg.norm(q)))[::-1]
            assert np.allclose([s for _, s in got], want_scores, atol=1e-5)
        assert (cache._whole is not None) == (limit == N) and bool(cache._entries) == (limit < N)


def test_wide_filter_falls_back_to_exact_when_neighbours_are_filtered_out(
    store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only the passages least similar to the query pass: over-sampling finds too few of them."""
    col, ids, vectors = store
    monkeypatch.setattr(vectorstore, "OVERSAMPLE_LIMIT", 500)  # a store much larger than the widening
    q = queries(1)[0]
    far = np.argsort(vectors @ q)[: N // 2]  # the half of the store facing away from the query
    allowed = frozenset(ids[i] for i in far)
    got = query(col, q, 10, allowed, exact_limit=100)  # force the over-sampling path first
    assert [pid for pid, _ in got] == brute_force(ids, vectors, q, allowed, 10)


def test_wide_filter_oversamples_allowed_neighbours(store) -> None:
    col, ids, vectors = store
    allowed = frozenset(ids[::2])
    for q in queries():
        got = [pid for pid, _ in query(col, q, 10, allowed, exact_limit=100)]
        assert set(got) <= allowed and len(got) == 10
        assert len(set(got) & set(brute_force(ids, vectors, q, allowed, 10))) >= 6  # HNSW: approximate


def test_unfiltered_and_edge_cases(store) -> None:
    col, ids, vectors = store
    q = queries(1)[0]
    got = query(col, q, 10)  # Chroma's HNSW index: approximate
    exact = set(brute_force(ids, vectors, q, set(ids), 10))
    assert len(got) == 10 and len({pid for pid, _ in got} & exact) >= 6
    assert len(query(col, q, N + 50)) == N  # more than the store holds: all of it
    assert query(col, q, 10, frozenset()) == []
    # ids Chroma does not hold (passages added since the last build) are skipped, not an error
    got = query(col, q, 10, frozenset({"p00001", "p00002", "not-indexed"}))
    assert sorted(pid for pid, _ in got) == ["p00001", "p00002"]


def test_cache_reuses_vectors_and_stays_within_its_row_budget(store) -> None:
    col, ids, _ = store
    cache = VectorCache(max_rows=250)
    a, b = frozenset(ids[:100]), frozenset(ids[100:250])
    first = cache.get(col, a)
    assert cache.get(col, set(a)) is first  # equal id sets share one entry
    cache.get(col, b)  # 250 rows: both fit
    assert cache.get(col, a) is first
    cache.get(col, frozenset(ids[300:400]))  # over budget: the least recently used (b) goes
    assert cache.get(col, a) is first
    assert b not in cache._entries and sum(len(v.ids) for v in cache._entries.values()) <= 250
    fetched = fetch_vectors(col, ids[:5])
    assert fetched.ids == ids[:5] and np.allclose(np.linalg.norm(fetched.matrix, axis=1), 1.0)


def test_unfiltered_search_of_a_small_collection_is_exact_and_read_once(tmp_path: Path) -> None:
    """With a cache, an unfiltered query over at most `exact_limit` vectors is brute force (HNSW is
    approximate and Chroma's graph differs per process); the vectors are read once per cache (one
    open store), a new cache (a newly opened store) sees vectors added since."""
    rng = np.random.default_rng(3)
    vectors = rng.normal(size=(1500, DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    ids = [f"s{i:05d}" for i in range(1500)]
    client = chromadb.PersistentClient(
        path=str(tmp_path), settings=chromadb.Settings(anonymized_telemetry=False)
    )
    col = client.create_collection(
        "small-vectors", embedding_function=None, configuration={"hnsw": {"space": "cosine"}}
    )
    for i in range(0, 1400, 256):
        col.add(ids=ids[i : min(i + 256, 1400)], embeddings=vectors[i : min(i + 256, 1400)])
    assert VectorCache().whole(col, limit=1399) is None  # larger than the limit: Chroma's index
    cache = VectorCache(max_rows=0)
    for q in queries():
        got = query(col, q, 50, cache=cache)
        assert [pid for pid, _ in got] == brute_force(ids[:1400], vectors[:1400], q, set(ids[:1400]), 50)
    first = cache.whole(col)
    col.add(ids=ids[1400:], embeddings=vectors[1400:])
    assert cache.whole(col) is first and len(first.ids) == 1400
    q = vectors[1450] + 0.01 * queries(1)[0]
    assert query(col, q, 1, cache=VectorCache())[0][0] == "s01450"


def test_a_collection_over_the_exact_limit_is_counted_once_per_cache(tmp_path: Path) -> None:
    """The size decision is kept with the cache like the vectors: at 100 000 passages, counting the
    collections on every query made the scale bench's search p50 110 ms instead of 78 ms."""
    client = chromadb.PersistentClient(
        path=str(tmp_path), settings=chromadb.Settings(anonymized_telemetry=False)
    )
    col = client.create_collection(
        "sized", embedding_function=None, configuration={"hnsw": {"space": "cosine"}}
    )
    vectors = np.eye(4, DIM, dtype=np.float32)
    col.add(ids=["a", "b", "c", "d"], embeddings=vectors)
    cache = VectorCache(max_rows=0)
    assert cache.whole(col, limit=3) is None
    col.delete(ids=["c", "d"])  # now within the limit, but this cache decided for its store already
    assert cache.whole(col, limit=3) is None
    assert VectorCache().whole(col, limit=3) is not None  # a newly opened store decides again


def test_vectors_of_slices_a_collection_held_whole_or_reads_it(store) -> None:
    col, ids, _ = store
    want = fetch_vectors(col, ids[10:20])
    for cache in (None, VectorCache()):  # read from Chroma; sliced from the whole collection
        got = vectorstore.vectors_of(col, set(ids[10:20]) | {"not-indexed"}, cache)
        assert got.ids == want.ids and np.allclose(got.matrix, want.matrix)


def test_vectors_of_slices_a_recent_filters_vectors(store) -> None:
    """A filtered search asks again for vectors of its own passages: sliced from the filter's entry,
    the same as a read; ids outside every entry are read from Chroma."""
    col, ids, _ = store
    cache = VectorCache()
    assert cache.whole(col, limit=10) is None  # too large to hold whole: the entries serve
    entry = cache.get(col, frozenset(ids[:300]))
    inside = set(ids[40:60])
    held = cache.holding(col, inside)
    want = fetch_vectors(col, inside)
    assert held is not None and held.ids == want.ids and np.allclose(held.matrix, want.matrix)
    assert cache.holding(col, inside | {ids[400]}) is None
    got = vectorstore.vectors_of(col, inside | {ids[400]}, cache)
    assert got.ids == sorted(inside | {ids[400]}) and len(cache._entries) == 1 and entry.ids == ids[:300]
