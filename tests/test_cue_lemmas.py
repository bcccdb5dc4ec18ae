"""One lemma convention: the codebook cue check, the cue Matcher and search terms share kb.text.morphs."""

from __future__ import annotations

import pytest

from kb.coding.codebook import Codebook, cue_frames, load_codebook, unproducible_cues
from kb.coding.rules import CueMatcher
from kb.text.morphs import cue_lemmas, is_function_tag, lemma_of, terms
from kb.text.nlp import get_nlp

SENTENCES = [
    "예산이 부족했던 탓에 주민 참여가 저조했다.",
    "어려운 상황에서도 부서 간 협력이 활성화되었다.",
    "담당자들은 Data 개방이 필요하다고 들었다.",
    "지어진 지 오래된 시스템은 유지보수가 쉽지 않았죠.",
]
HAND_CUES = ("부족", "어렵다", "협력", "않다", "활성", "예산 부족", "데이터 개방", "접근성", "부족하다")


@pytest.fixture(scope="module")
def nlp():
    return get_nlp()


def test_lemma_convention() -> None:
    assert lemma_of("어렵", "VA-I", "어렵다") == "어렵다"
    assert lemma_of("하", "XSA") == "하다" and lemma_of("이", "VCP") == "이다"
    assert lemma_of("예산", "NNG") == "예산"
    assert terms("Data가 부족했다") == ["data", "부족"]  # search: lower-cased, 하다 a stop word


@pytest.mark.parametrize("text", SENTENCES)
def test_the_check_sees_the_lemmas_the_matcher_sees(nlp, text: str) -> None:
    matcher_view = [t.lemma_ for t in nlp(text) if not t.is_space and not is_function_tag(t.tag_)]
    assert cue_lemmas(text) == matcher_view


def test_a_cue_the_check_accepts_is_one_the_matcher_matches(nlp) -> None:
    book = load_codebook(None)
    cat = book.categories[0]
    hand = Codebook(book.dimensions, (cat.__class__(**{**cat.__dict__, "cues": HAND_CUES}),))
    flagged = set(unproducible_cues(hand))
    assert flagged == {(cat.id, "접근성"), (cat.id, "부족하다")}  # write the noun root
    owned = [(c.id, q) for c in book.categories for q in c.cues]
    owned += [(f"polarity:{k}", q) for k, cues in book.polarity_cues.items() for q in cues]
    owned += [(cat.id, q) for q in HAND_CUES]
    assert set(unproducible_cues(book)) == set()
    missed = []
    for owner, cue in owned:
        if (owner, cue) in flagged:
            continue
        inflected = (f"그것은 {cue}이다",) if " " in cue else cue_frames(cue)[1:]
        matcher = CueMatcher(nlp, {"k": [cue]})
        if not any(matcher(nlp(f)) for f in inflected):
            missed.append((owner, cue))
    assert not missed, missed
