"""kb – a knowledge base for qualitative research on Korean interviews and case studies.

import kb
kb.search("주민 참여가 저조했던 이유", k=5)     # DataFrame of passages
kb.matrix(group="domestic")                  # factor × case counts
kb.across_cases("주민 참여가 저조했던 이유")     # that question's factors, case by case
kb.export(format="csv", path="codes.csv")    # coded excerpts
kb.read_export("codes.csv")                  # back, with the original text of neutralised cells
kb.export_columns()                          # what each export column holds
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
_API = {  # every name of kb.api.__all__ (tests/test_architecture.py keeps them equal)
    "across_cases", "add", "agreement", "backup_reviews", "build", "case_profile", "cases", "cell_passages",
    "citation", "code", "compare_codes", "current_decisions", "decide", "decisions_made", "documents",
    "export",
    "export_columns", "export_reviews", "extract", "import_codebook", "import_reviews", "last_retrain",
    "matrix", "needs_attention", "passage_memo", "passage_memos", "passages", "question_intent",
    "read_export", "readable_change", "remove", "retrain", "review_progress", "review_queue", "search",
}  # fmt: skip


def __getattr__(name: str) -> Any:
    # Lazy, so `import kb` stays fast and the CLI starts without loading models.
    if name in _API:
        from kb import api

        return getattr(api, name)
    raise AttributeError(name)


def __dir__() -> list[str]:
    """The API too, so a notebook's tab completion offers kb.search, kb.matrix, …"""
    return sorted({*(name for name in globals() if name.startswith("__")), *_API})
