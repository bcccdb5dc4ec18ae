"""Excel downloads of coded excerpts: what `kb export -o file.xlsx` writes, from a button.

A researcher or an official who does not use a terminal takes the excerpts behind a search or a
case profile into Excel: the workbook's first sheet has kb's columns, the second (읽기용 reading)
Korean headers and values for a briefing table. The workbook is made when the button is clicked
(Streamlit runs the callable then), not on every rerun of the page.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import streamlit as st

from kb import api
from kb.settings import Settings

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def excerpts_xlsx(settings: Settings, **selection: Any) -> Callable[[], bytes]:
    """The deferred data of a download: the excerpts of `selection` (kb.export's query, k and
    filters) as an xlsx workbook, written in a temporary folder and read back."""

    def make() -> bytes:
        with tempfile.TemporaryDirectory(prefix="kb-export-") as tmp:
            path = Path(tmp) / "excerpts.xlsx"
            api.export("xlsx", path, settings=settings, **selection)
            return path.read_bytes()

    return make


def excel_button(settings: Settings, file_name: str, key: str, **selection: Any) -> None:
    st.download_button(
        "엑셀 내려받기 (코딩된 발췌문 xlsx)",
        excerpts_xlsx(settings, **selection),
        file_name=file_name,
        mime=XLSX,
        key=key,
        on_click="ignore",
        icon=":material/table_view:",
        help="코딩된 발췌문 전체: 첫 시트는 kb의 열, 둘째 시트(읽기용)는 한국어 열 이름과 인용문·출처 "
        "(the coded excerpts; the second sheet has Korean headers for a briefing table).",
    )
