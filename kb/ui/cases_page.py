"""Case profiles: organisation, platform type and group, strongest success factors and obstacles
with exemplar quotations (interview quotes first); recommendations are listed apart, never as obstacles."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from kb import api
from kb.ui import components as ui
from kb.ui.downloads import excel_button
from kb.ui.state import Resources, resources

RECOMMENDATION_HELP = (
    "무엇을 해야 하는지에 대한 제언(다른 주체를 향한 권고, 일반 처방). 사례 자신의 장애 요인으로 세지 않는다."
)


def quote(res: Resources, pid: str, text: str, category: str) -> None:
    p = res.kb.passage_by_id[pid]
    who = f"{p['speaker']}: " if p.get("speaker") else ""
    st.markdown("> " + ui.md_escape(who + text))
    kind = ui.KIND_KO.get(p.get("kind") or "", "")
    code = next((c for c in res.kb.codes_for(pid) if c["category"] == category), None)
    checked = code is not None and code.get("source") == "human"
    st.caption(
        f":material/description: {ui.md_escape(res.citation(pid))}"
        + (f" · {kind}" if kind else "")
        + f" · `{pid}`"
        + (f" · :material/verified: {ui.md_escape(code.get('reviewer') or '')}" if checked else "")
    )


def factor_column(
    res: Resources, factors: list[dict[str, Any]], polarity: str, title: str, more: list[dict[str, Any]]
) -> None:
    st.subheader(title)
    if not factors:
        st.caption("코딩된 구절이 없습니다.")
        return
    for row in factors:
        label = res.labels.get(row["category"], row["category"])
        text = f"{ui.POLARITY_ICON[polarity]} {label} · 구절 {row['passages']}개"
        chip = ui.badge(text, ui.POLARITY_COLOR[polarity])
        st.markdown(chip)
        for pid, text in zip(row["exemplars"], row["quotes"], strict=True):
            quote(res, pid, text, row["category"])
    if more:
        others = ", ".join(f"{res.labels.get(m['category'], m['category'])} {m['passages']}개" for m in more)
        st.caption(
            f":material/more_horiz: 그 밖의 요인 (also): {ui.md_escape(others)} – 구절이 더 적어 위에 "
            "인용하지 않았습니다. 교차 사례 매트릭스에서 이 사례의 칸을 누르면 구절을 볼 수 있습니다."
        )


def first_platform(cases: pd.DataFrame) -> int:
    """Where the page opens: the first platform case, not the chapter overview that sorts first."""
    kinds = cases["platform_type"].tolist()
    return next((i for i, t in enumerate(kinds) if t not in ("overview", "synthesis")), 0)


def render() -> None:
    res = resources()
    st.title("사례 프로필 · Case profiles")
    cases = res.cases
    ids, first = cases["case"].tolist(), first_platform(cases)
    case = st.selectbox("사례 case", ids, index=first, key="cp_case", format_func=res.case_name)
    info = api.case_profile(case, settings=res.settings)
    st.header(info["name_ko"])
    if info["name_en"] and info["name_en"] != info["name_ko"]:  # no English name given: said once
        st.caption(ui.md_escape(info["name_en"]))
    st.markdown(
        " ".join(
            [
                ui.group_badge(info["group"]),
                ui.badge(ui.PLATFORM_KO.get(info["platform_type"], info["platform_type"]), "gray"),
            ]
        )
    )
    st.markdown("**운영 조직 organisation:** " + ui.md_escape(info["organization"] or "—"))
    excel_button(res.settings, f"kb_{case}.xlsx", "cp_xlsx", case=case)
    counts, factors = info["codes"], info["factors"]
    m = st.columns(5)
    m[0].metric("구절 passages", info["passages"])
    m[1].metric("코딩된 구절 coded", info["coded"])
    m[2].metric("성공 요인 코드", counts["success"])
    m[3].metric("장애 요인 코드", counts["obstacle"])
    m[4].metric("제언 코드", counts["recommendation"], help=RECOMMENDATION_HELP)
    left, right = st.columns(2)
    with left:
        factor_column(res, factors["success"], "success", "강점 · 성공 요인", info["more"]["success"])
    with right:
        factor_column(res, factors["obstacle"], "obstacle", "약점 · 장애 요인", info["more"]["obstacle"])
    if counts["recommendation"]:
        factor_column(
            res,
            factors["recommendation"],
            "recommendation",
            "제언 · 다른 주체에 대한 권고 (장애 요인에 포함하지 않음)",
            info["more"]["recommendation"],
        )


if __name__ == "__main__":
    ui.guarded(render)()
