"""How an XLSX export's sheet opens: readable without resizing a column or hunting for the header.

A researcher opens the workbook in Excel (or LibreOffice) and reads it there, as in ATLAS.ti or
NVivo exports: the header row is bold and stays in view (frozen), every sheet has an autofilter, and
each column is as wide as its content within bounds – an id or a count stays narrow, a passage's
`text` or `quote` gets a wide column whose cells wrap, so the whole passage reads in its row.
"""

from __future__ import annotations

import pandas as pd
from openpyxl.styles import Alignment, Font
from openpyxl.worksheet.worksheet import Worksheet

MIN_WIDTH, MAX_WIDTH = 8, 80
"""A column's width in characters: at least a short code's, at most a comfortable line of text
(longer content wraps)."""
ID_WIDTH = 32
"""An id column (`id`, `*_id`) shows a passage id whole and no more: ids are for joining and looking
up, and a wide one would push the text off the screen (excerpt_id's tail repeats category and polarity)."""
HEADER_PAD = 3  # the autofilter's drop-down button covers the end of the header cell
CELL_PAD = 1
_WIDE = r"[\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6]"
"""Hangul, CJK and full-width characters: each takes two character widths on screen."""
_WRAP = Alignment(wrap_text=True, vertical="top")
_TOP = Alignment(vertical="top")


def display_widths(values: pd.Series) -> pd.Series:
    """Screen width of each value in characters, a wide (Hangul) character counting two; the
    longest line of a value with line breaks."""
    lines = values.dropna().astype(str).str.split("\n").explode().dropna()
    return lines.str.len() + lines.str.count(_WIDE)


def column_width(name: str, values: pd.Series) -> tuple[int, bool]:
    """The column's width and whether its cells wrap (text longer than MAX_WIDTH; ids never wrap)."""
    header = int(display_widths(pd.Series([str(name)])).max()) + HEADER_PAD
    cells = display_widths(values)
    need = max(header, int(cells.max()) + CELL_PAD if len(cells) else 0)
    if name == "id" or str(name).endswith("_id"):
        return max(MIN_WIDTH, min(need, ID_WIDTH)), False
    return max(MIN_WIDTH, min(need, MAX_WIDTH)), need > MAX_WIDTH


def lay_out(ws: Worksheet, df: pd.DataFrame) -> None:
    """Bold frozen header, an autofilter over the data, fitted column widths; where a column wraps,
    every cell of a row starts at the top, so a row's id stays beside the start of its text."""
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = ws.dimensions
    for cell in ws[1]:
        cell.font = Font(bold=True)
    wraps = []
    for i, name in enumerate(df.columns, 1):
        width, wrap = column_width(name, df[name])
        ws.column_dimensions[ws.cell(1, i).column_letter].width = width
        wraps.append(wrap)
    if not any(wraps):
        return
    for row in ws.iter_rows(min_row=2, max_col=len(wraps)):
        for cell, wrap in zip(row, wraps, strict=True):
            cell.alignment = _WRAP if wrap else _TOP
