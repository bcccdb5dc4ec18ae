"""An outside coder's codes against kb's: agreement per factor, sentence by sentence (or passage).

A second coder often codes in a spreadsheet, next to `kb export --unit sentence`, before she sees
kb's codes, and then wants her agreement with kb – percent agreement and Krippendorff's α per
factor, as the review agreement gives for decisions made in the app. The file is read as hostile
(size cap, zip limits for .xlsx, every value checked) and every problem is named with its row.

The file: one row per unit × code. The unit is `sentence_id` (from the sentence export) or, without
that column, `passage_id`. The code is a factor (its id or its Korean or English label) and,
optionally, a polarity (success/obstacle/neutral/recommendation or 성공 요인/장애 요인/중립/제언).
A row with an empty factor says the coder coded the unit with nothing. Units are those the file
names; kb's side is the auto coder's codes of each (sentence codes for sentences).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from kb.errors import ReviewError
from kb.records import POLARITIES
from kb.review.agreement import alpha

if TYPE_CHECKING:
    from kb.store.kbase import KnowledgeBase

MAX_BYTES = 20 * 1024 * 1024
MAX_ROWS = 200_000
MAX_LISTED = 5
POLARITY_NAMES = {
    "성공": "success", "성공 요인": "success", "성공요인": "success",
    "장애": "obstacle", "장애 요인": "obstacle", "장애요인": "obstacle",
    "중립": "neutral", "제언": "recommendation",
}  # fmt: skip
COLUMNS = [
    "category", "label_ko", "label_en", "units", "both", "only_file", "only_kb", "agreement", "alpha",
    "polarity_units", "polarity_agreement",
]  # fmt: skip
DISAGREEMENT_COLUMNS = ["unit_id", "category", "label_ko", "file", "kb", "text"]
TOTAL = "_all"

Codes = dict[str, dict[str, str | None]]  # unit id -> category -> polarity (None: not given)


class CodesFileError(ReviewError):
    """The outside coder's file cannot be read or names unknown units, factors or polarities."""


def read_table(path: str | Path) -> pd.DataFrame:
    """The file as text cells: .csv/.tsv (UTF-8, with or without BOM, or CP949 as Korean Excel saves
    it) or .xlsx (first sheet)."""
    path = Path(path)
    if not path.is_file():
        raise CodesFileError(f"{path}: no such file")
    size = path.stat().st_size
    if size > MAX_BYTES:
        raise CodesFileError(
            f"{path.name} is {size // 2**20} MB; a codes file is at most {MAX_BYTES // 2**20} MB"
        )
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        from kb.exchange.safezip import ZipLimits

        ZipLimits(path, CodesFileError).zf.close()  # refuses zip bombs before openpyxl inflates them
        try:
            df = pd.read_excel(path, dtype=str, keep_default_na=False, nrows=MAX_ROWS + 1)
        except Exception as exc:  # openpyxl raises many kinds on a damaged workbook
            raise CodesFileError(f"{path.name} is not a readable .xlsx workbook ({exc})") from exc
    elif suffix in (".csv", ".tsv", ".txt"):
        df = _read_delimited(path, "\t" if suffix == ".tsv" else None)
    else:
        raise CodesFileError(f"{path.name}: give a .csv, .tsv or .xlsx file")
    if len(df) > MAX_ROWS:
        raise CodesFileError(f"{path.name} has more than {MAX_ROWS} rows")
    df.columns = [str(c).strip() for c in df.columns]
    return df.map(lambda v: str(v).strip())


def _read_delimited(path: Path, sep: str | None) -> pd.DataFrame:
    raw = path.read_bytes()
    if b"\0" in raw[:4096]:
        raise CodesFileError(f"{path.name} is a binary file, not a CSV table")
    for encoding in ("utf-8-sig", "cp949"):
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise CodesFileError(f"{path.name} is neither UTF-8 nor CP949 text; save it as CSV UTF-8")
    if sep is None:
        try:
            sep = csv.Sniffer().sniff(text[:4096], delimiters=",;\t").delimiter
        except csv.Error:
            sep = ","
    try:
        return pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise CodesFileError(f"{path.name} is not a readable table ({exc})") from exc


def unit_of(df: pd.DataFrame) -> str:
    """'sentence' when the file has sentence ids, else 'passage'; CodesFileError without either."""
    unit = "sentence" if "sentence_id" in df.columns else "passage" if "passage_id" in df.columns else None
    if unit is None:
        raise CodesFileError(
            "the file needs a sentence_id column (from `kb export --unit sentence`) or a passage_id column; "
            f"its columns: {', '.join(df.columns[:12])}"
        )
    return unit


def parse_codes(
    df: pd.DataFrame,
    kb: KnowledgeBase,
    known: set[str],
    category_column: str = "category",
    polarity_column: str = "polarity",
) -> Codes:
    """unit id -> category -> polarity from the table, for the units `known` to kb; CodesFileError
    names the first rows of every kind of problem."""
    unit = unit_of(df)
    if category_column not in df.columns:
        raise CodesFileError(
            f"no column {category_column!r} with the factors (--category-column names another)"
        )
    has_polarity = polarity_column in df.columns
    factor_of = _factor_reader(kb)
    codes: Codes = {}
    bad: dict[str, list[str]] = {"unknown unit": [], "unknown factor": [], "unknown polarity": []}
    for n, row in enumerate(df.to_dict("records"), start=2):  # row 1 is the header
        uid = row[f"{unit}_id"]
        if uid not in known:
            bad["unknown unit"].append(f"row {n}: {uid!r}")
            continue
        coded = codes.setdefault(uid, {})
        if not row[category_column]:
            continue  # coded with nothing
        category = factor_of(row[category_column])
        if category is None:
            bad["unknown factor"].append(f"row {n}: {row[category_column]!r}")
            continue
        polarity = _polarity(row[polarity_column]) if has_polarity and row[polarity_column] else None
        if has_polarity and row[polarity_column] and polarity is None:
            bad["unknown polarity"].append(f"row {n}: {row[polarity_column]!r}")
            continue
        coded[category] = polarity
    problems = [f"{kind}: {', '.join(rows[:MAX_LISTED])}" + (" …" if len(rows) > MAX_LISTED else "")
                for kind, rows in bad.items() if rows]  # fmt: skip
    if problems:
        hint = "; ids come from `kb export --unit sentence`, factors from `kb codebook`, polarities: "
        raise CodesFileError("; ".join(problems) + hint + ", ".join(POLARITIES))
    if not codes:
        raise CodesFileError("the file names no unit to compare")
    return codes


def _factor_reader(kb: KnowledgeBase) -> Callable[[str], str | None]:
    names = {}
    for c in kb.codebook.categories:
        for name in (c.id, c.label_ko, c.label_en):
            if name:
                names[name.strip().lower()] = c.id
    return lambda value: names.get(value.strip().lower())


def _polarity(value: str) -> str | None:
    value = value.strip()
    return value.lower() if value.lower() in POLARITIES else POLARITY_NAMES.get(value)


def kb_codes(kb: KnowledgeBase, unit: str) -> tuple[Codes, dict[str, str]]:
    """kb's side: the auto coder's codes of every sentence (as the sentence export gives them) or
    passage, and each unit's text (to read a disagreement without looking it up)."""
    if unit == "passage":
        auto = {rec.get("passage_id") or rec.get("id"): rec.get("codes") or [] for rec in kb.auto_codes}
        codes = {
            pid: {c["category"]: c.get("polarity") for c in auto.get(pid, [])} for pid in kb.passage_by_id
        }
        return codes, {pid: p.get("text") or "" for pid, p in kb.passage_by_id.items()}
    from kb.exchange.sentences import sentence_rows
    from kb.query.filters import Filters

    rows = sentence_rows(kb, None, {}, Filters())
    out: Codes = {}
    for sid, category, polarity in rows[["sentence_id", "category", "polarity"]].itertuples(index=False):
        coded = out.setdefault(sid, {})
        if isinstance(category, str) and category:
            coded[category] = polarity
    return out, dict(zip(rows["sentence_id"], rows["sentence"], strict=True))


def compare(theirs: Codes, ours: Codes, kb: KnowledgeBase, texts: dict[str, str]) -> dict[str, pd.DataFrame]:
    """Per factor (and '_all'): units, codes in both / only the file / only kb, percent agreement on
    presence, Krippendorff's α, and polarity agreement where both coded the factor and the file gave
    a polarity; plus the disagreements, one row per unit and factor."""
    units = sorted(theirs)
    book = kb.codebook.categories
    rows, pooled, disagree = [], ([], [], []), []
    for c in book:
        a = [int(c.id in theirs[u]) for u in units]
        b = [int(c.id in ours.get(u, {})) for u in units]
        pols = [
            (theirs[u][c.id], ours[u][c.id]) for u in units if c.id in theirs[u] and c.id in ours.get(u, {})
        ]
        pols = [(x, y) for x, y in pols if x is not None]
        rows.append(_row(c.id, c.label_ko, c.label_en, a, b, pols))
        for part, values in zip(pooled, (a, b, pols), strict=True):
            part.extend(values)
        for u in units:
            in_file, in_kb = c.id in theirs[u], c.id in ours.get(u, {})
            said, read = theirs[u].get(c.id), ours.get(u, {}).get(c.id) or "neutral"
            if in_file != in_kb or in_file and said is not None and said != read:
                disagree.append([u, c.id, c.label_ko, (said or "coded") if in_file else "absent",
                                 read if in_kb else "absent", texts.get(u, "")])  # fmt: skip
    rows.append(_row(TOTAL, "전체 (all)", "all factors", *pooled))
    return {
        "by_factor": pd.DataFrame(rows, columns=COLUMNS),
        "disagreements": pd.DataFrame(disagree, columns=DISAGREEMENT_COLUMNS).sort_values(
            "unit_id", kind="stable"
        ),
    }


def _row(
    cid: str, ko: str, en: str, a: list[int], b: list[int], pols: list[tuple[Any, Any]]
) -> dict[str, Any]:
    both = sum(1 for x, y in zip(a, b, strict=True) if x and y)
    same = sum(1 for x, y in zip(a, b, strict=True) if x == y)
    return {
        "category": cid,
        "label_ko": ko,
        "label_en": en,
        "units": len(a),
        "both": both,
        "only_file": sum(a) - both,
        "only_kb": sum(b) - both,
        "agreement": same / len(a) if a else float("nan"),
        "alpha": alpha([float(x) for x in a], [float(y) for y in b]),
        "polarity_units": len(pols),
        "polarity_agreement": sum(1 for x, y in pols if x == y) / len(pols) if pols else float("nan"),
    }
