"""Filter widgets shared by the search and matrix pages (one label, one help text, one default)."""

from __future__ import annotations

from typing import Any

MIN_CONFIDENCE_LABEL = "최소 신뢰도 min. confidence"
MIN_CONFIDENCE_HELP = (
    "자동 코딩 신뢰도 (auto-coding confidence, 0–1): 이 값 이상인 코드만 요인·극성 필터와 매트릭스 칸에 "
    "셉니다. 0 = 끄기 (off, 기본값); 0.5 = 코더의 보정된 기준선 (the coder's calibrated threshold). "
    "사람이 검토한 코드는 신뢰도 1로 항상 남습니다 (human-reviewed codes count as 1). "
    "CLI/API: `--min-confidence`, `min_confidence`."
)


def min_confidence(container: Any, key: str) -> float:
    """The minimum-confidence slider (kb.query.filters.Filters.min_confidence), default off (0)."""
    value = container.slider(
        MIN_CONFIDENCE_LABEL, 0.0, 1.0, 0.0, step=0.05, key=key, help=MIN_CONFIDENCE_HELP
    )
    return round(float(value), 2)


SOURCE_KO = {"report": "보고서 (제4–6장)", "added": "추가 자료 (added transcripts)"}


def source(container: Any, key: str) -> str | None:
    """Which material: the report's, the transcripts added with kb add, or both (None) – so a user's own
    interviews can be seen apart from the report's cases they are grouped with (kb.query.filters)."""
    return container.selectbox(
        "자료 source",
        [None, *SOURCE_KO],
        format_func=lambda v: "전체 (all)" if v is None else SOURCE_KO[v],
        key=key,
        help="보고서의 사례 장과 추가한 면담 자료를 따로 볼 수 있습니다. CLI/API: `--source`, `source`.",
    )
