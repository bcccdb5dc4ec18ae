"""Agreement per codebook category: auto coder vs human decisions, and coder vs coder.

Units are (passage, category) pairs on passages a human reviewed. A human value is 1 when the
code was accepted/added (or re-polarised), 0 when rejected; a category nobody decided counts as
0 ("the coder saw the passage and did not add it") unless the auto coder suggested it, in which
case it is missing (the coder has not looked at that suggestion yet), or the coder has not decided
every suggestion of the passage yet. Passages the current coder was trained on can be left out.
Krippendorff's α (nominal) comes from the `krippendorff` package; it is NaN when every value is the
same.
"""

from __future__ import annotations

from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd

from kb.records import POLARITIES
from kb.store.kbase import KnowledgeBase

AUTO_COLUMNS = [
    "category",
    "label_ko",
    "units",
    "tp",
    "fp",
    "fn",
    "tn",
    "precision",
    "recall",
    "f1",
    "alpha",
    "polarity_agreement",
]
CODER_COLUMNS = [
    "coder_a",
    "coder_b",
    "category",
    "label_ko",
    "passages",
    "units",
    "agreement",
    "alpha",
    "factor_agreement",
    "factor_alpha",
]
DISAGREEMENT_COLUMNS = [
    "passage_id",
    "case",
    "category",
    "label_ko",
    "coder_a",
    "decision_a",
    "coder_b",
    "decision_b",
    "resolution",
]
TOTAL = "_all"
DECIDED = ("accepted", "rejected", "added")


def alpha(a: list[float], b: list[float]) -> float:
    """Nominal Krippendorff's α for two raters (NaN = missing); NaN when undefined."""
    import krippendorff

    data = np.array([a, b], dtype=float)
    both = ~np.isnan(data).any(axis=0)
    if both.sum() < 2 or len(np.unique(data[:, both])) < 2:
        return float("nan")
    return float(krippendorff.alpha(reliability_data=data, level_of_measurement="nominal"))


def _ratio(num: int, den: int) -> float:
    return num / den if den else float("nan")


def _auto_sets(kb: KnowledgeBase) -> dict[str, dict[str, str]]:
    return {
        (rec.get("passage_id") or rec.get("id")): {
            c["category"]: c.get("polarity") for c in rec.get("codes") or []
        }
        for rec in kb.auto_codes
    }


def _human_values(decided: dict[str, dict], auto: dict[str, str], categories: list[str]) -> dict[str, Any]:
    """category -> (1/0 or None for missing, polarity) for one reviewed passage.

    A factor nobody suggested or decided counts as 0 only when the coder decided every suggestion of
    the passage (done with it, as the review queue counts it); on a passage left half-way it is
    missing, so one decision does not make a coder agree on every factor they never looked at."""
    done = all((decided.get(c) or {}).get("status") in DECIDED for c in auto)
    out = {}
    for cat in categories:
        row = decided.get(cat)
        status = (row or {}).get("status")
        if status in ("accepted", "added"):
            out[cat] = (1, row.get("polarity"))
        elif status == "rejected":
            out[cat] = (0, None)
        else:
            out[cat] = (None, None) if cat in auto or not done else (0, None)
    return out


def trained_until(kb: KnowledgeBase) -> str | None:
    """Time of the newest review decision the current auto codes' coder was trained on (None: none)."""
    from kb.coding.coder import coder_dir
    from kb.coding.model_io import read_manifest
    from kb.errors import ModelRefused

    try:
        manifest = read_manifest(coder_dir(kb.settings)) or {}
    except ModelRefused:
        return None
    return (manifest.get("info") or {}).get("reviews_until")


def learned_passages(decided: dict[str, dict[str, dict]], until: str | None) -> set[str]:
    """Reviewed passages (`anchor(...).codes`) with a decision at or before `until`: the coder was
    trained on them."""
    if not until:
        return set()
    return {
        pid for pid, rows in decided.items() if any(str(r.get("ts") or "") <= until for r in rows.values())
    }


def auto_vs_human(
    kb: KnowledgeBase,
    leave_out: set[str] | frozenset[str] = frozenset(),
    decided: dict[str, dict[str, dict]] | None = None,
) -> pd.DataFrame:
    """Per category (plus a '_all' row): precision/recall of the auto coder against humans, and α;
    `leave_out`: passages not to count (`learned_passages`: scored on them, the coder scores its own
    training data – after "retrain now", precision 1.0 and α 1.0 on every factor); `decided`: the
    anchored decisions when the caller has them already."""
    categories = list(kb.codebook.ids)
    labels = {c.id: c.label_ko for c in kb.codebook.categories}
    auto = _auto_sets(kb)
    decided = kb.anchored().codes if decided is None else decided
    cells: dict[str, list[tuple[int, int, bool]]] = {c: [] for c in categories}
    for pid, rows in decided.items():
        if pid in leave_out:
            continue
        a = auto.get(pid, {})
        for cat, (h, hpol) in _human_values(rows, a, categories).items():
            if h is not None and cat in cells:
                cells[cat].append((int(cat in a), h, h == 1 and cat in a and hpol == a[cat]))
    out = [_auto_row(cat, labels.get(cat, cat), cells[cat]) for cat in categories]
    out.append(_auto_row(TOTAL, "전체 (all)", [u for cat in categories for u in cells[cat]]))
    return pd.DataFrame(out, columns=AUTO_COLUMNS)


def _auto_row(cat: str, label: str, units: list[tuple[int, int, bool]]) -> dict[str, Any]:
    tp = sum(1 for a, h, _ in units if a and h)
    fp = sum(1 for a, h, _ in units if a and not h)
    fn = sum(1 for a, h, _ in units if not a and h)
    tn = len(units) - tp - fp - fn
    p, r = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
    f1 = 2 * p * r / (p + r) if tp else (0.0 if (fp or fn) else float("nan"))
    return {
        "category": cat,
        "label_ko": label,
        "units": len(units),
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "tn": tn,
        "precision": p,
        "recall": r,
        "f1": f1,
        "alpha": alpha([a for a, _, _ in units], [h for _, h, _ in units]),
        "polarity_agreement": _ratio(sum(1 for *_, same in units if same), tp),
    }


def coder_decisions(kb: KnowledgeBase) -> dict[str, dict[str, dict[str, dict]]]:
    """coder -> passage id -> category -> that coder's latest state (from the append-only log), with
    its `ts`. An adjudicator's "resolve" is not coding: it is in `resolutions`, not here."""
    out: dict[str, dict[str, dict[str, dict]]] = {}
    where = kb.relocate
    for row in kb.reviews.log().to_dict("records"):
        after = row.get("after") or {}
        if not row.get("category") or after.get("status") not in DECIDED or row["action"] == "resolve":
            continue
        pid = where(row["passage_id"], row["text_hash"])
        out.setdefault(row["coder"], {}).setdefault(pid, {})[row["category"]] = {**after, "ts": row["ts"]}
    return out


def resolutions(kb: KnowledgeBase) -> dict[tuple[str, str], dict]:
    """(passage id, category) -> the latest "resolve" on it: the state it set, its coder and `ts`."""
    log = kb.reviews.log()
    rows = log[log["action"] == "resolve"].to_dict("records") if len(log) else []
    where = kb.relocate
    return {
        (where(r["passage_id"], r["text_hash"]), r["category"]): {
            **(r["after"] or {}),
            "coder": r["coder"],
            "ts": r["ts"],
        }
        for r in rows
    }


def _shared_units(
    kb: KnowledgeBase, by_coder: dict
) -> list[tuple[str, str, list[str], dict[str, list[tuple[float, float]]], dict[str, list]]]:
    """Per coder pair: the passages both reviewed, and per category the (value a, value b) of each
    passage (NaN: missing) and the passage ids, in the same order. A value is 0 for a factor not
    coded (rejected, or absent from a passage the coder is done with), else 1 + the index of the
    polarity in POLARITIES: two coders agree on a unit when they agree on factor and polarity."""
    categories = list(kb.codebook.ids)
    auto = _auto_sets(kb)
    out = []
    for ca, cb in combinations(sorted(by_coder), 2):
        shared = sorted(set(by_coder[ca]) & set(by_coder[cb]))
        if not shared:
            continue
        vals: dict[str, list[tuple[float, float]]] = {c: [] for c in categories}
        pids: dict[str, list] = {c: [] for c in categories}
        for pid in shared:
            a = auto.get(pid, {})
            va = _human_values(by_coder[ca][pid], a, categories)
            vb = _human_values(by_coder[cb][pid], a, categories)
            for cat in categories:
                vals[cat].append((_value(va[cat]), _value(vb[cat])))
                pids[cat].append(pid)
        out.append((ca, cb, shared, vals, pids))
    return out


def _value(coded: tuple[int | None, str | None]) -> float:
    present, polarity = coded
    if present is None:
        return np.nan
    return 0.0 if not present else 1.0 + POLARITIES.index(polarity if polarity in POLARITIES else "neutral")


def disagreements(kb: KnowledgeBase, by_coder: dict | None = None) -> pd.DataFrame:
    """Every unit two coders coded differently – another polarity, accepted vs rejected, or one
    added a factor the other, done with the passage, did not code – one row each: what adjudication
    needs. `resolution`: the adjudicator's "resolve" made after both coders' decisions ("" while
    open). Until then the later decision counts; the earlier one stays in the log and here."""
    labels = {c.id: c.label_ko for c in kb.codebook.categories}
    by_coder = coder_decisions(kb) if by_coder is None else by_coder
    resolved = resolutions(kb)
    rows = []
    for ca, cb, _, vals, pids in _shared_units(kb, by_coder):
        for cat in vals:
            for (x, y), pid in zip(vals[cat], pids[cat], strict=True):
                if np.isnan(x) or np.isnan(y) or x == y:
                    continue
                case = (kb.passage_by_id.get(pid) or {}).get("case")
                states = [by_coder[c][pid].get(cat) for c in (ca, cb)]
                a, b = (_decision(state) for state in states)
                rows.append([pid, case, cat, labels.get(cat, cat), ca, a, cb, b,
                             _resolution(resolved.get((pid, cat)), states)])  # fmt: skip
    return pd.DataFrame(sorted(rows), columns=DISAGREEMENT_COLUMNS)


def _resolution(resolve: dict | None, states: list[dict | None]) -> str:
    """ "<decision> by <adjudicator>" when the resolve came after both coders' latest decisions on the
    unit; a coder who changes their code afterwards reopens the dispute."""
    if resolve is None or any(str((s or {}).get("ts") or "") > resolve["ts"] for s in states):
        return ""
    return f"{_decision(resolve)} by {resolve['coder']}"


def disputed_units(kb: KnowledgeBase) -> frozenset[tuple[str, str]]:
    """(passage id, category) of every unresolved unit in `disagreements`: until coders agree or an
    adjudicator resolves it, the later decision counts, and search cards and exports flag the code as
    disputed (cached until a decision lands)."""

    def compute() -> frozenset[tuple[str, str]]:
        df = disagreements(kb)
        df = df[df["resolution"] == ""]
        return frozenset(zip(df["passage_id"], df["category"], strict=True))

    return kb.memo(("disputed",), compute)


def agreed_by(kb: KnowledgeBase) -> dict[tuple[str, str], dict[str, str]]:
    """(passage id, category) -> {coder: polarity} where two or more coders' own latest decisions
    code the unit: a card or export names every coder who agrees with the code, not only the last
    (cached until a decision lands)."""

    def compute() -> dict[tuple[str, str], dict[str, str]]:
        out: dict[tuple[str, str], dict[str, str]] = {}
        for coder, passages in coder_decisions(kb).items():
            for pid, cats in passages.items():
                for cat, state in cats.items():
                    if state.get("status") in ("accepted", "added"):
                        out.setdefault((pid, cat), {})[coder] = state.get("polarity") or "neutral"
        return {unit: coders for unit, coders in out.items() if len(coders) > 1}

    return kb.memo(("agreed_by",), compute)


def agreeing(
    agreed: dict[tuple[str, str], dict[str, str]], pid: str, category: str, polarity: str | None
) -> list[str]:
    """The coders (two or more, sorted) whose own decision codes the unit in `polarity`; else [].
    `agreed`: `agreed_by(kb)`, read once by the caller (a search or an export reads it per code)."""
    coders = agreed.get((pid, category), {})
    same = sorted(c for c, pol in coders.items() if pol == (polarity or "neutral"))
    return same if len(same) > 1 else []


def _decision(state: dict | None) -> str:
    """ "rejected", "accepted/added <polarity>", or "not coded" (a factor the coder, done with the
    passage, neither accepted nor added): the part of a decision two coders can differ on."""
    if not state or state.get("status") not in DECIDED:
        return "not coded"
    status = "accepted" if state.get("status") == "added" else state.get("status")
    return status if status == "rejected" else f"{status} {state.get('polarity') or 'neutral'}"


def between_coders(kb: KnowledgeBase, by_coder: dict | None = None) -> pd.DataFrame:
    """Per coder pair and category (plus '_all'): on the passages both reviewed, the share of units
    coded alike and nominal α, on factor and polarity (`agreement`, `alpha`) and on the factor alone
    (`factor_agreement`, `factor_alpha`)."""
    labels = {c.id: c.label_ko for c in kb.codebook.categories}
    by_coder = coder_decisions(kb) if by_coder is None else by_coder
    rows = []
    for ca, cb, shared, vals, _ in _shared_units(kb, by_coder):
        for cat in [*vals, TOTAL]:
            units = [u for c in vals for u in vals[c]] if cat == TOTAL else vals[cat]
            xa, xb = [x for x, _ in units], [y for _, y in units]
            pairs = [(x, y) for x, y in units if not (np.isnan(x) or np.isnan(y))]
            present = [[np.nan if np.isnan(v) else float(v > 0) for v in side] for side in (xa, xb)]
            rows.append(
                {
                    "coder_a": ca,
                    "coder_b": cb,
                    "category": cat,
                    "label_ko": "전체 (all)" if cat == TOTAL else labels.get(cat, cat),
                    "passages": len(shared),
                    "units": len(pairs),
                    "agreement": _ratio(sum(1 for x, y in pairs if x == y), len(pairs)),
                    "alpha": alpha(xa, xb),
                    "factor_agreement": _ratio(sum(1 for x, y in pairs if (x > 0) == (y > 0)), len(pairs)),
                    "factor_alpha": alpha(*present),
                }
            )
    return pd.DataFrame(rows, columns=CODER_COLUMNS)
