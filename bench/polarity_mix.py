"""Development check for how the coder combines its polarity readings, on the dev transcripts.

With a fine-tuned model, `Coder._polarity` mixes two readings of a (sentence, category) pair: the
feature/rule polarity model (per category) and the fine-tuned e5 text classifier (one reading per
text, category-blind). Interview answers then mix in their neighbours' polarity and the question's
prior (kb.coding.context). The fine-tuned model never sees the development transcripts, so one
trained model serves every mixing choice: `dump` reads every dev gold code once (both parts, for
the sentence, its neighbours and the whole answer) into a JSONL file, and `choose` replays the
coder's steps on it for each candidate, on all dev and leave-one-transcript-out. The fine-tuned
coder's answers are now read by a learned combiner fitted on these dumps (bench/polarity_stack.py).

    python bench/polarity_mix.py train --out DIR        # the fine-tuned polarity classifier (slow)
    python bench/polarity_mix.py dump --model DIR --out dump.jsonl [--cache-dir DIR]
    python bench/polarity_mix.py choose dump.jsonl
    python bench/polarity_mix.py code --fast-model DIR [--model DIR] --weights 0.5,0.3 [--cache-dir DIR]

`code` runs the coder's real path (`Coder.code_texts` with each row's interview context, polarity
on the codes whose category is right, as bench/eval_coding.py --only-transcripts) with the fast
category models (fitted into --fast-model once, as `kb build` fits them) and the fine-tuned polarity
classifier of --model, at each tuned weight: the fine-tuned category classifier would take an hour
more on shared cores and changes which codes are right, not how polarity is read.

`train` fine-tunes only the polarity classifier, exactly as `kb build` does (same rows, epochs and
frozen layers, seeded on its own; the category classifier plays no part in polarity). `--model`: that
directory or a coder saved by `kb build`; the rule/feature polarity model is fitted when the saved
model has none. Without `--model` the tuned columns are empty (the fast coder).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kb.coding.book import POLARITIES, load_view  # noqa: E402
from kb.coding.coder import TUNED_POLARITY_WEIGHT, Coder, move_advice  # noqa: E402
from kb.coding.context import NEIGHBOUR_POLARITY_WEIGHT  # noqa: E402
from kb.coding.data import build_training_set, load_gold, load_written, without_transcripts  # noqa: E402
from kb.coding.question_polarity import answer_orientation, answer_weights  # noqa: E402
from kb.coding.spoken import is_own_need, is_recommendation  # noqa: E402
from kb.coding.training import CoderModel, fit_polarity  # noqa: E402

DEV = ROOT / "eval" / "dev_transcripts" / "dev_gold.jsonl"


# ----- dump ----------------------------------------------------------------------------------
def answers_of(rows: list[dict]) -> dict[tuple[str, object], list[dict]]:
    """The sentences of each answer (transcript, turn), in order."""
    out: dict[tuple[str, object], list[dict]] = defaultdict(list)
    for r in rows:
        out[(r["transcript"], r["turn"])].append(r)
    return out


def dump(
    model_dir: Path | None,
    out: Path,
    cache_dir: Path | None,
    dev_path: Path,
    embedding_cs: Sequence[float] = (),
) -> None:
    """Every dev gold code with its readings; `embedding_cs`: L2 strengths of the embedding polarity
    reading to dump (`emb_c`, by strength; `emb`: the first one's)."""
    book = load_view()
    gold, written = load_gold(), without_transcripts(load_written())
    dev = [json.loads(x) for x in dev_path.read_text(encoding="utf-8").splitlines() if x.strip()]
    coder = Coder(book, embedder="use", cache_dir=cache_dir)
    if embedding_cs:  # the polarity model's e5 reading (kb.coding.coder.POLARITY_EMBEDDER)
        coder.use_polarity_embedder()
    model = (CoderModel.load(model_dir) if model_dir else None) or CoderModel(
        "full", book.ids, book.fingerprint(), coder.embedder_spec
    )
    data = build_training_set(book, gold, written=written)
    train = coder.analyzer.analyse(data.texts, exclude_self=True)
    ids = [c for c in book.ids if c in data.labels]
    if model.polarity is None:  # a model with only the fine-tuned polarity part: fit the rest as kb build
        model.polarity = fit_polarity(train, data, ids, 3.0)
    assert model.polarity is not None
    # the embedding reading refitted at each L2 strength on the same rows (kb build fits the first)
    embedding_models = {c: fit_polarity(train, data, ids, 3.0, embedding_c=c) for c in embedding_cs}
    turns = answers_of(dev)
    turn_text = {k: " ".join(r["text"] for r in v) for k, v in turns.items()}
    last_text = {k: v[-1]["text"] for k, v in turns.items()}

    def window(r: dict) -> str:
        return " ".join(t for t in (r.get("prev"), r["text"], r.get("next")) if t)

    texts = [r["text"] for r in dev] + [t for r in dev for t in (r.get("prev"), r.get("next")) if t]
    texts += list(turn_text.values()) + [window(r) for r in dev]
    texts += [f"{r['question']} {turn_text[(r['transcript'], r['turn'])]}" for r in dev if r.get("question")]
    texts = list(dict.fromkeys(texts))
    analysis = dict(zip(texts, coder.analyzer.analyse(texts), strict=True))
    coder.embedder.save()
    if coder.analyzer.polarity_embedder is not None:
        coder.analyzer.polarity_embedder.save()
    tuned = model.tuned_polarity
    tuned_of: dict[str, dict[str, float]] = {}
    if tuned is not None:
        probs = tuned.predict_proba(texts)
        tuned_of = {
            t: {p: float(row[tuned.ids.index(p)]) for p in tuned.ids}
            for t, row in zip(texts, probs, strict=True)
        }

    emb_of: dict[str, dict[str, dict[str, float]]] = {t: {} for t in texts}
    for c, pm in embedding_models.items():  # the embedding reading at each L2 strength (category-blind)
        for t, p in zip(texts, pm.predict_embedding([analysis[t] for t in texts]) or [], strict=True):
            emb_of[t][str(c)] = p

    def reading(text: str, cat: str, group: str | None) -> dict:
        a = analysis[text]
        res = a.polarity_for(cat)
        return {
            "rules": model.polarity.predict_proba([a], [cat])[0],
            "tuned": tuned_of.get(text),
            "emb": emb_of[text].get(str(embedding_cs[0])) if embedding_cs else None,
            "emb_c": emb_of[text],
            "score": res.score,
            "recommendation": is_recommendation(a.spoken, group),
            "own_need": is_own_need(a.spoken),
            "spoken": dict(a.spoken),
        }

    with out.open("w", encoding="utf-8") as f:
        for r in dev:
            key = (r["transcript"], r["turn"])
            a = analysis[r["text"]]
            for c in r["codes"]:
                cat, group = c["category"], r.get("group")
                q = r.get("question")
                rec = {
                    "id": r["id"],
                    "transcript": r["transcript"],
                    "category": cat,
                    "gold": c["polarity"],
                    "prior": answer_weights(q, a.spoken),
                    "orientation": answer_orientation(q, a.spoken),
                    "own": reading(r["text"], cat, group),
                    "near": [reading(t, cat, group) for t in (r.get("prev"), r.get("next")) if t],
                    "turn": reading(turn_text[key], cat, group),
                    "turn_q": reading(f"{q} {turn_text[key]}", cat, group) if q else None,
                    "window": reading(window(r), cat, group),
                    "last": reading(last_text[key], cat, group),
                    "sents": [reading(o["text"], cat, group) for o in turns[key] if o["id"] != r["id"]],
                }
                f.write(json.dumps(rec, ensure_ascii=False) + "\n")
    print(f"wrote {out}")


def train(outs: list[Path], balanced: list[bool]) -> None:
    """One polarity classifier per (out, balanced) pair, in one process: the frozen layers' states
    are computed once and shared (kb.coding.finetune's cache)."""
    from kb.coding.finetune import TunedClassifier
    from kb.coding.training import POLARITY_EPOCHS, POLARITY_FROZEN, finetune_rows

    book = load_view()
    data = build_training_set(book, load_gold(), written=without_transcripts(load_written()))
    ids = [c for c in book.ids if c in data.labels]
    _, _, texts, polar = finetune_rows(data, ids)
    counts = {p: int((polar == k).sum()) for k, p in enumerate(POLARITIES)}
    print(f"{len(texts)} training sentences by polarity: {counts}", flush=True)
    for out, bal in zip(outs, balanced, strict=True):
        tuned = TunedClassifier.fit(
            texts, polar, list(POLARITIES), POLARITY_EPOCHS, POLARITY_FROZEN, progress=True, balanced=bal
        )
        model = CoderModel("full", ids, book.fingerprint(), "use", n_train=len(data))
        model.tuned_polarity = tuned
        model.save(out)
        print(f"saved {out} (balanced={bal}, {len(texts)} sentences)", flush=True)


def fast_with_tuned(
    book: object, fast_dir: Path, tuned_dir: Path | None, cache_dir: Path | None
) -> CoderModel:
    """The fast category and polarity models (fitted once into `fast_dir`, as `kb build` fits them)
    with the fine-tuned polarity classifier of `tuned_dir` (none: the fast coder)."""
    model = CoderModel.load(fast_dir)
    if model is None:
        fresh = Coder(book, embedder="use", cache_dir=cache_dir)
        fresh.fit(
            build_training_set(book, load_gold(), written=without_transcripts(load_written())), tune_epochs=0
        )
        assert fresh.model is not None
        fresh.model.save(fast_dir)
        fresh.embedder.save()
        model = fresh.model
    tuned = CoderModel.load(tuned_dir) if tuned_dir else None
    model.tuned_polarity = tuned.tuned_polarity if tuned else None
    return model


def code(
    fast_dir: Path,
    tuned_dir: Path | None,
    weights: list[float],
    cache_dir: Path | None,
    dev: Path,
    variants: Sequence[str] = ("shipped",),
    embedding_weights: Sequence[float] | None = None,
) -> None:
    """`variants`: "shipped", or "n<neighbour weight>/o<obstacle weight>,n<neutral weight>" for the
    answer prior of bench/polarity_balance.prior_table (e.g. n0.3/o1.5,n1.0); `embedding_weights`:
    the fast coder's e5 reading weights to run (kb.coding.coder.EMBEDDING_POLARITY_WEIGHT; None: the
    shipped one)."""
    from bench.eval_coding import metrics, polarity_confusion, row_context
    from bench.polarity_balance import fmt, prior_table, scores
    from kb.coding import coder as coder_module
    from kb.coding import context as context_module
    from kb.coding import question_polarity

    book = load_view()
    coder = Coder(book, fast_with_tuned(book, fast_dir, tuned_dir, cache_dir), cache_dir=cache_dir)
    rows = [json.loads(x) for x in dev.read_text(encoding="utf-8").splitlines() if x.strip()]
    ctx = [row_context(r) for r in rows]
    shipped_table, shipped_nw = (
        question_polarity.ORIENTATION_WEIGHTS,
        context_module.NEIGHBOUR_POLARITY_WEIGHT,
    )
    for variant in variants:
        if variant == "shipped":
            table, nw = shipped_table, shipped_nw
        else:
            near, prior = variant.split("/")
            o, n = (float(x[1:]) for x in prior.split(","))
            table, nw = prior_table(o, n), float(near[1:])
        question_polarity.ORIENTATION_WEIGHTS, context_module.NEIGHBOUR_POLARITY_WEIGHT = table, nw
        shipped_v = coder_module.EMBEDDING_POLARITY_WEIGHT
        for w, v in [(w, v) for w in weights for v in embedding_weights or [shipped_v]]:
            coder_module.TUNED_POLARITY_WEIGHT = w
            coder_module.EMBEDDING_POLARITY_WEIGHT = v
            res = coder.code_texts([r["text"] for r in rows], contexts=ctx)
            coder_module.EMBEDDING_POLARITY_WEIGHT = shipped_v
            preds = [{c["category"]: c["polarity"] for c in r["codes"]} for r in res]
            m = metrics(rows, preds, book.ids)
            pairs = [
                (c["polarity"], p[c["category"]])
                for r, p in zip(rows, preds, strict=True)
                for c in r["codes"]
                if c["category"] in p
            ]
            s = scores([g for g, _ in pairs], [q for _, q in pairs])
            print(
                f"{variant}, tuned weight {w}, e5 weight {v}: macro-F1 {m['macro_f1']:.3f} "
                f"polarity (n={m['polarity_n']}) {fmt(s)}"
            )
            print("\n".join(polarity_confusion(rows, preds)), flush=True)
    question_polarity.ORIENTATION_WEIGHTS, context_module.NEIGHBOUR_POLARITY_WEIGHT = (
        shipped_table,
        shipped_nw,
    )


# ----- choose --------------------------------------------------------------------------------
Probs = dict[str, float]


def norm(p: Probs) -> Probs:
    s = sum(p.values())
    return {k: v / s for k, v in p.items()} if s > 0 else p


def mixed(rd: dict, w: float, trusted: Sequence[str] = POLARITIES, gate: float | None = None) -> Probs:
    """The coder's reading of one text: rules and tuned mixed with tuned weight `w` (on the
    polarities in `trusted`), `gate`: the tuned weight where the rule score is 0 (None: w)."""
    rules, tuned = rd["rules"], rd["tuned"]
    if tuned is None:
        p = dict(rules)
    else:
        wt = gate if gate is not None and rd["score"] == 0 else w
        p = norm(
            {
                k: (1 - wt) * rules[k] + wt * tuned.get(k, 0.0) if k in trusted else rules[k]
                for k in POLARITIES
            }
        )
    return advice_moves(p, rd)


def advice_moves(p: dict[str, float], rd: dict) -> dict[str, float]:
    """`Coder.polarity`'s last step: advice to another actor turns an obstacle reading into a
    recommendation, a need of the case's own turns a recommendation reading into an obstacle."""
    return move_advice(p, rd["recommendation"], rd["own_need"])


def final(
    rec: dict,
    read: Callable[[dict], Probs],
    nw: float,
    aw: float = 0.0,
    source: str = "turn",
    scope: str = "empty",
) -> str:
    """The polarity label the coder gives: own reading, neighbours (weight nw), the whole answer's
    reading (weight aw; `scope` empty: on sentences without rule evidence, all: on every sentence,
    swap: instead of the neighbours on sentences without rule evidence), question prior."""
    p = read(rec["own"])
    empty = rec["own"]["score"] == 0 and not rec["own"]["recommendation"]
    near = [read(n) for n in rec["near"]]
    if near and nw > 0 and not (scope == "swap" and empty and aw > 0):
        mean = {k: sum(n[k] for n in near) / len(near) for k in p}
        p = {k: (1 - nw) * p[k] + nw * mean[k] for k in p}
    if aw > 0 and (scope == "all" or empty):
        whole = answer_reading(rec, read, source)
        if whole is not None:
            p = {k: (1 - aw) * p[k] + aw * whole[k] for k in p}
    return max(POLARITIES, key=lambda k: p[k] * rec["prior"].get(k, 1.0))


def answer_reading(rec: dict, read: Callable[[dict], Probs], source: str) -> Probs | None:
    """How the speaker evaluates the whole answer: the model on the joined answer (`turn`), with its
    question (`turn_q`), on the sentence with its neighbours (`window`), on the answer's last sentence
    (`last`), or the mean reading of the answer's other sentences (`mean`) / of those with rule
    evidence (`evid`)."""
    if source in ("mean", "evid"):
        rows = [s for s in rec.get("sents", []) if source == "mean" or s["score"] != 0]
        if not rows:
            return None
        got = [read(s) for s in rows]
        return {k: sum(g[k] for g in got) / len(got) for k in POLARITIES}
    return read(rec.get(source) or rec["turn"])


def accuracy(recs: list[dict], f: Callable[[dict], str]) -> float:
    return sum(f(r) == r["gold"] for r in recs) / len(recs) if recs else 0.0


def loo(
    recs: list[dict], grid: dict[str, Callable[[dict], str]], base: str
) -> tuple[float, float, list[str]]:
    """Leave-one-transcript-out: a candidate chosen on three transcripts, scored on the fourth.
    Returns (base accuracy held out, chosen accuracy held out, the choices)."""
    names = sorted({r["transcript"] for r in recs})
    hb = hc = 0
    picks = []
    for name in names:
        inside = [r for r in recs if r["transcript"] != name]
        out = [r for r in recs if r["transcript"] == name]
        best = max(grid, key=lambda k: (accuracy(inside, grid[k]), k == base))
        picks.append(f"{name[:2]}:{best}")
        hb += sum(grid[base](r) == r["gold"] for r in out)
        hc += sum(grid[best](r) == r["gold"] for r in out)
    return hb / len(recs), hc / len(recs), picks


def report(title: str, recs: list[dict], grid: dict[str, Callable[[dict], str]], base: str) -> None:
    print(f"\n## {title}")
    scores = {k: accuracy(recs, f) for k, f in grid.items()}
    top = sorted(scores, key=lambda k: -scores[k])[:6]
    print(f"  all dev: {base} {scores[base]:.3f}; best " + ", ".join(f"{k} {scores[k]:.3f}" for k in top))
    b, c, picks = loo(recs, grid, base)
    print(f"  LOO: {base} {b:.3f} -> chosen {c:.3f}  ({' '.join(picks)})")


def recall(recs: list[dict], f: Callable[[dict], str]) -> str:
    out = []
    for pol in POLARITIES:
        sub = [r for r in recs if r["gold"] == pol]
        if sub:
            out.append(f"{pol} {sum(f(r) == pol for r in sub)}/{len(sub)}")
    return " · ".join(out)


SOURCES = ("turn", "turn_q", "window", "last", "mean", "evid")


def choose(path: Path) -> None:
    recs = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]
    tuned = recs[0]["own"]["tuned"] is not None
    nw0 = NEIGHBOUR_POLARITY_WEIGHT
    print(f"{len(recs)} dev gold codes; tuned readings: {tuned}")

    def plain(w: float, **kw: object) -> Callable[[dict], str]:
        return lambda r: final(r, lambda rd: mixed(rd, w), nw0, **kw)  # type: ignore[arg-type]

    # the parts alone, before neighbours and prior
    for name, read in (("rules", lambda rd: mixed(rd, 0.0)), ("tuned", lambda rd: mixed(rd, 1.0))):
        if name == "tuned" and not tuned:
            continue
        f = lambda r, read=read: max(POLARITIES, key=read(r["own"]).get)  # noqa: E731
        print(f"  {name} alone (no neighbours, no prior): {accuracy(recs, f):.3f}  {recall(recs, f)}")
    ws = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0] if tuned else [0.0]
    current = TUNED_POLARITY_WEIGHT if tuned else 0.0  # the shipped weight
    for w in ws:
        print(f"  w={w}: {accuracy(recs, plain(w)):.3f}  {recall(recs, plain(w))}")
    if tuned:
        report("tuned weight (linear mix)", recs, {f"w{w}": plain(w) for w in ws}, f"w{current}")
        gates = {
            f"w{w}/g{g}": (lambda r, w=w, g=g: final(r, lambda rd: mixed(rd, w, gate=g), nw0))
            for w in (0.0, 0.1, 0.2, 0.3, 0.5)
            for g in (0.0, 0.2, 0.3, 0.5, 0.7, 1.0)
        }
        report(
            "tuned weight where the rules have evidence / where they have none",
            recs,
            gates,
            f"w{current}/g{current}",
        )
        trusted_sets = {
            "all": POLARITIES,
            "s+o": ("success", "obstacle"),
            "s": ("success",),
            "o": ("obstacle",),
            "s+o+n": ("success", "obstacle", "neutral"),
            "n": ("neutral",),
        }
        per = {
            f"{k}@{w}": (lambda r, t=t, w=w: final(r, lambda rd: mixed(rd, w, t), nw0))
            for k, t in trusted_sets.items()
            for w in (0.2, 0.3, 0.5)
        }
        report("tuned only on some polarities", recs, per, f"all@{current}")
    # task 2: the whole answer's reading vs the neighbours, at the weight each mix uses
    for w in sorted({current, 0.0, 0.5}) if tuned else [0.0]:
        read = lambda rd, w=w: mixed(rd, w)  # noqa: E731
        grid: dict[str, Callable[[dict], str]] = {}
        for nw in (0.0, 0.1, 0.2, 0.3):
            for aw in (0.0, 0.1, 0.2, 0.3, 0.5):
                for src in SOURCES:
                    for scope in ("empty", "all", "swap"):
                        if aw == 0 and (src != "turn" or scope != "empty"):
                            continue
                        key = f"n{nw}/a{aw}/{src}/{scope}"
                        grid[key] = lambda r, nw=nw, aw=aw, src=src, scope=scope, read=read: final(
                            r, read, nw, aw, src, scope
                        )
        report(
            f"whole-answer reading vs neighbours (tuned weight {w})", recs, grid, f"n{nw0}/a0.0/turn/empty"
        )
        for src in SOURCES:
            sub = {k: g for k, g in grid.items() if f"/{src}/" in k or "/a0.0/" in k}
            report(f"  only source {src} (tuned weight {w})", recs, sub, f"n{nw0}/a0.0/turn/empty")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("dump")
    d.add_argument("--model", type=Path, default=None)
    d.add_argument("--out", type=Path, required=True)
    d.add_argument("--cache-dir", type=Path, default=None)
    d.add_argument("--dev", type=Path, default=DEV)
    d.add_argument("--embedding-c", default="", help="embedding readings' L2 strengths, e.g. 1,0.3,3")
    t = sub.add_parser("train")
    t.add_argument("--out", type=Path, nargs="+", required=True)
    t.add_argument("--balanced", default="", help="per --out: 1 for class-balanced loss, e.g. 0,1")
    k = sub.add_parser("code")
    k.add_argument("--fast-model", type=Path, required=True)
    k.add_argument("--model", type=Path, default=None)
    k.add_argument("--weights", default="0.5,0.3")
    k.add_argument("--cache-dir", type=Path, default=None)
    k.add_argument("--dev", type=Path, default=DEV)
    k.add_argument("--variants", default="shipped", help="';'-separated, e.g. shipped;n0.3/o1.5,n1.0")
    k.add_argument("--embedding-weights", default="", help="fast coder's e5 reading weights, e.g. 0,0.3")
    c = sub.add_parser("choose")
    c.add_argument("dump", type=Path)
    args = ap.parse_args()
    if args.cmd == "train":
        flags = [x == "1" for x in args.balanced.split(",")] if args.balanced else [False] * len(args.out)
        train(args.out, flags)
    elif args.cmd == "code":
        weights = [float(w) for w in args.weights.split(",")]
        ev = [float(v) for v in args.embedding_weights.split(",") if v] or None
        code(args.fast_model, args.model, weights, args.cache_dir, args.dev, args.variants.split(";"), ev)
    elif args.cmd == "dump":
        cs = [float(c) for c in args.embedding_c.split(",") if c]
        dump(args.model, args.out, args.cache_dir, args.dev, cs)
    else:
        choose(args.dump)


if __name__ == "__main__":
    main()
