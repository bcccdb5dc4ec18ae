"""What a retrain learns from review decisions: implicit negatives of passages done in the queue."""

from __future__ import annotations

import pytest

from kb.coding.book import load_view
from kb.coding.data import build_training_set
from kb.review.decisions import ReviewStore, training_examples

CATS = ["leadership", "governance", "ict_level", "output_quality"]


def passage(pid: str, text: str) -> dict:
    return {"id": pid, "text_hash": f"h{pid}", "text": text}


def auto(pid: str, *cats: str) -> dict:
    codes = [{"category": c, "polarity": "success", "confidence": 0.6} for c in cats]
    return {"passage_id": pid, "codes": codes}


@pytest.fixture
def store(tmp_path) -> ReviewStore:
    return ReviewStore(tmp_path / "reviews.sqlite", valid_categories=CATS)


def test_only_passages_with_every_suggestion_decided_are_complete(store: ReviewStore) -> None:
    passages = [passage("done", "가"), passage("half", "나"), passage("memo", "다"), passage("bare", "라")]
    codes = [auto("done", "leadership", "governance"), auto("half", "leadership", "ict_level")]
    codes += [auto("memo", "leadership")]
    store.record("kim", "done", "hdone", "leadership", "accept", polarity="success")
    store.record("kim", "done", "hdone", "governance", "reject")
    store.record("kim", "done", "hdone", "ict_level", "add", polarity="obstacle")
    store.record("kim", "half", "hhalf", "leadership", "accept", polarity="success")
    store.record("kim", "memo", "hmemo", "leadership", "memo", memo="나중에")
    store.record("kim", "bare", "hbare", "governance", "add", polarity="neutral")  # no suggestion shown
    ex = training_examples(passages, store, codes)
    complete = ex.groupby("passage_id")["complete"].agg(set).to_dict()
    assert complete == {"done": {True}, "half": {False}, "bare": {False}}
    # without the auto codes nothing is known to be complete (the old behaviour)
    assert not training_examples(passages, store)["complete"].any()


def test_a_complete_review_is_a_negative_of_the_categories_not_accepted() -> None:
    book = load_view()
    other = next(c for c in book.ids if c not in ("leadership", "governance"))
    done, half = "완료된 문장", "일부만 본 문장"
    rows = [
        {"text": done, "category": "leadership", "polarity": "success", "label": 1, "complete": True},
        {"text": done, "category": "governance", "polarity": "neutral", "label": 0, "complete": True},
        {"text": half, "category": "leadership", "polarity": "success", "label": 1, "complete": False},
    ]
    ts = build_training_set(book, reviews=rows, examples=False, review_weight=2)
    assert ts.texts == [done, half] and ts.weights == [2.0, 2.0]  # once each, weighted
    assert ts.labels["leadership"] == [1, 1]
    assert ts.labels["governance"] == [0, -1]
    assert ts.labels[other] == [0, -1]  # implicit negative only where the review was complete
    assert ts.groups == ["review"] * 2 and not any(ts.evaluable)


def test_a_passage_done_in_the_knowledge_bases_queue_is_complete(kb, tmp_path) -> None:
    """The auto codes as a build writes them decide completeness, as the review queue does."""
    store = ReviewStore(tmp_path / "reviews.sqlite", valid_categories=kb.codebook.ids)
    coded = [e for e in kb.auto_codes if e["codes"]]
    done, half = coded[0], next(e for e in coded[1:] if len(e["codes"]) > 1)
    for entry, codes in ((done, done["codes"]), (half, half["codes"][:1])):
        pid = entry["passage_id"]
        for c in codes:
            store.record("kim", pid, kb.passage_by_id[pid]["text_hash"], c["category"], "accept")
    ex = training_examples(kb.passages, store, kb.auto_codes)
    assert ex.groupby("passage_id")["complete"].all().to_dict() == {
        done["passage_id"]: True,
        half["passage_id"]: False,
    }


def test_a_mixed_queue_shows_the_most_certain_record_at_every_kth_place() -> None:
    from kb.review.queue import queue_order

    conf = [0.5, 0.99, 0.6, 0.9, 0.55, None, 0.95]
    recs = [{"codes": [{"confidence": c}] if c is not None else []} for c in conf]
    assert queue_order(recs, confident_every=0) == [0, 4, 2, 3, 6, 1, 5]  # uncertain first, uncoded last
    assert queue_order(recs, confident_every=3) == [0, 4, 1, 2, 3, 6, 5]
    assert queue_order(recs) == queue_order(recs, confident_every=3)  # the app's queue
