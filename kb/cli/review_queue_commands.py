"""`kb reviews queue|progress|decide|decisions|attention|retrain|last-retrain`: reviewing from the
terminal.

Each command calls the kb.api function of the same job (review_queue, review_progress with
decisions_made, decide, current_decisions with passage_memo, needs_attention, retrain,
last_retrain), the ones the app's review page calls,
so a coder or a script records decisions with exactly the checks the app applies: the library
validates actions, factors, polarities and passage ids, the CLI only prints.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated

import typer

from kb.cli.common import State, friendly, plain, table
from kb.cli.filter_options import Case, Factor

Coder = Annotated[str | None, typer.Option(help="Count only this coder's decisions (blind double coding).")]
AsJsonl = Annotated[bool, typer.Option("--json", help="JSON lines instead of a table.")]


def utc_minutes(row: dict) -> str:
    """A decision's time for a table: `2025-03-01 09:30` (UTC); the JSON keeps the full timestamp."""
    ts = plain(row.get("ts"))
    return str(ts)[:16].replace("T", " ") if ts else ""


@friendly
def queue_cmd(
    factor: Factor = None,
    case: Case = None,
    coder: Coder = None,
    pending: Annotated[
        bool, typer.Option("--pending", help="Hide passages whose every suggestion is decided.")
    ] = False,
    limit: Annotated[int, typer.Option(min=0, help="Show the first N passages; 0 = all.")] = 20,
    as_json: AsJsonl = False,
) -> None:
    """The review queue: passages with their suggested codes, most uncertain first.

    Every third place holds the most certain passage left (its confident mistakes need a look too);
    each row shows the codes' polarity and confidence and how many of them are decided."""
    from kb import api

    items = api.review_queue(
        factor=factor, case=case, pending_only=pending, coder=coder, settings=State.settings
    )
    shown = items[:limit] if limit else items
    if limit and len(items) > limit:
        typer.echo(f"showing {limit} of {len(items)} passages; --limit 0 for all", err=True)
    if not items:
        typer.echo("no passages to review", err=True)
        return
    if as_json:
        for it in shown:
            codes = [{"category": c, "polarity": p, "confidence": x} for c, p, x in it.codes]
            typer.echo(json.dumps({
                "passage_id": it.passage_id, "case": it.case, "uncertainty": it.uncertainty,
                "n_codes": it.n_codes, "n_decided": it.n_decided, "done": it.done, "state": it.state,
                "codes": codes,
            }, ensure_ascii=False))  # fmt: skip
        return
    rows = [
        {
            "#": i, "passage_id": it.passage_id, "case": it.case, "state": it.state,
            "decided": f"{it.n_decided}/{it.n_codes}", "uncertainty": f"{it.uncertainty:.2f}",
            "suggested codes": ", ".join(f"{c} {p or '?'} {x:.2f}" for c, p, x in it.codes),
        }
        for i, it in enumerate(shown, 1)
    ]  # fmt: skip
    typer.echo(table(rows))


@friendly
def progress_cmd(
    factor: Factor = None,
    case: Case = None,
    coder: Coder = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object.")] = False,
) -> None:
    """How far the review queue is: passages done, started and untouched, code decisions made."""
    from kb import api

    n = api.review_progress(factor=factor, case=case, coder=coder, settings=State.settings)
    if coder:  # the coder's own count, which a retrain that drops a rejected suggestion never lowers
        n["decisions_made"] = api.decisions_made(coder, factor=factor, case=case, settings=State.settings)
    if as_json:
        typer.echo(json.dumps(n))
        return
    typer.echo(
        f"{n['done']} of {n['passages']} passages done, {n['started']} started, {n['todo']} to do; "
        f"{n['codes_decided']} of {n['codes']} suggested codes decided"
    )
    if coder:
        typer.echo(f"codes decided by {coder} in all: {n['decisions_made']}")


@friendly
def decide_cmd(
    coder: Annotated[str, typer.Argument(help="Your name: the decision is recorded under it.")],
    passage_id: Annotated[str, typer.Argument(help="Passage id, as `kb reviews queue` lists it.")],
    action: Annotated[
        str,
        typer.Option(
            help="accept, reject, add, set_polarity, or memo (on a code with --factor, else the passage); "
            "resolve: an adjudicator's final decision where two coders differ (`kb reviews agreement`): "
            "with --polarity the code stands in it, without it the factor is not coded."
        ),
    ],
    factor: Annotated[
        str | None, typer.Option(help="Codebook category id the decision is about (all but a passage memo).")
    ] = None,
    polarity: Annotated[
        str | None,
        typer.Option(
            help="success, obstacle, neutral or recommendation (add, set_polarity, resolve; "
            "accept keeps the suggested one without it)."
        ),
    ] = None,
    memo: Annotated[str | None, typer.Option(help="Memo text ('' clears a memo).")] = None,
) -> None:
    """Record one review decision; prints the code's (or passage memo's) state it leaves."""
    from kb import api

    decision = api.decide(coder, passage_id, factor, action, polarity, memo, settings=State.settings)
    if factor:
        state = api.current_decisions([passage_id], coder=coder, settings=State.settings)
        row = state.get(passage_id, {}).get(factor, {})
        now = f"{factor}: {row.get('status')}, {row.get('polarity') or 'no polarity'}"
        if row.get("memo"):
            now += f", memo: {row['memo']}"
    else:
        now = f"passage memo: {api.passage_memo(passage_id, settings=State.settings) or '(cleared)'}"
    typer.echo(f"recorded decision {decision} by {coder.strip()} on {passage_id} → {now}")


@friendly
def decisions_cmd(
    passage_ids: Annotated[
        list[str] | None, typer.Argument(help="Passage ids (default: every decided passage).")
    ] = None,
    coder: Annotated[str | None, typer.Option(help="Only this coder's own latest decisions.")] = None,
    as_json: AsJsonl = False,
) -> None:
    """The current decision on each decided code of the passages, and each passage's memo."""
    from kb import api

    decided = api.current_decisions(passage_ids or None, coder=coder, settings=State.settings)
    every_memo = api.passage_memos(settings=State.settings)
    noted = [] if passage_ids or coder else sorted(every_memo)  # a passage with only a memo is decided too
    ids = list(dict.fromkeys([*(passage_ids or []), *sorted({*decided, *noted})]))
    memos = {pid: every_memo.get(pid) for pid in ids}
    keys = ("status", "polarity", "coder", "ts", "memo")
    if as_json:
        for pid in ids:
            rows = [
                {"category": cat, **{k: plain(row.get(k)) for k in keys}}
                for cat, row in sorted(decided.get(pid, {}).items())
            ]
            line = {"passage_id": pid, "decisions": rows, "memo": memos[pid]}
            typer.echo(json.dumps(plain(line), ensure_ascii=False))
        return
    if not decided and not any(memos.values()):
        typer.echo("no decisions on these passages" if passage_ids else "no decisions yet", err=True)
        return
    rows = [
        {"passage_id": pid, "factor": cat, "status": plain(row.get("status")),
         "polarity": plain(row.get("polarity")), "coder": plain(row.get("coder")),
         "ts (UTC)": utc_minutes(row), "memo": plain(row.get("memo"))}
        for pid in ids
        for cat, row in sorted(decided.get(pid, {}).items())
    ]  # fmt: skip
    if rows:
        typer.echo(table(rows))
    for pid in ids:
        if memos[pid]:
            typer.echo(f"passage memo {pid}: {memos[pid]}")


@friendly
def attention_cmd(as_json: AsJsonl = False) -> None:
    """Decisions whose passage vanished or changed its text since the coder decided.

    After a rebuild of changed documents: where each decision went (reanchored_to) or that it needs
    a look."""
    from kb import api

    df = api.needs_attention(settings=State.settings)
    if df.empty:
        typer.echo("no decisions need attention", err=True)
        return
    if as_json:
        for row in df.to_dict("records"):
            typer.echo(json.dumps(plain(row), ensure_ascii=False, default=str))
        return
    cols = ["kind", "problem", "passage_id", "category", "status", "coder", "reanchored_to"]
    rows = [{**{c: plain(r[c]) for c in cols}, "ts (UTC)": utc_minutes(r)} for r in df.to_dict("records")]
    typer.echo(table(rows))


@friendly
def retrain_cmd(as_json: AsJsonl = False) -> None:
    """Retrain the coder on the decisions so far, then re-code and re-index (about a minute).

    Refits the fast models only; the next `kb build` retrains everything. Lists the passages whose
    suggestions changed, reviewed ones first (a finished passage may get a new suggestion)."""
    from kb import api

    out = api.retrain(State.settings, log=lambda m: typer.echo(m, err=True))
    if as_json:
        for row in out["changes"]["rows"]:
            typer.echo(json.dumps(row, ensure_ascii=False))
        return
    coded = (out.get("code") or {}).get("coded")
    typer.echo(
        f"retrained on {out['decisions']} review decisions ({out['reviews']} training sentences) in "
        f"{out['seconds']} s; re-coded {coded if coded is not None else '?'} passages"
    )
    typer.echo(out["changes"]["summary"])
    rows = [
        {
            "passage_id": r["passage_id"],
            "case": r["case"],
            "reviewed": "yes" if r["reviewed"] else "",
            **api.readable_change(r),
        }
        for r in out["changes"]["rows"]
    ]
    if rows:
        typer.echo(table(rows))


@friendly
def last_retrain_cmd(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object.")] = False,
) -> None:
    """When the last `retrain` of this knowledge base finished, on how many decisions, how long it took."""
    from kb import api

    last = api.last_retrain(State.settings)
    if as_json:
        typer.echo(json.dumps(last))
        return
    if last is None:
        typer.echo("no retrain yet on this knowledge base")
        return
    finished = last["finished"]
    when = (
        datetime.fromtimestamp(finished, UTC).strftime("%Y-%m-%d %H:%M UTC") if finished else "unknown time"
    )
    on = f" on {last['decisions']} decisions" if last["decisions"] is not None else ""
    typer.echo(f"last retrain: {when}{on}, {last['seconds']:.0f} s in all")


def register(reviews: typer.Typer) -> None:
    """Add the reviewing commands to `kb reviews`."""
    reviews.command("queue")(queue_cmd)
    reviews.command("progress")(progress_cmd)
    reviews.command("decide")(decide_cmd)
    reviews.command("decisions")(decisions_cmd)
    reviews.command("attention")(attention_cmd)
    reviews.command("retrain")(retrain_cmd)
    reviews.command("last-retrain")(last_retrain_cmd)
