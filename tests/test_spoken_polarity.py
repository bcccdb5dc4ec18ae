"""Spoken success evidence and advice forms (kb.coding.spoken, kb.coding.polarity): sentences
written for these tests, each with its negated or burden counterpart."""

from __future__ import annotations

import pytest

from kb.coding.features import spoken_adjusted
from kb.coding.polarity import PolarityRules
from kb.coding.spoken import markers
from kb.text.nlp import get_nlp


def rule_sign(text: str) -> int:
    """Sign of the rule polarity: clause cues corrected by the spoken markers."""
    nlp = get_nlp()
    res = PolarityRules(nlp).score(nlp(text))
    total = spoken_adjusted(res.score, markers(text))
    return (total > 0) - (total < 0)


@pytest.mark.parametrize(
    ("text", "sign"),
    [
        # relief and praise reported from users
        ("그 사업비가 들어오고 나서 한시름 놓았죠.", 1),
        ("다행히 큰 탈은 없었어요.", 1),  # a clause adverb: outside the negation's scope
        ("아쉽게도 그해엔 예산이 없었어요.", -1),
        ("동네 분들이 칭찬을 많이 해 주세요.", 1),
        ("할머니들이 그 서비스를 참 좋아하세요.", 1),
        ("주민들이 그걸 그다지 좋아하지 않으셨어요.", -1),  # negation flips
        # a comparison with before
        ("예전에는 서류 내는 데 한 달 걸렸는데 요즘은 사흘이면 끝나요.", 1),
        ("처음엔 다들 반대했는데 이제는 먼저 찾아와요.", 1),
        ("옛날엔 많이 썼는데 지금은 아무도 안 써요.", -1),
        # figures that rise
        ("신청 건수가 두 배로 늘었어요.", 1),
        ("매출이 껑충 뛰었어요.", 1),
        ("가입자가 좀처럼 늘지 않아요.", -1),  # negated
        ("민원이 확 늘었어요.", -1),  # a burden that rises
        ("유지비가 해마다 올라요.", -1),
        # a past counterfactual evaluates an unreal world: the real one is the opposite
        ("그 조례가 없었으면 지원 자체를 못 했을 거예요.", 1),
        ("예산이 조금만 더 있었으면 훨씬 잘 됐을 텐데요.", -1),
        # spoken evaluative words, negated
        ("처음 몇 달은 힘들지 않았어요.", 1),
        ("연계가 순조롭지 않았어요.", -1),
        # how people take it: -어하다 verbs of unease, whichever way Kiwi splits them
        ("상인분들이 정산 화면을 어려워하세요.", -1),
        ("예약 버튼 찾는 걸 어려워하는 분들이 아직 많아요.", -1),  # not a description of whom it serves
        ("청년들이 계약서 올리는 걸 귀찮아하더라고요.", -1),
        ("처음에 농가들이 새 앱을 낯설어하셨어요.", -1),
        ("기사님들이 위치 공유를 꺼려하세요.", -1),
        ("요즘은 아무도 헷갈려하지 않으세요.", 1),  # negated
        ("형편이 어려운 가구에 반찬을 보내 드려요.", 0),  # whom it serves, as before
        # a charge the platform does not make is an edge; one it cannot collect is not
        ("저희 앱은 가게한테 수수료를 안 받아요.", 1),
        ("학생들한테는 가입비가 따로 없어요.", 1),
        ("이용료를 못 받아서 운영비가 모자라요.", -1),
        # a difficulty conceded before the verdict (-기는 하다)
        ("처음 쓰기엔 낯설긴 한데 다들 금방 편하다고 하세요.", 1),
        # a wait told as long, and one told as short
        ("서류 검토하는 데만 넉 달이 걸렸어요.", -1),
        ("예산 승인까지 반년이나 걸렸어요.", -1),
        ("연동하는 데 두 주밖에 안 걸렸어요.", 1),
        # an objection that gave way, and one that held
        ("상인분들이 처음엔 걱정하셨는데 몇 번 만나서 설명하니까 납득하시더라고요.", 1),
        ("의회는 끝내 그 조례안을 받아들이지 않았어요.", -1),
        # -지 with a contracted topic particle (-진) still carries the negation to the cue
        ("구청장이 바뀌어도 그 플랫폼이 사라지진 않을 거예요.", 1),
        ("어르신들한테 그 화면이 쉽진 않았어요.", -1),
        # friction that happened, and none (litotes): 큰 X는 없다, X 없이
        ("개통 초기에 상인회하고 마찰이 좀 있었죠.", -1),
        ("시스템 이전 때문에 일정에 차질이 생겼어요.", -1),
        ("그 뒤로는 상인회하고 큰 마찰은 없었어요.", 1),
        ("이관 작업은 별다른 잡음 없이 넘어갔어요.", 1),
        # a cost the platform does not incur (a compound cost noun; Kiwi reads 안 들어요 as 듣 too)
        ("민간 앱을 쓰니까 시 입장에서는 서버 관리비도 안 들어요.", 1),
        ("클라우드로 옮기고 나서는 장비 교체비가 따로 안 들어요.", 1),
        ("그분들은 우리 얘기를 안 들어요.", -1),  # hearing, not a cost
        # a rhetorical question written without its question mark
        ("예산이 다 끊겼는데 저희가 뭘 할 수 있었겠어요.", -1),
        ("그 상황에서 누가 그 앱을 깔았겠어요", -1),
        # not few, not small (litotes): much of it, a success unless it is a burden
        ("면 단위 인구를 생각하면 가입자 천 명이 적지 않은 숫자죠.", 1),
        ("첫해 성과가 작지 않았다고 생각해요.", 1),
        ("민원 처리 부담이 적지 않았어요.", -1),
        # report prose: the modifier judges a success noun, much of a burden, criticism
        ("사업 첫해에는 기대에 못 미치는 미흡한 성과를 거두었다.", -1),
        ("높은 중개 수수료에 대한 소상공인의 부담을 덜기 위해 출범하였다.", -1),
        ("서비스 품질에 대한 이용자들의 비판이 이어졌다.", -1),
        ("첫해부터 높은 성과를 거두었다.", 1),
        # a burden that grows (by an adverb too: 크게 증가하다)
        ("알림이 너무 잦아서 주민 피로감이 높아졌어요.", -1),
        ("서버 운영 비용이 해마다 크게 증가했어요.", -1),
    ],
)
def test_spoken_success_evidence_and_its_negation(text: str, sign: int) -> None:
    assert rule_sign(text) == sign, markers(text)


@pytest.mark.parametrize(
    "text",
    [
        "처음부터 앱을 크게 만들지 마세요.",  # prohibition
        "담당자는 오래 한 자리에 두는 게 맞다고 봐요.",  # normative 게 맞다
        "작은 데부터 시작하라고 말씀드리고 싶어요.",  # performative advice
        "다른 군에도 전화 창구를 꼭 남겨 두라고 권하고 싶어요.",
    ],
)
def test_advice_forms_of_speech(text: str) -> None:
    assert markers(text).get("advice"), markers(text)


@pytest.mark.parametrize(
    "text",
    [
        "도청에서는 그걸 하지 말라고 하더라고요.",  # a prohibition reported, not given
        "네, 그 말씀이 맞아요.",  # agreement, not a norm
        "저희는 늘 그렇게 해요.",  # 늘 = always, no rising figure
    ],
)
def test_not_advice_nor_a_rise(text: str) -> None:
    m = markers(text)
    assert not m.get("advice") and not m.get("rising_good"), m


def test_no_choice_but_to_lacks_nothing() -> None:
    """-ㄹ 수밖에 없다 (had no choice but to) is no absence, unlike a plain 없다."""
    nlp = get_nlp()
    rules = PolarityRules(nlp)
    assert rules.score(nlp("주민들이 지켜보니까 과장님들도 움직일 수밖에 없었죠.")).score == 0
    assert not markers("주민들이 지켜보니까 과장님들도 움직일 수밖에 없었죠.").get("absence")
    assert rules.score(nlp("그해엔 움직일 예산이 없었죠.")).score < 0


def test_a_story_ends_on_its_result() -> None:
    """Problem → fix → result: the clause after a result connective (-고 나서, -었더니, 결국) is the
    evaluation, even for a category whose evidence sits in the problem clause."""
    nlp = get_nlp()
    rules = PolarityRules(nlp)
    doc = nlp("처음엔 예산이 문제였는데, 조례를 만들고 나서 훨씬 수월해졌어요.")
    budget = next(t.i for t in doc if t.text == "예산")
    assert rules.score(doc, focus=[budget]).label == "success"
    assert rule_sign("처음엔 참여가 저조했는데, 문자 안내를 보냈더니 참여가 활발해졌어요.") == 1
    assert rule_sign("처음엔 인력이 넉넉했는데 결국 다 떠났어요.") == -1
    # a contrast between two things keeps each its own polarity
    doc = nlp("예산은 충분하나 인력이 부족하다.")
    assert rules.score(doc, focus=[next(t.i for t in doc if t.text == "예산")]).label == "success"


@pytest.mark.parametrize(
    ("text", "sign"),
    [
        ("민원이 한 달에 몇 건밖에 안 들어왔어요.", 1),  # few of a burden
        ("오류는 작년에 한두 번밖에 안 났어요.", 1),
        ("시스템 바꾸는 데 석 달밖에 안 걸렸어요.", 1),  # what the result cost
        ("가입자가 아직 100명밖에 안 돼요.", -1),  # few of a gain
        ("설명회에 온 주민이 열 명밖에 없었어요.", -1),
    ],
)
def test_only_n_depends_on_what_is_counted(text: str, sign: int) -> None:
    assert rule_sign(text) == sign, markers(text)


def codebook_sign(text: str) -> int:
    """`rule_sign` with the codebook's polarity cues added, as the coder reads (its obstacle cues
    include the negators 않다 and 못)."""
    from kb.coding.book import load_view

    nlp = get_nlp()
    res = PolarityRules(nlp, load_view().polarity_cues).score(nlp(text))
    total = spoken_adjusted(res.score, markers(text))
    return (total > 0) - (total < 0)


@pytest.mark.parametrize(
    ("text", "sign"),
    [
        # a worry that proved unfounded, a problem solved, litotes
        ("처음엔 걱정했는데 막상 해 보니 괜찮더라고요.", 1),
        ("어르신들 반응도 나쁘지 않았어요.", 1),
        ("연동이 안 되던 건 시스템을 새로 바꾸니까 해결이 되더라고요.", 1),
        # a negated obstacle: the negator that flips it is no lack of its own
        ("예산 걱정은 크게 안 했어요.", 1),
        ("요즘은 큰 문제 없이 잘 돌아가요.", 1),
        ("서버 라이선스 비용이 따로 없으니까요.", 1),
        # a burden that falls or disappears
        ("불만 접수가 눈에 띄게 줄었어요.", 1),
        ("상담 대기 시간이 절반으로 줄었어요.", 1),
        ("중간에 포기하는 사람 비율이 확 줄었어요.", 1),
        ("그 민원은 몇 달 만에 거의 없어졌어요.", 1),
        # continuity: what was not removed
        ("시장이 바뀌었는데도 그 사업을 없애지는 않았어요.", 1),
        # obstacles that must stay obstacles
        ("사용법이 어려워서 못 쓰겠다는 분이 많았어요.", -1),  # -어서: 못 negates 쓰다, not 어렵다
        ("이용자 만족도가 많이 떨어졌어요.", -1),  # a gain that falls
        ("불만이 좀처럼 줄지 않아요.", -1),  # a burden that does not fall
        ("선거 끝나고 그 사업은 흐지부지 없어졌어요.", -1),  # no burden before the decline
        ("반응이 별로 좋지 않았어요.", -1),
    ],
)
def test_spoken_success_told_through_a_difficulty(text: str, sign: int) -> None:
    """Written for this test. Before session 12 the rules read ten of the eleven successes as
    obstacles (only "예산 걱정은 크게 안 했어요" as success) and three of the five obstacles as
    neutral or success ("만족도가 떨어졌어요", "줄지 않아요", "흐지부지 없어졌어요")."""
    assert codebook_sign(text) == sign, markers(text)


def test_a_counterfactuals_negators_are_no_lack() -> None:
    """In "…없었으면 …못 했을 거예요" the negators describe the unreal world: the polarity model
    must not see them as a lack (the rule score already turns the sentence round)."""
    m = markers("그 조례가 없었으면 지원 자체를 못 했을 거예요.")
    assert m.get("counterfactual") and not m.get("negation") and not m.get("absence")
    m = markers("그해엔 지원할 조례가 없어서 못 했어요.")
    assert not m.get("counterfactual") and m.get("negation") and m.get("absence")


@pytest.mark.parametrize(
    ("text", "sign"),
    [
        # a hedge is the speaker's reticence; the main clause is the verdict
        ("구체적인 수치는 말씀드리기 어렵지만, 이용자가 꾸준히 늘었어요.", 1),
        ("딱 잘라 말하기는 어렵지만 분위기는 확실히 좋아졌어요.", 1),
        ("단정하긴 어렵지만 예전보다 훨씬 수월해졌어요.", 1),
        # difficulty words that describe the people served, not the case
        ("형편이 어려운 가구에 반찬을 배달해 드리는 서비스예요.", 0),
        ("거동이 어려운 어르신들은 전화로도 신청하세요.", 0),
        # a difficulty of the case itself stays an obstacle
        ("참여자를 모으기가 어려웠어요.", -1),
        ("예산이 어려운 상황이라 사업을 줄였어요.", -1),
        # a difficulty overcome: the story ends in the present
        ("처음엔 불편하다는 말이 많았는데 지금은 다들 편하다고 해요.", 1),
        ("초기엔 반응이 좋았는데 요즘은 불만이 많아요.", -1),
    ],
)
def test_hedges_people_and_overcome_difficulties(text: str, sign: int) -> None:
    assert codebook_sign(text) == sign, markers(text)


@pytest.mark.parametrize(
    ("text", "sign"),
    [
        # complaints that are heard out: the practice of listening, not the case's obstacle
        ("주민 불만을 듣고 바로 고쳤어요.", 0),
        ("어르신들이 어디서 헤매는지 직접 물어봤어요.", 0),
        ("게시판에 올라온 민원을 매주 모아서 검토해요.", 0),
        # complaints that are had stay an obstacle
        ("불만이 많았어요.", -1),
        ("민원을 하루에 수십 건씩 받았어요.", -1),
    ],
)
def test_complaints_heard_out(text: str, sign: int) -> None:
    assert codebook_sign(text) == sign, markers(text)


@pytest.mark.parametrize(
    ("text", "sign"),
    [
        # setbacks as speech tells them: an obstacle that happened
        ("사업 제안서를 들고 갔는데 번번이 퇴짜를 맞았어요.", -1),
        ("시의회에서 예산안이 반려됐거든요.", -1),
        ("입찰이 두 번이나 유찰돼서 개통이 반년 미뤄졌죠.", -1),
        ("처음엔 다들 관심이 많았는데 1년 지나니까 금방 시들해지더라고요.", -1),
        ("군수님 관심이 식으니까 예산도 같이 줄었어요.", -1),
        ("작년 폭설 때 서버가 다운돼서 진땀을 뺐어요.", -1),
        ("업체 선정이 계속 보류되면서 사업이 표류했죠.", -1),
        ("협약 직전에 얘기가 틀어져서 결국 엎어졌어요.", -1),
        ("상인회가 참여를 거절했어요.", -1),
        ("처음 해 보는 일이라 초반에 엄청 혼났어요.", -1),
        ("읍장님이 바뀌고 나서는 관심이 좀 덜하시더라고요.", -1),
        ("데이터 표준화가 아직 숙제예요.", -1),
        # denied, they are a success like any cue; -어 before an auxiliary keeps the negation in reach
        ("일정이 한 번도 미뤄지지 않았어요.", 1),
        ("협상이 틀어지진 않았어요.", 1),
        ("길이 막혀 있지 않아요.", 1),
        # 안 / 못 right before the cue negates it as -지 않다 after it does
        ("예산은 안 흔들렸어요.", 1),
        ("화면이 안 깨져요.", 1),
        # a service that fails its users, and one that did not
        ("모바일에서 화면이 자주 깨져요.", -1),
        ("로그인하면 자꾸 튕겨요.", -1),
        ("사람이 몰리면 앱이 버벅거려요.", -1),
        ("처음엔 접속이 너무 느렸어요.", -1),
        ("태풍 때 시스템이 멈췄어요.", -1),
        ("접속자가 많았는데도 한 번도 안 멈췄어요.", 1),
        # a burden that became less is good news
        ("수수료 부담이 훨씬 덜해졌죠.", 1),
    ],
)
def test_setbacks_of_speech(text: str, sign: int) -> None:
    assert rule_sign(text) == sign, markers(text)


@pytest.mark.parametrize(
    ("text", "sign"),
    [
        # people with the difficulty, whose existence the clause denies: nobody had it
        ("어려워하는 분은 거의 없어요.", 1),
        ("불편해하는 어르신은 한 분도 없으셨어요.", 1),
        ("헷갈려하는 분이 없었어요.", 1),
        ("걱정하는 직원은 없었어요.", 1),
        # many of them, or not none of them, is the difficulty; a plain description says nothing
        ("어려워하는 분들이 많아요.", -1),
        ("어려워하시는 분들이 없지는 않았어요.", -1),
        ("힘든 어르신들을 돕는 서비스예요.", 0),
    ],
)
def test_nobody_with_the_difficulty(text: str, sign: int) -> None:
    assert rule_sign(text) == sign, markers(text)


@pytest.mark.parametrize(
    ("text", "sign"),
    [
        # figures that fall are bad news …
        ("작년에는 80건 정도로 확 줄었어요.", -1),
        ("가입자가 많이 줄었어요.", -1),
        ("이용자가 절반으로 줄었어요.", -1),
        # … unless what falls is a burden, a cost in time, inquiries to answer or a gap
        ("불만이 많이 줄었어요.", 1),
        ("처리 기간이 열흘에서 사흘로 줄었어요.", 1),
        ("처리 시간이 많이 줄어들었어요.", 1),
        ("문의 전화가 40퍼센트 가까이 줄었어요.", 1),
        ("지역 간 격차가 줄었어요.", 1),
        ("비용이 절반으로 줄었어요.", 1),
        # negation turns it round; 줄 as a queue is no fall
        ("가입자가 좀처럼 줄지 않아요.", 1),
        ("사람들이 줄을 서서 기다렸어요.", 0),
    ],
)
def test_figures_that_fall(text: str, sign: int) -> None:
    assert rule_sign(text) == sign, markers(text)


@pytest.mark.parametrize(
    ("text", "sign"),
    [
        # one person carrying the work: as the predicate, doing it all, or shouldering it
        ("운영은 사실상 저 혼자예요.", -1),
        ("그때는 팀장님 혼자였어요.", -1),
        ("주무관 혼자뿐이에요.", -1),
        ("민원 답변까지 혼자서 다 했어요.", -1),
        ("그 일을 혼자 떠안았죠.", -1),
        # a user who manages alone; people who live alone
        ("어르신들도 혼자서 신청하세요.", 0),
        ("혼자서도 다 할 수 있게 만들었어요.", 0),
        ("혼자 사는 어르신이 많아요.", 0),
    ],
)
def test_one_person_doing_the_job(text: str, sign: int) -> None:
    assert rule_sign(text) == sign, markers(text)


@pytest.mark.parametrize(
    ("text", "sign"),
    [
        # weakening, and being pushed down the list, are setbacks
        ("단체장 교체 이후에는 사업의 성장 동력이 약화된 상태이다.", -1),
        ("추진 동력이 많이 약해졌어요.", -1),
        ("바뀌고 나서는 솔직히 우선순위에서 좀 밀렸죠.", -1),
        ("시장님이 바뀌고 나서 사업이 뒷전으로 밀렸어요.", -1),
        # a barrier that weakens is relief; backing is no setback
        ("개인정보 규제가 약화되었다.", 1),
        ("시장님이 밀어주셔서 가능했어요.", 1),
    ],
)
def test_weakening_and_falling_down_the_list(text: str, sign: int) -> None:
    assert rule_sign(text) == sign, markers(text)
