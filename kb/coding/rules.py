"""Lemma cue rules: find codebook cues in a Doc with spaCy's Matcher.

Cues are written as Kiwi lemmas ("부족하다", "단체장", "예산 부족"). Each cue is run through the
same Kiwi pipeline as the text, so the cue and the text are segmented the same way, and the
content lemmas become a Matcher pattern. Particles, endings and suffixes such as 들 may sit
between the lemmas ("예산 부족" matches "예산이 부족했다"), so one cue covers every inflection.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from spacy.language import Language
from spacy.matcher import Matcher
from spacy.tokens import Doc

from kb.text.morphs import is_function_tag

# Tokens that may sit between two cue lemmas: particles, endings, nominal suffixes, whitespace.
_GAP = {"TAG": {"REGEX": r"^(J|E|XSN|_SP|SP|SS|SO)"}, "OP": "*"}


@dataclass(frozen=True)
class CueHit:
    """One cue found in a text: which key (e.g. a category), which cue, where (character offsets)."""

    key: str
    cue: str
    start: int
    end: int
    token_start: int
    token_end: int


def _content(doc: Doc, lo: int = 0, hi: int | None = None) -> list[str]:
    hi = len(doc.text) if hi is None else hi
    toks = [t for t in doc if t.idx < hi and t.idx + len(t.text) > lo and not t.is_space]
    lemmas = [t.lemma_ for t in toks if not is_function_tag(t.tag_)]
    return lemmas or [t.lemma_ for t in toks]


def cue_variants(nlp: Language, cue: str) -> list[list[str]]:
    """Lemma sequences a cue can take: Kiwi may analyse a word alone differently than in a
    sentence ("어려움" alone → 어렵다+음, in text → NNG 어려움), so try both, plus the literal form."""
    cue = cue.strip()
    variants = [_content(nlp(cue))]
    if not cue.endswith("다"):
        variants.append(_content(nlp(f"{cue}의 문제"), 0, len(cue)))
        if " " not in cue:
            variants.append([cue])
    elif cue.endswith("하다") and len(cue) > 2:
        variants.append(_content(nlp(cue[:-2])) + ["하다"])
    unique: list[list[str]] = []
    for v in variants:
        if v and v not in unique:
            unique.append(v)
    return unique


def cue_lemmas(nlp: Language, cue: str) -> list[str]:
    """Main content lemma sequence of a cue (its analysis on its own)."""
    return cue_variants(nlp, cue)[0]


def cue_pattern(lemmas: list[str]) -> list[dict[str, Any]]:
    pattern: list[dict[str, Any]] = []
    for i, lemma in enumerate(lemmas):
        if i:
            pattern.append(_GAP)
        pattern.append({"LEMMA": lemma})
    return pattern


class CueMatcher:
    """Matches many named cue lists (key → cues) at once; keys are categories or polarity classes."""

    def __init__(self, nlp: Language, cues: Mapping[str, Iterable[str]]) -> None:
        self.nlp = nlp
        self.matcher = Matcher(nlp.vocab)
        self.keys: list[str] = list(cues)
        self.patterns: dict[str, list[str]] = {}
        self._label: dict[int, tuple[str, str]] = {}
        for key, key_cues in cues.items():
            for cue in key_cues:
                cue = str(cue).strip()
                if not cue:
                    continue
                variants = cue_variants(nlp, cue)
                if not variants:
                    continue
                name = f"{key}\t{cue}"
                self.matcher.add(name, [cue_pattern(v) for v in variants])
                self._label[nlp.vocab.strings[name]] = (key, cue)
                self.patterns[name] = variants[0]

    def __call__(self, doc: Doc) -> list[CueHit]:
        hits = []
        for match_id, start, end in self.matcher(doc):
            key, cue = self._label[match_id]
            span = doc[start:end]
            hits.append(CueHit(key, cue, span.start_char, span.end_char, start, end))
        return _drop_nested(hits)


def _drop_nested(hits: list[CueHit]) -> list[CueHit]:
    """Within one key keep the longest cue where cues overlap ("예산 부족" over "예산")."""
    hits.sort(key=lambda h: (h.key, h.token_start, -(h.token_end - h.token_start)))
    kept: list[CueHit] = []
    for h in hits:
        if kept and kept[-1].key == h.key and h.token_start < kept[-1].token_end:
            if h.token_end <= kept[-1].token_end:
                continue
        kept.append(h)
    kept.sort(key=lambda h: (h.token_start, h.key))
    return kept


def count_by_key(hits: Iterable[CueHit], keys: list[str]) -> list[int]:
    counts = dict.fromkeys(keys, 0)
    for h in hits:
        if h.key in counts:
            counts[h.key] += 1
    return [counts[k] for k in keys]
