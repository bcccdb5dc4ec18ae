"""Case-aware search for English questions: the cases a question names, read from the store's case names.

An English question names its case in Latin letters ("Eunpyeong", "Baedal Teukgeup", "Cheongju taxi
app"), while the passages say 은평구, 배달특급, 청주시: Korean BM25 cannot match the name (an English
query's BM25 reads only its glossary phrases, kb.query.glossary) and the encoders often land on
another case's passage about the same factor. Every case in the store has a Korean name, usually an
English one and a Latin-letter id (`kb add --case cheongju_taxi`); the Korean name romanised (Revised
Romanisation) gives the spelling an English writer uses for a Korean place or brand. Search adds one
ranking to its fusion for such a question: its fused candidates from the named cases, in fused order
(docs/bench/retrieval_rerank.md).
A Korean question needs none of this: BM25 matches the Korean name itself. The only vocabulary here
is the store's own case names, plus a few English words too general to name a case.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

# Revised Romanisation of Korean, by jamo index of a precomposed syllable. Written here, not imported:
# korean-romanizer (PyPI) gives the same spellings for these names but is GPL-3.0, kb is MIT.
_INITIAL = (
    "g",
    "kk",
    "n",
    "d",
    "tt",
    "r",
    "m",
    "b",
    "pp",
    "s",
    "ss",
    "",
    "j",
    "jj",
    "ch",
    "k",
    "t",
    "p",
    "h",
)
_MEDIAL = (
    "a", "ae", "ya", "yae", "eo", "e", "yeo", "ye", "o", "wa", "wae", "oe", "yo", "u", "wo", "we", "wi", "yu",
    "eu", "ui", "i",
)  # fmt: skip
_FINAL = (
    "", "k", "k", "k", "n", "n", "n", "t", "l", "k", "m", "l", "l", "l", "p", "l", "m", "p", "p", "t", "t",
    "ng", "t", "t", "k", "t", "p", "t",
)  # fmt: skip
# A final consonant before a syllable starting with the silent ㅇ is read as that syllable's initial
# (은평의 → eunpyeongui, 배달의 → baedarui): final index -> initial index.
_LIAISON = {1: 0, 2: 1, 4: 2, 7: 3, 8: 5, 16: 6, 17: 7, 19: 9, 20: 10, 22: 12, 23: 14, 24: 15, 25: 16, 26: 17}
_SILENT, _RIEUL_FINAL, _RIEUL = 11, 8, 5

# English words that appear in case names without naming one case.
GENERIC = frozenset(
    "platform platforms city province public local government case cases analysis overview synthesis "
    "private domestic international company companies system seoul the and for of".split()
)
MIN_LETTERS = 4  # shorter words (gu, si, app, bus) name no case on their own
MAX_CASES = 3  # a name word shared by more cases than this does not single any out


def _jamo(ch: str) -> tuple[int, int, int] | None:
    code = ord(ch) - 0xAC00
    return (code // 588, code % 588 // 28, code % 28) if 0 <= code < 11172 else None


def romanize(word: str) -> str:
    """Revised Romanisation of Hangul syllables with liaison and ㄹㄹ → ll (은평구 → eunpyeonggu).

    Other characters are kept; the sound changes RR writes only in some words (ㄴ/ㄹ assimilation,
    aspiration) are not applied, so 신라 gives sinra rather than silla."""
    out: list[str] = []
    carried: str | None = None  # the previous syllable's final, read as this syllable's initial
    syllables = [_jamo(ch) for ch in word]
    for pos, (ch, jamo) in enumerate(zip(word, syllables, strict=True)):
        if jamo is None:
            out.append(ch)
            carried = None
            continue
        initial, medial, final = jamo
        out.append(carried if carried is not None else _INITIAL[initial])
        out.append(_MEDIAL[medial])
        nxt = syllables[pos + 1] if pos + 1 < len(syllables) else None
        carried = None
        if final and nxt is not None and nxt[0] == _SILENT and final in _LIAISON:
            carried = _INITIAL[_LIAISON[final]]
        elif final == _RIEUL_FINAL and nxt is not None and nxt[0] == _RIEUL:
            out.append("l")
            carried = "l"
        else:
            out.append(_FINAL[final])
    return "".join(out)


def name_words(names: Iterable[str]) -> set[str]:
    """Latin-letter spellings of a case's names: their English words and each Korean word romanised."""
    words: set[str] = set()
    for name in names:
        words.update(w.lower() for w in re.findall(r"[A-Za-z]+", name))
        words.update(romanize(w) for w in re.findall(r"[가-힣]{2,}", name))
    return {w for w in words if len(w) >= MIN_LETTERS and w not in GENERIC}


def case_words(passages: Iterable[Mapping[str, Any]]) -> dict[str, set[str]]:
    """Per case id its name words, from the id and the Korean and English names its passages carry."""
    out: dict[str, set[str]] = {}
    for p in passages:
        case = str(p.get("case") or "")
        if case and case not in out:
            names = (case.replace("_", " ").replace(":", " "), str(p.get("case_name") or ""))
            out[case] = name_words((*names, str(p.get("case_name_en") or "")))
    return out


def named_cases(query: str, words: Mapping[str, set[str]]) -> set[str]:
    """The cases whose name words an English query spells (a query word starts one, or one starts it)."""
    text = query.lower().replace("-", "")
    asked = {w for w in re.findall(r"[a-z]+", text) if len(w) >= MIN_LETTERS and w not in GENERIC}
    if not asked:
        return set()
    by_word: dict[str, set[str]] = {}
    for case, names in words.items():
        for name in names:
            if any(name.startswith(a) or a.startswith(name) for a in asked):
                by_word.setdefault(name, set()).add(case)
    return {case for cases in by_word.values() if len(cases) <= MAX_CASES for case in cases}


def words_for(kb: Any) -> dict[str, set[str]]:
    """The open knowledge base's case name words (kept on the instance: lives and dies with it)."""
    cache = kb.__dict__.setdefault("_case_words", {})
    if "words" not in cache:
        cache["words"] = case_words(kb.passages_df.drop_duplicates("case").to_dict("records"))
    return cache["words"]


def case_list(kb: Any, query: str, fused: Sequence[str]) -> list[str]:
    """The ranking search adds for an English query: the fused candidates of the cases it names."""
    cases = named_cases(query, words_for(kb))
    if not cases:
        return []
    by_id = kb.passage_by_id
    return [pid for pid in fused if by_id[pid].get("case") in cases]
