"""Review queue for coders: one passage at a time, accept/reject/re-polarise/add codes, memos.

Every button writes one decision through kb.review.queue.decide (append-only SQLite log, the
coder's name recorded) in its on_click callback, bound to the passage the button was drawn for; the
page then reruns and shows the stored state, never a local copy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import pandas as pd
import streamlit as st

from kb import api
from kb.errors import KbError
from kb.records import POLARITIES, sentence_directions
from kb.ui import components as ui
from kb.ui import login, retrain_gate, review_session
from kb.ui.cards import carrying_sentences, neighbours, sentence_marks
from kb.ui.state import Resources, resources

PASSAGE_MEMO = "구절 메모"
EVIDENCE_SENTENCES = 3  # evidence sentences listed under a code: its most confident ones
ACTION_KO = {
    "accept": "수락",
    "reject": "거절",
    "add": "추가",
    "set_polarity": "극성 변경",
    "memo": "메모",
    "resolve": "판정",
}
CHANGE_COLUMNS = {
    "열기": st.column_config.LinkColumn(
        "열기", display_text="열기 ↗", width=60, help="구절을 새 탭에서 열기"
    ),
    "사례": st.column_config.TextColumn("사례", width=140),
    "검토함": st.column_config.CheckboxColumn("검토함", width=70),
    "추가": st.column_config.TextColumn("추가", width=180),
    "제거": st.column_config.TextColumn("제거", width=180),
    "극성 변경": st.column_config.TextColumn("극성 변경", width=180),
}
"""The retrain's change table, 810 px in all: in a 1366-px window the expander beside the sidebar
(300 px) and the wide layout's padding (2 × 80 px) is 870 px wide (Chromium). A longer cell ends in
'…' and shows whole on hover; the passage id is in the link (it opens the passage in a new tab)."""
STATUS_KO = {
    "accepted": ":material/check: 수락됨",
    "rejected": ":material/close: 거절됨",
    "added": ":material/add: 추가됨",
    "noted": ":material/edit_note: 메모만",
}


def retrain_box(res: Resources) -> None:
    """ "Retrain now": refit the fast models on the decisions so far and re-code (kb.coding.retrain).

    Like decisions, retraining changes every coder's codes: viewers in team mode do not get it."""
    from kb.ui import login

    if not login.can_write():
        return
    why = retrain_gate.blocked(res.settings)
    with st.sidebar:
        st.markdown("**자동 코더 재학습 · retrain**")
        st.caption(
            "지금까지의 검토 결정으로 빠른 모델을 다시 학습하고 모든 구절을 다시 코딩합니다. "
            + retrain_gate.estimate(res.settings)
        )
        if why:
            st.info(ui.md_escape(why), icon=ui.HOURGLASS)
        pressed = st.button(
            "지금 재학습 retrain now", icon=":material/model_training:", key="rv_retrain", disabled=bool(why)
        )
        if not pressed or why:
            return
    from kb.errors import BuildLocked
    from kb.ui.state import _load

    with st.status("재학습 중… (retraining the fast models)", expanded=True) as box:
        try:
            out = api.retrain(res.settings, log=lambda msg: box.write(ui.md_escape(msg)))
        except BuildLocked as exc:  # a build took the lock after the page was drawn: nothing was changed
            box.update(label="재학습하지 못함 (a build started first)", state="error", expanded=True)
            st.warning(ui.md_escape(retrain_gate.blocked(res.settings) or str(exc)))
            return
        box.update(label="재학습 완료 (retrained)", state="complete", expanded=False)
    _load.clear()
    st.session_state["rv_changes"] = out["changes"]
    st.session_state["rv_flash"] = (
        f"재학습 완료: 검토 결정 {out['decisions']}건 (학습 문장 {out['reviews']}개), "
        f"모두 {retrain_gate.duration_ko(out['total_seconds'])} (모델 학습 {out['seconds']}초), "
        f"다시 코딩한 구절 {out['code']['coded']}개. 자동 코드가 바뀌었습니다: 거절한 제안을 코더가 "
        "더 이상 내놓지 않으면 카드와 제안 수에서 빠집니다. 결정은 그대로 기록에 남고, "
        "내 결정 수도 그대로입니다."
    )
    st.rerun()


def _flash() -> None:
    """The last decision's confirmation (or why it was not stored), at the top and as a toast (the
    memo box is far below the top)."""
    msg = st.session_state.pop("rv_flash", None)
    if msg:
        st.success(msg, icon=":material/save:")
        st.toast(msg, icon=":material/save:")
    error = st.session_state.pop("rv_flash_error", None)
    if error:
        st.error(error, icon=":material/block:")
        st.toast(error, icon=":material/block:")
    info = st.session_state.pop("rv_flash_info", None)
    if info:
        st.info(info)


def retrain_changes(res: Resources, coder: str) -> None:
    """What the last retrain moved: a retrain re-codes every passage, so suggestions change where
    nobody reviewed, and a finished passage can get a new one (its progress goes back). Open by
    itself when a reviewed passage changed; each row opens that passage in a new tab."""
    changes = st.session_state.get("rv_changes")
    if not changes:
        return
    seen, mine = changes["unreviewed"], changes["reviewed"]
    title = (
        f"재학습으로 바뀐 자동 제안: 검토하지 않은 구절 {seen['passages']}개, "
        f"검토한 구절 {mine['passages']}개"
        if changes["rows"]
        else "재학습으로 바뀐 자동 제안: 없음"
    )
    with st.expander(title, expanded=bool(mine["passages"]), icon=":material/difference:"):
        if not changes["rows"]:
            st.caption("재학습 전후로 모든 구절의 제안이 같습니다.")
            return
        st.caption(
            f"검토하지 않은 구절: 추가 {seen['added']}, 제거 {seen['dropped']}, "
            f"극성 변경 {seen['polarity']} · "
            f"검토한 구절: 추가 {mine['added']}, 제거 {mine['dropped']}, 극성 변경 {mine['polarity']} "
            "(검토한 구절의 결정은 그대로이며, 새 제안은 다시 검토 대기열에 들어갑니다)"
        )

        def label(x: str | None) -> str:
            return res.labels.get(x, ui.POLARITY_KO.get(x or "", x or ""))

        rows = []
        for r in changes["rows"]:
            text = api.readable_change(r, label)
            rows.append(
                {
                    "열기": "review?" + urlencode({"coder": coder, "pid": r["passage_id"]}),
                    "사례": res.case_name(r["case"]) if r["case"] else "",
                    "검토함": r["reviewed"],
                    "추가": text["added"],
                    "제거": text["dropped"],
                    "극성 변경": text["polarity"],
                }
            )
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", column_config=CHANGE_COLUMNS)


@dataclass(frozen=True)
class Drawn:
    """What a decision button was drawn for: its passage (and how the flash names it), the coder."""

    res: Resources
    coder: str
    pid: str
    where: str  # "은평구 … · `pid`": the flash says where a decision went


def _decide(at: Drawn, category: str | None, action: str, **kw: Any) -> None:
    """on_click of every decision button. A callback runs before the next page run, with the passage
    the button was drawn for; a click that arrives after the page has moved on to another passage
    (다음 pressed, the old buttons still on screen) is refused with a message naming both, never stored
    on the passage now shown nor silently dropped (issue: decisions on the wrong passage)."""
    label = at.res.labels.get(category, category) if category else PASSAGE_MEMO
    what = f"{label} → {ACTION_KO.get(action, action)}"
    shown = st.session_state.get("review_pid")
    if shown != at.pid:
        st.session_state["rv_flash_error"] = (
            f"저장하지 않았습니다: {what} 버튼은 {at.where} 구절의 것인데, 화면은 이미 다른 구절로 "
            "바뀌는 중이었습니다 (not saved: the button belonged to the passage shown before). "
            "그 구절에 결정하려면 '방금 본 구절로 돌아가기'를 누르세요."
        )
        return
    try:
        login.require_coder(at.coder)
        api.decide(at.coder, at.pid, category, action, settings=at.res.settings, **kw)
    except KbError as exc:
        st.session_state["rv_flash_error"] = f"저장하지 않았습니다 (not saved): {exc}"
        return
    polarity = f" ({ui.POLARITY_KO.get(kw['polarity'], kw['polarity'])})" if kw.get("polarity") else ""
    st.session_state["rv_flash"] = f"저장됨: {what}{polarity} · {at.where}"


def _decide_from_box(at: Drawn, category: str, action: str, current: str) -> None:
    """accept / set_polarity with the polarity in the code's box at the moment of the click."""
    pol = st.session_state.get(f"pol_{at.pid}_{category}", current)
    if action == "accept" and pol == current:
        _decide(at, category, "accept")
    else:
        _decide(at, category, action, polarity=pol)


def _add_from_boxes(at: Drawn) -> None:
    cat, pol = st.session_state.get(f"add_cat_{at.pid}"), st.session_state.get(f"add_pol_{at.pid}")
    if cat and pol:
        _decide(at, cat, "add", polarity=pol)


def _memo_from_box(at: Drawn) -> None:
    memo = st.session_state.get(f"memo_{at.pid}", "")
    if memo == (api.passage_memo(at.pid, settings=at.res.settings) or ""):
        st.session_state["rv_flash_info"] = "메모가 그대로입니다 (unchanged)."
    else:
        _decide(at, None, "memo", memo=memo)


def code_row(at: Drawn, text: str, code: dict, decided: dict | None) -> None:
    """One suggested (or added) code with its evidence and the decision buttons."""
    res, pid = at.res, at.pid
    cat = code["category"]
    with st.container(border=True):
        top = st.columns([3, 2])
        status = (decided or {}).get("status")
        if status in ("accepted", "added"):  # the chip says what now counts: the coder's reading
            mine = {**code, "polarity": decided.get("polarity") or code.get("polarity"), "also": {}}
            top[0].markdown(
                ui.factor_chip({**mine, "source": "human", "reviewer": decided.get("coder")}, res.labels)
            )
            if code.get("source") == "auto" and mine["polarity"] != code.get("polarity"):
                suggested = ui.POLARITY_KO.get(code.get("polarity") or "", code.get("polarity"))
                sure = code.get("polarity_confidence")
                top[0].caption(
                    f"자동 제안: {suggested}" + (f" {float(sure):.0%}" if sure is not None else "")
                )
        else:
            top[0].markdown(ui.factor_chip(code, res.labels))
        if status:
            pol = decided.get("polarity") or ""
            who = ui.md_escape(decided.get("coder") or "")
            top[1].markdown(f"**{STATUS_KO.get(status, status)}** {ui.POLARITY_KO.get(pol, '')} · {who}")
        else:
            top[1].markdown(":orange[**미결정 undecided**]")
        decision_buttons(at, cat, code, decided)  # under the chip: no scrolling past evidence
        every = carrying_sentences(res, pid, text, cat)
        for sent in carrying_sentences(res, pid, text, cat, most=EVIDENCE_SENTENCES):
            st.caption("근거 문장: " + ui.md_escape(sent))
        if len(every) > EVIDENCE_SENTENCES:  # the passage above colours them all
            st.caption(
                f"… 외 {len(every) - EVIDENCE_SENTENCES}문장 (가장 확신하는 {EVIDENCE_SENTENCES}문장만 표시)"
            )
        if code.get("also") and not status:
            other = ", ".join(ui.POLARITY_KO.get(p, p) for p in code["also"])
            st.caption(
                f"이 구절은 {other} 문장도 있어, 결정 전까지 매트릭스에서 그 방향으로도 셉니다. 수락하거나 "
                "극성을 바꾸면 결정한 극성 하나만 셉니다 (docs/coding_guide.md §3)."
            )
        ev = code.get("evidence")
        if isinstance(ev, dict) and ev.get("cues"):
            st.caption("단서어 cues: " + ui.md_escape(", ".join(map(str, ev["cues"][:8]))))


def decision_buttons(at: Drawn, cat: str, code: dict, decided: dict | None) -> None:
    """Accept, reject and re-polarise one code: "accept" takes the polarity the coder sees in the box."""
    pid = at.pid
    b = st.columns([1, 1, 2, 1])
    current = (decided or {}).get("polarity") or code.get("polarity") or "neutral"
    pol = b[2].selectbox(
        "극성",
        POLARITIES,
        index=POLARITIES.index(current),
        key=f"pol_{pid}_{cat}",
        format_func=lambda p: ui.POLARITY_KO[p],
        label_visibility="collapsed",
    )
    accept_help = "accept" if pol == current else f"accept as {pol}"
    b[0].button(
        "수락", icon=":material/check:", key=f"acc_{pid}_{cat}", help=accept_help,
        on_click=_decide_from_box, args=(at, cat, "accept", current),
    )  # fmt: skip
    b[1].button(
        "거절", icon=":material/close:", key=f"rej_{pid}_{cat}", help="reject",
        on_click=_decide, args=(at, cat, "reject"),
    )  # fmt: skip
    b[3].button(
        "극성 변경", key=f"setpol_{pid}_{cat}", help="set polarity", disabled=pol == current,
        on_click=_decide_from_box, args=(at, cat, "set_polarity", current),
    )  # fmt: skip


def add_code(at: Drawn, present: set[str]) -> None:
    res, pid = at.res, at.pid
    missing = [c for c in res.kb.codebook.ids if c not in present]
    if not missing:
        return
    st.markdown("**빠진 코드 추가 · add a missing code**")
    st.caption(
        "제안된 코드를 모두 결정한 구절에서 수락하거나 추가하지 않은 요인은 "
        "재학습 때 '해당 없음'으로 배웁니다 "
        "(a passage done here teaches that the factors not accepted or added do not apply)."
    )
    c = st.columns([2, 1, 1])
    c[0].selectbox(
        "요인",
        missing,
        key=f"add_cat_{pid}",
        format_func=lambda x: res.labels.get(x, x),
        label_visibility="collapsed",
    )
    c[1].selectbox(
        "극성",
        POLARITIES,
        key=f"add_pol_{pid}",
        format_func=lambda p: ui.POLARITY_KO[p],
        label_visibility="collapsed",
    )
    c[2].button("추가", icon=":material/add:", key=f"add_{pid}", on_click=_add_from_boxes, args=(at,))


def memo_box(at: Drawn) -> None:
    current = api.passage_memo(at.pid, settings=at.res.settings) or ""
    with st.form(f"memo_form_{at.pid}", border=False):
        st.text_area("구절 메모 memo", value=current, key=f"memo_{at.pid}", height=80)
        st.form_submit_button("메모 저장", on_click=_memo_from_box, args=(at,))


def passage_view(res: Resources, coder: str, pid: str, blind: bool = False) -> None:
    """One passage with its suggestions; `blind`: only this coder's own decisions are shown."""
    p = res.kb.passage_by_id[pid]
    text = p["text"]
    auto = (res.auto_by_id.get(pid) or {}).get("codes") or []
    mine = coder if blind else None
    decided = api.current_decisions([pid], coder=mine, settings=res.settings).get(pid, {})
    if p.get("question"):  # a short answer ("한 40퍼센트 정도요.") means nothing without it
        st.caption(":material/help: **질문** " + ui.md_escape(p["question"]))
    speaker = f"**{ui.md_escape(p['speaker'])}:** " if p.get("speaker") else ""
    st.markdown(speaker + ui.highlight(text, (), sentence_marks(res, pid, text, auto)))
    row = st.columns([4, 1], vertical_alignment="center")  # one line each: the codes start higher up
    row[0].caption(":material/description: " + ui.md_escape(res.citation(pid)) + f" · `{pid}`")
    if row[1].toggle("앞뒤 구절 보기", key=f"rv_nb_{pid}"):
        neighbours(res, pid)
    rec = res.auto_by_id.get(pid) or {}
    whole = rec.get("polarity")
    whole = f" :gray[· 자동 코더의 구절 극성: {ui.POLARITY_KO.get(whole, whole)}]" if whole else ""
    st.markdown("**제안된 코드 · suggested codes**" + whole)
    at = Drawn(res, coder, pid, f"{ui.md_escape(p.get('case_name') or p.get('case') or '')} `{pid}`")
    present = set()
    for code in auto:
        present.add(code["category"])
        cat = code["category"]
        also = sentence_directions(cat, code.get("polarity") or "", rec.get("sentences") or [])
        code_row(at, text, {**code, "source": "auto", "also": also}, decided.get(cat))
    for cat, row in sorted(decided.items()):
        if cat not in present and row["status"] in ("added", "accepted"):
            present.add(cat)
            human = {
                "category": cat,
                "polarity": row["polarity"],
                "source": "human",
                "reviewer": row["coder"],
            }
            code_row(at, text, human, row)
    if not auto:
        st.caption("자동 코드가 없는 구절입니다.")
    add_code(at, present)
    if blind:  # the passage memo and the log would show the other coders' decisions
        st.caption(":material/visibility_off: 블라인드: 메모와 결정 기록은 숨깁니다 (hidden while blind).")
        return
    memo_box(at)
    with st.expander("이 구절의 결정 기록 · decision log"):
        st.dataframe(decision_log(res, pid), hide_index=True, width="stretch")


def decision_log(res: Resources, pid: str) -> pd.DataFrame:
    """The passage's decisions for reading: UTC minutes, factor labels, actions in Korean, blanks."""
    log = res.kb.reviews.log([pid])

    def factor(category: Any) -> str:
        return res.labels.get(category, category) if isinstance(category, str) else PASSAGE_MEMO

    return pd.DataFrame(
        {
            "시각 (UTC)": pd.to_datetime(log["ts"], utc=True).dt.strftime("%Y-%m-%d %H:%M"),
            "코더": log["coder"],
            "요인": log["category"].map(factor),
            "결정": log["action"].map(lambda a: ACTION_KO.get(a, a)),
            "극성": log["after"].map(lambda a: ui.POLARITY_KO.get((a or {}).get("polarity") or "", "")),
            "메모": log["memo"].fillna(""),
        }
    )


def progress_bar(
    res: Resources, coder: str, factor: str | None, case: str | None, blind: bool, own_count: Any
) -> None:
    """The queue's progress over the current suggestions, and the coder's own decisions apart (in
    `own_count`, a slot under the coder's name in the sidebar): a retrain that stops suggesting codes
    the coder rejected takes them (and passages left without a suggestion) out of the first, never out
    of the second."""
    stats = api.review_progress(
        factor=factor, case=case, coder=coder if blind else None, settings=res.settings
    )
    made = api.decisions_made(coder, factor=factor, case=case, settings=res.settings)
    st.progress(
        stats["done"] / max(stats["passages"], 1),
        text=(
            f"완료 {stats['done']} / {stats['passages']} 구절 · 진행 중 {stats['started']} · "
            f"지금 제안된 코드 {stats['codes']}개 중 결정됨 {stats['codes_decided']}"
        ),
    )
    where = "이 조건에서 " if factor or case else ""
    own_count.caption(
        f"{where}**{ui.md_escape(coder)}** 님의 결정 {made}건: 기록된 결정이라 재학습해도 줄지 않습니다. "
        "위의 구절·제안 수는 자동 코더가 지금 내놓는 제안만 셉니다."
    )


def _go(target: str | None) -> None:
    """on_click of 이전 / 다음: the passage to show next, fixed when the button was drawn."""
    if target:
        st.session_state["review_pid"] = target


def render() -> None:
    res = resources()
    st.header("코딩 검토 · Review queue")  # smaller than a title: the passage needs the room
    coder = review_session.ask_coder(res)
    if not coder:
        return
    decisions_made = st.sidebar.container()  # under the coder's name, above the retrain box
    retrain_box(res)
    _flash()
    retrain_changes(res, coder)
    review_session.restore_from_address(res)
    c = st.columns([2, 2, 1])
    factor = c[0].selectbox(
        "요인 factor",
        [None, *res.kb.codebook.ids],
        key="rv_factor",
        format_func=lambda x: "전체" if x is None else res.labels.get(x, x),
    )
    case = c[1].selectbox(
        "사례 case",
        [None, *res.cases["case"]],
        key="rv_case",
        format_func=lambda x: "전체" if x is None else res.case_name(x),
    )
    pending = c[2].toggle("미완료만", value=True, key="rv_pending", help="모든 코드가 결정된 구절 숨기기")
    blind = c[2].toggle(
        "블라인드",
        key="rv_blind",
        help="다른 코더의 결정을 숨기고, 내 결정만으로 완료를 셉니다 (blind double coding: "
        "another coder's decisions are not shown; the codebook page then compares the two)",
    )
    mine = coder if blind else None
    pid = st.session_state.get("review_pid")
    items = api.review_queue(
        factor=factor, case=case, pending_only=pending, keep=pid, coder=mine, settings=res.settings
    )
    progress_bar(res, coder, factor, case, blind, decisions_made)
    ids = [it.passage_id for it in items]
    if pid not in res.kb.passage_by_id or (pid not in ids and st.session_state.get("rv_from") != pid):
        pid = ids[0] if ids else None
    review_session.keep_in_address(factor, case, pid)
    seen = review_session.seen_passages(pid)
    if len(seen) > 1 and st.button(
        "방금 본 구절로 돌아가기",
        icon=":material/undo:",
        key="rv_back",
        help="바로 앞에 본 구절 (완료되어 큐에서 빠졌어도): the passage you saw last, even when done",
    ):
        st.session_state["review_pid"] = st.session_state["rv_from"] = seen[-2]
        st.rerun()
    if pid is None:
        st.success("이 조건에서 검토할 구절이 없습니다.")
    else:
        st.session_state["review_pid"] = pid
        pos = ids.index(pid) if pid in ids else -1
        nav = st.columns([1, 2, 1])
        nav[0].button(
            "이전", icon=":material/arrow_back:", key="rv_prev", disabled=pos <= 0, width="stretch",
            on_click=_go, args=(ids[pos - 1] if pos > 0 else None,),
        )  # fmt: skip
        item = items[pos] if pos >= 0 else None
        where = f"{pos + 1} / {len(ids)}" if pos >= 0 else "큐 밖의 구절 (검색에서 열림)"
        unc = f" · 불확실성 {item.uncertainty:.2f}" if item else ""
        p = res.kb.passage_by_id[pid]
        kind = p.get("kind") or ""
        badges = [ui.case_badge(p.get("case_name")), ui.group_badge(p.get("group"))]
        badges.append(ui.badge(ui.KIND_KO.get(kind, kind), "gray"))
        nav[1].markdown(f"**{where}**{unc}  \n" + " ".join(badges))  # beside the buttons: no own line
        following = ids[pos + 1] if 0 <= pos < len(ids) - 1 else None
        nav[2].button(
            "다음", icon=":material/arrow_forward:", key="rv_next", disabled=following is None,
            width="stretch", on_click=_go, args=(following,),
        )  # fmt: skip
        passage_view(res, coder, pid, blind)
        if following:  # after the last code of a long passage: no scrolling back up to go on
            st.button(
                "다음 구절",
                icon=":material/arrow_forward:",
                key="rv_next_bottom",
                on_click=_go,
                args=(following,),
            )
    attention = api.needs_attention(res.settings)
    with st.expander(f"확인이 필요한 결정 · needs attention ({len(attention)})", expanded=False):
        if attention.empty:
            st.caption("모든 결정이 현재 구절에 연결되어 있습니다.")
        else:
            st.caption("구절이 사라졌거나 본문이 바뀐 뒤의 결정입니다. reanchored_to = 옮겨진 구절.")
            st.dataframe(attention, hide_index=True, width="stretch")


if __name__ == "__main__":
    ui.guarded(render)()
