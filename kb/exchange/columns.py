"""The columns of `kb export`, defined once: their order, type and what each holds.

The excerpt, passage and sentence exports take their column lists from here (kb.exchange.export), the XLSX
export writes this dictionary as its `columns` sheet, `kb export --columns` / `kb.export_columns()`
print it, `kb.read_export` gives each column its type from it, and docs/export_columns.md is
generated from it (`python -m kb.exchange.columns > docs/export_columns.md`; a test keeps the two
equal), so the documentation cannot drift from what an export holds.
"""

from __future__ import annotations

from typing import NamedTuple

import pandas as pd


class Column(NamedTuple):
    type: str  # one of TYPES
    description: str


TYPES = ("text", "integer", "number", "boolean", "json")
"""text; integer and number (empty = no value); boolean (true/false); json: JSON text in CSV and XLSX
(a list or object in JSONL and Parquet)."""

DTYPES = {"text": "str", "integer": "Int64", "number": "float64", "boolean": "boolean", "json": "str"}
"""The pandas dtype `kb.read_export` gives a column of each type (an empty text column stays text,
where plain pandas reads it as float64)."""

COUNTING = (
    "An excerpt export has one row per passage × factor × direction: a passage whose sentences carry "
    "both directions of an auto-coded factor has a row for each, the code's own polarity "
    '(`polarity_from` "passage") and each other direction (`polarity_from` "sentence"), as the '
    "matrix counts it. Rows per `category` and `polarity` are the matrix's counts; to count passages "
    "per factor, count distinct `passage_id` per `category` – without a `--polarity` or "
    '`--min-confidence` filter that is the number of rows with `polarity_from == "passage"`.'
)
"""How to count an excerpt export's rows (kb.store.kbase.by_direction, docs/coding_guide.md §3)."""

SENTENCE_COUNTING = (
    "A sentence export has one row per sentence × auto code of that sentence, and one row with an empty "
    "`category` for a sentence the auto coder left uncoded (without a `--factor`, `--polarity` or "
    "`--min-confidence` filter, which keep only the code rows that pass). To count sentences, count distinct "
    "`sentence_id`; to set kb's codes beside your own per-sentence coding, join on `sentence_id` or on "
    "`passage_id` + `start`/`end`. These are the auto coder's readings: review decisions are made per "
    "passage and factor (`passage_decision`), never per sentence. `kb reviews agreement --codes FILE` "
    "compares a file of your own codes (`sentence_id`, `category`, `polarity`) with these rows, factor by "
    "factor (README: Coding outside kb and comparing)."
)
"""How to count a sentence export's rows (kb.exchange.sentences)."""

_ID_NOTE = "stable across exports and rebuilds while the passage's text is unchanged"

_CASE = {
    "doc_id": Column("text", "The document the passage is from (its row in corpus/manifest.csv)."),
    "case": Column("text", "Case id (e.g. daangn); `kb cases` lists them."),
    "case_name": Column("text", "The case's Korean name."),
}
_CASE_MORE = {
    "case_name_en": Column("text", "The case's English name."),
    "group": Column("text", "The case's group: domestic, international or private."),
    "platform_type": Column(
        "text", "The case's platform type (overview and synthesis mark the report's summary chapters)."
    ),
    "organization": Column("text", "The organisation that runs the case's platform."),
}
_PLACE = {
    "section": Column("text", "The passage's section: its heading path, joined by ' > '."),
    "page": Column(
        "integer",
        "First printed page of the report the passage is on; empty for added transcripts. Most report "
        "pages are estimated (usually exact, off by up to 2 near tables and figures); the citation then "
        'says so: "p. 120 (추정)".',
    ),
    "page_end": Column(
        "integer", "Last printed page of the passage (equal to `page` unless it runs over a break)."
    ),
    "kind": Column(
        "text",
        "What the passage is: narrative (report prose), summary (a synthesis chapter's prose), quote "
        "(an interview answer), table (a table's rows, cells joined by ' | '), figure, meta (a "
        "transcript's header).",
    ),
    "speaker": Column("text", "Who speaks in an interview passage (e.g. 응답자); empty in report prose."),
    "question": Column("text", "The interviewer's question the answer follows; empty when there is none."),
    "text": Column("text", "The passage's full text."),
}
_CITATION = Column(
    "text",
    "The passage's reference for a quotation: the document's citation and the passage's pages (p. 109, "
    'pp. 175–176; "(추정)" after estimated pages) or, for an added transcript, its lines in the file '
    "(lines 12–15) – for a Word file its paragraphs (paragraph 4), counted from the top of the body with "
    "empty paragraphs and each table row counting as one.",
)
_PASSAGE_ID = Column(
    "text",
    f"The passage's id: document id + 12 hex digits of its text's SHA-1 ({_ID_NOTE}); `kb show` takes it.",
)
RANK = Column("integer", "Only in an export made with a query: the passage's search rank (1 = best).")

EXCERPT: dict[str, Column] = {
    "excerpt_id": Column(
        "text",
        "The row's id, unique in the export: passage_id/category/polarity (one row per passage × factor × "
        "direction). It stays the same across exports and rebuilds while the passage's text and the row's "
        "direction are unchanged (a coder who changes the code's polarity makes it another direction's row): "
        "join on it.",
    ),
    "passage_id": _PASSAGE_ID,
    **_CASE,
    "group": _CASE_MORE["group"],
    "platform_type": _CASE_MORE["platform_type"],
    **_PLACE,
    "quote": Column(
        "text",
        "The sentences of the passage that carry this code in this row's direction, ' … ' where text is left "
        "out (the whole passage when no sentence does, as for a code a coder added).",
    ),
    "citation": _CITATION,
    "category": Column("text", "The factor's id (codebook.yaml), e.g. leadership."),
    "label_ko": Column("text", "The factor's Korean name."),
    "label_en": Column("text", "The factor's English name."),
    "dimension": Column("text", "The factor's dimension (one of the framework's four)."),
    "polarity": Column(
        "text",
        "The direction this row counts under: success, obstacle, neutral or recommendation (advice to "
        "another actor, never the case's obstacle).",
    ),
    "polarity_from": Column(
        "text",
        "Where the row's direction comes from. \"passage\": the code's own polarity (the confidence-weighted "
        "vote of its sentences, or the coder's decision) – one such row per passage and factor. "
        '"sentence": another direction one of the code\'s sentences carries (confidence ≥ 0.5), an extra row '
        "for the same passage and factor; only an auto code no coder has decided has such rows "
        "(docs/coding_guide.md §3).",
    ),
    "source": Column(
        "text", "auto (the automatic coder's code) or human (a coder accepted, re-polarised or added it)."
    ),
    "confidence": Column(
        "number",
        "0–1: the auto coder's confidence in the code (in a sentence row: that sentence's); 1 for a human "
        "code.",
    ),
    "polarity_confidence": Column(
        "number",
        "0–1: how sure the auto coder is of the direction (polarity), apart from the factor: a code can be "
        "a sure factor and a doubtful direction; 1 for a human code; empty in a sentence row.",
    ),
    "fallback": Column(
        "boolean",
        "An auto code below its factor's threshold: the best factor of a sentence that cleared none – a "
        "weaker reading to check before quoting.",
    ),
    "coder": Column(
        "text",
        "Version stamp of the auto coder behind an auto code (a retrain or rebuild can change auto codes; "
        "cite it); empty for human codes.",
    ),
    "reviewer": Column("text", "The coder who decided the code last; empty for an auto code nobody decided."),
    "agreed_by": Column(
        "text", "The coders whose own decisions code the unit the same way, '; '-separated (e.g. hana; jun)."
    ),
    "disputed": Column(
        "boolean", "Two coders coded this passage and factor differently and no adjudicator has resolved it."
    ),
    "memo": Column("text", "The coder's memo on this code."),
    "passage_memo": Column("text", "The coders' memo on the passage."),
    "evidence": Column(
        "json",
        "Why the auto coder chose the code: cue words, nearest training example, similarities, model score, "
        "`fallback` …; empty when a coder added the code.",
    ),
}
"""An excerpt export's columns (`--unit excerpt`, the csv/xlsx/parquet default), in order."""

PASSAGE: dict[str, Column] = {
    "id": _PASSAGE_ID,
    "passage_id": Column(
        "text",
        "The same id as `id`, under the name the excerpt and sentence exports give it: join the units on it.",
    ),
    **_CASE,
    **_CASE_MORE,
    **_PLACE,
    "citation": _CITATION,
    "start": Column(
        "integer",
        "Where the passage starts in its document's text (corpus/docs/<doc_id>.txt), in characters.",
    ),
    "end": Column("integer", "Where the passage ends in its document's text, in characters (exclusive)."),
    "codes": Column(
        "json",
        "Every code of the passage after review: category, dimension, polarity, also (the other directions "
        "its sentences carry, with their confidence), confidence, polarity_confidence, source, reviewer, "
        "memo.",
    ),
    "polarity": Column(
        "text",
        "The passage's polarity: the one whose codes have the largest summed confidence (a tie goes to the "
        "more cautious reading); none for a passage without codes.",
    ),
    "n_codes": Column("integer", "How many codes the passage has (0: not coded)."),
    "memo": Column("text", "The coders' memo on the passage."),
}
"""A passage export's columns (`--unit passage`, the jsonl default), in order: every passage, coded or not."""

SENTENCE: dict[str, Column] = {
    "sentence_id": Column(
        "text",
        "The row's sentence: passage_id + '#' + its number in the passage (e.g. daangn:1a2b3c4d5e6f#2); "
        f"{_ID_NOTE} (and the coder splits it the same way). Not unique in the export: a sentence with "
        "two codes has two rows.",
    ),
    "passage_id": _PASSAGE_ID,
    "sentence_no": Column("integer", "The sentence's number in its passage, from 1."),
    **_CASE,
    "group": _CASE_MORE["group"],
    "platform_type": _CASE_MORE["platform_type"],
    "kind": _PLACE["kind"],
    "speaker": _PLACE["speaker"],
    "question": _PLACE["question"],
    "citation": _CITATION,
    "start": Column(
        "integer",
        "Where the sentence starts in its passage's text (the passage export's `text`), in characters.",
    ),
    "end": Column("integer", "Where the sentence ends in its passage's text, in characters (exclusive)."),
    "sentence": Column("text", "The sentence: the passage's text from `start` to `end`, stripped."),
    "category": Column(
        "text", "The factor the auto coder read in the sentence (codebook.yaml); empty: it read none."
    ),
    "label_ko": Column("text", "The factor's Korean name."),
    "label_en": Column("text", "The factor's English name."),
    "polarity": Column(
        "text",
        "The direction the auto coder read for this factor in this sentence: success, obstacle, neutral or "
        "recommendation; empty for an uncoded sentence.",
    ),
    "confidence": Column("number", "0–1: the auto coder's confidence in the sentence's code; empty if none."),
    "polarity_confidence": Column(
        "number", "0–1: how sure the auto coder is of the sentence's direction, apart from the factor."
    ),
    "coder": Column(
        "text",
        "Version stamp of the auto coder that read the sentence, coded or not (a retrain can change its "
        "readings; cite it); empty when the passage has no auto-coder record.",
    ),
    "passage_decision": Column(
        "text",
        "The current human review decision on this passage and factor: 'accepted: <polarity>', "
        "'added: <polarity>' or 'rejected'; empty when nobody decided. Decisions are made per passage and "
        "factor, not per sentence: every sentence row of the factor in the passage shows the same one.",
    ),
    "reviewer": Column("text", "The coder who made `passage_decision`."),
}
"""A sentence export's columns (`--unit sentence`), in order: every sentence of the selected passages."""

EXCERPT_COLUMNS = list(EXCERPT)
PASSAGE_COLUMNS = list(PASSAGE)
SENTENCE_COLUMNS = list(SENTENCE)
UNIT_COLUMNS = {"excerpt": EXCERPT, "passage": PASSAGE, "sentence": SENTENCE}
TEXT_COLUMNS = sorted(
    {n for cols in UNIT_COLUMNS.values() for n, c in cols.items() if c.type in ("text", "json")}
)
"""Read as text, never as numbers (a question "01" keeps its 0)."""


def columns_of(unit: str) -> dict[str, Column]:
    """The dictionary of one unit's columns, `rank` first (present only with a query)."""
    return {"rank": RANK, **UNIT_COLUMNS[unit]}


def dictionary(unit: str | None = None) -> pd.DataFrame:
    """The column dictionary as a table: unit, column, type, description (every unit when None)."""
    units = [unit] if unit else list(UNIT_COLUMNS)
    rows = [
        {"unit": u, "column": name, "type": col.type, "description": col.description}
        for u in units
        for name, col in columns_of(u).items()
    ]
    return pd.DataFrame(rows, columns=["unit", "column", "type", "description"])


def typed(df: pd.DataFrame) -> pd.DataFrame:
    """`df` (an export read back from CSV/XLSX) with each known column in its dictionary type.

    A column of several units has the same type in each (a test checks it)."""
    types = {name: col.type for u in UNIT_COLUMNS for name, col in columns_of(u).items()}
    out = df.copy()
    for name in out.columns:
        kind = types.get(name)
        if kind is None:
            continue
        series = out[name]
        if kind == "boolean" and series.dtype == object:
            series = series.map(
                lambda v: {"true": True, "false": False}.get(v.lower(), v) if isinstance(v, str) else v
            )
        out[name] = series.astype(DTYPES[kind])
    return out


def markdown() -> str:
    """docs/export_columns.md: the counting rules and one table per unit."""

    def cell(text: str) -> str:
        return text.replace("|", "\\|")

    parts = [
        "# Export columns",
        "",
        "<!-- Generated from kb/exchange/columns.py: "
        "python -m kb.exchange.columns > docs/export_columns.md -->",
        "",
        "What each column of `kb export` / `kb.export()` holds (CSV, XLSX, Parquet, JSONL). The XLSX export "
        "carries the same table as its `columns` sheet; `kb export --columns` prints it. `kb.read_export` "
        "reads a CSV/XLSX export back with these types (plain pandas reads a column with no values yet as "
        "float64).",
        "",
        "**How to count.** " + COUNTING,
        "",
    ]
    titles = {
        "excerpt": "## Excerpts (`--unit excerpt`, the csv/xlsx/parquet default)",
        "passage": "## Passages (`--unit passage`, the jsonl default)",
        "sentence": "## Sentences (`--unit sentence`)",
    }
    notes = {"sentence": ["**How to count.** " + SENTENCE_COUNTING, ""]}
    for unit in UNIT_COLUMNS:
        parts += [titles[unit], "", *notes.get(unit, []), "| column | type | description |", "|---|---|---|"]
        parts += [f"| `{n}` | {c.type} | {cell(c.description)} |" for n, c in columns_of(unit).items()]
        parts.append("")
    parts += [
        "## The XLSX workbook's sheets",
        "",
        "| sheet | what it holds |",
        "|---|---|",
        *(f"| `{name}` | {cell(what)} |" for name, what in SHEETS.items()),
        "",
    ]
    return "\n".join(parts)


SHEETS = {
    "excerpts / passages / sentences": "The exported rows (the first sheet: what `pd.read_excel(path)` "
    "reads).",
    "읽기용 reading": "The excerpts for a reader without kb's vocabulary (a briefing table): Korean "
    "headers and values – 그룹, 사례, 요인, 구분 (성공 요인 / 장애 요인 / 중립 / 제언), 인용문 (the quote), "
    "출처 (the citation), 확신도, 검토 (the reviewer, or 자동 코딩), 구절 id – ordered by group, case, "
    "factor and direction, without the fallback codes.",
    "overview": "One row per factor: its rows per direction (success, obstacle, neutral, recommendation) "
    "and its distinct passages.",
    "about": "key / value: when and how the export was made (unit, query, filters, row count, data "
    "directory) and how to count its rows.",
    "columns": "This column dictionary: unit, column, type, description.",
    "<factor id>": "The excerpt rows of one factor (e.g. leadership), one sheet per factor with rows.",
    "matrix": "Factor × case: 'success / obstacle' passage counts per cell.",
    "matrix_detail": "The matrix as a long table: one row per factor and case, its passages per direction "
    "and exemplar passage ids.",
}
"""The XLSX export's sheets, in order (kb.exchange.export.workbook)."""


if __name__ == "__main__":
    print(markdown(), end="")
