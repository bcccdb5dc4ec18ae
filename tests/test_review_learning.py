"""What a retrain learns from review decisions: implicit negatives of passages done in the queue."""

from __future__ import annotations

import pytest

from kb.coding.book import load_view
from kb.coding.data import build_training_set, load_review_rows
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


def test_a_reviewed_passage_trains_on_its_sentences_as_the_coder_scores_them(store: ReviewStore) -> None:
    """A decision on a passage of several sentences becomes rows of its sentences: a rejected code is
    a negative of each, an accepted one a positive where the coder found it and unknown elsewhere, an
    added one (no sentence named) a row of the whole passage."""
    text = "리더십이 강했어요. 예산이 부족했죠."
    first, second = "리더십이 강했어요.", "예산이 부족했죠."
    sentences = [
        {"start": 0, "end": len(first), "codes": [{"category": "leadership"}, {"category": "governance"}]},
        {"start": len(first) + 1, "end": len(text), "codes": [{"category": "ict_level"}]},
    ]
    codes = [{"passage_id": "p", "codes": [{"category": c} for c in CATS[:3]], "sentences": sentences}]
    store.record("kim", "p", "hp", "leadership", "accept", polarity="success")
    store.record("kim", "p", "hp", "governance", "reject")
    store.record("kim", "p", "hp", "ict_level", "accept", polarity="obstacle")
    store.record("kim", "p", "hp", "output_quality", "add", polarity="obstacle")
    ex = training_examples([passage("p", text)], store, codes)
    label = {(r.text, r.category): (r.label, bool(r.complete)) for r in ex.itertuples()}
    assert label == {
        (first, "leadership"): (1, True),
        (first, "governance"): (0, True),
        (first, "ict_level"): (-1, True),
        (first, "output_quality"): (-1, True),
        (second, "leadership"): (-1, True),
        (second, "governance"): (0, True),
        (second, "ict_level"): (1, True),
        (second, "output_quality"): (-1, True),
        (text, "output_quality"): (1, False),
    }
    book = load_view()
    other = next(c for c in book.ids if c not in CATS)
    ts = build_training_set(book, reviews=load_review_rows(ex), examples=False, review_weight=2)
    row = {t: i for i, t in enumerate(ts.texts)}
    assert ts.labels["leadership"][row[first]] == 1 and ts.labels["leadership"][row[second]] == -1
    assert ts.labels["ict_level"][row[second]] == 1 and ts.labels["ict_level"][row[first]] == -1
    assert ts.labels["governance"][row[first]] == ts.labels["governance"][row[second]] == 0
    assert ts.labels[other][row[first]] == 0  # the done passage's implicit negatives, on each sentence
    assert ts.labels["output_quality"][row[text]] == 1 and ts.labels[other][row[text]] == -1
    # a one-sentence passage keeps its single row
    one = [{"passage_id": "p", "codes": [], "sentences": sentences[:1]}]
    assert set(training_examples([passage("p", text)], store, one)["text"]) == {text}


def test_an_accepted_code_teaches_its_polarity_only_to_the_sentences_that_read_it_so(
    store: ReviewStore,
) -> None:
    """A passage-level decision on a mixed answer: resident acceptance accepted as a success is the
    first sentence's reading; the second, an obstacle of the same factor, trains the factor without
    a polarity (a blind tester's retrain had learnt "앱 홍보는 거의 효과가 없었어요" as a success). A
    polarity no sentence reads is the coder's correction, learnt by every sentence carrying the factor."""
    text = "이장님들 덕이 컸어요. 앱 홍보는 거의 효과가 없었어요."
    first, second = "이장님들 덕이 컸어요.", "앱 홍보는 거의 효과가 없었어요."
    sentences = [
        {"start": 0, "end": len(first), "codes": [{"category": "leadership", "polarity": "success"}]},
        {
            "start": len(first) + 1,
            "end": len(text),
            "codes": [
                {"category": "leadership", "polarity": "obstacle"},
                {"category": "ict_level", "polarity": "obstacle"},
            ],
        },
    ]
    codes = [
        {"passage_id": "p", "codes": [{"category": c} for c in CATS[:1] + CATS[2:3]], "sentences": sentences}
    ]
    store.record("kim", "p", "hp", "leadership", "accept", polarity="success")
    store.record("kim", "p", "hp", "ict_level", "set_polarity", polarity="success")  # no sentence reads it so
    ex = training_examples([passage("p", text)], store, codes)
    polarity = {(r.text, r.category): r.polarity or None for r in ex.fillna("").itertuples() if r.label == 1}
    assert polarity == {
        (first, "leadership"): "success",
        (second, "leadership"): None,
        (second, "ict_level"): "success",
    }
    book = load_view()
    ts = build_training_set(book, reviews=load_review_rows(ex), examples=False)
    row = {t: i for i, t in enumerate(ts.texts)}
    assert ts.labels["leadership"][row[second]] == 1 and ts.polarities["leadership"][row[second]] == ""
    assert ts.polarities["leadership"][row[first]] == "success"
    assert ts.polarities["ict_level"][row[second]] == "success"
