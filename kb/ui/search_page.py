"""Search page: one query box, filters, result cards, the question across cases, a table, CSV download."""

from __future__ import annotations

import time
from typing import Any

import pandas as pd
import streamlit as st

from kb import api
from kb.records import POLARITIES
from kb.ui import across_view, filter_widgets
from kb.ui import components as ui
from kb.ui.cards import passage_card
from kb.ui.downloads import excel_button
from kb.ui.state import Resources, resources

ALL = None


def _opt(
    label: str, values: list[str], fmt: dict[str, str], key: str, col: Any, help: str | None = None
) -> str | None:
    return col.selectbox(
        label,
        [ALL, *values],
        format_func=lambda v: "전체" if v is None else fmt.get(v, v),
        key=key,
        help=help,
    )


FACTOR_HELP = (
    "보고서 분석틀(제2장 제4절)의 요인: 리더십, 인적 자원, 재정 자원 등 {n}개. "
    "자동 코더가 구절마다 어떤 요인을 말하는지 표시(코딩)해 두었습니다 "
    "(the report's factors; each passage is coded with the ones it speaks of)."
)
POLARITY_HELP = (
    "극성 = 구절이 그 요인을 어느 방향으로 말하는가: 성공 요인(도움이 됨), 장애 요인(걸림돌·부족), "
    "중립(설명만), 제언(무엇을 해야 하는지에 대한 권고) (the direction: success, obstacle, neutral, "
    "recommendation)."
)


FILTER_KEYS = (
    "f_group", "f_case", "f_ptype", "f_factor", "f_polarity", "f_reviewed", "f_min_conf", "f_source",
)  # fmt: skip


def filters(res: Resources) -> dict[str, Any]:
    """The filter widgets; returns keyword arguments for kb.api.search / kb.api.matrix."""
    cases = res.cases
    c1, c2, c3 = st.columns(3)
    group = _opt("그룹 group", list(ui.GROUP_KO), ui.GROUP_KO, "f_group", c1)
    shown = cases if group is None else cases[cases["group"] == group]
    case = _opt(
        "사례 case",
        shown["case"].tolist(),
        dict(zip(cases["case"], cases["name_ko"], strict=True)),
        "f_case",
        c2,
    )
    ptypes = [t for t in ui.PLATFORM_KO if t in set(cases["platform_type"])]
    platform_type = _opt("플랫폼 유형 platform type", ptypes, ui.PLATFORM_KO, "f_ptype", c3)
    material = filter_widgets.source(c3, "f_source")
    c4, c5, c6 = st.columns(3)
    ids = list(res.kb.codebook.ids)
    factor = _opt("요인 factor", ids, res.labels, "f_factor", c4, FACTOR_HELP.format(n=len(ids)))
    polarity = _opt("극성 polarity", list(POLARITIES), ui.POLARITY_KO, "f_polarity", c5, POLARITY_HELP)
    reviewed = c6.toggle("검토된 구절만 (reviewed only)", key="f_reviewed")
    confidence = filter_widgets.min_confidence(c6, "f_min_conf")
    return {
        "group": group,
        "case": case,
        "platform_type": platform_type,
        "factor": factor,
        "polarity": polarity,
        "reviewed": reviewed,
        "min_confidence": confidence,
        "source": material,
    }


def results_table(res: Resources, df: pd.DataFrame) -> pd.DataFrame:
    """A flat, downloadable view of the results (codes as 'label (polarity)')."""

    def codes_text(codes: list[dict[str, Any]]) -> str:
        parts = []
        for c in codes:
            pol = ui.POLARITY_KO.get(c["polarity"], c["polarity"])
            reviewed = ", 검토" if c.get("source") == "human" else ""
            parts.append(f"{res.labels.get(c['category'], c['category'])} ({pol}{reviewed})")
        return "; ".join(parts)

    def codes_ids(codes: list[dict[str, Any]]) -> str:  # for scripts: ids as `kb export` writes them
        return "; ".join(f"{c['category']}:{c['polarity']}" for c in codes)

    return pd.DataFrame(
        {
            "순위 rank": range(1, len(df) + 1),
            "사례 case": df["case_name"],
            "그룹 group": df["group"].map(lambda g: ui.GROUP_KO.get(g, g)),
            "요인 (극성)": df["codes"].map(codes_text),
            "codes": df["codes"].map(codes_ids),
            "주 극성 polarity": df["polarity"].map(lambda p: ui.POLARITY_KO.get(p, p)),
            "인용 citation": [res.citation(pid, full=True) for pid in df["id"]],  # footnote-ready
            "출처 section": df["section"],
            "쪽 page": df["page"],
            "유형 kind": df["kind"],
            "구절 text": df["text"],
            "점수 score": df["score"],
            "id": df["id"],
        }
    )


SCOPE = (
    "보고서 제4–6장(국내·해외 사례, 민간 기업 면담, 각 장의 개요와 소결)과 추가한 면담 자료를 검색합니다. "
    "제1–3장과 제7장(결론 및 정책 제언)은 들어 있지 않습니다 (the report's chapters 4–6 and added "
    "transcripts; chapters 1–3 and 7 are not in the knowledge base)."
)
RECOMMENDATIONS_SCOPE = (
    "여기의 제언은 사례 장과 소결, 면담에서 나온 것입니다. 보고서가 지방자치단체에 권고하는 정책 제언(제7장 "
    "제2–3절)은 지식베이스에 없으니 보고서 원문을 보세요 (the report's own recommendations, chapter 7, are "
    "not in the knowledge base: these come from the case chapters, their summaries and interviews)."
)


def narrow_to(factor: str, polarity: str) -> None:
    """Button callback: set the factor and polarity filters before their widgets are drawn again."""
    st.session_state["f_factor"], st.session_state["f_polarity"] = factor, polarity


def reading_bar(res: Resources, query: str, df: pd.DataFrame, kwargs: dict[str, Any]) -> None:
    """When the question names a direction ("what held back …"), say how search read it, how many
    results carry that reading, and offer to narrow the cards to it: the ranking is by relevance,
    so a question about obstacles can lead with a passage about the same factor's success. When none
    of its words occur in the corpus, warn that the results may not be about it at all."""
    read = api.question_intent(query, settings=res.settings)
    if not read["corpus_words"]:
        st.warning(
            "질문의 낱말이 자료에 하나도 없습니다. 아래 결과는 의미가 가장 가까운 구절일 뿐, 질문과 관계가 "
            "없을 수 있습니다 (none of the question's words occur in the corpus).",
            icon=":material/help:",
        )
        return
    pol, factors = read["polarity"], read["factors"]
    if pol is None or not factors or (kwargs["polarity"] == pol and kwargs["factor"] in factors):
        return
    names = ", ".join(res.labels.get(c, c) for c in factors)
    carrying = sum(  # a code of that direction, or one whose sentence carries it (`also`), as the filter
        any(c["category"] in factors and pol in (c["polarity"], *(c.get("also") or {})) for c in codes or [])
        for codes in df["codes"]
    )
    direction = ui.POLARITY_KO.get(pol, pol)
    left, right = st.columns([3, 2], vertical_alignment="center")
    left.markdown(
        # the space after the names: a bold run that ends in ")" and runs into a particle does not render
        f"{ui.POLARITY_ICON.get(pol, '')} 질문을 **{ui.md_escape(names)}** 요인의 **{direction}**을 "
        f"묻는 것으로 읽었습니다. 결과 {len(df)}개 중 {carrying}개에 그 코드가 있습니다. "
        "순위는 관련도 순이고 방향은 그 신호 중 하나일 뿐이라 다른 방향의 구절이 앞설 수 있습니다 "
        f"(read as: {pol}; the direction is one ranking signal among several, so passages of another "
        "direction can come first)."
    )
    first = factors[0]
    right.button(
        f"{res.labels.get(first, first)} · {direction} 구절만 보기",
        key="narrow_reading",
        on_click=narrow_to,
        args=(first, pol),
        help="요인·극성 필터를 이 읽기로 맞춥니다 (sets the factor and polarity filters above).",
    )
    if pol == "recommendation":
        st.caption(f":material/info: {RECOMMENDATIONS_SCOPE}")


def direction_note(df: pd.DataFrame, kwargs: dict[str, Any]) -> None:
    """Under a direction filter, say how many cards pass only by one sentence of that direction: their
    chip shows the other direction first, and the filter looked broken to a tester."""
    pol, factor = kwargs.get("polarity"), kwargs.get("factor")
    if not pol:
        return
    own = sum(
        any(c["polarity"] == pol and factor in (None, c["category"]) for c in codes or [])
        for codes in df["codes"]
    )
    if own < len(df):
        direction, by_sentence = ui.POLARITY_KO.get(pol, pol), len(df) - own
        st.caption(
            f":material/info: {direction} 필터: {own}개는 코드의 방향이 {direction}이고, {by_sentence}개는 "
            f"다른 방향의 코드에 {direction} 문장이 있는 구절입니다 "
            f"(칩의 '＋{direction} 문장', 색칠된 문장). "
            f"({by_sentence} pass by one sentence of that direction.)"
        )


def render() -> None:
    res = resources()
    st.title("검색 · Search")
    st.caption("성공 요인과 장애 요인을 사례 전체에서 찾습니다. 한국어 또는 영어로 질문하세요.")
    query = st.text_input(
        "질문 또는 키워드 (Korean or English)",
        key="q",
        placeholder="예: 주민 참여가 저조했던 이유 · budget shortage · 단체장의 관심",
    )
    # open until a question is asked, so the first results show on a laptop screen; a set filter
    # keeps it open and is counted in its label
    active = sum(bool(st.session_state.get(key)) for key in FILTER_KEYS)
    label = f"필터 filters · {active}개 적용 중" if active else "필터 filters"
    with st.expander(label, expanded=not query.strip() or bool(active)):
        kwargs = filters(res)
    k = st.sidebar.slider("결과 수 (results)", 5, 50, 10, step=5, key="f_k")
    if not query.strip():
        n = len(res.kb.passages)
        st.info(f"구절 {n:,}개 · 사례 {len(res.cases)}개가 있습니다. 위에 질문을 입력하세요.")
        st.caption(f":material/info: {SCOPE}")
        return
    t0 = time.perf_counter()
    df = api.search(query, k, settings=res.settings, **kwargs)
    took = time.perf_counter() - t0
    if df.empty:
        st.warning("조건에 맞는 구절이 없습니다. 필터를 줄이거나 다른 표현으로 검색해 보세요.")
        return
    st.caption(f"{len(df)}개 결과 · {took * 1000:.0f} ms")
    direction_note(df, kwargs)
    reading_bar(res, query, df, kwargs)
    ui.legend()
    st.caption(":violet-background[검색어와 가장 잘 맞는 문장 (best-matching sentence)]")
    tab_cards, tab_across, tab_table = st.tabs(["카드 cards", "사례별 across cases", "표 table"])
    with tab_cards:
        for i, row in enumerate(df.to_dict("records"), 1):
            passage_card(
                res,
                row["id"],
                rank=i,
                query_terms=list(row["query_terms"] or []),
                key="s",
                match=row.get("match"),
            )
    with tab_across:
        across_view.render(res, query, kwargs)
    with tab_table:
        table = results_table(res, df)
        st.dataframe(table, hide_index=True, width="stretch")
        from kb.exchange.spreadsheet import csv_bytes

        left, right = st.columns(2)
        left.download_button(
            "CSV 내려받기 (download)",
            csv_bytes(table),
            file_name="kb_search_results.csv",
            mime="text/csv",
            key="dl_search",
        )
        with right:
            excel_button(res.settings, "kb_excerpts.xlsx", "dl_search_xlsx", query=query, k=k, **kwargs)


if __name__ == "__main__":
    ui.guarded(render)()
