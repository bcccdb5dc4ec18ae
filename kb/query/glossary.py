"""An English→Korean glossary that gives an English question a Korean BM25 ranking.

Korean BM25 cannot match a question without Hangul, so English questions rested on the two dense
encoders alone. The glossary (`glossary_en_ko.jsonl` beside this module, one JSON object a line:
`{"en": "resident participation", "ko": ["주민 참여", "주민참여"]}`) names the domain's English
terms – public administration, local-government platforms, civic tech, the codebook's factors – with
the Korean words a passage uses for them. An English query's glossary phrases (longest match first,
after a light normalisation: lower case, hyphens, plurals, possessives; a word the glossary lacks is
looked up by its regular base forms, funded → funding, organised → organized) become the kiwi lemmas of
their Korean terms, exactly as `kb.store.keyword_index` indexes passages, and BM25 ranks the
passages by those lemmas (`kb.query.retrieval`, weight `Weights.keyword_en`). A query that matches
no phrase gets no BM25 list. Who wrote the shipped glossary and how: docs/bench/gloss_dev.md.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from kb.errors import KbError
from kb.text.morphs import term_spans

GLOSSARY_PATH = Path(__file__).with_name("glossary_en_ko.jsonl")  # the default of `KB_GLOSSARY`
_WORD = re.compile(r"[a-z0-9]+")
_HANGUL = re.compile(r"[가-힣]")
_ES_PLURAL = ("sses", "shes", "ches", "xes", "zes")
_NOT_PLURAL = ("ss", "us", "is")


class GlossaryError(KbError):
    """A glossary line cannot be used (the message names the file and the line)."""


def singular(word: str) -> str:
    """A plural English word's singular by the regular rules (policies → policy, taxes → tax).

    Only consistency matters: entries and queries go through the same function, so an irregular
    result ("analyses" → "analyse") still matches itself."""
    if len(word) <= 3 or word.endswith(_NOT_PLURAL):
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(_ES_PLURAL):
        return word[:-2]
    return word[:-1] if word.endswith("s") else word


_BRITISH = re.compile(r"is(e|ed|es|er|ing|ation)$")
_AMERICAN = re.compile(r"iz(e|ed|es|er|ing|ation)$")


def _spellings(word: str) -> list[str]:
    """The word and its other English spelling (organised ↔ organized, neighbour ↔ neighbor)."""
    out = [word, _BRITISH.sub(r"iz\1", word), _AMERICAN.sub(r"is\1", word)]
    if "our" in word[2:]:
        out.append(word[:2] + word[2:].replace("our", "or"))
    return out


def base_forms(word: str) -> list[str]:
    """Forms a glossary may hold an inflected or otherwise spelled word under, most likely first:
    funded → fund, funde, funding; planned → plan; organised → organized, organise; applied → apply.

    Only tried for a query word the glossary does not hold as it is (`Glossary.known_form`), so a
    rule that overreaches ("need" → "ne") cannot take a word away from its own entry."""
    bases: list[str] = []
    if word.endswith("ied") and len(word) > 4:
        bases.append(word[:-3] + "y")
    for suffix, other in (("ed", "ing"), ("ing", "ed")):
        stem = word[: -len(suffix)]
        if word.endswith(suffix) and len(stem) >= 3:
            bases.append(stem)
            if stem[-1] == stem[-2]:
                bases.append(stem[:-1])  # planned → plan, travelled → travel
            bases += [stem + "e", stem + other]
    forms = [f for b in [word, *bases] for f in _spellings(b)]
    return [f for f in dict.fromkeys(forms) if f != word and len(f) >= 3]


def words(text: str) -> list[str]:
    """Normalised English words: lower case, possessive 's dropped, hyphens and slashes as spaces,
    each word singular."""
    text = re.sub(r"['’]s\b", "", text.lower())
    return [singular(w) for w in _WORD.findall(text)]


@dataclass(frozen=True)
class Entry:
    en: str
    ko: tuple[str, ...]
    line: int


class Glossary:
    """English phrases (as normalised word tuples) → their entries; matching is longest first."""

    def __init__(self, entries: Sequence[Entry]) -> None:
        self.entries = list(entries)
        self.by_phrase: dict[tuple[str, ...], list[Entry]] = {}
        for e in self.entries:
            for key in phrase_keys(e.en):
                self.by_phrase.setdefault(key, [])
                if e not in self.by_phrase[key]:
                    self.by_phrase[key].append(e)
        self.longest = max((len(k) for k in self.by_phrase), default=0)
        self.vocabulary = {w for key in self.by_phrase for w in key}
        self._lemmas: dict[Entry, list[str]] = {}
        self._term_lemmas: dict[Entry, list[list[str]]] = {}

    def __len__(self) -> int:
        return len(self.entries)

    def match(self, query: str) -> list[Entry]:
        """The entries whose English phrases the query holds, scanning left to right and taking
        the longest phrase at each word ("resident participation budget" is one phrase if the
        glossary has it, else "resident participation" + "budget")."""
        ws = [self.known_form(w) for w in words(query)]
        found: list[Entry] = []
        i = 0
        while i < len(ws):
            for n in range(min(self.longest, len(ws) - i), 0, -1):
                hit = self.by_phrase.get(tuple(ws[i : i + n]))
                if hit:
                    found.extend(e for e in hit if e not in found)
                    i += n
                    break
            else:
                i += 1
        return found

    def known_form(self, word: str) -> str:
        """The word, or the first of its `base_forms` the glossary holds: one with an entry of its
        own first, then one inside a phrase ("funded" → "funding", an entry; "fund" is only part of
        "matching fund")."""
        if word in self.vocabulary:
            return word
        forms = base_forms(word)
        return next((f for f in forms if (f,) in self.by_phrase), None) or next(
            (f for f in forms if f in self.vocabulary), word
        )

    def groups(self, query: str) -> list[list[list[str]]]:
        """Per matched phrase, the kiwi lemmas of each of its Korean terms: the synonym groups BM25
        scores a passage by, the best term of each phrase counting once (`KeywordIndex.search_groups`)."""
        out = []
        for e in self.match(query):
            if e not in self._term_lemmas:
                self._term_lemmas[e] = [list(row) for row in map(term_lemmas, e.ko) if row]
            if self._term_lemmas[e]:
                out.append(self._term_lemmas[e])
        return out

    def lemmas(self, query: str) -> list[str]:
        """The kiwi lemmas (as BM25 indexes passages) of the Korean terms of the query's phrases,
        each once, in order; [] for a query that matches no phrase."""
        out: dict[str, None] = {}
        for e in self.match(query):
            if e not in self._lemmas:
                self._lemmas[e] = [t for k in e.ko for t in term_lemmas(k)]
            out.update(dict.fromkeys(self._lemmas[e]))
        return list(out)


# A glossary term is a word out of its sentence, and kiwi reads some such words apart: a verb stem
# as a fragment ("이루" → 루, "가로막" → 가 + 막), a noun as one syllable ("사원" → 사, "제때" → 때)
# or as nothing ("저해"). In running text it mostly reads them whole ("목표를 이루었다" → 이루다),
# and passages are indexed from running text; a one-syllable fragment matches any passage that
# holds the syllable. So a term read apart is read again with a particle or an ending after it.
# (Not always the running text's reading: "손님이" → 손; the glossary term then misses, as a
# fragment would have matched it and every other 손.)
_FRAMES = ("다", "이", "는", "에")


def _read_apart(spans: list[tuple[str, int, int]], n: int) -> bool:
    """Nothing read, the term's start lost, or a one-syllable piece of a longer term."""
    return not spans or spans[0][1] > 0 or (n > 1 and any(e - s == 1 for _, s, e in spans))


def _runs_past(frame: str, spans: list[tuple[str, int, int]], n: int) -> bool:
    """A token past the term, other than a verb's dictionary form the "다" frame made."""
    return any(e > n and not (frame == "다" and lemma.endswith("다") and e == n + 1) for lemma, _, e in spans)


@lru_cache(maxsize=8192)
def term_lemmas(term: str) -> tuple[str, ...]:
    """The kiwi lemmas of a Korean glossary term as a passage's text would give them: the bare
    term's, unless kiwi read it apart (`_read_apart`) and a frame's tokens cover more of it.

    Tokens count from where they start inside the term ("가로막" + "다" → 가로막다); a noun that
    swallows the particle is no reading. Latin terms ("ICT") read as themselves."""
    n = len(term)
    best = [span for span in term_spans(term) if span[1] < n]
    if _read_apart(best, n):
        covered = sum(min(e, n) - s for _, s, e in best)
        for frame in _FRAMES:
            spans = [span for span in term_spans(term + frame) if span[1] < n]
            cover = sum(min(e, n) - s for _, s, e in spans)
            if cover > covered and not _runs_past(frame, spans, n):
                best, covered = spans, cover
    return tuple(lemma for lemma, _, _ in best)


def phrase_keys(en: str) -> set[tuple[str, ...]]:
    """An entry's phrase as normalised words, plus its hyphenated words joined (co-production →
    also coproduction), so either spelling in a query matches."""
    keys = {tuple(words(en))}
    if "-" in en:
        keys.add(tuple(words(re.sub(r"(?<=\w)-(?=\w)", "", en))))
    return {k for k in keys if k}


def parse_line(raw: str, line: int, name: str) -> Entry | None:
    """One glossary line as an Entry (None for a blank line); GlossaryError naming the line if the
    line is not `{"en": "<English>", "ko": ["<Korean>", ...]}`."""
    if not raw.strip():
        return None
    where = f"{name} line {line}"
    try:
        obj = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise GlossaryError(f"{where}: not JSON ({exc.msg}); each line is one object") from exc
    if not isinstance(obj, dict):
        raise GlossaryError(f'{where}: expected an object {{"en": ..., "ko": [...]}}')
    en, ko = obj.get("en"), obj.get("ko")
    if not isinstance(en, str) or not words(en):
        raise GlossaryError(f'{where}: "en" must be an English term with Latin letters, got {en!r}')
    if isinstance(ko, str):
        ko = [ko]
    # a Korean text may write a term in Latin letters (ICT, Talk London): allowed beside a Hangul one
    if (
        not isinstance(ko, list)
        or not all(isinstance(k, str) and k.strip() for k in ko)
        or not any(_HANGUL.search(k) for k in ko)
    ):
        raise GlossaryError(
            f'{where}: "ko" must be a non-empty list of Korean terms (at least one in Hangul), got {ko!r}'
        )
    return Entry(en=en.strip(), ko=tuple(k.strip() for k in ko), line=line)


def parse(lines: Iterable[str], name: str = "glossary") -> Glossary:
    entries = [e for i, raw in enumerate(lines, 1) if (e := parse_line(raw, i, name)) is not None]
    return Glossary(entries)


def load(path: Path = GLOSSARY_PATH) -> Glossary:
    """The glossary in `path` (read again only when the file changes); empty if there is no file."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        return Glossary([])
    return _load(path, stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=4)
def _load(path: Path, mtime_ns: int, size: int) -> Glossary:
    return parse(path.read_text(encoding="utf-8").splitlines(), path.name)


def glossary_for(kb: Any) -> Glossary:
    """The glossary of an open knowledge base's settings (`KB_GLOSSARY`, default: the shipped one)."""
    return load(Path(getattr(kb.settings, "glossary_path", GLOSSARY_PATH)))
