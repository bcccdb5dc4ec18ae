"""Kiwi morphemes as search terms: one shared analyser, content lemmas only.

Korean attaches particles and endings to words (플랫폼이, 플랫폼을, 플랫폼에서), so keyword
search over raw words misses most matches; searching over kiwi's lemmas does not.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

from kiwipiepy import Kiwi

# Search terms: nouns, roots, foreign words, numbers, Chinese characters and predicate stems.
_CONTENT_TAGS = {"NNG", "NNP", "NR", "XR", "SL", "SH", "SN", "VV", "VA", "MAG"}
_STOP = {"하다", "되다", "있다", "없다", "않다", "이다", "같다", "위하다", "통하다", "대하다", "등"}

#: Kiwi tags whose lemma is written stem+다: predicates and predicate-forming suffixes (하다, 되다).
PREDICATE_PREFIXES = ("VV", "VA", "VX", "VCP", "VCN", "XSV", "XSA")
#: Tags of function morphemes (particles, endings, punctuation, space): never part of a cue.
FUNCTION_PREFIXES = ("J", "E", "SF", "SP", "SS", "SE", "SO", "SW", "_SP")


def lemma_of(form: str, tag: str, kiwi_lemma: str = "") -> str:
    """THE lemma convention of kb, for one Kiwi morpheme: predicates as stem+'다' ('부족하' → the
    XSA '하' gives '하다', '어렵' → '어렵다'), everything else as its surface form.

    The spaCy pipeline (and so the cue Matcher), the codebook cue check and the search terms all
    call this, so a cue the check accepts is spelled the way the matcher and the index see it.
    """
    if tag.split("-", 1)[0].startswith(PREDICATE_PREFIXES):
        lemma = kiwi_lemma or form
        return lemma if lemma.endswith("다") else lemma + "다"
    return form


def is_function_tag(tag: str) -> bool:
    """Particles, endings, punctuation and space: what may sit between two cue lemmas."""
    return tag.split("+")[0].startswith(FUNCTION_PREFIXES)


def cue_lemmas(text: str) -> list[str]:
    """Lemmas of every non-function morpheme of `text`, in order: the units a cue is matched on."""
    return [lemma_of(t.form, t.tag, t.lemma) for t in get_kiwi().tokenize(text) if not is_function_tag(t.tag)]


@lru_cache(maxsize=1)
def get_kiwi() -> Kiwi:
    """Loading Kiwi takes about a second and 100 MB; do it once per process."""
    return Kiwi()


def _term(form: str, tag: str, kiwi_lemma: str) -> str:
    """A search term: the shared lemma, Latin letters lower-cased (search ignores case)."""
    return form.lower() if tag == "SL" else lemma_of(form, tag, kiwi_lemma)


def terms(text: str) -> list[str]:
    """Content lemmas of a text, in order (e.g. '참여가 저조했던' -> ['참여', '저조'])."""
    return terms_many([text])[0]


def terms_many(texts: Iterable[str]) -> list[list[str]]:
    """Batch form of `terms`, using kiwi's multi-text API for throughput."""
    texts = [t if t.strip() else " " for t in texts]
    return [[term for term, _, _ in _term_tokens(toks)] for toks in get_kiwi().tokenize(texts)]


def term_spans(text: str) -> list[tuple[str, int, int]]:
    """(term, start, end) of each search term of `text`: where a card marks a query's terms, so a
    particle that happens to be spelled like a term (홍보'가') is never marked."""
    return list(_term_tokens(get_kiwi().tokenize(text))) if text.strip() else []


def _term_tokens(toks: Iterable) -> Iterable[tuple[str, int, int]]:
    for tok in toks:
        tag = tok.tag.split("-")[0]
        if tag in _CONTENT_TAGS:
            term = _term(tok.form, tag, tok.lemma)
            if term not in _STOP:
                yield term, tok.start, tok.start + tok.len
