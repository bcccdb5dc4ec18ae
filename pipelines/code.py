"""Code stage: train the coder when its inputs changed, then code the passages that changed.

Inputs: the passages of the generation being built (`passages.jsonl`), the codebook, the training
sentences (eval/gold, corpus/training) and the review decisions. Outputs: the saved coder under
`<generation>/coder/` and `codes.jsonl`, one record per passage
{passage_id, text_hash, coder, codes, polarity, …}. A passage is re-coded when its text changed
or the coder was retrained; otherwise its previous record is kept, so a rebuild codes nothing.

The coder is reused when the codebook, the training data and the model version are unchanged (a
content hash of all three, the stamp, is in the model's manifest). A saved model that fails
verification is retrained, never loaded.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from kb.coding.book import load_view
from kb.coding.coder import DEFAULT_EMBEDDER, POLARITY_EMBEDDER, Coder, coder_dir
from kb.coding.data import (
    REVIEW_KEYS,
    REVIEW_POLARITY_WEIGHT,
    REVIEW_WEIGHT,
    build_training_set,
    load_gold,
    load_review_rows,
    load_written,
    reviews_until,
)
from kb.coding.model_io import read_manifest, saved_stamp
from kb.coding.training import MODEL_VERSION
from kb.embeddings import get_embedder
from kb.embeddings.seeds import seed_dirs, seeded
from kb.errors import ModelRefused
from kb.fileio import read_jsonl, write_jsonl
from kb.review.decisions import training_examples
from kb.settings import Settings, get_settings
from kb.store import generations
from kb.store.faults import checkpoint
from kb.store.kbase import CODES_FILE, KnowledgeBase

log = logging.getLogger(__name__)
CODE_BATCH = 32

Trainer = Callable[[Settings, Any], Any]


def _stamp(
    book_fp: str,
    data: dict[str, list[dict]],
    embedder: str,
    tune_epochs: int,
    polarity_embedding: bool = False,
) -> str:
    # a fast coder with and without its e5 polarity reading are different models (the app's first
    # build has none; a later fast build must not take it for its own)
    extra = {"polarity_embedding": True} if tune_epochs == 0 and polarity_embedding else {}
    payload = json.dumps(
        {
            **extra,
            "book": book_fp,
            **data,
            "embedder": embedder,
            "version": MODEL_VERSION,
            "tune_epochs": tune_epochs,
            "review_weight": REVIEW_WEIGHT,
            "review_polarity_weight": REVIEW_POLARITY_WEIGHT,
        },
        ensure_ascii=False,
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def train_coder(
    settings: Any = None,
    reviews: Any = None,
    embedder: str = DEFAULT_EMBEDDER,
    force: bool = False,
    progress: bool = False,
) -> Path:
    """Train on gold + written sentences + review decisions + codebook examples; save under data_dir/coder/.

    `reviews`: a DataFrame from `kb.review.decisions.training_examples`, rows of (text, category,
    polarity, label), or None to read `corpus/reviewed_codes.jsonl` when it exists."""
    settings = settings or get_settings()
    directory = coder_dir(settings)
    book = load_view(settings.codebook_path)
    gold = load_gold()
    written = load_written(settings.corpus_dir / "training")
    loaded = load_review_rows(reviews)
    review_rows = [{k: r.get(k) for k in REVIEW_KEYS} for r in loaded]
    epochs = settings.coder_tune_epochs
    data = {"gold": gold, "written": written, "reviews": review_rows}
    polarity_embedding = bool(getattr(settings, "coder_polarity_embedding", 1))
    stamp = _stamp(book.fingerprint(), data, embedder, epochs, polarity_embedding)
    try:
        manifest = read_manifest(directory)
    except ModelRefused as exc:  # `kb build` is the documented way out: replace it, never load it
        log.warning("%s: retraining it now", exc)
        manifest = None
    if not force and manifest is not None and manifest.get("stamp") == stamp:
        return directory
    coder = Coder(book, embedder=embedder, cache_dir=directory)
    # the same review weights as "retrain now" (kb.coding.retrain): sample weights in the logistic
    # fits (REVIEW_POLARITY_WEIGHT in the polarity model's), one example for the fine-tuned e5
    data_set = build_training_set(book, gold, review_rows, written=written, review_weight=REVIEW_WEIGHT)
    coder.fit(
        data_set,
        tune_epochs=epochs,
        progress=progress,
        polarity_embedding=polarity_embedding,
    )
    info = {"n_gold": len(gold), "n_written": len(written), "n_reviews": len(review_rows)}
    info["reviews_until"] = reviews_until(loaded)
    info["kind"] = "fine-tuned" if epochs > 0 else "fast"  # kb.background fine-tunes a fast one later
    return coder.save(directory, stamp, info)


def code_passages(coder: Coder, passages: list[dict[str, Any]]) -> Iterator[list[tuple[dict, dict]]]:
    """Code passages with their interview context, a batch at a time: (passage, record) pairs."""
    for start in range(0, len(passages), CODE_BATCH):
        chunk = passages[start : start + CODE_BATCH]
        ctx = [{k: p.get(k) for k in ("question", "speaker", "group")} for p in chunk]
        texts, ids = [p["text"] for p in chunk], [p["id"] for p in chunk]
        yield list(zip(chunk, coder.code_texts(texts, ids, ctx), strict=True))


def run(settings: Settings, progress: bool = False, train: bool | Trainer = True) -> dict[str, Any]:
    """Train (if needed) and code the changed passages of the generation being built; a summary.

    `train=False` codes with the saved coder as it is (trains one when none is saved); a callable
    `train(settings, decisions)` trains instead of the full training (the quick retrain of
    kb.coding.retrain). The coder's e5
    reading takes the bundled training sentences' and corpus's vectors from `corpus/cache/`.
    """
    # the coder's encoders are the process-wide ones, so the seeds reach them through the factory
    with seeded(get_embedder(POLARITY_EMBEDDER), seed_dirs(settings.corpus_dir)) as seeds:
        summary = _train_and_code(settings, progress, train)
    return {**summary, "seed_vectors": sum(seeds.values())}


def _train_and_code(settings: Settings, progress: bool, train: bool | Trainer) -> dict[str, Any]:
    kb = KnowledgeBase(settings)
    decisions = training_examples(kb.passages, kb.reviews, kb.auto_codes)
    if callable(train):
        train(settings, decisions)
    elif train or saved_stamp(coder_dir(settings)) is None:
        train_coder(settings, reviews=decisions, progress=progress)
    stamp = saved_stamp(coder_dir(settings)) or ""
    checkpoint("code:trained")
    codes_path = generations.store_dir(settings) / CODES_FILE
    previous = {r["passage_id"]: r for r in read_jsonl(codes_path)} if codes_path.exists() else {}

    def fresh(p: dict[str, Any]) -> bool:
        old = previous.get(p["id"])
        return old is not None and old.get("text_hash") == p["text_hash"] and old.get("coder") == stamp[:16]

    todo = [p for p in kb.passages if not fresh(p)]
    coded: dict[str, dict[str, Any]] = {}
    if todo:
        coder = Coder.load(settings)
        bar = tqdm(total=len(todo), desc="code", unit="passage", disable=not progress)
        for batch in code_passages(coder, todo):
            for p, rec in batch:
                coded[p["id"]] = {
                    "passage_id": p["id"],
                    "text_hash": p["text_hash"],
                    "coder": stamp[:16],
                    **{k: v for k, v in rec.items() if k != "id"},
                }
            bar.update(len(batch))
            checkpoint("code:batch")
        bar.close()
    records = [coded.get(p["id"]) or previous[p["id"]] for p in kb.passages]
    write_jsonl(codes_path, records)
    checkpoint("code:written")
    return {
        "coded": len(todo),
        "reused": len(records) - len(todo),
        "human_decisions_in_training": len(decisions),
        "codes": sum(len(r["codes"]) for r in records),
    }
