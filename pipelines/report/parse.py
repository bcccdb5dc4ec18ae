"""Parse chapters 4–6 of the KRILA 2022-01 report text into structured blocks.

Two passes: `pipelines.report.lines` classifies every visual line of the PDF text (running
header, page number, chapter title page, heading, footnote, table/figure caption, table cell,
body) and finds page breaks; `pipelines.report.blocks` rejoins body lines into paragraphs and
quotations and table cells into table blocks. Every block keeps its section path, its source
lines and the printed page of each line. Report-specific patterns live in these modules;
generic line helpers are in `kb.text.textclean`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kb.errors import SourceLayoutError
from kb.text.textclean import estimate_pages
from pipelines.report.blocks import Block, BlockAssembler, Footnote
from pipelines.report.lines import MARKERS, Line, LineClassifier, anchors_and_breaks, find_line, make_lines

__all__ = ["CHAPTERS", "Block", "Footnote", "Parsed", "parse_report"]

CHAPTERS = {
    4: "제4장 지방자치단체 플랫폼 활용 국내 사례 분석",
    5: "제5장 플랫폼 지방정부 해외 우수 사례 분석",
    6: "제6장 민간 플랫폼 기업 성공 사례 분석",
}


@dataclass
class Parsed:
    blocks: list[Block]
    footnotes: list[Footnote]
    pages: list[int | None]
    lines: list[Line]


def _bounds(lines: list[Line]) -> dict[str, int]:
    """Line index where each part of chapters 4–6 starts (`MARKERS`)."""
    bounds: dict[str, int] = {}
    pos = 0
    for name, pattern in MARKERS:
        if name == "ch4":
            continue
        bounds[name] = find_line(lines, pattern, pos)
        pos = bounds[name] + 1
    # chapter 4's 제1절 shares its heading with chapter 5's: take the last one before 제2절
    ch4 = [ln.idx for ln in lines[: bounds["ch4_s2"]] if re.search(MARKERS[0][1], ln.text)]
    if not ch4:
        raise SourceLayoutError(
            "heading '제1절 사례 분석 개요' of chapter 4 not found; pass the KRILA 2022-01 report"
        )
    bounds["ch4"] = ch4[-1]
    return bounds


def parse_report(text: str) -> Parsed:
    """Blocks, footnotes and page numbers of chapters 4–6 of the report text."""
    lines = make_lines(text.split("\n"))
    bounds = _bounds(lines)
    anchors, breaks = anchors_and_breaks(lines)
    pages = estimate_pages(len(lines), anchors, breaks)
    cls = LineClassifier(lines, bounds["ch4"], bounds["end"])
    cls.run()
    asm = BlockAssembler(cls, pages, bounds)
    asm.run()
    asm.fill_tables()
    return Parsed(asm.blocks, asm.footnotes, pages, lines)
