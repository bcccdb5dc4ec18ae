"""The search page's "across cases" tab: the question's factors, case by case, as successes and obstacles.

A diverging bar per case (obstacles left, successes right) for one factor, then each case's
sentence that shows its obstacle and its success; the report's own overview and synthesis sections
come after the cases, since they summarise cases rather than being one.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from kb import api
from kb.ui import charts
from kb.ui import components as ui
from kb.ui.state import Resources

ACROSS_OPTIONS = ("group", "platform_type", "reviewed", "min_confidence")  # the search filters it honours


def chart(rows: pd.DataFrame) -> go.Figure:
    """Obstacle passages to the left, success passages to the right, one bar pair per case."""
    names = [ui.SHORT_NAME.get(c, n) for c, n in zip(rows["case"], rows["case_name"], strict=True)]
    success, obstacle = rows["success"].astype(int).tolist(), rows["obstacle"].astype(int).tolist()
    fig = go.Figure()
    charts.add_bars(fig, names, success, obstacle)
    fig.update_xaxes(title="구절 수 (◀ 장애 · 성공 ▶)")
    return charts.finish(fig, len(rows), max([*success, *obstacle]))


def evidence_lines(row: dict[str, Any]) -> None:
    head = f"{ui.group_badge(row['group'])} **{ui.md_escape(row['case_name'])}** · "
    head += f"장애 {int(row['obstacle'])} · 성공 {int(row['success'])}"
    if int(row.get("recommendation") or 0):
        head += f" · 제언 {int(row['recommendation'])}"
    st.markdown(head)
    for pol in ("obstacle", "success"):
        if not int(row[pol]):
            continue
        sentence, pid = row.get(f"evidence_{pol}") or "", row[f"exemplar_{pol}"]
        if sentence:
            color = ui.POLARITY_COLOR.get(pol, "gray")
            st.markdown(f"{ui.POLARITY_ICON[pol]} :{color}-background[{ui.md_escape(sentence)}]")
            st.caption(f"`{pid}`")
        else:  # coded on the passage (e.g. by a reviewer), not on one of its sentences
            st.caption(f"{ui.POLARITY_ICON[pol]} `{pid}` (구절 단위 코드 · coded on the whole passage)")


def render(res: Resources, query: str, filters: dict[str, Any]) -> None:
    options = {k: v for k, v in filters.items() if k in ACROSS_OPTIONS}
    view = api.across_cases(query, factor=filters.get("factor"), settings=res.settings, **options)
    if view.table.empty:
        st.info("이 질문이 찾은 구절에는 코딩된 요인이 없습니다.")
        return
    asked = ", ".join(res.labels.get(c, c) for c in view.asked) or "—"
    direction = ui.POLARITY_KO.get(view.polarity, "—") if view.polarity else "—"
    st.caption(
        f"질문이 묻는 요인: {asked} · 방향: {direction}. 질문이 찾은 상위 구절에서 사례마다 "
        "성공·장애 구절을 셉니다 (the passages this question retrieves, counted per case)."
        + (" 사례·극성 필터는 쓰지 않습니다." if filters.get("case") or filters.get("polarity") else "")
    )
    ids = list(res.kb.codebook.ids)
    choices = view.factors + [c for c in ids if c not in view.factors]
    if st.session_state.get("ac_for") != query:  # a new question opens on its own first factor
        st.session_state["ac_factor"], st.session_state["ac_for"] = choices[0], query
    factor = st.selectbox("요인 factor", choices, key="ac_factor", format_func=lambda c: res.labels.get(c, c))
    if factor not in view.factors:
        view = api.across_cases(query, factor=factor, settings=res.settings, **options)
    rows = view.table[view.table["category"] == factor]
    if rows.empty:
        st.info("이 요인으로 코딩된 구절이 질문의 결과에 없습니다.")
        return
    cases, syntheses = rows[~rows["synthesis"]], rows[rows["synthesis"]]
    if not cases.empty:
        st.plotly_chart(chart(cases), key="ac_chart", width="stretch")
    for row in cases.to_dict("records"):
        evidence_lines(row)
    if not syntheses.empty:
        st.markdown("##### 보고서의 개요·소결 · the report's own summaries")
        for row in syntheses.to_dict("records"):
            evidence_lines(row)
