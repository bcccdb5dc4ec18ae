"""Train and save the coder once per build, so coding new text only loads a model.

`kb build` calls `train_coder()`; it reuses the saved model when the codebook, the training
data and the model version are unchanged (a content hash of all three, the stamp, is in the
model's manifest). A saved model that fails verification is retrained, never loaded.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any

from kb.coding.book import load_view
from kb.coding.coder import DEFAULT_EMBEDDER, Coder, coder_dir
from kb.coding.data import build_training_set, load_gold, load_review_rows, load_written
from kb.coding.model_io import read_manifest
from kb.coding.training import MODEL_VERSION
from kb.errors import ModelRefused
from kb.settings import get_settings

log = logging.getLogger(__name__)


def _stamp(book_fp: str, data: dict[str, list[dict]], embedder: str, tune_epochs: int) -> str:
    payload = json.dumps(
        {"book": book_fp, **data, "embedder": embedder, "version": MODEL_VERSION, "tune_epochs": tune_epochs},
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
    review_rows = [
        {k: r.get(k) for k in ("text", "category", "polarity", "label")} for r in load_review_rows(reviews)
    ]
    epochs = settings.coder_tune_epochs
    data = {"gold": gold, "written": written, "reviews": review_rows}
    stamp = _stamp(book.fingerprint(), data, embedder, epochs)
    try:
        manifest = read_manifest(directory)
    except ModelRefused as exc:  # `kb build` is the documented way out: replace it, never load it
        log.warning("%s: retraining it now", exc)
        manifest = None
    if not force and manifest is not None and manifest.get("stamp") == stamp:
        return directory
    coder = Coder(book, embedder=embedder, cache_dir=directory)
    data_set = build_training_set(book, gold, review_rows, written=written)
    coder.fit(data_set, tune_epochs=epochs, progress=progress)
    info = {"n_gold": len(gold), "n_written": len(written), "n_reviews": len(review_rows)}
    info["kind"] = "fine-tuned" if epochs > 0 else "fast"  # kb.background fine-tunes a fast one later
    return coder.save(directory, stamp, info)
