"""`kb cases`, `kb case` and `kb cell`: the cases, one case's profile, one matrix cell's passages.

`kb cell` is its own command rather than an option of `kb matrix`: it calls another kb.api function
(cell_passages) and prints passage ids, not a table, so `kb matrix` keeps one output shape; it takes
matrix's query and filters, so a cell lists exactly the passages the same `kb matrix` counted there.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer

from kb.cli.common import SENTENCE_DIRECTIONS, State, clip, code_text, friendly, plain, table
from kb.cli.filter_options import Group, MinConfidence, PlatformType, Polarity, Reviewed, Source

POLARITY_HEADINGS = {
    "success": "success factors",
    "obstacle": "obstacles",
    "recommendation": "recommendations",
}

QUOTE_CHARS = 150  # terminal columns of one exemplar quote (Hangul counts two)


@friendly
def cases(
    as_json: Annotated[bool, typer.Option("--json", help="JSON records (with the English names).")] = False,
) -> None:
    """Every case in the knowledge base: id, Korean name, group, platform type, organisation."""
    from kb import api

    df = api.cases(settings=State.settings)
    if as_json:
        typer.echo(df.to_json(orient="records", force_ascii=False, indent=1))
    elif df.empty:
        typer.echo("no cases: run `kb build`", err=True)
    else:
        cols = ["case", "name_ko", "group", "platform_type", "organization"]
        typer.echo(table(df[cols].to_dict("records")))


@friendly
def case(
    case_id: Annotated[str, typer.Argument(metavar="CASE", help="Case id, as `kb cases` lists it.")],
    as_json: Annotated[bool, typer.Option("--json", help="The profile as one JSON object.")] = False,
) -> None:
    """One case's profile: its strongest success factors, obstacles and recommendations.

    With names, organisation, passage and code counts, and for each factor its exemplar passages: the
    sentences that show it (cut to QUOTE_CHARS here; whole in --json) and the passage id."""
    from kb import api

    p = api.case_profile(case_id, settings=State.settings)
    if as_json:
        typer.echo(json.dumps(plain(p), ensure_ascii=False, indent=1))
        return
    english = f" · {p['name_en']}" if p.get("name_en") and p["name_en"] != p.get("name_ko") else ""
    typer.echo(f"{p.get('name_ko') or case_id} ({case_id}){english}")
    typer.echo(
        f"group: {p.get('group')} · platform type: {p.get('platform_type')} · "
        f"organisation: {p.get('organization') or '—'}"
    )
    counts = ", ".join(f"{pol} {n}" for pol, n in p["codes"].items())
    typer.echo(f"passages: {p['passages']} · coded: {p['coded']} · codes: {counts}")
    for pol, heading in POLARITY_HEADINGS.items():
        typer.echo(f"\n{heading}:")
        for f in p["factors"][pol] or []:
            typer.echo(f"  {f['category']:<26} {f['passages']:>3} passages")
            for pid, text in zip(f["exemplars"], f["quotes"], strict=True):
                typer.echo(f"      “{clip(text, QUOTE_CHARS)}”  {pid}")
        if not p["factors"][pol]:
            typer.echo("  —")
        if more := p["more"][pol]:
            typer.echo("  also: " + ", ".join(f"{m['category']} ({m['passages']})" for m in more))


@friendly
def cell(
    factor: Annotated[str, typer.Argument(help="Codebook category id (a row of `kb matrix`).")],
    case_id: Annotated[str, typer.Argument(metavar="CASE", help="Case id (a column of `kb matrix`).")],
    query: Annotated[
        str | None, typer.Option(help="As `kb matrix --query`: only passages it retrieves.")
    ] = None,
    group: Group = None,
    platform_type: PlatformType = None,
    polarity: Polarity = None,
    reviewed: Reviewed = False,
    min_confidence: MinConfidence = 0.0,
    source: Source = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON array of passage ids.")] = False,
) -> None:
    """The passages one `kb matrix` cell counts (id, codes of the factor, page, opening words),
    with the same query and filters; `kb show ID` prints one in full.

    Success, obstacle, neutral, then recommendation passages, each best first; --polarity keeps one."""
    from kb import api

    ids = api.cell_passages(
        factor, case_id, query, group=group, platform_type=platform_type, polarity=polarity,
        reviewed=reviewed, min_confidence=min_confidence, source=source, settings=State.settings,
    )  # fmt: skip
    if as_json:
        typer.echo(json.dumps(ids, ensure_ascii=False))
        return
    if not ids:
        typer.echo("no passages in this cell", err=True)
    records = api.passages(ids, settings=State.settings)
    if any(c.get("also") for r in records for c in r["codes"] if c["category"] == factor):
        typer.echo(f"({SENTENCE_DIRECTIONS})")
    for r in records:
        codes = ", ".join(code_text(c) for c in r["codes"] if c["category"] == factor)
        page = f"p.{r['page']}" if r.get("page") is not None else ""
        typer.echo(f"{r['id']}  {codes}  {page}\n    “{clip(r['text'], QUOTE_CHARS)}”")


@friendly
def show(
    passage_ids: Annotated[
        list[str], typer.Argument(help="Passage ids, as search, `kb cell` or an export name them.")
    ],
    as_json: Annotated[bool, typer.Option("--json", help="JSON array instead of text.")] = False,
) -> None:
    """Passages in full: citation, the interviewer's question, the text and every effective code."""
    from kb import api

    records = api.passages(passage_ids, settings=State.settings)
    if as_json:
        typer.echo(json.dumps(records, ensure_ascii=False, indent=1, default=str))
        return
    for r in records:
        typer.echo(f"{r['id']} · {r['case_name']} ({r['group']})")
        typer.echo(f"  {r['citation'] or r['section'] or ''}")
        if r.get("question"):
            typer.echo(f"  Q: {r['question']}")
        typer.echo(f"  {r['text']}")
        for c in r["codes"]:
            who = f" · {c['reviewer']}" if c["source"] == "human" else f" {c['confidence']:.2f}"
            weak = " · below threshold" if c.get("fallback") else ""
            also = "".join(f" · a sentence reads {pol}" for pol in c.get("also") or {})
            typer.echo(f"  - {c['category']} · {c['polarity']}{also} ({c['source']}{who}{weak})")
        typer.echo("")


@friendly
def cite(
    passage_ids: Annotated[
        list[str], typer.Argument(help="Passage ids, as search, `kb cell` or an export name them.")
    ],
    full: Annotated[
        bool, typer.Option("--full", help="As the exports' citation column: authors, year, title, pages.")
    ] = False,
) -> None:
    """How to cite passages, as the app's cards do: an added transcript by file and lines, a report
    passage by section and pages; one line each, `ID<TAB>citation`."""
    from kb import api

    cited = [
        (pid, api.citation(pid, settings=State.settings, full=full)) for pid in passage_ids
    ]  # all or none
    for pid, citation in cited:
        typer.echo(f"{pid}\t{citation}")


def register(app: typer.Typer) -> None:
    """Add the case commands to the `kb` app."""
    app.command("cases")(cases)
    app.command("case")(case)
    app.command("cell")(cell)
    app.command("show")(show)
    app.command("cite")(cite)
