"""`kb` command line: each command parses options, calls one kb.api function, prints the result.

Errors the user can fix (`KbError`) are printed as one line on stderr with exit code 1.
"""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path
from typing import Annotated

import typer

from kb.cli.case_commands import register as register_cases
from kb.cli.common import State, code_text, friendly, stdout_is_a_file
from kb.cli.filter_options import Case, Factor, Group, MinConfidence, PlatformType, Polarity, Reviewed, Source
from kb.cli.io_commands import register
from kb.cli.review_commands import register as register_reviews
from kb.cli.team_commands import register as register_team
from kb.errors import KbError
from kb.settings import describe, get_settings

NO_CORPUS_WORDS = (
    "none of the question's words occur in the corpus: the results are only the passages nearest in "
    "meaning and may have nothing to do with it"
)
app = typer.Typer(
    help="kb – a knowledge base for qualitative research on Korean interviews and case studies.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def main(
    data_dir: Annotated[Path | None, typer.Option(help="Data directory (KB_DATA_DIR).")] = None,
    corpus_dir: Annotated[Path | None, typer.Option(help="Corpus directory (KB_CORPUS_DIR).")] = None,
    embed_model: Annotated[str | None, typer.Option(help="Embedding backend (KB_EMBED_MODEL).")] = None,
    chroma_url: Annotated[str | None, typer.Option(help="Chroma server URL (KB_CHROMA_URL).")] = None,
    coder_tune_epochs: Annotated[
        int | None, typer.Option(min=0, help="Coder fine-tuning epochs, 0 = off (KB_CODER_TUNE_EPOCHS).")
    ] = None,
) -> None:
    try:
        State.settings = get_settings(
            data_dir=data_dir,
            corpus_dir=corpus_dir,
            embed_model=embed_model,
            chroma_url=chroma_url,
            coder_tune_epochs=coder_tune_epochs,
        )
    except KbError as exc:
        typer.echo(f"Error: {exc}", err=True)
        raise typer.Exit(1) from None


@app.command()
@friendly
def settings() -> None:
    """Print every setting, its environment variable and current value."""
    for row in describe(State.settings):
        typer.echo(f"{row['name']:<18} {row['env']:<21} {row['value']}\n{'':<40} {row['help']}")


@app.command()
@friendly
def extract(
    source: Annotated[Path | None, typer.Option(help="Report text file (KB_SOURCE).")] = None,
) -> None:
    """Extract the case documents from the report text into the corpus directory."""
    from kb import api

    rows = api.extract(source, settings=State.settings)
    typer.echo(f"wrote {len(rows)} documents to {State.settings.corpus_dir}")


@app.command()
@friendly
def build(
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars, no coder plan.")] = False,
    drop_old_collections: Annotated[
        bool, typer.Option(help="Delete this knowledge base's Chroma collections of other models.")
    ] = False,
    fast: Annotated[
        bool, typer.Option("--fast", help="Fast coder, no e5 fine-tuning (a later `kb build` fine-tunes).")
    ] = False,
    keep_coder: Annotated[
        bool,
        typer.Option(
            "--keep-coder",
            help="Code new passages with the saved coder, not retrained (quick after `kb add`; "
            "a later `kb build` retrains when the codebook, training data or reviews changed).",
        ),
    ] = False,
) -> None:
    """Segment, code, embed and index the corpus (incremental: only what changed)."""
    from kb import api, background

    settings = State.settings.with_overrides(coder_tune_epochs=0) if fast else State.settings
    if not quiet:
        typer.echo(
            "coder: the saved one, not retrained" if keep_coder else background.coder_plan(settings), err=True
        )
    report = api.build(
        settings,
        progress=not quiet,
        log=lambda m: typer.echo(m, err=True),
        drop_old_collections=drop_old_collections,
        keep_coder=keep_coder,
    )
    kind = background.coder_kind(settings)
    typer.echo(f"built in {report.seconds:.1f}s → {settings.data_dir} (coder: {kind or 'unknown'})")


@app.command()
@friendly
def search(
    query: Annotated[str, typer.Argument(help="What you are looking for, in Korean or English.")],
    k: Annotated[int, typer.Option("--k", "-k", help="Number of passages (1–200).")] = 10,
    group: Group = None,
    case: Case = None,
    platform_type: PlatformType = None,
    factor: Factor = None,
    polarity: Polarity = None,
    reviewed: Reviewed = False,
    min_confidence: MinConfidence = 0.0,
    source: Source = None,
    mode: Annotated[str, typer.Option(help="hybrid, dense or keyword.")] = "hybrid",
    as_json: Annotated[bool, typer.Option("--json", help="JSON array instead of text.")] = False,
) -> None:
    """Find passages across cases, with their factor codes, polarity and citation."""
    from kb import api

    records = api.search_records(
        query, k, group=group, case=case, platform_type=platform_type, factor=factor, polarity=polarity,
        reviewed=reviewed, min_confidence=min_confidence, source=source, mode=mode, settings=State.settings,
    )  # fmt: skip
    for r in records:
        r.pop("query_terms", None)
    if as_json:
        typer.echo(json.dumps(records, ensure_ascii=False, indent=1, default=str))
        return
    if not records:
        typer.echo("no passages match", err=True)
    if records and mode == "hybrid" and not (factor or polarity):
        _say_how_to_narrow(api.question_intent(query, settings=State.settings))
    for i, r in enumerate(records, 1):
        codes = ", ".join(code_text(c) for c in r["codes"]) or "—"
        page = f" p.{r['page']}" if r.get("page") is not None else ""
        where = f"[{r['case_name']} · {r['group']}] {r['section']}{page}"
        typer.echo(f"{i:>2}. {where}  ({r['score']:.4f})  {r['id']}")
        if r.get("question"):
            typer.echo(f"    Q: {r['question'][:200]}")
        typer.echo(f"    codes: {codes}")
        typer.echo(f"    {r['text'][:300]}{'…' if len(r['text']) > 300 else ''}\n")


def _say_how_to_narrow(read: dict) -> None:
    """The results rank passages on the question's topic, whichever way they were coded; when the
    question names a direction, say how to keep only that direction (on stderr: not part of the data).
    A question none of whose words occur in the corpus gets a warning instead."""
    if not read["corpus_words"]:
        typer.echo(NO_CORPUS_WORDS, err=True)
    elif read["polarity"] and read["factors"]:
        top, factors = read["factors"][0], ", ".join(read["factors"])
        narrow = "only those" if len(read["factors"]) == 1 else "only the first"
        typer.echo(
            f"reads as {factors} · {read['polarity']} (kb intent, as the app's search page); {narrow}: "
            f"--factor {top} --polarity {read['polarity']}",
            err=True,
        )


@app.command()
@friendly
def matrix(
    query: Annotated[str | None, typer.Option(help="Count only passages this query retrieves.")] = None,
    group: Group = None,
    case: Case = None,
    platform_type: PlatformType = None,
    factor: Factor = None,
    polarity: Polarity = None,
    reviewed: Reviewed = False,
    min_confidence: MinConfidence = 0.0,
    source: Source = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON records.")] = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="CSV.")] = False,
    by: Annotated[
        str,
        typer.Option(
            help="case, or group: each group's cases summed (overview and synthesis chapters left out), "
            "with how many of its cases show each direction."
        ),
    ] = "case",
) -> None:
    """Factor × case table: success and obstacle passages per cell, with exemplar ids."""
    from kb import api

    df = api.matrix(
        query, group=group, case=case, platform_type=platform_type, factor=factor,
        polarity=polarity, reviewed=reviewed, min_confidence=min_confidence, source=source, by=by,
        settings=State.settings,
    )  # fmt: skip
    if as_json:
        typer.echo(df.to_json(orient="records", force_ascii=False, indent=1))
    elif as_csv:
        from kb.exchange.spreadsheet import csv_bytes

        sys.stdout.buffer.write(csv_bytes(df, bom=stdout_is_a_file()))
    elif df.empty:
        typer.echo("no coded passages match", err=True)
    elif by == "group":
        cells = df.assign(
            cell=df["success"].astype(str) + "/" + df["obstacle"].astype(str) + " ("
            + df["cases_success"].astype(str) + "/" + df["cases_obstacle"].astype(str)
            + " of " + df["cases"].astype(str) + ") s " + df["summary_success"].astype(str) + "/"
            + df["summary_obstacle"].astype(str)
        )  # fmt: skip
        view = cells.pivot(index="category", columns="group", values="cell").fillna("")
        typer.echo(
            "cells: success/obstacle passages of the group's cases (how many of its cases show "
            "success/obstacle) s: success/obstacle passages of its overview and synthesis chapters, apart"
        )
        typer.echo(view.reindex([c for c in df["category"].drop_duplicates()]).to_string())
    else:
        view = df.pivot_table(
            index="category", columns="case", values=["success", "obstacle"], aggfunc="sum", fill_value=0
        )
        cells = view["success"].astype(str) + "/" + view["obstacle"].astype(str)
        if "recommendation" in df and df["recommendation"].any():
            recs = df.pivot_table(index="category", columns="case", values="recommendation", aggfunc="sum")
            cells = cells + recs.reindex_like(cells).fillna(0).astype(int).map(
                lambda n: f" +{n}r" if n else ""
            )
        typer.echo("cells: success/obstacle passages (+Nr: recommendations, never counted as obstacles)")
        typer.echo(cells.to_string())


@app.command()
@friendly
def across(
    query: Annotated[str, typer.Argument(help="A question, in Korean or English.")],
    factor: Annotated[
        str | None, typer.Option(help="Show this factor (category id) instead of the question's own.")
    ] = None,
    group: Group = None,
    platform_type: PlatformType = None,
    reviewed: Reviewed = False,
    min_confidence: MinConfidence = 0.0,
    source: Source = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON: factors read, rows.")] = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="CSV of the rows.")] = False,
) -> None:
    """One question across cases: per factor it asks about, each case's success and obstacle passages
    among what it retrieves, with the sentence that shows each."""
    from kb import api

    view = api.across_cases(
        query, factor=factor, group=group, platform_type=platform_type, reviewed=reviewed,
        min_confidence=min_confidence, source=source, settings=State.settings,
    )  # fmt: skip
    if as_json:
        out = {
            "query": view.query, "factors": view.factors, "asked": view.asked, "polarity": view.polarity,
            "rows": json.loads(view.table.to_json(orient="records", force_ascii=False)),
            "absent": {cat: view.absent(cat) for cat in view.factors},
        }  # fmt: skip
        typer.echo(json.dumps(out, ensure_ascii=False, indent=1))
        return
    if as_csv:
        from kb.exchange.spreadsheet import csv_bytes

        sys.stdout.buffer.write(csv_bytes(view.table, bom=stdout_is_a_file()))
        return
    typer.echo(f"question asks about: {', '.join(view.asked) or '—'} · direction: {view.polarity or '—'}")
    if view.table.empty:
        typer.echo("no coded passages match", err=True)
    for cat, rows in view.table.groupby("category", sort=False):
        typer.echo(f"\n{rows['label_ko'].iloc[0]} ({cat}): success / obstacle / recommendation passages")
        for r in rows.to_dict("records"):
            typer.echo(
                f"  {r['case_name']} [{r['group']}]  {r['success']} / {r['obstacle']} / {r['recommendation']}"
            )
            for pol, mark in (("obstacle", "▼"), ("success", "▲")):
                if r[f"evidence_{pol}"]:
                    typer.echo(f"    {mark} {r[f'evidence_{pol}'][:160]}  ({r[f'exemplar_{pol}']})")
        if absent := view.absent(cat):
            names = ", ".join(view.scope.set_index("case")["name_ko"][absent])
            typer.echo(f"  no passage among the results (no evidence, not evidence of none): {names}")


@app.command()
@friendly
def intent(
    query: Annotated[str, typer.Argument(help="A question, in Korean or English.")],
    as_json: Annotated[bool, typer.Option("--json", help="JSON: factors, weights, polarity.")] = False,
) -> None:
    """How search reads a question: the factors it asks about and the direction, if it names one.
    Narrow a search to that reading with --factor/--polarity."""
    from kb import api

    read = api.question_intent(query, settings=State.settings)
    if as_json:
        typer.echo(json.dumps(read, ensure_ascii=False, indent=1))
        return
    for cat in read["factors"]:
        typer.echo(f"{cat}\t{read['weights'][cat]:.2f}")
    typer.echo(f"direction: {read['polarity'] or '—'}")
    if not read["corpus_words"]:
        typer.echo(NO_CORPUS_WORDS, err=True)
    elif not read["factors"]:
        typer.echo("no factor of the codebook recognised in the question", err=True)


@app.command()
@friendly
def code(
    file: Annotated[
        str,
        typer.Argument(
            help="Text file (one passage per line, a transcript .txt/.md/.docx read as `kb add` reads it,"
            " or JSONL with id/text); - = stdin."
        ),
    ] = "-",
) -> None:
    """Code passages into the codebook's factors with polarity; writes JSONL to stdout, each record with
    the text coded (and its speaker and question when known)."""
    from kb import api
    from kb.coding.code_input import contexts, parse_lines, read_units, traced

    units, errors = parse_lines(sys.stdin.read().splitlines()) if file == "-" else read_units(Path(file))
    for err in errors:
        typer.echo(f"Error: {file}: {err}", err=True)
    if units:
        texts, ids = [u.text for u in units], [u.id for u in units]
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", api.UntrainedCoderWarning)
            records = api.code(texts, ids, settings=State.settings, contexts=contexts(units))
        for warning in caught:
            typer.echo(f"Warning: {warning.message}", err=True)
        for unit, rec in zip(units, records, strict=True):
            typer.echo(json.dumps(traced(unit, rec), ensure_ascii=False))
    if errors:
        raise typer.Exit(1)


# Export, add, import-codebook, cases, reviews, users and serve live in their own modules.
register(app)
register_cases(app)
register_reviews(app)
register_team(app)
