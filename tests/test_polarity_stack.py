"""The learned combiner of interview answers' polarity (kb.coding.polarity_stack).

It replaces the hand mix (tuned weight, neighbours, question prior) where leave-one-transcript-out
on the dev transcripts said so (docs/bench/polstack_dev.md). Checked here: the shipped file loads
and hostile files fail with a clear error; the question still moves a context-dependent answer;
advice to government is still a recommendation after the combiner; plain spoken successes and
obstacles read right; a fast coder (no fine-tuned classifier) codes answers. The sentences are
written for this test; none comes from an evaluation file.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from sample_kb import small_fast_coder, zero_polarity_stack

from kb.coding import polarity_stack as ps
from kb.coding.book import POLARITIES

ANSWERER = "응답자"


def _shipped_json() -> dict:
    return json.loads(ps.FILE.read_text(encoding="utf-8"))


def _write(tmp_path: Path, raw: object, name: str = "stack.json") -> Path:
    path = tmp_path / name
    path.write_text(raw if isinstance(raw, str) else json.dumps(raw), encoding="utf-8")
    return path


def test_the_shipped_combiners_load_and_give_probabilities() -> None:
    stacks = ps.load()
    assert set(stacks) == set(ps.KINDS)
    for kind, stack in stacks.items():
        if stack is None:  # this coder keeps the hand mix (LOO did not support a combiner)
            continue
        assert stack.kind == kind and stack.names == ps.feature_names(kind == "tuned", stack.e5)
        assert stack.coef.shape == (4, len(stack.names))
        even = {p: 0.25 for p in POLARITIES}
        row = ps.features(
            {"success": 0.7, "obstacle": 0.1, "neutral": 0.1, "recommendation": 0.1},
            even if stack.tuned else None,
            [],
            [] if stack.tuned else None,
            "neutral",
            1.0,
            False,
            False,
            stack.tuned,
            even if stack.e5 else None,
            [],
            stack.e5,
        )
        (p,) = stack.predict_proba([row])
        assert set(p) == set(POLARITIES) and sum(p.values()) == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda raw: "{not json", "not a JSON"),
        (lambda raw: "[]", "not a kb-polarity-stack"),
        (lambda raw: {**raw, "format_version": 99}, "version"),
        (lambda raw: {**raw, "models": {"tuned": raw["models"]["tuned"]}}, "needs exactly"),
        (lambda raw: _model(raw, features=["x"] * 3), "features do not match"),
        (lambda raw: _model(raw, classes=["success", "obstacle", "neutral", "other"]), "four polarities"),
        (lambda raw: _model(raw, kind="fast"), "kind"),
        (lambda raw: _model(raw, coef="drop table"), "coefficient"),
        (lambda raw: _model(raw, coef=[[1.0, 2.0]]), "shapes"),
        (lambda raw: _model(raw, intercept=[float("nan")] * 4), "finite"),
        (lambda raw: _model(raw, intercept=[1e9] * 4), "beyond"),
    ],
)
def test_a_hostile_combiner_file_fails_clearly(tmp_path, edit, message) -> None:
    """A combiner that read the wrong inputs would code every answer wrong: refuse it by name."""
    raw = _shipped_json()
    if raw["models"]["tuned"] is None:
        raw["models"]["tuned"] = zero_polarity_stack("tuned")
    path = _write(tmp_path, edit(raw))
    with pytest.raises(ps.StackError, match=message):
        ps.load(path)


def test_a_missing_or_huge_file_fails_clearly(tmp_path) -> None:
    with pytest.raises(ps.StackError, match="cannot read"):
        ps.load(tmp_path / "absent.json")
    big = tmp_path / "big.json"
    big.write_text(" " * 1_100_000 + "{}", encoding="utf-8")
    with pytest.raises(ps.StackError, match="too large"):
        ps.load(big)


def _model(raw: dict, **change: object) -> dict:
    out = json.loads(json.dumps(raw))
    out["models"]["tuned"].update(change)
    return out


def test_the_question_decides_a_reading_the_parts_leave_open() -> None:
    """With the parts undecided between success and obstacle, the question's orientation decides:
    the combiner learnt what the prior did by hand."""
    for kind, stack in ps.load().items():
        if stack is None:
            continue
        even = {"success": 0.4, "obstacle": 0.4, "neutral": 0.15, "recommendation": 0.05}

        def read(orientation: str, stack=stack, even=even) -> dict[str, float]:
            t = even if stack.tuned else None
            e = even if stack.e5 else None
            row = ps.features(
                even, t, [], [] if t else None, orientation, 0.0, False, False, stack.tuned, e, [], stack.e5
            )
            return stack.predict_proba([row])[0]

        hard, good = read("difficulty"), read("success")
        assert hard["obstacle"] - hard["success"] > good["obstacle"] - good["success"], kind
        assert good["success"] > hard["success"], kind


@pytest.fixture(scope="module")
def coder():
    return small_fast_coder()


def _code(coder, text: str, question: str, category: str | None = None) -> str | None:
    (res,) = coder.code_texts([text], contexts=[{"question": question, "speaker": ANSWERER}])
    codes = {c["category"]: c["polarity"] for c in res["codes"]}
    if category is not None:
        return codes.get(category)
    return max(res["codes"], key=lambda c: c["confidence"])["polarity"] if res["codes"] else None


def test_the_fast_coder_uses_its_own_combiner_or_the_hand_mix(coder) -> None:
    """No fine-tuned classifier: the fast combiner (its inputs have no fine-tuned readings; this coder
    has the e5 reading the shipped one reads), or the hand mix when none ships; a fine-tuned combiner
    is refused for it."""
    assert coder.model.tuned_polarity is None
    stack = coder.answer_stack()
    assert stack is ps.load()["fast"] or (stack is None and ps.load()["fast"] is None)
    if stack is not None:
        assert not stack.tuned and not any(n.startswith(("tuned", "near_tuned")) for n in stack.names)
    coder.polarity_stack = ps.parse("tuned", zero_polarity_stack("tuned"))
    try:
        with pytest.raises(ps.StackError, match="does not fit a fast coder"):
            coder.code_texts(
                ["예산이 부족했어요."], contexts=[{"question": "어떠셨어요?", "speaker": ANSWERER}]
            )
    finally:
        del coder.polarity_stack
    with pytest.raises(ps.StackError, match="needs the fine-tuned"):
        ps.features({}, None, [], None, "neutral", 0.0, False, False, True)


def test_a_combiner_on_the_fast_coder_reads_the_answer(coder) -> None:
    """A fast combiner (zero weights but a success intercept) is what decides an answer's polarity,
    and the advice move still applies after it."""
    raw = zero_polarity_stack("fast")
    raw["intercept"] = [5.0, 0.0, 0.0, 0.0]  # success everywhere
    coder.polarity_stack = ps.parse("fast", raw)
    try:
        question = "인력 운영은 어떠셨어요?"
        assert _code(coder, "담당 인력이 너무 부족해서 정말 힘들었어요.", question) == "success"
        raw["intercept"] = [0.0, 5.0, 0.0, 0.0]  # obstacle everywhere: advice to another actor moves it
        coder.polarity_stack = ps.parse("fast", raw)
        advice = "정부가 지자체에 전담 인력 예산을 따로 지원해 줘야 한다고 봐요."
        assert _code(coder, advice, "다른 지자체나 정부에 조언하신다면요?") == "recommendation"
    finally:
        del coder.polarity_stack


def test_plain_spoken_success_and_obstacle_read_right(coder) -> None:
    """With what ships for the fast coder."""
    question = "사업 운영은 전반적으로 어떠셨어요?"
    assert _code(coder, "덕분에 예산이 넉넉하게 확보돼서 운영이 아주 수월했어요.", question) == "success"
    assert _code(coder, "예산이 너무 부족해서 운영이 정말 힘들었어요.", question) == "obstacle"


def test_advice_to_government_is_still_a_recommendation(coder) -> None:
    advice = "중앙정부가 지자체마다 따로 만들게 두지 말고 공통 플랫폼 예산을 지원해야 합니다."
    assert _code(coder, advice, "정부에 바라는 점이 있다면요?") == "recommendation"


def test_the_hand_mix_stays_available(coder) -> None:
    """`polarity_stack = False` is the hand mix (tuned weight, neighbours, question prior)."""
    coder.polarity_stack = False
    try:
        assert coder.answer_stack() is None
        assert _code(coder, "예산이 너무 부족해서 운영이 정말 힘들었어요.", "어떠셨어요?") == "obstacle"
    finally:
        del coder.polarity_stack


def test_features_without_neighbours_repeat_the_sentence() -> None:
    rules = {"success": 0.6, "obstacle": 0.2, "neutral": 0.1, "recommendation": 0.1}
    row = ps.features(rules, None, [], None, "advice", -1.0, True, False, False)
    names = ps.feature_names(False)
    got = dict(zip(names, row, strict=True))
    assert got["near_rules:success"] == got["rules:success"] == pytest.approx(np.log(0.6 + ps.EPS))
    assert (got["question:advice"], got["score_neg"], got["recommendation"]) == (1.0, 1.0, 1.0)


# ----- the fine-tuned coder's combiner (a tiny real fine-tuned classifier; slow) ----------------
TUNED_TEXTS = [
    ("예산이 충분히 확보되어 운영이 순조로웠다.", 0),
    ("주민 만족도가 크게 높아졌다.", 0),
    ("인력이 부족해서 운영이 어려웠다.", 1),
    ("예산이 삭감되어 사업이 중단될 위기였다.", 1),
    ("조례를 만들어 사업 근거를 마련했다.", 2),
    ("앱은 주민센터에서 관리한다.", 2),
    ("정부가 예산을 지원해야 한다.", 3),
]


@pytest.fixture(scope="module")
def tuned_coder():
    from kb.coding.finetune import TunedClassifier

    c = small_fast_coder()
    texts, labels = zip(*TUNED_TEXTS, strict=True)
    c.model.tuned_polarity = TunedClassifier.fit(list(texts), np.array(labels), list(POLARITIES), 30, 11)
    return c


@pytest.mark.slow
def test_the_tuned_coder_uses_the_shipped_combiner(tuned_coder) -> None:
    shipped = ps.load()["tuned"]
    assert shipped is not None, "the fine-tuned combiner ships (docs/bench/polstack_dev.md)"
    stack = tuned_coder.answer_stack()
    assert stack is not None and stack.tuned and stack.names == shipped.names
    np.testing.assert_array_equal(stack.coef, shipped.coef)


@pytest.mark.slow
def test_a_context_dependent_answer_follows_its_question(tuned_coder) -> None:
    """ "The staffing side was the biggest" says nothing good or bad on its own: after "what was
    hardest?" it is an obstacle, after "what went best?" a success."""
    thin = "담당 인력 쪽이 제일 컸어요."
    assert _code(tuned_coder, thin, "가장 힘드셨던 점은 뭐였어요?", "human_resources") == "obstacle"
    assert _code(tuned_coder, thin, "가장 잘 된 점은 뭐였어요?", "human_resources") == "success"


@pytest.mark.slow
def test_the_tuned_combiner_reads_plain_answers_and_advice_right(tuned_coder) -> None:
    question = "사업 운영은 전반적으로 어떠셨어요?"
    good = "덕분에 예산이 넉넉하게 확보돼서 운영이 아주 수월했어요."
    bad = "예산이 너무 부족해서 운영이 정말 힘들었어요."
    assert _code(tuned_coder, good, question, "financial_resources") == "success"
    assert _code(tuned_coder, bad, question, "financial_resources") == "obstacle"
    advice = "중앙정부가 지자체마다 따로 만들게 두지 말고 공통 플랫폼 예산을 지원해야 합니다."
    for q in (question, "가장 힘드셨던 점은 뭐였어요?"):  # advice to another actor, whatever was asked
        assert _code(tuned_coder, advice, q, "financial_resources") == "recommendation"
