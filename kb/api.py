"""The public Python API. The CLI, the app and the notebooks call these same functions.

Each function takes plain values, opens the knowledge base named by the settings (once per
process) and returns pandas DataFrames, so results go straight into notebooks.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

import pandas as pd

from kb import runner
from kb.errors import BadQuery
from kb.exchange.export import api_export as export
from kb.exchange.export import export_columns
from kb.exchange.ingest import api_add as add
from kb.exchange.spreadsheet import read_export
from kb.query.filters import Filters, validate
from kb.records import SEARCH_RESULT_FIELDS
from kb.settings import Settings, get_settings
from kb.store.kbase import get_kb

__all__ = [
    "across_cases", "add", "agreement", "backup_reviews", "build", "case_profile", "cases", "cell_passages",
    "citation", "code", "compare_codes", "current_decisions", "decide", "decisions_made", "documents",
    "export",
    "export_columns", "export_reviews", "extract", "import_codebook", "import_reviews", "last_retrain",
    "matrix", "needs_attention", "passage_memo", "passage_memos", "passages", "question_intent",
    "read_export", "readable_change", "remove", "retrain", "review_progress", "review_queue", "search",
]  # fmt: skip

RESULT_COLUMNS = list(SEARCH_RESULT_FIELDS)


def build(
    settings: Settings | None = None,
    progress: bool = True,
    log: Callable[[str], None] = print,
    drop_old_collections: bool = False,
    *,
    stages: tuple[str, ...] = runner.STAGES,
    keep_coder: bool = False,
) -> Any:
    """Segment, code, embed and index the corpus; only what changed is redone (pipelines.run).

    `stages`: a subset of `kb.runner.STAGES` (the app indexes only, when the index is missing).
    `keep_coder`: code new and changed passages with the saved coder, not retrained even when its
    training inputs changed (quick after `add`: what the app does; a later build retrains)."""
    return runner.build(
        settings or get_settings(),
        stages=stages,
        progress=progress,
        log=log,
        drop_old_collections=drop_old_collections,
        train=not keep_coder,
    )


def extract(source: Path | None = None, settings: Settings | None = None) -> list[dict[str, Any]]:
    """The case documents of the report text, written into the corpus folder; their manifest rows."""
    settings = settings or get_settings()
    return runner.extract(source=source or settings.source_path, corpus_dir=settings.corpus_dir)


def search_records(
    query: str,
    k: int = 10,
    *,
    group: str | None = None,
    case: str | None = None,
    platform_type: str | None = None,
    factor: str | None = None,
    polarity: str | None = None,
    reviewed: bool = False,
    min_confidence: float = 0.0,
    source: str | None = None,
    mode: str = "hybrid",
    settings: Settings | None = None,
) -> list[dict[str, Any]]:
    """Passages that answer `query` (Korean or English), best first, as plain records."""
    from kb.query.retrieval import check_query
    from kb.query.retrieval import search as run_search

    check_query(query, k)
    filters = Filters.of(
        group=group, case=case, platform_type=platform_type, factor=factor, polarity=polarity,
        reviewed=reviewed, min_confidence=min_confidence, source=source,
    )  # fmt: skip
    return run_search(get_kb(settings), query, k, filters, mode)


def warm_search(kb: Any) -> None:
    """Load what search reads lazily (the category vectors, embedded once per codebook and cached
    beside the store, the store's coder, the sentence index, the case names), so a fresh process's
    first query does not wait for them: one Korean and one English search do all of it."""
    from kb.query.intent import coder_for, reader_for
    from kb.query.retrieval import search as run_search

    reader_for(kb)
    coder_for(kb)
    for query in ("워밍업 검색", "warm-up search"):
        run_search(kb, query, 1)


def search(query: str, k: int = 10, **options: Any) -> pd.DataFrame:
    """Passages that answer `query` (Korean or English), best first: one row per passage.

    Columns: id, text, case, case_name, group, platform_type, codes (the effective codes: category,
    dimension, polarity, confidence, source auto/human, reviewer, memo, disputed, agreed_by,
    fallback), polarity (the passage's dominant one), score, section, page, page_end, citation, kind,
    speaker, doc_id, question (an answer's interviewer question), match (the best-matching sentence:
    text, start, end), query_terms. `search_records` returns the same rows as dicts.

    Options: the filters (group, case, platform_type, factor, polarity, reviewed, min_confidence, source;
    an unknown value is an error), mode (hybrid, dense, keyword), settings."""
    return pd.DataFrame(search_records(query, k, **options), columns=RESULT_COLUMNS + ["query_terms"])


def matrix(
    query: str | None = None,
    *,
    group: str | None = None,
    case: str | None = None,
    platform_type: str | None = None,
    factor: str | None = None,
    polarity: str | None = None,
    reviewed: bool = False,
    min_confidence: float = 0.0,
    source: str | None = None,
    by: str = "case",
    settings: Settings | None = None,
) -> pd.DataFrame:
    """Factor × case counts of success / obstacle passages with exemplar passage ids. `by="group"`:
    factor × group, summed over each group's cases (its overview and synthesis chapters left out),
    with how many of the group's cases show success or obstacle evidence (kb.query.group_totals)."""
    from kb.query.crosscase import matrix as run_matrix
    from kb.query.group_totals import group_totals

    if by not in ("case", "group"):
        raise BadQuery(f"by must be case or group, not {by!r}")
    filters = Filters.of(
        group=group, case=case, platform_type=platform_type, factor=factor, polarity=polarity,
        reviewed=reviewed, min_confidence=min_confidence, source=source,
    )  # fmt: skip
    kb = get_kb(settings)
    by_case = run_matrix(kb, query, filters)
    return by_case if by == "case" else group_totals(kb, by_case)


def across_cases(
    query: str,
    *,
    factor: str | None = None,
    group: str | None = None,
    platform_type: str | None = None,
    reviewed: bool = False,
    min_confidence: float = 0.0,
    source: str | None = None,
    settings: Settings | None = None,
) -> Any:
    """One question across cases (kb.query.across.AcrossCases): the factors it asks about (or
    `factor`), each case's success / obstacle / recommendation passages among what it retrieves,
    the direction it asks about first; `.table` holds the `matrix` rows."""
    from kb.query.across import across_cases as run_across

    filters = Filters.of(
        group=group, platform_type=platform_type, reviewed=reviewed, min_confidence=min_confidence,
        source=source,
    )  # fmt: skip
    return run_across(get_kb(settings), query, filters, factor)


def question_intent(query: str, settings: Settings | None = None) -> dict[str, Any]:
    """How search reads a question (kb.query.intent): the factors it asks about, strongest first,
    with their weights, and the direction (success / obstacle / recommendation) when it names one,
    so a researcher can see why the results are what they are and narrow them to that reading.
    `corpus_words` are the question's search words that occur in the corpus; with none, nothing is
    read into the question (its results are only the passages nearest in meaning)."""
    from kb.query.intent import read_intent
    from kb.query.retrieval import check_query
    from kb.query.vocabulary import corpus_words

    query = check_query(query, 1)
    kb = get_kb(settings)
    intent = read_intent(kb, query)
    factors = sorted(intent.categories, key=lambda c: -intent.categories[c])
    weights = {c: round(float(intent.categories[c]), 3) for c in factors}
    return {
        "query": query, "factors": factors, "weights": weights, "polarity": intent.polarity,
        "corpus_words": corpus_words(kb, query),
    }  # fmt: skip


def cell_passages(
    category: str,
    case: str,
    query: str | None = None,
    *,
    group: str | None = None,
    platform_type: str | None = None,
    factor: str | None = None,
    polarity: str | None = None,
    reviewed: bool = False,
    min_confidence: float = 0.0,
    source: str | None = None,
    settings: Settings | None = None,
) -> list[str]:
    """The passage ids one `matrix` cell (factor `category` × `case`) counts, with the same query and
    filters: success, obstacle, neutral, recommendation, each best first."""
    from kb.query.crosscase import cell_passages as run_cells

    filters = Filters.of(
        group=group, platform_type=platform_type, factor=factor, polarity=polarity, reviewed=reviewed,
        min_confidence=min_confidence, source=source,
    )  # fmt: skip
    return run_cells(get_kb(settings), category, case, query, filters)


def passages(ids: list[str], settings: Settings | None = None) -> list[dict[str, Any]]:
    """Passages by id (as `kb cell`, a case profile or an export names them): text, question,
    citation and effective codes, as search returns them but without a score. An unknown id is an
    error (BadQuery) naming it."""
    from kb.query.retrieval import card_context, result_record

    kb = get_kb(settings)
    unknown = [pid for pid in ids if pid not in kb.passage_by_id]
    if unknown:
        raise BadQuery(f"unknown passage id(s): {', '.join(unknown)} (a rebuild may have changed them)")
    ctx = card_context(kb)
    out = [result_record(kb, pid, 0.0, [], ctx) for pid in ids]
    for r in out:
        del r["score"], r["query_terms"]
    return out


def citation(passage_id: str, settings: Settings | None = None, *, full: bool = False) -> str:
    """A passage's citation as a card shows it (kb.corpus.citation.card_cite): an added transcript's
    as the export gives it (file and lines), a report passage's section path and pages. `full`: as
    the exports' `citation` column gives it, for a footnote (authors, year, title, chapter, pages). An
    unknown id is an error (BadQuery)."""
    from kb.corpus.citation import citations

    kb = get_kb(settings)
    if passage_id not in kb.passage_by_id:
        raise BadQuery(f"unknown passage id: {passage_id}")
    cite = kb.memo(("citations", full), lambda: citations(kb, card=not full))
    return cite(kb.passage_by_id[passage_id])


def cases(settings: Settings | None = None) -> pd.DataFrame:
    """One row per case in the knowledge base: case, name_ko, name_en, group, platform_type, organization."""
    from kb.query.profiles import case_table

    return case_table(get_kb(settings))


def documents(settings: Settings | None = None, *, added_only: bool = False) -> pd.DataFrame:
    """One row per corpus document: doc_id, case, case_name, group, platform_type, added (by `add`,
    so `remove` can take it out), citation, chars, blocks, and indexed – False for a document added since the
    last build (and `pending_removal` names documents removed whose passages are still searched)."""
    from kb.corpus.manifest import load_manifest
    from kb.records import ADDED_PREFIX
    from kb.store.freshness import pending

    settings = settings or get_settings()
    rows = load_manifest(settings.corpus_dir)[1]
    behind = pending(settings)
    text = ("doc_id", "case", "case_name", "group", "platform_type", "citation")
    table = pd.DataFrame(
        [
            {
                **{c: r.get(c, "") for c in text},
                "added": r["doc_id"].startswith(ADDED_PREFIX),
                "chars": int(r.get("chars") or 0),
                "blocks": int(r.get("blocks") or 0),
                "indexed": r["doc_id"] not in behind.added,
            }
            for r in rows
        ],
        columns=[*text, "added", "chars", "blocks", "indexed"],
    )
    if added_only:
        table = table[table["added"]].reset_index(drop=True)
    table.attrs["pending_removal"] = list(behind.removed)
    return table


def case_profile(case: str, settings: Settings | None = None) -> dict[str, Any]:
    """One case: names, group, organisation, passage and code counts, and its strongest success
    factors, obstacles and recommendations, each with the passage ids to quote."""
    from kb.query.profiles import case_profile as run_profile

    return run_profile(get_kb(settings), case)


def agreement(settings: Settings | None = None) -> dict[str, Any]:
    """Coding agreement per category: `auto_vs_human` (precision, recall, α of the auto coder against
    the decisions), `between_coders` (pairs of coders on the same passages), and `decided_units`,
    how many (passage, factor) units a coder decided (0: nothing to compare yet). `auto_vs_human`
    leaves out the `learned_passages`: reviewed passages the current coder was trained on (a build or
    "retrain now" after the decisions), on which it would only be scored against its own answers.
    `disagreements`: the units two coders decided differently, one row each, for adjudication, with
    the adjudicator's `resolution` ("" while open; `decide(..., "resolve", ...)`)."""
    from kb.review import agreement as run

    kb = get_kb(settings)
    decided = kb.anchored().codes  # anchored once per decision (KnowledgeBase.anchored)
    learned = run.learned_passages(decided, run.trained_until(kb))
    auto = run.auto_vs_human(kb, learned, decided)
    by_coder = run.coder_decisions(kb)
    units = int(auto.loc[auto["category"] == run.TOTAL, "units"].sum())
    return {
        "auto_vs_human": auto, "between_coders": run.between_coders(kb, by_coder), "decided_units": units,
        "learned_passages": len(learned), "disagreements": run.disagreements(kb, by_coder),
    }  # fmt: skip


def compare_codes(
    path: str | Path,
    *,
    category_column: str = "category",
    polarity_column: str = "polarity",
    settings: Settings | None = None,
) -> dict[str, Any]:
    """An outside coder's codes (a .csv/.xlsx file, one row per sentence or passage × code) against
    the auto coder's: `by_factor` (units, both, only_file, only_kb, percent agreement, Krippendorff's
    α, polarity agreement), `disagreements` (unit, factor, what each side says, the unit's text),
    `unit` ('sentence' when the file has `sentence_id` from `kb export --unit sentence`, else
    'passage') and `units`.
    Factors by id or label, polarities in English or Korean; an empty factor = coded with nothing."""
    from kb.review import outside_codes as oc

    kb = get_kb(settings)
    table = oc.read_table(path)
    unit = oc.unit_of(table)
    ours, texts = oc.kb_codes(kb, unit)
    theirs = oc.parse_codes(table, kb, set(ours), category_column, polarity_column)
    return {"unit": unit, "units": len(theirs), **oc.compare(theirs, ours, kb, texts)}


def review_queue(
    *,
    factor: str | None = None,
    case: str | None = None,
    pending_only: bool = False,
    keep: str | None = None,
    coder: str | None = None,
    settings: Settings | None = None,
) -> list[Any]:
    """Auto-coded passages to review, most uncertain first (kb.review.queue.QueueItem records, with
    the suggested codes); with `coder`, done and pending by that coder's own decisions (blind double
    coding). An unknown `factor` or `case` is an error (UnknownFilterValue), not an empty queue."""
    from kb.review import queue

    kb = get_kb(settings)
    validate(kb, Filters(case=case, factor=factor))  # a misspelt one would show an empty queue
    return queue.queue(kb, factor=factor, case=case, pending_only=pending_only, keep=keep, coder=coder)


def review_progress(
    *,
    factor: str | None = None,
    case: str | None = None,
    coder: str | None = None,
    settings: Settings | None = None,
) -> dict[str, int]:
    """Review progress over the queue: passages done, started, untouched, and decisions made (with
    `coder`, that coder's own)."""
    from kb.review import queue

    kb = get_kb(settings)
    validate(kb, Filters(case=case, factor=factor))
    return queue.progress(kb, queue.queue(kb, factor=factor, case=case, coder=coder))


def decisions_made(
    coder: str, *, factor: str | None = None, case: str | None = None, settings: Settings | None = None
) -> int:
    """How many codes `coder` has decided (accepted, rejected, re-polarised, added), on `factor` and
    passages of `case` when given. Unlike review_progress's codes_decided (the current suggestions
    that carry a decision) it does not fall when a retrain stops suggesting a rejected code."""
    from kb.review import queue

    kb = get_kb(settings)
    validate(kb, Filters(case=case, factor=factor))
    return queue.decided_units(kb, coder, factor=factor, case=case)


def decide(
    coder: str,
    passage_id: str,
    category: str | None,
    action: str,
    polarity: str | None = None,
    memo: str | None = None,
    settings: Settings | None = None,
) -> int:
    """Record one review decision (accept, reject, add, set_polarity, memo, resolve); the next read
    sees it. `resolve` is an adjudicator's final decision on a unit two coders coded differently
    (`agreement()["disagreements"]`): with a polarity the code stands in it, without one the factor
    is not coded; it ends the dispute, and coder-vs-coder agreement stays as the coders left it."""
    from kb.review import queue

    return queue.decide(get_kb(settings), coder, passage_id, category, action, polarity=polarity, memo=memo)


def current_decisions(
    passage_ids: list[str] | None = None, coder: str | None = None, settings: Settings | None = None
) -> dict[str, dict[str, dict]]:
    """passage id -> category -> its current decision (status, polarity, coder, memo, ts); with
    `coder`, that coder's own latest decisions only."""
    from kb.review import queue

    return queue.current_decisions(get_kb(settings), passage_ids, coder)


def passage_memo(passage_id: str, settings: Settings | None = None) -> str | None:
    """The coders' memo on a passage, if any."""
    from kb.review import queue

    return queue.passage_memo(get_kb(settings), passage_id)


def passage_memos(settings: Settings | None = None) -> dict[str, str]:
    """passage id -> the coders' memo, for every passage that has one."""
    from kb.review import queue

    return queue.passage_memos(get_kb(settings))


def needs_attention(settings: Settings | None = None) -> pd.DataFrame:
    """Decisions whose passage vanished or changed text since the coder decided."""
    from kb.review import queue

    return queue.attention(get_kb(settings))


def import_codebook(
    file: Path, target: Path | None = None, write: bool = True, settings: Settings | None = None
) -> Any:
    """Merge the codes of a REFI-QDA codebook/project or a Taguette codebook CSV into codebook.yaml
    (`target`, default the corpus codebook); `write=False` only reports: added, known, notes, diff."""
    from kb.exchange.codebook_import import import_codebook as run_import

    return run_import(file, target or (settings or get_settings()).codebook_path, write=write)


def export_reviews(output: Path | TextIO, settings: Settings | None = None) -> tuple[int, Path]:
    """Every review decision as JSON lines into a file (replaced atomically) or a stream;
    (decisions written, the review database)."""
    from kb.review.log_api import export_log

    return export_log(settings or get_settings(), output)


def import_reviews(files: list[Path], settings: Settings | None = None) -> tuple[int, int, Path]:
    """Merge other coders' exported decisions (after a backup); (read, new here, the review database)."""
    from kb.review.log_api import import_logs

    return import_logs(settings or get_settings(), files)


def backup_reviews(settings: Settings | None = None) -> Path | None:
    """Snapshot the review database now; None when there is none or backups are off."""
    from kb.review.log_api import backup_now

    return backup_now(settings or get_settings())


def remove(doc_ids: list[str], settings: Settings | None = None) -> list[str]:
    """Take documents added with `add` out of the corpus (kb.exchange.ingest.remove_documents); the
    next `build` drops their passages and vectors, review decisions are kept."""
    from kb.exchange.ingest import remove_documents

    return remove_documents(doc_ids, (settings or get_settings()).corpus_dir)


def code(
    texts: list[str] | str,
    ids: list[str] | None = None,
    settings: Settings | None = None,
    contexts: list[dict[str, Any] | None] | None = None,
) -> list[dict[str, Any]]:
    """Code any Korean texts with the trained coder: factor codes, polarity, confidence, evidence.

    One string is one text. `contexts`: per text None or {question, prev, next, speaker}; interviewer
    turns get no codes."""
    texts = [texts] if isinstance(texts, str) else list(texts)
    coder = _coder(settings or get_settings())
    if coder.model is None:
        warnings.warn(UNTRAINED_CODER, UntrainedCoderWarning, stacklevel=2)
    return coder.code_texts(texts, ids, contexts)


def retrain(settings: Settings | None = None, log: Callable[[str], None] = lambda _: None) -> dict[str, Any]:
    """Quick retrain of the coder on the review decisions so far, then re-code and re-index (a build
    of the code and index stages, kb.coding.retrain.retrain_now); a summary: `seconds` the training
    took, `total_seconds` the whole retrain (also kept for `last_retrain`)."""
    from kb.coding.retrain import retrain_now

    settings = settings or get_settings()
    out = retrain_now(settings, log=log)
    _CODERS.pop(settings, None)  # the next `code` loads the new model
    return out


def last_retrain(settings: Settings | None = None) -> dict[str, Any] | None:
    """The last "retrain now" of this knowledge base: seconds it took in all, when it finished (epoch
    seconds) and on how many decisions; None before the first. What an estimate of the next can say."""
    from kb.coding.retrain import last_retrain as read

    return read(settings or get_settings())


def readable_change(row: dict[str, Any], label: Callable[[str | None], str] = str) -> dict[str, str]:
    """One row of `retrain(...)["changes"]["rows"]` as text: added, dropped and re-polarised codes,
    names through `label` (the app passes its Korean labels)."""
    from kb.coding.suggestion_changes import readable

    return readable(row, label)


class UntrainedCoderWarning(UserWarning):
    """`code` ran before `kb build` saved a trained coder."""


UNTRAINED_CODER = (
    "no trained coder in this data directory: codes come from the codebook's cue words and definitions"
    " alone and are much weaker; run `kb build` first (or pass --data-dir of a built knowledge base)"
)

_CODERS: dict[Settings, Any] = {}


def _coder(settings: Settings) -> Any:
    from kb.coding import Coder

    if settings not in _CODERS:
        _CODERS[settings] = Coder.load(settings)
    return _CODERS[settings]
