"""`kb export --unit sentence`: the auto coder's reading of every sentence, one row per sentence × code.

Why a unit of its own: a researcher who double-codes transcripts outside kb measures her agreement
with kb (Cohen's kappa, Krippendorff's alpha) sentence by sentence. That needs the coder's codes of
each sentence, and the sentences it left uncoded too (one row with an empty category), which the
excerpt and passage units fold into passage-level codes. Review decisions are made per passage and
factor, so a row shows the decision on its passage and factor (`passage_decision`), never its own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from kb.corpus.citation import citations
from kb.exchange.columns import SENTENCE_COLUMNS
from kb.query.filters import Filters
from kb.review.queue import auto_by_id, coded_sentences, current_decisions

if TYPE_CHECKING:
    from kb.store.kbase import KnowledgeBase

Span = tuple[int, int, list[dict[str, Any]]]
META = ("doc_id", "case", "case_name", "group", "platform_type", "kind", "speaker", "question")


def sentence_spans(kb: KnowledgeBase, pid: str) -> list[Span]:
    """(start, end, codes) of the passage's sentences in passage offsets: the auto coder's own split
    when its record has one (the codes belong to those spans), else the segmenter's sentences with no
    codes, else the whole passage as one sentence – so every selected passage has its rows."""
    spans = coded_sentences(kb, pid)
    if spans:
        return spans
    p = kb.passage_by_id[pid]
    text, shift = p.get("text") or "", int(p.get("start") or 0)
    own = [(int(a) - shift, int(b) - shift, []) for a, b in p.get("sentences") or []]
    own = [s for s in own if 0 <= s[0] < s[1] <= len(text)]
    return own or [(0, len(text), [])]


def decision_text(row: dict[str, Any] | None, polarity: str | None = None) -> str | None:
    """'accepted: obstacle', 'added: neutral', 'rejected' or None (no decision; a memo alone is none).
    `polarity`: the code's effective one, for an accept that kept the auto code's direction (the
    decision row then has none of its own)."""
    status = (row or {}).get("status")
    if status in (None, "noted"):
        return None
    polarity = row.get("polarity") or polarity
    return status if status == "rejected" or not polarity else f"{status}: {polarity}"


def _passes(code: dict[str, Any], f: Filters) -> bool:
    return (
        (not f.factor or code["category"] == f.factor)
        and (not f.polarity or code["polarity"] == f.polarity)
        and code["confidence"] >= f.min_confidence
    )


def sentence_rows(
    kb: KnowledgeBase, ids: set[str] | frozenset[str] | None, rank: dict[str, int], filters: Filters
) -> pd.DataFrame:
    """One row per sentence × auto code of the passages `ids` (None = all; `rank`: a query's order),
    one row with empty code columns for an uncoded sentence. The factor, polarity and confidence
    filters keep only the code rows that pass them (an uncoded sentence has none to pass)."""
    chosen = [p for p in kb.passages if ids is None or p["id"] in ids]
    if rank:
        chosen.sort(key=lambda p: rank[p["id"]])
    narrowed = bool(filters.factor or filters.polarity or filters.min_confidence > 0)
    decided = current_decisions(kb, [p["id"] for p in chosen])
    auto, cite = auto_by_id(kb), citations(kb)
    rows = []
    for p in chosen:
        base = {col: p.get(col) for col in META}
        base.update(passage_id=p["id"], citation=cite(p), coder=(auto.get(p["id"]) or {}).get("coder"))
        label = _labeller(kb, p["id"], decided.get(p["id"], {}))
        for sentence, codes in _sentences(kb, p):
            kept = [c for c in codes if _passes(c, filters)]
            rows += [{**base, **sentence, **label(c)} for c in kept]
            if not codes and not narrowed:
                rows.append({**base, **sentence})
    df = pd.DataFrame(rows, columns=SENTENCE_COLUMNS)
    df[["sentence_no", "start", "end"]] = df[["sentence_no", "start", "end"]].astype("Int64")
    df[["confidence", "polarity_confidence"]] = df[["confidence", "polarity_confidence"]].astype("float64")
    if rank:
        df.insert(0, "rank", df["passage_id"].map(rank).astype("Int64"))
    return df


def _sentences(kb: KnowledgeBase, p: dict[str, Any]) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """Each non-blank sentence of the passage (id, number, offsets, stripped text) with its codes."""
    text, out = p.get("text") or "", []
    for start, end, codes in sentence_spans(kb, p["id"]):
        sentence = text[start:end].strip()
        if sentence:
            n = len(out) + 1
            here = {"sentence_id": f"{p['id']}#{n}", "sentence_no": n, "start": start, "end": end}
            out.append(({**here, "sentence": sentence}, [_code(c) for c in codes]))
    return out


def _labeller(kb: KnowledgeBase, pid: str, decisions: dict[str, dict]) -> Any:
    """code -> its row's code columns: the factor's names and the decision on the passage and factor."""
    book = {c.id: c for c in kb.codebook.categories}
    effective = {c["category"]: c.get("polarity") for c in kb.codes_for(pid)}

    def label(code: dict[str, Any]) -> dict[str, Any]:
        category, decision = book.get(code["category"]), decisions.get(code["category"])
        said = decision_text(decision, effective.get(code["category"]))
        return {
            **code,
            "label_ko": category.label_ko if category else code["category"],
            "label_en": category.label_en if category else code["category"],
            "passage_decision": said,
            "reviewer": decision["coder"] if said else None,
        }

    return label


def _code(code: dict[str, Any]) -> dict[str, Any]:
    """A sentence code's exported fields (polarity as the passage codes default it)."""
    pol_conf = code.get("polarity_confidence")
    return {
        "category": code.get("category"),
        "polarity": code.get("polarity") or "neutral",
        "confidence": round(float(code.get("confidence") or 0.0), 4),
        "polarity_confidence": None if pol_conf is None else round(float(pol_conf), 4),
    }
