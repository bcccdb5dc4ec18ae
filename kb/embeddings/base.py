"""The one interface every embedding backend offers, and the shared batching around it.

Retrieval code only ever sees `Embedder`: passages and queries go in as text, L2-normalised
float32 rows come out, so cosine similarity is a dot product whatever the model. Backends
subclass `BaseEmbedder` and implement the two `_encode_*` hooks on one batch; input
checks, Unicode normalisation, batching, progress and the final normalisation live here once.
"""

from __future__ import annotations

import os
import threading
import unicodedata
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from kb.embeddings.seeds import PASSAGE, QUERY, SeedLog, lookup

_LOCK_INIT = threading.Lock()


@runtime_checkable
class Embedder(Protocol):
    """What the vector store, search and app rely on."""

    name: str
    version: str
    dim: int

    def embed_passages(
        self, texts: Sequence[str], batch_size: int = 32, progress: bool = False
    ) -> np.ndarray: ...

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray: ...


def embed_threads() -> int:
    """The `embed_threads` setting (KB_EMBED_THREADS); 0 = not set. A bad value counts as not set."""
    from kb.errors import BadSetting
    from kb.settings import get_settings

    try:
        return max(0, get_settings().embed_threads)
    except BadSetting:
        return 0


def cpu_threads() -> int:
    """Cores this process may use (cgroup/affinity aware), overridable with KB_EMBED_THREADS."""
    wanted = embed_threads()
    if wanted > 0:
        return wanted
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def l2_normalise(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length as float32; an all-zero row stays zero instead of NaN."""
    out = np.asarray(vectors, dtype=np.float32)
    if out.ndim != 2:
        out = out.reshape(len(out), -1)
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return (out / np.maximum(norms, 1e-12)).astype(np.float32, copy=False)


def _clean(texts: Sequence[str]) -> list[str]:
    """One text counts as a list of one (a str is a Sequence[str], embedding its characters would be
    silent garbage); NFC so macOS-decomposed Hangul tokenises like composed Hangul."""
    if isinstance(texts, str):
        texts = [texts]
    items = list(texts)
    for i, text in enumerate(items):
        if not isinstance(text, str):
            raise TypeError(f"text {i} is {type(text).__name__}, expected str")
    return [unicodedata.normalize("NFC", t) for t in items]


class BaseEmbedder(ABC):
    """Backends implement `_encode_passages` / `_encode_queries` for one batch of clean texts."""

    name: str = "base"
    version: str = "0"
    dim: int = 0
    # One call at a time per model: the app serves sessions from threads, and native engines
    # keep scratch buffers per model. Created per instance on first use.
    _lock: threading.Lock | None = None
    # Vectors of known texts, by kb.embeddings.seeds key: the bundled corpus is not embedded again.
    seeds: dict[str, np.ndarray] | None = None
    seed_log: SeedLog | None = None  # set inside kb.embeddings.seeds.recording

    def _guard(self) -> threading.Lock:
        if self._lock is None:
            with _LOCK_INIT:
                if self._lock is None:
                    self._lock = threading.Lock()
        return self._lock

    @abstractmethod
    def _encode_passages(self, texts: list[str]) -> np.ndarray: ...

    @abstractmethod
    def _encode_queries(self, texts: list[str]) -> np.ndarray: ...

    def _empty(self) -> np.ndarray:
        return np.zeros((0, self.dim), dtype=np.float32)

    def embed_passages(
        self, texts: Sequence[str], batch_size: int = 32, progress: bool = False
    ) -> np.ndarray:
        """Embed documents in batches; `progress` shows a tqdm bar on stderr."""
        return self._embed(_clean(texts), PASSAGE, self._encode_passages, batch_size, progress)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Embed search queries (backends add their query prompt); one row per text."""
        items = _clean(texts)
        return self._embed(items, QUERY, self._encode_queries, max(1, len(items)), False)

    def _embed(
        self,
        items: list[str],
        kind: str,
        encode: Callable[[list[str]], np.ndarray],
        batch_size: int,
        progress: bool,
    ) -> np.ndarray:
        """Rows of `items`: from the seed vectors where they hold the text, else `encode`d in batches."""
        if not items:
            return self._empty()
        out = np.empty((len(items), self.dim), dtype=np.float32)
        todo = []  # rows no seed vector answers (kb.embeddings.seeds)
        for i, vector in enumerate(lookup(self.seeds, self.version, items, kind)):
            if vector is None:
                todo.append(i)
            else:
                out[i] = vector
        if self.seed_log is not None:
            self.seed_log.asked[kind].update(items)
            self.seed_log.embedded[kind].update(items[i] for i in todo)
        size = max(1, int(batch_size))
        starts = range(0, len(todo), size)
        if progress:
            from tqdm.auto import tqdm

            starts = tqdm(starts, total=len(starts), desc=f"embed {self.name}", unit="batch")
        for start in starts:
            rows = todo[start : start + size]
            with self._guard():
                vectors = encode([items[i] for i in rows])
            out[rows] = self._check(vectors, len(rows))
        return out

    def _check(self, vectors: np.ndarray, n: int) -> np.ndarray:
        out = l2_normalise(vectors)
        if out.shape != (n, self.dim):
            raise ValueError(f"{self.name} returned shape {out.shape}, expected {(n, self.dim)}")
        return out

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name!r} dim={self.dim} version={self.version!r}>"
