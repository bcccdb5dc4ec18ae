"""The coder's output records (assembled by `Coder.code_texts`), and the rules they follow.

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

from kb.records import dominant as dominant_label


def round4(x: float) -> float:
    return round(float(x), 4)


def dominant(weighted: dict[str, float]) -> tuple[str, float]:
    total = sum(weighted.values())
    if total <= 0:
        return "neutral", 0.5
    label = dominant_label(weighted)
    return label, round4(weighted[label] / total)
