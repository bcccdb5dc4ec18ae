"""Quick retrain while reviewing: refit the fast (logistic) models on the decisions so far.

`kb build` trains the best coder (logistic models + fine-tuned e5, minutes on 2 cores). A coder
reviewing a transcript wants the next passages coded with what they just taught, so
`quick_retrain` refits only the logistic category and polarity models (timed by
bench/retrain_speed.py, docs/bench/learning_curve.md; embeddings and parsed texts are cached:
kb.coding.parse_cache keeps the training texts' analyses in the coder directory, so only texts
new since the last training are parsed) and keeps the saved coder's fine-tuned models as they
were; the next `kb build` sees that the training data changed and retrains everything.
`retrain_now` runs this inside a build of the code and index stages, so the new model, the
re-coded passages and the index metadata arrive together as a new generation (readers never see
half of it). How long the whole of it took is kept in `<data_dir>/last-retrain.json` (replaced
atomically): the review page's estimate for the next one, instead of a fixed promise.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Callable
from typing import Any

from kb.coding.book import load_view
from kb.coding.coder import DEFAULT_EMBEDDER, Coder, coder_dir, reads_e5_polarity
from kb.coding.data import (
    REVIEW_KEYS,
    REVIEW_WEIGHT,  # the sample weight of a reviewed sentence, the same as in `kb build`
    build_training_set,
    decision_count,
    load_gold,
    load_review_rows,
    load_written,
    reviews_until,
)
from kb.coding.training import CoderModel
from kb.fileio import read_record, write_atomic

RECORD_FILE = "last-retrain.json"
MAX_RECORD_BYTES = 4096


def quick_retrain(
    settings: Any = None,
    reviews: Any = None,
    review_weight: float = REVIEW_WEIGHT,
    gold: list[dict] | None = None,
    written: list[dict] | None = None,
) -> dict[str, Any]:
    """Refit the logistic models on gold + written sentences + `reviews`; save; return a summary.

    `reviews`: as for `pipelines.code.train_coder` (DataFrame, rows, or None); `gold`/`written`:
    the training sentences (default: eval/gold and corpus/training, as `kb build`)."""
    from kb.settings import get_settings

    settings = settings or get_settings()
    t0 = time.perf_counter()
    directory = coder_dir(settings)
    old = CoderModel.load(directory)
    book = load_view(settings.codebook_path)
    loaded = load_review_rows(reviews)
    rows = [{k: r.get(k) for k in REVIEW_KEYS} for r in loaded]
    gold = load_gold() if gold is None else gold
    written = load_written(settings.corpus_dir / "training") if written is None else written
    data = build_training_set(book, gold, rows, written=written, review_weight=review_weight)
    coder = Coder(book, embedder=old.embedder if old else DEFAULT_EMBEDDER, cache_dir=directory)
    # the e5 polarity reading only where the refitted coder stays fast and the saved one had it: its
    # training sentences' e5 vectors are cached, so only the new ones are embedded (e5 over every
    # training sentence would cost a minute or more); a fine-tuned coder never reads it
    had_e5 = old is not None and reads_e5_polarity(old)
    wanted = bool(getattr(settings, "coder_polarity_embedding", 1))
    fast_e5 = wanted and had_e5 and old is not None and old.tuned is None
    coder.fit(data, tune_epochs=0, polarity_embedding=fast_e5)
    cache = coder.analyzer.cache
    model = coder.model
    assert model is not None
    kept_tuned = bool(old and old.tuned is not None)
    if old is not None and kept_tuned:  # same blend as train_model with fine-tuning
        model.tuned, model.tuned_polarity = old.tuned, old.tuned_polarity
        model.thresholds = {cat: (t + 0.5) / 2 for cat, t in model.thresholds.items()}
    digest = hashlib.sha256(
        json.dumps(rows, ensure_ascii=False, sort_keys=True, default=str).encode()
    ).hexdigest()
    # a stamp no full training produces: `kb build` retrains everything next time
    coder.save(
        directory,
        stamp=f"quick{digest}",
        info={"n_reviews": len(rows), "reviews_until": reviews_until(loaded)},
    )
    return {
        "reviews": len(rows),
        "decisions": decision_count(loaded),
        "kept_fine_tuned": kept_tuned,
        "parsed": cache.misses if cache else None,  # texts parsed anew (the rest came from the cache)
        "seconds": round(time.perf_counter() - t0, 1),
    }


def retrain_now(settings: Any = None, log: Callable[[str], None] = lambda _: None) -> dict[str, Any]:
    """Quick retrain on the knowledge base's review decisions, re-code it, refresh index metadata:
    one build of the code and index stages, switched in as a new generation. `changes`: the
    suggestions that moved (kb.coding.suggestion_changes), on reviewed and unreviewed passages."""
    from kb.coding import coder as coder_module
    from kb.coding.suggestion_changes import compare, suggestions
    from kb.runner import build
    from kb.settings import get_settings
    from kb.store.generations import current_dir
    from kb.store.kbase import CODES_FILE, forget, get_kb

    settings = settings or get_settings()
    t0 = time.perf_counter()
    out: dict[str, Any] = {}
    before = suggestions(current_dir(settings.data_dir) / CODES_FILE)

    def train(settings: Any, decisions: Any) -> None:
        log(f"retraining the fast models on the review decisions ({len(decisions)} sentence rows) …")
        out.update(quick_retrain(settings, decisions))
        log(f"retrained in {out['seconds']} s; re-coding passages and refreshing the index …")

    report = build(settings, stages=("code", "index"), progress=False, train=train, log=log)
    coder_module._DEFAULT = None  # the next code_texts loads the new model (kb.api.retrain: its own)
    forget(settings)
    stages = {s.name: s.detail for s in report.stages}
    out["code"], out["index"] = stages.get("code"), stages.get("index")
    kb = get_kb(settings)
    cases = {p["id"]: p["case"] for p in kb.passages}
    out["changes"] = compare(
        before, suggestions(current_dir(settings.data_dir) / CODES_FILE), kb.reviewed_ids(), cases
    )
    out["total_seconds"] = round(time.perf_counter() - t0, 1)
    _record(settings, out)
    return out


def _record(settings: Any, out: dict[str, Any]) -> None:
    """Keep how long this retrain took in all (training, re-coding, indexing), when, on how many decisions."""
    record = {"seconds": out["total_seconds"], "finished": time.time(), "decisions": out.get("decisions")}
    write_atomic(settings.data_dir / RECORD_FILE, json.dumps(record))


def last_retrain(settings: Any) -> dict[str, Any] | None:
    """The last retrain's record (seconds, finished: epoch seconds, decisions), or None when there was
    none or the file is not one (it is data: read defensively)."""
    record = read_record(settings.data_dir / RECORD_FILE, MAX_RECORD_BYTES)
    if record is None:
        return None
    seconds, finished = record.get("seconds"), record.get("finished")
    if not _positive(seconds):
        return None
    decisions = record.get("decisions")
    return {
        "seconds": float(seconds),
        "finished": float(finished) if _positive(finished) else None,
        "decisions": decisions if isinstance(decisions, int) and not isinstance(decisions, bool) else None,
    }


def _positive(value: Any) -> bool:
    """A finite number above zero (JSON gives int or float; bool is no number here)."""
    return (
        isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) and value > 0
    )
