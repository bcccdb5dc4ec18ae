"""The coders' review queue: auto-coded passages, most uncertain first with the most certain one at
every third place, and recording decisions.

Why the mix: a queue of only uncertain passages teaches a retrain about the borderline and leaves
the coder's confident mistakes unseen; on the development transcripts (bench/learning_curve.py,
docs/bench/learning_curve_dev.md) the mixed queue made the retrained coder better on the rest of a
transcript, the uncertain-only one did not.

A decision goes to the append-only ReviewStore with the auto code as `before` (so the log
shows what the coder corrected); merging it refreshes the passage's Chroma metadata, so the
factor and "reviewed only" filters see the human decision at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

import pandas as pd

from kb.errors import ReviewError
from kb.review.merge import DECIDED
from kb.review.store import Decision
from kb.store.kbase import KnowledgeBase

T = TypeVar("T")
CONFIDENT_EVERY = 3  # every third place of the queue: the most certain passage left
_AUTO_CACHE: dict[int, tuple[KnowledgeBase, dict[str, dict[str, Any]]]] = {}


def auto_by_id(kb: KnowledgeBase) -> dict[str, dict[str, Any]]:
    """passage id -> auto coder record (codes, polarity, per-sentence codes), cached per kb."""
    hit = _AUTO_CACHE.get(id(kb))
    if hit is None or hit[0] is not kb:
        table = {(r.get("passage_id") or r.get("id")): r for r in kb.auto_codes}
        hit = _AUTO_CACHE[id(kb)] = (kb, table)
    return hit[1]


def coded_sentences(kb: KnowledgeBase, pid: str) -> list[tuple[int, int, list[dict[str, Any]]]]:
    """(start, end, codes) of each sentence of the passage's auto-coder record, in passage offsets
    (records of documents coded whole carry document offsets)."""
    text = kb.passage_by_id.get(pid, {}).get("text") or ""
    shift = int(kb.passage_by_id.get(pid, {}).get("start") or 0)
    out = []
    for sent in (auto_by_id(kb).get(pid) or {}).get("sentences") or []:
        start, end = int(sent.get("start", 0)), int(sent.get("end", 0))
        if end > len(text) and start >= shift:
            start, end = start - shift, end - shift
        if end > start:
            out.append((start, end, list(sent.get("codes") or [])))
    return out


def uncertainty(codes: list[dict[str, Any]]) -> float:
    """1 when some code sits at confidence 0.5 (a coin flip), 0 when every code is certain."""
    if not codes:
        return 0.0
    return max(1.0 - abs(2.0 * float(c.get("confidence") or 0.0) - 1.0) for c in codes)


def mix_certain(ranked: list[T], every: int) -> list[T]:
    """`ranked` (most uncertain first) with every `every`-th place given to the most certain item
    left; `every` <= 0 keeps the order."""
    if every <= 0:
        return list(ranked)
    lo, hi, out = 0, len(ranked) - 1, []
    while lo <= hi:
        if (len(out) + 1) % every == 0:
            out.append(ranked[hi])
            hi -= 1
        else:
            out.append(ranked[lo])
            lo += 1
    return out


def queue_order(records: list[dict[str, Any]], confident_every: int = CONFIDENT_EVERY) -> list[int]:
    """Indices of auto-coder records in review order, as `queue` lists them: coded ones most
    uncertain first (ties: given order) with the most certain one left at every `confident_every`-th
    place (0: uncertain only); records without codes (not in the queue) follow in order."""
    coded = [i for i, r in enumerate(records) if r.get("codes")]
    coded.sort(key=lambda i: -round(uncertainty(records[i]["codes"]), 4))
    return mix_certain(coded, confident_every) + [i for i, r in enumerate(records) if not r.get("codes")]


Suggestion = tuple[str, str | None, float]  # (category, polarity, confidence) of one auto code


@dataclass(frozen=True)
class QueueItem:
    """One passage of the queue; `codes` are the auto coder's suggestions a coder decides on."""

    passage_id: str
    case: str
    uncertainty: float
    n_codes: int
    n_decided: int
    codes: tuple[Suggestion, ...] = ()

    @property
    def done(self) -> bool:
        return self.n_decided >= self.n_codes

    @property
    def state(self) -> str:
        """done (every suggestion decided), started (some) or todo (none): what `progress` counts."""
        return "done" if self.done else "started" if self.n_decided else "todo"


def current_decisions(
    kb: KnowledgeBase, passage_ids: list[str] | None = None, coder: str | None = None
) -> dict[str, dict[str, dict]]:
    """passage id -> category -> current decision row (status, polarity, coder, memo, ts); with
    `coder`, that coder's own latest decisions only (blind double coding: another coder's are unseen)."""
    wanted = set(passage_ids) if passage_ids is not None else None
    out: dict[str, dict[str, dict]] = {}
    if coder is None:
        anchored = kb.anchored()
        for pid, cats in anchored.codes.items():
            out[pid] = dict(cats)
        for row in anchored.attention:  # not carried anywhere: still listed under the id it was made on
            if row["kind"] == "code" and row["reanchored_to"] is None:
                out.setdefault(row["passage_id"], {})[row["category"]] = row
    else:
        where = kb.relocate
        for row in kb.reviews.log(coder=coder).to_dict("records"):
            pid = where(row["passage_id"], row["text_hash"])
            if row["category"] and (wanted is None or pid in wanted or row["passage_id"] in wanted):
                out.setdefault(pid, {})[row["category"]] = {
                    **(row["after"] or {}),
                    "coder": row["coder"],
                    "ts": row["ts"],
                }
    return {pid: cats for pid, cats in out.items() if wanted is None or pid in wanted}


def passage_memos(kb: KnowledgeBase) -> dict[str, str]:
    """passage id -> the coders' memo, under the id the memo counts for now (carried like codes)."""
    anchored = kb.anchored()
    out = {pid: row["memo"] for pid, row in anchored.memos.items() if row.get("memo")}
    for row in anchored.attention:
        if row["kind"] == "passage_memo" and row["reanchored_to"] is None and row.get("memo"):
            out.setdefault(row["passage_id"], row["memo"])
    return out


def queue(
    kb: KnowledgeBase,
    *,
    factor: str | None = None,
    case: str | None = None,
    pending_only: bool = False,
    keep: str | None = None,
    coder: str | None = None,
) -> list[QueueItem]:
    """Auto-coded passages, most uncertain first (ties: document order), every third place the most
    certain one left (`mix_certain`, CONFIDENT_EVERY).

    `factor` keeps passages whose auto codes include it; `pending_only` hides passages whose
    every auto code has an accept/reject decision, except `keep` (the one on screen); with `coder`,
    only that coder's decisions count (a second coder's queue in blind double coding).
    """
    decided = current_decisions(kb, coder=coder)
    items = []
    for p in kb.passages:
        rec = auto_by_id(kb).get(p["id"])
        codes = (rec or {}).get("codes") or []
        if not codes or (case and p["case"] != case):
            continue
        if factor and all(c["category"] != factor for c in codes):
            continue
        mine = decided.get(p["id"], {})
        n_dec = sum(1 for c in codes if mine.get(c["category"], {}).get("status") in DECIDED)
        suggested = tuple(
            (c["category"], c.get("polarity"), round(float(c.get("confidence") or 0.0), 4)) for c in codes
        )
        item = QueueItem(p["id"], p["case"], round(uncertainty(codes), 4), len(codes), n_dec, suggested)
        if pending_only and item.done and p["id"] != keep:
            continue
        items.append(item)
    items.sort(key=lambda it: -it.uncertainty)
    return mix_certain(items, CONFIDENT_EVERY)


def progress(kb: KnowledgeBase, items: list[QueueItem] | None = None) -> dict[str, int]:
    """Counts for the progress bar: passages done / started / untouched, and decisions made."""
    items = queue(kb) if items is None else items
    done = sum(1 for it in items if it.state == "done")
    started = sum(1 for it in items if it.state == "started")
    return {
        "passages": len(items),
        "done": done,
        "started": started,
        "todo": len(items) - done - started,
        "codes": sum(it.n_codes for it in items),
        "codes_decided": sum(it.n_decided for it in items),
    }


def decided_units(
    kb: KnowledgeBase, coder: str, *, factor: str | None = None, case: str | None = None
) -> int:
    """Codes (passage × factor) `coder` has decided – accepted, rejected, re-polarised or added – from
    the coder's own log. `progress`'s codes_decided counts only the current suggestions that carry a
    decision, so it falls when a retrain stops suggesting a code the coder rejected; this never does."""
    return sum(
        1
        for pid, cats in current_decisions(kb, coder=coder).items()
        if case is None or kb.passage_by_id.get(pid, {}).get("case") == case
        for category, row in cats.items()
        if row.get("status") in DECIDED and factor in (None, category)
    )


def auto_code(kb: KnowledgeBase, passage_id: str, category: str) -> dict[str, Any] | None:
    """The auto coder's suggestion for one category of a passage, without bulky evidence."""
    for c in (auto_by_id(kb).get(passage_id) or {}).get("codes") or []:
        if c["category"] == category:
            return {
                "category": category,
                "polarity": c.get("polarity"),
                "confidence": c.get("confidence"),
                "source": "auto",
            }
    return None


def decide(
    kb: KnowledgeBase,
    coder: str,
    passage_id: str,
    category: str | None,
    action: str,
    polarity: str | None = None,
    memo: str | None = None,
) -> int:
    """Record one decision (auto code as `before`) and apply it; returns the decision id."""
    p = kb.passage_by_id.get(passage_id)
    if p is None:
        raise ReviewError(
            f"unknown passage {passage_id!r}: not in this knowledge base (a rebuild may have changed it)"
        )
    before = auto_code(kb, passage_id, category) if category else None
    needs_code = action in ON_A_CODE and category and before is None
    if needs_code or action == "resolve":  # the usual checks first, then these
        Decision(coder.strip(), passage_id, p["text_hash"], category, action, polarity, memo, before).check(
            frozenset(kb.codebook.ids)
        )
        if action == "resolve":
            _require_a_dispute(kb, passage_id, str(category))
        else:
            _require_a_code(kb, passage_id, str(category), action)
    decision_id = kb.reviews.record(
        coder,
        passage_id,
        p["text_hash"],
        category,
        action,
        polarity=polarity,
        memo=memo,
        before=before,
        valid_categories=kb.codebook.ids,
    )
    kb.codes_df()  # merges the decision now, so the next search, matrix or export sees it
    return decision_id


ON_A_CODE = ("accept", "reject", "set_polarity")  # decisions on a code the passage already has


def _require_a_code(kb: KnowledgeBase, passage_id: str, category: str, action: str) -> None:
    """Accepting, rejecting or re-polarising a factor the passage was never given would record a
    code nobody suggested or added (an export then showed it as the coder's, confidence 1.0)."""
    if category in current_decisions(kb, [passage_id]).get(passage_id, {}):
        return  # another coder added it, or a decision on it is being revised
    rec = auto_by_id(kb).get(passage_id) or {}
    suggested = [c["category"] for c in rec.get("codes") or []]
    raise ReviewError(
        f"cannot {action.replace('_', ' ')} {category!r} on {passage_id}: it was not suggested there "
        f"(suggested: {', '.join(suggested) or 'none'}); to code it, add it with a polarity"
    )


def _require_a_dispute(kb: KnowledgeBase, passage_id: str, category: str) -> None:
    """A resolution ends a disagreement between coders; elsewhere it would only hide an ordinary
    decision under another name."""
    from kb.review.agreement import disagreements

    df = disagreements(kb)
    if not ((df["passage_id"] == passage_id) & (df["category"] == category)).any():
        raise ReviewError(
            f"nothing to resolve: no two coders coded {category!r} on {passage_id} differently "
            "(`kb reviews agreement` lists the disagreements); to decide it, accept, reject or add it"
        )


def passage_memo(kb: KnowledgeBase, passage_id: str) -> str | None:
    return passage_memos(kb).get(passage_id)


def attention(kb: KnowledgeBase) -> pd.DataFrame:
    """Decisions whose passage vanished or changed text since the coder saw it."""
    from kb.review.decisions import needs_attention

    return needs_attention(kb.passages, kb.reviews)
