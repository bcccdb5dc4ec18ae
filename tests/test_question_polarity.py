"""The interviewer's question as polarity evidence for its answer (kb.coding.question_polarity)."""

from __future__ import annotations

import pytest

from kb.coding.context import answer_polarity
from kb.coding.question_polarity import answer_weights, orientation


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("사업 하시면서 제일 힘드셨던 게 뭐예요?", "difficulty"),
        ("주민 참여에서 걸림돌은 없었나요?", "difficulty"),  # negated: still asks about difficulties
        ("어르신들한테 키오스크가 어렵지는 않았나요?", "difficulty"),
        ("도입하고 나서 좋아진 점이 있다면요?", "success"),
        ("그동안 거둔 성과를 꼽으신다면요?", "success"),
        ("다른 시군에 조언을 해 주신다면 뭘까요?", "advice"),
        ("정부에 하고 싶은 말씀이 있으세요?", "advice"),
        ("앞으로 제도는 어떻게 바뀌어야 한다고 보십니까?", "advice"),
        ("어려운 지역에 당부하고 싶은 건요?", "advice"),  # advice wins over a difficulty word
        ("새로 시작하는 곳에 권하고 싶은 게 있으세요?", "advice"),
        ("예산 확보는 어떠셨어요?", "neutral"),  # a topic, not an evaluation (확보 is no success here)
        ("담당 인력은 몇 명이세요?", "neutral"),
        (None, "neutral"),
    ],
)
def test_question_orientation(question: str | None, expected: str) -> None:
    assert orientation(question) == expected


def _probs(success: float, obstacle: float, neutral: float, recommendation: float) -> dict[str, float]:
    return {"success": success, "obstacle": obstacle, "neutral": neutral, "recommendation": recommendation}


def test_the_same_answer_reads_differently_after_a_difficulty_and_a_success_question() -> None:
    hard = "사업 하시면서 제일 힘드셨던 게 뭐예요?"
    good = "도입하고 나서 좋아진 점이 있다면요?"
    rows = [_probs(0.34, 0.36, 0.3, 0.0), _probs(0.34, 0.36, 0.3, 0.0)]
    after_hard, after_good = answer_polarity(rows, [True, True], [hard, good])
    assert max(after_hard, key=after_hard.get) == "obstacle"
    assert max(after_good, key=after_good.get) == "success"


def test_an_answer_to_an_advice_question_is_a_recommendation_unless_it_is_about_the_speaker() -> None:
    advice = "비슷한 사업을 준비하는 다른 군에 조언을 해 주신다면요?"
    staff = "담당 인력은 몇 명이세요?"
    rows = [_probs(0.1, 0.5, 0.2, 0.2), _probs(0.1, 0.5, 0.2, 0.2), _probs(0.1, 0.5, 0.2, 0.2)]
    own = {"own_actor": 1.0}  # 저희도 처음엔 … (the speaker's own experience)
    questions, spoken = [advice, staff, advice], [{}, {}, own]
    after_advice, after_staff, own_story = answer_polarity(rows, [True] * 3, questions, spoken)
    assert max(after_advice, key=after_advice.get) == "recommendation"
    assert max(after_staff, key=after_staff.get) == "obstacle"
    assert max(own_story, key=own_story.get) == "obstacle"


def test_report_prose_ignores_the_question_prior() -> None:
    (prose,) = answer_polarity([_probs(0.1, 0.5, 0.2, 0.2)], [False], ["다른 군에 조언을 해 주신다면요?"])
    assert prose == _probs(0.1, 0.5, 0.2, 0.2)
    assert answer_weights("다른 군에 조언을 해 주신다면요?")["recommendation"] > 1.0
