"""The document context embedded in front of a passage's (and a sentence's) text.

Questions name the case, the platform and the topic ("경기도 버스정보시스템의 이용자는…");
the passage that answers them often says "본 플랫폼" or "그 사업" and names none of it, because
the report's heading already did. So a passage vector is made of a short context line – the
case's Korean and English names and the passage's innermost heading – above the (question and)
text, and a sentence vector of the case name above the sentence (a heading over a 30-character
sentence would outweigh it). What was tried and measured: docs/bench/contextual_dev.md.

The context is part of what is embedded, so it is part of the hashes that decide re-embedding:
`kb.store.vectorstore.embed_hash` for passages, the content-derived sentence ids for sentences
(`kb.store.sentence_index.sentences_of`). A renamed case or heading re-embeds its passages and
sentences; the old sentence ids are pruned like those of an edited passage.

The variants measured (other parts, no context) can be re-run from commit 2e9c114, whose
`KB_EMBED_CONTEXT` switch chose the parts without editing the code.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

PASSAGE_CONTEXT: tuple[str, ...] = ("case", "case_en", "heading")
SENTENCE_CONTEXT: tuple[str, ...] = ("case",)

# "제2절 ", "1. ", "2) ", "(3) ", "가. ": numbering in front of a heading says nothing to a reader
_NUMBERING = re.compile(r"^\s*(?:제\s*\d+\s*[장절관]|\(?\d+\)|\d+\.|[가-하]\.|[가-하]\))\s*")


def heading(p: dict[str, Any]) -> str:
    """The passage's innermost heading below the chapter, without its numbering ('' if none).

    A report passage's section path starts with its chapter ("제4장 …"), too broad to say
    anything; an added transcript's starts with its file name, which is no heading at all."""
    path = list(p.get("section_path") or [])
    skip = 1 if p.get("attribution") == "added" or (path and path[0].lstrip().startswith("제")) else 0
    inner = [h for h in path[skip:] if h and h.strip()]
    if not inner:
        return ""
    return _NUMBERING.sub("", inner[-1]).strip()


def context(p: dict[str, Any], parts: Sequence[str]) -> str:
    """One line of the chosen parts: "<case name> (<English name>) · <heading>" ('' if none apply)."""
    name = (p.get("case_name") or "").strip() if "case" in parts else ""
    en = (p.get("case_name_en") or "").strip() if "case_en" in parts else ""
    if en and en != name:
        name = f"{name} ({en})" if name else en
    head = heading(p) if "heading" in parts else ""
    return " · ".join(x for x in (name, head) if x)


def passage_context(p: dict[str, Any]) -> str:
    return context(p, PASSAGE_CONTEXT)


def sentence_context(p: dict[str, Any]) -> str:
    return context(p, SENTENCE_CONTEXT)


def with_context(ctx: str, text: str) -> str:
    return f"{ctx}\n{text}" if ctx else text
