"""Similarity of a text to each category's description and examples, via sentence embeddings.

Cue rules miss paraphrases; embeddings catch "구청장이 직접 챙긴다" as leadership even
without the word 리더십. Both sides are embedded as queries (E5's symmetric mode). Vectors are
cached by text hash, on disk when a path is given, because the same sentences are coded
again and again (build, evaluation folds, app).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kb.coding.book import CodebookView
from kb.fileio import atomic_open, default_mode


def _key(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


class CachedEmbedder:
    """Wraps a kb embedder; remembers vectors per text (and per model) in memory and on disk."""

    def __init__(self, embedder: Any, cache_path: Path | None = None) -> None:
        self.embedder = embedder
        self.name = f"{getattr(embedder, 'name', 'embedder')}-{getattr(embedder, 'version', '0')}"
        self.cache_path = cache_path
        self._cache: dict[str, np.ndarray] = {}
        self._dirty = False
        if cache_path is not None and cache_path.exists():
            with np.load(cache_path, allow_pickle=False) as data:
                keys, vecs = data["keys"], data["vectors"]
                self._cache = {str(k): v for k, v in zip(keys, vecs, strict=True)}

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        keys = [_key(t) for t in texts]
        missing = sorted({k: t for k, t in zip(keys, texts, strict=True) if k not in self._cache}.items())
        if missing:
            vecs = self.embedder.embed_queries([t if t.strip() else "." for _, t in missing])
            for (k, _), v in zip(missing, vecs, strict=True):
                self._cache[k] = np.asarray(v, dtype=np.float32)
            self._dirty = True
        if not keys:
            return np.zeros((0, int(getattr(self.embedder, "dim", 0) or 0)), dtype=np.float32)
        return np.stack([self._cache[k] for k in keys])

    def save(self) -> None:
        if self.cache_path is None or not self._dirty:
            return
        self.cache_path.parent.mkdir(parents=True, exist_ok=True)
        keys = sorted(self._cache)
        with atomic_open(self.cache_path, "wb", perm=default_mode(self.cache_path)) as fh:
            np.savez(fh, keys=np.array(keys), vectors=np.stack([self._cache[k] for k in keys]))
        self._dirty = False


@dataclass
class SimilarityScores:
    definition: np.ndarray  # [n_texts, n_categories] cosine to the category description
    example_max: np.ndarray  # [n_texts, n_categories] best cosine to one of its examples (0 if none)
    example_arg: np.ndarray  # [n_texts, n_categories] index of that example (-1 if none)


class CodebookSimilarity:
    """Embeds category descriptions and examples once; scores texts against them."""

    def __init__(self, book: CodebookView, embedder: CachedEmbedder) -> None:
        self.book = book
        self.embedder = embedder
        self.ids = book.ids
        self.def_vecs = embedder.embed([c.description() or c.id for c in book.categories])
        self.example_texts: list[list[str]] = [[e.text for e in c.examples] for c in book.categories]
        self.example_vecs = [embedder.embed(t) if t else None for t in self.example_texts]

    def score_vectors(self, vecs: np.ndarray, texts: Sequence[str] | None = None) -> SimilarityScores:
        """Scores for embedded texts; an example never counts as similar to itself (given `texts`),
        so training on codebook examples does not teach "similarity 1.0 means this code"."""
        n, k = len(vecs), len(self.ids)
        definition = vecs @ self.def_vecs.T if n else np.zeros((0, k), np.float32)
        ex_max = np.zeros((n, k), np.float32)
        ex_arg = np.full((n, k), -1, np.int64)
        for j, ev in enumerate(self.example_vecs):
            if ev is None or not n:
                continue
            sims = vecs @ ev.T
            if texts is not None:
                positions = {t: i for i, t in enumerate(self.example_texts[j])}
                rows = [(r, positions[t]) for r, t in enumerate(texts) if t in positions]
                if rows:
                    sims = sims.copy()
                    for r, c in rows:
                        sims[r, c] = -1.0
            ex_arg[:, j] = sims.argmax(axis=1)
            ex_max[:, j] = sims.max(axis=1)
        return SimilarityScores(definition.astype(np.float32), ex_max, ex_arg)

    def nearest_example(self, category_index: int, example_index: int) -> str:
        if example_index < 0:
            return ""
        return self.example_texts[category_index][example_index]
