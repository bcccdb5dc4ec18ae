"""How report prose keeps its codes (kb.coding.answers.PROSE_CALIBRATION), through the real coder.

The coder here is untrained (cues and similarity on real Kiwi, spaCy and embeddings), so its
confidences follow the cue counts: the sentence below, written for this test, carries a strong
category (several funding cues) and weaker ones (one cue each).
"""

from __future__ import annotations

import pytest

from kb.coding import Coder
from kb.coding.answers import PROSE_CALIBRATION, AnswerCalibration
from kb.coding.book import load_view

TEXT = "예산이 부족하고 재정 지원도 끊겨 운영비 확보가 어려웠으며 담당 인력도 부족했다."
ANSWER = {"question": "운영하면서 어려운 점은 없으셨어요?", "speaker": "응답자"}
ASKER = {"speaker": "면담자"}


@pytest.fixture(scope="module")
def coder() -> Coder:
    return Coder(load_view(), embedder="use")


def cats(result: dict) -> list[str]:
    return [c["category"] for c in result["codes"]]


def run(coder: Coder, prose: AnswerCalibration | None, contexts: list) -> list[dict]:
    try:
        coder.prose_calibration = prose
        return coder.code_texts([TEXT] * len(contexts), contexts=contexts)
    finally:
        coder.prose_calibration = None


def test_prose_keeps_only_codes_near_its_best(coder) -> None:
    (plain,) = run(coder, AnswerCalibration(), [None])
    (near,) = run(coder, AnswerCalibration(keep_within=0.1), [None])
    assert len(plain["codes"]) >= 2, plain["codes"]  # a strong and a weak category: else no test
    top = plain["codes"][0]
    assert cats(near) == [top["category"]] == ["financial_resources"]
    assert all(c["confidence"] >= top["confidence"] - 0.1 for c in near["codes"])
    assert near["codes"][0] == top  # the kept code is the same code, polarity and evidence included


def test_the_plain_thresholds_are_still_reachable(coder) -> None:
    (plain,) = run(coder, AnswerCalibration(), [None])
    s = coder.score_texts([TEXT])
    assert sorted(cats(plain)) == sorted(c for c, v in zip(s.cats, s.conf[0], strict=True) if v >= 0.5)


def test_interview_answers_and_interviewer_turns_ignore_the_prose_setting(coder) -> None:
    plain_answer, plain_asker = run(coder, AnswerCalibration(), [ANSWER, ASKER])
    strict_answer, strict_asker = run(coder, AnswerCalibration(offset=0.45, max_codes=1), [ANSWER, ASKER])
    assert strict_answer == plain_answer and len(plain_answer["codes"]) >= 2
    assert plain_asker["codes"] == strict_asker["codes"] == []


def test_the_default_is_the_shipped_prose_calibration(coder) -> None:
    assert run(coder, None, [None]) == run(coder, PROSE_CALIBRATION, [None])


PASSAGE = "예산이 크게 부족해 사업이 중단될 위기에 처했다. 이에 시는 내년 예산 편성을 다시 검토하였다."


def sentence_polarities(coder: Coder, context: dict | None) -> list[list[tuple[str, str, float]]]:
    (res,) = coder.code_texts([PASSAGE], contexts=[context])
    return [
        [(c["category"], c["polarity"], c["polarity_confidence"]) for c in s["codes"]]
        for s in res["sentences"]
    ]


def test_report_prose_polarity_leans_on_its_neighbours(coder, monkeypatch) -> None:
    """A plain follow-up sentence about the same budget reads its neighbour's obstacle
    (kb.coding.context.PROSE_NEIGHBOUR_POLARITY_WEIGHT); interview answers keep their own mix."""
    from kb.coding import context as context_module

    monkeypatch.setattr(context_module, "PROSE_NEIGHBOUR_POLARITY_WEIGHT", 0.0)
    alone, answer_alone = sentence_polarities(coder, None), sentence_polarities(coder, ANSWER)
    monkeypatch.setattr(context_module, "PROSE_NEIGHBOUR_POLARITY_WEIGHT", 0.3)
    mixed, answer_mixed = sentence_polarities(coder, None), sentence_polarities(coder, ANSWER)
    assert alone[1][0][:2] == ("financial_resources", "neutral"), alone
    assert mixed[1][0][:2] == ("financial_resources", "obstacle"), mixed
    assert answer_mixed == answer_alone
