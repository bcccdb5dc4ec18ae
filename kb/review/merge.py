"""Apply human review decisions on top of auto-coder output, anchored by passage id and text hash.

A decision counts for a passage only while the passage still has the text the coder saw
(same `text_hash`). When segmentation changes, a decision is never silently dropped: it is
re-anchored to the one current passage with the same text hash (the id changed), and in every
case it is listed by `needs_attention` so a coder can look at it.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd

from kb.errors import ReviewError
from kb.records import sentence_directions
from kb.review.store import CURRENT_COLUMNS, ReviewStore

ATTENTION_COLUMNS = [
    "kind", "problem", "passage_id", "category", "status", "polarity", "coder", "ts", "text_hash",
    "current_text_hash", "reanchored_to", "candidates", "memo", "decision_id",
]  # fmt: skip
TRAINING_COLUMNS = [
    "text", "category", "polarity", "label", "passage_id", "coder", "ts", "anchor", "complete",
]  # fmt: skip
DECIDED = ("accepted", "rejected", "added")


@dataclass
class Anchored:
    """Decisions that apply to the current passages, plus the ones that need a human look."""

    codes: dict[str, dict[str, dict]] = field(default_factory=dict)  # passage id -> category -> row
    memos: dict[str, dict] = field(default_factory=dict)  # passage id -> passage memo row
    attention: list[dict] = field(default_factory=list)


def _passage_keys(passages: list[dict]) -> tuple[dict[str, dict], dict[str, list[str]]]:
    by_id: dict[str, dict] = {}
    by_hash: dict[str, list[str]] = {}
    for p in passages:
        pid = p.get("id", p.get("passage_id"))
        if pid is None or not p.get("text_hash"):
            raise ReviewError("every passage needs 'id' and 'text_hash' to anchor review decisions")
        by_id[pid] = p
        by_hash.setdefault(p["text_hash"], []).append(pid)
    return by_id, by_hash


def _records(frame: pd.DataFrame) -> list[dict]:
    return [{k: (None if pd.isna(v) else v) for k, v in row.items()} for row in frame.to_dict("records")]


def relocate(passages: list[dict]) -> Callable[[str, str], str]:
    """Where a decision made on (passage id, text hash) counts now: that passage while it keeps the
    text, else the one current passage with the text (re-anchored, as `anchor` carries it), else its
    old id (an attention item). Per-coder readings (agreement, disputes, a coder's own decisions) go
    through it, so a carried decision stays one coder's and a carried dispute stays disputed."""
    by_id, by_hash = _passage_keys(passages)

    def where(passage_id: str, text_hash: str) -> str:
        here = by_id.get(passage_id)
        if here is not None and here["text_hash"] == text_hash:
            return passage_id
        candidates = [c for c in by_hash.get(text_hash, []) if c != passage_id]
        return candidates[0] if len(candidates) == 1 else passage_id

    return where


def anchor(passages: list[dict], store: ReviewStore) -> Anchored:
    """Match current-state decisions to current passages (direct first, then by text hash)."""
    by_id, by_hash = _passage_keys(passages)
    result = Anchored()
    moved: list[tuple[str, str, dict]] = []  # (kind, target id, row)
    rows = [("code", r) for r in _records(store.current())]
    rows += [("passage_memo", r) for r in _records(store.passage_memos())]
    for kind, row in rows:
        pid = row["passage_id"]
        here = by_id.get(pid)
        if here is not None and here["text_hash"] == row["text_hash"]:
            if kind == "code":
                result.codes.setdefault(pid, {})[row["category"]] = {**row, "anchor": "direct"}
            else:
                result.memos[pid] = {**row, "anchor": "direct"}
            continue
        candidates = [c for c in by_hash.get(row["text_hash"], []) if c != pid]
        target = candidates[0] if len(candidates) == 1 else None
        result.attention.append({
            **{c: row.get(c) for c in CURRENT_COLUMNS},
            "kind": kind,
            "problem": "missing_passage" if here is None else "text_changed",
            "current_text_hash": None if here is None else here["text_hash"],
            "reanchored_to": target,
            "candidates": len(candidates),
        })  # fmt: skip
        if target is not None:
            moved.append((kind, target, {**row, "anchor": "reanchored", "from_passage_id": pid}))
    # A decision made on the passage itself beats one carried over; among carried ones the newest wins.
    for kind, target, row in sorted(moved, key=lambda m: m[2]["ts"]):
        if kind == "code":
            slot = result.codes.setdefault(target, {})
            if slot.get(row["category"], {}).get("anchor") != "direct":
                slot[row["category"]] = row
        elif result.memos.get(target, {}).get("anchor") != "direct":
            result.memos[target] = row
    return result


def needs_attention(passages: list[dict], store: ReviewStore) -> pd.DataFrame:
    """Decisions whose passage id is gone or whose text changed; `reanchored_to` says where they went."""
    rows = anchor(passages, store).attention
    return pd.DataFrame(rows, columns=ATTENTION_COLUMNS)


def _also(code: dict, auto: dict, sentences: list[dict], row: dict | None) -> dict[str, float]:
    """The other directions the code's sentences carry (kb.records.sentence_directions) while the code
    is the auto coder's. A reviewer's decision is the passage's one reading for that factor: what the
    matrix, filters and exports count is what the reviewer chose, never an auto reading under their name."""
    if (row is not None and row["status"] != "noted") or code["polarity"] != auto.get("polarity"):
        return {}
    return sentence_directions(code["category"], code["polarity"], sentences)


def _human_code(row: dict, auto: dict | None) -> dict:
    code = copy.deepcopy(auto) if auto is not None else {"category": row["category"], "evidence": None}
    code["polarity"] = row["polarity"] or (auto or {}).get("polarity")
    code["confidence"] = code["polarity_confidence"] = 1.0
    code.update(source="human", reviewer=row["coder"], memo=row["memo"])
    return code


def merge(
    auto_codes: list[dict], passages: list[dict], store: ReviewStore, anchored: Anchored | None = None
) -> list[dict]:
    """Auto codes with human decisions applied: rejected removed, accepted/added/re-polarised as human.

    Returns one entry per current passage (then any auto entry for an unknown id, unchanged) with
    every code carrying `source` (auto|human), `reviewer`, `memo` and `also` (the other directions
    its sentences carry), and a passage-level `memo`. `anchored`: `anchor(passages, store)` when the
    caller has it already.
    """
    anchored = anchor(passages, store) if anchored is None else anchored
    auto_by_id = {entry["passage_id"]: entry for entry in auto_codes}
    ids = [p.get("id", p.get("passage_id")) for p in passages]
    known = set(ids)
    ids += [pid for pid in auto_by_id if pid not in known]
    merged = []
    for pid in ids:
        entry = {k: copy.deepcopy(v) for k, v in auto_by_id.get(pid, {}).items() if k != "codes"}
        entry["passage_id"] = pid
        decided = anchored.codes.get(pid, {})
        sentences = auto_by_id.get(pid, {}).get("sentences") or []
        codes = []
        for auto in auto_by_id.get(pid, {}).get("codes", []):
            row = decided.get(auto["category"])
            if row is None or row["status"] == "noted":
                code = {**copy.deepcopy(auto), "source": "auto", "reviewer": None, "memo": None}
                if row is not None:
                    code["memo"] = row["memo"]
                codes.append(code)
            elif row["status"] != "rejected":
                codes.append(_human_code(row, auto))
            else:
                continue
            codes[-1]["also"] = _also(codes[-1], auto, sentences, row)
        seen = {c["category"] for c in auto_by_id.get(pid, {}).get("codes", [])}
        for category in sorted(set(decided) - seen):
            if decided[category]["status"] in ("accepted", "added"):
                codes.append({**_human_code(decided[category], None), "also": {}})
        entry["codes"] = codes
        entry["memo"] = (anchored.memos.get(pid) or {}).get("memo")
        merged.append(entry)
    return merged


def complete_passages(auto_codes: list[dict], decided: dict[str, dict[str, dict]]) -> set[str]:
    """Passages the review queue counts as done: every code the coder suggested has an accept or
    reject decision (as `kb.review.queue.QueueItem.done`). The review page shows such a passage with
    all its suggestions and an "add a missing code" box, so a category the coder neither accepted
    nor added is one they judged absent; a passage with no suggestions is never complete."""
    out = set()
    for entry in auto_codes:
        pid = entry.get("passage_id") or entry.get("id")
        cats = [c["category"] for c in entry.get("codes") or []]
        mine = decided.get(pid, {})
        if cats and all(mine.get(c, {}).get("status") in DECIDED for c in cats):
            out.add(pid)
    return out


def training_examples(
    passages: list[dict], store: ReviewStore, auto_codes: list[dict] | None = None
) -> pd.DataFrame:
    """(text, category, polarity, label) from human decisions: accepted/added = 1, rejected = 0.

    `complete` is True for the rows of a passage done in the review queue (`complete_passages`;
    needs the `auto_codes` the queue showed): training takes its other categories as absent."""
    by_id, _ = _passage_keys(passages)
    anchored = anchor(passages, store)
    done = complete_passages(auto_codes or [], anchored.codes)
    sentences = {e.get("passage_id") or e.get("id"): e.get("sentences") for e in auto_codes or []}
    rows = []
    for pid, decided in anchored.codes.items():
        mine = []
        for category, row in sorted(decided.items()):
            if row["status"] == "noted":
                continue
            mine.append({
                "text": by_id[pid].get("text"), "category": category, "polarity": row["polarity"],
                "label": 0 if row["status"] == "rejected" else 1, "passage_id": pid,
                "coder": row["coder"], "ts": row["ts"], "anchor": row["anchor"], "complete": pid in done,
            })  # fmt: skip
        rows += sentence_rows(mine, by_id[pid].get("text") or "", sentences.get(pid))
    return pd.DataFrame(rows, columns=TRAINING_COLUMNS)


def sentence_rows(rows: list[dict], text: str, sentences: list[dict] | None) -> list[dict]:
    """A passage's decision rows as rows of its sentences, the unit the coder scores and the gold
    and training sentences are (and the one bench/learning_curve.py reviews).

    `sentences`: the auto-coder's sentences of the passage ({start, end, codes}, as the code stage
    stores them). A rejected code is a negative of every sentence; an accepted one a positive of the
    sentences the coder found it in (with the decision's polarity where that sentence reads it so,
    or none does: `_read_as`), unknown on the others (label -1: not an implicit negative); an
    added code, or an accepted one no sentence carries, stays one row on the whole passage (the
    coder did not say where), labelled for that category only. A passage of one sentence, or
    without the sentences, keeps its rows as they are."""
    spans = [s for s in sentences or [] if text[s.get("start", 0) : s.get("end", 0)].strip()]
    if len(spans) < 2 or not rows:
        return rows
    out: list[dict] = []
    whole = [dict(r, complete=False) for r in rows if r["label"] and not _carried(r["category"], spans)]
    for s in spans:
        found = {c.get("category"): c.get("polarity") for c in s.get("codes") or []}
        sentence = text[s["start"] : s["end"]].strip()
        for r in rows:
            label = r["label"] if not r["label"] or r["category"] in found else -1
            if label == -1 and not r["complete"]:
                continue  # unknown is what an incomplete row says of the others anyway
            polarity = r["polarity"]
            if label == 1 and found[r["category"]] != polarity and _read_as(r["category"], polarity, spans):
                polarity = None  # another sentence carries the coder's reading; this one reads otherwise
            out.append(dict(r, text=sentence, label=label, polarity=polarity))
    return out + whole


def _read_as(category: str, polarity: str | None, spans: list[dict]) -> bool:
    """Whether some sentence's own code of the category has this polarity.

    A passage's accepted code is passage-level: in "이장님들 덕이 컸어요. … 앱 홍보는 거의 효과가 없었어요."
    resident acceptance accepted as a success is the first sentence's reading, not the second's, so
    the second trains the category without a polarity. When no sentence reads it so, the coder
    corrected the auto reading, and every sentence carrying the category learns the correction."""
    return any(
        c.get("category") == category and c.get("polarity") == polarity
        for s in spans
        for c in s.get("codes") or []
    )


def _carried(category: str, spans: list[dict]) -> bool:
    return any(c.get("category") == category for s in spans for c in s.get("codes") or [])
