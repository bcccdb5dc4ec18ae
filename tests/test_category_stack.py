"""The learned category combiner of interview answer sentences (kb.coding.category_stack).

It replaces the hand-composed choice of an answer sentence's codes (threshold, keep within 0.2 of
the best) where leave-one-transcript-out on the dev transcripts said so (docs/bench/catstack_dev.md).
Checked here: the shipped file loads and hostile files fail with a clear error; a combiner decides
answers only (report prose and interviewer turns keep their path); a coder without it codes as
before; with the shipped combiner a context-dependent answer still follows its question and plain
spoken answers get their obvious category. The sentences are written for this test; none comes
from an evaluation file.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
from sample_kb import small_fast_coder

from kb.coding import category_stack as cs
from kb.coding.answers import answer_choice, prose_choice
from kb.coding.book import load_view
from kb.coding.category_stack import CategoryStackError
from kb.coding.context import fallback_rows

ANSWERER = "응답자"


def _shipped_json() -> dict:
    return json.loads(cs.FILE.read_text(encoding="utf-8"))


def _write(tmp_path: Path, raw: object, name: str = "stack.json") -> Path:
    path = tmp_path / name
    path.write_text(raw if isinstance(raw, str) else json.dumps(raw), encoding="utf-8")
    return path


def _dummy(kind: str, cats: list[str], intercept: float = 0.0, threshold: float = 0.5) -> dict:
    """A combiner with zero weights: every code's probability is sigmoid(intercept)."""
    names = cs.feature_names(cats)
    return {
        "kind": kind,
        "categories": cats,
        "slopes": [],
        "features": list(names),
        "coef": [0.0] * len(names),
        "intercept": intercept,
        "threshold": threshold,
    }


def _file(models: dict) -> dict:
    return {"format": cs.FORMAT, "format_version": cs.FORMAT_VERSION, "info": {}, "models": models}


def test_the_shipped_file_loads_and_fits_the_codebook() -> None:
    stacks = cs.load()
    assert set(stacks) == set(cs.KINDS)
    assert any(s is not None for s in stacks.values()), "a combiner ships (docs/bench/catstack_dev.md)"
    ids = load_view().ids
    for kind, stack in stacks.items():
        if stack is None:
            continue
        assert stack.kind == kind and stack.cats == tuple(ids)
        assert len(stack.coef) == len(stack.names) and 0 < stack.threshold < 1
        stack.check_categories(ids)


CATS = ["a", "b"]


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda r: r.update(format="kb-polarity-stack"), "not a kb-category-stack file"),
        (lambda r: r.update(format_version=2), "not a kb-category-stack file"),
        (lambda r: r["models"].pop("fast"), "needs exactly the combiners"),
        (lambda r: r["models"].update(extra=None), "needs exactly the combiners"),
        (lambda r: r["models"]["tuned"].update(kind="fast"), "kind 'fast'"),
        (lambda r: r["models"]["tuned"].update(categories=["a", "a"]), "distinct"),
        (lambda r: r["models"]["tuned"].update(categories=[]), "distinct"),
        (lambda r: r["models"]["tuned"].update(slopes=["question_words"]), "not known features"),
        (lambda r: r["models"]["tuned"]["features"].reverse(), "features do not match"),
        (lambda r: r["models"]["tuned"]["features"].append("transcript:d1"), "features do not match"),
        (lambda r: r["models"]["tuned"]["coef"].pop(), "coefficients for"),
        (lambda r: r["models"]["tuned"]["coef"].__setitem__(0, "x"), "not numbers"),
        (lambda r: r["models"]["tuned"]["coef"].__setitem__(0, float("nan")), "finite"),
        (lambda r: r["models"]["tuned"].update(intercept=float("inf")), "finite"),
        (lambda r: r["models"]["tuned"]["coef"].__setitem__(1, 1e6), "beyond"),
        (lambda r: r["models"]["tuned"].update(threshold=1.5), "threshold"),
        (lambda r: r["models"]["tuned"].update(threshold=None), "not numbers"),
        (lambda r: r["models"].update(tuned=[1, 2]), "not an object"),
    ],
)
def test_a_hostile_combiner_file_fails_clearly(tmp_path, edit, message) -> None:
    raw = _file({"fast": None, "tuned": _dummy("tuned", CATS)})
    cs.load(_write(tmp_path, raw))  # the untouched file is fine
    edit(raw)
    with pytest.raises(CategoryStackError, match=message):
        cs.load(_write(tmp_path, raw))


def test_a_missing_huge_or_broken_file_fails_clearly(tmp_path) -> None:
    with pytest.raises(CategoryStackError, match="cannot read"):
        cs.load(tmp_path / "absent.json")
    with pytest.raises(CategoryStackError, match="not a JSON"):
        cs.load(_write(tmp_path, "{not json"))
    with pytest.raises(CategoryStackError, match="too large"):
        cs.load(_write(tmp_path, " " * 1_000_001))


def test_a_combiner_for_other_categories_is_refused() -> None:
    stack = cs.parse("fast", _dummy("fast", CATS))
    with pytest.raises(CategoryStackError, match="other categories"):
        stack.keep(["a", "c"], *[np.zeros((1, 2))] * 5, [3])


def test_features_read_rank_gap_and_context() -> None:
    conf = np.array([[0.9, 0.6, 0.1], [0.2, 0.3, 0.4]])
    own = np.array([[0.8, 0.1, 0.1], [0.2, 0.3, 0.4]])
    raw = np.array([[0.9, 0.5, 0.1], [0.2, 0.3, 0.4]])
    question = np.array([[0.1, 0.7, 0.0], [np.nan] * 3])
    neighbours = np.array([[np.nan] * 3, [0.5, 0.1, 0.2]])
    x = cs.features(own, conf, raw, question, neighbours, [5, 1])
    got = {name: x[:, k].reshape(2, 3) for k, name in enumerate(cs.feature_names(["a", "b", "c"]))}
    np.testing.assert_array_equal(got["top"], [[1, 0, 0], [0, 0, 1]])
    np.testing.assert_allclose(got["gap"], [[0.0, 0.3, 0.8], [0.2, 0.1, 0.0]])
    np.testing.assert_allclose(got["rank"], np.log1p([[0, 1, 2], [2, 1, 0]]))
    np.testing.assert_array_equal(got["has_question"], [[1, 1, 1], [0, 0, 0]])
    np.testing.assert_array_equal(got["has_neighbours"], [[0, 0, 0], [1, 1, 1]])
    np.testing.assert_allclose(got["question"], [[0.1, 0.7, 0.0], [0, 0, 0]])
    np.testing.assert_array_equal(got["n_clear"], [[2, 2, 2], [0, 0, 0]])
    np.testing.assert_array_equal(got["cat:b"], [[0, 1, 0], [0, 1, 0]])


# ----- on a real coder -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def coder():
    return small_fast_coder()


def _kept(coder, text: str, context: dict | None) -> set[str]:
    (res,) = coder.code_texts([text], contexts=[context])
    return {c["category"] for c in res["codes"]}


def test_a_combiner_decides_answers_only(coder) -> None:
    """A combiner that keeps every category codes an answer sentence with all of them; the same words
    as report prose or as the interviewer's turn keep their own path."""
    ids = coder.book.ids
    coder.category_stack = cs.parse("fast", _dummy("fast", ids, intercept=10.0))
    try:
        text = "예산이 부족해서 전문 인력 채용이 어려웠어요."
        assert _kept(coder, text, {"question": "어떠셨어요?", "speaker": ANSWERER}) == set(ids)
        coder.category_stack = False
        prose = _kept(coder, text, None)
        coder.category_stack = cs.parse("fast", _dummy("fast", ids, intercept=10.0))
        assert _kept(coder, text, None) == prose, "report prose is not the combiner's"
        assert _kept(coder, text, {"speaker": "면담자"}) == set(), "interviewer turns stay uncoded"
        # keeping nothing leaves the top-category fallback: one code at most
        coder.category_stack = cs.parse("fast", _dummy("fast", ids, intercept=-10.0))
        assert len(_kept(coder, text, {"question": "어떠셨어요?", "speaker": ANSWERER})) <= 1
    finally:
        del coder.category_stack


def test_a_coder_without_the_combiner_chooses_as_before(coder) -> None:
    """`category_stack = False`, or a kind for which none ships: the hand-composed choice, exactly."""
    texts = ["예산이 부족했어요. 그래서 인력도 못 뽑았죠.", "주민들 반응은 좋았어요.", "앱 이용자가 늘었다."]
    ctx = [{"question": "가장 어려웠던 점은요?", "speaker": ANSWERER}, {"question": "반응은요?"}, None]
    scored = coder.score_texts(texts, contexts=ctx)
    coder.category_stack = False
    try:
        assert coder.answer_categories() is None
        chosen = coder.choose(scored)
    finally:
        del coder.category_stack
    answer = np.array([ctx[i] is not None for i in scored.owner])  # the first two texts are answers
    expected = answer_choice(None, scored.cats, scored.conf, scored.own, scored.conf >= 0.5, answer)
    expected = prose_choice(None, scored.cats, scored.conf, scored.own, expected, ~answer)  # report prose
    for i, j in fallback_rows(None, scored.analyses, scored.conf, expected, answer):
        expected[i, j] = True
    np.testing.assert_array_equal(chosen, expected)
    if cs.shipped()["fast"] is None:
        np.testing.assert_array_equal(coder.choose(scored), chosen)
    model, coder.model = coder.model, None  # an untrained coder has nothing to combine
    try:
        assert coder.answer_categories() is None
    finally:
        coder.model = model


def test_a_combiner_of_the_other_kind_is_refused(coder) -> None:
    coder.category_stack = cs.parse("tuned", _dummy("tuned", coder.book.ids))
    try:
        with pytest.raises(CategoryStackError, match="does not fit a fast coder"):
            coder.code_texts(["예산이 부족했어요."], contexts=[{"question": "어떠셨어요?"}])
    finally:
        del coder.category_stack


# ----- the shipped combiner on a coder trained on gold + written answers (slow) ----------------
@pytest.fixture(scope="module")
def spoken_coder():
    from kb.coding import Coder
    from kb.coding.data import build_training_set, load_gold, load_written
    from kb.settings import ROOT

    book = load_view()
    gold = [r for r in load_gold() if r["case"] in {"gyeonggi_bis", "domestic_synthesis", "daangn"}]
    c = Coder(book, embedder="use")
    c.fit(
        build_training_set(book, gold, written=load_written(ROOT / "corpus" / "training")),
        n_folds=3,
        tune_epochs=0,
    )
    return c


SHIPPED_KINDS = [k for k, s in cs.shipped().items() if s is not None]


def _shipped_for(kind: str) -> cs.CategoryStack:
    """The shipped combiner of `kind`, read by this fast coder (a fine-tuned coder takes an hour to
    train; the inputs are the same for both kinds)."""
    stack = cs.shipped()[kind]
    assert stack is not None
    return dataclasses.replace(stack, kind="fast")


@pytest.mark.slow
@pytest.mark.parametrize("kind", SHIPPED_KINDS)
def test_a_context_dependent_answer_follows_its_question(spoken_coder, kind) -> None:
    spoken_coder.category_stack = _shipped_for(kind)
    try:
        thin = "아, 그게 제일 골치였죠."
        funding = _kept(spoken_coder, thin, {"question": "예산 확보는 어떠셨어요?", "speaker": ANSWERER})
        staffing = _kept(spoken_coder, thin, {"question": "담당 인력은 충분했나요?", "speaker": ANSWERER})
        assert "financial_resources" in funding and "human_resources" not in funding, funding
        assert "human_resources" in staffing and "financial_resources" not in staffing, staffing
    finally:
        del spoken_coder.category_stack


SPOKEN = [
    (
        "운영하시면서 어려운 점은요?",
        "예산이 너무 부족해서 사업을 더 늘릴 수가 없었어요.",
        "financial_resources",
    ),
    ("운영하시면서 어려운 점은요?", "담당 직원이 저 혼자라서 일손이 정말 모자랐어요.", "human_resources"),
    ("추진 과정은 어떠셨어요?", "시장님이 직접 챙기시니까 부서들이 다 따라오더라고요.", "leadership"),
    (
        "이용하시는 분들 반응은요?",
        "어르신들은 앱이 어렵다고 하셔서 전화로도 신청받고 있어요.",
        "accessibility_convenience",
    ),
    ("제도적인 뒷받침은 있었나요?", "조례를 새로 만들어서 사업 근거부터 마련했죠.", "institutional_basis"),
]


@pytest.mark.slow
@pytest.mark.parametrize("kind", SHIPPED_KINDS)
@pytest.mark.parametrize(("question", "answer", "category"), SPOKEN)
def test_plain_spoken_answers_get_their_category(spoken_coder, question, answer, category, kind) -> None:
    spoken_coder.category_stack = _shipped_for(kind)
    try:
        assert category in _kept(spoken_coder, answer, {"question": question, "speaker": ANSWERER})
    finally:
        del spoken_coder.category_stack
