"""The record schemas kb reads and writes, defined once: field lists, polarities, the dominant-polarity rule.

Every stage, the store, search, export and the tests import these names instead of spelling the
fields again, so a new field is added in one place. The TypedDicts document what each field means;
the tuples are the column orders files and DataFrames use.

Offsets (`start`, `end`, sentence spans, a match's `start`/`end`) are Python `str` character
offsets into NFC-normalised text (not UTF-8 bytes: a Hangul syllable is 3 bytes but 1 character).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, TypedDict

# ── polarity ────────────────────────────────────────────────────────────────────────────────────

POLARITIES: tuple[str, ...] = ("success", "obstacle", "neutral", "recommendation")
"""Every code's polarity (docs/coding_guide.md §3), in display and column order.

success: an enabler or achieved/expected positive result; obstacle: a problem, lack or a need that
signals a current gap; neutral: description without evaluation; recommendation: advice to another
actor or a general prescription (never counted as the case's obstacle)."""

NO_POLARITY = "none"
"""The polarity of a passage without codes (search results, exports, store metadata)."""

POLARITY_KO: dict[str, str] = {
    "success": "성공 요인", "obstacle": "장애 요인", "neutral": "중립", "recommendation": "제언",
}  # fmt: skip
"""The polarities as the report names them (the app, the export's 읽기용 sheet)."""

GROUP_KO: dict[str, str] = {"domestic": "국내", "international": "해외", "private": "민간"}
"""The case groups as the report names them (chapters 4, 5 and 6)."""

ADDED_PREFIX = "add-"
"""The start of the id of every document `kb add` put into the corpus (not the report's own)."""

TIE_ORDER: tuple[str, ...] = ("neutral", "obstacle", "recommendation", "success")
"""Who wins a tie in `dominant`: the more cautious reading first — no evaluation before a negative
one, a negative before a positive. (This is the alphabetical order search and export used.)"""


def dominant(weights: Mapping[str, float]) -> str:
    """THE dominant-polarity rule: the polarity with the largest weight; ties go by `TIE_ORDER`.

    A polarity outside `POLARITIES` only wins when no known one has more weight. Empty or all-zero
    weights still return the `TIE_ORDER` winner among the keys given; no keys → `NO_POLARITY`.
    """
    if not weights:
        return NO_POLARITY

    def rank(p: str) -> tuple[float, int, str]:
        tie = TIE_ORDER.index(p) if p in TIE_ORDER else len(TIE_ORDER)
        return (-float(weights[p]), tie, p)

    return min(weights, key=rank)


DIRECTIONS: tuple[str, ...] = ("success", "obstacle", "recommendation")
"""The polarities a researcher asks about ("what held back …", "what worked", "what do they advise")."""


ALSO_MIN_CONFIDENCE = 0.5  # a sentence's other direction counts from the coder's own code threshold


def sentence_directions(
    category: str, polarity: str, sentences: Iterable[Mapping[str, Any]]
) -> dict[str, float]:
    """THE mixed-passage rule: the directions other than `polarity` that a sentence of the passage
    carries for `category`, each with its most confident such sentence's confidence.

    A passage code has one polarity (the confidence-weighted vote of its sentences), but an answer
    often holds both: "예산은 넉넉했어요. 그런데 이듬해 절반으로 깎였죠." The matrix, case profiles,
    the polarity filter and exports count the passage under each direction it carries. A sentence
    code under the coder's threshold (kept from the question's context) carries no direction of its own."""
    also: dict[str, float] = {}
    for sentence in sentences:
        for c in sentence.get("codes") or []:
            p, conf = c.get("polarity"), float(c.get("confidence") or 0.0)
            if c.get("category") != category or p == polarity or conf < ALSO_MIN_CONFIDENCE:
                continue
            if p in DIRECTIONS:
                also[p] = max(also.get(p, 0.0), round(conf, 4))
    return {p: also[p] for p in DIRECTIONS if p in also}


def dominant_polarity(codes: Iterable[Mapping[str, Any]]) -> str:
    """A passage's polarity: `dominant` over its codes' summed confidences (`none` without codes)."""
    weight: dict[str, float] = {}
    for c in codes:
        weight[c["polarity"]] = weight.get(c["polarity"], 0.0) + float(c.get("confidence") or 0.0)
    return dominant(weight)


# ── corpus manifest ─────────────────────────────────────────────────────────────────────────────


CASE_FIELDS: tuple[str, ...] = ("case_name", "case_name_en", "group", "platform_type", "organization")
"""The case variables a manifest row carries and every passage of its document copies."""

MANIFEST_FIELDS: tuple[str, ...] = (
    "doc_id", "case", *CASE_FIELDS, "chapter", "section", "page_start", "page_end", "citation",
    "title", "part", "text_file", "blocks_file", "chars", "blocks", "pages_estimated",
)  # fmt: skip
"""Columns of corpus/manifest.csv, in file order (one row per document)."""


class ManifestRow(TypedDict):
    """One document of corpus/manifest.csv (CSV: every value is a string)."""

    doc_id: str  # stable document id; also names docs/<doc_id>.txt
    case: str  # case id (e.g. gyeonggi_bis); several documents may share a case
    case_name: str  # Korean case name
    case_name_en: str
    group: str  # domestic, international or private
    platform_type: str  # kb.corpus.cases.PLATFORM_TYPES (information, policy_proposal, …)
    organization: str  # who runs the platform
    chapter: str
    section: str
    page_start: str  # report page where the document starts ('' for added documents)
    page_end: str
    citation: str  # what a quotation from the document cites
    title: str
    part: str  # overview, case, synthesis, interview, …
    text_file: str  # path of the NFC text, relative to the corpus folder
    blocks_file: str  # path of the block JSONL (headings, paragraphs, speaker turns)
    chars: str
    blocks: str
    pages_estimated: str  # 'true' when page numbers were interpolated


# ── passage ─────────────────────────────────────────────────────────────────────────────────────


PASSAGE_FIELDS: tuple[str, ...] = (
    "id", "doc_id", "case", *CASE_FIELDS, "section", "section_path", "page", "kind", "speaker",
    "question", "text", "start", "end", "sentences", "text_hash",
)  # fmt: skip
"""The contract of a data/passages.jsonl record (the segment stage may add provenance fields)."""


class Passage(TypedDict):
    """One retrievable unit of a document (data/passages.jsonl)."""

    id: str  # derived from doc_id + text: survives rebuilds and edits elsewhere
    doc_id: str
    case: str
    case_name: str
    case_name_en: str
    group: str
    platform_type: str
    organization: str
    section: str  # heading path joined with ' > '
    section_path: list[str]
    page: int | None  # report page of the passage start
    kind: str  # narrative, quote, summary, table, …
    speaker: str | None  # speaker label of an interview turn
    question: str | None  # the interviewer turn this answer follows (never a passage itself)
    text: str
    start: int  # str offset of the passage in the document's NFC text
    end: int
    sentences: list[list[int]]  # [start, end] str offsets of each sentence, relative to `text`
    text_hash: str  # sha256 of text: anchors review decisions


STORE_PASSAGE_FIELDS: tuple[str, ...] = (
    "id", "doc_id", "case", *CASE_FIELDS, "section", "page", "kind", "speaker", "text", "start", "end",
    "text_hash",
)  # fmt: skip
"""Columns of the knowledge base's passage table (KnowledgeBase.passages_df)."""

# ── code ────────────────────────────────────────────────────────────────────────────────────────


class SentenceCode(TypedDict):
    """One sentence of a coded passage and the codes it carries."""

    start: int  # str offsets relative to the passage text
    end: int
    codes: list[dict[str, Any]]  # {category, polarity, confidence, evidence} per code


class Code(TypedDict):
    """One factor code of a passage as the coder writes it (data/codes.jsonl `codes`)."""

    category: str  # codebook category id
    polarity: str  # one of POLARITIES
    confidence: float  # 0–1, the coder's calibrated score
    polarity_confidence: float  # share of the polarity vote the label won
    evidence: dict[str, Any]  # cues, nearest example, similarities, model score, …


CODE_FIELDS: tuple[str, ...] = ("category", "polarity", "confidence", "polarity_confidence", "evidence")

EFFECTIVE_CODE_FIELDS: tuple[str, ...] = (
    "category", "dimension", "polarity", "also", "confidence", "polarity_confidence", "source", "reviewer",
    "memo",
)  # fmt: skip
"""A code after review (auto code with human decisions applied), as search results and exports show it.

also: {direction: confidence} of the other directions one of the code's sentences carries
(`sentence_directions`; {} when a reviewer set or added the polarity); polarity_confidence: how sure
the coder is of the direction, apart from the factor (None in a sentence-direction row); source: 'auto'
or 'human'; reviewer: who decided (None for auto); memo: the reviewer's note."""

CODE_COLUMNS: tuple[str, ...] = ("passage_id", *EFFECTIVE_CODE_FIELDS, "evidence")
"""Columns of the effective-code table (KnowledgeBase.codes_df): one row per passage and factor."""

DIRECTION_COLUMNS: tuple[str, ...] = (*CODE_COLUMNS, "polarity_from")
"""Columns of the counted-code table (KnowledgeBase.codes_by_direction): one row per passage, factor
and direction it counts under; polarity_from: 'passage' (the code's own polarity) or 'sentence'
(another direction one of its sentences carries, with that sentence's confidence)."""

# ── decision ────────────────────────────────────────────────────────────────────────────────────


DECISION_FIELDS: tuple[str, ...] = (
    "id", "ts", "coder", "passage_id", "text_hash", "category", "action", "before", "after", "memo",
)  # fmt: skip
"""Columns of the append-only review log (data/reviews.sqlite `decisions`)."""


class DecisionRecord(TypedDict):
    """One logged review decision; anchored by passage id + text hash, never dropped."""

    id: int
    ts: str  # UTC ISO time
    coder: str  # who decided
    passage_id: str
    text_hash: str  # the passage text the coder saw
    category: str | None  # None: a memo on the passage itself
    action: str  # accept, reject, add, set_polarity, memo
    before: dict[str, Any] | None  # the code's state before
    after: dict[str, Any] | None  # and after the decision
    memo: str | None


# ── search result ───────────────────────────────────────────────────────────────────────────────


SEARCH_RESULT_FIELDS: tuple[str, ...] = (
    "id", "text", "case", "case_name", "group", "platform_type", "codes", "polarity", "score",
    "section", "page", "page_end", "citation", "kind", "speaker", "doc_id", "question", "match",
)  # fmt: skip
"""Columns of `kb.api.search` (the JSON keys of `kb search --json`)."""


class SearchResult(TypedDict):
    """One ranked passage with its effective codes and citation."""

    id: str
    text: str
    case: str
    case_name: str
    group: str
    platform_type: str
    codes: list[dict[str, Any]]  # EFFECTIVE_CODE_FIELDS each, + disputed, agreed_by, fallback
    polarity: str  # dominant_polarity(codes)
    score: float  # fused rank score (higher is better)
    section: str
    page: int | None
    page_end: int | None  # last page, when the passage runs over a page break
    citation: str  # the document's reference with the passage's pages or lines (kb.corpus.citation)
    kind: str | None
    speaker: str | None
    doc_id: str
    question: str | None
    match: dict[str, Any] | None  # best sentence: {text, start, end}, offsets into `text`
