"""Rule polarity: lack/negation/success cues scored per clause.

Korean puts negation after the predicate it negates ("활성화되지 못하는", "어려움이 없다"), and
contrastive connectives ("-으나", "-지만", "반면") separate clauses of opposite polarity
("필요성은 인지하고 있으나 … 한계를 보이는"). So a cue counts only within its clause, and a
negator later in the same clause flips it. A code's polarity is read from the clauses that
hold its evidence; the sentence score is the fallback. A story joined by result connectives
("…했더니", "…하고 나서", "결국") is evaluated by its result clause (`end_weighted`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from spacy.language import Language
from spacy.tokens import Doc

from kb.coding.rules import CueHit, CueMatcher
from kb.coding.spoken import BURDEN, COST_SUFFIXES

# Defaults; the codebook's `polarity_cues` are added to these (never replace them).
OBSTACLE_CUES = [
    "비판",
    "부족",
    "부족하다",
    "미흡",
    "미흡하다",
    "한계",
    "어렵다",
    "어려움",
    "장벽",
    "저조",
    "저조하다",
    "문제",
    "문제점",
    "제약",
    "규제",
    "곤란",
    "우려",
    "부재",
    "낮다",
    "취약",
    "취약하다",
    "미비",
    "미비하다",
    "불편",
    "불편하다",
    "불만",
    "갈등",
    "약점",
    "걸림돌",
    "애로",
    "난항",
    "소극적",
    "부담",
    "떨어지다",
    "꺼리다",
    "실패",
    "소외",
    "격차",
    "불균형",
    "과도하다",
    "필요하다",
    "필요",
    "요구되다",
    "요구",
    "시급하다",
    "어려워지다",
    "감소",
    "단절",
    "중단",
    "위협",
    "미약",
    "미약하다",
    "열악하다",
    "불충분",
    "불투명",
    "한정",
    "한정되다",
    "지연",
    "비효율",
    "낮은",
    "의존",
    "의존하다",
    # weakening (추진 동력이 약화된 상태이다, 관심이 약해졌어요): a decline word too, so a weakened
    # barrier reads as relief (규제가 약화되었다)
    "약하다",
    "약화",
    "약화되다",
]
SUCCESS_CUES = [
    "높다",
    "적극적",
    "적극",
    "활성화",
    "성공",
    "성공적",
    "향상",
    "향상되다",
    "우수",
    "우수하다",
    "강점",
    "효과",
    "효과적",
    "충분",
    "충분하다",
    "충분히",
    "확보",
    "확보되다",
    "원활",
    "원활하다",
    "만족",
    "긍정적",
    "기여",
    "기여하다",
    "증가",
    "증가하다",
    "성과",
    "활발",
    "활발하다",
    "편리",
    "편리하다",
    "편의",
    "개선되다",
    "뛰어나다",
    "선도",
    "혁신",
    "호응",
    "협조",
    "용이",
    "용이하다",
    "효율",
    "효율적",
    "강화",
    "강화되다",
    "발전",
    "구축되다",
    "달성",
    "확대",
    "확대되다",
    "신뢰",
    "수월하다",
    "좋다",
    "인기",
    "만족도",
    "공감",
]
NEGATION_CUES = ["않다", "못하다", "없다", "아니다", "안", "못", "없이"]
# Evaluative words of interview speech, read per clause like the cues above so that negation
# flips them ("걱정은 전혀 없었어요" → success, "쓰기가 쉽지 않았어요" → obstacle). Report prose
# rarely uses them; spoken answers carry their evaluation in them (coding guide §3, spoken style).
SPOKEN_OBSTACLE_CUES = [
    "걱정", "아쉽다", "아쉬움", "불만", "민원", "항의", "모자라다", "벅차다", "무산", "손해", "적자", "포기",
    "지치다", "막히다", "꺼리다", "헤매다", "시행착오", "혼란", "번거롭다", "까다롭다", "먹통", "반발",
    "시큰둥하다", "바닥나다", "그만두다", "떠나다", "깎이다",
    # litotes and continuity: 나쁘지 않았어요 (good), 없애지는 않았어요 / 안 흔들렸어요 (it lasted)
    "나쁘다", "없애다", "없어지다", "사라지다", "흔들리다", "무너지다",
    # setbacks as speech tells them: refused, sent back, postponed, stalled, fallen through, interest
    # that cooled, a hard time (번번이 퇴짜를 맞았어요, 개통이 반년 미뤄졌죠, 관심이 식었어요, 진땀을 뺐어요,
    # 그게 제일 큰 숙제였어요); negated they are a success like any cue (거절하는 데는 없었어요)
    "거절", "퇴짜", "반려", "유찰", "보류", "미루다", "지연", "표류", "좌초", "틀어지다", "엎어지다",
    "시들", "식다", "덜하다", "진땀", "혼나다", "숙제",
    # a service that fails its users (화면이 자주 깨져요, 자꾸 튕겨요, 앱이 버벅거려요, 접속이 느렸어요,
    # 시스템이 멈췄어요); not failing is a success (한 번도 안 멈췄어요)
    "깨지다", "튕기다", "버벅", "느리다", "멈추다",
    # pushed down the list (우선순위에서 밀렸죠, 뒷전으로 밀렸어요)
    "밀리다", "뒷전",
]  # fmt: skip
SPOKEN_SUCCESS_CUES = [
    "덕분", "좋아지다", "살아나다", "안착", "숨통", "든든하다", "반기다", "고맙다", "쏠쏠하다", "탄력",
    "편하다", "잘되다", "자리잡다", "밀어주다", "넉넉하다", "쉽다", "두 배",
    # relief and praise reported from users (한시름 놓았죠, 다행히, 칭찬을 많이 들어요)
    "한시름", "다행", "다행히", "안심", "홀가분하다", "칭찬", "인정받다", "보람", "뿌듯하다",
    # a worry that proved unfounded, a problem solved (걱정했는데 괜찮더라고요, 해결이 되더라고요)
    "괜찮다", "해결", "해결되다",
    # an objection that gave way (반대하셨는데 찾아가니까 받아들여 주셨어요, 설명하니까 납득하시더라고요)
    "받아들이다", "납득", "납득하다", "수긍", "수긍하다",
]  # fmt: skip
# Words of decline and disappearance: right after a cue of its clause they flip it, as a negator
# does ("불만이 많이 줄었어요", "포기하는 비율이 확 줄었어요", "걱정이 싹 사라졌어요" → success;
# "만족도가 떨어졌어요" → obstacle), and then do not count on their own. With no cue before them
# they keep their own reading (감소, 떨어지다, 없어지다 are obstacle cues).
DECLINE_CUES = [
    "줄다", "줄어들다", "감소", "감소하다", "없어지다", "사라지다", "해소", "해소되다", "떨어지다",
    "낮아지다", "덜다", "덜하다", "약화", "약화되다", "약해지다",
]  # fmt: skip
# 없이 flips a cue before it ("큰 문제 없이 돌아가요") but is no lack on its own ("별도 조직 없이").
FLIP_ONLY_NEGATORS = ("없이",)

# Connectives/adverbs that start a new clause (contrast or cause), plus sentence punctuation.
_CLAUSE_ENDINGS = ("나", "지만", "데", "데도", "면서도", "에도")
_CLAUSE_WORDS = {"반면", "그러나", "하지만", "다만", "그럼에도", "한편", "그런데", "반대로"}
# Sequential/result connectives: what follows is what came of what precedes (…넣었더니 민원이
# 없어졌어요, 조례를 만들고 나서 수월해졌어요, 앱부터 만들었다가 결국 전화로 돌아왔어요). A story
# told problem → fix → result ends on its evaluation (coding guide §3, end-weight).
_RESULT_ENDINGS = ("더니", "나서", "니까", "다가", "고서")
_RESULT_WORDS = {"결국", "그래서", "그러니까", "그러다", "그러다가", "덕분", "마침내", "드디어"}
# "지금은 / 이제는 / 요즘은" (the adverb as a topic): the present after a told past is where the
# story ended ("처음엔 다들 불편해했는데 지금은 편하다고 해요": the difficulty was overcome).
_NOW_WORDS = {"지금", "이제", "요즘"}
# A difficulty word that is the speaker's reticence, not the case's: "말씀드리기 어렵지만",
# "단정하기는 힘들지만" (a hedge before the verdict of the main clause, coding guide §3).
_HEDGE_VERBS = {
    "말씀", "드리다", "말", "말하다", "단정", "장담", "판단", "평가", "알다", "밝히다", "공개", "답",
    "대답", "확인", "비교", "따지다", "꼽다", "일반화",
}  # fmt: skip
# People (and households, shops) a difficulty word describes: "형편이 어려운 가구", "거동이 힘든
# 어르신들" are whom the platform serves, not an obstacle to it (coding guide §3).
_PEOPLE = {
    "어르신", "노인", "주민", "가구", "가정", "계층", "이웃", "분", "사람", "학생", "아이", "청년",
    "세대", "가게", "업체", "소상공인", "농가", "환자", "이용자", "시민", "취약계층", "노인층", "층",
}  # fmt: skip


@dataclass(frozen=True)
class PolarityResult:
    label: str  # success | obstacle | neutral
    confidence: float
    score: float  # > 0 success, < 0 obstacle
    cues: tuple[str, ...]


def clause_ids(doc: Doc) -> list[int]:
    """Clause number of every token: a new clause after a contrastive or sequential ending or at
    반면/그러나/결국/그래서."""
    return clause_split(doc)[0]


def clause_split(doc: Doc) -> tuple[list[int], set[int]]:
    """Clause ids (see `clause_ids`) and the clauses that a result connective opens."""
    ids, current, results = [], 0, set()
    for tok in doc:
        if tok.i and (tok.lemma_ in _CLAUSE_WORDS or tok.is_sent_start):
            current += 1
        elif tok.i and (tok.lemma_ in _RESULT_WORDS or now_topic(doc, tok.i)):
            current += ids[-1] == current  # not when an ending has just opened the clause
            results.add(current)
        ids.append(current)
        if "EC" in tok.tag_.split("+") and tok.text.endswith(_CLAUSE_ENDINGS + _RESULT_ENDINGS):
            current += 1
            if tok.text.endswith(_RESULT_ENDINGS):
                results.add(current)
    return ids, results


def now_topic(doc: Doc, i: int) -> bool:
    """지금은 / 이제는 / 요즘은: a present-time adverb marked as the topic (followed by 은/는)."""
    return doc[i].lemma_ in _NOW_WORDS and i + 1 < len(doc) and doc[i + 1].text in ("은", "는", "엔")


def hedge_or_people(doc: Doc, start: int, end: int) -> bool:
    """An obstacle cue that is a hedge ("말씀드리기 어렵지만") or describes people ("어려운 어르신들",
    "형편이 어려운 가구"): no obstacle of the case (coding guide §3)."""
    k = start - 1
    if k >= 0 and doc[k].tag_ == "JX":  # 말하기는 어렵지만
        k -= 1
    if k >= 1 and "ETN" in doc[k].tag_.split("+"):
        j = k - 1 - (k >= 2 and doc[k - 1].tag_.startswith("XSV"))  # 단정하기: the noun before 하다
        if doc[j].lemma_ in _HEDGE_VERBS:
            return True
    last = doc[end - 1]
    return last.tag_.endswith("ETM") and end < len(doc) and doc[end].lemma_ in _PEOPLE


def nobody_such(doc: Doc, h: CueHit, negs: list[CueHit], ids: list[int]) -> list[CueHit]:
    """The 없다 of "어려워하는 분은 거의 없어요" / "불편해하는 어르신은 한 분도 없으셨어요": an obstacle
    cue that describes people, whose existence the clause then denies – nobody had the difficulty, a
    success (kb.coding.spoken._nobody_such reads the same pattern for the spoken markers)."""
    end = h.token_end  # past the cue's own 하다 / -어 하다 (어려워하는, 불편해하는)
    while end < len(doc) and end < h.token_end + 3 and not doc[end - 1].tag_.endswith("ETM"):
        if doc[end].tag_.split("+")[0] not in ("XSV", "XSA", "VX", "ETM"):
            return []
        end += 1
    if not (doc[end - 1].tag_.endswith("ETM") and end < len(doc) and doc[end].lemma_ in _PEOPLE):
        return []
    return [
        n
        for n in negs
        if doc[n.token_start].lemma_ == "없다"
        and ids[n.token_start] == ids[h.token_start]
        and end < n.token_start <= end + 6
        and not linked(doc, end, n.token_start)
    ]


# Verbs of hearing users out: a complaint or difficulty that is their object ("민원을 모아서 봐요",
# "불만을 듣고 고쳤어요") or their embedded question ("어디서 막히는지 물어봐요") is the practice of
# listening, no obstacle of the case (coding guide §3).
_LISTEN = {
    "모으다", "듣다", "묻다", "물어보다", "수렴", "수렴하다", "청취", "청취하다", "반영", "반영하다",
    "살피다", "파악", "파악하다", "분석", "분석하다", "조사", "조사하다", "챙기다", "귀담아듣다",
}  # fmt: skip


def listened_to(doc: Doc, end: int, ids: list[int]) -> bool:
    """The cue ending at `end` is the object (을/를) or embedded question (-는지) of a verb of
    hearing users out, in its clause within six tokens."""
    if end >= len(doc):
        return False
    nxt = doc[end]
    head = doc[end - 1]
    obj = nxt.tag_ == "JKO" or head.tag_.split("+")[-1] == "JKO"
    asked = nxt.tag_ == "EC" and nxt.text.endswith("지") or head.text.endswith(("는지", "은지", "ㄴ지"))
    if not (obj or asked):
        return False
    stop = min(len(doc), end + 7)
    return any(doc[k].lemma_ in _LISTEN and ids[k] == ids[end - 1] for k in range(end, stop)) or (
        asked and any(doc[k].lemma_ in _LISTEN for k in range(end, stop))
    )


def end_weighted(scores: dict[int, float], results: set[int]) -> set[int]:
    """Clauses whose score the story's result overrides: when the last scored clause follows a
    result connective and disagrees in sign with earlier clauses, those earlier clauses are the
    setup ("처음엔 예산이 문제였는데, 조례를 만들고 나서 훨씬 수월해졌어요" is a success). A plain
    contrast (-지만, -나, 반면) is left to `concluding`: its clauses may be about different factors
    ("예산은 충분하나 인력이 부족하다"), each keeping its own polarity (coding guide §3)."""
    scored = sorted(c for c, v in scores.items() if v != 0.0)
    if len(scored) < 2:
        return set()
    last = scored[-1]
    if not any(scored[-2] < c <= last for c in results):
        return set()
    sign = scores[last] > 0
    return {c for c in scored[:-1] if (scores[c] > 0) != sign}


class PolarityRules:
    """Scores success (+) and obstacle (−) cues, flipped by a negator later in the same clause."""

    def __init__(self, nlp: Language, extra: Mapping[str, Iterable[str]] | None = None) -> None:
        extra = extra or {}
        cues = {
            "obstacle": sorted(set(OBSTACLE_CUES + SPOKEN_OBSTACLE_CUES) | set(extra.get("obstacle", []))),
            "success": sorted(set(SUCCESS_CUES + SPOKEN_SUCCESS_CUES) | set(extra.get("success", []))),
            "negation": sorted(set(NEGATION_CUES) | set(extra.get("negation", []))),
            "decline": DECLINE_CUES,
        }
        self.matcher = CueMatcher(nlp, cues)

    def hits(self, doc: Doc) -> list[CueHit]:
        return self.matcher(doc)

    def clause_scores(
        self, doc: Doc, hits: list[CueHit] | None = None
    ) -> tuple[list[int], dict[int, float], dict[int, list[str]]]:
        """Clause id per token, signed score per clause, and the cues that produced it."""
        hits = self.hits(doc) if hits is None else hits
        ids, results = clause_split(doc)
        scores: dict[int, float] = {}
        cues: dict[int, list[str]] = {}
        negs = [
            h
            for h in hits
            if h.key == "negation"
            and not no_choice(doc, h.token_start)
            and not denies_few(doc, h.token_start)
        ]
        flipped, spent = declined(doc, hits, ids)
        flipping: set[int] = set()  # negators that flipped a cue
        for h in hits:
            if h.key in ("negation", "decline") or h.token_start in spent:
                continue
            nobody = nobody_such(doc, h, negs, ids) if h.key == "obstacle" else []
            if nobody:  # "어려워하는 분은 거의 없어요": nobody had the difficulty
                flipping.update(n.token_start for n in nobody)
                scores[ids[h.token_start]] = scores.get(ids[h.token_start], 0.0) + 1.0
                cues.setdefault(ids[h.token_start], []).append(f"¬{h.cue}")
                continue
            if h.key == "obstacle" and (
                hedge_or_people(doc, h.token_start, h.token_end) or listened_to(doc, h.token_end, ids)
            ):
                cues.setdefault(ids[h.token_start], []).append(f"({h.cue})")  # shown, not scored
                continue
            if h.token_start in flipping:
                continue  # a negator the codebook also lists as a cue (않다, 못) that has flipped one
            clause = ids[h.token_start]
            if h.key == "success" and judged_by_modifier(doc, h, hits):
                cues.setdefault(clause, []).append(f"({h.cue})")  # "저조한 성과": the modifier judges it
                continue
            if h.key == "success" and (names_an_aim(doc, h.token_end) or wished(doc, h.token_start)):
                cues.setdefault(clause, []).append(f"→{h.cue}")  # shown, not scored
                continue
            sign = 1.0 if h.key == "success" else -1.0
            if h.key == "success" and (
                burden_grows(doc, h.token_start, ids) or much_burden(doc, h.token_end)
            ):
                sign = -1.0  # "운영 비용이 크게 증가했다": more of a burden
            if h.key == "success" and states_a_need(doc, h.token_end):
                sign = -1.0  # "개선되어야 한다": the improvement is missing now (coding guide §3, step 2)
                cues.setdefault(clause, []).append(f"{h.cue}→필요")
                scores[clause] = scores.get(clause, 0.0) + sign
                continue
            by = [
                n
                for n in negs
                if (
                    ids[n.token_start] == clause
                    and h.token_end <= n.token_start
                    and (n.token_start <= h.token_end + 4 or only(doc, n.token_start))  # N밖에 안: all of N
                    and n.token_start not in spent  # 없어지다's 없: the decline has flipped it
                    and not linked(doc, h.token_end - 1, n.token_start)
                )
                or (n.token_end == h.token_start and doc[n.token_start].tag_ == "MAG")  # 안 흔들렸어요
            ]
            negated = not comments_on_clause(doc, h.token_start) and bool(by)
            if negated:
                sign = -sign
                flipping.update(n.token_start for n in by)
            if h in flipped:
                sign = -sign
            scores[clause] = scores.get(clause, 0.0) + sign
            cues.setdefault(clause, []).append(
                ("¬" if negated else "") + ("↓" if h in flipped else "") + h.cue
            )
        # A bare negator ("예산이 없다", "참여하지 않는다") signals a lack in its clause.
        for n in negs:
            clause = ids[n.token_start]
            if clause not in cues and not only(doc, n.token_start) and n.cue not in FLIP_ONLY_NEGATORS:
                scores[clause] = scores.get(clause, 0.0) - 0.5
                cues.setdefault(clause, []).append(n.cue)
        for c in end_weighted(scores, results):
            del scores[c]  # the setup of a story whose result says otherwise (cues kept for display)
        return ids, scores, cues

    def score(
        self, doc: Doc, token_range: tuple[int, int] | None = None, focus: Iterable[int] = ()
    ) -> PolarityResult:
        """Polarity of a span (default: the doc), preferring the clauses of the `focus` tokens."""
        ids, scores, cues = self.clause_scores(doc)
        lo, hi = token_range or (0, len(doc))
        in_range = sorted({ids[i] for i in range(lo, hi)}) if hi > lo else []
        focus_clauses = sorted({ids[i] for i in focus if lo <= i < hi})
        chosen = [c for c in focus_clauses if c in scores] or [c for c in in_range if c in scores]
        chosen = concluding(chosen, scores)
        total = sum(scores[c] for c in chosen)
        used = tuple(cue for c in chosen for cue in cues.get(c, []))
        return to_result(total, used)


def declined(doc: Doc, hits: list[CueHit], ids: list[int]) -> tuple[set[CueHit], set[int]]:
    """Cues that a word of decline right after them flips ("민원이 줄었어요"), and the token
    positions of those decline words, which then count for nothing on their own (nor as negators:
    the 없 of 없어지다). A decline that names an aim flips nothing: "인력 부족을 해소하기 위해"
    states the shortage (coding guide §3)."""
    scored = [h for h in hits if h.key in ("success", "obstacle")]
    flipped: set[CueHit] = set()
    spent: set[int] = set()
    for d in (h for h in hits if h.key == "decline" and not names_an_aim(doc, h.token_end)):
        before = [
            h
            for h in scored
            if h.token_end <= d.token_start <= h.token_end + 6 and ids[h.token_start] == ids[d.token_start]
        ]
        if before:
            flipped.add(before[-1])
            spent.update(range(d.token_start, d.token_end))
    return flipped, spent


def linked(doc: Doc, lo: int, hi: int) -> bool:
    """A connective ending between a cue and a later negator puts the negator in the next
    predicate's scope ("불편해서 못 쓰겠다": the inconvenience is not denied); -지/-게/-기 (힘들지
    않았어요, 크게 안 했어요), also with a contracted topic particle (없어지진 않았어요, 쉽진
    않았어요), keep it in the cue's, and so does -어 before an auxiliary verb (미뤄지지 않았어요,
    막혀 있지 않아요): one predicate, not two."""
    return any(
        "EC" in doc[k].tag_.split("+")
        and not doc[k].text.endswith(("지", "게", "기", "진", "겐", "긴"))
        and not (k + 1 < len(doc) and doc[k + 1].tag_.startswith("VX"))
        for k in range(lo, hi)
    )


# Sentence adverbs that evaluate the whole clause stay outside a later negation's scope: "다행히 큰
# 탈은 없었어요" is relief (success), "아쉽게도 예산이 없었어요" a regret (obstacle).
_CLAUSE_ADVERBS = frozenset({"다행히", "불행히", "다행스럽게도", "아쉽게도", "안타깝게도", "고맙게도"})


def comments_on_clause(doc: Doc, i: int) -> bool:
    tok = doc[i]
    if tok.text in _CLAUSE_ADVERBS or tok.lemma_ in _CLAUSE_ADVERBS or tok.text.endswith("게도"):
        return True
    return i + 2 < len(doc) and doc[i + 1].text == "게" and doc[i + 2].text == "도"  # 아쉽+게+도


def no_choice(doc: Doc, i: int) -> bool:
    """없다 in -ㄹ 수밖에 없다 ("움직일 수밖에 없었죠": had no choice but to) negates nothing."""
    return i > 1 and doc[i].lemma_ == "없다" and doc[i - 1].text == "밖에" and doc[i - 2].text == "수"


_GROWTH = frozenset({"증가", "증가하다", "높아지다", "늘다", "늘어나다"})


def burden_grows(doc: Doc, i: int, ids: list[int]) -> bool:
    """A growth cue whose subject is a burden (비용, 민원, 피로감 … of kb.coding.spoken.BURDEN) in its
    clause: "비용이 증가했다" is no success."""
    if doc[i].lemma_ not in _GROWTH:
        return False
    return any(doc[k].lemma_ in BURDEN for k in range(max(0, i - 6), i) if ids[k] == ids[i])


_MUCH = frozenset({"높다", "많다", "크다"})


def much_burden(doc: Doc, end: int) -> bool:
    """높은/많은/큰 before a burden noun ("높은 배달료", "많은 비용", "큰 부담"): much of a burden."""
    if doc[end - 1].lemma_ not in _MUCH or end >= len(doc) or "ETM" not in doc[end].tag_.split("+"):
        return False
    run = []
    for tok in doc[end + 1 : end + 5]:
        if not tok.tag_.startswith("NN"):
            break
        run.append(tok.lemma_)
    return any(n in BURDEN for n in run) or (len(run) > 1 and run[-1] in COST_SUFFIXES)


def judged_by_modifier(doc: Doc, h: CueHit, hits: list[CueHit]) -> bool:
    """A success noun modified by an obstacle word ("저조한 성과", "미흡한 성과"): the modifier is the
    verdict, the noun only names what is judged."""
    before = h.token_start - 1
    if before < 0 or not doc[h.token_start].tag_.startswith("NN") or "ETM" not in doc[before].tag_.split("+"):
        return False
    return any(o.key == "obstacle" and o.token_end in (h.token_start, before) for o in hits)


_FEW = frozenset({"적다", "작다"})


def denies_few(doc: Doc, i: int) -> bool:
    """않 of 적지 않다 / 작지 않다 ("성과가 작지 않았다", litotes) denies the smallness, not a cue
    before it; kb.coding.spoken reads the whole as much of something."""
    return i > 1 and doc[i - 1].text == "지" and doc[i - 2].lemma_ in _FEW


def only(doc: Doc, i: int) -> bool:
    """The negator of N밖에 안/못/없다 ("only N") denies nothing; whether little of N is good news
    depends on N (kb.coding.spoken: scarce_burden / scarce_gain). It still flips a cue it follows
    (민원이 몇 건밖에 안 … → few complaints)."""
    return i > 0 and doc[i - 1].text == "밖에"


_AIM_LEMMA = "위하다"
_AIM_GAP = ("J", "XS", "ETN", "_SP", "SP")  # particles, 하다/화 suffixes, nominaliser -기


def names_an_aim(doc: Doc, end: int) -> bool:
    """A positive word directly followed by 위해 names an aim, not a state ("개선을 위해서",
    "활성화하기 위해"): the sentence says what is wanted, not that it happened (coding guide §3)."""
    for tok in doc[end : end + 4]:
        if tok.lemma_ == _AIM_LEMMA:
            return True
        if not tok.tag_.startswith(_AIM_GAP):
            return False
    return False


def wished(doc: Doc, start: int) -> bool:
    """좋다 as the predicate after -(으)면 is a wish ("예산이 더 있으면 좋겠어요", "고민했으면 좋겠다"):
    it says what is wanted, not that anything went well (coding guide §3), like an aim. Not a
    modifier ("많으면 좋은 점이 있다": a benefit)."""
    if start == 0 or doc[start].lemma_ != "좋다" or "ETM" in doc[start].tag_.split("+"):
        return False
    after = doc[start + 1] if start + 1 < len(doc) else None
    if after is not None and "ETM" in after.tag_.split("+"):
        return False
    before = doc[start - 1]
    return "EC" in before.tag_.split("+") and before.text.endswith("면")


def states_a_need(doc: Doc, end: int) -> bool:
    """A positive word in an obligation ("개선되어야 한다", "강화돼야 해요", "확보해야 합니다")
    states that the thing is still missing: a need, not an achievement."""
    for i in range(max(end - 1, 0), min(end + 3, len(doc))):
        tok = doc[i]
        if "EC" in tok.tag_.split("+") and tok.text.endswith("야"):  # -어야/-아야/-여야, 해야, 돼야
            nxt = doc[i + 1] if i + 1 < len(doc) else None
            return nxt is not None and nxt.lemma_ in ("하다", "되다")
        if i >= end and not tok.tag_.startswith(_AIM_GAP + ("EP",)):
            return False
    return False


def concluding(clauses: list[int], scores: dict[int, float]) -> list[int]:
    """The clauses whose scores decide: all of them, unless they disagree in sign, then the last
    scored one (coding guide §3, contrast: the clause the sentence ends on is its conclusion —
    "처음엔 넉넉했지만 나중엔 바닥났어요" is an obstacle)."""
    signed = [c for c in clauses if scores.get(c, 0.0) != 0.0]
    if any(scores[c] > 0 for c in signed) and any(scores[c] < 0 for c in signed):
        return [signed[-1]]
    return clauses


def to_result(total: float, used: tuple[str, ...] = ()) -> PolarityResult:
    if total > 0:
        label = "success"
    elif total < 0:
        label = "obstacle"
    else:
        label = "neutral"
    confidence = 0.5 if label == "neutral" and not used else min(0.95, 0.55 + 0.15 * abs(total))
    return PolarityResult(label, round(confidence, 3), total, used)
