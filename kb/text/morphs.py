"""Kiwi morphemes as search terms: one shared analyser, content lemmas only.

Korean attaches particles and endings to words (플랫폼이, 플랫폼을, 플랫폼에서), so keyword
search over raw words misses most matches; searching over kiwi's lemmas does not.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

from kiwipiepy import Kiwi

# Nouns, roots, foreign words, numbers, Chinese characters and predicate stems carry content.
_CONTENT_TAGS = {"NNG", "NNP", "NR", "XR", "SL", "SH", "SN", "VV", "VA", "MAG"}
_PREDICATES = {"VV", "VA"}
_STOP = {"하다", "되다", "있다", "없다", "않다", "이다", "같다", "위하다", "통하다", "대하다", "등"}


@lru_cache(maxsize=1)
def get_kiwi() -> Kiwi:
    """Loading Kiwi takes about a second and 100 MB; do it once per process."""
    return Kiwi()


def _term(form: str, tag: str) -> str:
    if tag in _PREDICATES:
        return form + "다"
    return form.lower() if tag == "SL" else form


def terms(text: str) -> list[str]:
    """Content lemmas of a text, in order (e.g. '참여가 저조했던' -> ['참여', '저조'])."""
    return terms_many([text])[0]


def terms_many(texts: Iterable[str]) -> list[list[str]]:
    """Batch form of `terms`, using kiwi's multi-text API for throughput."""
    texts = [t if t.strip() else " " for t in texts]
    out = []
    for toks in get_kiwi().tokenize(texts):
        row = []
        for tok in toks:
            tag = tok.tag.split("-")[0]
            if tag in _CONTENT_TAGS:
                term = _term(tok.form, tag)
                if term not in _STOP:
                    row.append(term)
        out.append(row)
    return out
