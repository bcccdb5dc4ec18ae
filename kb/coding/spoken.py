"""Polarity markers of spoken Korean and of advice, read from Kiwi morphemes (not strings).

Interview speech carries its evaluation in endings, auxiliaries and evaluative verbs rather
than in the report's vocabulary (부족, 미흡): "잘 안 되더라고요", "제일 골치였죠", "간신히
유지했어요", "반토막 났어요", and rhetorical questions that deny ("…할 리가 있겠어요?").
Advice ("…해야 한다", "…하면 좋겠다", "…이 필요하다") is an obstacle when it is about the
case's own practice and a `recommendation` when it tells another actor what to do, so the
actor named as the sentence's topic/subject is read too.

`markers(tokens)` returns named counts; the coder uses them as polarity features, as tokens
of the polarity model and as a rule adjustment (`rule_score`).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from kb.text.morphs import get_kiwi

# evaluative words of speech (lemma as Kiwi's form of the head morpheme)
OBSTACLE_WORDS = frozenset(
    {
        "골치", "간신히", "겨우", "빠듯", "애먹", "힘들", "버겁", "반토막", "토막", "급감", "난감", "답답",
        "막막", "허덕", "엉망", "고생", "삐걱", "녹록", "하소연", "곤혹", "속앓이", "발목", "애로", "허탕",
        "줄어들", "쪼그라들", "바닥", "끊기", "흐지부지", "유명무실", "방치", "골칫거리", "손사래", "어렵",
        "원점", "도루묵", "물거품", "허사",
        # how people take it: adjectives of unease and their -어하다 verbs (어려워하세요, 힘들어하셨어요,
        # 헷갈려하셨고, 싫어하셨어요), which Kiwi reads as one verb or as the adjective + 어 하다
        # (번거롭다, 꺼리다 are cues of kb.coding.polarity already)
        "어려워하", "힘들어하", "싫", "싫어하", "헷갈리", "헷갈려하", "귀찮", "귀찮아하", "번거로워하",
        "낯설", "낯설어하", "두렵", "두려워하", "불안", "불안해하", "꺼려하", "불편해하", "곤란해하",
    }
)  # fmt: skip
# A difficulty word that is a hedge ("말씀드리기 어렵지만", "단정하긴 힘들지만": the speaker's
# reticence, the main clause is the verdict) or describes people ("형편이 어려운 가구", "힘든
# 어르신들": whom the platform serves) is no obstacle of the case (kb.coding.polarity likewise).
HEDGE_VERBS = frozenset(
    {
        "말씀", "드리", "말", "말하", "단정", "장담", "판단", "평가", "알", "밝히", "공개", "답", "대답",
        "확인", "비교", "따지", "꼽", "일반화",
    }
)  # fmt: skip
PEOPLE = frozenset(
    {
        "어르신", "노인", "주민", "가구", "가정", "계층", "이웃", "분", "사람", "학생", "아이", "청년",
        "세대", "가게", "업체", "소상공인", "농가", "환자", "이용자", "시민", "취약계층", "노인층", "층",
    }
)  # fmt: skip
AGAIN = frozenset({"다시", "또"})  # 다시 처음부터 / 처음부터 다시: back to square one
SUCCESS_WORDS = frozenset(
    {
        "순조", "수월", "뿌듯", "대박", "굴러가", "자리잡", "톡톡히", "든든", "호평", "입소문", "늘어나",
        "좋아하",
    }
)  # fmt: skip
HALVING = frozenset({"반토막", "절반", "반", "급감", "뚝", "반의반"})
DECLINE = frozenset({"줄", "줄어들", "떨어지", "감소", "나", "빠지", "내려가"})
OTHER_ACTORS = frozenset(
    {
        "공공", "정부", "중앙", "중앙정부", "국가", "부처", "행안부", "행정안전부", "지자체", "지방자치단체",
        "자치단체", "국회", "기관", "공공기관", "시청", "도청", "정책", "당국",
    }
)  # fmt: skip
ACTOR_COMPOUNDS = ("지방자치단체", "자치단체", "공공부문", "공공영역", "중앙부처")
OWN_ACTORS = frozenset({"저희", "우리", "제", "저"})
# figures that rise: good news unless what rises is a burden (비용이 두 배로 늘었어요 is an obstacle)
RISE = frozenset({"늘", "오르", "급증", "껑충", "치솟", "불어나"})
BURDEN = frozenset(
    {
        "비용", "부담", "민원", "적자", "업무", "업무량", "불만", "항의", "단가", "유지비", "교체비", "고장",
        "오류", "장애", "이탈", "공실", "빚", "부채", "수수료", "인건비", "물가", "대기", "사고", "결함",
        "포기", "이동비", "운영비", "개발비", "라이선스", "피로", "피로감", "피로도", "우려",
        # what users or sellers pay: a platform that charges none of it has an edge
        "이용료", "사용료", "가입비", "요금", "중개료", "입점비", "회비", "연회비", "월회비", "광고비",
    }
)  # fmt: skip
CHARGE_VERBS = frozenset({"받", "내", "물", "걷", "떼"})  # 수수료를 안 받다, 가입비를 안 내다
# a compound noun that ends in a cost suffix is a cost (유지보수비, 위탁운영비, 이용료); 비 alone is rain
COST_SUFFIXES = frozenset({"비", "료"})
# friction and setbacks of speech that kb.coding.polarity's cues do not list: an obstacle where they
# happened (마찰이 좀 있었죠, 일정에 차질이 생겼어요), a success where none was (큰 마찰은 없었어요,
# 잡음 없이 넘어갔어요: litotes)
TROUBLE = frozenset(
    {"마찰", "잡음", "충돌", "차질", "지장", "말썽", "진통", "난관", "혼선", "우여곡절", "탈"}
)
# a burden that grows (비용이 증가했어요, 피로감이 높아질 수 있다) is an obstacle; what else grows is left to
# the cues (관심이 높아지다 is read by 높다)
GROWING = frozenset({"높아지", "증가", "가중"})
# not few, not small (적지 않은 숫자예요, 작지 않은 성과): much of it – an obstacle only when it is a burden
FEW = frozenset({"적", "작"})
# a burden that falls or halves is good news (비용이 반으로 줄었어요, 민원이 급감했어요); so is a fall
# in what took time, in inquiries to answer or in a gap (처리 기간이 줄었어요, 문의 전화가 줄었어요,
# 격차가 줄었어요), while other figures that fall are bad news (가입자가 많이 줄었어요)
FALLING = frozenset({"줄어들", "급감", "쪼그라들"})
FALL_RELIEF = frozenset({"시간", "기간", "시일", "문의", "격차"})
# "only N" (N밖에 안/못 …, N밖에 없다) says there was little of something: an obstacle when it is a
# gain (가입자가 100명밖에 안 돼요), a success when it is a burden or what a result cost (민원이 몇
# 건밖에 안 들어왔어요, 두 달밖에 안 걸렸어요, 돈이 얼마밖에 안 들었어요)
TIME_COST = frozenset({"시간", "기간", "시일", "공기", "소요"})
COST_VERBS = frozenset({"걸리", "들", "소요"})  # 시간이 걸리다, 돈이 들다
# a comparison with before (예전에는 …었는데 지금은 …) reports a change; without a negative word after
# the "now", the change is an improvement (coding guide §3, spoken style)
BEFORE = frozenset({"전", "예전", "옛날", "과거", "처음", "원래", "기존", "초기", "초창기"})
NOW = frozenset({"지금", "이제", "요즘", "요새", "현재"})
WORSE = frozenset({"줄", "줄어들", "떨어지", "빠지", "내려가", "끊기", "떠나", "그만두", "멈추", "사라지"})
# performative advice: 말씀드리고 싶어요, 권하고 싶어요, 당부하고 싶어요
ADVISING = frozenset({"말씀", "드리", "권", "권하", "당부", "추천", "강조", "조언", "부탁"})
NEGATORS = frozenset({"안", "못"})
NEG_AUX = frozenset({"않", "못하", "없"})


@lru_cache(maxsize=20000)
def _tokens(text: str) -> tuple[tuple[str, str], ...]:
    return tuple((t.form, t.tag) for t in get_kiwi().tokenize(text))


def tokens(text: str) -> tuple[tuple[str, str], ...]:
    """(form, tag) morphemes of `text`, memoised."""
    return _tokens(text)


def _asks(toks: Sequence[tuple[str, str]], k: int) -> bool:
    """A question ends right here: pre-final endings (겠, 었), a final ending, then "?"."""
    while k < len(toks) and toks[k][1] == "EP":
        k += 1
    return k + 1 < len(toks) and toks[k][1] == "EF" and toks[k + 1][0] == "?"


def negated(toks: Sequence[tuple[str, str]], i: int) -> bool:
    """The predicate or noun at `i` is negated: 안/못 before it, or -지 않다/못하다, 없다 right after
    it (힘들지 않았어요, 고생은 없었어요, 늘지도 않아요), or a clause that says nobody is so
    (어려워하는 분은 거의 없어요)."""
    if i and toks[i - 1][1] == "MAG" and toks[i - 1][0] in NEGATORS:
        return True
    if _nobody_such(toks, i):
        return True
    for k, (form, tag) in enumerate(toks[i + 1 : i + 5], i + 1):
        if tag == "VX" and form in ("않", "못하"):
            return True
        if tag == "VA" and form == "없":
            return _none_is(toks, k)
        if not (
            tag.startswith(("J", "XS", "EP", "ETN"))
            or tag == "EC"
            and form.startswith(("지", "게", "기"))
            or _feel_verb(toks, k)  # 헷갈려하지 않아요: the -어 하다 of a verb of feeling
        ):
            return False
    return False


def _nobody_such(toks: Sequence[tuple[str, str]], i: int) -> bool:
    """The word at `i` describes people whose existence the clause denies: 어려워하는 분은 거의
    없어요, 불편해하는 어르신은 한 분도 없으셨어요 (nobody had the difficulty)."""
    k = i + 1
    while k < len(toks) and (toks[k][1].startswith(("XS", "VX")) or _feel_verb(toks, k)):
        k += 1
    if not (k + 1 < len(toks) and toks[k][1] == "ETM" and toks[k + 1][0] in PEOPLE):
        return False
    for j in range(k + 2, min(len(toks), k + 8)):
        form, tag = toks[j]
        if tag == "VA" and form == "없":
            return _none_is(toks, j)
        if not tag.startswith(("J", "MM", "NNB", "MAG")):
            return False
    return False


def _feel_verb(toks: Sequence[tuple[str, str]], k: int) -> bool:
    """Token `k` is the 어 or the 하 of adjective + 어 하다 (어려워하다, 헷갈려하다): how someone takes it."""
    if toks[k] == ("하", "VX"):
        return True
    return (
        toks[k][1] == "EC"
        and toks[k][0] in ("어", "아", "여")
        and tuple(toks[k + 1 : k + 2]) == (("하", "VX"),)
    )


def counterfactual(toks: Sequence[tuple[str, str]]) -> bool:
    """A past counterfactual: -었으면 … -었을 거예요/텐데 ("그 조례가 없었으면 못 했을 거예요",
    "예산이 더 있었으면 잘 됐을 텐데"). It evaluates an unreal world, so the real one is the opposite."""
    for k in range(1, len(toks)):
        if toks[k] in (("면", "EC"), ("으면", "EC")) and toks[k - 1] in (("었", "EP"), ("았", "EP")):
            rest = toks[k + 1 :]
            if any(
                rest[j][1] == "EP"
                and rest[j][0] in ("었", "았")
                and rest[j + 1][1] == "ETM"
                and rest[j + 2][0] in ("거", "것", "터")
                for j in range(len(rest) - 2)
            ):
                return True
    return False


def _scarce(toks: Sequence[tuple[str, str]], i: int) -> str | None:
    """ "burden" / "gain" when 밖에 at `i` is "only" (…밖에 안/못 …, …밖에 없다, …밖에 되지 않다):
    what is counted – the nouns of its clause before it, or a verb of cost after it – decides."""
    after = toks[i + 1 : i + 6]
    if not after or i and toks[i - 1] == ("수", "NNB"):  # -ㄹ 수밖에 없다: no choice, not "only"
        return None
    only = after[0][1] == "MAG" and after[0][0] in NEGATORS or after[0] == ("없", "VA")
    only = only or any(t == "VX" and f in ("않", "못하") for f, t in after[1:])
    if not only:
        return None
    nouns = []
    for form, tag in reversed(toks[max(0, i - 8) : i]):
        if tag in ("EC", "SF") or tag == "SP" and form == ",":
            break
        if tag.startswith("NN"):
            nouns.append(form)
    pred = next((f for f, t in after if t.startswith(("VV", "VA")) or t == "XSV"), "")
    burden = any(n in BURDEN or n in TIME_COST for n in nouns) or pred in COST_VERBS
    return "burden" if burden else "gain"


def _burden_before(toks: Sequence[tuple[str, str]], i: int, nouns: frozenset[str] = BURDEN) -> bool:
    """A burden noun (비용, 민원, 포기 …; or one of `nouns`) in the clause before `i` (back to a
    connective ending; the adverbial -게 of 크게, 많이 is none)."""
    for form, tag in reversed(toks[max(0, i - 8) : i]):
        if tag == "SF" or tag == "EC" and form != "게":
            return False
        if tag.startswith("NN") and form in nouns:
            return True
    return False


def _fall_is_relief(toks: Sequence[tuple[str, str]], i: int) -> bool:
    """What falls at `i` is a burden, a cost in time, inquiries or a gap: its fall is good news."""
    return _burden_before(toks, i) or _burden_before(toks, i, FALL_RELIEF)


def _none_is(toks: Sequence[tuple[str, str]], k: int) -> bool:
    """The 없다 at `k` says there is none, not that something vanished (없어지다 flips as a decline)."""
    return tuple(toks[k + 1 : k + 3]) != (("어", "EC"), ("지", "VX"))


def hedge_or_people(toks: Sequence[tuple[str, str]], i: int) -> bool:
    """The difficulty word at i is a hedge (V-기(는) 어렵다 with a verb of saying or judging), a
    concession (힘들긴 했는데) or describes people (어려운/힘든 + a person or household noun)."""
    k = i - 1
    if k >= 0 and toks[k][1] == "JX":
        k -= 1
    if k >= 1 and toks[k][1] == "ETN":
        j = k - 1 - (k >= 2 and toks[k - 1][1].startswith("XSV"))
        if toks[j][0] in HEDGE_VERBS:
            return True
    if _conceded(toks, i):
        return True
    if toks[i][1] == "VV" and toks[i][0].endswith("하"):  # 어려워하는 분들: how they take the service
        return False
    return i + 2 < len(toks) and toks[i + 1][1] == "ETM" and toks[i + 2][0] in PEOPLE


CARRY_ALONE = frozenset({"떠안", "도맡", "감당", "짊어지", "버티"})


def _alone_at_work(toks: Sequence[tuple[str, str]], i: int) -> bool:
    """혼자 at `i` says one person carries the work: as the predicate (저 혼자예요, 주무관 혼자뿐이에요)
    or before doing it all or carrying it (혼자서 다 했어요, 혼자 떠안았죠). Not a user who manages
    alone (어르신도 혼자서 신청하세요) nor people living alone (혼자 사는 어르신)."""
    k = i + 1
    while k < len(toks) and toks[k][0] in ("서", "뿐", "만") and toks[k][1].startswith("J"):
        k += 1
    if k < len(toks) and toks[k][1] == "VCP":
        return True
    ahead = toks[k : k + 3]
    everything = bool(ahead) and ahead[0] == ("다", "MAG") and len(ahead) > 1 and ahead[1][1] in ("VV", "XSV")
    return everything or any(f in CARRY_ALONE for f, _ in ahead)


TIME_UNITS = frozenset({"달", "년", "개월", "주", "주일", "시간", "일", "해", "반년", "분기", "며칠", "날"})


def _took_long(toks: Sequence[tuple[str, str]], i: int) -> bool:
    """Before the 걸리다 at `i`, in its clause: a span of time stressed as long – …데만 (it took that
    just to …) or a time unit + (이)나 (석 달이나)."""
    before = toks[max(0, i - 7) : i]
    if not any(f in TIME_UNITS and t.startswith("NN") for f, t in before):
        return False
    for k, (form, tag) in enumerate(before):
        if tag == "JX" and form == "만" and k and before[k - 1][0] == "데":
            return True
        if tag == "JX" and form in ("나", "이나") and k and before[k - 1][0] in TIME_UNITS:
            return True
    return False


def _conceded(toks: Sequence[tuple[str, str]], i: int) -> bool:
    """V-기는 하다 (번거롭긴 한데, 힘들기는 했지만): a difficulty conceded before the verdict that
    follows it (coding guide §3, end-weight)."""
    rest = tuple(toks[i + 1 : i + 4])
    return (
        len(rest) == 3
        and rest[0] == ("기", "ETN")
        and rest[1][0] in ("\u11ab", "ㄴ", "는")
        and rest[2][0] == "하"
    )


def _absent(toks: Sequence[tuple[str, str]], i: int) -> bool:
    """The noun at `i` is said to be absent: 없다 after its particles and adverbs (비용이 따로
    없어요, 민원은 거의 없었어요), not charged (수수료를 안 받아요) or negated as `negated` reads it."""
    for k in range(i + 1, min(i + 5, len(toks))):
        form, tag = toks[k]
        if tag == "VA" and form == "없":
            return _none_is(toks, k)
        if tag == "MAG" and form == "없이":  # 큰 잡음 없이, 비용 부담 없이
            return True
        if tag == "MAG" and form in NEGATORS and k + 1 < len(toks):
            # 수수료를 안 받아요: none charged by choice (못 받아요 is revenue that fails); 비용이 안 들어요
            verbs = CHARGE_VERBS | {"들", "듣"}  # Kiwi reads 안 들어요 (costs nothing) as 듣-I too
            return form == "안" and toks[k + 1][1].startswith("VV") and toks[k + 1][0] in verbs
        if not (tag.startswith("J") or tag == "MAG"):
            break
    return negated(toks, i)


def _comparison(toks: Sequence[tuple[str, str]]) -> str | None:
    """ "better" / "worse" for a before/now comparison (예전엔 … 했는데 지금은 …), else None."""
    forms = [f for f, _ in toks]
    tags = [t for _, t in toks]

    def topic(k: int) -> bool:  # 예전에는, 처음엔, 지금은, 이제는
        rest = forms[k + 1 : k + 3]
        return bool(rest) and (
            tags[k + 1] == "JX" or rest[0] == "에" and len(rest) > 1 and tags[k + 2] == "JX"
        )

    before = next((k for k, f in enumerate(forms) if f in BEFORE and tags[k] == "NNG" and topic(k)), None)
    if before is None:
        return None
    now = next(
        (k for k in range(before + 1, len(forms)) if forms[k] in NOW and (topic(k) or forms[k] == "이제")),
        None,
    )
    if now is None:
        return None
    tail = toks[now + 1 :]
    bad = any(
        t == "MAG" and f in NEGATORS or t == "VX" and f in NEG_AUX or t == "VA" and f == "없" for f, t in tail
    ) or any(f in OBSTACLE_WORDS or f in WORSE or f in HALVING for f, _ in tail)
    return "worse" if bad else "better"


def markers(text: str) -> dict[str, float]:
    """Named morpheme-pattern counts (absent = 0) for one sentence."""
    toks = tokens(text)
    forms = [f for f, _ in toks]
    tags = [t for _, t in toks]
    out: dict[str, float] = {}

    where: dict[str, list[int]] = {}
    pos = 0

    def add(name: str, n: float = 1.0) -> None:
        out[name] = out.get(name, 0.0) + n
        where.setdefault(name, []).append(pos)

    n = len(toks)
    told: set[int] = set()  # where the speaker gives advice by saying so (말씀드리고 싶다, …라고 하고 싶다)
    question = "?" in forms
    for i, (form, tag) in enumerate(toks):
        pos = i
        nxt = toks[i + 1] if i + 1 < n else ("", "")
        nxt2 = toks[i + 2] if i + 2 < n else ("", "")
        # obligation: -어야/아야 + 하다/되다 (…해야 한다, …돼야 해요)
        if (
            tag == "EC"
            and form in ("어야", "아야", "여야")
            and nxt[0] in ("하", "되")
            and nxt[1].startswith("V")
        ):
            add("advice")
        # wish: -(으)면 + 좋다 (+겠) (…하면 좋겠어요, 했으면 좋겠다)
        if tag == "EC" and form in ("면", "으면") and nxt == ("좋", "VA"):
            add("advice")
        # suggestion: …는 것이 좋다/바람직하다/맞다 (…하시는 게 더 좋을 거예요, …두는 게 맞다고 봐요)
        if (
            form == "것"
            and tag == "NNB"
            and nxt[0] == "이"
            and any(
                f in ("좋", "바람직하", "낫", "바람직") or f == "맞" and i and tags[i - 1] == "ETM"
                for f, _ in toks[i + 2 : i + 5]
            )
        ):
            add("advice")
        # prohibition: -지 말다 (…하지 마세요, …만들지 말고); a reported one (…하지 말라고 하더라고요)
        # is advice only when the speaker gives it (…하지 말라고 말씀드리고 싶어요)
        if form == "말" and tag == "VX" and i and forms[i - 1] == "지":
            quoted = nxt[0].startswith(("라고", "라는", "래", "란"))
            if not quoted or any(f in ("싶", "드리") for f, _ in toks[i + 1 : i + 6]):
                add("advice")
        # performative advice: 말씀드리고 싶다, 권하고 싶다, 당부하고 싶다
        if form == "싶" and tag == "VX" and any(f in ADVISING for f, _ in toks[max(0, i - 4) : i]):
            add("advice")
            told.add(i)
        # a quoted imperative the speaker wants to pass on: …만드시라고 하고 싶어요, …하라고 전하고 싶다
        # (not a name: "혁신이라고 하고 싶어요" quotes a noun, 이 + 라고)
        elif form == "싶" and tag == "VX" and _tells_to(toks[max(0, i - 5) : i]):
            add("advice")
            told.add(i)
        # need: 필요/요구/시급 (+하다/되다), 바람직
        if tag.startswith("NN") and form in ("필요", "요구", "시급", "바람직", "제언", "권고", "선행"):
            add("need")
        if form == "바람직" and tag == "XR":
            add("need")
        # rhetorical denial: -ㄹ 리(가) 있/없 (…할 리가 있겠어요)
        if form == "리" and tag == "NNB" and i and tags[i - 1] == "ETM":
            add("rhetorical")
        # rhetorical question with 겠/나 + ? (어떻게 …하겠어요?, 누가 쓰겠어요?)
        if (
            tag == "EP"
            and form == "겠"
            and question
            and any(f in ("어떻", "누구", "누", "뭐", "왜") for f in forms)
        ):
            add("rhetorical")
        # the same past conjecture without its question mark, as transcripts often write it (그동안
        # 뭐 할 수 있는 게 있었겠어요., 누가 그걸 알았겠어요): a question word that is not the opening filler
        if (
            tag == "EP"
            and form == "겠"
            and not question
            and i
            and toks[i - 1] in (("었", "EP"), ("았", "EP"))
            and nxt[1] == "EF"
            and nxt[0] in ("어요", "어", "나요", "습니까", "냐")
            and any(f in ("뭐", "누구", "누", "어떻", "왜", "무슨") for f in forms[1:i])
        ):
            add("rhetorical")
        # rhetorical "where is there …?" denies existence (그런 돈이 어디 있어요? → there is none)
        if form == "어디" and any(forms[k] == "있" and _asks(toks, k + 1) for k in range(i + 1, n)):
            add("rhetorical")
        # negation: 안/못 + predicate, -지 않다/못하다, 없다
        if tag == "MAG" and form in NEGATORS:
            add("negation")
            if i and forms[i - 1] == "잘":
                add("not_well")  # 잘 안 되다, 잘 못 하다
        if tag == "VX" and form in NEG_AUX:
            add("negation")
        if tag == "VA" and form == "없" and not (i and forms[i - 1] == "밖에"):
            add("absence")  # not -ㄹ 수밖에 없다 (had no choice but to) nor N밖에 없다 (only N: _scarce)
        # evaluative words of speech; negation flips them (힘들지 않았어요, 순조롭지 않았어요)
        if (
            form in OBSTACLE_WORDS
            and tag.startswith(("NN", "MAG", "VV", "VA", "XR"))
            and not hedge_or_people(toks, i)
        ):
            bad = not negated(toks, i)
            if form in FALLING and _fall_is_relief(toks, i):
                bad = not bad  # 민원이 급감했어요
            add("spoken_obstacle" if bad else "spoken_success")
        if form == "줄" and tag.startswith("VV"):  # 줄다, not 줄 (a line, 줄을 서다)
            bad = negated(toks, i) == _fall_is_relief(toks, i)  # bad unless a burden falls; 않다 turns it
            add("spoken_obstacle" if bad else "spoken_success")
        if form in SUCCESS_WORDS:
            add("spoken_obstacle" if negated(toks, i) else "spoken_success")
        # a wait told as long: …하는 데만 석 달 걸렸어요, 승인까지 반년이나 걸렸어요
        if form == "걸리" and tag.startswith("VV") and not negated(toks, i) and _took_long(toks, i):
            add("spoken_obstacle")
        if form == "혼자" and _alone_at_work(toks, i):
            add("spoken_obstacle")
        # starting over (담당자가 바뀌면 다시 처음부터예요, 처음부터 다시 설명해야 돼요): a setback
        if form == "처음" and nxt[0] == "부터" and ((i and forms[i - 1] in AGAIN) or nxt2[0] in AGAIN):
            add("spoken_obstacle")
        # rising figures (두 배로 늘었어요, 껑충 뛰었어요): success, an obstacle when a burden rises
        if form in RISE and (tag.startswith(("VV", "NNG")) or form == "껑충"):  # not 늘/MAG (always)
            good = not any(f in BURDEN for f in forms[:i])
            if negated(toks, i) or form == "껑충" and negated(toks, i + 1):
                good = not good  # 좀처럼 늘지 않아요
            add("rising_good" if good else "rising_bad")
        if (
            form in GROWING
            and tag.startswith(("VV", "NNG"))
            and _burden_before(toks, i)
            and not negated(toks, i)
        ):
            add("rising_bad")
        if form in FEW and tag == "VA" and negated(toks, i):
            add("spoken_obstacle" if _burden_before(toks, i) else "spoken_success")
        if (
            form == "잘"
            and tag == "MAG"
            and nxt[0] not in NEGATORS
            and nxt[0] != "모르"  # 잘 모르겠어요: not knowing, no evaluation
            and nxt[1].startswith(("VV", "XSV", "NNG"))
        ):
            add("well")
        # figures that halve or collapse: 반토막, 절반으로 줄다, 뚝 떨어지다
        if form in HALVING and (nxt[0] in DECLINE or nxt2[0] in DECLINE or form in ("반토막", "급감", "뚝")):
            add("burden_down" if _burden_before(toks, i) else "halving")  # 비용이 반 가까이 줄었어요
        # a burden that is absent (라이선스 비용이 없으니까요, 민원은 거의 없었어요, 유지보수비도 안 들고요)
        cost = form in COST_SUFFIXES and i > 0 and tags[i - 1].startswith("NN")
        if (
            tag.startswith("NN")
            and (form in BURDEN or cost)
            and not nxt[1].startswith("NN")
            and _absent(toks, i)
        ):
            add("burden_absent")
        if tag.startswith("NN") and form in TROUBLE and not nxt[1].startswith("NN"):
            add("burden_absent" if _absent(toks, i) else "spoken_obstacle")
        # who acts: another actor as topic/subject (a noun run such as 지방+자치+단체, 공공+부문,
        # then 은/는/이/가/도 or 에서) vs the speaker's own organisation
        if tag.startswith("NN") and not nxt[1].startswith("NN"):
            run = [forms[k] for k in range(max(0, i - 3), i + 1) if tags[k].startswith("NN")]
            actor = bool(set(run) & OTHER_ACTORS) or any(a in "".join(run) for a in ACTOR_COMPOUNDS)
            marked = (
                nxt[0] in ("은", "는", "이", "가", "도") and nxt[1] in ("JX", "JKS") or nxt == ("에서", "JKB")
            )
            start = i - len(run) + 1
            mine = start > 0 and tags[start - 1] == "NP" and forms[start - 1] in OWN_ACTORS  # 저희 시청도
            if actor and marked:
                add("own_actor" if mine else "other_actor")
        if tag == "NP" and form in OWN_ACTORS:
            add("own_actor")
        if form == "밖에" and tag == "JX" and (few := _scarce(toks, i)):
            add("scarce_burden" if few == "burden" else "scarce_gain")
        if tag == "EF" and form.startswith(("더라", "더라고", "던데")):
            add("retrospective")
    pos = n
    change = _comparison(toks)
    if change:
        add("improved" if change == "better" else "worsened")
    if counterfactual(toks):
        add("counterfactual")
        # its negators belong to the unreal world ("그게 없었으면 못 했을 거예요"): no lack of the real one
        out.pop("negation", None)
        out.pop("absence", None)
    if out.get("advice") or out.get("need"):
        # the actor named nearest before the (first) advice decides whom it addresses
        at = min(where.get("advice", []) + where.get("need", []))
        actors = [(k, "other") for k in where.get("other_actor", []) if k <= at]
        # "저는 …라고 말씀드리고 싶어요": the one who tells is no actor of the advice
        own = [k for k in where.get("own_actor", []) if not (at in told and forms[k] in ("저", "제"))]
        actors += [(k, "own") for k in own if k <= at]
        if not actors:  # none before it: any actor in the sentence
            actors = [(k, "other") for k in where.get("other_actor", [])]
            actors += [(k, "own") for k in own]
            actors = [a for a in actors if not any(b[1] != a[1] for b in actors)]
        # no actor: advice told to someone (말씀드리고 싶어요) addresses them, any other is the speaker's own
        alone = "other" if at in told else "own"
        nearest = max(actors)[1] if actors and at >= max(actors)[0] else (actors[0][1] if actors else alone)
        add("advice_other" if nearest == "other" else "advice_own")
    return out


MARKER_NAMES = (
    "advice", "need", "rhetorical", "negation", "not_well", "absence", "spoken_obstacle", "spoken_success",
    "well", "halving", "other_actor", "own_actor", "retrospective", "advice_other", "advice_own",
)  # fmt: skip


def marker_vector(text: str) -> list[float]:
    m = markers(text)
    return [min(m.get(k, 0.0), 3.0) for k in MARKER_NAMES]


def rule_score(m: dict[str, Any]) -> float:
    """Signed adjustment to the clause-rule polarity score (< 0: obstacle) from spoken markers."""
    score = -1.0 * m.get("spoken_obstacle", 0) - 1.0 * m.get("not_well", 0) - 1.0 * m.get("halving", 0)
    score -= 1.0 * m.get("rhetorical", 0)
    score += 1.0 * m.get("spoken_success", 0) + 0.5 * m.get("well", 0)
    score += 1.0 * m.get("rising_good", 0) - 1.0 * m.get("rising_bad", 0)
    score += 0.5 * m.get("improved", 0) - 0.5 * m.get("worsened", 0)
    score += 1.0 * m.get("scarce_burden", 0) - 1.0 * m.get("scarce_gain", 0)
    score += 1.0 * m.get("burden_down", 0) + 1.0 * m.get("burden_absent", 0)
    return float(score)


def is_recommendation(m: dict[str, Any], group: str | None = None) -> bool:
    """Advice or need whose actor is someone other than the speaker's organisation.

    A private firm's advice that names no actor (…부터 시작해서 점진적으로 확대해 나가야 한다) is
    addressed to the public sector it was asked about; a public case's actorless need is its own
    (coding guide §3), so `group` decides those."""
    if m.get("advice_other"):
        return True
    return group == "private" and bool(m.get("advice_own")) and not m.get("own_actor")


def is_own_need(m: dict[str, Any]) -> bool:
    """Advice or need the speaker places in their own organisation (저희/우리 … 있어야 하는데)."""
    return bool(m.get("advice_own")) and bool(m.get("own_actor")) and not m.get("advice_other")


def _tells_to(toks: Sequence[tuple[str, str]]) -> bool:
    """A verb's quoting ending (…시라고, …라고) then a verb of saying: an imperative passed on."""
    for j in range(1, len(toks)):
        form, tag = toks[j]
        quoting = (tag == "EC" and form in ("라고", "으라고")) or (
            tag == "EF" and form in ("라", "으라") and list(toks[j + 1 : j + 2]) == [("고", "JKQ")]
        )
        # the verb quoted, past an honorific 시 (만드시라고); a prohibition (…지 마시라고) has its own rule
        stem = toks[j - 2] if j >= 2 and toks[j - 1] == ("시", "EP") else toks[j - 1]
        verb = stem[1].startswith(("VV", "VX")) and stem[0] != "말"
        if quoting and verb:
            return any(f in ("하", "말하", "얘기하", "전하", "이야기하") for f, _ in toks[j + 1 :])
    return False


def marker_tokens(text: str) -> list[str]:
    return [f"SP:{k}" for k, v in markers(text).items() for _ in range(int(min(v, 2)))]


def substantive(text: str, lemmas: Sequence[str]) -> bool:
    """Worth a code at all: enough content words (not a backchannel like "네, 맞아요")."""
    return len(lemmas) >= 3 and len(text) >= 12
