"""Cross-case matrix: factor × case heatmap (net = success − obstacle, "s/o" in cells), cell drill-down,
and a side-by-side comparison of two or three cases."""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from kb import api
from kb.records import POLARITIES
from kb.ui import charts, filter_widgets
from kb.ui import components as ui
from kb.ui.cards import passage_card
from kb.ui.state import Resources, resources

COLORSCALE = [[0.0, "#b2182b"], [0.25, "#ef8a62"], [0.5, "#f7f7f7"], [0.75, "#7fbf7b"], [1.0, "#1b7837"]]
MAX_CELL_PASSAGES = 20


def cell_breakdown(mx: pd.DataFrame, factor: str, case: str) -> str:
    """The cell's passages by polarity: the heatmap shows success/obstacle only, the list has them all."""
    row = mx[(mx["category"] == factor) & (mx["case"] == case)]
    if row.empty:
        return ""
    counts = [f"{ui.POLARITY_KO[p]} {int(row.iloc[0][p])}" for p in POLARITIES if int(row.iloc[0].get(p, 0))]
    return " — " + " · ".join(counts) + " (칸의 숫자는 성공/장애 · the cell shows success/obstacle)"


def cell_text(success: int, obstacle: int, recommendation: int) -> str:
    """Success/obstacle, and "+n" recommendations on a second line (one line is too wide for a cell)."""
    lines = [f"{success}/{obstacle}"] if success or obstacle else []
    return "<br>".join(lines + ([f"+{recommendation}"] if recommendation else []))


def grid(res: Resources, mx: pd.DataFrame) -> tuple[list[dict], list[dict], dict[tuple[str, str], dict]]:
    """Row specs (factor, grouped by dimension), column specs (case, grouped by group), cell lookup."""
    dims = res.kb.codebook.dimension_by_id
    rows = [
        {"category": c.id, "label": c.label_ko, "label_en": c.label_en, "dim": dims[c.dimension].label_ko}
        for c in res.kb.codebook.categories
    ]
    cases = res.cases
    cols = [
        {
            "case": r["case"],
            "label": ui.SHORT_NAME.get(r["case"], r["name_ko"]),
            "group": ui.GROUP_KO.get(r["group"], r["group"]),
        }
        for g in ui.GROUP_KO
        for r in cases[cases["group"] == g].to_dict("records")
    ]
    cells = {(r["category"], r["case"]): r for r in mx.to_dict("records")}
    return rows, cols, cells


def heatmap_height(rows: list[dict], cols: list[dict], text: list[list[str]]) -> int:
    """Room for the column labels (written top to bottom above the grid, about 14 px a character at
    13 px) and for every row's cells: two lines ("4/2" and "+2") need 46 px, or they spill over."""
    labels = 14 * max([len(str(c["label"])) for c in cols] + [4])
    row = 46 if any("<br>" in t for tr in text for t in tr) else 34
    return 60 + labels + row * len(rows)


def heatmap(res: Resources, mx: pd.DataFrame) -> go.Figure:
    rows, cols, cells = grid(res, mx)
    x = [[c["group"] for c in cols], [c["label"] for c in cols]]
    y = [[r["dim"] for r in rows], [r["label"] for r in rows]]
    z, text, hover, custom = [], [], [], []
    for r in rows:
        zr, tr, hr, cr = [], [], [], []
        for c in cols:
            cell = cells.get((r["category"], c["case"]))
            s, o, n, rec = (
                (
                    int(cell["success"]),
                    int(cell["obstacle"]),
                    int(cell["neutral"]),
                    int(cell.get("recommendation", 0)),
                )
                if cell
                else (0, 0, 0, 0)
            )
            zr.append(s - o if cell else None)
            tr.append(cell_text(s, o, rec))
            hr.append(
                f"{r['label']} ({r['label_en']}) × {c['label']}<br>"
                f"성공 {s} · 장애 {o} · 중립 {n} · 제언 {rec} (구절 수)<br>"
                f"success {s} · obstacle {o} · neutral {n} · recommendation {rec} (passages)"
            )
            cr.append([r["category"], c["case"]])
        z.append(zr)
        text.append(tr)
        hover.append(hr)
        custom.append(cr)
    lim = max([abs(v) for zr in z for v in zr if v is not None] + [1])
    fig = go.Figure(
        go.Heatmap(
            x=x,
            y=y,
            z=z,
            text=text,
            texttemplate="%{text}",
            textfont={"size": 13},
            hoverinfo="skip",  # the markers below carry the hover text and the clicks
            colorscale=COLORSCALE,
            zmid=0,
            zmin=-lim,
            zmax=lim,
            xgap=2,
            ygap=2,
            colorbar={"title": {"text": "성공−장애"}, "thickness": 12},
        )
    )
    # Invisible markers on every cell make cells clickable (heatmaps have no point selection);
    # hoverinfo "skip" would also swallow clicks, so they carry the hover text instead.
    fig.add_trace(
        go.Scatter(
            x=[[c["group"] for _ in rows for c in cols], [c["label"] for _ in rows for c in cols]],
            y=[[r["dim"] for r in rows for _ in cols], [r["label"] for r in rows for _ in cols]],
            customdata=[cr for crow in custom for cr in crow],
            mode="markers",
            marker={"size": 28, "color": "rgba(0,0,0,0)"},
            hovertext=[h for hrow in hover for h in hrow],
            hoverinfo="text",
            showlegend=False,
        )
    )
    fig.update_layout(
        height=heatmap_height(rows, cols, text),
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        xaxis={"side": "top", "tickangle": -90, "tickfont": {"size": 13}},  # slanted labels overlap
        yaxis_tickfont={"size": 13},
        yaxis={"autorange": "reversed"},
        clickmode="event+select",
        dragmode=False,
    )
    return fig


def selected_cell(event: Any) -> tuple[str, str] | None:
    try:
        points = event["selection"]["points"]
    except (KeyError, TypeError):
        return None
    for pt in points or []:
        cd = pt.get("customdata")
        if isinstance(cd, (list, tuple)) and len(cd) == 2:
            return str(cd[0]), str(cd[1])
    return None


def cell_passages(
    res: Resources, category: str, case: str, query: str | None, kwargs: dict[str, Any]
) -> list[str]:
    """Passage ids of one cell: those its counts count (same query and filters, kb.api)."""
    return api.cell_passages(category, case, query, settings=res.settings, **kwargs)


def comparison(res: Resources, mx: pd.DataFrame, chosen: list[str]) -> None:
    rows, _, cells = grid(res, mx)
    fig = make_subplots(
        rows=1,
        cols=len(chosen),
        shared_yaxes=True,
        subplot_titles=[res.case_name(c) for c in chosen],
        horizontal_spacing=0.03,
    )
    labels = [r["label"] for r in rows]
    table = {"요인 factor": labels}
    lim = 1
    for i, case in enumerate(chosen, 1):
        s = [int(cells.get((r["category"], case), {}).get("success", 0)) for r in rows]
        o = [int(cells.get((r["category"], case), {}).get("obstacle", 0)) for r in rows]
        charts.add_bars(fig, labels, s, o, row=1, col=i)
        lim = max([lim, *s, *o])
        table[res.case_name(case)] = [f"{a}/{b}" if a or b else "" for a, b in zip(s, o, strict=True)]
    charts.finish(fig, len(rows), lim, top=40)  # one scale for all cases
    st.plotly_chart(fig, key="cmp_chart", width="stretch")
    st.dataframe(pd.DataFrame(table), hide_index=True, width="stretch")


def cell_of_group(row: Any) -> str:
    """'성공/장애 · 사례 n/m · 소결 a/b' for one factor × group (empty when the group has none)."""
    if row is None:
        return ""
    return (
        f"{row['success']}/{row['obstacle']} · 사례 {row['cases_success']}/{row['cases_obstacle']} · "
        f"소결 {row['summary_success']}/{row['summary_obstacle']}"
    )


def group_view(res: Resources, query: str | None, kwargs: dict[str, Any]) -> None:
    """Domestic, international and private side by side from their cases alone (표 7-1's comparison):
    success/obstacle passages per factor, and in how many of each group's cases they occur."""
    totals = api.matrix(query, settings=res.settings, by="group", **kwargs)
    if totals.empty:
        st.warning("이 범위에는 사례의 코딩된 구절이 없습니다.")
        return
    st.caption(
        "각 그룹의 사례만 합산합니다: 그룹의 개요·소결 장(연구진의 요약)은 빼고 셉니다 (사례별 보기에는 "
        "그대로 있습니다). 그룹마다 글의 양이 다르니 구절 수보다 ‘사례 수’를 비교하세요: 몇 개 사례에서 그 "
        "요인이 성공·장애로 나타나는지 (the groups' cases only, without their overview and synthesis "
        "chapters)."
    )
    labels = [res.labels.get(c, c) for c in dict.fromkeys(totals["category"])]
    groups = [g for g in ui.GROUP_KO if g in set(totals["group"])]
    fig = make_subplots(
        rows=1, cols=len(groups), shared_yaxes=True, horizontal_spacing=0.03,
        subplot_titles=[ui.GROUP_KO[g] for g in groups],
    )  # fmt: skip
    table: dict[str, list[str]] = {"요인 factor": labels}
    lim = 1
    for i, g in enumerate(groups, 1):
        mine = totals[totals["group"] == g].set_index("category")
        rows = [mine.loc[c] if c in mine.index else None for c in dict.fromkeys(totals["category"])]
        s = [0 if r is None else int(r["success"]) for r in rows]
        o = [0 if r is None else int(r["obstacle"]) for r in rows]
        charts.add_bars(fig, labels, s, o, row=1, col=i)
        lim = max([lim, *s, *o])
        n = int(mine["cases"].iloc[0])
        table[f"{ui.GROUP_KO[g]} (사례 {n}개)"] = [cell_of_group(r) for r in rows]
    charts.finish(fig, len(labels), lim, top=40)
    st.plotly_chart(fig, key="mx_groups", width="stretch")
    st.caption(
        "표: 성공/장애 구절 · 그 방향이 나타난 사례 수 (성공/장애) · 소결: 그룹의 개요·소결 장의 성공/장애 "
        "구절 (따로 셉니다: 보고서의 종합이 사례 본문에 없는 것을 말하는 곳이 보입니다)"
    )
    st.dataframe(pd.DataFrame(table), hide_index=True, width="stretch")


def render() -> None:
    res = resources()
    st.title("교차 사례 매트릭스 · Cross-case matrix")
    st.caption(
        "칸의 숫자는 성공/장애 구절 수, 그 아래 +n은 제언 구절 수, 색은 성공−장애 (초록 = 성공 우세, "
        "빨강 = 장애 우세). 문장들이 성공과 장애를 함께 담은 구절은 두 쪽에 모두 셉니다. "
        "칸을 클릭하면 구절이 열립니다."
    )
    with st.expander("범위 scope", expanded=False):
        c1, c2, c3 = st.columns(3)
        query = c1.text_input("검색어로 한정 (optional query)", key="mx_q")
        group = c2.selectbox(
            "그룹",
            [None, *ui.GROUP_KO],
            key="mx_group",
            format_func=lambda g: "전체" if g is None else ui.GROUP_KO[g],
        )
        material = filter_widgets.source(c2, "mx_source")
        reviewed = c3.toggle("검토된 코드만 (reviewed only)", key="mx_reviewed")
        confidence = filter_widgets.min_confidence(c3, "mx_min_conf")
    kwargs = {"group": group, "reviewed": reviewed, "min_confidence": confidence, "source": material}
    query = query.strip() or None
    view = st.segmented_control(
        "보기 view", ["사례별 by case", "그룹별 by group"], default="사례별 by case", key="mx_view"
    )
    if view == "그룹별 by group":
        group_view(res, query, kwargs)
        return
    mx = api.matrix(query, settings=res.settings, **kwargs)
    if mx.empty:
        st.warning("이 범위에는 코딩된 구절이 없습니다.")
        return
    event = st.plotly_chart(
        heatmap(res, mx), key="mx_chart", on_select="rerun", selection_mode="points", width="stretch"
    )
    picked = selected_cell(event)
    st.subheader("칸의 구절 · Passages in a cell")
    c1, c2 = st.columns(2)
    cats = list(res.kb.codebook.ids)
    cases = res.cases["case"].tolist()
    if "mx_factor" not in st.session_state:  # open on the fullest cell, not an empty corner
        top = mx.sort_values(["passages", "success"], ascending=False).iloc[0]
        st.session_state["mx_factor"], st.session_state["mx_case"] = top["category"], top["case"]
    if picked and picked != st.session_state.get("mx_last_pick") and picked[0] in cats and picked[1] in cases:
        # A new click on the heatmap drives the selectboxes; they stay usable on their own.
        st.session_state["mx_factor"], st.session_state["mx_case"] = picked
        st.session_state["mx_last_pick"] = picked
    factor = c1.selectbox("요인 factor", cats, key="mx_factor", format_func=lambda c: res.labels.get(c, c))
    case = c2.selectbox("사례 case", cases, key="mx_case", format_func=res.case_name)
    ids = cell_passages(res, factor, case, query, kwargs)
    if not ids:
        st.info("이 칸에는 구절이 없습니다.")
    else:
        st.caption(
            f"{len(ids)}개 구절"
            + (f" (처음 {MAX_CELL_PASSAGES}개)" if len(ids) > MAX_CELL_PASSAGES else "")
            + cell_breakdown(mx, factor, case)
        )
        ui.legend()
        for i, pid in enumerate(ids[:MAX_CELL_PASSAGES], 1):
            passage_card(res, pid, rank=i, key="mx")
    st.subheader("사례 비교 · Compare cases")
    chosen = st.multiselect(
        "비교할 사례 2–3개",
        cases,
        max_selections=3,
        key="mx_compare",
        format_func=res.case_name,
        default=[c for c in cases[:2]],
    )
    if len(chosen) >= 2:
        comparison(res, mx, chosen)
    else:
        st.caption("사례를 두 개 이상 고르세요.")


if __name__ == "__main__":
    ui.guarded(render)()
