"""Korean spaCy pipeline whose tokenizer is Kiwi (kiwipiepy).

spaCy gives us Doc/Token/Span, the Matcher and pickling; Kiwi gives us Korean morphology.
Kiwi splits contracted syllables into morphemes that share one character span (했 → 하 + 었);
those are merged into one spaCy token so that ``doc.text == text`` always holds and every
token maps to real characters. Token ``tag_`` is Kiwi's tag ("+"-joined for merged tokens),
``lemma_`` is the lemma of the token's head morpheme with verbs/adjectives as stem+다.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import spacy
from spacy.language import Language
from spacy.tokens import Doc
from spacy.vocab import Vocab

from kb.text.morphs import get_kiwi, lemma_of

__all__ = ["KiwiTokenizer", "get_nlp", "content_lemmas", "CONTENT_PREFIXES"]


#: Tags of morphemes that carry content (used for lemma-based cue matching).
CONTENT_PREFIXES = ("NN", "NP", "NR", "VV", "VA", "VX", "VCN", "XSV", "XSA", "XR", "MAG", "SL", "SH", "SN")
_UPOS = {
    "NNG": "NOUN",
    "NNB": "NOUN",
    "NNP": "PROPN",
    "NP": "PRON",
    "NR": "NUM",
    "SN": "NUM",
    "VV": "VERB",
    "VA": "ADJ",
    "VX": "AUX",
    "VCP": "AUX",
    "VCN": "ADJ",
    "MM": "DET",
    "MAG": "ADV",
    "MAJ": "CCONJ",
    "IC": "INTJ",
    "SF": "PUNCT",
    "SP": "PUNCT",
    "SS": "PUNCT",
    "SE": "PUNCT",
    "SO": "PUNCT",
    "SW": "SYM",
    "SL": "X",
    "SH": "X",
    "XR": "NOUN",
    "XSV": "VERB",
    "XSA": "ADJ",
    "_SP": "SPACE",
}


def _base_tag(tag: str) -> str:
    """Kiwi marks (ir)regular conjugation as VV-I / VA-R; the base tag drops that."""
    return tag.split("-", 1)[0]


def _group_morphemes(tokens: list[Any]) -> list[tuple[int, int, list[Any]]]:
    """Merge morphemes whose character spans overlap into (start, end, morphemes) groups."""
    groups: list[tuple[int, int, list[Any]]] = []
    for tok in sorted(tokens, key=lambda t: (t.start, t.end)):
        start, end = tok.start, tok.end
        if groups and start < groups[-1][1]:
            g_start, g_end, morphs = groups[-1]
            morphs.append(tok)
            groups[-1] = (g_start, max(g_end, end), morphs)
        else:
            groups.append((start, end, [tok]))
    return groups


def _head_morpheme(morphs: list[Any]) -> Any:
    for m in morphs:
        if _base_tag(m.tag).startswith(CONTENT_PREFIXES + ("VCP", "MM", "MAJ", "IC", "NP")):
            return m
    return morphs[0]


class KiwiTokenizer:
    """spaCy tokenizer: Kiwi morphemes → tokens (contractions merged), Kiwi sentences → sent starts."""

    def __init__(self, vocab: Vocab) -> None:
        self.vocab = vocab

    def __call__(self, text: str) -> Doc:
        words: list[str] = []
        spaces: list[bool] = []
        tags: list[str] = []
        lemmas: list[str] = []
        sent_starts: list[bool] = []
        new_sentence_at: set[int] = set()
        groups: list[tuple[int, int, list[Any]]] = []
        if text.strip():
            sents = get_kiwi().tokenize(text, split_sents=True)
            for sent in sents:
                if sent:
                    new_sentence_at.add(min(t.start for t in sent))
            groups = _group_morphemes([t for sent in sents for t in sent])
        pos = 0
        only_space = True  # leading whitespace belongs to the first sentence

        def add(word: str, tag: str, lemma: str, sent_start: bool) -> None:
            words.append(word)
            spaces.append(False)
            tags.append(tag)
            lemmas.append(lemma)
            sent_starts.append(sent_start)

        def add_gap(gap_start: int, gap_end: int) -> None:
            """Text Kiwi did not cover: one trailing space, or whitespace/other tokens."""
            nonlocal only_space
            i = gap_start
            while i < gap_end:
                if (
                    text[i] == " "
                    and words
                    and not spaces[-1]
                    and i == gap_start
                    and (i + 1 == gap_end or not text[i + 1].isspace())
                ):
                    spaces[-1] = True
                    i += 1
                    continue
                j = i + 1
                is_space = text[i].isspace()
                while j < gap_end and text[j].isspace() == is_space:
                    j += 1
                chunk = text[i:j]
                add(chunk, "_SP" if is_space else "SW", chunk, not words)
                only_space = only_space and is_space
                i = j

        for start, end, morphs in groups:
            if start < pos:  # defensive: Kiwi never goes backwards, but never lose characters
                start = pos
            if end <= start:
                continue
            add_gap(pos, start)
            head = _head_morpheme(morphs)
            tag = "+".join(m.tag for m in morphs)
            lemma = lemma_of(head.form, head.tag, getattr(head, "lemma", head.form))
            is_start = not words or (not only_space and any(m.start in new_sentence_at for m in morphs))
            add(text[start:end], tag, lemma, is_start)
            only_space = False
            pos = end
        add_gap(pos, len(text))
        doc = Doc(
            self.vocab,
            words=words,
            spaces=spaces,
            tags=tags,
            lemmas=lemmas,
            pos=[_UPOS.get(_base_tag(t.split("+")[0]), "X") for t in tags],
            sent_starts=sent_starts or None,
        )
        return doc

    def pipe(self, texts: Any, batch_size: int = 1000) -> Any:
        for text in texts:
            yield self(text)

    # Serialisation: the tokenizer has no state beyond the shared vocab.
    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return (self.__class__, (self.vocab,))

    def to_bytes(self, **kwargs: Any) -> bytes:
        return b""

    def from_bytes(self, data: bytes, **kwargs: Any) -> KiwiTokenizer:
        return self

    def to_disk(self, path: Any, **kwargs: Any) -> None:
        return None

    def from_disk(self, path: Any, **kwargs: Any) -> KiwiTokenizer:
        return self


@spacy.registry.tokenizers("kb.KiwiTokenizer.v1")
def create_kiwi_tokenizer() -> Any:
    def make(nlp: Language) -> KiwiTokenizer:
        return KiwiTokenizer(nlp.vocab)

    return make


@lru_cache(maxsize=1)
def get_nlp() -> Language:
    """The project's Korean pipeline (blank 'ko' with the Kiwi tokenizer), built once."""
    return spacy.blank("ko", config={"nlp": {"tokenizer": {"@tokenizers": "kb.KiwiTokenizer.v1"}}})


def content_lemmas(doc: Doc) -> list[str]:
    """Lemmas of content tokens (nouns, predicates, roots, adverbs, foreign words, numbers)."""
    return [t.lemma_ for t in doc if _base_tag(t.tag_.split("+")[0]).startswith(CONTENT_PREFIXES)]
