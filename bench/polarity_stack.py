"""Fit and check the learned polarity combiner of interview answers (kb.coding.polarity_stack).

Reads dumps of `bench/polarity_mix.py dump` (every gold code of the development transcripts with
its rule/feature and fine-tuned readings, its neighbours', the question's orientation and the rule
flags), pooled over dev (d1–d4) and dev3 (e1–e3), and compares, leave-one-transcript-out, the
shipped hand mix (tuned weight, neighbours, answer prior, advice moves) with the combiner:

    python bench/polarity_stack.py loo DUMP [DUMP ...]     # nested LOO, fast and fine-tuned
    python bench/polarity_stack.py fit DUMP [DUMP ...] [--kinds tuned|fast]   # kb/coding/polarity_stack.json
    python bench/polarity_stack.py real --fast-model DIR [--model DIR] --dump DUMP ... [--cache-dir DIR]
        [--dev FILE ...] [--shipped | --stack FILE]

The combiner's settings (L2 strength C; class weight none, the square root of balanced, or
balanced) are chosen inside each split on the six training transcripts (inner LOO, by the mean of
plain and balanced accuracy), so the held-out transcript plays no part in its own prediction.
`fit` chooses them the same way on all seven and fits on all seven; it is deterministic (lbfgs on
fixed data). `real` runs the coder's real path (`Coder.code_texts`, polarity on the codes whose
category is right, as bench/eval_coding.py --only-transcripts) before (the hand mix) and with the
combiner fitted without each transcript.
The dumps carry the fine-tuned readings when they were made with `--model`; the fast combiner
ignores them. They carry the e5 reading (`emb`) when made with `--embedding-c 3` (the shipped
EMBEDDING_POLARITY_C); the fast combiner then reads it too (its sentence's and neighbours'; `--no-e5`
leaves it out), and the fast hand mix it is compared with mixes it in as the coder does
(EMBEDDING_POLARITY_WEIGHT). `fit` refits only the `--kinds` it is given and keeps the other slots of
the file it writes over as they are (the fine-tuned slot's coefficients unchanged by a fast refit).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.polarity_balance import confusion, decide, fmt, scores  # noqa: E402
from kb.coding import polarity_stack as ps  # noqa: E402
from kb.coding.book import POLARITIES  # noqa: E402
from kb.coding.coder import EMBEDDING_POLARITY_WEIGHT, TUNED_POLARITY_WEIGHT, move_advice  # noqa: E402
from kb.coding.context import NEIGHBOUR_POLARITY_WEIGHT  # noqa: E402

CS = (0.03, 0.1, 0.3, 1.0)
WEIGHTS = ("none", "sqrt", "balanced")  # class weights: none, (n / (k·n_c))^½, n / (k·n_c)
Config = tuple[float, str]


def load_dumps(paths: Sequence[Path]) -> list[dict]:
    return [json.loads(x) for p in paths for x in p.read_text(encoding="utf-8").splitlines() if x.strip()]


def row(rec: dict, tuned: bool, e5: bool = False) -> list[float]:
    own = rec["own"]
    return ps.features(
        own["rules"],
        own["tuned"],
        [n["rules"] for n in rec["near"]],
        [n["tuned"] for n in rec["near"]] if tuned else None,
        rec["orientation"],
        own["score"],
        own["recommendation"],
        own["own_need"],
        tuned,
        own.get("emb") if e5 else None,
        [n["emb"] for n in rec["near"]] if e5 else None,
        e5,
    )


def has_e5(recs: Sequence[dict]) -> bool:
    """Whether the dumps carry the e5 reading (`polarity_mix.py dump --embedding-c 3`)."""
    return bool(recs) and all(r["own"].get("emb") is not None for r in recs)


def matrix(recs: Sequence[dict], kind: str, e5: bool = False) -> np.ndarray:
    return np.array([row(r, kind == "tuned", e5) for r in recs])


def fit(
    x: np.ndarray, y: Sequence[str], c: float, weight: str, kind: str, e5: bool = False
) -> ps.PolarityStack:
    """Multinomial logistic regression on standardised inputs, folded back to the raw inputs."""
    from sklearn.linear_model import LogisticRegression

    mu, sd = x.mean(axis=0), x.std(axis=0)
    sd[sd == 0] = 1.0
    labels, counts = np.unique(np.asarray(y), return_counts=True)
    power = {"none": 0.0, "sqrt": 0.5, "balanced": 1.0}[weight]
    cw = {str(k): (len(y) / (len(labels) * n)) ** power for k, n in zip(labels, counts, strict=True)}
    lr = LogisticRegression(C=c, class_weight=cw, max_iter=5000, tol=1e-8)
    lr.fit((x - mu) / sd, list(y))
    classes = [str(k) for k in lr.classes_]
    coef = np.zeros((len(POLARITIES), x.shape[1]))
    intercept = np.full(len(POLARITIES), -30.0)  # a polarity absent from training is never read
    for k, cls in enumerate(classes):
        i = POLARITIES.index(cls)
        coef[i] = lr.coef_[k] / sd
        intercept[i] = lr.intercept_[k] - float((lr.coef_[k] * mu / sd).sum())
    names = ps.feature_names(kind == "tuned", e5)
    return ps.PolarityStack(kind, tuple(POLARITIES), names, coef, intercept)


def moves(p: dict[str, float], rec: dict) -> dict[str, float]:
    """The advice moves of `Coder.polarity`, after the combiner."""
    return move_advice(dict(p), rec["own"]["recommendation"], rec["own"]["own_need"])


def predict(stack: ps.PolarityStack, x: np.ndarray, recs: Sequence[dict]) -> list[str]:
    probs = stack.predict_proba(x)
    return [max(POLARITIES, key=moves(p, r).__getitem__) for p, r in zip(probs, recs, strict=True)]


def criterion(golds: Sequence[str], preds: Sequence[str]) -> float:
    s = scores(golds, preds)
    return (s["acc"] + s["bal"]) / 2


def reads_e5(x: np.ndarray, kind: str) -> bool:
    """Whether input rows of this width carry the e5 reading."""
    return x.shape[1] == len(ps.feature_names(kind == "tuned", True))


def loo_preds(
    recs: list[dict], x: np.ndarray, cfg: Config, kind: str, names: Sequence[str] | None = None
) -> list[str]:
    """Each transcript of `names` (default: all) predicted by a combiner fitted on the others."""
    groups = np.array([r["transcript"] for r in recs])
    y = np.array([r["gold"] for r in recs])
    out = [""] * len(recs)
    for name in names if names is not None else sorted(set(groups)):
        inside, held = groups != name, np.where(groups == name)[0]
        stack = fit(x[inside], y[inside], cfg[0], cfg[1], kind, reads_e5(x, kind))
        for i, p in zip(held, predict(stack, x[held], [recs[i] for i in held]), strict=True):
            out[i] = p
    return out


def choose_config(recs: list[dict], x: np.ndarray, kind: str) -> tuple[Config, dict[Config, float]]:
    """The setting with the best LOO criterion over the transcripts of `recs`."""
    golds = [r["gold"] for r in recs]
    got = {(c, w): criterion(golds, loo_preds(recs, x, (c, w), kind)) for c in CS for w in WEIGHTS}
    best = max(got, key=lambda k: (round(got[k], 6), -k[0]))  # a tie: the stronger regularisation
    return best, got


def nested(recs: list[dict], x: np.ndarray, kind: str) -> tuple[list[str], list[str]]:
    """Held-out predictions of the combiner with its setting chosen inside each split."""
    groups = np.array([r["transcript"] for r in recs])
    y = np.array([r["gold"] for r in recs])
    out, picks = [""] * len(recs), []
    for name in sorted(set(groups)):
        inside, held = np.where(groups != name)[0], np.where(groups == name)[0]
        sub = [recs[i] for i in inside]
        cfg, _ = choose_config(sub, x[inside], kind)
        picks.append(f"{name[:2]}:C{cfg[0]}/{cfg[1][0]}")
        stack = fit(x[inside], y[inside], cfg[0], cfg[1], kind, reads_e5(x, kind))
        for i, p in zip(held, predict(stack, x[held], [recs[i] for i in held]), strict=True):
            out[i] = p
    return out, picks


def show(title: str, recs: list[dict], preds: Sequence[str]) -> None:
    golds = [r["gold"] for r in recs]
    print(f"  {title}: {fmt(scores(golds, preds))}")
    so = sum(g == "success" and p == "obstacle" for g, p in zip(golds, preds, strict=True))
    print(f"    successes read as obstacles {so}")


def per_transcript(recs: list[dict], base: Sequence[str], new: Sequence[str]) -> None:
    names = sorted({r["transcript"] for r in recs})
    up = down = 0
    for name in names:
        idx = [i for i, r in enumerate(recs) if r["transcript"] == name]
        g = [recs[i]["gold"] for i in idx]
        a, b = scores(g, [base[i] for i in idx]), scores(g, [new[i] for i in idx])
        up += b["acc"] > a["acc"]
        down += b["acc"] < a["acc"]
        print(
            f"    {name[:24]:<24} n={len(idx):>3} acc {a['acc']:.3f} -> {b['acc']:.3f}  "
            f"bal {a['bal']:.3f} -> {b['bal']:.3f}"
        )
    print(f"    transcripts by plain accuracy: {up} up, {down} down")


def hand_mix(tuned: bool, e5: bool = False) -> Callable[[dict], str]:
    """The shipped hand mix; `e5`: a fast coder's, with the e5 reading mixed into the sentence's and
    its neighbours' rule/feature reading first (EMBEDDING_POLARITY_WEIGHT), as `Coder._with_embedding`."""
    f = decide(TUNED_POLARITY_WEIGHT if tuned else 0.0, None, NEIGHBOUR_POLARITY_WEIGHT, None)
    if not e5:
        return f
    v = EMBEDDING_POLARITY_WEIGHT

    def mixed(rd: dict) -> dict:
        rules = {k: (1 - v) * rd["rules"][k] + v * rd["emb"][k] for k in POLARITIES}
        return {**rd, "rules": rules}

    return lambda rec: f({**rec, "own": mixed(rec["own"]), "near": [mixed(n) for n in rec["near"]]})


def cmd_loo(paths: Sequence[Path], e5_flag: bool = True) -> None:
    recs = load_dumps(paths)
    has_tuned = recs[0]["own"]["tuned"] is not None
    golds = [r["gold"] for r in recs]
    print(f"{len(recs)} gold codes, {len({r['transcript'] for r in recs})} transcripts")
    for kind in ("fast", "tuned") if has_tuned else ("fast",):
        tuned = kind == "tuned"
        e5 = e5_flag and not tuned and has_e5(recs)
        x = matrix(recs, kind, e5)
        print(f"\n## {kind} coder ({x.shape[1]} inputs{', with the e5 reading' if e5 else ''})")
        if e5:
            plain = [hand_mix(tuned)(r) for r in recs]
            show("hand mix without the e5 reading", recs, plain)
        base = [hand_mix(tuned, e5)(r) for r in recs]
        show(f"hand mix (shipped{' + e5' if e5 else ''}; nothing fitted on dev in this replay)", recs, base)
        print("\n".join(confusion(golds, base)))
        for c in CS:
            for w in WEIGHTS:
                s = scores(golds, loo_preds(recs, x, (c, w), kind))
                print(f"  fixed C={c} {w}: LOO {fmt(s)}")
        new, picks = nested(recs, x, kind)
        show(f"combiner, nested LOO ({' '.join(picks)})", recs, new)
        print("\n".join(confusion(golds, new)))
        per_transcript(recs, base, new)


def cmd_fit(paths: Sequence[Path], out: Path, kinds: Sequence[str], e5_flag: bool = True) -> None:
    """The combiners of `kinds` fitted on every dump record (the fast one with the e5 reading when
    the dumps carry it); the other slots keep what `out` holds now (their coefficients and fit
    notes unchanged), or null (that coder keeps the hand mix) when there is no such file."""
    recs = load_dumps(paths)
    if "tuned" in kinds and recs[0]["own"]["tuned"] is None:
        raise SystemExit("the dumps need the fine-tuned readings (polarity_mix.py dump --model …)")
    y = [r["gold"] for r in recs]
    stacks: dict[str, ps.PolarityStack | None] = dict.fromkeys(ps.KINDS)
    old_info: dict[str, object] = {}
    if out.exists():
        stacks.update({k: v for k, v in ps.load(out).items() if k not in kinds})
        old_info = json.loads(out.read_text(encoding="utf-8")).get("info", {})
    info: dict[str, object] = {
        k: v for k, v in old_info.items() if any(k.startswith(f"{o}_") for o in ps.KINDS if o not in kinds)
    }
    info.update(
        {
            "fitted_on": "gold codes of the dev transcripts (dev_gold + dev3), bench/polarity_stack.py fit",
            "codes": len(recs),
            "transcripts": len({r["transcript"] for r in recs}),
        }
    )
    for kind in kinds:
        e5 = e5_flag and kind == "fast" and has_e5(recs)
        x = matrix(recs, kind, e5)
        cfg, _ = choose_config(recs, x, kind)
        stacks[kind] = fit(x, y, cfg[0], cfg[1], kind, e5)
        info[f"{kind}_C"], info[f"{kind}_class_weight"] = cfg
        info[f"{kind}_e5"] = e5
        print(f"{kind}: C={cfg[0]} class_weight={cfg[1]} e5={e5}")
    ps.dump(stacks, out, dict(sorted(info.items())))
    print(f"wrote {out}")


def cmd_real(
    fast_dir: Path,
    tuned_dir: Path | None,
    dumps: Sequence[Path],
    devs: Sequence[Path],
    cache: Path | None,
    shipped: bool = False,
    e5_flag: bool = True,
    stack_file: Path | None = None,
) -> None:
    """The coder's real path per dev file: the hand mix, then each transcript coded with a combiner
    fitted on the dumps of the other transcripts (settings chosen on those, as `fit`)."""
    from bench.eval_coding import row_context
    from bench.polarity_mix import fast_with_tuned
    from kb.coding.book import load_view
    from kb.coding.coder import Coder

    recs = load_dumps(dumps)
    book = load_view()
    model = fast_with_tuned(book, fast_dir, tuned_dir, cache)
    kind = "tuned" if model.tuned_polarity is not None else "fast"
    coder = Coder(book, model, cache_dir=cache)
    rows = [json.loads(x) for d in devs for x in d.read_text(encoding="utf-8").splitlines() if x.strip()]
    e5 = e5_flag and kind == "fast" and has_e5(recs)
    if e5 and (model.polarity is None or model.polarity.embedding is None):
        raise SystemExit("the fast model has no e5 reading: refit it with the reading, or --no-e5")
    x = matrix(recs, kind, e5)
    y = np.array([r["gold"] for r in recs])
    groups = np.array([r["transcript"] for r in recs])
    print(f"{kind} coder, combiner inputs {x.shape[1]}{' (with the e5 reading)' if e5 else ''}")

    seconds = {False: 0.0, True: 0.0}  # coding time, hand mix / combiner

    def pairs(rs: list[dict], stack: ps.PolarityStack | bool) -> list[tuple[str, str, str]]:
        coder.polarity_stack = stack
        t0 = time.perf_counter()
        res = coder.code_texts([r["text"] for r in rs], contexts=[row_context(r) for r in rs])
        seconds[stack is not False] += time.perf_counter() - t0
        out = []
        for r, got in zip(rs, res, strict=True):
            pred = {c["category"]: c["polarity"] for c in got["codes"]}
            out += [
                (r["transcript"], c["polarity"], pred[c["category"]])
                for c in r["codes"]
                if c["category"] in pred
            ]
        return out

    before = pairs(rows, False)
    after: list[tuple[str, str, str]] = []
    if stack_file is not None:  # a fitted file's slot as it is (a check on a held-back set)
        shipped = True
        stack_of_file = ps.load(stack_file)[kind]
        if stack_of_file is None:
            raise SystemExit(f"{stack_file} has no {kind} combiner")
        after = pairs(rows, stack_of_file)
    elif shipped:  # the shipped file as it is (a check on a held-back set)
        after = pairs(rows, True)
    for name in [] if shipped else sorted({r["transcript"] for r in rows}):
        inside = groups != name
        sub = [r for r, keep in zip(recs, inside, strict=True) if keep]
        cfg, _ = choose_config(sub, x[inside], kind)
        stack = fit(x[inside], y[inside], cfg[0], cfg[1], kind, e5)
        print(f"    without {name[:24]}: C={cfg[0]} class_weight={cfg[1]}", flush=True)
        after += pairs([r for r in rows if r["transcript"] == name], stack)
    print(f"## real path, {kind} coder, {len(before)} codes whose category is right")
    print(f"  coding time: hand mix {seconds[False]:.1f} s, combiner {seconds[True]:.1f} s, {len(rows)} rows")
    for title, got in (("hand mix", before), ("shipped" if shipped else "combiner, LOO", after)):
        g, p = [a[1] for a in got], [a[2] for a in got]
        print(f"  {title}: {fmt(scores(g, p))}")
        print("\n".join(confusion(g, p)))
    for name in sorted({a[0] for a in before}):
        a = scores([t[1] for t in before if t[0] == name], [t[2] for t in before if t[0] == name])
        b = scores([t[1] for t in after if t[0] == name], [t[2] for t in after if t[0] == name])
        print(
            f"    {name[:24]:<24} acc {a['acc']:.3f} -> {b['acc']:.3f}  bal {a['bal']:.3f} -> {b['bal']:.3f}"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    lo = sub.add_parser("loo")
    lo.add_argument("dumps", type=Path, nargs="+")
    fi = sub.add_parser("fit")
    fi.add_argument("dumps", type=Path, nargs="+")
    fi.add_argument("--out", type=Path, default=ps.FILE)
    fi.add_argument("--kinds", default="tuned", help="e.g. fast, fast,tuned (others: kept as they are)")
    re_ = sub.add_parser("real")
    re_.add_argument("--fast-model", type=Path, required=True)
    re_.add_argument("--model", type=Path, default=None)
    re_.add_argument("--dump", type=Path, nargs="+", required=True)
    re_.add_argument(
        "--dev",
        type=Path,
        nargs="+",
        default=[
            ROOT / "eval/dev_transcripts/dev_gold.jsonl",
            ROOT / "eval/dev_transcripts/dev3/dev3_gold.jsonl",
        ],
    )
    re_.add_argument("--cache-dir", type=Path, default=None)
    re_.add_argument("--shipped", action="store_true", help="after: the shipped file, not LOO fits")
    re_.add_argument("--stack", type=Path, default=None, help="after: this combiner file, not LOO fits")
    for p in (lo, fi, re_):
        p.add_argument("--no-e5", action="store_true", help="the fast combiner without the e5 reading")
    args = ap.parse_args()
    if args.cmd == "loo":
        cmd_loo(args.dumps, not args.no_e5)
    elif args.cmd == "fit":
        cmd_fit(args.dumps, args.out, args.kinds.split(","), not args.no_e5)
    else:
        cmd_real(
            args.fast_model,
            args.model,
            args.dump,
            args.dev,
            args.cache_dir,
            args.shipped,
            not args.no_e5,
            args.stack,
        )


if __name__ == "__main__":
    main()
