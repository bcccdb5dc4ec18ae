"""Per-text analysis shared by every part of the coder: lemmas, cue hits, polarity, similarity.

One `Analysis` per text (a sentence, usually) is computed once and feeds the rules, the
similarity scores, the supervised model's feature matrix and the evidence shown to coders.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from spacy.language import Language
from spacy.tokens import Doc

from kb.coding.book import CodebookView
from kb.coding.polarity import PolarityResult, PolarityRules
from kb.coding.rules import CueHit, CueMatcher
from kb.coding.similarity import CachedEmbedder, CodebookSimilarity
from kb.coding.spoken import is_recommendation, markers, rule_score
from kb.text.nlp import content_lemmas


@dataclass
class Analysis:
    text: str
    lemmas: list[str]
    hits: list[CueHit]  # category cue hits
    polarity_hits: list[CueHit]
    clause_of_token: list[int]
    clause_score: dict[int, float]
    clause_cues: dict[int, list[str]]
    vector: np.ndarray
    def_sim: np.ndarray  # [n_categories]
    ex_sim: np.ndarray  # [n_categories]
    ex_arg: np.ndarray  # [n_categories]
    function_tokens: list[str] = field(default_factory=list)
    spoken: dict[str, float] = field(default_factory=dict)  # kb.coding.spoken.markers

    def cue_count(self, category: str) -> int:
        return sum(1 for h in self.hits if h.key == category)

    def cues_for(self, category: str) -> list[str]:
        return sorted({h.cue for h in self.hits if h.key == category})

    def polarity_for(self, category: str | None = None) -> PolarityResult:
        """Polarity from the clauses holding `category`'s cues, else from the whole text."""
        from kb.coding.polarity import concluding, to_result

        focus = (
            {self.clause_of_token[h.token_start] for h in self.hits if h.key == category}
            if category
            else set()
        )
        chosen = [c for c in sorted(focus) if c in self.clause_score] or sorted(self.clause_score)
        chosen = concluding(chosen, self.clause_score)
        total = spoken_adjusted(sum(self.clause_score[c] for c in chosen), self.spoken)
        cues = tuple(cue for c in chosen for cue in self.clause_cues.get(c, []))
        cues += tuple(f"SP:{k}" for k in sorted(self.spoken))
        res = to_result(total, cues)
        if is_recommendation(self.spoken):
            return PolarityResult("recommendation", max(res.confidence, 0.6), res.score, res.cues)
        return res

    def polarity_counts(self) -> tuple[float, float, float, float]:
        """(success cues, obstacle cues, negators, signed total) over the whole text."""
        succ = sum(1 for h in self.polarity_hits if h.key == "success")
        obst = sum(1 for h in self.polarity_hits if h.key == "obstacle")
        neg = sum(1 for h in self.polarity_hits if h.key == "negation")
        total = spoken_adjusted(sum(self.clause_score.values()), self.spoken)
        return float(succ), float(obst), float(neg), float(total)


def spoken_adjusted(total: float, spoken: dict[str, float]) -> float:
    """Clause-rule score corrected by spoken markers; a rhetorical question denies what it asks
    ("부족할 리가 있겠어요" → not lacking), so it flips a negative score and is negative alone."""
    if spoken.get("rhetorical") and total < 0:
        return -total
    return total + rule_score(spoken)


FUNCTION_TAGS = ("E", "VX", "XS", "VCN")  # endings, auxiliaries, derivational suffixes, 아니다
NEGATORS = frozenset({"안", "못", "않다", "없다", "있다"})


def function_tokens(doc: Doc) -> list[str]:
    """Endings, auxiliaries and negators, and the sentence's last three tokens.

    Korean marks modality in these (…해야 한다, …지 못했다, …할 계획이다), and modality is what
    separates a need (obstacle) from a description (neutral); content lemmas drop them."""
    toks = [f"F:{t.text}/{t.tag_}" for t in doc if t.tag_.startswith(FUNCTION_TAGS) or t.lemma_ in NEGATORS]
    return toks + [f"END:{t.text}" for t in list(doc)[-3:]]


def lemma_ngrams(lemmas: Sequence[str]) -> list[str]:
    """Unigrams and bigrams of content lemmas: the bag the supervised model reads."""
    grams = list(lemmas)
    grams += [f"{a}_{b}" for a, b in zip(lemmas, lemmas[1:], strict=False)]
    return grams


class Analyzer:
    """Runs the pipeline, cue rules, polarity rules and similarity over batches of texts."""

    def __init__(self, nlp: Language, book: CodebookView, embedder: CachedEmbedder) -> None:
        self.nlp = nlp
        self.book = book
        self.ids = book.ids
        self.cues = CueMatcher(nlp, {c.id: c.cues for c in book.categories})
        self.polarity = PolarityRules(nlp, book.polarity_cues)
        self.embedder = embedder
        self.similarity = CodebookSimilarity(book, embedder)

    def analyse_docs(self, docs: Sequence[Doc], exclude_self: bool = False) -> list[Analysis]:
        texts = [d.text for d in docs]
        vecs = self.embedder.embed(texts)
        sims = self.similarity.score_vectors(vecs, texts if exclude_self else None)
        out = []
        for i, doc in enumerate(docs):
            pol_hits = self.polarity.hits(doc)
            clause_of, scores, cues = self.polarity.clause_scores(doc, pol_hits)
            out.append(
                Analysis(
                    text=doc.text,
                    lemmas=content_lemmas(doc),
                    hits=self.cues(doc),
                    polarity_hits=pol_hits,
                    clause_of_token=clause_of,
                    clause_score=scores,
                    clause_cues=cues,
                    vector=vecs[i],
                    def_sim=sims.definition[i],
                    ex_sim=sims.example_max[i],
                    ex_arg=sims.example_arg[i],
                    function_tokens=function_tokens(doc),
                    spoken=markers(doc.text),
                )
            )
        return out

    def analyse(self, texts: Sequence[str], exclude_self: bool = False) -> list[Analysis]:
        return self.analyse_docs([self.nlp(t) for t in texts], exclude_self=exclude_self)
