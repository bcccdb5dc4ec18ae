"""Review decisions as JSONL: export the whole log, import (merge) logs from other coders.

One decision a line with its original time and coder, so a file is a complete, portable copy
of the decision log. Import is all-or-nothing: every line is checked first (one-line error
naming file and line), then all new decisions go in one transaction; re-importing a file adds
nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from kb.errors import ReviewError
from kb.records import POLARITIES
from kb.review.rules import ACTIONS, STATUSES, Decision
from kb.review.store import ReviewStore

FIELDS = ("ts", "coder", "passage_id", "text_hash", "category", "action", "before", "after", "memo")
MAX_LINE = 1 << 20  # characters: a decision is a few hundred
MAX_ERRORS = 20


def export_lines(store: ReviewStore) -> Iterator[str]:
    """The decision log, oldest first, as JSON lines."""
    for row in store.log().to_dict("records"):
        rec = {k: _plain(row[k]) for k in FIELDS}
        yield json.dumps(rec, ensure_ascii=False, sort_keys=True)


def _plain(value: Any) -> Any:
    """pandas gives NaN for missing text; JSON needs null."""
    return None if isinstance(value, float) and value != value else value


def write_export(store: ReviewStore, out: TextIO) -> int:
    n = 0
    for line in export_lines(store):
        out.write(line + "\n")
        n += 1
    return n


def _ts(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("ts must be an ISO 8601 time string")
    t = datetime.fromisoformat(value)
    if t.tzinfo is None:
        raise ValueError("ts must carry a time zone, e.g. 2026-01-31T09:00:00+00:00")
    return t.astimezone(UTC).isoformat(timespec="microseconds")


STATE_KEYS = frozenset({"status", "polarity", "memo"})
# `before` may instead be the auto coder's suggestion the coder saw (kb.review.queue.auto_code)
SUGGESTION_KEYS = frozenset({"category", "polarity", "confidence", "source"})


def _state(value: Any, memo_only: bool, seen: bool = False) -> dict[str, Any] | None:
    """A checked before/after state; `seen`: the `before` side, which may be a suggestion."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ValueError("before/after must be objects or null")
    allowed = {"memo"} if memo_only else STATE_KEYS | (SUGGESTION_KEYS if seen else set())
    if set(value) - allowed:
        raise ValueError(
            f"unexpected keys in {'before' if seen else 'after'}: {sorted(set(value) - allowed)}"
        )
    if "status" in value and value["status"] not in STATUSES:
        raise ValueError(f"unknown status {value['status']!r}")
    if value.get("polarity") is not None and value["polarity"] not in POLARITIES:
        raise ValueError(f"unknown polarity {value['polarity']!r}")
    for key in ("memo", "category", "source"):
        if value.get(key) is not None and not isinstance(value[key], str):
            raise ValueError(f"{key} must be text")
    confidence = value.get("confidence")
    if confidence is not None and (
        isinstance(confidence, bool) or not isinstance(confidence, int | float) or not 0 <= confidence <= 1
    ):
        raise ValueError("confidence must be a number from 0 to 1")
    return value


def parse_decision(line: str, valid_categories: frozenset[str] | None) -> dict[str, Any]:
    """One exported line -> a decision row; ValueError/ReviewError with a short reason."""
    if len(line) > MAX_LINE:
        raise ValueError(f"line longer than {MAX_LINE} characters")
    rec = json.loads(line)
    if not isinstance(rec, dict):
        raise ValueError("expected a JSON object")
    unknown = set(rec) - set(FIELDS)
    if unknown:
        raise ValueError(f"unknown fields {sorted(unknown)}")
    for key in ("coder", "passage_id", "text_hash", "action"):
        if not isinstance(rec.get(key), str):
            raise ValueError(f"{key} must be text")
    for key in ("category", "memo"):
        if rec.get(key) is not None and not isinstance(rec[key], str):
            raise ValueError(f"{key} must be text or null")
    if rec["action"] not in ACTIONS:
        raise ValueError(f"unknown action {rec['action']!r}")
    memo_only = rec["action"] == "memo" and not rec.get("category")
    after = _state(rec.get("after"), memo_only)
    if after is None:
        raise ValueError("after (the resulting state) is required")
    polarity = after.get("polarity") if rec["action"] in ("add", "set_polarity") else None
    memo = rec.get("memo") if rec["action"] != "memo" else (rec.get("memo") or after.get("memo") or "")
    Decision(rec["coder"].strip(), rec["passage_id"], rec["text_hash"], rec.get("category"), rec["action"],
             polarity, memo, None).check(valid_categories)  # fmt: skip
    return {
        **{k: rec.get(k) for k in FIELDS},
        "ts": _ts(rec.get("ts")),
        "coder": rec["coder"].strip(),
        "before": _state(rec.get("before"), memo_only, seen=True),
        "after": after,
    }


def read_decisions(
    paths: Iterable[Path], valid_categories: Iterable[str] | None = None
) -> list[dict[str, Any]]:
    """Every decision of these files; raises ReviewError listing the bad lines (nothing is read half)."""
    valid = frozenset(valid_categories) if valid_categories is not None else None
    rows: list[dict[str, Any]] = []
    errors: list[str] = []
    for path in paths:
        try:
            fh = open(path, encoding="utf-8")  # noqa: SIM115 - closed below
        except OSError as exc:
            raise ReviewError(f"{path}: cannot read ({exc.strerror or exc})") from None
        with fh:
            try:
                for n, line in enumerate(fh, 1):
                    if not line.strip():
                        continue
                    try:
                        rows.append(parse_decision(line, valid))
                    except (ValueError, ReviewError) as exc:
                        errors.append(f"{path}:{n}: {' '.join(str(exc).split())[:200]}")
                        if len(errors) >= MAX_ERRORS:
                            break
            except UnicodeDecodeError:
                errors.append(f"{path}: not UTF-8 text")
    if errors:
        more = f" (and possibly more; first {MAX_ERRORS} shown)" if len(errors) >= MAX_ERRORS else ""
        raise ReviewError(f"nothing imported, {len(errors)} bad line(s){more}: " + "; ".join(errors))
    return rows


def import_files(store: ReviewStore, paths: Iterable[Path]) -> tuple[int, int]:
    """Merge decision files into the store; returns (decisions read, decisions new here)."""
    rows = read_decisions(list(paths), store.valid_categories)
    return len(rows), store.merge_decisions(rows)
