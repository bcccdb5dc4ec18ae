"""Development check: is the coder's polarity robust to the success:obstacle base rate?

The development transcripts' gold has about twice as many obstacle codes as success codes, and the
polarity steps (tuned weight, neighbour weight, answer prior) were chosen there by plain accuracy,
which rewards leaning towards "obstacle". New transcripts can have any mix. This replays the coder's
polarity steps on dumps of `bench/polarity_mix.py dump` (one per polarity classifier) and

* shows where the lean comes from: a confusion matrix after each step, and the class mix of the
  polarity training rows next to what each part outputs;
* scores candidate steps by **balanced accuracy** (mean recall over success / obstacle / neutral /
  recommendation), next to plain accuracy and accuracy with the codes re-weighted to a 1:1
  success:obstacle mix, on all dev and leave-one-transcript-out (chosen on three transcripts by
  balanced accuracy, scored on the fourth; the held-out predictions are pooled).

    python bench/polarity_balance.py DUMP [--name NAME] [DUMP --name NAME ...]
    python bench/polarity_balance.py --train-mix     # the class mix of the polarity training rows

Candidates: the tuned weight w (fine-tuned dumps only), the fine-tuned classifier's training prior
divided out (`pc`), the neighbour weight, and the answer prior (kb.coding.question_polarity): the
obstacle weight after a neutral or difficulty question (`o`; after a success question 0.75·o, as
shipped), the neutral weight (`n`); advice questions keep theirs.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.polarity_mix import advice_moves  # noqa: E402
from kb.coding.book import POLARITIES  # noqa: E402
from kb.coding.question_polarity import ORIENTATION_WEIGHTS  # noqa: E402

Probs = dict[str, float]
Decide = Callable[[dict], str]


# ----- metrics -------------------------------------------------------------------------------
def scores(golds: Sequence[str], preds: Sequence[str]) -> dict[str, float]:
    """Plain accuracy, balanced accuracy (mean recall over the gold classes present) and accuracy
    with success codes weighted so that success and obstacle weigh the same in total."""
    n = len(golds)
    hit = [g == p for g, p in zip(golds, preds, strict=True)]
    by = Counter(golds)
    recalls = [sum(h for g, h in zip(golds, hit, strict=True) if g == c) / by[c] for c in POLARITIES if by[c]]
    ws = by["obstacle"] / by["success"] if by["success"] else 1.0
    w = [ws if g == "success" else 1.0 for g in golds]
    rec = {c: sum(h for g, h in zip(golds, hit, strict=True) if g == c) / by[c] for c in POLARITIES if by[c]}
    return {
        **{f"r_{c}": v for c, v in rec.items()},
        "acc": sum(hit) / n if n else 0.0,
        "bal": sum(recalls) / len(recalls) if recalls else 0.0,
        "acc11": sum(wi * h for wi, h in zip(w, hit, strict=True)) / sum(w) if n else 0.0,
    }


def fmt(s: dict[str, float]) -> str:
    r = " ".join(f"{s[f'r_{c}']:.2f}" for c in POLARITIES if f"r_{c}" in s)
    return f"bal {s['bal']:.3f} · acc {s['acc']:.3f} · 1:1 {s['acc11']:.3f} (recall s/o/n/r {r})"


def confusion(golds: Sequence[str], preds: Sequence[str]) -> list[str]:
    counts = Counter(zip(golds, preds, strict=True))
    short = {"success": "succ", "obstacle": "obst", "neutral": "neut", "recommendation": "reco"}
    lines = ["    gold \\ read " + " ".join(f"{short[p]:>5}" for p in POLARITIES) + "  recall"]
    for g in POLARITIES:
        row = [counts[(g, p)] for p in POLARITIES]
        tot = sum(row)
        lines.append(
            f"    {short[g]:>13} " + " ".join(f"{x:>5}" for x in row) + f"  {row[POLARITIES.index(g)]}/{tot}"
        )
    out = Counter(preds)
    lines.append("    read as       " + " ".join(f"{out[p]:>5}" for p in POLARITIES))
    return lines


# ----- the coder's steps, replayed -----------------------------------------------------------
def norm(p: Probs) -> Probs:
    s = sum(p.values())
    return {k: v / s for k, v in p.items()} if s > 0 else p


def reading(rd: dict, w: float, train_prior: Probs | None) -> Probs:
    """One text's polarity probabilities: the rule/feature model mixed with the fine-tuned
    classifier (weight w; `train_prior`: divided out of the fine-tuned probabilities first), then
    the advice / own-need moves of `Coder.polarity`."""
    rules, tuned = rd["rules"], rd["tuned"]
    if tuned is None or w == 0:
        p = dict(rules)
    else:
        t = norm({k: tuned.get(k, 0.0) / train_prior[k] for k in POLARITIES}) if train_prior else tuned
        p = {k: (1 - w) * rules[k] + w * t.get(k, 0.0) for k in POLARITIES}
    return advice_moves(p, rd)


def prior_table(o: float, n: float) -> dict[str, dict[str, float]]:
    """The answer prior by question orientation with obstacle weight `o` (0.75·o after a success
    question, as the shipped 2 / 1.5) and neutral weight `n`; advice questions keep theirs."""
    base = {"success": 1.0, "obstacle": o, "neutral": n, "recommendation": 1.0}
    return {
        "neutral": base,
        "difficulty": base,
        "success": {**base, "obstacle": 0.75 * o},
        "advice": {**base, **{k: ORIENTATION_WEIGHTS["advice"][k] for k in ("obstacle", "recommendation")}},
    }


def decide(w: float, pc: Probs | None, nw: float, table: dict[str, dict[str, float]] | None) -> Decide:
    """The polarity label after mix → neighbours (weight nw) → answer prior (`table`; None: the
    shipped one, kb.coding.question_polarity.ORIENTATION_WEIGHTS)."""
    memo: dict[int, Probs] = {}

    def read(rd: dict) -> Probs:
        k = id(rd)
        if k not in memo:
            memo[k] = reading(rd, w, pc)
        return memo[k]

    def f(rec: dict) -> str:
        p = read(rec["own"])
        near = [read(n) for n in rec["near"]]
        if near and nw > 0:
            mean = {k: sum(x[k] for x in near) / len(near) for k in p}
            p = {k: (1 - nw) * p[k] + nw * mean[k] for k in p}
        prior = (ORIENTATION_WEIGHTS if table is None else table)[rec["orientation"]]
        return max(POLARITIES, key=lambda k: p[k] * prior.get(k, 1.0))

    return f


def evaluate(recs: list[dict], f: Decide) -> dict[str, float]:
    return scores([r["gold"] for r in recs], [f(r) for r in recs])


def loo(recs: list[dict], grid: dict[str, Decide], base: str, key: str = "bal") -> tuple[dict, dict, list]:
    """Chosen on three transcripts by `key`, scored on the fourth; held-out predictions pooled.
    Ties go to `base`. Returns (base held out, chosen held out, the picks)."""
    names = sorted({r["transcript"] for r in recs})
    golds, pb, pc, picks = [], [], [], []
    for name in names:
        inside = [r for r in recs if r["transcript"] != name]
        out = [r for r in recs if r["transcript"] == name]
        best = max(grid, key=lambda k: (round(evaluate(inside, grid[k])[key], 6), k == base))
        picks.append(f"{name[:2]}:{best}")
        golds += [r["gold"] for r in out]
        pb += [grid[base](r) for r in out]
        pc += [grid[best](r) for r in out]
    return scores(golds, pb), scores(golds, pc), picks


def train_mix() -> None:
    """The class mix of the rows each polarity model trains on (as `kb build` builds them)."""
    from kb.coding.book import load_view
    from kb.coding.data import build_training_set, load_gold, load_written
    from kb.coding.training import finetune_rows

    book = load_view()
    data = build_training_set(book, load_gold(), written=load_written())
    ids = [c for c in book.ids if c in data.labels]
    pairs = Counter(
        pol
        for cat in ids
        for lab, pol in zip(data.labels[cat], data.polarities[cat], strict=True)
        if lab == 1 and pol
    )
    _, _, _, polar = finetune_rows(data, ids)
    sent = Counter(POLARITIES[int(k)] for k in polar)
    print("feature/rule model rows (sentence, category):", dict(pairs), "(fitted class-balanced)")
    print("fine-tuned classifier rows (sentences):", dict(sent))
    total = sum(sent.values())
    print("training prior of the fine-tuned classifier:", {k: round(sent[k] / total, 3) for k in POLARITIES})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dumps", nargs="*", type=Path)
    ap.add_argument("--train-mix", action="store_true")
    ap.add_argument(
        "--prior",
        default="success=913,obstacle=846,neutral=540,recommendation=177",
        help="the fine-tuned classifier's training rows by polarity (see --train-mix)",
    )
    ap.add_argument(
        "--base",
        default="",
        help="the baseline candidate, e.g. n0.2/o2.0,n0.5 (the prior before session 11); default: shipped",
    )
    args = ap.parse_args()
    if args.train_mix:
        train_mix()
    counts = {k: float(v) for k, v in (x.split("=") for x in args.prior.split(","))}
    pc = norm(counts)
    for path in args.dumps:
        run(path, pc, args.base)


def run(path: Path, pc: Probs, base_key: str = "") -> None:
    recs = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]
    tuned = recs[0]["own"]["tuned"] is not None
    golds = [r["gold"] for r in recs]
    print(f"\n# {path.name}: {len(recs)} dev gold codes {dict(Counter(golds))}; fine-tuned: {tuned}")
    from kb.coding.coder import TUNED_POLARITY_WEIGHT
    from kb.coding.context import NEIGHBOUR_POLARITY_WEIGHT

    w0 = TUNED_POLARITY_WEIGHT if tuned else 0.0
    nw0 = NEIGHBOUR_POLARITY_WEIGHT
    flat = {o: dict.fromkeys(POLARITIES, 1.0) for o in ORIENTATION_WEIGHTS}

    def raw(part: str) -> Decide:
        return lambda r: max(POLARITIES, key=r["own"][part].get)

    steps: list[tuple[str, Decide]] = [("rule/feature model alone", raw("rules"))]
    if tuned:
        steps += [("fine-tuned classifier alone", raw("tuned"))]
        steps += [
            (
                "fine-tuned alone, training prior divided out",
                lambda r: max(
                    POLARITIES, key=norm({k: r["own"]["tuned"][k] / pc[k] for k in POLARITIES}).get
                ),
            )
        ]
    steps += [
        (f"mix w={w0} + advice/own-need moves", decide(w0, None, 0.0, flat)),
        (f"+ neighbours {nw0}", decide(w0, None, nw0, flat)),
        ("+ answer prior (shipped reading)", decide(w0, None, nw0, None)),
        ("mix + answer prior, no neighbours", decide(w0, None, 0.0, None)),
    ]
    for name, f in steps:
        preds = [f(r) for r in recs]
        print(f"\n  {name}: {fmt(scores(golds, preds))}")
        print("\n".join(confusion(golds, preds)))
    by_o = Counter(r["orientation"] for r in recs)
    print(f"\n  codes by question orientation: {dict(by_o)}")
    for o in by_o:
        sub = [r for r in recs if r["orientation"] == o]
        print(f"    {o}: gold {dict(Counter(r['gold'] for r in sub))}")

    # candidates
    ws = (0.0, 0.1, 0.2, 0.3, 0.5) if tuned else (0.0,)
    pcs = {"": None, "pc": pc} if tuned else {"": None}
    grid: dict[str, Decide] = {}
    for w in ws:
        for pname, pr in pcs.items():
            if w == 0 and pr is not None:
                continue
            for nw in (0.0, 0.1, 0.2, 0.3, 0.4, 0.5):
                grid[f"w{w}{pname}/n{nw}/shipped"] = decide(w, pr, nw, None)
                for o in (1.0, 1.25, 1.5, 1.75, 2.0):
                    for n in (0.5, 0.75, 1.0):
                        grid[f"w{w}{pname}/n{nw}/o{o},n{n}"] = decide(w, pr, nw, prior_table(o, n))
    base = f"w{w0}/{base_key}" if base_key else f"w{w0}/n{nw0}/shipped"
    all_dev = {k: evaluate(recs, f) for k, f in grid.items()}
    print(f"\n  base {base}: {fmt(all_dev[base])}")
    for key in ("bal", "acc"):
        top = sorted(all_dev, key=lambda k: -all_dev[k][key])[:8]
        print(f"  best on all dev by {key}:")
        for k in top:
            print(f"    {k}: {fmt(all_dev[k])}")
    wb, nb, pb = base.split("/")  # the baseline's tuned weight, neighbour weight, answer prior
    families = {
        "everything": grid,
        "answer prior only (base tuned and neighbour weights)": {
            k: f for k, f in grid.items() if k.startswith(f"{wb}/{nb}/")
        },
        "neighbour weight only (base tuned weight, prior)": {
            k: f for k, f in grid.items() if k.startswith(f"{wb}/") and k.endswith(f"/{pb}")
        },
        "answer prior + neighbours (base tuned weight)": {
            k: f for k, f in grid.items() if k.startswith(f"{wb}/")
        },
    }
    if tuned:
        families["tuned weight and prior correction (base neighbours, prior)"] = {
            k: f for k, f in grid.items() if k.endswith(f"/{nb}/{pb}")
        }
        families["prior correction + answer prior (base neighbours)"] = {
            k: f for k, f in grid.items() if f"/{nb}/" in k and k.split("/")[0] in (wb, f"{wb}pc")
        }
    for name, fam in families.items():
        hb, hc, picks = loo(recs, fam, base)
        print(f"\n  LOO, {name} ({len(fam)} candidates), chosen by balanced accuracy:")
        print(f"    base    {fmt(hb)}\n    chosen  {fmt(hc)}\n    picks: {' '.join(picks)}")


if __name__ == "__main__":
    main()
