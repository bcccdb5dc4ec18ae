"""`kb reviews export|import|backup|agreement`: the coders' decision log in and out of its SQLite file,
and how well the auto coder and the coders agree. The reviewing commands themselves (queue, decide,
…) live in kb.cli.review_queue_commands and join this same `kb reviews` group."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from kb.cli.common import State, friendly
from kb.cli.review_queue_commands import register as register_reviewing

reviews_app = typer.Typer(
    help="Review from the terminal (queue, decide, decisions, progress, attention, retrain, "
    "last-retrain); export, import (merge) and back up the decisions; agreement.",
    no_args_is_help=True,
)


@reviews_app.command("export")
@friendly
def export_cmd(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="JSONL file (default: stdout).")
    ] = None,
) -> None:
    """Write every decision (oldest first, with coder and time) as JSON lines."""
    from kb import api

    n, db = api.export_reviews(output or sys.stdout, settings=State.settings)
    typer.echo(f"exported {n} decisions from {db}", err=True)


@reviews_app.command("import")
@friendly
def import_cmd(
    files: Annotated[list[Path], typer.Argument(help="JSONL files written by `kb reviews export`.")],
) -> None:
    """Merge decisions from other coders' exports; decisions already here are skipped."""
    from kb import api

    read, added, db = api.import_reviews(files, settings=State.settings)
    typer.echo(f"read {read} decisions, {added} new, {read - added} already present → {db}")


@reviews_app.command("backup")
@friendly
def backup_cmd() -> None:
    """Snapshot the review database now (SQLite online backup) into its backups folder."""
    from kb import api

    path = api.backup_reviews(settings=State.settings)
    missing = f"no backup: {State.settings.reviews_db} missing or KB_REVIEWS_BACKUPS=0"
    typer.echo(str(path) if path else missing)


@reviews_app.command("agreement")
@friendly
def agreement_cmd(
    as_json: Annotated[bool, typer.Option("--json", help="JSON: both tables as lists of rows.")] = False,
    codes: Annotated[
        Path | None,
        typer.Option(
            "--codes",
            help="An outside coder's .csv/.xlsx (sentence_id or passage_id, category, polarity; one row "
            "per unit × code, empty category = nothing): compared with the auto codes instead.",
        ),
    ] = None,
    category_column: Annotated[str, typer.Option(help="With --codes: the column of factors.")] = "category",
    polarity_column: Annotated[
        str, typer.Option(help="With --codes: the column of polarities.")
    ] = "polarity",
) -> None:
    """Auto coder vs the coders' decisions and coder vs coder, per factor (precision, recall, α).
    Passages the current coder was trained on are left out of the first table. With --codes: an
    outside coder's file vs the auto codes, sentence by sentence (percent agreement, α)."""
    import json

    from kb import api

    if codes is not None:
        got = api.compare_codes(
            codes, category_column=category_column, polarity_column=polarity_column, settings=State.settings
        )
        by_factor, disagreements = got["by_factor"], got["disagreements"]
        if as_json:
            out = {**got, "by_factor": _records(by_factor), "disagreements": _records(disagreements)}
            typer.echo(json.dumps(out, ensure_ascii=False, indent=1))
            return
        typer.echo(f"{codes.name} vs the auto coder: {got['units']} {got['unit']}s")
        shown = by_factor[
            by_factor["units"].gt(0) & (by_factor[["both", "only_file", "only_kb"]].sum(axis=1) > 0)
        ]
        typer.echo(shown.drop(columns=["label_en"]).round(3).to_string(index=False))
        if len(disagreements):
            shown = disagreements.assign(text=disagreements["text"].str.slice(0, 40))
            typer.echo(f"\ndisagreements ({len(disagreements)}):\n" + shown.to_string(index=False))
        return
    tables = api.agreement(settings=State.settings)
    auto, pairs = tables["auto_vs_human"], tables["between_coders"]
    if as_json:
        out = {**tables, "auto_vs_human": _records(auto), "between_coders": _records(pairs)}
        out["disagreements"] = _records(tables["disagreements"])
        typer.echo(json.dumps(out, ensure_ascii=False, indent=1))
        return
    if tables["learned_passages"]:
        n = tables["learned_passages"]
        typer.echo(f"left out: {n} reviewed passages the current coder was trained on")
    typer.echo("auto coder vs coders:\n" + auto.round(3).to_string(index=False))
    shared = pairs.round(3).to_string(index=False) if len(pairs) else "(no passage reviewed by two coders)"
    typer.echo("\ncoder vs coder:\n" + shared)
    if len(tables["disagreements"]):
        typer.echo("\ndisagreements:\n" + tables["disagreements"].to_string(index=False))


def _records(df: Any) -> list[dict]:
    """Rows for JSON: NaN (an undefined α) as null."""
    return df.astype(object).where(df.notna(), None).to_dict("records")


def register(app: typer.Typer) -> None:
    register_reviewing(reviews_app)
    app.add_typer(reviews_app, name="reviews")
