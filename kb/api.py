"""The public Python API. The CLI, the app and the notebooks call these same functions.

Each function takes plain values, opens the knowledge base named by the settings (once per
process) and returns pandas DataFrames, so results go straight into notebooks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd

from kb.exchange.export import api_export as export
from kb.exchange.ingest import api_add as add
from kb.exchange.spreadsheet import read_export
from kb.records import SEARCH_RESULT_FIELDS
from kb.search.filters import Filters
from kb.settings import Settings, get_settings
from kb.store.kbase import get_kb

__all__ = ["add", "build", "code", "export", "matrix", "read_export", "search"]

RESULT_COLUMNS = list(SEARCH_RESULT_FIELDS)


def build(
    settings: Settings | None = None,
    progress: bool = True,
    log: Callable[[str], None] = print,
    drop_old_collections: bool = False,
) -> Any:
    """Segment, code, embed and index the corpus; only what changed is redone."""
    from kb.builder import build as run_build

    return run_build(
        settings or get_settings(), progress=progress, log=log, drop_old_collections=drop_old_collections
    )


def search_records(
    query: str,
    k: int = 10,
    *,
    group: str | None = None,
    case: str | None = None,
    platform_type: str | None = None,
    factor: str | None = None,
    polarity: str | None = None,
    reviewed: bool = False,
    min_confidence: float = 0.0,
    mode: str = "hybrid",
    settings: Settings | None = None,
) -> list[dict[str, Any]]:
    """Passages that answer `query` (Korean or English), best first, as plain records."""
    from kb.search.retrieval import check_query
    from kb.search.retrieval import search as run_search

    check_query(query, k)
    filters = Filters.of(
        group=group, case=case, platform_type=platform_type, factor=factor, polarity=polarity,
        reviewed=reviewed, min_confidence=min_confidence,
    )  # fmt: skip
    return run_search(get_kb(settings), query, k, filters, mode)


def search(query: str, k: int = 10, **options: Any) -> pd.DataFrame:
    """`search_records` as a DataFrame: one row per passage, with codes, polarity and citation.

    Options: the filters (group, case, platform_type, factor, polarity, reviewed, min_confidence),
    mode, settings."""
    return pd.DataFrame(search_records(query, k, **options), columns=RESULT_COLUMNS + ["query_terms"])


def matrix(
    query: str | None = None,
    *,
    group: str | None = None,
    case: str | None = None,
    platform_type: str | None = None,
    factor: str | None = None,
    polarity: str | None = None,
    reviewed: bool = False,
    min_confidence: float = 0.0,
    settings: Settings | None = None,
) -> pd.DataFrame:
    """Factor × case counts of success / obstacle passages with exemplar passage ids."""
    from kb.search.crosscase import matrix as run_matrix

    filters = Filters.of(
        group=group, case=case, platform_type=platform_type, factor=factor, polarity=polarity,
        reviewed=reviewed, min_confidence=min_confidence,
    )  # fmt: skip
    return run_matrix(get_kb(settings), query, filters)


def code(
    texts: list[str],
    ids: list[str] | None = None,
    settings: Settings | None = None,
    contexts: list[dict[str, Any] | None] | None = None,
) -> list[dict[str, Any]]:
    """Code any Korean texts with the trained coder: factor codes, polarity, confidence, evidence.

    `contexts`: per text None or {question, prev, next, speaker}; interviewer turns get no codes."""
    return _coder(settings or get_settings()).code_texts(texts, ids, contexts)


_CODERS: dict[Settings, Any] = {}


def _coder(settings: Settings) -> Any:
    from kb.coding import Coder

    if settings not in _CODERS:
        _CODERS[settings] = Coder.load(settings)
    return _CODERS[settings]
