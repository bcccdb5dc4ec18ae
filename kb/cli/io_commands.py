"""`kb export`, `kb add` and `kb import-codebook`: getting material out of and into the knowledge base.

Registered on the main app by `register(app)` (called by kb.cli.main), so these commands share its
options, settings and one-line error handling.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from kb.cli.common import State, friendly, stdout_is_a_file, table
from kb.cli.filter_options import Case, Factor, Group, MinConfidence, PlatformType, Polarity, Reviewed, Source
from kb.errors import CodebookImportError, ExportError, IngestError


@friendly
def export(
    fmt: Annotated[
        str | None,
        typer.Option(
            "--format",
            "-f",
            help="csv, xlsx, jsonl, parquet, qdpx (REFI-QDA project), qdc (codebook) or "
            "codebook-csv (alias taguette-codebook: Taguette's codebook CSV).",
        ),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Output file (written atomically); default stdout.")
    ] = None,
    unit: Annotated[
        str | None,
        typer.Option(
            help="excerpt (one row per code; csv/xlsx/parquet default), passage (jsonl default) or sentence "
            "(one row per sentence × auto code, uncoded sentences too: to set beside your own coding)."
        ),
    ] = None,
    query: Annotated[
        str | None, typer.Option("--query", "-q", help="Only passages this search retrieves.")
    ] = None,
    k: Annotated[int, typer.Option("--k", "-k", help="With --query: how many passages (1–200).")] = 100,
    group: Group = None,
    case: Case = None,
    platform_type: PlatformType = None,
    factor: Factor = None,
    polarity: Polarity = None,
    reviewed: Reviewed = False,
    min_confidence: MinConfidence = 0.0,
    source: Source = None,
    columns: Annotated[
        bool,
        typer.Option(
            "--columns",
            help="Print what each column of the export (of --unit) holds, and how to count its rows.",
        ),
    ] = False,
) -> None:
    """Export coded excerpts, passages or sentences, with the same filters as `kb search`."""
    if columns:
        _print_columns(unit or "excerpt")
        return
    from kb.exchange.export import (
        BINARY_FORMATS,
        CODEBOOK_FORMATS,
        canonical,
        check_format,
        format_from_path,
        render,
        unit_rows,
    )
    from kb.query.filters import Filters
    from kb.store.kbase import get_kb

    fmt = canonical(fmt or format_from_path(output))
    unit = check_format(fmt, unit)
    if output is None and fmt in BINARY_FORMATS:
        raise ExportError(f"{fmt} is a binary format; give an output file, e.g. -o export.{fmt}")
    kb = get_kb(State.settings)
    filters = Filters.of(
        group=group, case=case, platform_type=platform_type, factor=factor, polarity=polarity,
        reviewed=reviewed, min_confidence=min_confidence, source=source,
    )  # fmt: skip
    if fmt in CODEBOOK_FORMATS and (query or not filters.is_empty()):
        typer.echo(f"note: {fmt} exports the whole codebook; --query and the filters do not apply", err=True)
    if output is not None:
        from kb.exchange.export import export as run_export

        df = run_export(kb, fmt, unit, filters, query, output, k=k)
        what = "categories" if fmt in CODEBOOK_FORMATS else f"{unit}s"
        if unit == "sentence" and fmt not in CODEBOOK_FORMATS:  # a sentence with two codes has two rows
            what = f"rows ({df['sentence_id'].nunique()} sentences)"
        typer.echo(f"wrote {len(df)} {what} to {output}", err=True)
        return
    if fmt in CODEBOOK_FORMATS:
        data = render(kb, None, fmt, {})
    else:
        df = unit_rows(kb, unit, filters, query, k)
        data = render(
            kb, df, fmt, {"unit": unit, "query": query, "k": k, "filters": filters.as_dict()},
            bom=stdout_is_a_file(),
        )  # fmt: skip
        if df.empty:
            typer.echo("no passages match; the export is empty", err=True)
    sys.stdout.buffer.write(data)
    sys.stdout.flush()


def _print_columns(unit: str) -> None:
    """The column dictionary (kb.api.export_columns) as aligned text: column, type, description."""
    import textwrap

    from kb.api import export_columns

    table = export_columns(unit)
    width = max(len(c) for c in table["column"]) + 2
    indent = " " * (width + 9)
    for row in table.itertuples():
        head = f"{row.column:<{width}}{row.type:<9}"
        typer.echo(textwrap.fill(row.description, 110, initial_indent=head, subsequent_indent=indent))
    if counting := table.attrs.get("counting"):
        typer.echo("\n" + textwrap.fill(counting, 110))


@friendly
def add(
    files: Annotated[list[Path], typer.Argument(help="Interview transcripts: .txt, .md or .docx.")],
    case: Annotated[str, typer.Option(help="Case id, existing (e.g. daangn) or new (e.g. seoul_interview).")],
    case_name: Annotated[
        str | None, typer.Option("--case-name", help="Case name (needed for a new case).")
    ] = None,
    case_name_en: Annotated[
        str | None,
        typer.Option("--case-name-en", help="English case name (a new case; default: --case-name)."),
    ] = None,
    group: Annotated[str | None, typer.Option(help="domestic, international or private (new case).")] = None,
    platform_type: Annotated[
        str | None,
        typer.Option(
            help="Platform type of a new case: information (정보제공형), policy_proposal (정책 제안형), "
            "private_brokerage (민간역량중개형), service (서비스 제공형: booking, care, parking …), "
            "private_platform (default for --group private)."
        ),
    ] = None,
    organization: Annotated[str | None, typer.Option(help="Organisation that runs the platform.")] = None,
    replace: Annotated[
        bool,
        typer.Option(
            "--replace",
            help="A file named like one added to the case before, with edited text, replaces it (as "
            "`kb remove` + `kb add`; review decisions are kept as `kb remove` keeps them).",
        ),
    ] = False,
    as_new: Annotated[
        bool,
        typer.Option(
            "--as-new", help="Such a file is added beside the earlier version: both are searched and counted."
        ),
    ] = False,
) -> None:
    """Add interview transcripts to the corpus; `kb build` then processes only the new documents.

    A file with the name of one added to the same case before but other text is skipped (exit status 1)
    unless --replace or --as-new is given."""
    from kb import api

    table = api.add(
        files,
        case,
        case_name,
        group,
        platform_type,
        organization,
        settings=State.settings,
        case_name_en=case_name_en,
        replace=replace,
        as_new=as_new,
    )
    results = list(table.itertuples(index=False))
    for r in results:
        if r.status in ("skipped", "present"):
            typer.echo(f"{r.status:<9} {r.path}: {r.reason}", err=True)
        else:
            who = f", speakers: {', '.join(r.speakers)}" if r.speakers else ""
            if r.interviewer_by_questions:
                who += f" ({r.interviewer_by_questions} asks the questions: taken for the interviewer)"
            parts = r.reason.split("; ") if r.reason else []
            alerts = [p for p in parts if p.startswith(("note: ", "warning: "))]  # a line of their own
            note = "; ".join(p for p in parts if p not in alerts)
            note = f" ({note})" if note else ""
            typer.echo(f"{r.status:<9} {r.path} → {r.doc_id}: {r.blocks} blocks{who}{note}")
            for alert in alerts:
                kind, _, text = alert.partition(": ")
                typer.echo(f"{kind:<9} {r.path}: {text}", err=True)
            for doc_id in r.earlier if replace else []:
                typer.echo(f"removed   {doc_id}", err=True)
    added = sum(r.status in ("added", "converted") for r in results)
    skipped = sum(r.status == "skipped" for r in results)
    typer.echo(f"{added} of {len(results)} files added to {State.settings.corpus_dir}", err=True)
    if added:
        typer.echo("run `kb build` to segment, code and index them", err=True)
    if skipped:  # a script must notice a file that was not added
        raise typer.Exit(1)


@friendly
def documents(
    added: Annotated[bool, typer.Option("--added", help="Only the documents added with `kb add`.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="JSON records.")] = False,
) -> None:
    """The corpus documents: id, case, added or from the report, citation, size, and whether the
    knowledge base has them yet (`kb build` indexes what `kb add` added)."""
    from kb import api

    df = api.documents(State.settings, added_only=added)
    if as_json:
        typer.echo(df.to_json(orient="records", force_ascii=False, indent=1))
    elif df.empty:
        typer.echo("no documents" + (" added with `kb add`" if added else ""), err=True)
    else:
        shown = df.assign(
            source=df["added"].map({True: "added", False: "report"}),
            indexed=df["indexed"].map({True: "yes", False: "not yet: run `kb build`"}),
        )
        typer.echo(
            table(shown[["doc_id", "case", "source", "citation", "chars", "indexed"]].to_dict("records"))
        )
    if gone := df.attrs.get("pending_removal"):
        typer.echo(f"removed, still searched until `kb build`: {', '.join(gone)}", err=True)


@friendly
def remove(
    doc_ids: Annotated[list[str], typer.Argument(help="Ids of added documents (as `kb add` printed them).")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Remove without asking (for scripts).")] = False,
) -> None:
    """Take transcripts added with `kb add` out of the corpus; `kb build` then drops their passages.
    Review decisions on them are kept in the review database."""
    from kb import api

    if not yes:
        if not sys.stdin.isatty():
            raise IngestError(f"not removed: rerun with --yes to remove {', '.join(doc_ids)}")
        if not typer.confirm(f"remove {', '.join(doc_ids)} from the corpus?", default=False, err=True):
            typer.echo("not removed", err=True)
            raise typer.Exit(1)
    for doc_id in api.remove(doc_ids, settings=State.settings):
        typer.echo(f"removed   {doc_id}", err=True)
    typer.echo("run `kb build` to drop their passages from the index", err=True)


@friendly
def import_codebook(
    file: Annotated[
        Path,
        typer.Argument(help="REFI-QDA codebook (.qdc), project (.qdpx) or Taguette codebook CSV (.csv)."),
    ],
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Codebook YAML to update (default: the corpus codebook)."),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show the change to codebook.yaml; write nothing.")
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Apply without asking (for scripts).")] = False,
) -> None:
    """Merge codes from another QDA tool into codebook.yaml: shows the diff, then asks (or --yes)."""
    from kb import api

    target = output or State.settings.codebook_path
    report = api.import_codebook(file, target, write=False)
    for entry in report.added:
        typer.echo(f"new       {entry['id']:<28} {entry['dimension']:<9} {entry['label_ko']}")
    for note in report.notes:
        typer.echo(f"note      {note}", err=True)
    typer.echo(f"{len(report.added)} new, {len(report.known)} already in the codebook", err=True)
    if not report.added:
        return
    typer.echo(report.diff, nl=False)
    if dry_run:
        typer.echo(f"dry run: {target} not changed", err=True)
        return
    if not yes:
        if not sys.stdin.isatty():
            raise CodebookImportError(
                f"not applied: review the diff above, then rerun with --yes to update {target}"
            )
        if not typer.confirm(f"apply this change to {target}?", default=False, err=True):
            typer.echo("not applied", err=True)
            raise typer.Exit(1)
    api.import_codebook(file, target, write=True)
    typer.echo(f"updated {target}; write definitions for the new codes, then run `kb build`", err=True)


def register(app: typer.Typer) -> None:
    """Add the export/add/import-codebook commands to the `kb` app."""
    app.command("export")(export)
    app.command("add")(add)
    app.command("documents")(documents)
    app.command("remove")(remove)
    app.command("import-codebook")(import_codebook)
