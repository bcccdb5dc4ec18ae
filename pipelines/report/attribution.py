"""Attribute chapter-6 interview-result blocks to the company they name.

Rules (documented in corpus/README.md):
- a paragraph naming exactly one company (name or alias, `kb.corpus.cases.ALIASES`) → that company
  (`attribution="named"`);
- a paragraph naming several companies is split at sentence boundaries into runs: a sentence
  naming one company starts that company's run, following sentences that name none stay in it,
  sentences before the first name and sentences naming several companies → unattributed;
- a paragraph naming none inherits the company of the paragraph just before it only when that
  paragraph announces what follows ("… 다음과 같다", "인용하면", "소개하면") → `lead_in`;
- a quotation naming none takes the company of the paragraph just before it → `quote_context`;
- everything else → `private:unattributed` (`attribution="none"`).
"""

from __future__ import annotations

import re
from dataclasses import replace
from itertools import pairwise

from kb.corpus.cases import UNATTRIBUTED, companies_named
from kb.text.segment import sentence_spans
from pipelines.report.parse import Block

__all__ = ["attribute_blocks", "LEAD_IN_RE"]

LEAD_IN_RE = re.compile(r"(다음과 같[다은이]|인용하면|소개하면|정리하면)[^.]*\.?\s*$")


def _piece(block: Block, start: int, end: int, case: str, how: str) -> Block:
    text = block.text[start:end]
    lead = len(text) - len(text.lstrip())
    start += lead
    text = text.strip()
    pm = [(max(0, off - start), pg) for off, pg in block.page_map if off <= start][-1:]
    pm += [(off - start, pg) for off, pg in block.page_map if start < off < start + len(text)]
    markers = [(n, off - start) for n, off in block.markers if start <= off <= start + len(text)]
    return replace(
        block, text=text, page_map=pm or block.page_map[:1], markers=markers, case=case, attribution=how
    )


def _split_runs(block: Block) -> list[Block]:
    runs: list[list] = []  # [start, end, case]
    for s, e in sentence_spans(block.text):
        named = companies_named(block.text[s:e])
        if len(named) == 1:
            case = named[0]
        elif len(named) > 1:
            case = UNATTRIBUTED
        else:
            case = runs[-1][2] if runs else UNATTRIBUTED
        if runs and runs[-1][2] == case:
            runs[-1][1] = e
        else:
            runs.append([s, e, case])
    if not runs:
        return [replace(block, case=UNATTRIBUTED, attribution="none")]
    runs[0][0], runs[-1][1] = 0, len(block.text)
    for a, b in pairwise(runs):
        b[0] = a[1]
    return [_piece(block, s, e, c, "named" if c != UNATTRIBUTED else "none") for s, e, c in runs]


def attribute_blocks(blocks: list[Block]) -> list[Block]:
    """Blocks with `case` and `attribution` set; multi-company paragraphs come back split."""
    out: list[Block] = []
    prev: Block | None = None  # last attributed piece of the previous paragraph
    prev_text = ""
    for block in blocks:
        named = companies_named(block.text)
        if len(named) == 1:
            pieces = [replace(block, case=named[0], attribution="named")]
        elif len(named) > 1 and block.kind != "quote":
            pieces = _split_runs(block)
        elif len(named) > 1:
            pieces = [replace(block, case=UNATTRIBUTED, attribution="none")]
        elif prev is not None and prev.case != UNATTRIBUTED and block.kind == "quote":
            pieces = [replace(block, case=prev.case, attribution="quote_context")]
        elif prev is not None and prev.case != UNATTRIBUTED and LEAD_IN_RE.search(prev_text):
            pieces = [replace(block, case=prev.case, attribution="lead_in")]
        else:
            pieces = [replace(block, case=UNATTRIBUTED, attribution="none")]
        out.extend(pieces)
        if block.kind != "figure":
            prev, prev_text = pieces[-1], pieces[-1].text
    return out
