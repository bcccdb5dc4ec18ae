"""Which language a question is in, and which of its words the corpus has.

Search reads a Korean question by its kiwi lemmas and an English one through the glossary
(`kb.query.glossary`); a question none of whose words the corpus has is about something else, so
search warns and `kb.query.intent` reads no factor into it (docs/bench/off_topic.md).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from kb.query.glossary import glossary_for
from kb.text.morphs import terms

if TYPE_CHECKING:
    from kb.store.kbase import KnowledgeBase

_HANGUL = re.compile(r"[가-힣ㄱ-ㅎㅏ-ㅣ]")


def query_lang(query: str) -> str:
    """'ko' when the query has any Hangul, else 'en' (the only other language the set has)."""
    return "ko" if _HANGUL.search(query) else "en"


def corpus_words(kb: KnowledgeBase, query: str) -> list[str]:
    """The query's search words that occur in the corpus: a Korean query's lemmas, an English query's
    glossary lemmas and its own words but English stop words. None means the results are only the
    passages nearest in meaning to a question about something else (every question of the blind
    evaluation sets has at least one, docs/bench/off_topic.md)."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    vocab = kb.keyword_index.retriever.vocab_dict
    if query_lang(query) == "ko":
        words = terms(query)
    else:
        own = [t for t in terms(query) if t.lower() not in ENGLISH_STOP_WORDS]
        words = [*own, *glossary_for(kb).lemmas(query)]
    return list(dict.fromkeys(t for t in words if t in vocab))
