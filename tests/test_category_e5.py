"""The fast coder's category models read the frozen e5 sentence vector too (issue 14).

The category models (kb.coding.supervised.FeatureSpace) read lemma n-grams, the coder's own USE
vector, cue counts and codebook similarities. A fast coder that computes e5 vectors for its e5
polarity reading now also gives them to the category models as one more dense block
(`FeatureSpace.e5_weight`, kb.coding.supervised.CATEGORY_E5_WEIGHT; docs/bench/fastcat_dev.md).
Checked here: the weight is saved and loaded as data with the model (no pickle) and a loaded coder
scores the same; a coder without e5 vectors (the app's first build, a fine-tuned coder) and a model
saved before the block existed fit and read none, and code as before; the block changes a category
decision. The sentences are written for this test; none comes from an evaluation file.
"""

from __future__ import annotations

import numpy as np
import pytest
from sample_kb import small_fast_coder

from kb.coding.coder import Coder
from kb.coding.supervised import CATEGORY_E5_WEIGHT, FeatureSpace
from kb.coding.training import CoderModel, category_scores

# staff turnover breaking the work: a staffing matter (human_resources, coding guide §4), not the
# organisation's culture; the small coder's n-grams and USE alone code it org_culture
SENTENCE = "담당 공무원이 자주 바뀌어서 업무가 계속 끊겼어요."
OTHER = "조례가 만들어지면서 사업을 계속할 근거가 생겼어요."


@pytest.fixture(scope="module")
def fast() -> Coder:
    return small_fast_coder()


@pytest.fixture(scope="module")
def plain() -> Coder:
    """The same training data without e5 vectors (KB_CODER_POLARITY_EMBEDDING=0's fast coder)."""
    return small_fast_coder(polarity_embedding=False)


def _scores(coder: Coder, texts: list[str]) -> np.ndarray:
    return category_scores(coder.model, coder.analyzer, coder.analyzer.analyse(texts))


def _codes(coder: Coder, text: str) -> set[str]:
    (res,) = coder.code_texts([text])
    return {c["category"] for c in res["codes"]}


def test_a_fast_coder_reads_e5_and_saves_the_block_as_data(fast, tmp_path) -> None:
    space = fast.model.space
    assert space is not None and space.e5_weight == CATEGORY_E5_WEIGHT > 0
    width = space.transform(fast.analyzer.analyse([OTHER]), fast.analyzer.ids).shape[1]
    no_e5 = FeatureSpace.from_state(space.to_state())
    no_e5.e5_weight = 0.0
    assert width == no_e5.transform(fast.analyzer.analyse([OTHER]), fast.analyzer.ids).shape[1] + 384
    fast.save(tmp_path / "coder", stamp="t")
    files = [p.name for p in (tmp_path / "coder").rglob("*") if p.is_file()]
    assert not any(f.endswith((".pkl", ".pickle", ".joblib")) for f in files)
    loaded = CoderModel.load(tmp_path / "coder")
    assert loaded is not None and loaded.space is not None and loaded.space.e5_weight == space.e5_weight
    again = Coder(fast.book, loaded, cache_dir=tmp_path / "coder")
    assert again.analyzer.polarity_embedder is not None  # it computes the e5 vectors it reads
    np.testing.assert_allclose(_scores(again, [SENTENCE, OTHER]), _scores(fast, [SENTENCE, OTHER]), atol=1e-6)


def test_without_e5_vectors_no_block_is_fitted_and_an_older_model_reads_as_before(plain) -> None:
    assert plain.analyzer.polarity_embedder is None and plain.model.space.e5_weight == 0
    state = plain.model.to_state()
    del state.config["space"]["e5_weight"]  # a model saved before the block existed
    older = CoderModel.from_state(state)
    assert older.space is not None and older.space.e5_weight == 0
    again = Coder(plain.book, older)
    assert again.analyzer.polarity_embedder is None  # nothing to compute e5 for
    np.testing.assert_array_equal(_scores(again, [SENTENCE, OTHER]), _scores(plain, [SENTENCE, OTHER]))
    assert _codes(again, SENTENCE) == _codes(plain, SENTENCE)


def test_the_e5_block_changes_a_category_decision(fast, plain) -> None:
    assert "org_culture" in _codes(plain, SENTENCE)
    assert "org_culture" not in _codes(fast, SENTENCE)


def test_a_model_with_the_block_still_codes_a_sentence_without_its_vector(fast) -> None:
    """Should e5 vectors be missing at coding time, the block reads zeros and the rest decides."""
    analyses = fast.analyzer.analyse([SENTENCE])
    analyses[0].polarity_vector = None
    scores = category_scores(fast.model, fast.analyzer, analyses)
    assert scores.shape == (1, len(fast.model.ids)) and np.isfinite(scores).all()
