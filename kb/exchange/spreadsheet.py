"""Spreadsheet-safe cells: text that Excel or LibreOffice would run as a formula is neutralised.

OWASP's CSV-injection guidance: a cell that starts with = + - @ TAB or CR is read as a formula
(=HYPERLINK(...) in a coder's name or a transcript line is enough), so such text gets a leading
single quote. Every CSV/XLSX writer in kb (exports, the codebook CSV, `kb matrix --csv`, the
app's downloads) goes through `safe_frame`/`csv_bytes`; `restore` undoes it exactly, so kb's own
readers (`read_export`, `kb import-codebook`) get the original text back. Text that already
starts with quotes before a trigger gets one more, which keeps the mapping reversible.
JSONL and Parquet are data formats and stay raw.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pandas as pd

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_NEEDS = re.compile(r"^'*[=+\-@\t\r]")
_ESCAPED = re.compile(r"^'+[=+\-@\t\r]")


def neutralise(value: Any) -> Any:
    """`value` with a leading ' when a spreadsheet would treat it as a formula; non-text unchanged."""
    if isinstance(value, str) and _NEEDS.match(value):
        return "'" + value
    return value


def restore(value: Any) -> Any:
    """The original text of a neutralised cell (inverse of `neutralise`)."""
    if isinstance(value, str) and _ESCAPED.match(value):
        return value[1:]
    return value


def safe_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of `df` with every text cell (and column name) neutralised."""
    out = df.map(neutralise) if len(df.columns) else df.copy()
    out.columns = [neutralise(c) for c in df.columns]
    return out


def restore_frame(df: pd.DataFrame) -> pd.DataFrame:
    out = df.map(restore) if len(df.columns) else df.copy()
    out.columns = [restore(c) for c in df.columns]
    return out


def csv_bytes(df: pd.DataFrame, bom: bool = True) -> bytes:
    """CSV text of `df` for spreadsheets: neutralised cells, UTF-8 (with BOM so Excel reads Hangul)."""
    text = safe_frame(df).to_csv(index=False, lineterminator="\n")
    return text.encode("utf-8-sig" if bom else "utf-8")


def read_export(path: str | Path, sheet: str | int = 0) -> pd.DataFrame:
    """`kb.read_export(path)`: a CSV or XLSX that kb wrote, with the original (un-neutralised) text and
    each export column in its type (kb.exchange.columns: text stays text when it has no values yet,
    page is Int64, fallback boolean …).

    Reading it with plain pandas also works; cells kb had to neutralise then keep their leading ',
    and a column with no values yet (reviewer, memo …) comes back as float64.
    """
    from kb.exchange.columns import TEXT_COLUMNS, typed

    path = Path(path)
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        df = pd.read_excel(path, sheet_name=sheet, dtype=object)
    else:
        df = pd.read_csv(path, encoding="utf-8-sig", dtype=dict.fromkeys(TEXT_COLUMNS, object))
    return typed(restore_frame(df))
