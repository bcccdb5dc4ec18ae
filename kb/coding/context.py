"""Context of a sentence in an interview: the interviewer's question and the same answer's neighbours.

A spoken answer often names its factor only through the question ("예산 확보는 어떠셨어요?" →
"그게 제일 골치였죠"), and a sentence of an answer usually shares its neighbours' factors. So a
sentence's category probability p is raised towards the question's q and its neighbours' n:

    p' = p + (1 - p) · (w_q · q + w_n · n)

with w_q and w_n larger for a thin sentence (anaphora such as 그게/그건, or few content words), whose
own words say little, and larger inside an interview answer than in report prose. Raising only
(never lowering) keeps a clear sentence's own codes; it is recall that fails on new transcripts.
Interviewer turns are never coded, and a substantive interview answer sentence (one with a
question or a speaker) that clears no threshold gets its best category when that is close
enough (`FALLBACK_MIN` in confidence units, 0.5 = at threshold): coders code nearly every
sentence of an answer, while report prose has background sentences that rightly carry no code.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from kb.coding.question_polarity import answer_weights
from kb.coding.spoken import substantive
from kb.text.segment import is_interviewer

if TYPE_CHECKING:
    from kb.coding.features import Analysis

ANAPHORA = frozenset(
    {"그것", "그거", "그게", "그건", "거기", "그쪽", "그때", "그런", "그렇", "이것", "이거", "그"}
)
W_QUESTION, W_QUESTION_THIN, W_NEIGHBOUR, W_NEIGHBOUR_THIN = 0.25, 0.6, 0.15, 0.4
# Chosen on the development transcripts (bench/calibrate_dev.py; the test transcripts are never
# used to choose): a spoken answer leans on its question and neighbours more than report prose
# does, so inside an interview answer the weights above are scaled up; report prose keeps them.
# ×1.5 by bench/calibrate_dev.py's grid; ×2 since `bench/calibrate_dev.py --answers` chose it together
# with the answer code choice of kb.coding.answers (leave-one-transcript-out on the dev transcripts);
# ×2.5 when it was re-chosen after the boundary answers (corpus/training/spoken_boundaries.jsonl)
# were added: every split chose it, held-out macro-F1 0.679 → 0.706 (docs/bench/categories_dev.md).
ANSWER_CONTEXT_SCALE = 2.5
FALLBACK_MIN = 0.4
BACKCHANNEL_LEMMAS = 2  # fewer content words than this: a backchannel, never coded from its context
# Neighbouring sentences of one answer usually share their polarity (an answer to "how was the
# budget?" is a run of complaints or of good news), so a sentence's polarity probabilities are mixed
# with its neighbours' (for the same category): p' = (1 − w)·p + w·mean(neighbours). Chosen on the
# development transcripts, leave-one-transcript-out: 0.2 by plain accuracy (docs/bench/polarity_dev.md),
# 0.3 by balanced accuracy together with the answer prior (docs/bench/polarity_balance_dev.md).
# This hand mix (and the answer prior) is the fast coder's; a coder with a fine-tuned polarity model
# reads answers through the learned combiner of kb.coding.polarity_stack instead.
NEIGHBOUR_POLARITY_WEIGHT = 0.3
# Report prose: a sentence's polarity mixed the same way with its neighbours' in the same text (the
# adjacent sentences, or the context's prev/next text at its edges). Chosen by nested cross-validation
# over the 5 held-out report folds (bench/calibrate_prose.py --polarity, docs/bench/prose_dev.md):
# 0.3 on four of five splits (0.4 on the fifth), held-out accuracy over every gold code 0.641 → 0.665,
# higher on all five folds, balanced accuracy 0.684 → 0.690. Fast coder only measured.
PROSE_NEIGHBOUR_POLARITY_WEIGHT = 0.3


@dataclass(frozen=True)
class Context:
    """What surrounds a text: the preceding interviewer turn, neighbour texts, the speaker, and
    the case's group (a private firm's actorless advice addresses the public sector)."""

    question: str | None = None
    prev: str | None = None
    next: str | None = None
    speaker: str | None = None
    group: str | None = None


def as_context(value: Context | Mapping[str, Any] | None) -> Context:
    if value is None:
        return Context()
    if isinstance(value, Context):
        return value

    def text(key: str) -> str | None:
        v = value.get(key)
        return v.strip() or None if isinstance(v, str) else None

    return Context(text("question"), text("prev"), text("next"), text("speaker"), text("group"))


def is_thin(a: Analysis) -> bool:
    """Says little on its own: starts with an anaphor, or has fewer than four content words."""
    return is_thin_text(a.text, a.lemmas)


def is_thin_text(text: str, lemmas: Sequence[str]) -> bool:
    """`is_thin` from a text and its content lemmas (kb.text.nlp.content_lemmas)."""
    from kb.coding.spoken import tokens

    first = [f for f, t in tokens(text)[:2] if t.startswith(("NP", "MM", "VA", "MAG"))]
    return bool(set(first) & ANAPHORA) or len(lemmas) < 4


def context_parts(
    score_texts: Callable[[list[str]], np.ndarray],
    analyses: list[Analysis],
    raw: np.ndarray,
    owner: Sequence[int],
    contexts: Sequence[Context],
) -> tuple[np.ndarray, np.ndarray]:
    """[n, k] raw scores of each sentence's question and the highest of its neighbours' (the
    adjacent sentences of the same text, or the context's prev/next text at the text's edges);
    NaN rows where a sentence has none. What `blend_context` blends in.

    `score_texts`: the coder's raw category scores of other texts (one row per text)."""
    question = np.full(raw.shape, np.nan)
    neighbours = np.full(raw.shape, np.nan)
    if not len(raw):
        return question, neighbours
    extra = sorted({t for c in contexts for t in (c.question, c.prev, c.next) if t})
    ext_raw: dict[str, np.ndarray] = {}
    if extra:
        scores = score_texts(extra)
        ext_raw = dict(zip(extra, scores, strict=True))
    n = len(analyses)
    for i in range(n):
        ctx = contexts[owner[i]]
        neigh = [raw[k] for k in (i - 1, i + 1) if 0 <= k < n and owner[k] == owner[i]]
        if not (i and owner[i - 1] == owner[i]) and ctx.prev in ext_raw:
            neigh.append(ext_raw[ctx.prev])
        if not (i + 1 < n and owner[i + 1] == owner[i]) and ctx.next in ext_raw:
            neigh.append(ext_raw[ctx.next])
        if neigh:
            neighbours[i] = np.max(neigh, axis=0)
        if ctx.question in ext_raw:
            question[i] = ext_raw[ctx.question]
    return question, neighbours


def blend_context(
    score_texts: Callable[[list[str]], np.ndarray],
    analyses: list[Analysis],
    raw: np.ndarray,
    owner: Sequence[int],
    contexts: Sequence[Context],
    parts: tuple[np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """Raw category scores raised by the question's and the neighbours' scores (see module doc).

    `score_texts`: the coder's raw category scores of other texts (one row per text); `parts`:
    `context_parts` of the same arguments when the caller already has them."""
    if not len(raw):
        return raw
    question, neighbours = (
        parts if parts is not None else context_parts(score_texts, analyses, raw, owner, contexts)
    )
    out = raw.copy()
    for i in range(len(analyses)):
        if len(analyses[i].lemmas) < BACKCHANNEL_LEMMAS:
            continue  # "네, 맞아요", "그렇죠": agreement is no evidence of its own (left uncoded)
        ctx = contexts[owner[i]]
        push = np.zeros(raw.shape[1])
        thin = is_thin(analyses[i])
        if not np.isnan(neighbours[i]).all():
            push += (W_NEIGHBOUR_THIN if thin else W_NEIGHBOUR) * neighbours[i]
        if not np.isnan(question[i]).all():
            push += (W_QUESTION_THIN if thin else W_QUESTION) * question[i]
        if is_answer(ctx):
            push *= ANSWER_CONTEXT_SCALE
        out[i] = raw[i] + (1 - raw[i]) * np.clip(push, 0, 1)
    return out


def answer_polarity(
    probs: list[dict[str, float]],
    answer: Sequence[bool],
    questions: Sequence[str | None] | None = None,
    spoken: Sequence[dict[str, float]] | None = None,
) -> list[dict[str, float]]:
    """Polarity probabilities of the codes of interview answers reweighted by the answer prior,
    which depends on what the answer's question asks for (kb.coding.question_polarity)."""
    questions = list(questions) if questions is not None else [None] * len(probs)
    spoken = list(spoken) if spoken is not None else [{}] * len(probs)
    for row, ans, q, sp in zip(probs, answer, questions, spoken, strict=True):
        if not ans:
            continue
        weights = answer_weights(q, sp)
        for p in row:
            row[p] *= weights.get(p, 1.0)
        total = sum(row.values())
        if total > 0:
            for p in row:
                row[p] /= total
    return probs


def blend_neighbour_polarity(
    probs: list[dict[str, float]],
    neighbours: Sequence[Sequence[dict[str, float]]],
    answer: Sequence[bool],
    weight: float | None = None,
) -> list[dict[str, float]]:
    """The flagged rows' polarity probabilities mixed with their neighbours' (`answer`: interview
    answers, at NEIGHBOUR_POLARITY_WEIGHT; the coder makes a second call for report prose at
    PROSE_NEIGHBOUR_POLARITY_WEIGHT); `neighbours[k]`: the neighbour sentences' probabilities for row
    k's category (empty: none). Rows not flagged are left as they are."""
    w = NEIGHBOUR_POLARITY_WEIGHT if weight is None else weight
    out = []
    for row, near, ans in zip(probs, neighbours, answer, strict=True):
        if not ans or not near or w <= 0:
            out.append(row)
            continue
        mean = {p: sum(n.get(p, 0.0) for n in near) / len(near) for p in row}
        out.append({p: (1 - w) * row[p] + w * mean[p] for p in row})
    return out


def is_answer(ctx: Context) -> bool:
    """Part of an interview answer: it has the interviewer's question or a (non-interviewer) speaker."""
    return bool(ctx.question or ctx.speaker) and not is_interviewer(ctx.speaker)


def fallback_rows(
    minimum: float | None,
    analyses: list[Analysis],
    conf: np.ndarray,
    chosen: np.ndarray,
    answer: np.ndarray,
) -> list[tuple[int, int]]:
    """(sentence, category) of the best category for substantive answer sentences that got none.

    `minimum`: the least confidence taken (None: FALLBACK_MIN; 0.5 or more turns this off)."""
    minimum = FALLBACK_MIN if minimum is None else minimum
    if minimum >= 0.5:
        return []
    out = []
    for i, a in enumerate(analyses):
        if not answer[i] or chosen[i].any() or not substantive(a.text, a.lemmas):
            continue
        j = int(np.argmax(conf[i]))
        if conf[i, j] >= minimum:
            out.append((i, j))
    return out
