"""Rewrite `corpus/cache/`: the vectors of every text a first build embeds for the bundled corpus.

That is every passage and sentence the index stage embeds, and every text the fast coder's e5
reading embeds when it trains on the bundled training sentences and codes the bundled corpus.
Why they are shipped, and how they are read: kb.embeddings.seeds. Run after a change to the
corpus, its segmentation, the embedded context (kb.store.embed_context), the training sentences,
the coder's sentence splitting or the default encoders:

    python -m pipelines.seed_vectors [--corpus-dir DIR] [--embed-model fusion]

Only the report's own documents and training sentences are written. Documents added with `kb add`
(interview transcripts, confidential) and review decisions are left out, even when the corpus
directory holds some.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import unicodedata
from pathlib import Path
from typing import Any

from kb.coding.coder import POLARITY_EMBEDDER, Coder
from kb.embeddings import get_embedder
from kb.embeddings.seeds import (
    DIRNAME,
    QUERY,
    SeedLog,
    read_seeds,
    recording,
    seed_file,
    seed_key,
    seeded,
    write_seeds,
)
from kb.fileio import write_atomic
from kb.settings import get_settings
from kb.store.sentence_index import encoders, sentence_parts, sentences_of
from kb.store.vectorstore import embed_text
from pipelines.segment import read_manifest, segment_document

ENVIRONMENT_FILE = "written_for.json"


def bundled_passages(corpus_dir: Path) -> list[dict[str, Any]]:
    """Passages of the corpus documents that are not `kb add` additions."""
    passages = [p for row in read_manifest(corpus_dir) for p in segment_document(row, corpus_dir)]
    return [p for p in passages if p.get("attribution") != "added"]


def seed_texts(passages: list[dict[str, Any]], embedder: Any) -> list[tuple[Any, list[str]]]:
    """(encoder, the texts it embeds) for each encoder of `embedder`: every passage (with its
    context) for all of them, every sentence for those with a sentence collection."""
    passage_texts = [embed_text(p) for p in passages]
    sentence_texts = [s.embedded for p in passages for s in sentences_of(p)]
    with_sentences = {id(enc) for _, enc in sentence_parts(embedder)}
    out = []
    for enc in encoders(embedder):
        texts = passage_texts + (sentence_texts if id(enc) in with_sentences else [])
        out.append((getattr(enc, "base", enc), [unicodedata.normalize("NFC", t) for t in texts]))
    return out


def coder_texts(corpus_dir: Path) -> SeedLog:
    """What the coder's e5 reading embeds (as queries) when a fresh fast build trains the coder on
    the bundled training sentences, without any review decision, and codes the bundled corpus:
    learnt by doing it, in a scratch data directory, with the current seed file attached."""
    from pipelines.code import code_passages, train_coder

    enc = get_embedder(POLARITY_EMBEDDER)
    with tempfile.TemporaryDirectory() as tmp:
        settings = get_settings().with_overrides(
            corpus_dir=corpus_dir, data_dir=tmp, coder_tune_epochs=0, coder_polarity_embedding=1
        )
        with seeded(enc, [corpus_dir / DIRNAME]), recording([enc]) as logs:
            train_coder(settings, reviews=[])
            for _ in code_passages(Coder.load(settings), bundled_passages(corpus_dir)):
                pass
    return logs[enc.name]


def missing(corpus_dir: Path, embedder: Any) -> dict[str, int]:
    """Encoder name → texts of the bundled corpus its seed file does not hold (0 everywhere = current)."""
    out = {}
    directory = corpus_dir / DIRNAME
    for enc, texts in seed_texts(bundled_passages(corpus_dir), embedder):
        seeds = read_seeds(seed_file(directory, enc), enc.version, int(enc.dim))
        out[enc.name] = sum(seed_key(enc.version, t) not in seeds for t in set(texts))
    return out


def environment(embedder: Any) -> dict[str, Any]:
    """What the texts and vectors depend on besides kb's code: the Kiwi that splits sentences and
    the encoders' versions (`written_for.json` records them beside the files)."""
    from importlib.metadata import version

    return {
        "kiwipiepy": version("kiwipiepy"),
        "encoders": {enc.name: enc.version for enc, _ in seed_texts([], embedder)},
    }


def run(
    corpus_dir: Path | None = None, embed_model: str | None = None, progress: bool = True
) -> dict[str, int]:
    """Embed and write the seed file of each encoder; encoder name → rows written."""
    settings = get_settings()
    corpus_dir = Path(corpus_dir) if corpus_dir else settings.corpus_dir
    embedder = get_embedder(embed_model or settings.embed_model)
    directory = corpus_dir / DIRNAME
    passages = bundled_passages(corpus_dir)
    plan = {enc.name: (enc, texts, set()) for enc, texts in seed_texts(passages, embedder)}
    coder_enc = get_embedder(POLARITY_EMBEDDER)
    enc, texts, _ = plan.get(coder_enc.name, (coder_enc, [], set()))
    plan[coder_enc.name] = (enc, texts, coder_texts(corpus_dir).asked[QUERY])
    written = {
        name: write_seeds(seed_file(directory, enc), enc, texts, queries, progress=progress)
        for name, (enc, texts, queries) in plan.items()
    }
    body = json.dumps(environment(embedder), ensure_ascii=False, indent=1, sort_keys=True) + "\n"
    write_atomic(directory / ENVIRONMENT_FILE, body.encode("utf-8"))
    return written


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus-dir", type=Path, default=None)
    ap.add_argument("--embed-model", default=None, help="default: the embed_model setting (fusion)")
    args = ap.parse_args(argv)
    for name, rows in run(args.corpus_dir, args.embed_model).items():
        print(f"{name}: {rows} vectors")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
