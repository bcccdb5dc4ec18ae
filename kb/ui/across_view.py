"""The search page's "across cases" tab: the question's factors, case by case, as successes and obstacles.

A diverging bar per case (obstacles left, successes right) for one factor, one panel per group in
the report's order (domestic, international, private), every case the filters allow included: a case
the results hold no passage of is an empty row, named under the chart, since no evidence is not
evidence of no obstacle. Then each case's sentence that shows its obstacle and its success; the
report's own overview and synthesis sections come after the cases, since they summarise cases
rather than being one.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from kb import api
from kb.ui import charts
from kb.ui import components as ui
from kb.ui.state import Resources

ACROSS_OPTIONS = (
    "group",
    "platform_type",
    "reviewed",
    "min_confidence",
    "source",
)  # the search filters it honours
ROW, GAP = 28, 44  # px: a bar row (as charts.finish sizes it), the space above a group's panel


def chart(rows: pd.DataFrame) -> go.Figure:
    """Obstacle passages to the left, success passages to the right, one bar pair per case; a panel
    per group, in the rows' order, on one scale."""
    groups = list(dict.fromkeys(rows["group"]))
    sizes = [int((rows["group"] == g).sum()) for g in groups]
    units = len(rows) + 2 * len(groups)  # bar rows, and two for each panel's title and gap
    fig = make_subplots(
        rows=len(groups), cols=1, shared_xaxes=True, vertical_spacing=GAP / (ROW * units + 70),
        row_heights=sizes, subplot_titles=[group_title(g, n) for g, n in zip(groups, sizes, strict=True)],
    )  # fmt: skip
    for i, group in enumerate(groups, 1):
        part = rows[rows["group"] == group]
        names = [ui.SHORT_NAME.get(c, n) for c, n in zip(part["case"], part["case_name"], strict=True)]
        charts.add_bars(fig, names, counts(part, "success"), counts(part, "obstacle"), row=i, col=1)
        fig.add_trace(row_notes(names, part), row=i, col=1)
    fig.update_xaxes(title="구절 수 (◀ 장애 · 성공 ▶)", row=len(groups), col=1)
    fig.update_xaxes(automargin=True)
    fig.update_yaxes(automargin=True)
    most = max([*counts(rows, "success"), *counts(rows, "obstacle")], default=0)
    return charts.finish(fig, units, most, top=40)


def row_notes(names: list[str], rows: pd.DataFrame) -> go.Scatter:
    """Grey text on the rows without a bar: "근거 없음" where the results hold no passage of the case
    (no evidence, which an empty row must not pass for "no obstacle"), "제언 n" where only recommendations."""
    notes = [
        (name, "근거 없음 (no passage)" if not r["passages"] else f"제언 {int(r['recommendation'])}")
        for name, r in zip(names, rows.to_dict("records"), strict=True)
        if not (r["success"] or r["obstacle"])
    ]
    return go.Scatter(
        x=[0] * len(notes), y=[n for n, _ in notes], mode="text", text=[f"  {t}" for _, t in notes],
        textposition="middle right", textfont={"color": "#888"}, showlegend=False, hoverinfo="skip",
    )  # fmt: skip


def counts(rows: pd.DataFrame, polarity: str) -> list[int]:
    return rows[polarity].astype(int).tolist()


def group_title(group: str, n: int) -> str:
    name = f"{ui.GROUP_KO[group]} {group}" if group in ui.GROUP_KO else group
    return f"{name} · 사례 {n}"


def absent_caption(res: Resources, absent: list[str]) -> None:
    """Name the cases the results hold no passage of, so an empty row is not read as "no obstacle"."""
    if absent:
        names = ", ".join(res.case_name(c) for c in absent)
        st.caption(
            f":material/info: 결과에 이 요인의 근거 구절이 없는 사례: {ui.md_escape(names)} – 근거가 없다는 "
            "뜻이지 장애나 성공이 없다는 뜻은 아닙니다 (no passage among the results: no evidence, not "
            "evidence of none)."
        )


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
    cases, syntheses = view.per_case(factor), rows[rows["synthesis"]]
    if (cases["passages"] > 0).any():
        st.plotly_chart(chart(cases), key="ac_chart", width="stretch")
    absent_caption(res, view.absent(factor))
    for row in cases[cases["passages"] > 0].to_dict("records"):
        evidence_lines(row)
    if not syntheses.empty:
        st.markdown("##### 보고서의 개요·소결 · the report's own summaries")
        st.caption(
            "사례가 아니라 그룹의 사례들을 요약한 절입니다 (not cases: sections summarising a group's cases)."
        )
        for row in syntheses.to_dict("records"):
            evidence_lines(row)
