"""Retrieval evaluation queries and their mapping onto segmented passages.

The query set (`eval/queries.jsonl`) records relevance as short verbatim snippets of the
report rather than passage ids, so it survives any change to segmentation. This module loads
the set and turns snippets into graded passage ids for whatever passages exist right now.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable
from pathlib import Path

from kb.settings import Settings, get_settings

EVAL_DIR = Settings().eval_dir  # the default; `load_queries()` without a path reads KB_EVAL_DIR
DEFAULT_QUERIES = EVAL_DIR / "queries.jsonl"

_WS = re.compile(r"\s+")
_EDGE = 20  # chars tried at each end of a snippet that no single passage contains
_MIN_OVERLAP = 8  # shortest boundary overlap accepted as evidence of a split snippet


def collapse_ws(text: str) -> str:
    """NFC-normalise and collapse every whitespace run to one space."""
    return _WS.sub(" ", unicodedata.normalize("NFC", text)).strip()


def _squash(text: str) -> str:
    """Drop all whitespace: tolerant of segmenters that join wrapped lines differently."""
    return _WS.sub("", unicodedata.normalize("NFC", text))


def rejoin_wrapped(raw: str) -> str:
    """Undo the PDF extraction's mid-word wrapping, then collapse whitespace.

    A line ending in a space ends a word; a line without a trailing space continues the word
    on the next line, so lines are concatenated as-is (blank lines vanish).
    """
    return collapse_ws("".join(raw.split("\n")))


def load_queries(path: str | Path | None = None) -> list[dict]:
    """Read the JSONL query set (default `queries.jsonl` in the eval_dir setting, KB_EVAL_DIR)."""
    p = Path(path) if path is not None else get_settings().eval_dir / "queries.jsonl"
    queries: list[dict] = []
    with p.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            line = line.strip()
            if not line:
                continue
            try:
                queries.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise ValueError(f"{p}:{lineno}: invalid JSON ({exc})") from exc
    return queries


def _prepared(passages: Iterable[dict]) -> list[tuple[str, str, str]]:
    return [(str(p["id"]), collapse_ws(p["text"]), _squash(p["text"])) for p in passages]


def _boundary_overlap(snip: str, text: str) -> int:
    """Longest part of `snip` at a passage edge: the text ends with its head or starts with its tail."""
    best = 0
    for k in range(len(snip) - 1, _MIN_OVERLAP - 1, -1):
        if text.endswith(snip[:k]) or text.startswith(snip[-k:]):
            best = k
            break
    return best


def _match_snippet(snippet: str, prepared: list[tuple[str, str, str]]) -> list[str]:
    """Ids of the passages that hold `snippet`, or the one(s) holding its longest part."""
    exact = collapse_ws(snippet)
    hits = [pid for pid, text, _ in prepared if exact in text]
    if hits:
        return hits
    squashed = _squash(snippet)
    hits = [pid for pid, _, sq in prepared if squashed in sq]
    if hits:
        return hits
    # Split across passages: score each passage by how much of the snippet it covers.
    head, tail = squashed[:_EDGE], squashed[-_EDGE:]
    scores: dict[str, int] = {}
    for pid, _, sq in prepared:
        score = _boundary_overlap(squashed, sq)
        if head in sq or tail in sq:
            score = max(score, _EDGE)
        if score:
            scores[pid] = score
    if not scores:
        return []
    top = max(scores.values())
    return [pid for pid, s in scores.items() if s == top]


def _grades(query: dict, prepared: list[tuple[str, str, str]]) -> dict[str, int]:
    graded: dict[str, int] = {}
    for rel in query.get("relevant", []):
        for pid in _match_snippet(rel["snippet"], prepared):
            graded[pid] = max(graded.get(pid, 0), int(rel["grade"]))
    return graded


def relevant_passage_ids(query: dict, passages: list[dict]) -> dict[str, int]:
    """Map a query's snippets to passage ids with the highest grade any snippet gives them."""
    return _grades(query, _prepared(passages))


def unmatched_snippets(query: dict, passages: list[dict]) -> list[str]:
    """Snippets of `query` that no passage holds, even in part (for diagnostics)."""
    prepared = _prepared(passages)
    rels = query.get("relevant", [])
    return [rel["snippet"] for rel in rels if not _match_snippet(rel["snippet"], prepared)]


def qrels(queries: list[dict], passages: list[dict]) -> dict[str, dict[str, int]]:
    """`{query_id: {passage_id: grade}}` for a whole query set (prepares passages once)."""
    prepared = _prepared(passages)
    return {q["id"]: _grades(q, prepared) for q in queries}
