"""Turns that say nothing of their own: agreement, thanks, fillers and the transcriber's notes.

Coders leave them uncoded ("네.", "네, 그렇죠."), and an interviewer's "아, 네." between two parts of
an answer is no new question: the answer keeps the question it was given (kb.text.segment)."""

from __future__ import annotations

import re
from functools import lru_cache

from kb.text.morphs import get_kiwi

# An editorial note of the transcriber ("(웃음)", "[중략]", "(잠시 침묵)"), not something said.
EDITORIAL_NOTE = re.compile(r"[(\[（［][^()\[\]（）［］]{1,20}[)\]）］]")
# What an agreement, a thank-you or a filler says beyond its interjections: no answer of its own
AFFIRMING = frozenset({"그렇", "맞", "고맙", "감사", "확실히", "물론", "당연", "당연히", "그러", "그럼"})
LATIN_WORD = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)?")
MAX_CHARS = 40  # "네, 그렇죠. 맞아요. 정말 감사합니다." is 21
DENYING = frozenset(
    {"아니요", "아뇨", "아니", "아니에요", "no", "nope"}
)  # "아니요." answers a yes/no question
# Kiwi tags a word in Latin letters SL, as it tags symbols (and splits some): only these English
# interjections and formulas say nothing ("OK, thanks.", "I see.", "Right."); any other English word
# does ("What about the budget?", an interviewer's short question that starts a new answer).
ENGLISH_FORMULAS = frozenset(
    {
        "ok", "okay", "yes", "yeah", "yep", "right", "i", "see", "thanks", "thank", "you", "sure", "uh",
        "um", "umm", "hmm", "mhm", "mm", "oh", "ah", "great", "good", "wow", "alright", "indeed",
        "exactly", "of", "course", "got", "it", "understood", "interesting", "very", "much", "so", "well",
        "that", "makes", "sense", "really", "true", "fine", "lots", "many",
    }
)  # fmt: skip
# A closing formula said to the interviewer ("고생하셨습니다", "수고 많으셨어요", "안녕히 계세요"): the
# honorific -시- addresses the listener; "저희가 고생했어요" (no -시-) is an answer and stays coded.
CLOSING = re.compile(
    r"(수고|고생)\s*(정말\s*|많이\s*)?(많으셨|하셨|하세요)\S*|안녕히\s*(계세요|가세요|계십시오)"
)


@lru_cache(maxsize=4096)
def content_free(text: str) -> bool:
    """Nothing coders code: interjections, agreement, thanks, closings and transcriber's notes only ("네.",
    "네, 그렇죠.", "네 고맙습니다.", "[중략]", "(웃음)"). On the development transcripts the
    coders left such answers uncoded, while a short answer with a word of its own ("있었죠.",
    "전혀요.", "아니요.") carries its question's code."""
    rest = CLOSING.sub(" ", EDITORIAL_NOTE.sub(" ", text)).strip()
    if len(rest) > MAX_CHARS:  # no kiwi pass over a long sentence on the coder's path
        return False
    if any(word.lower() not in ENGLISH_FORMULAS for word in LATIN_WORD.findall(rest)):
        return False
    for token in get_kiwi().tokenize(LATIN_WORD.sub(" ", rest)):
        if token.form in DENYING or token.tag == "SH":  # a denial; a word in Hanja
            return False
        if token.tag in ("IC", "VCP") or token.tag[0] in "SEJX" or token.form in AFFIRMING:
            continue
        return False
    return True
