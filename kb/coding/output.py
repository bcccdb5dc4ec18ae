"""Assemble the coder's output records from per-sentence scores.

Output per text:
  {"id", "codes": [{"category", "confidence", "polarity", "polarity_confidence", "evidence"}],
   "polarity", "polarity_confidence", "sentences": [{"start", "end", "codes": [...]}]}
Sentence offsets are character offsets in the given text. Passage codes are the union of the
sentence codes: confidence = best sentence, polarity = confidence-weighted vote.

Context (`kb.coding.context`): a sentence's category probabilities are blended with those of
the interviewer's question and of the neighbouring sentences of the same answer, so "그게 제일
골치였죠" takes its factor from "예산 확보는 어떠셨어요?". Interviewer turns get no codes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from kb.coding.book import POLARITIES
from kb.coding.context import (
    Context,
    answer_polarity,
    as_context,
    blend_context,
    fallback_rows,
    is_answer,
    is_interviewer,
)
from kb.coding.features import Analysis
from kb.coding.polarity import to_result

if TYPE_CHECKING:
    from kb.coding.coder import Coder


def _r(x: float) -> float:
    return round(float(x), 4)


def _evidence(coder: Coder, a: Analysis, j: int, cat: str, raw: float) -> dict[str, Any]:
    ex_idx = int(a.ex_arg[j])
    model = coder.model
    return {
        "cues": a.cues_for(cat),
        "nearest_example": coder.analyzer.similarity.nearest_example(j, ex_idx),
        "example_similarity": _r(a.ex_sim[j]) if ex_idx >= 0 else None,
        "definition_similarity": _r(a.def_sim[j]),
        "model_score": _r(raw),
        "threshold": _r(model.thresholds.get(cat, 0.5)) if model and cat in model.ids else None,
        "polarity_cues": list(a.polarity_for(cat).cues),
    }


def _dominant(weighted: dict[str, float]) -> tuple[str, float]:
    total = sum(weighted.values())
    if total <= 0:
        return "neutral", 0.5
    label = max(POLARITIES, key=lambda p: (weighted.get(p, 0.0), p == "neutral"))
    return label, _r(weighted[label] / total)


def assemble(
    coder: Coder,
    texts: Sequence[str],
    ids: Sequence[str] | None = None,
    contexts: Sequence[Context | None] | None = None,
) -> list[dict[str, Any]]:
    texts = list(texts)
    ids = list(ids) if ids is not None else [str(i) for i in range(len(texts))]
    if len(ids) != len(texts):
        raise ValueError(f"{len(ids)} ids for {len(texts)} texts")
    ctx = [as_context(c) for c in contexts] if contexts is not None else [Context()] * len(texts)
    if len(ctx) != len(texts):
        raise ValueError(f"{len(ctx)} contexts for {len(texts)} texts")
    nlp = coder.analyzer.nlp
    units: list[list[tuple[int, int]]] = []
    sent_docs = []
    for text in texts:
        doc = nlp(text)
        spans = []
        for sent in doc.sents:
            stripped = sent.text.strip()
            if not stripped:
                continue
            lead = len(sent.text) - len(sent.text.lstrip())
            start = sent.start_char + lead
            spans.append((start, start + len(stripped)))
            sent_docs.append(nlp(stripped))
        units.append(spans)
    analyses = coder.analyzer.analyse_docs(sent_docs)
    cats, conf, raw = coder.score_analyses(analyses)
    owner = [i for i, spans in enumerate(units) for _ in spans]
    raw = blend_context(coder, analyses, raw, owner, ctx)
    conf = coder.confidences(cats, raw)
    silent = np.array([is_interviewer(ctx[i].speaker) for i in owner], bool)
    chosen = conf >= 0.5
    if len(chosen):
        chosen[silent] = False
        answer = np.array([is_answer(ctx[i]) for i in owner], bool)
        fill = fallback_rows(coder, analyses, conf, chosen, answer)
        for i, j in fill:
            chosen[i, j] = True
    pairs = [(i, j) for i in range(len(analyses)) for j in range(len(cats)) if chosen[i, j]]
    groups = [ctx[owner[i]].group for i, _ in pairs]
    pol = coder.polarity([analyses[i] for i, _ in pairs], [cats[j] for _, j in pairs], groups)
    pol = answer_polarity(pol, [is_answer(ctx[owner[i]]) for i, _ in pairs])
    pol_of = {pair: p for pair, p in zip(pairs, pol, strict=True)}

    results, row = [], 0
    for uid, spans in zip(ids, units, strict=True):
        sentences, best = [], {}
        for start, end in spans:
            a = analyses[row]
            codes = []
            for j, cat in enumerate(cats):
                if (row, j) not in pol_of:
                    continue
                probs = pol_of[(row, j)]
                label = max(POLARITIES, key=lambda p: probs[p])
                code = {
                    "category": cat,
                    "confidence": _r(conf[row, j]),
                    "polarity": label,
                    "polarity_confidence": _r(probs[label]),
                    "evidence": _evidence(coder, a, j, cat, raw[row, j]),
                }
                if conf[row, j] < 0.5:
                    code["evidence"]["fallback"] = True  # the sentence's best category, below threshold
                codes.append(code)
                agg = best.setdefault(cat, {"code": code, "votes": dict.fromkeys(POLARITIES, 0.0), "n": 0})
                if code["confidence"] > agg["code"]["confidence"]:
                    agg["code"] = code
                agg["n"] += 1
                for p in POLARITIES:
                    agg["votes"][p] += conf[row, j] * probs[p]
            codes.sort(key=lambda c: -c["confidence"])
            sentences.append({"start": start, "end": end, "codes": codes})
            row += 1
        unit_codes, unit_votes = [], dict.fromkeys(POLARITIES, 0.0)
        for cat, agg in best.items():
            label, share = _dominant(agg["votes"])
            top = agg["code"]
            unit_codes.append(
                {
                    "category": cat,
                    "confidence": top["confidence"],
                    "polarity": label,
                    "polarity_confidence": share,
                    "evidence": {**top["evidence"], "sentences": agg["n"]},
                }
            )
            for p in POLARITIES:
                unit_votes[p] += agg["votes"][p]
        unit_codes.sort(key=lambda c: -c["confidence"])
        if unit_codes:
            polarity, pconf = _dominant(unit_votes)
        else:
            first = row - len(spans)
            total = sum(sum(analyses[i].clause_score.values()) for i in range(first, row))
            res = to_result(total)
            polarity, pconf = res.label, res.confidence
        results.append(
            {
                "id": uid,
                "codes": unit_codes,
                "polarity": polarity,
                "polarity_confidence": pconf,
                "sentences": sentences,
            }
        )
    return results
