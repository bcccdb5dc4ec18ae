"""Review decisions weigh REVIEW_WEIGHT in the category models but only REVIEW_POLARITY_WEIGHT in the
polarity model: one transcript's decisions must not swamp the polarity model, which serves every
category, yet a decided polarity must still move it (docs/bench/learning_curve_dev.md, session 11;
×10 since session 15, docs/bench/learn_dev.md)."""

from __future__ import annotations

import numpy as np

from kb.coding.book import load_view
from kb.coding.coder import Coder
from kb.coding.data import REVIEW_POLARITY_WEIGHT, REVIEW_WEIGHT, build_training_set, load_gold
from kb.coding.training import fit_polarity

# written for this test: a relief said with a negation ("거의 안 와요"), decided as a success
REVIEWED = "요즘은 예약 문의 전화가 거의 안 와요, 다들 앱으로 알아서 잘 하시니까요."


def test_review_rows_weigh_less_in_the_polarity_model_than_in_the_category_models() -> None:
    book = load_view()
    cat = book.ids[0]
    gold = [{"text": "다른 문장", "case": "c", "codes": []}]
    reviews = [{"text": REVIEWED, "category": cat, "polarity": "success", "label": 1, "complete": True}]
    ts = build_training_set(book, gold, reviews, examples=False)
    assert ts.sample_weights().tolist() == [1.0, float(REVIEW_WEIGHT)]
    assert ts.sample_weights(polarity=True).tolist() == [1.0, float(REVIEW_POLARITY_WEIGHT)]
    assert REVIEW_POLARITY_WEIGHT < REVIEW_WEIGHT
    other = build_training_set(book, gold, reviews, examples=False, review_polarity_weight=7)
    assert other.sample_weights(polarity=True).tolist() == [1.0, 7.0]
    assert other.sample_weights().tolist() == ts.sample_weights().tolist()  # categories unchanged


def test_a_decided_polarity_moves_the_polarity_model_without_swamping_it() -> None:
    """The decided polarity of a reviewed sentence gains with its weight (so the weight reaches the
    polarity fit, and a re-polarised code still teaches something); the other training sentences'
    readings move less at the polarity weight than they would at the category weight."""
    book = load_view()
    gold = [r for r in load_gold() if r["case"] == "gyeonggi_bis"]
    coder = Coder(book, embedder="use")
    cat = "accessibility_convenience"
    reviews = [{"text": REVIEWED, "category": cat, "polarity": "success", "label": 1, "complete": True}]

    def fitted(weight: float | None) -> tuple[float, np.ndarray]:
        rows = reviews if weight is not None else []
        data = build_training_set(book, gold, rows, examples=False, review_polarity_weight=weight or 1)
        analyses = coder.analyzer.analyse(data.texts, exclude_self=True)
        model = fit_polarity(analyses, data, book.ids, 3.0)
        assert model is not None
        probe = model.predict_proba(coder.analyzer.analyse([REVIEWED]), [cat])[0]["success"]
        others = model.predict_proba(analyses[: len(gold)], [cat] * len(gold))
        return probe, np.array([[p[k] for k in sorted(p)] for p in others])

    none, base = fitted(None)
    light, light_others = fitted(REVIEW_POLARITY_WEIGHT)
    heavy, heavy_others = fitted(REVIEW_WEIGHT)
    assert none < light < heavy  # the decision moves its sentence, more with more weight
    assert np.abs(light_others - base).mean() < np.abs(heavy_others - base).mean()


def test_the_learning_curve_compares_polarity_on_the_codes_both_codings_found() -> None:
    """Polarity accuracy counts the codes whose category is right, so a retrain that finds one more
    (hard) code lowers it with no polarity read differently; the like-with-like count does not move."""
    from bench.eval_coding import metrics
    from bench.learning_curve import polarity_on_common

    ids = load_view().ids
    a, b = ids[0], ids[1]
    gold = [{"codes": [{"category": a, "polarity": "success"}, {"category": b, "polarity": "obstacle"}]}]
    before = [{a: "success"}]
    after = [{a: "success", b: "success"}]  # b newly found, its polarity wrong
    assert metrics(gold, before, ids)["polarity_acc"] == 1.0
    assert metrics(gold, after, ids)["polarity_acc"] == 0.5
    assert polarity_on_common(gold, before, after) == (1, 1, 1)
