"""Shared widgets: labels, badges, factor chips, highlighted passages, and the page error guard.

Passage text and user input are never HTML: every string goes through `md_escape` and colour
comes only from Streamlit's own `:color-background[...]` / `:color-badge[...]` directives.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import streamlit as st

from kb import records
from kb.errors import KbError
from kb.records import GROUP_KO  # noqa: F401 - the pages' name for it (ui.GROUP_KO)

log = logging.getLogger("kb.ui")

GROUP_COLOR = {"domestic": "blue", "international": "violet", "private": "orange"}
PLATFORM_KO = {
    "information": "정보제공형",
    "policy_proposal": "정책 제안형",
    "private_brokerage": "민간역량중개형",
    "service": "서비스 제공형",
    "private_platform": "민간 플랫폼",
    "synthesis": "소결 (종합)",
    "overview": "개요",
}
POLARITY_KO = {**records.POLARITY_KO, records.NO_POLARITY: "코드 없음"}
POLARITY_COLOR = {
    "success": "green",
    "obstacle": "red",
    "neutral": "gray",
    "recommendation": "blue",
    "none": "gray",
}
POLARITY_ICON = {"success": "▲", "obstacle": "▼", "neutral": "●", "recommendation": "➜", "none": "○"}
HOURGLASS = ":material/hourglass_top:"  # status icon; an emoji would render as a box without an emoji font
SHORT_NAME = {
    "gyeonggi_bis": "경기 버스정보",
    "eunpyeong_forest": "은평 참여의 큰숲",
    "gyeonggi_delivery": "경기 배달특급",
    "domestic_synthesis": "국내 소결",
    "singapore_smart_nation": "싱가포르",
    "london_talk_london": "런던",
    "amsterdam_smart_city": "암스테르담",
    "international_synthesis": "해외 소결",
    "daangn": "당근마켓",
    "gangnam_unni": "강남언니",
    "baemin": "배달의민족",
    "private:unattributed": "민간 (미귀속)",
    "private_synthesis": "민간 소결",
}
KIND_KO = {"narrative": "서술", "quote": "인용 (면담)", "summary": "요약", "table": "표"}

# Every ASCII punctuation mark CommonMark allows escaping that could start markup
# (emphasis, links, directives like :red[...], math $...$, strikethrough ~, html <...>).
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:=^&])")


def md_escape(text: Any) -> str:
    """Text shown literally by st.markdown: markdown specials backslash-escaped, lines kept."""
    s = _MD_SPECIAL.sub(r"\\\1", "" if text is None else str(text))
    return s.replace("\r", "").replace("\n", "  \n")


def badge(label: str, color: str, icon: str = "") -> str:
    """Markdown for a coloured badge around escaped text (`icon`: a Material icon name)."""
    mark = f":material/{icon}: " if icon else ""
    return f":{color}-badge[{mark}{md_escape(label)}]"


def group_badge(group: str | None) -> str:
    return badge(GROUP_KO.get(group or "", group or "?"), GROUP_COLOR.get(group or "", "gray"))


def case_badge(name: str | None) -> str:
    return badge(name or "?", "primary")


def factor_chip(code: dict[str, Any], labels: dict[str, str], *, show_conf: bool = True) -> str:
    """A chip for one code, coloured by polarity; a check icon marks a human decision; "＋장애 문장"
    when one of its sentences carries another direction (the matrix counts the passage there too). An
    auto code shows how sure the coder is of the factor and, apart, of the direction."""
    pol = code.get("polarity") or "neutral"
    label = labels.get(code["category"], code["category"])
    auto = code.get("source") != "human"
    # each share next to what it measures: "97%" after the direction read as "97% sure it is a success"
    # when the direction itself was a 63% call
    text = f"{POLARITY_ICON.get(pol, '')} {label}{_share(code.get('confidence'), auto and show_conf)}"
    text += f" · {POLARITY_KO.get(pol, pol)}{_share(code.get('polarity_confidence'), auto and show_conf)}"
    also = code.get("also") or {}
    if also:
        text += " " + " ".join(f"＋{POLARITY_KO.get(p, p)} 문장" for p in also)
    if code.get("source") == "human":
        agreed = code.get("agreed_by") or []  # double-coded alike: every coder, not only the last
        who = f"{' · '.join(agreed)} 합의" if agreed else code.get("reviewer") or "검토됨"
        text = f"{text} ({who})"
        if code.get("disputed"):  # coders differ on it: the later decision counts until they agree
            text += " · ⚠ 코더 불일치"
        return badge(text, POLARITY_COLOR.get(pol, "gray"), icon="verified")
    if code.get("fallback"):  # below the factor's threshold: the sentence's best guess, worth a look
        text += " · 약한 근거"
    return badge(text, POLARITY_COLOR.get(pol, "gray"))


def _share(value: Any, shown: bool) -> str:
    return f" {float(value):.0%}" if shown and value is not None and value == value else ""  # NaN: none


def chips(codes: Iterable[dict[str, Any]], labels: dict[str, str]) -> str:
    return " ".join(factor_chip(c, labels) for c in codes) or badge("코드 없음", "gray")


# ---- highlighting ---------------------------------------------------------------------------
def term_spans(text: str, query_terms: Sequence[str]) -> list[tuple[int, int]]:
    """Character spans of the text's search terms (kb.text.morphs) that are query terms."""
    if not query_terms or not text:
        return []
    from kb.text.morphs import term_spans as spans

    wanted = set(query_terms)
    return [(s, e) for term, s, e in spans(text) if term in wanted]


def highlight(
    text: str,
    terms: Sequence[tuple[int, int]] = (),
    sentences: Sequence[tuple[int, int, str]] = (),
) -> str:
    """Markdown of `text` with coded sentences on a polarity background and query terms bold blue.

    `sentences` are (start, end, polarity) in text offsets. Each line of a sentence is one background
    span with its query terms inside: a background split at every term showed a padded gap between a
    noun and its particle (주민 들의), which reads as a spacing error in Korean.
    """
    cuts = {0, len(text)}
    for s, e, _ in sentences:
        cuts.update((max(0, s), min(len(text), e)))
    points = sorted(cuts)
    out = []
    for a, b in zip(points, points[1:], strict=False):
        if a < b:
            pol = next((p for s, e, p in sentences if s <= a < e), None)
            out.append(_styled(text, a, b, pol, terms))
    return "".join(out)


def _styled(text: str, start: int, end: int, polarity: str | None, terms: Sequence[tuple[int, int]]) -> str:
    styled, line_start = [], start
    for line in text[start:end].split("\n"):
        line_end = line_start + len(line)
        inner = _with_terms(text, line_start, line_end, terms)
        if polarity and line.strip():
            inner = f":{POLARITY_COLOR.get(polarity, 'gray')}-background[{inner}]"
        styled.append(inner)
        line_start = line_end + 1
    return "  \n".join(styled)


def _with_terms(text: str, start: int, end: int, terms: Sequence[tuple[int, int]]) -> str:
    """text[start:end] escaped, its query terms bold blue (trimmed: emphasis cannot end in a space)."""
    inside = sorted((max(s, start), min(e, end)) for s, e in terms if s < end and e > start)
    out, at = [], start
    for s, e in inside:
        if s < at:
            continue
        word = text[s:e]
        core = word.strip()
        if not core:
            continue
        lead = len(word) - len(word.lstrip())
        out.append(md_escape(text[at : s + lead]))
        out.append(f":blue[**{md_escape(core)}**]")
        at = s + lead + len(core)
    out.append(md_escape(text[at:end]))
    return "".join(out)


def legend() -> None:
    st.caption(
        ":green-background[성공 요인 문장] · :red-background[장애 요인 문장] · "
        ":gray-background[중립 문장] · :blue[**검색어**] · "
        ":material/verified: = 코더가 검토한 코드 · 요인 뒤 %, 방향 뒤 % = 자동 코더가 요인과 방향을 "
        "각각 확신하는 정도"
    )


# ---- page guard -----------------------------------------------------------------------------
def guarded(render: Callable[[], None]) -> Callable[[], None]:
    """Run a page; a KbError becomes one st.error line, anything else a short message (no traceback)."""

    @functools.wraps(render)
    def run() -> None:
        try:
            render()
        except KbError as exc:
            st.error(str(exc), icon=":material/error:")
        except Exception as exc:  # noqa: BLE001 - the page must not show a traceback
            log.exception("page %s failed", getattr(render, "__name__", "?"))
            st.error(
                f"예기치 못한 오류 (unexpected error): {exc.__class__.__name__}: {exc}",
                icon=":material/error:",
            )

    return run
