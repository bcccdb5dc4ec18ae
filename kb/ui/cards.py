"""A passage card: highlighted text, factor chips, citation, evidence and neighbouring passages.

Used by the search, matrix and case pages so a passage looks the same everywhere.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from kb.records import ADDED_PREFIX
from kb.ui import components as ui
from kb.ui.state import Resources

REVIEW_PAGE = "kb/ui/review_page.py"


def sentence_marks(
    res: Resources, pid: str, text: str, codes: list[dict[str, Any]]
) -> list[tuple[int, int, str]]:
    """(start, end, polarity) of the sentences that carry an effective code, in passage offsets."""
    effective = {c["category"]: c for c in codes}
    marks = []
    for start, end, sent_codes in res.coded_sentences(pid):
        carried = [c for c in sent_codes if c.get("category") in effective]
        if not carried:
            continue
        best = max(carried, key=lambda c: float(c.get("confidence") or 0))
        eff = effective[best["category"]]
        pol = best.get("polarity") or eff["polarity"]
        if eff.get("source") == "human" and pol not in eff.get("also", {}):
            pol = eff["polarity"]  # the reviewer's reading, except a direction the code keeps
        marks.append((start, end, pol))
    return marks


def _carrying(res: Resources, pid: str, category: str) -> list[tuple[int, int, list[dict[str, Any]]]]:
    """(start, end, the sentence's codes of `category`) of the sentences coded with it, in text order."""
    found = []
    for start, end, codes in res.coded_sentences(pid):
        mine = [c for c in codes if c.get("category") == category]
        if mine:
            found.append((start, end, mine))
    return found


def carrying_sentences(
    res: Resources, pid: str, text: str, category: str, most: int | None = None
) -> list[str]:
    """The sentences coded with `category`, in text order; with `most`, only that many, the most
    confident (a card listing all ten sentences of a long answer shows no evidence at a glance)."""
    found = [
        (start, end, max(float(c.get("confidence") or 0) for c in codes))
        for start, end, codes in _carrying(res, pid, category)
    ]
    if most is not None:
        found = sorted(sorted(found, key=lambda x: -x[2])[:most])
    return [text[start:end] for start, end, _ in found]


# The spoken-Korean patterns the polarity rules read (kb.coding.spoken.markers), as a coder names them.
SPOKEN_CUES = {
    "absence": "없음·부재", "advice": "제언 (…해야)", "advice_other": "다른 주체에 대한 제언",
    "burden_absent": "부담 없음", "burden_down": "부담 감소", "counterfactual": "가정 (…했더라면)",
    "improved": "개선됨", "need": "필요", "negation": "부정", "not_well": "잘 안 됨",
    "own_actor": "자기 조직", "other_actor": "다른 주체", "retrospective": "회고",
    "rhetorical": "반어 의문", "rising_good": "좋은 쪽으로 증가", "rising_bad": "부담 증가",
    "scarce_burden": "부족·부담",
    "spoken_obstacle": "구어 장애 표현", "well": "잘 됨",
}  # fmt: skip


def cue_label(cue: Any) -> str:
    """A cue as the card shows it: spoken patterns ("SP:negation") by their Korean name."""
    text = str(cue)
    if text.startswith("SP:"):
        return "구어 " + SPOKEN_CUES.get(text[3:], text[3:])
    return text


def _evidence_line(ev: Any) -> str:
    if isinstance(ev, dict):
        parts = []
        if ev.get("cues"):
            parts.append("단서어 cues: " + ", ".join(map(cue_label, ev["cues"][:8])))
        if ev.get("polarity_cues"):
            parts.append("극성 단서: " + ", ".join(map(cue_label, ev["polarity_cues"][:6])))
        if ev.get("nearest_example"):
            parts.append(f"가장 가까운 예시: {ev['nearest_example']}")
        return " · ".join(parts)
    if isinstance(ev, (list, tuple)):
        return ", ".join(map(str, ev))
    return "" if ev is None else str(ev)


def evidence_block(res: Resources, pid: str, text: str, codes: list[dict[str, Any]]) -> None:
    """Per code: its chip, the sentence(s) that carry it and the coder's evidence."""
    for c in codes:
        st.markdown(ui.factor_chip(c, res.labels))
        for sent in carrying_sentences(res, pid, text, c["category"], most=3):
            st.markdown("> " + ui.md_escape(sent))
        line = _evidence_line(c.get("evidence"))
        if line:
            st.caption(ui.md_escape(line))
        if c.get("memo"):
            st.caption("메모: " + ui.md_escape(c["memo"]))


def passage_card(
    res: Resources,
    pid: str,
    *,
    rank: int | None = None,
    query_terms: list[str] | None = None,
    key: str = "",
    review_button: bool = True,
    match: dict[str, Any] | None = None,
) -> None:
    """One bordered card for a passage (effective codes are read fresh, so reviews show at once).

    `match` (a search result's best-matching sentence, passage offsets) is highlighted; an
    interview answer shows the interviewer's question above it.
    """
    p = res.kb.passage_by_id[pid]
    text = p["text"]
    codes = res.kb.codes_for(pid)
    with st.container(border=True):
        head = [
            f"**{rank}.**" if rank else "",
            ui.case_badge(p.get("case_name")),
            ui.group_badge(p.get("group")),
        ]
        head.append(
            ui.badge(ui.PLATFORM_KO.get(p.get("platform_type"), p.get("platform_type") or ""), "gray")
        )
        if p.get("kind") and p.get("kind") != "narrative":
            head.append(ui.badge(ui.KIND_KO.get(p["kind"], p["kind"]), "orange"))
        if str(p.get("doc_id") or "").startswith(ADDED_PREFIX):  # the user's material, not the report's
            head.append(ui.badge("추가 자료", "violet", "upload_file"))
        st.markdown(" ".join(h for h in head if h))
        if p.get("question"):
            st.caption(":material/help: **질문** " + ui.md_escape(p["question"]))
        speaker = f"**{ui.md_escape(p['speaker'])}:** " if p.get("speaker") else ""
        st.markdown(speaker + highlighted(res, pid, text, codes, query_terms or [], match))
        st.markdown(ui.chips(codes, res.labels))
        if memo := res.kb.passage_memos().get(pid):
            st.caption(":material/edit_note: **메모** " + ui.md_escape(memo))
        st.caption(":material/description: " + ui.md_escape(res.citation(pid)) + f" · `{pid}`")
        cols = st.columns([1, 1, 3])
        show_nb = cols[0].toggle("앞뒤 구절", key=f"nb_{key}{pid}", help="같은 문서의 이전·다음 구절 보기")
        show_ev = cols[1].toggle("코드 근거", key=f"ev_{key}{pid}", help="코드마다 근거 문장과 단서어")
        if review_button and cols[2].button("이 구절 검토하기 →", key=f"rv_{key}{pid}"):
            st.session_state["review_pid"] = st.session_state["rv_from"] = pid
            st.switch_page(REVIEW_PAGE)
        if show_ev:
            evidence_block(res, pid, text, codes)
        if show_nb:
            neighbours(res, pid)


MATCH_BG = ":violet-background["  # the matched sentence; coded sentences use green/red/gray


def highlighted(
    res: Resources,
    pid: str,
    text: str,
    codes: list[dict[str, Any]],
    query_terms: list[str],
    match: dict[str, Any] | None,
) -> str:
    """The passage as markdown: coded sentences and query terms marked, the matched sentence violet."""
    marks = sentence_marks(res, pid, text, codes)
    s, e = (match["start"], match["end"]) if match else (0, 0)
    if not (0 <= s < e <= len(text)) or text[s:e] != match.get("text"):  # type: ignore[union-attr]
        return ui.highlight(text, ui.term_spans(text, query_terms), marks)

    def piece(a: int, b: int) -> str:
        sub = text[a:b]
        sub_marks = [(max(x, a) - a, min(y, b) - a, pol) for x, y, pol in marks if x < b and y > a]
        return ui.highlight(sub, ui.term_spans(sub, query_terms), sub_marks)

    sub = text[s:e]
    bg = ":" + ui.POLARITY_COLOR.get("neutral", "gray") + "-background["
    core = ui.highlight(sub, ui.term_spans(sub, query_terms), [(0, len(sub), "neutral")])
    return piece(0, s) + core.replace(bg, MATCH_BG) + piece(e, len(text))


def neighbours(res: Resources, pid: str) -> None:
    prev_id, next_id = res.neighbours.get(pid, (None, None))
    for label, nid in (("이전 구절 previous", prev_id), ("다음 구절 next", next_id)):
        if nid is None:
            st.caption(f"{label}: 없음 (문서의 처음/끝)")
            continue
        n = res.kb.passage_by_id[nid]
        st.caption(f"**{label}** · {ui.md_escape(res.citation(nid))}")
        st.caption(ui.md_escape(n["text"]))
