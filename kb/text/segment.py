"""Paragraph → passage segmentation with Kiwi sentence boundaries.

Works on any Korean text (report paragraphs, new interview transcripts): a passage is a
paragraph, or a run of whole sentences of a long paragraph (≈ `max_chars`), never cut inside
a sentence or inside a “…” quotation. Block quotations and speaker turns ("면담자: …") become
their own passages (kind `quote`, `speaker` set). Offsets are character offsets into the text
given, so callers can map passages back to their document.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_left, bisect_right
from itertools import pairwise
from typing import Any

from kb.text.backchannel import content_free
from kb.text.morphs import get_kiwi

__all__ = [
    "sentence_spans",
    "pack_sentences",
    "segment_text",
    "split_paragraphs",
    "is_interviewer",
    "asks",
    "block_questions",
    "INTERVIEWER_SPEAKERS",
    "MAX_CHARS",
]

MAX_CHARS = 600
_PARA_RE = re.compile(r"\n[ \t]*\n")
_SPEAKER_RE = re.compile(
    r"^\s*(?:\[|\()?(?P<who>[가-힣A-Za-z][가-힣A-Za-z0-9 ._-]{0,14}?)(?:\]|\))?\s*[:：]\s+(?=\S)"
)
_FINAL_RE = re.compile(r"[.?!…][\"'”’)\]]*\s*$")
# what goes on after speech quoted without quotation marks ("시끄럽다, 골목이 막힌다 이런 민원을 …")
_QUOTING_RE = re.compile(r"\s*(?:이런|그런|저런|이러한|그러한|하는|라는|하고|라고|하면서|하며)(?=\s|$)")
_KO_END_RE = re.compile(r"(?<=[다요죠까])[.?!]([\"'”’)]*)\s+")
# Kiwi's time grows faster than the length of what it reads: a long text goes to it in pieces of
# about this many characters, cut at a sentence end or a line end.
KIWI_PIECE = 4000
_PIECE_CUT_RE = re.compile(r"[.?!…][\"'”’)\]]*\s+|\n")
_QUOTE_PAIRS = (("“", "”"), ('"', '"'), ("「", "」"), ("『", "』"))
# Speaker labels of the person asking (cf. kb.exchange.ingest.KNOWN_SPEAKERS): their turns are context for
# the answer that follows, never evidence of their own.
INTERVIEWER_SPEAKERS = frozenset(
    {
        *("면담자", "면접자", "질문자", "조사자", "조사원", "면접원", "연구자", "연구진", "인터뷰어"),
        *("진행자", "사회자", "질문", "문", "q", "i", "int", "interviewer", "moderator", "facilitator"),
    }
)
# a role word with more after it ("면담자 김OO", "조사자A")
_INTERVIEWER_PREFIXES = ("면담자", "면접자", "질문자", "조사자", "인터뷰어")


def is_interviewer(speaker: str | None) -> bool:
    """Whether a speaker label names the interviewer ("면담자", "Q1", "[질문]", "Interviewer 2")."""
    if not speaker:
        return False
    label = re.sub(r"[\s\d._:-]+$", "", speaker.strip().strip("[]()<>")).strip().casefold()
    return label in INTERVIEWER_SPEAKERS or label.startswith(_INTERVIEWER_PREFIXES)


def asks(block: dict[str, Any]) -> bool:
    """Whether a document block is an interviewer's turn (by its label, or `role` set by kb add)."""
    return is_interviewer(block.get("speaker")) or block.get("role") == "interviewer"


def block_questions(text: str, blocks: list[dict[str, Any]]) -> list[str | None]:
    """Per block the question its answer replies to: the interviewer's turn before it (consecutive
    turns of the interviewer's joined), for every block of the answer that follows, until the next
    question or section. An interviewer's turn that only agrees ("아, 네.", "그렇군요.") is no new
    question: the answer that goes on keeps the one it was given. None for the interviewer's turns,
    blocks without a speaker, figures and headers (kinds "figure", "meta", which also leave the
    question as it is)."""
    out: list[str | None] = []
    question: str | None = None
    asking, section = False, None  # previous block was an interviewer turn; its section path
    for block in blocks:
        if block["kind"] in ("figure", "meta"):
            out.append(None)
            continue
        if block["section_path"] != section:
            question, section = None, block["section_path"]
        if asks(block):
            turn = " ".join(text[block["start"] : block["end"]].split())
            if content_free(turn):
                out.append(None)
                continue
            question = f"{question} {turn}" if asking and question else turn
            asking = True
            out.append(None)
            continue
        asking = False
        out.append(question if block.get("speaker") else None)
    return out


def _quote_spans(text: str) -> list[tuple[int, int]]:
    spans = []
    for m in re.finditer(r"“[^“”]*”", text):
        spans.append((m.start(), m.end()))
    return spans


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """[start, end) of each sentence.

    Kiwi proposes the boundaries; then (1) a boundary with no space before the next sentence and
    no sentence-final punctuation before it is dropped (Kiwi splits "“당근마켓”의 경우" after the
    closing quote), or when the sentence before ends in a plain "…다" and the next goes on with
    이런/그런/하는/라고 … (speech quoted without quotation marks: "막힌다 이런 민원을"), (2) a
    Korean sentence end ("…다. ", "…요? ") inside a Kiwi sentence becomes a boundary, (3) no boundary
    is kept inside a “…” quotation.
    """
    if not text.strip():
        return []
    kiwi = get_kiwi()
    spans = [[a + s.start, a + s.end] for a, b in _pieces(text) for s in kiwi.split_into_sents(text[a:b])]
    spans = spans or [[0, len(text)]]
    merged: list[list[int]] = []
    unclosed = 0  # "(" minus ")" in the last merged sentence, kept as it grows
    for cur in spans:
        piece = text[cur[0] : cur[1]]
        tail = text[max(merged[-1][0], merged[-1][1] - 64) : merged[-1][1]] if merged else ""
        unended = merged and not _FINAL_RE.search(tail)
        glued = unended and (
            cur[0] == merged[-1][1] or (tail.rstrip().endswith("다") and _QUOTING_RE.match(piece))
        )
        if glued or (merged and unclosed > 0):
            merged[-1][1] = cur[1]
            unclosed += piece.count("(") - piece.count(")")
        else:
            merged.append(cur)
            unclosed = piece.count("(") - piece.count(")")
    split: list[list[int]] = []
    for s0, e0 in merged:
        pos = s0
        for m in _KO_END_RE.finditer(text, s0, e0):
            if m.end() < e0:
                split.append([pos, m.start() + 1 + len(m.group(1))])
                pos = m.end()
        split.append([pos, e0])
    quotes = _quote_spans(text)  # sorted, not overlapping
    quote_starts = [qs for qs, _ in quotes]
    out: list[list[int]] = []
    for start, end in split:
        q = bisect_left(quote_starts, start) - 1  # the last quotation opening before `start`
        if out and q >= 0 and start < quotes[q][1]:
            out[-1][1] = end
        else:
            out.append([start, end])
    return [(s, e) for s, e in out if text[s:e].strip()]


def _pieces(text: str, size: int = KIWI_PIECE) -> list[tuple[int, int]]:
    """[start, end) pieces of at most about `size` characters, cut after the last sentence end (else
    line end, else space) of each window; a text within `size` is one piece."""
    out, start = [], 0
    while len(text) - start > size:
        window = text[start : start + size]
        ends = [m.end() for m in _PIECE_CUT_RE.finditer(window, size // 2)]
        cut = ends[-1] if ends else (window.rfind(" ", size // 2) + 1) or size
        out.append((start, start + cut))
        start += cut
    out.append((start, len(text)))
    return out


def _nearest(starts: list[int], ideal: float, lo: int) -> int | None:
    """Index ≥ lo of the start nearest `ideal` (the earlier one on a tie), None when none is left."""
    if lo >= len(starts):
        return None
    j = bisect_left(starts, ideal, lo)
    candidates = [i for i in (j - 1, j) if lo <= i < len(starts)]
    return min(candidates, key=lambda i: abs(starts[i] - ideal))


def _inside(spans: list[tuple[int, int]], chunks: list[tuple[int, int]]) -> dict[tuple[int, int], list]:
    """Per chunk the spans (sorted, not overlapping) that lie within it."""
    starts, ends = [s for s, _ in spans], [e for _, e in spans]
    return {c: spans[bisect_left(starts, c[0]) : bisect_right(ends, c[1])] for c in chunks}


def pack_sentences(spans: list[tuple[int, int]], max_chars: int = MAX_CHARS) -> list[tuple[int, int]]:
    """Group consecutive sentences into chunks of balanced size, each ≲ max_chars.

    Cuts go to the sentence boundary nearest each ideal cut point; a single sentence longer
    than max_chars stays whole.
    """
    if not spans:
        return []
    total = spans[-1][1] - spans[0][0]
    if total <= max_chars:
        return [(spans[0][0], spans[-1][1])]
    parts = math.ceil(total / max_chars)
    starts = [s for s, _ in spans]
    while True:
        target = total / parts
        cuts, idx = [], 0
        for k in range(1, parts):
            ideal = spans[0][0] + k * target
            best = _nearest(starts, ideal, idx + 1)
            if best is None:
                break
            cuts.append(best)
            idx = best
        bounds = [0, *sorted(set(cuts)), len(spans)]
        chunks = [(spans[a][0], spans[b - 1][1]) for a, b in pairwise(bounds) if b > a]
        too_long = any(
            e - s > max_chars and b - a > 1 for (s, e), a, b in zip(chunks, bounds, bounds[1:], strict=False)
        )
        if not too_long or parts >= len(spans):
            return chunks
        parts += 1


def split_paragraphs(text: str) -> list[tuple[int, int]]:
    """[start, end) of blank-line separated paragraphs, whitespace trimmed."""
    out, pos = [], 0
    for m in [*_PARA_RE.finditer(text), None]:
        end = m.start() if m else len(text)
        chunk = text[pos:end]
        if chunk.strip():
            lead = len(chunk) - len(chunk.lstrip())
            out.append((pos + lead, pos + len(chunk.rstrip())))
        pos = m.end() if m else len(text)
    return out


def _is_block_quote(para: str) -> bool:
    s = para.strip()
    for open_q, close_q in _QUOTE_PAIRS:
        if s.startswith(open_q) and s.rstrip(".").endswith(close_q):
            inner = s[len(open_q) : s.rstrip(".").rfind(close_q)]
            return close_q not in inner or open_q == close_q
    return False


def segment_text(
    text: str,
    *,
    max_chars: int = MAX_CHARS,
    kind: str = "narrative",
    speaker: str | None = None,
    base_offset: int = 0,
    paragraphs: bool = True,
    detect_speakers: bool = True,
) -> list[dict[str, Any]]:
    """Split `text` into passage records: text, start, end, kind, speaker, sentences.

    - paragraphs are separated by blank lines (`paragraphs=False` treats `text` as one);
    - a paragraph starting with "이름: " (speaker turn) gets that speaker and kind `quote`;
    - a paragraph that is one “…” quotation is kept whole as kind `quote`; a long speaker turn
      is split at sentence boundaries like prose (each part keeps the speaker);
    - `kind="table"` splits only at line ends; other kinds split long paragraphs at sentence
      boundaries into chunks of about `max_chars`.
    Offsets (`start`, `end`, `sentences`) are relative to `text` plus `base_offset`.
    """
    spans = split_paragraphs(text) if paragraphs else [(0, len(text))] if text.strip() else []
    out: list[dict[str, Any]] = []
    for p_start, p_end in spans:
        para = text[p_start:p_end]
        p_kind, p_speaker = kind, speaker
        body_start = 0
        if detect_speakers and kind != "table":
            m = _SPEAKER_RE.match(para)
            if m and len(m.group("who").split()) <= 3:
                p_kind, p_speaker, body_start = "quote", m.group("who").strip(), 0
        if kind != "table" and _is_block_quote(para):
            p_kind = "quote"
        if kind == "table":
            chunks = _table_chunks(para, max_chars)
            sents_of = {c: [c] for c in chunks}
        else:
            sents = [(s + body_start, e + body_start) for s, e in sentence_spans(para[body_start:])]
            # A quotation stays whole; a speaker's turn (an interview answer) is split like prose.
            whole = p_kind == "quote" and not p_speaker
            chunks = [(body_start, len(para))] if whole else pack_sentences(sents, max_chars)
            sents_of = {c: inside or [c] for c, inside in _inside(sents, chunks).items()}
        for c in chunks:
            s, e = c
            while s < e and para[s].isspace():
                s += 1
            while e > s and para[e - 1].isspace():
                e -= 1
            if s >= e:
                continue
            off = base_offset + p_start
            out.append(
                {
                    "text": para[s:e],
                    "start": off + s,
                    "end": off + e,
                    "kind": p_kind,
                    "speaker": p_speaker,
                    "sentences": [[off + a, off + b] for a, b in sents_of[c]],
                }
            )
    return out


def _table_chunks(para: str, max_chars: int) -> list[tuple[int, int]]:
    lines, pos = [], 0
    for line in para.split("\n"):
        lines.append((pos, pos + len(line)))
        pos += len(line) + 1
    return pack_sentences(lines, max_chars)
