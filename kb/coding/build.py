"""Train and save the coder once per build, so coding new text only loads a model.

`kb build` calls `train_coder()`; it reuses the saved model when the codebook, the training
data and the model version are unchanged (a content hash of all three sits beside the model).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from kb.coding.book import load_view
from kb.coding.coder import DEFAULT_EMBEDDER, MODEL_FILE, Coder, coder_dir
from kb.coding.data import build_training_set, load_gold, load_review_rows, load_written
from kb.coding.training import MODEL_VERSION
from kb.settings import get_settings

STAMP_FILE = "model.stamp.json"


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

    `reviews`: a DataFrame from `kb.reviews.training_examples`, rows of (text, category,
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
    stamp_path = directory / STAMP_FILE
    model_path = directory / MODEL_FILE
    if not force and model_path.exists() and stamp_path.exists():
        if json.loads(stamp_path.read_text()).get("stamp") == stamp:
            return model_path
    coder = Coder(book, embedder=embedder, cache_dir=directory)
    data_set = build_training_set(book, gold, review_rows, written=written)
    coder.fit(data_set, tune_epochs=epochs, progress=progress)
    path = coder.save(directory)
    stamp_path.write_text(
        json.dumps(
            {"stamp": stamp, "n_gold": len(gold), "n_written": len(written), "n_reviews": len(review_rows)}
        )
    )
    return path
