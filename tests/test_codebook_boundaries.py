"""Boundary rules of the codebook that the 표 7-1 comparison asked for (docs/benchmarks.md):
officials' and residents' judgements of the service are not organisational culture, a plain
description of the technology in use is neutral, and a positive word that names an aim
("개선을 위해") is not a success. Every sentence below was written for this test."""

from __future__ import annotations

import csv
import io
import re

import pytest

from kb.coding.book import load_view
from kb.coding.codebook import load_codebook
from kb.coding.polarity import PolarityRules
from kb.exchange.refiqda import codebook_csv
from kb.text.nlp import get_nlp

SERVICE_FACTORS = {"accessibility_convenience", "output_quality", "resident_acceptance"}


@pytest.fixture(scope="module")
def rules() -> PolarityRules:
    return PolarityRules(get_nlp(), load_view().polarity_cues)


def _service_rule(exclude: tuple[str, ...]) -> str:
    return next(r for r in exclude if SERVICE_FACTORS <= set(re.findall(r"→ ?([a-z_]+)", r)))


def test_org_culture_sends_judgements_of_the_service_to_the_service_factors() -> None:
    book = load_codebook()
    rule = _service_rule(book.by_id["org_culture"].exclude)
    assert "공무원" in rule and "주민" in rule and "부서 간 협력" in rule
    # the receiving categories say so too, so a coder reading either entry gets the same answer
    assert any("공무원" in r for r in book.by_id["accessibility_convenience"].include)
    assert any("선호도" in r for r in book.by_id["resident_acceptance"].include)


def test_the_rule_is_shown_wherever_the_codebook_is_exported() -> None:
    book = load_codebook()
    rule = _service_rule(book.by_id["org_culture"].exclude)
    rows = csv.DictReader(io.StringIO(codebook_csv(book).decode("utf-8-sig")))
    culture = next(r for r in rows if r["description"].startswith("id: org_culture"))
    assert rule in culture["description"]


def test_written_examples_teach_the_boundary() -> None:
    view = load_view()
    officials = [e for e in view.get("accessibility_convenience").examples if "직원들" in e.text]
    assert [e.polarity for e in officials] == ["success"]
    tech = [e for e in view.get("ict_level").examples if e.source == "작성 예시" and e.polarity == "neutral"]
    assert tech, "a plain description of the technology in use is a neutral ict_level example"
    # an example is a negative of every other category: none of them is an org_culture example
    culture = {e.text for e in view.get("org_culture").examples}
    assert not culture & {e.text for e in officials + tech}


@pytest.mark.parametrize(
    "text",
    [
        "예약 처리 속도의 개선을 위해서 외부 업체와 기술 교류를 이어 가고 있다.",
        "주민 참여를 활성화하기 위해 모바일 앱을 새로 만들었다.",
        "예산이 좀 더 있으면 좋겠어요.",  # a wish: what is wanted, not what went well
        "지방정부도 이용자 입장에서 고민했으면 좋겠다고 하였다.",
    ],
)
def test_a_positive_word_that_names_an_aim_is_not_a_success(rules: PolarityRules, text: str) -> None:
    nlp = get_nlp()
    assert rules.score(nlp(text)).label == "neutral"


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("앱을 개편한 뒤 신청 처리 속도가 크게 향상되었다.", "success"),  # a result, not an aim
        ("인력 부족을 해소하기 위해 외부 전문가를 채용했다.", "obstacle"),  # the gap is stated
        ("활성화를 위해서는 홍보 예산이 더 필요하다.", "obstacle"),  # the need still counts
        ("새 앱은 주민들 반응이 좋았어요.", "success"),  # 좋다 as a judgement, not a wish
        ("이용자가 많으면 좋은 점이 있어요.", "success"),  # -면 then 좋은 점: a benefit, not a wish
    ],
)
def test_states_and_needs_around_an_aim_still_count(rules: PolarityRules, text: str, label: str) -> None:
    nlp = get_nlp()
    assert rules.score(nlp(text)).label == label


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("신청 절차가 작년보다 크게 개선되었다.", "success"),
        ("신청 절차가 하루빨리 개선되어야 한다.", "obstacle"),
        ("동네 홍보가 좀 더 강화돼야 해요.", "obstacle"),
        ("운영 인력을 먼저 확보해야 합니다.", "obstacle"),
        ("운영 인력을 올해 두 명 확보했습니다.", "success"),
    ],
)
def test_a_positive_word_in_an_obligation_is_a_need(rules: PolarityRules, text: str, label: str) -> None:
    """ "개선되어야 한다" once matched both the success cue 개선되다 and an obstacle cue that, lemmatised,
    was the same word – so "개선되었다" and "개선되어야 한다" both scored neutral (coding guide §3: a
    need about current practice is an obstacle)."""
    nlp = get_nlp()
    assert rules.score(nlp(text)).label == label
