"""Interview-answer polarity that does not lean on the dev transcripts' success:obstacle mix.

The answer prior (kb.coding.question_polarity) and the neighbour weight (kb.coding.context) were
re-chosen by balanced accuracy (docs/bench/polarity_balance_dev.md): obstacle ×1.5 instead of ×2, a
smaller penalty on neutral (×0.75 instead of ×0.5), neighbours 0.3 instead of 0.2; obstacle ×1 since
the coder trains on the dev transcripts (docs/bench/devtrain_dev.md). The sentences are
written for this test in spoken Korean; none comes from an evaluation file.
"""

from __future__ import annotations

import pytest
from sample_kb import small_fast_coder

from kb.coding import coder as coder_module
from kb.coding import context as context_module
from kb.coding import question_polarity
from kb.coding.context import answer_polarity
from kb.coding.question_polarity import ORIENTATION_WEIGHTS, answer_weights

# the prior and neighbour weight chosen by plain accuracy before (session 10)
OLD_NEUTRAL = {"success": 1.0, "obstacle": 2.0, "neutral": 0.5, "recommendation": 1.0}
OLD_TABLE = {
    "neutral": OLD_NEUTRAL,
    "difficulty": OLD_NEUTRAL,
    "success": {**OLD_NEUTRAL, "obstacle": 1.5},
    "advice": {**OLD_NEUTRAL, "obstacle": 1.0, "recommendation": 4.0},
}
OLD_NEIGHBOURS = 0.2
QUESTION = "도입하고 첫해 운영은 어떠셨어요?"  # asks for no evaluation


def _probs(success: float, obstacle: float, neutral: float, recommendation: float = 0.0) -> dict[str, float]:
    return {"success": success, "obstacle": obstacle, "neutral": neutral, "recommendation": recommendation}


def _label(row: dict[str, float]) -> str:
    return max(row, key=row.get)


def test_a_description_stays_neutral_after_a_neutral_question() -> None:
    """The old neutral ×0.5 and obstacle ×2 turned any description the models read as neutral with
    an obstacle reading above a quarter of it into an obstacle; now it takes more than three quarters."""
    (row,) = answer_polarity([_probs(0.2, 0.24, 0.56)], [True], [QUESTION])
    assert _label(row) == "neutral", row
    old = {p: v * answer_weights(QUESTION, table=OLD_TABLE)[p] for p, v in _probs(0.2, 0.24, 0.56).items()}
    assert _label(old) == "obstacle"


def test_a_clear_success_reading_is_kept_after_a_neutral_question() -> None:
    """A success read 1.6 : 1 over obstacle stays a success; the old ×2 made it an obstacle."""
    (row,) = answer_polarity([_probs(0.48, 0.3, 0.22)], [True], [QUESTION])
    assert _label(row) == "success", row
    old = {p: v * answer_weights(QUESTION, table=OLD_TABLE)[p] for p, v in _probs(0.48, 0.3, 0.22).items()}
    assert _label(old) == "obstacle"


def test_the_prior_keeps_what_the_question_says() -> None:
    """The question still counts: the lean towards obstacle is smaller after a success question and
    advice questions still favour recommendations; neutral is pushed down less than before."""
    neutral, success, advice = (ORIENTATION_WEIGHTS[o] for o in ("neutral", "success", "advice"))
    assert neutral["obstacle"] == 1.0 and neutral["neutral"] == 0.75 > OLD_NEUTRAL["neutral"]
    assert success["obstacle"] < neutral["obstacle"]
    assert advice["recommendation"] > advice["obstacle"]


ANSWER = [
    "예산 삭감 얘기가 나왔는데 다행히 그대로 유지됐어요.",
    "어려움이 있긴 했지만 결국 잘 마무리됐어요.",  # own words mixed: difficulty, then its resolution
    "문제 될 건 하나도 없었어요.",
]


@pytest.fixture(scope="module")
def coder():
    return small_fast_coder()


def _code_answer(coder) -> dict:
    contexts = [
        {
            "question": QUESTION,
            "speaker": "응답자",
            "prev": ANSWER[i - 1] if i else None,
            "next": ANSWER[i + 1] if i + 1 < len(ANSWER) else None,
        }
        for i in range(len(ANSWER))
    ]
    return coder.code_texts(ANSWER, contexts=contexts)[1]


def test_a_success_answer_is_no_longer_read_as_obstacle(coder, monkeypatch) -> None:
    """A real fast coder on an answer of good news: its middle sentence, whose own words are mixed,
    was an obstacle under the plain-accuracy prior and is a success now.

    The fast coder's e5 polarity reading is held at 0 here: this checks the prior and the neighbour
    weight. (With it, this small coder reads the answer's middle sentence as obstacle, and the coder
    fitted on every training row reads "문제 될 건 하나도 없었어요" as obstacle: the e5 reading does
    not see negation or concession – docs/bench/fastpol_dev.md, "Left".)"""
    monkeypatch.setattr(coder_module, "EMBEDDING_POLARITY_WEIGHT", 0.0)
    now = _code_answer(coder)
    assert now["codes"], now
    assert {c["polarity"] for c in now["codes"]} == {"success"}, now["codes"]
    monkeypatch.setattr(question_polarity, "ORIENTATION_WEIGHTS", OLD_TABLE)
    monkeypatch.setattr(context_module, "NEIGHBOUR_POLARITY_WEIGHT", OLD_NEIGHBOURS)
    before = _code_answer(coder)
    assert "obstacle" in {c["polarity"] for c in before["codes"]}, before["codes"]


def test_a_balanced_polarity_loss_does_not_reward_the_majority_class() -> None:
    """`single_label_loss(balanced=True)` (bench/polarity_mix.py train --balanced 1): a head that
    always says the majority class loses more than under the plain loss, and classes without rows
    weigh nothing."""
    import numpy as np
    import torch

    from kb.coding.finetune import single_label_loss

    labels = np.array([0, 0, 0, 1, -1])
    logits = torch.tensor([[3.0, 0.0, 0.0, 0.0]] * len(labels))
    idx = torch.arange(len(labels))
    plain = float(single_label_loss(labels)(logits, idx))
    balanced = float(single_label_loss(labels, 4, balanced=True)(logits, idx))
    assert balanced > plain
    right = torch.tensor([[3.0, 0, 0, 0]] * 3 + [[0, 3.0, 0, 0]] * 2)  # every known row right
    assert float(single_label_loss(labels, 4, balanced=True)(right, idx)) == pytest.approx(
        float(single_label_loss(labels)(right, idx)), rel=1e-5
    )
