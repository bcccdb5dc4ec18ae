"""What a retrain changed in the coder's suggestions, passage by passage.

A retrain learns from a few passages and re-codes all of them, so suggestions move on passages
nobody reviewed, and a passage a coder had finished can get a new suggestion (its progress goes
back). A coder must be able to see those moves rather than find them later: `kb reviews retrain`
and the review page list them from this comparison of the generation before and after.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from kb.fileio import read_jsonl

Suggestions = dict[str, dict[str, str | None]]  # passage id -> {category: polarity}


def suggestions(codes_file: Path) -> Suggestions:
    """Each passage's suggested categories and their polarity, from a generation's codes file."""
    if not codes_file.exists():
        return {}
    return {
        rec["passage_id"]: {c["category"]: c.get("polarity") for c in rec.get("codes") or []}
        for rec in read_jsonl(codes_file)
    }


def _changes_of(old: Mapping[str, str | None], new: Mapping[str, str | None]) -> dict[str, list[list]]:
    """added / dropped: [category, polarity]; polarity: [category, before, after]."""
    return {
        "added": [[c, new[c]] for c in sorted(set(new) - set(old))],
        "dropped": [[c, old[c]] for c in sorted(set(old) - set(new))],
        "polarity": [[c, old[c], new[c]] for c in sorted(set(old) & set(new)) if old[c] != new[c]],
    }


def readable(row: Mapping[str, Any], label: Callable[[str | None], str] = str) -> dict[str, str]:
    """A changed passage's added, dropped and re-polarised codes as text ('leadership·success'),
    categories and polarities through `label` (the app's Korean names)."""
    return {
        "added": ", ".join(f"{label(c)}·{label(p)}" for c, p in row["added"]),
        "dropped": ", ".join(f"{label(c)}·{label(p)}" for c, p in row["dropped"]),
        "polarity": ", ".join(f"{label(c)}: {label(a)}→{label(b)}" for c, a, b in row["polarity"]),
    }


def compare(
    before: Suggestions, after: Suggestions, reviewed: Iterable[str], cases: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Counts of added, dropped and re-polarised suggestions on passages nobody reviewed and on
    reviewed ones, one row per changed passage (reviewed ones first: they need a second look), and
    a `summary` line."""
    reviewed = set(reviewed)
    totals = {
        kind: {"passages": 0, "added": 0, "dropped": 0, "polarity": 0} for kind in ("unreviewed", "reviewed")
    }
    rows = []
    for pid in sorted(set(before) | set(after)):
        change = _changes_of(before.get(pid, {}), after.get(pid, {}))
        if not any(change.values()):
            continue
        kind = "reviewed" if pid in reviewed else "unreviewed"
        totals[kind]["passages"] += 1
        for key, items in change.items():
            totals[kind][key] += len(items)
        rows.append(
            {"passage_id": pid, "case": (cases or {}).get(pid, ""), "reviewed": pid in reviewed, **change}
        )
    rows.sort(key=lambda r: not r["reviewed"])
    out = {**totals, "rows": rows}
    return {**out, "summary": summary_line(out)}


def summary_line(changes: Mapping[str, Any]) -> str:
    """One line for the CLI and the app, e.g. 'suggestions changed on 12 passages nobody reviewed
    (+5 / −9 / 3 re-polarised) and on 2 reviewed passages (+2 / −0 / 0 re-polarised)'."""

    def part(kind: str, label: str) -> str:
        t = changes[kind]
        return f"{t['passages']} {label} (+{t['added']} / −{t['dropped']} / {t['polarity']} re-polarised)"

    if not changes["rows"]:
        return "no suggestion changed"
    unreviewed, reviewed = (
        part("unreviewed", "passages nobody reviewed"),
        part("reviewed", "reviewed passages"),
    )
    return f"suggestions changed on {unreviewed} and on {reviewed}"
