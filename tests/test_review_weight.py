"""A review decision weighs REVIEW_WEIGHT in the logistic fits as a sample weight, in `kb build` and
"retrain now" alike, and the fine-tuned e5 sees each sentence once."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy import sparse

from kb.coding.book import load_view
from kb.coding.data import REVIEW_WEIGHT, build_training_set, load_gold
from kb.coding.supervised import fit_binary
from kb.coding.training import finetune_rows

PROBE = "반장님들이 단체 대화방에 링크를 돌려 주셨어요."


def test_a_review_weight_fits_the_model_of_repeated_rows() -> None:
    """Weight k on a row = the row k times, class balance included (sklearn's "balanced" counts rows)."""
    rng = np.random.RandomState(0)
    x = sparse.csr_matrix(rng.normal(size=(40, 6)))
    y = (rng.uniform(size=40) < 0.3).astype(int)
    y[0] = 0  # the weighted row: a negative, so weighting it shifts the class balance too
    weight = np.ones(40)
    weight[0] = 7
    repeated = sparse.vstack([x] + [x[:1]] * 6).tocsr()
    weighted, copies = fit_binary(x, y, weight=weight), fit_binary(repeated, np.r_[y, [0] * 6])
    assert weighted is not None and copies is not None
    assert np.allclose(weighted.coef_, copies.coef_, atol=1e-4)
    assert np.allclose(weighted.intercept_, copies.intercept_, atol=1e-4)
    unweighted = fit_binary(x, y)
    assert unweighted is not None and not np.allclose(unweighted.coef_, weighted.coef_, atol=1e-3)


def test_review_rows_are_added_once_with_their_weight_and_the_fine_tune_sees_each_text_once() -> None:
    book = load_view()
    cat = book.ids[0]
    gold = [{"text": PROBE, "case": "c", "codes": []}, {"text": "다른 문장", "case": "c", "codes": []}]
    reviews = [{"text": PROBE, "category": cat, "polarity": "success", "label": 1, "complete": True}]
    ts = build_training_set(book, gold, reviews, examples=False)
    assert ts.texts == [PROBE, "다른 문장", PROBE]  # the review row once, not REVIEW_WEIGHT times
    assert ts.sample_weights().tolist() == [1.0, 1.0, float(REVIEW_WEIGHT)]
    texts, labels, polar_texts, polar = finetune_rows(ts, book.ids)
    assert texts == [PROBE, "다른 문장"]  # one row per text; the reviewer's decision wins over the gold's
    assert labels[0, book.ids.index(cat)] == 1 and labels[1].max() == 0
    assert polar_texts == [PROBE] and len(polar) == 1


@pytest.mark.slow  # two fits of the fast models on one report case's gold sentences
def test_a_reviewed_decision_flips_the_code_after_a_build_and_after_a_retrain(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kb.coding.coder import Coder, coder_dir
    from kb.coding.retrain import quick_retrain
    from kb.coding.training import CoderModel, category_scores
    from kb.settings import get_settings
    from pipelines.code import train_coder

    gold = [r for r in load_gold() if r["case"] == "gyeonggi_bis"]
    (tmp_path / "eval" / "gold").mkdir(parents=True)
    (tmp_path / "eval" / "gold" / "part1.jsonl").write_text(
        "".join(__import__("json").dumps(r, ensure_ascii=False) + "\n" for r in gold), encoding="utf-8"
    )
    corpus = tmp_path / "corpus"
    (corpus / "training").mkdir(parents=True)
    (corpus / "codebook.yaml").write_bytes(get_settings().codebook_path.read_bytes())
    monkeypatch.setenv("KB_EVAL_DIR", str(tmp_path / "eval"))
    monkeypatch.setenv("KB_CORPUS_DIR", str(corpus))
    monkeypatch.setenv("KB_CODER_TUNE_EPOCHS", "0")
    # a quick retrain over no saved coder fits no e5 reading (kb.coding.retrain keeps the saved
    # coder's kind): both paths go without it, so their scores compare the review weight alone
    monkeypatch.setenv("KB_CODER_POLARITY_EMBEDDING", "0")
    book = load_view()

    def coded(data: str, reviews: list[dict], path: str, weight: float = REVIEW_WEIGHT) -> tuple[set, float]:
        """The probe's codes and its raw score for `cat` after training with `reviews` by `path`."""
        settings = get_settings(data_dir=tmp_path / data)
        if path == "build":
            train_coder(settings, reviews=reviews)
        else:
            quick_retrain(settings, reviews, review_weight=weight, gold=gold, written=[])
        coder = Coder(book, CoderModel.load(coder_dir(settings)))
        assert coder.model is not None
        score = category_scores(coder.model, coder.analyzer, coder.analyzer.analyse([PROBE]))
        codes = {c["category"] for c in coder.code_texts([PROBE])[0]["codes"]}
        return codes, float(score[0, coder.model.ids.index(cat)])

    cat = "financial_resources"  # nothing in the probe speaks of money
    before, base_score = coded("base", [], "build")
    assert cat not in before
    reviews = [{"text": PROBE, "category": cat, "polarity": "success", "label": 1, "complete": True}]
    _, once = coded("once", reviews, "retrain", weight=1)
    built, built_score = coded("built", reviews, "build")
    retrained, retrained_score = coded("retrained", reviews, "retrain")
    assert cat in built and built == retrained  # the decision flips the code in both paths …
    assert built_score == pytest.approx(retrained_score, abs=1e-9)  # … with the same weight
    assert base_score < once < built_score - 0.05  # which is a weight, not one more row
