"""`kb export`: coded excerpts, passages or sentences as csv, xlsx, jsonl, parquet, REFI-QDA qdpx/qdc,
and the codebook as Taguette's codebook CSV.

Takes the same filters as `kb search` (and optionally a query, which restricts the export to
the passages the query retrieves), so what a researcher sees in the app is what goes out.
Codes are the effective ones: auto codes with human review decisions applied. CSV and XLSX
cells are spreadsheet-safe (kb.exchange.spreadsheet); files get the user's normal permissions (umask).
The columns (order, type, description) are defined once in kb.exchange.columns.
"""

from __future__ import annotations

import io
import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from kb import fileio
from kb.corpus.citation import citations
from kb.errors import ExportError
from kb.exchange.columns import (
    COUNTING,
    EXCERPT_COLUMNS,
    PASSAGE_COLUMNS,
    SENTENCE_COUNTING,
    UNIT_COLUMNS,
    dictionary,
)
from kb.fileio import default_mode
from kb.query.filters import Filters, allowed_ids, matching_codes
from kb.query.profiles import quote
from kb.query.retrieval import is_fallback
from kb.records import EFFECTIVE_CODE_FIELDS, GROUP_KO, POLARITIES, POLARITY_KO, dominant_polarity
from kb.review.agreement import agreed_by, agreeing, disputed_units

if TYPE_CHECKING:
    from kb.store.kbase import KnowledgeBase

FORMATS = ("csv", "xlsx", "jsonl", "parquet", "qdpx", "qdc", "codebook-csv")
ALIASES = {"taguette-codebook": "codebook-csv", "taguette": "codebook-csv", "refi-qda": "qdpx"}
CODEBOOK_FORMATS = ("qdc", "codebook-csv")
BINARY_FORMATS = ("xlsx", "parquet", "qdpx")
UNITS = ("excerpt", "passage", "sentence")
SHEET_OF_UNIT = {"excerpt": "excerpts", "passage": "passages", "sentence": "sentences"}
DEFAULT_UNIT = {"csv": "excerpt", "xlsx": "excerpt", "parquet": "excerpt", "jsonl": "passage"}
META_COLUMNS = (
    "doc_id", "case", "case_name", "group", "platform_type", "section", "kind", "speaker", "question", "text",
)  # fmt: skip
CODE_KEYS = EFFECTIVE_CODE_FIELDS
# EXCERPT_COLUMNS / PASSAGE_COLUMNS, the rows' columns, come from the column dictionary (kb.exchange.columns)
DEFAULT_K = 100
NO_FILTERS = Filters()


def canonical(fmt: str) -> str:
    """The format name behind an alias (taguette-codebook → codebook-csv)."""
    return ALIASES.get(fmt, fmt)


def check_format(fmt: str, unit: str | None) -> str:
    """The unit to use for `fmt` (its default when `unit` is None); ExportError for unknown values."""
    fmt = canonical(fmt)
    if fmt not in FORMATS:
        valid = ", ".join([*FORMATS, *(f"{a} (= {f})" for a, f in ALIASES.items())])
        raise ExportError(f"unknown export format {fmt!r}; valid formats: {valid}")
    unit = unit or DEFAULT_UNIT.get(fmt, "excerpt")
    if unit not in UNITS:
        raise ExportError(f"unknown export unit {unit!r}; valid units: {', '.join(UNITS)}")
    if fmt in ("qdpx", *CODEBOOK_FORMATS) and unit != "excerpt":
        raise ExportError(f"--unit does not apply to {fmt}; it always holds the coded excerpts/codebook")
    return unit


def format_from_path(path: str | Path | None, default: str = "csv") -> str:
    """The format an output file name asks for (codes.xlsx → xlsx; no suffix: `default`); ExportError
    for a suffix no format writes (report.pdf would have held CSV under a PDF name)."""
    suffix = Path(path).suffix.lower().lstrip(".") if path else ""
    if suffix and suffix not in FORMATS:
        raise ExportError(
            f"cannot write a .{suffix} file; name the output .{', .'.join(FORMATS)} or give --format"
        )
    return suffix or default


def selection(kb: KnowledgeBase, filters: Filters, query: str | None, k: int) -> tuple[set[str] | None, dict]:
    """Passage ids to export (None = all) and, with a query, each id's search rank."""
    if query:
        from kb.query.retrieval import ranked_ids

        hits = ranked_ids(kb, query, k, filters)
        return {pid for pid, _ in hits}, {pid: i + 1 for i, (pid, _) in enumerate(hits)}
    return allowed_ids(kb, filters), {}


def _clean(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _rounded(value: Any) -> float | None:
    value = _clean(value)
    return None if value is None else round(float(value), 4)


def _page(value: Any) -> int | None:
    value = _clean(value)
    return None if value is None else int(value)


def excerpt_id(passage_id: str, category: str, polarity: str | None) -> str:
    """An excerpt row's id: passage × factor × direction, the unit a row stands for (a code has one
    row per direction, kb.store.kbase.by_direction), so it is unique in an export. Built from the
    passage's content id, it stays the same across exports and rebuilds while the text and the
    direction are unchanged. Document ids are file names and factor ids have no '/'."""
    return f"{passage_id}/{category}/{polarity}"


def export_columns(unit: str | None = "excerpt") -> pd.DataFrame:
    """`kb.export_columns()`: what each column of an export holds (unit, column, type, description);
    every unit when `unit` is None (kb.exchange.columns, docs/export_columns.md). `attrs["counting"]`:
    how to count the unit's rows."""
    if unit is not None and unit not in UNIT_COLUMNS:
        raise ExportError(f"unknown export unit {unit!r}; valid units: {', '.join(UNITS)}")
    table = dictionary(unit)
    counting = {
        "excerpt": COUNTING,
        "sentence": SENTENCE_COUNTING,
        None: f"{COUNTING}\n\n{SENTENCE_COUNTING}",
    }
    if unit in counting:
        table.attrs["counting"] = counting[unit]
    return table


def excerpts(
    kb: KnowledgeBase, filters: Filters = NO_FILTERS, query: str | None = None, k: int = DEFAULT_K
) -> pd.DataFrame:
    """One row per effective code and direction that passes the filters, with its passage, citation
    (kb.corpus.citation) and `quote`: the sentences that carry the code in the row's direction (the
    whole passage when no sentence does, as for a code a coder added). A code whose sentences also
    carry another direction has a row for it too (`polarity_from` 'sentence'), as the matrix counts
    it. `fallback`: an auto code below its factor's threshold, the best factor of a sentence that
    cleared none; `coder`: the version stamp of the auto coder that made an auto code (cite it: a
    retrain changes the codes); `agreed_by`: the coders whose own decisions agree on it
    ("; "-separated); `disputed`: two coders coded the unit differently
    (kb.review.agreement.disagreements) and no adjudicator resolved it. `memo` is the coder's memo
    on the code, `passage_memo` the memo on its passage."""
    ids, rank = selection(kb, filters, query, k)
    codes = matching_codes(kb, filters)
    if ids is not None:
        codes = codes[codes["passage_id"].isin(ids)]
    labels = {c.id: c.label_ko for c in kb.codebook.categories}
    labels_en = {c.id: c.label_en for c in kb.codebook.categories}
    coder_of = {(r.get("passage_id") or r.get("id")): r.get("coder") for r in kb.auto_codes}
    memos = kb.passage_memos()
    order = {p["id"]: i for i, p in enumerate(kb.passages)}
    cat_order = {c: i for i, c in enumerate(kb.codebook.ids)}
    cite = citations(kb)
    disputed, agreed = disputed_units(kb), agreed_by(kb)
    rows = []
    for code in codes.to_dict("records"):
        p = kb.passage_by_id.get(code["passage_id"])
        if p is None:
            continue
        evidence = _clean(code.get("evidence"))
        row = {col: _clean(p.get(col)) for col in META_COLUMNS}
        row.update({key: _clean(code.get(key)) for key in (*CODE_KEYS, "polarity_from")})
        row.update(
            excerpt_id=excerpt_id(p["id"], code["category"], code.get("polarity")),
            passage_id=p["id"],
            page=_page(p.get("page")),
            page_end=_page(p.get("page_end")),
            citation=cite(p),
            quote=quote(kb, p["id"], code["category"], code.get("polarity")),
            label_en=labels_en.get(code["category"], code["category"]),
            fallback=code.get("source") == "auto" and is_fallback(evidence),
            coder=coder_of.get(p["id"]) if code.get("source") == "auto" else None,
            disputed=(p["id"], code["category"]) in disputed,
            agreed_by="; ".join(agreeing(agreed, p["id"], code["category"], code.get("polarity")))
            if code.get("source") == "human"
            else "",
            label_ko=labels.get(code["category"], code["category"]),
            passage_memo=memos.get(p["id"]),
            confidence=round(float(code["confidence"]), 4),
            polarity_confidence=_rounded(code.get("polarity_confidence")),
            evidence=None if evidence is None else json.dumps(evidence, ensure_ascii=False, default=str),
            _order=(rank.get(p["id"], 0), order.get(p["id"], 0), cat_order.get(code["category"], 99)),
        )
        rows.append(row)
    rows.sort(key=lambda r: r.pop("_order"))
    df = pd.DataFrame(rows, columns=EXCERPT_COLUMNS)
    df[["page", "page_end"]] = df[["page", "page_end"]].astype("Int64")
    if rank:
        df.insert(0, "rank", df["passage_id"].map(rank).astype("Int64"))
    return df


def passages(
    kb: KnowledgeBase, filters: Filters = NO_FILTERS, query: str | None = None, k: int = DEFAULT_K
) -> pd.DataFrame:
    """One row per passage (coded or not) that passes the filters, with all its effective codes and the
    coders' passage memo."""
    ids, rank = selection(kb, filters, query, k)
    kb.codes_df()  # pick up review decisions made since the last call
    memos = kb.passage_memos()
    chosen = [p for p in kb.passages if ids is None or p["id"] in ids]
    if rank:
        chosen.sort(key=lambda p: rank[p["id"]])
    cite = citations(kb)
    rows = []
    for p in chosen:
        codes = [{key: _clean(c.get(key)) for key in CODE_KEYS} for c in kb.codes_for(p["id"])]
        row = {col: _clean(p.get(col)) for col in PASSAGE_COLUMNS[: PASSAGE_COLUMNS.index("codes")]}
        row["page"], row["page_end"] = _page(p.get("page")), _page(p.get("page_end"))
        row["citation"], row["passage_id"] = cite(p), p["id"]
        row.update(
            codes=codes,
            polarity=dominant_polarity(codes),
            n_codes=len(codes),
            memo=memos.get(p["id"]),
        )
        rows.append(row)
    df = pd.DataFrame(rows, columns=PASSAGE_COLUMNS)
    df[["page", "page_end"]] = df[["page", "page_end"]].astype("Int64")
    if rank:
        df.insert(0, "rank", df["id"].map(rank).astype("Int64"))
    return df


def sentences(
    kb: KnowledgeBase, filters: Filters = NO_FILTERS, query: str | None = None, k: int = DEFAULT_K
) -> pd.DataFrame:
    """One row per sentence × auto code of every passage that passes the filters (an uncoded sentence:
    one row with empty code columns), kb.exchange.sentences."""
    from kb.exchange.sentences import sentence_rows

    ids, rank = selection(kb, filters, query, k)
    return sentence_rows(kb, ids, rank, filters)


def unit_rows(
    kb: KnowledgeBase, unit: str, filters: Filters = NO_FILTERS, query: str | None = None, k: int = DEFAULT_K
) -> pd.DataFrame:
    """The export's rows of `unit` (excerpt, passage or sentence)."""
    return {"excerpt": excerpts, "passage": passages, "sentence": sentences}[unit](kb, filters, query, k)


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    return [
        {k: (None if not isinstance(v, list) and pd.isna(v) else v) for k, v in r.items()}
        for r in df.to_dict("records")
    ]


def _flat(df: pd.DataFrame) -> pd.DataFrame:
    """Lists of codes as JSON text, for formats with flat cells (csv, xlsx)."""
    if "codes" not in df:
        return df
    return df.assign(codes=df["codes"].map(lambda c: json.dumps(c, ensure_ascii=False)))


def render(
    kb: KnowledgeBase, df: pd.DataFrame | None, fmt: str, meta: dict[str, Any], bom: bool = True
) -> bytes:
    """The export file's bytes (meta: filters/query/unit, shown in the xlsx overview and qdpx)."""
    fmt = canonical(fmt)
    if fmt == "csv":
        from kb.exchange.spreadsheet import csv_bytes

        return csv_bytes(_flat(df), bom=bom)
    if fmt == "jsonl":
        lines = [json.dumps(r, ensure_ascii=False, default=str) for r in _records(df)]
        return ("\n".join(lines) + ("\n" if lines else "")).encode("utf-8")
    if fmt == "parquet":
        buf = io.BytesIO()
        df.to_parquet(buf, index=False)
        return buf.getvalue()
    if fmt == "xlsx":
        return workbook(kb, df, meta)
    if fmt == "qdpx":
        from kb.exchange.refiqda import project_qdpx

        return project_qdpx(kb, df, meta, _selected_docs(kb, meta))
    if fmt == "qdc":
        from kb.exchange.refiqda import codebook_qdc

        return codebook_qdc(kb.codebook)
    if fmt == "codebook-csv":
        from kb.exchange.refiqda import codebook_csv

        return codebook_csv(kb.codebook)
    raise ExportError(f"unknown export format {fmt!r}; valid formats: {', '.join(FORMATS)}")


def _selected_docs(kb: KnowledgeBase, meta: dict[str, Any]) -> list[str]:
    """Documents of every passage the export's filters/query select, coded or not (corpus order)."""
    filters = Filters(**meta.get("filters", {}))
    ids, _ = selection(kb, filters, meta.get("query"), meta.get("k", DEFAULT_K))
    return list(dict.fromkeys(p["doc_id"] for p in kb.passages if ids is None or p["id"] in ids))


def _sheet(writer: pd.ExcelWriter, df: pd.DataFrame, name: str) -> None:
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    from kb.exchange.spreadsheet import safe_frame
    from kb.exchange.xlsx_layout import lay_out

    df = safe_frame(df.map(lambda v: ILLEGAL_CHARACTERS_RE.sub("", v) if isinstance(v, str) else v))
    df.to_excel(writer, sheet_name=name, index=False)
    lay_out(writer.sheets[name], df)


def matrix_wide(mat: pd.DataFrame, order: list[str]) -> pd.DataFrame:
    """Factor rows × case columns, each cell "success / obstacle" passage counts (codebook order)."""
    cells = mat.assign(cell=mat["success"].astype(str) + " / " + mat["obstacle"].astype(str))
    wide = cells.pivot_table(
        index=["dimension", "category", "label_ko"],
        columns="case_name",
        values="cell",
        aggfunc="first",
        fill_value="",
    ).reset_index()
    rank = {c: i for i, c in enumerate(order)}
    wide = wide.sort_values("category", key=lambda s: s.map(rank)).reset_index(drop=True)
    wide.columns.name = None
    return wide


def workbook(kb: KnowledgeBase, df: pd.DataFrame, meta: dict[str, Any]) -> bytes:
    """The exported rows, then one table per sheet (kb.exchange.columns.SHEETS): the per-factor overview,
    the export's key/value facts (about), the column dictionary (columns), one sheet per factor and the
    factor × case matrix."""
    from kb.query.crosscase import matrix

    filters = Filters(**meta["filters"])
    ex = (
        df
        if meta["unit"] == "excerpt"
        else excerpts(kb, filters, meta.get("query"), meta.get("k", DEFAULT_K))
    )
    book = kb.codebook
    counts = ex.groupby(["category", "polarity"]).size().unstack(fill_value=0) if len(ex) else pd.DataFrame()
    overview = pd.DataFrame(
        [
            {
                "dimension": c.dimension,
                "category": c.id,
                "label_ko": c.label_ko,
                "label_en": c.label_en,
                **{
                    pol: int(counts.loc[c.id, pol]) if c.id in counts.index and pol in counts else 0
                    for pol in POLARITIES
                },
                "passages": int(ex.loc[ex["category"] == c.id, "passage_id"].nunique()),
            }
            for c in book.categories
        ]
    )
    about = pd.DataFrame(
        [
            ("exported_at", pd.Timestamp.now(tz="UTC").isoformat(timespec="seconds")),
            ("unit", meta["unit"]),
            ("query", meta.get("query") or ""),
            ("rows", len(df)),
            ("counting", COUNTING),
            *([("sentence counting", SENTENCE_COUNTING)] if meta["unit"] == "sentence" else []),
            ("columns", "what each column holds: the columns sheet (docs/export_columns.md)"),
            (READING_SHEET, "the excerpts with Korean headers and values, for a briefing; no fallback codes"),
            ("overview", "per factor: rows per direction and distinct passages (passages)"),
            ("matrix cells", "success / obstacle passages per factor and case"),
            ("data_dir", str(kb.settings.data_dir)),
        ]
        + [(f"filter.{k}", str(v)) for k, v in meta["filters"].items()],
        columns=["key", "value"],
    )
    columns = dictionary(meta["unit"])
    if meta["unit"] != "excerpt":  # the factor sheets hold excerpt rows
        columns = pd.concat([columns, dictionary("excerpt")], ignore_index=True)
    mat = matrix(kb, meta.get("query"), filters)
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl") as writer:  # the rows first: what pd.read_excel reads
        _sheet(writer, _flat(df), SHEET_OF_UNIT[meta["unit"]])
        # one table per sheet, so pd.read_excel(path, sheet_name=...) reads each as it is
        _sheet(writer, reading(ex), READING_SHEET)
        _sheet(writer, overview, "overview")
        _sheet(writer, about, "about")
        _sheet(writer, columns, "columns")
        for c in book.categories:
            part = ex[ex["category"] == c.id]
            if len(part):
                _sheet(writer, part, c.id[:31])
        if len(mat):
            _sheet(writer, matrix_wide(mat, book.ids), "matrix")
            _sheet(writer, mat, "matrix_detail")
    return buf.getvalue()


READING_SHEET = "읽기용 reading"


def reading(ex: pd.DataFrame) -> pd.DataFrame:
    """The excerpts as a reader without kb's vocabulary needs them (a briefing, a 보고서 table):
    Korean headers and values, the quote and its citation, ordered by group, case, factor and
    direction; without the fallback codes (a factor no sentence cleared: a weaker reading)."""
    if not ex.empty:
        ex = ex[~ex["fallback"].astype(bool)]
        rank = {**dict.fromkeys(ex["group"], 9), **{g: i for i, g in enumerate(GROUP_KO)}}
        ex = ex.assign(_g=ex["group"].map(rank), _p=ex["polarity"].map(POLARITIES.index))
        ex = ex.sort_values(["_g", "case_name", "label_ko", "_p"], kind="stable")
    return pd.DataFrame(
        {
            "그룹": ex["group"].map(lambda g: GROUP_KO.get(g, g)),
            "사례": ex["case_name"],
            "요인": ex["label_ko"],
            "구분": ex["polarity"].map(POLARITY_KO),
            "인용문": ex["quote"],
            "출처": ex["citation"],
            "확신도": ex["confidence"],
            "검토": ex["reviewer"].where(ex["source"] == "human").fillna("자동 코딩 (auto)"),
            "구절 id": ex["passage_id"],
        }
    ).reset_index(drop=True)


def write_atomic(path: str | Path, data: bytes) -> Path:
    """Write via a temp file in the same directory + os.replace: readers never see half a file.

    The file gets the user's normal permissions (mkstemp's 0600 would hide exports from the group)."""
    path = Path(path).expanduser()
    if path.is_dir():
        raise ExportError(f"output path {path} is a directory; give a file name, e.g. {path / 'export.csv'}")
    if not path.parent.is_dir():
        raise ExportError(f"output directory {path.parent} does not exist; create it first")
    try:
        return fileio.write_atomic(path, data, perm=default_mode(path))
    except OSError as exc:
        raise ExportError(f"cannot write {path}: {exc.strerror}") from exc


def export(
    kb: KnowledgeBase,
    format: str = "csv",
    unit: str | None = None,
    filters: Filters = NO_FILTERS,
    query: str | None = None,
    path: str | Path | None = None,
    *,
    k: int = DEFAULT_K,
) -> pd.DataFrame:
    """The rows to export (excerpts, passages or sentences); written to `path` when given.

    qdpx exports the coded excerpts with the full source documents of every selected passage; qdc
    and codebook-csv (alias taguette-codebook) export the codebook (the frame lists its categories).
    """
    format = canonical(format)
    unit = check_format(format, unit)
    if format in CODEBOOK_FORMATS:
        from kb.coding.codebook import codebook_to_frame

        df = codebook_to_frame(kb.codebook)
    else:
        df = unit_rows(kb, unit, filters, query, k)
    if path is not None:
        meta = {
            "format": format,
            "unit": unit,
            "query": query,
            "k": k,
            "filters": filters.as_dict(),
            "rows": len(df),
        }
        write_atomic(path, render(kb, df, format, meta))
    return df


def api_export(
    format: str = "csv",
    path: str | Path | None = None,
    *,
    unit: str | None = None,
    query: str | None = None,
    k: int = DEFAULT_K,
    group: str | None = None,
    case: str | None = None,
    platform_type: str | None = None,
    factor: str | None = None,
    polarity: str | None = None,
    reviewed: bool = False,
    min_confidence: float = 0.0,
    source: str | None = None,
    settings: Any = None,
) -> pd.DataFrame:
    """`kb.export(...)`: what `kb export` writes, as a DataFrame; also written to `path` when given."""
    from kb.store.kbase import get_kb

    filters = Filters.of(
        group=group, case=case, platform_type=platform_type, factor=factor, polarity=polarity,
        reviewed=reviewed, min_confidence=min_confidence, source=source,
    )  # fmt: skip
    return export(get_kb(settings), format, unit, filters, query, path, k=k)
