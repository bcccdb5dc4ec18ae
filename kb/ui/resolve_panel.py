"""Adjudication: where two coders coded a unit differently, an adjudicator reads the passage and
records the final decision ("resolve"); agreement between the coders stays as they left it."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from kb import api
from kb.errors import KbError
from kb.records import POLARITIES
from kb.ui import components as ui
from kb.ui import login
from kb.ui.state import Resources

NOT_CODED = "not_coded"


def _polarity_of(decision: str) -> str:
    """The polarity a disagreement row's decision stands for ("accepted obstacle" → obstacle), or
    NOT_CODED for "rejected" and "not coded"."""
    status, _, polarity = decision.partition(" ")
    return polarity if status == "accepted" and polarity in POLARITIES else NOT_CODED


def _adjudicator() -> str:
    """The logged-in coder in team mode; else a name typed here (the review page's name to start)."""
    if login.team_mode():
        return login.team_coder() or ""
    default = st.session_state.get("coder") or st.query_params.get("coder", "")
    return st.text_input("판정자 adjudicator", value=default, key="adj_name", max_chars=40).strip()


def _label(row: pd.Series, res: Resources) -> str:
    done = " ✓ " + row["resolution"] if row["resolution"] else ""
    return (
        f"{res.case_name(row['case'])} · {res.labels.get(row['category'], row['category'])} · "
        f"{row['coder_a']}: {row['decision_a']} / {row['coder_b']}: {row['decision_b']}{done}"
    )


def resolve_panel(res: Resources, differ: pd.DataFrame) -> None:
    """Pick a disagreement, read the passage, choose the final code, record it as a resolution."""
    if differ.empty or not login.can_write():
        return
    if flash := st.session_state.pop("adj_flash", None):
        st.success(flash)
    with st.expander(f"판정 · resolve a disagreement ({(differ['resolution'] == '').sum()} open)"):
        show_all = st.toggle("판정한 것도 보기 (include resolved)", key="adj_all")
        rows = differ if show_all else differ[differ["resolution"] == ""]
        if rows.empty:
            st.success("모든 불일치가 판정되었습니다 (every disagreement is resolved).")
            return
        pick = st.selectbox("불일치 disagreement", rows.index, key="adj_row",
                            format_func=lambda i: _label(rows.loc[i], res))  # fmt: skip
        row = rows.loc[pick]
        passage = res.kb.passage_by_id.get(row["passage_id"]) or {}
        st.caption(f"{row['passage_id']} · {res.case_name(row['case'])}")
        st.markdown(ui.md_escape(passage.get("text") or ""))
        chosen_by: dict[str, list[str]] = {}
        for coder, decision in ((row["coder_a"], row["decision_a"]), (row["coder_b"], row["decision_b"])):
            chosen_by.setdefault(_polarity_of(decision), []).append(coder)
        options = [*POLARITIES, NOT_CODED]

        def option_label(value: str) -> str:
            name = "코딩 안 함 not coded" if value == NOT_CODED else f"{ui.POLARITY_KO[value]} {value}"
            who = chosen_by.get(value)
            return f"{name} — {', '.join(who)}" if who else name

        final = st.radio("최종 코드 final code", options, key="adj_final", format_func=option_label,
                         index=options.index(next(iter(chosen_by))))  # fmt: skip
        memo = st.text_input("판정 메모 memo (why)", key="adj_memo")
        coder = _adjudicator()
        if st.button("판정 기록 · record resolution", key="adj_go", type="primary", disabled=not coder):
            try:
                login.require_coder(coder)
                api.decide(coder, row["passage_id"], row["category"], "resolve",
                           polarity=None if final == NOT_CODED else final, memo=memo or None,
                           settings=res.settings)  # fmt: skip
            except KbError as exc:
                st.error(str(exc))
                return
            st.session_state["adj_flash"] = f"판정 기록됨: {option_label(final)} ({coder})"
            st.rerun()
