"""How the coder combines its two polarity readings when a fine-tuned model is present.

A small real coder (logistic part, no fine-tuning) plus a tiny real fine-tuned e5 polarity
classifier (top layer only, taught to say obstacle everywhere): the mix in `Coder._polarity` is
checked against the two parts read separately, on sentences written for this test.
"""

from __future__ import annotations

import numpy as np
import pytest
from sample_kb import small_fast_coder

from kb.coding import Coder
from kb.coding import coder as coder_module
from kb.coding.book import POLARITIES
from kb.coding.finetune import TunedClassifier

SENTENCES = [
    "예산이 넉넉하게 확보돼서 운영이 수월했어요.",
    "담당 인력이 부족해서 제일 골치였죠.",
    "앱은 주민센터 직원들이 같이 관리해요.",
]


@pytest.fixture(scope="module")
def coder() -> Coder:
    c = small_fast_coder()
    assert c.model is not None and c.model.polarity is not None
    # every training text labelled obstacle: a category-blind reading that disagrees with the rules
    texts = ["예산이 충분히 확보되었다.", "인력이 부족하다.", "주민 호응이 좋았다.", "조례를 만들었다."]
    c.model.tuned_polarity = TunedClassifier.fit(texts, np.array([1, 1, 1, 1]), list(POLARITIES), 30, 11)
    return c


def test_the_tuned_reading_enters_with_its_weight(coder, monkeypatch) -> None:
    """p = (1 − w)·rule/feature model + w·fine-tuned classifier, w = TUNED_POLARITY_WEIGHT."""
    analyses = coder.analyzer.analyse(SENTENCES)
    cats = ["financial_resources", "human_resources", "org_structure"]
    model = coder.model
    rules = model.polarity.predict_proba(analyses, cats)
    tuned = model.tuned_polarity.predict_proba(SENTENCES)
    w = coder_module.TUNED_POLARITY_WEIGHT
    got = coder._polarity(analyses, cats)
    for row, r, t in zip(got, rules, tuned, strict=True):
        for k, p in enumerate(POLARITIES):
            assert row[p] == pytest.approx((1 - w) * r[p] + w * t[k])
    monkeypatch.setattr(coder_module, "TUNED_POLARITY_WEIGHT", 1.0)  # the tuned reading alone
    alone = coder._polarity(analyses, cats)
    np.testing.assert_allclose([[row[p] for p in POLARITIES] for row in alone], tuned, atol=1e-9)
    assert [max(POLARITIES, key=row.get) for row in alone] == ["obstacle"] * 3


def test_weight_chosen_on_dev_keeps_the_rules_reading(coder) -> None:
    """At the shipped weight, a category-blind reading that says obstacle everywhere does not turn a
    success the rule/feature model reads clearly (the dev transcripts' largest error was successes
    read as obstacles)."""
    (a,) = coder.analyzer.analyse(SENTENCES[:1])
    rules = coder.model.polarity.predict_proba([a], ["financial_resources"])[0]
    assert max(POLARITIES, key=rules.get) == "success"
    (mixed,) = coder._polarity([a], ["financial_resources"])
    assert max(POLARITIES, key=mixed.get) == "success", mixed
