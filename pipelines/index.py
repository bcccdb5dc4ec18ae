"""Index stage: the keyword index (BM25), passage vectors and sentence vectors of a generation.

Inputs: the generation's passages and effective codes (auto codes with human decisions applied).
Outputs: `<generation>/bm25/` (rebuilt only when the passages changed) and the Chroma passage and
sentence collections of this knowledge base (only changed texts are embedded, and not those
whose vectors ship with the corpus, kb.embeddings.seeds; the metadata of the rest is refreshed).
Vectors no generation uses any more are pruned by the runner after the switch (pipelines.run),
since the previous generation may still be read until then.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from kb.embeddings.adapted import build_adapter
from kb.embeddings.seeds import seed_dirs, seeded
from kb.records import dominant_polarity
from kb.settings import Settings
from kb.store import generations
from kb.store.faults import checkpoint
from kb.store.kbase import KnowledgeBase
from kb.store.keyword_index import KeywordIndex, corpus_fingerprint
from kb.store.sentence_index import sync_sentences
from kb.store.vectorstore import kb_id, open_client, open_collection, sync


def passage_metadata(kb: KnowledgeBase) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """Chroma metadata per passage: its citation facets and its effective codes as of the build.

    Nothing in kb filters Chroma with `where=` on the code fields (filters are applied to the
    effective codes, kb.query.filters); they are there for tools reading the collection. Review
    status is not stored: it changes with every decision and would make reads write.
    """
    categories = list(kb.codebook.ids)
    kb.codes_df()

    def meta(p: dict[str, Any]) -> dict[str, Any]:
        codes = kb.codes_for(p["id"])
        present = {c["category"] for c in codes}
        pols = {c["polarity"] for c in codes}
        out: dict[str, Any] = {
            "doc_id": p["doc_id"],
            "case": p["case"],
            "group": p["group"],
            "platform_type": p["platform_type"],
            "kind": p.get("kind") or "narrative",
            "text_hash": p["text_hash"],
            "polarity": dominant_polarity(codes),
            "has_success": "success" in pols,
            "has_obstacle": "obstacle" in pols,
            "has_neutral": "neutral" in pols,
            "has_recommendation": "recommendation" in pols,
        }
        out.update({f"f_{cat}": cat in present for cat in categories})
        return out

    return meta


def run(settings: Settings, progress: bool = False) -> dict[str, Any]:
    """Bring the keyword index and the vector collections up to date with the generation; a summary."""
    kb = KnowledgeBase(settings)
    bm25_dir = generations.store_dir(settings) / "bm25"
    try:
        existing = KeywordIndex.load(bm25_dir)
    except Exception:  # unreadable index files: rebuild rather than fail every build after
        existing = None
    rebuilt = existing is None or existing.fingerprint != corpus_fingerprint(kb.passages)
    if rebuilt:
        KeywordIndex.build(kb.passages).save(bm25_dir)
    checkpoint("index:bm25-done")
    adapter = build_adapter(settings, kb.passages, progress)  # before kb.embedder loads it
    client = open_client(settings, fresh=True)
    col = open_collection(client, kb.embedder, kb_id=kb_id(settings))
    t0 = time.perf_counter()
    with seeded(kb.embedder, seed_dirs(settings.corpus_dir)) as seeds:  # the bundled corpus's vectors
        synced = sync(col, kb.passages, kb.embedder, passage_metadata(kb), progress=progress)
        sentences = sync_sentences(client, kb.passages, kb.embedder, kb_id=kb_id(settings), progress=progress)
    return {
        "keyword_index_rebuilt": rebuilt,
        "embedded": synced.embedded,
        "metadata_updated": synced.metadata_updated,
        "vectors": synced.total,
        "sentence_vectors": sentences.sentences,
        "sentences_embedded": sentences.embedded,
        "sync_seconds": round(time.perf_counter() - t0, 3),
        "model": kb.embedder.name,
        "seed_vectors": sum(seeds.values()),
        **adapter,
    }
