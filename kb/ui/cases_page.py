"""Case profiles: organisation, platform type and group, strongest success factors and obstacles
with exemplar quotations (interview quotes first); recommendations are listed apart, never as obstacles."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from kb.ui import components as ui
from kb.ui.cards import carrying_sentences
from kb.ui.state import Resources, resources

TOP = 4
KIND_ORDER = {"quote": 0, "narrative": 1, "summary": 2, "table": 3}
RECOMMENDATION_HELP = (
    "무엇을 해야 하는지에 대한 제언(다른 주체를 향한 권고, 일반 처방). 사례 자신의 장애 요인으로 세지 않는다."
)


def case_codes(res: Resources, case: str) -> pd.DataFrame:
    """Effective codes of one case's passages, with the passage kind for exemplar ordering."""
    codes = res.kb.codes_df()
    pdf = res.kb.passages_df
    codes = codes[codes["passage_id"].map(pdf["case"]) == case]
    return codes.assign(kind=codes["passage_id"].map(pdf["kind"]).fillna("narrative"))


def strongest(codes: pd.DataFrame, polarity: str, top: int = TOP) -> pd.DataFrame:
    """Factors with the most passages of this polarity; ties by summed confidence."""
    sub = codes[codes["polarity"] == polarity]
    if sub.empty:
        return pd.DataFrame(columns=["category", "passages", "weight"])
    agg = sub.groupby("category").agg(passages=("passage_id", "nunique"), weight=("confidence", "sum"))
    return agg.sort_values(["passages", "weight"], ascending=False).head(top).reset_index()


def exemplars(codes: pd.DataFrame, category: str, polarity: str, n: int = 2) -> list[str]:
    """Passage ids to quote: kind=quote first, then human-reviewed, then most confident."""
    sub = codes[(codes["category"] == category) & (codes["polarity"] == polarity)]
    sub = sub.assign(k=sub["kind"].map(KIND_ORDER).fillna(9), h=(sub["source"] != "human").astype(int))
    sub = sub.sort_values(["k", "h", "confidence"], ascending=[True, True, False], kind="stable")
    return list(dict.fromkeys(sub["passage_id"]))[:n]


def quote(res: Resources, pid: str, category: str) -> None:
    p = res.kb.passage_by_id[pid]
    sents = carrying_sentences(res, pid, p["text"], category) or [p["text"]]
    text = " … ".join(sents)
    who = f"{p['speaker']}: " if p.get("speaker") else ""
    st.markdown("> " + ui.md_escape(who + text))
    kind = ui.KIND_KO.get(p.get("kind") or "", "")
    st.caption(f":material/description: {ui.md_escape(ui.citation(p))}" + (f" · {kind}" if kind else ""))


def factor_column(res: Resources, codes: pd.DataFrame, polarity: str, title: str) -> None:
    st.subheader(title)
    top = strongest(codes, polarity)
    if top.empty:
        st.caption("코딩된 구절이 없습니다.")
        return
    for row in top.to_dict("records"):
        label = res.labels.get(row["category"], row["category"])
        text = f"{ui.POLARITY_ICON[polarity]} {label} · 구절 {row['passages']}개"
        chip = ui.badge(text, ui.POLARITY_COLOR[polarity])
        st.markdown(chip)
        for pid in exemplars(codes, row["category"], polarity):
            quote(res, pid, row["category"])


def render() -> None:
    res = resources()
    st.title("사례 프로필 · Case profiles")
    cases = res.cases
    case = st.selectbox("사례 case", cases["case"].tolist(), key="cp_case", format_func=res.case_name)
    info = cases[cases["case"] == case].iloc[0]
    st.header(info["name_ko"])
    if info["name_en"]:
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
    codes = case_codes(res, case)
    n_pass = int((res.kb.passages_df["case"] == case).sum())
    m = st.columns(5)
    m[0].metric("구절 passages", n_pass)
    m[1].metric("코딩된 구절 coded", codes["passage_id"].nunique())
    m[2].metric("성공 요인 코드", int((codes["polarity"] == "success").sum()))
    m[3].metric("장애 요인 코드", int((codes["polarity"] == "obstacle").sum()))
    m[4].metric("제언 코드", int((codes["polarity"] == "recommendation").sum()), help=RECOMMENDATION_HELP)
    left, right = st.columns(2)
    with left:
        factor_column(res, codes, "success", "강점 · 성공 요인")
    with right:
        factor_column(res, codes, "obstacle", "약점 · 장애 요인")
    if (codes["polarity"] == "recommendation").any():
        factor_column(
            res, codes, "recommendation", "제언 · 다른 주체에 대한 권고 (장애 요인에 포함하지 않음)"
        )


if __name__ == "__main__":
    ui.guarded(render)()
