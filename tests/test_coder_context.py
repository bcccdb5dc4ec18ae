"""Interview context, spoken polarity, recommendations and quick retraining (issue 14).

Every sentence below was written for these tests (not taken from the report, the training
sentences or any evaluation set). The coder is trained once on the codebook examples, three
cases of the gold set and the written training sentences, without fine-tuning.
"""

from __future__ import annotations

import pytest

from kb.coding import Coder
from kb.coding.answers import AnswerCalibration
from kb.coding.book import load_view
from kb.coding.data import build_training_set, load_gold, load_written
from kb.coding.retrain import quick_retrain
from kb.coding.spoken import markers
from kb.settings import ROOT, get_settings
from kb.text.backchannel import content_free

pytestmark = pytest.mark.slow  # trains the coder on gold + written sentences, twice

FUNDING_Q = "예산 확보는 어떠셨어요?"
STAFF_Q = "담당 인력은 충분했나요?"
ANSWER = "아, 그게 제일 골치였죠."


def _gold() -> list[dict]:
    return [r for r in load_gold() if r["case"] in {"gyeonggi_bis", "domestic_synthesis", "daangn"}]


@pytest.fixture(scope="module")
def coder() -> Coder:
    book = load_view()
    c = Coder(book, embedder="use")
    data = build_training_set(book, _gold(), written=load_written(ROOT / "corpus" / "training"))
    return c.fit(data, n_folds=3, tune_epochs=0)


def cats(result: dict) -> dict[str, str]:
    return {c["category"]: c["polarity"] for c in result["codes"]}


def test_interviewer_turns_carry_no_codes(coder) -> None:
    text = "예산이 부족해서 전문 인력 채용이 어려우셨다고 들었는데 맞나요?"
    asked, answered = coder.code_texts([text, text], contexts=[{"speaker": "면담자"}, {"speaker": "응답자"}])
    assert asked["codes"] == [] and all(s["codes"] == [] for s in asked["sentences"])
    assert answered["codes"], "the same words said by the interviewee are coded"


def test_the_question_decides_what_a_thin_answer_is_about(coder) -> None:
    funding, staffing, bare = coder.code_texts(
        [ANSWER, ANSWER, ANSWER], contexts=[{"question": FUNDING_Q}, {"question": STAFF_Q}, None]
    )
    assert cats(funding).get("financial_resources") == "obstacle", funding["codes"]
    assert "human_resources" not in cats(funding)
    assert cats(staffing).get("human_resources") == "obstacle", staffing["codes"]
    assert "financial_resources" not in cats(staffing)
    assert not {"financial_resources", "human_resources"} & set(cats(bare))


def test_neighbours_of_one_answer_inform_each_other(coder) -> None:
    first = "작년부터 앱 운영비가 계속 깎였어요."
    thin = "그래서 그 뒤로는 정말 버티기만 했죠."
    (alone,) = coder.code_texts([thin])
    (together,) = coder.code_texts([thin], contexts=[{"prev": first}])
    conf = {c["category"]: c["confidence"] for s in together["sentences"] for c in s["codes"]}
    before = {c["category"]: c["confidence"] for s in alone["sentences"] for c in s["codes"]}
    assert conf.get("financial_resources", 0) > before.get("financial_resources", 0)


@pytest.mark.parametrize(
    "text",
    [
        "민원 시스템이랑 연계가 잘 안 되더라고요.",
        "작년에 비해 앱 이용자가 반토막이 났죠.",
        "그 예산으로 서버 유지비만 간신히 맞췄어요.",
        "어르신들이 그 복잡한 앱을 쓰실 리가 있겠어요?",
    ],
)
def test_spoken_obstacles_read_as_obstacles(coder, text) -> None:
    (res,) = coder.code_texts([text])
    assert res["codes"], text
    assert {c["polarity"] for c in res["codes"]} == {"obstacle"}, res["codes"]


def test_an_advice_question_makes_a_warning_a_recommendation(coder) -> None:
    """After "what would you advise …?", a warning is advice to others; after a plain question it is
    the case's own obstacle (kb.coding.question_polarity)."""
    warning = "담당자가 바뀌면 다시 처음부터예요."
    advice_q = "비슷한 사업을 준비하는 다른 군에 조언을 해 주신다면요?"
    staff_q = "담당 인력은 어떻게 꾸리셨어요?"
    advised, plain = coder.code_texts(
        [warning, warning],
        contexts=[{"question": advice_q, "speaker": "응답자"}, {"question": staff_q, "speaker": "응답자"}],
    )
    assert cats(advised).get("human_resources") == "recommendation", advised["codes"]
    assert cats(plain).get("human_resources") == "obstacle", plain["codes"]


def test_neighbours_of_one_answer_share_their_polarity(coder) -> None:
    """A sentence with no evaluation of its own leans on its neighbours' (kb.coding.context)."""
    thin = "그때 인력 사정이 그랬어요."
    bad = {
        "prev": "예산이 깎여서 사람을 못 뽑았어요.",
        "next": "결국 담당자 혼자 다 떠안았죠.",
        "speaker": "응답자",
    }
    good = {
        "prev": "예산이 늘어서 사람을 두 명 더 뽑았어요.",
        "next": "덕분에 담당자들이 훨씬 여유가 생겼죠.",
    }
    among_bad, among_good = coder.code_texts([thin, thin], contexts=[bad, {**good, "speaker": "응답자"}])
    assert cats(among_bad).get("human_resources") == "obstacle", among_bad["codes"]
    assert cats(among_good).get("human_resources") == "success", among_good["codes"]


@pytest.mark.parametrize(
    ("text", "polarity"),
    [
        (
            "중앙정부는 지자체마다 앱을 따로 만들게 두지 말고 공통 기반을 제공해야 한다고 봐요.",
            "recommendation",
        ),
        ("공공은 민간 배달앱과 경쟁하기보다 가맹점 데이터를 열어 주면 좋겠습니다.", "recommendation"),
        ("저희 과는 앱을 관리할 개발 인력이 두 명은 더 필요해요.", "obstacle"),
    ],
)
def test_advice_to_another_actor_is_a_recommendation(coder, text, polarity) -> None:
    (res,) = coder.code_texts([text])
    assert res["codes"], text
    assert {c["polarity"] for c in res["codes"]} == {polarity}, res["codes"]


def test_spoken_markers_come_from_morphemes() -> None:
    assert markers("주민들이 그걸 쓸 리가 있겠어요?").get("rhetorical")
    assert markers("그게 잘 안 되더라고요.").get("not_well")
    assert markers("정부가 표준을 먼저 정해 줘야 합니다.").get("advice_other")
    assert markers("저희는 인력이 더 필요해요.").get("advice_own")
    assert not markers("저희는 인력이 더 필요해요.").get("advice_other")
    assert not markers("예산이 충분했어요.")
    assert markers("어 저는 조례부터 먼저 만드시라고 하고 싶어요.").get("advice")  # a quoted imperative
    assert markers("다른 데는 사람부터 뽑으라고 전하고 싶네요.").get("advice")
    assert not markers("시장님이 빨리 하라고 하셨어요.").get("advice")  # reported, not given
    # advice told to someone addresses them; "저는", the teller, is no actor of it
    told = markers("저는 조례부터 먼저 만드시라고 하고 싶어요.")
    assert told.get("advice_other") and not told.get("advice_own")
    assert markers("저희도 인력을 더 뽑아야 한다고 말씀드리고 싶어요.").get("advice_own")  # named: their own
    assert not markers("이걸 저는 혁신이라고 하고 싶어요.").get("advice")  # a noun quoted: a name


def test_rhetorical_where_denies_only_as_a_question() -> None:
    assert markers("그런 돈이 어디 있어요?").get("rhetorical")
    assert markers("그럴 여유가 어디 있겠어요?").get("rhetorical")
    assert not markers("사무실이 어디에 있는지 아세요?").get("rhetorical")
    assert not markers("저도 잘 모르겠어요.").get("well")


@pytest.mark.parametrize(
    ("text", "sign"),
    [
        ("걱정은 전혀 없었어요.", 1),  # a spoken obstacle word, negated
        ("어르신들이 쓰기가 쉽지 않았어요.", -1),  # a spoken success word, negated
        ("처음엔 예산이 넉넉했지만 나중엔 완전히 바닥났어요.", -1),  # contrast: the last clause decides
        ("처음엔 좀 헤맸는데 지금은 다들 편하게 써요.", 1),
        ("주민들 반응이 생각보다 시큰둥하더라고요.", -1),
    ],
)
def test_spoken_evaluative_words_are_read_per_clause(text: str, sign: int) -> None:
    from kb.coding.polarity import PolarityRules
    from kb.text.nlp import get_nlp

    nlp = get_nlp()
    assert PolarityRules(nlp).score(nlp(text)).score * sign > 0


@pytest.mark.parametrize(
    "text",
    [
        "담당자가 바뀌면 다시 처음부터예요.",
        "사업이 결국 원점으로 돌아갔죠.",
        "그동안 쌓은 게 다 물거품이 됐어요.",
    ],
)
def test_starting_over_is_a_spoken_setback(text: str) -> None:
    assert markers(text).get("spoken_obstacle"), markers(text)


def test_from_the_start_alone_is_no_setback() -> None:
    assert not markers("처음부터 주민센터랑 같이 설계했어요.").get("spoken_obstacle")


def test_interview_answers_read_polarity_with_their_own_prior() -> None:
    from kb.coding.context import answer_polarity

    def row() -> dict[str, float]:
        return {"success": 0.28, "obstacle": 0.32, "neutral": 0.4, "recommendation": 0.0}

    prose, answer = answer_polarity([row(), row()], [False, True])
    assert max(prose, key=prose.get) == "neutral"  # report prose keeps the models' reading
    assert max(answer, key=answer.get) == "obstacle"  # an answer's neutral reading weighs less
    assert abs(sum(answer.values()) - 1) < 1e-9


def test_retrain_after_reviews_changes_the_reviewed_pattern(tmp_path) -> None:
    settings = get_settings(data_dir=tmp_path / "data")
    pattern = "마을 반장님들이 단체 대화방에 링크를 돌려 주셨어요."
    reviewed = [
        pattern,
        "동네 반장님들이 대화방에 공지를 올려 주셨어요.",
        "통장님들이 단톡방에 앱 주소를 퍼 날라 주셨죠.",
        "반장님들이 카톡방마다 홍보 글을 올려 주셨어요.",
    ]
    reviews = [{"text": t, "category": "governance", "polarity": "success", "label": 1} for t in reviewed]
    book = load_view()
    quick_retrain(settings, [], gold=_gold(), written=[])
    before = Coder.load(settings, book).code_texts([pattern])[0]
    info = quick_retrain(settings, reviews, gold=_gold(), written=[])
    after = Coder.load(settings, book).code_texts([pattern])[0]
    assert info["reviews"] == len(reviews)
    assert "governance" not in cats(before), before["codes"]
    assert cats(after).get("governance") == "success", after["codes"]


def test_top_category_fallback_only_for_substantive_answer_sentences(coder) -> None:
    text = "오전에는 주로 회의를 하고 오후에는 현장에 나가서 이것저것 챙겨요."
    answer = {"question": "하루 일과는 어떻게 되세요?", "speaker": "응답자"}
    try:
        coder.category_stack = False  # the hand-composed choice (kb.coding.category_stack aside)
        # a bar no category of this sentence clears (asserted below): only the fallback can code it
        coder.answer_calibration = coder.prose_calibration = AnswerCalibration(offset=0.3)
        coder.fallback_min = 0.5  # off
        (off,) = coder.code_texts([text], contexts=[answer])
        coder.fallback_min = 0.0  # any best category
        on, prose, short = coder.code_texts([text, text, "네, 맞아요."], contexts=[answer, None, answer])
    finally:
        coder.fallback_min = coder.answer_calibration = coder.prose_calibration = None
        del coder.category_stack
    assert off["codes"] == []
    assert len(on["codes"]) == 1 and on["codes"][0]["evidence"]["fallback"] is True
    assert prose["codes"] == [] and short["codes"] == []


@pytest.mark.parametrize(
    ("text", "free"),
    [
        ("네.", True),
        ("네, 그렇죠.", True),
        ("네 고맙습니다.", True),
        ("[중략]", True),
        ("네. (잠시 침묵)", True),
        ("예, 맞습니다.", True),
        ("아니요.", False),  # a denial answers a yes/no question
        ("있었죠.", False),
        ("전혀요.", False),
        ("네 아이러니하죠. (웃음)", False),
        ("그렇죠, 그게 문제였어요.", False),
        # closing formulas addressed to the interviewer, not a struggle of the case
        ("네, 수고 많으셨어요.", True),
        ("감사합니다. 고생하셨습니다.", True),
        ("네, 안녕히 가세요.", True),
        ("저희 팀이 그때 고생 많이 했어요.", False),
        # English: formulas say nothing, a short question or answer does
        ("OK, thanks.", True),
        ("I see. Thank you very much.", True),
        ("Right.", True),
        ("What about the budget?", False),
        ("And what held participation back?", False),
        ("How is the team staffed?", False),
        ("No.", False),
        ("Three people.", False),
    ],
)
def test_agreement_thanks_and_transcribers_notes_are_content_free(text: str, free: bool) -> None:
    assert content_free(text) is free


def test_an_answer_that_only_agrees_gets_no_code_even_from_its_question(coder) -> None:
    budget = {"question": FUNDING_Q, "speaker": "응답자"}
    before, agreed, thanks = coder.code_texts(
        [f"{ANSWER} 네. (웃음)", "네, 그렇죠.", "네 고맙습니다."], contexts=[budget] * 3
    )
    assert agreed["codes"] == [] and thanks["codes"] == []
    worded, free = before["sentences"]
    assert worded["codes"] and free["codes"] == []


def test_a_private_firms_actorless_advice_is_a_recommendation(coder) -> None:
    """A firm's advice with no named actor is aimed at the public side (coding guide §3); a need
    about the speaker's own organisation's present practice stays an obstacle."""
    text = "처음에는 꼭 필요한 서비스 몇 개만 단순하게 만들고 점진적으로 넓혀 나가야 한다고 봐요."
    firm = coder.code_texts([text], contexts=[{"group": "private"}])[0]
    assert firm["codes"] and {c["polarity"] for c in firm["codes"]} == {"recommendation"}, firm["codes"]
    own = "저희 시청도 데이터 분석 인력이 더 있어야 하는데 지금은 한 명도 없어요."
    city = coder.code_texts([own], contexts=[{"group": "domestic"}])[0]
    assert city["codes"] and "recommendation" not in {c["polarity"] for c in city["codes"]}, city["codes"]


def test_answer_calibration_acts_on_interview_answers_only(coder) -> None:
    """kb.coding.answers (the hand-composed choice, a coder without the category combiner): a strict
    setting trims an answer's codes; the same words in report prose keep every code the category
    thresholds give them."""
    text = "예산도 부족하고 담당 인력도 두 명뿐이라 주민 홍보는 엄두도 못 냈어요."
    answer = {"question": "운영하면서 어려운 점은 없으셨어요?", "speaker": "응답자"}
    try:
        coder.category_stack = False
        coder.answer_calibration = AnswerCalibration()  # no change
        plain_answer, plain_prose = coder.code_texts([text, text], contexts=[answer, None])
        coder.answer_calibration = AnswerCalibration(max_codes=1)
        strict_answer, strict_prose = coder.code_texts([text, text], contexts=[answer, None])
    finally:
        coder.answer_calibration = None
        del coder.category_stack
    assert len(plain_answer["codes"]) >= 2, plain_answer["codes"]  # otherwise this test shows nothing
    assert strict_prose == plain_prose
    assert len(strict_answer["codes"]) == 1
    assert strict_answer["codes"][0]["category"] == plain_answer["codes"][0]["category"]
