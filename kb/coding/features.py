"""Per-text analysis shared by every part of the coder: lemmas, cue hits, polarity, similarity.

One `Analysis` per text (a sentence, usually) is computed once and feeds the rules, the
similarity scores, the supervised model's feature matrix and the evidence shown to coders.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from spacy.language import Language
from spacy.tokens import Doc

from kb.coding.book import CodebookView
from kb.coding.parse_cache import ParseCache, analyser_version
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
    # the polarity reading's sentence vector (`Analyzer.polarity_embedder`; None: not computed)
    polarity_vector: np.ndarray | None = None

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
    ("부족할 리가 있겠어요" → not lacking), so it flips a negative score and is negative alone. A
    past counterfactual evaluates an unreal world ("그게 없었으면 못 했을 거예요" → it made it
    possible; "예산이 있었으면 잘 됐을 텐데" → it was lacking), so it flips the whole score."""
    if spoken.get("rhetorical") and total < 0:
        score = -total
    else:
        score = total + rule_score(spoken)
    return -score if spoken.get("counterfactual") else score


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
    """Runs the pipeline, cue rules, polarity rules and similarity over batches of texts.

    `cache` (kb.coding.parse_cache) keeps the Doc-derived parts of analyses between runs;
    `analyse` parses only the texts it does not hold."""

    def __init__(self, nlp: Language, book: CodebookView, embedder: CachedEmbedder) -> None:
        self.nlp = nlp
        self.book = book
        self.ids = book.ids
        self.cues = CueMatcher(nlp, {c.id: c.cues for c in book.categories})
        self.polarity = PolarityRules(nlp, book.polarity_cues)
        self.embedder = embedder
        self.similarity = CodebookSimilarity(book, embedder)
        self.cache: ParseCache | None = None
        # a second encoder whose vectors only the polarity model's embedding reading reads
        # (kb.coding.supervised.PolarityModel); None: the analyses carry no such vector
        self.polarity_embedder: CachedEmbedder | None = None

    def use_cache(self, path: Path | None) -> ParseCache:
        """Keep parsed analyses in `path` (None: in memory only) under this analyser's version."""
        patterns = {"cues": self.cues.patterns, "polarity": self.polarity.matcher.patterns}
        self.cache = ParseCache(path, analyser_version(patterns))
        return self.cache

    def parts(self, doc: Doc) -> dict[str, Any]:
        """What an Analysis takes from the parsed text, as plain JSON values (see parse_cache)."""
        pol_hits = self.polarity.hits(doc)
        clause_of, scores, cues = self.polarity.clause_scores(doc, pol_hits)
        return {
            "lemmas": content_lemmas(doc),
            "hits": [_hit_row(h) for h in self.cues(doc)],
            "polarity_hits": [_hit_row(h) for h in pol_hits],
            "clause_of_token": list(clause_of),
            "clause_score": [[k, v] for k, v in scores.items()],
            "clause_cues": [[k, list(v)] for k, v in cues.items()],
            "function_tokens": function_tokens(doc),
            "spoken": [[k, v] for k, v in markers(doc.text).items()],
        }

    def analyse_docs(self, docs: Sequence[Doc], exclude_self: bool = False) -> list[Analysis]:
        return self._assemble([d.text for d in docs], [self.parts(d) for d in docs], exclude_self)

    def analyse(
        self, texts: Sequence[str], exclude_self: bool = False, progress: bool = False
    ) -> list[Analysis]:
        from tqdm.auto import tqdm

        parts: list[dict[str, Any]] = []
        for text in tqdm(texts, desc="parse", unit="text", disable=not progress, leave=False):
            entry = self.cache.get(text) if self.cache is not None else None
            if entry is None:
                entry = self.parts(self.nlp(text))
                if self.cache is not None:
                    self.cache.put(text, entry)
            parts.append(entry)
        return self._assemble(list(texts), parts, exclude_self)

    def _assemble(self, texts: list[str], parts: list[dict[str, Any]], exclude_self: bool) -> list[Analysis]:
        vecs = self.embedder.embed(texts)
        sims = self.similarity.score_vectors(vecs, texts if exclude_self else None)
        pvecs = self.polarity_embedder.embed(texts) if self.polarity_embedder is not None else None
        return [
            Analysis(
                text=text,
                lemmas=list(p["lemmas"]),
                hits=[CueHit(*h) for h in p["hits"]],
                polarity_hits=[CueHit(*h) for h in p["polarity_hits"]],
                clause_of_token=list(p["clause_of_token"]),
                clause_score={k: v for k, v in p["clause_score"]},
                clause_cues={k: list(v) for k, v in p["clause_cues"]},
                vector=vecs[i],
                def_sim=sims.definition[i],
                ex_sim=sims.example_max[i],
                ex_arg=sims.example_arg[i],
                function_tokens=list(p["function_tokens"]),
                spoken={k: v for k, v in p["spoken"]},
                polarity_vector=pvecs[i] if pvecs is not None else None,
            )
            for i, (text, p) in enumerate(zip(texts, parts, strict=True))
        ]


def _hit_row(h: CueHit) -> list[Any]:
    return [h.key, h.cue, h.start, h.end, h.token_start, h.token_end]
