"""Codebook and agreement: categories with definitions and examples; auto coder vs humans and
coder vs coder agreement per category (precision, recall, Krippendorff's α)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd
import streamlit as st

from kb import api
from kb.errors import KbError
from kb.ui import components as ui
from kb.ui.resolve_panel import resolve_panel
from kb.ui.state import Resources, resources

FMT = {
    "precision": "{:.2f}",
    "recall": "{:.2f}",
    "f1": "{:.2f}",
    "alpha": "{:.2f}",
    "polarity_agreement": "{:.0%}",
    "agreement": "{:.0%}",
    "factor_agreement": "{:.0%}",
    "factor_alpha": "{:.2f}",
}


def categories(res: Resources) -> None:
    book = res.kb.codebook
    for dim in book.dimensions:
        st.subheader(f"{dim.label_ko} · {dim.label_en}")
        for c in book.in_dimension(dim.id):
            with st.expander(f"{c.label_ko} · {c.label_en}  (`{c.id}`)"):
                st.markdown(ui.md_escape(c.definition))
                if c.definition_en:
                    st.caption(ui.md_escape(c.definition_en))
                cols = st.columns(2)
                if c.include:
                    cols[0].markdown(
                        "**포함 include**  \n" + "  \n".join("• " + ui.md_escape(r) for r in c.include)
                    )
                if c.exclude:
                    cols[1].markdown(
                        "**제외 exclude**  \n" + "  \n".join("• " + ui.md_escape(r) for r in c.exclude)
                    )
                if c.examples:
                    st.markdown("**예시 examples**")
                    for ex in c.examples:
                        chip = ui.badge(
                            ui.POLARITY_KO.get(ex.polarity, ex.polarity), ui.POLARITY_COLOR[ex.polarity]
                        )
                        src = f" — {ui.md_escape(ex.source)}" if ex.source else ""
                        st.markdown(f"{chip} {ui.md_escape(ex.text)}{src}")
                if c.cues:
                    st.caption("단서어 cues: " + ui.md_escape(", ".join(c.cues)))


def _styled(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    for col, fmt in FMT.items():
        if col in out:
            out[col] = out[col].map(lambda v, f=fmt: "—" if pd.isna(v) else f.format(v))
    return out


def agreement_section(res: Resources) -> None:
    st.subheader("자동 코더 vs 코더 · auto coder vs human decisions")
    st.caption(
        "검토된 구절의 (구절, 요인) 단위. 정밀도 = 수락 / (수락 + 거절), 재현율 = 수락 / (수락 + 추가). "
        "α = Krippendorff's alpha (nominal); 값이 한 가지뿐이면 정의되지 않음 (—)."
    )
    tables = api.agreement(res.settings)
    auto = tables["auto_vs_human"]
    learned = tables["learned_passages"]
    if learned:
        st.caption(
            f":material/school: 지금의 자동 코더가 학습한 검토 구절 {learned}개는 빼고 계산합니다: 거기서는 "
            "자기 답과 비교하는 셈입니다 (passages the current coder was trained on are left out). "
            "그 뒤에 검토한 구절로 일치도가 다시 쌓입니다."
        )
    if tables["decided_units"] == 0:
        none_yet = "재학습 뒤에 검토한 구절이" if learned else "검토 결정이"
        st.info(
            f"아직 {none_yet} 없습니다. ‘코딩 검토’ 페이지에서 구절을 검토하면 여기에 일치도가 나타납니다."
        )
    else:
        st.dataframe(_styled(auto), hide_index=True, width="stretch")
    st.subheader("코더 간 일치도 · between coders")
    coders = tables["between_coders"]
    if coders.empty:
        st.caption("같은 구절을 검토한 코더가 두 명 이상일 때 계산됩니다.")
    else:
        st.caption(
            "agreement·alpha: 요인과 극성이 모두 같아야 일치 · factor_agreement·factor_alpha: 요인만 비교 "
            "(같은 구절을 두 코더가 모두 검토한 단위)"
        )
        st.dataframe(_styled(coders), hide_index=True, width="stretch")
        differ = tables["disagreements"]
        st.markdown(f"**코더 간 불일치 · disagreements ({len(differ)})**")
        st.caption(
            "두 코더가 같은 (구절, 요인)을 다르게 코딩한 곳입니다: 다른 극성, 수락과 거절, 한 코더만 추가한 "
            "요인 (not coded: 다른 코더는 그 구절을 마치고도 코딩하지 않음). "
            "판정(resolution) 전에는 검색·매트릭스에 나중 결정이 쓰이고 ‘⚠ 코더 불일치’로 표시되며, "
            "앞의 결정은 기록에 남습니다. 합의해 ‘코딩 검토’에서 같게 고치거나, 판정자가 아래에서 "
            "최종 코드를 정하세요: 코더 간 일치도는 판정 전 그대로 남습니다."
        )
        if not differ.empty:
            st.dataframe(differ, hide_index=True, width="stretch")
            resolve_panel(res, differ)


def outside_codes_section(res: Resources) -> None:
    """A coder's own file (coded beside `kb export --unit sentence`) against the auto codes."""
    st.subheader("내 코딩 파일과 비교 · your own coding vs the auto coder")
    st.caption(
        "`kb export --unit sentence`로 내려받은 문장에 직접 코딩한 파일(.csv, .xlsx): "
        "한 행에 문장 하나 × 코드 하나, 열은 sentence_id · category(요인 id나 이름) · "
        "polarity(성공 요인/장애 요인/중립/제언). "
        "아무 코드도 없는 문장은 category를 비워 두세요. 파일에 있는 문장만 비교합니다 (passage_id 열이면 "
        "구절 단위). 파일은 이 화면에서만 읽고 저장하지 않습니다."
    )
    upload = st.file_uploader("코딩 파일 codes file", type=["csv", "tsv", "xlsx"], key="cb_codes_file")
    cols = st.columns(2)
    category_column = cols[0].text_input("요인 열 factor column", value="category", key="cb_codes_cat")
    polarity_column = cols[1].text_input("극성 열 polarity column", value="polarity", key="cb_codes_pol")
    if upload is None:
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / ("codes" + Path(upload.name).suffix.lower())
        path.write_bytes(upload.getvalue())
        try:
            got = api.compare_codes(
                path, category_column=category_column, polarity_column=polarity_column, settings=res.settings
            )
        except KbError as exc:
            st.error(f"{upload.name}: {exc}")
            return
    unit = "문장" if got["unit"] == "sentence" else "구절"
    by_factor, differ = got["by_factor"], got["disagreements"]
    st.markdown(f"**{ui.md_escape(upload.name)}** · {unit} {got['units']}개를 비교했습니다")
    st.caption(
        "both = 둘 다 코딩 · only_file = 내 파일에만 · only_kb = 자동 코더에만 · "
        "agreement = 요인 유무가 같은 비율 · α = Krippendorff's alpha · "
        "polarity_agreement = 둘 다 코딩한 곳에서 극성이 같은 비율"
    )
    st.dataframe(_styled(by_factor.drop(columns=["label_en"])), hide_index=True, width="stretch")
    st.markdown(f"**불일치 · disagreements ({len(differ)})**")
    if not differ.empty:
        st.dataframe(differ, hide_index=True, width="stretch")


def render() -> None:
    res = resources()
    st.title("코드북 · 일치도 Codebook & agreement")
    tab_book, tab_agree = st.tabs(["코드북 codebook", "일치도 agreement"])
    with tab_book:
        categories(res)
    with tab_agree:
        agreement_section(res)
        outside_codes_section(res)


if __name__ == "__main__":
    ui.guarded(render)()
