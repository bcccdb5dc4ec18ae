"""Case metadata table: the one place that says what each case id means.

Extraction, segmentation, retrieval filters and the app all read these rows, so names,
groups and platform types stay identical everywhere (ids are fixed by the team contract).
`ALIASES` lists the names under which the report mentions each private company; it drives
passage attribution in chapter 6.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

from kb import records

__all__ = [
    "Case",
    "CASES",
    "ALIASES",
    "UNATTRIBUTED",
    "GROUPS",
    "PLATFORM_TYPES",
    "get_case",
    "companies_named",
]

GROUPS = ("domestic", "international", "private")
PLATFORM_TYPES = (
    "information",
    "policy_proposal",
    "private_brokerage",
    "service",  # a public service booked or delivered through the platform (care, parking, facilities)
    "private_platform",
    "synthesis",
    "overview",
)
UNATTRIBUTED = "private:unattributed"


@dataclass(frozen=True)
class Case:
    id: str
    name_ko: str
    name_en: str
    group: str
    platform_type: str
    organization: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


_ROWS = [
    Case(
        "domestic_overview",
        "국내 사례 분석 개요",
        "Domestic case analysis: overview",
        "domestic",
        "overview",
        "한국지방행정연구원 연구진",
    ),
    Case(
        "gyeonggi_bis",
        "경기도 버스정보시스템",
        "Gyeonggi-do Bus Information System (BIS)",
        "domestic",
        "information",
        "경기도 교통정보과 버스정보팀",
    ),
    Case(
        "eunpyeong_forest",
        "서울시 은평구 참여의 큰숲",
        "Eunpyeong-gu (Seoul) 'Big Forest of Participation'",
        "domestic",
        "policy_proposal",
        "서울특별시 은평구 협치담당관 참여구정팀",
    ),
    Case(
        "gyeonggi_delivery",
        "경기도주식회사 배달특급·공정구매 플랫폼",
        "Gyeonggi Province Corporation: Baedal Teukgeup and Fair Purchase Platform",
        "domestic",
        "private_brokerage",
        "경기도주식회사",
    ),
    Case(
        "domestic_synthesis",
        "국내 사례 소결",
        "Domestic cases: synthesis",
        "domestic",
        "synthesis",
        "한국지방행정연구원 연구진",
    ),
    Case(
        "international_overview",
        "해외 사례 분석 개요",
        "International cases: overview",
        "international",
        "overview",
        "한국지방행정연구원 연구진",
    ),
    Case(
        "singapore_smart_nation",
        "싱가포르 Smart Nation",
        "Singapore Smart Nation",
        "international",
        "information",
        "Smart Nation and Digital Government Group (SNDGG), Singapore",
    ),
    Case(
        "london_talk_london",
        "런던 Talk London",
        "London Talk London",
        "international",
        "policy_proposal",
        "Greater London Authority (GLA)",
    ),
    Case(
        "amsterdam_smart_city",
        "암스테르담 Smart City",
        "Amsterdam Smart City Platform",
        "international",
        "private_brokerage",
        "Amsterdam Economic Board (암스테르담 경제위원회)",
    ),
    Case(
        "international_synthesis",
        "해외 사례 소결",
        "International cases: synthesis",
        "international",
        "synthesis",
        "한국지방행정연구원 연구진",
    ),
    Case(
        "private_overview",
        "민간 기업 인터뷰 개요",
        "Private company interviews: overview",
        "private",
        "overview",
        "한국지방행정연구원 연구진",
    ),
    Case("daangn", "당근마켓", "Daangn Market (Karrot)", "private", "private_platform", "당근마켓"),
    Case(
        "gangnam_unni", "강남언니", "Gangnam Unni", "private", "private_platform", "힐링페이퍼 (Healingpaper)"
    ),
    Case(
        "baemin",
        "배달의민족",
        "Baedal Minjok (Baemin)",
        "private",
        "private_platform",
        "우아한형제들 (Woowa Brothers)",
    ),
    Case(
        UNATTRIBUTED,
        "민간기업 (미귀속)",
        "Private companies (unattributed)",
        "private",
        "private_platform",
        "민간 플랫폼 기업 (당근마켓·강남언니·배달의민족)",
    ),
    Case(
        "private_synthesis",
        "민간 사례 소결",
        "Private cases: synthesis",
        "private",
        "synthesis",
        "한국지방행정연구원 연구진",
    ),
]

CASES: dict[str, Case] = {c.id: c for c in _ROWS}

#: Names under which the report refers to each company (spacing variants included).
ALIASES: dict[str, tuple[str, ...]] = {
    "daangn": ("당근마켓", "당근 마켓", "당근 알바", "당근알바", "당근 페이", "당근페이"),
    "gangnam_unni": ("강남언니", "강남 언니", "힐링페이퍼"),
    "baemin": ("배달의민족", "배달의 민족", "배민", "우아한형제들", "B마트"),
}
_ALIAS_RE = {cid: re.compile("|".join(re.escape(a) for a in names)) for cid, names in ALIASES.items()}


def get_case(case_id: str) -> Case:
    """The case row for `case_id`; KeyError names the valid ids."""
    try:
        return CASES[case_id]
    except KeyError:
        raise KeyError(f"unknown case id {case_id!r}; valid: {', '.join(CASES)}") from None


def companies_named(text: str) -> list[str]:
    """Company case ids whose name or alias occurs in `text`, in order of first mention."""
    hits = []
    for cid, rx in _ALIAS_RE.items():
        m = rx.search(text)
        if m:
            hits.append((m.start(), cid))
    return [cid for _, cid in sorted(hits)]


# Documents that `kb add` puts into the corpus; re-extracting the report keeps them.
ADDED_PREFIX = records.ADDED_PREFIX
