"""Development bench for the learned category combiner of interview answers (kb.coding.category_stack).

python bench/category_stack.py train --out DIR [--fast] [--cache-dir DIR]
python bench/category_stack.py dump --model DIR --out dump.jsonl [--dev PATH] [--cache-dir DIR]
python bench/category_stack.py loo-dump --out DIR [--dev PATH ...] [--cache-dir DIR]  # fit per transcript
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.eval_coding import TUNE_EPOCHS, metrics, row_context  # noqa: E402
from kb.coding import category_stack as cs  # noqa: E402
from kb.coding.answers import ANSWER_CALIBRATION  # noqa: E402
from kb.coding.book import load_view  # noqa: E402
from kb.coding.coder import Coder  # noqa: E402
from kb.coding.context import FALLBACK_MIN, is_answer, is_thin  # noqa: E402
from kb.coding.data import build_training_set, load_gold, load_written, without_transcripts  # noqa: E402
from kb.coding.spoken import substantive  # noqa: E402
from kb.coding.training import CoderModel  # noqa: E402

CS = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0)
TS = tuple(round(x, 3) for x in np.arange(0.15, 0.625, 0.025))
UNCODED_SLACK = 0.05  # the issue's constraint: uncoded share within 5 points of the coders'
DEV_FILES = [
    ROOT / "eval" / "dev_transcripts" / "dev_gold.jsonl",
    ROOT / "eval" / "dev_transcripts" / "dev3" / "dev3_gold.jsonl",
]


def read_rows(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


# ----- train / dump --------------------------------------------------------------------------
def train(out: Path, fast: bool, cache_dir: Path | None) -> None:
    """The coder exactly as `kb build` and bench/eval_coding.py train it (report gold + written)."""
    t0 = time.time()
    book = load_view()
    coder = Coder(book, embedder="use", cache_dir=cache_dir)
    data = build_training_set(book, load_gold(), written=without_transcripts(load_written()))
    coder.fit(data, tune_epochs=0 if fast else TUNE_EPOCHS)
    coder.save(out)
    print(f"saved {out} ({time.time() - t0:.0f} s, tune_epochs {0 if fast else TUNE_EPOCHS})", flush=True)


def dump(model_dir: Path, out: Path, dev_path: Path, cache_dir: Path | None) -> dict:
    """Every sentence of the dev file as the coder scores it (`Coder.score_texts`), with the
    parts of the context blend, and the current choice's predictions and metrics."""
    book = load_view()
    model = CoderModel.load(model_dir)
    if model is None:
        raise SystemExit(f"no coder model in {model_dir}")
    coder = Coder(book, model, cache_dir=cache_dir)
    rows = read_rows(dev_path)
    ctx = [row_context(r) for r in rows]
    calls: list[tuple[list, np.ndarray]] = []
    plain = coder.score_analyses

    def recording(analyses: list) -> tuple[list[str], np.ndarray, np.ndarray]:
        res = plain(analyses)
        calls.append(([a.text for a in analyses], res[2]))
        return res

    coder.score_analyses = recording  # type: ignore[method-assign]
    scored = coder.score_texts([r["text"] for r in rows], contexts=ctx)
    coder.score_analyses = plain  # type: ignore[method-assign]
    own_raw = calls[0][1]
    ext = {t: s for texts, scores in calls[1:] for t, s in zip(texts, scores, strict=True)}
    tuned = None
    if model.tuned is not None:
        probs = model.tuned.predict_proba([a.text for a in scored.analyses])
        by_cat = dict(zip(model.tuned.ids, probs.T, strict=True))
        tuned = np.array([by_cat.get(c, np.zeros(len(scored.analyses))) for c in scored.cats]).T
    chosen = coder.choose(scored)
    res = coder.assemble(scored, chosen)
    preds = [{c["category"]: c["polarity"] for c in r["codes"]} for r in res]
    m = metrics(rows, preds, book.ids)
    n = len(scored.analyses)
    with out.open("w", encoding="utf-8") as fh:
        for i, a in enumerate(scored.analyses):
            r, c = rows[scored.owner[i]], scored.ctx[scored.owner[i]]
            neigh_idx = [k for k in (i - 1, i + 1) if 0 <= k < n and scored.owner[k] == scored.owner[i]]
            neigh = [own_raw[k] for k in neigh_idx]
            if not (i and scored.owner[i - 1] == scored.owner[i]) and c.prev in ext:
                neigh.append(ext[c.prev])
            if not (i + 1 < n and scored.owner[i + 1] == scored.owner[i]) and c.next in ext:
                neigh.append(ext[c.next])
            assert scored.question is not None and scored.neighbours is not None
            if neigh:  # the dump's own reading of the context parts equals the coder's
                assert np.allclose(np.max(neigh, axis=0), scored.neighbours[i])
            assert np.isnan(scored.neighbours[i]).all() == (not neigh)
            rec = {
                "file": dev_path.name,
                "transcript": r["transcript"],
                "row": scored.owner[i],
                "id": r["id"],
                "text": a.text,
                "gold": sorted({g["category"] for g in r["codes"]}),
                "answer": is_answer(c),
                "interviewer": False,
                "n_lemmas": len(a.lemmas),
                "n_chars": len(a.text),
                "thin": is_thin(a),
                "substantive": substantive(a.text, a.lemmas),
                "own": scored.own[i].tolist(),
                "own_raw": own_raw[i].tolist(),
                "raw": scored.raw[i].tolist(),
                "conf": scored.conf[i].tolist(),
                "question": None if np.isnan(scored.question[i]).all() else scored.question[i].tolist(),
                "neighbours": None if np.isnan(scored.neighbours[i]).all() else scored.neighbours[i].tolist(),
                "tuned": tuned[i].tolist() if tuned is not None else None,
                "chosen": [scored.cats[j] for j in np.flatnonzero(chosen[i])],
                "pred": preds[scored.owner[i]],
            }
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
    summary = {
        "file": str(dev_path),
        "cats": scored.cats,
        "thresholds": {c: model.thresholds.get(c, 0.5) for c in scored.cats},
        "macro_f1": m["macro_f1"],
        "uncoded": m["uncoded"],
        "gold_uncoded": m["gold_uncoded"],
        "polarity_acc": m["polarity_acc"],
    }
    out.with_suffix(".summary.json").write_text(json.dumps(summary, ensure_ascii=False, indent=1))
    print(
        f"{dev_path.name}: {n} sentences; macro-F1 {m['macro_f1']:.3f} uncoded {m['uncoded']:.1%} "
        f"(gold {m['gold_uncoded']:.1%}) polarity {m['polarity_acc']:.3f}",
        flush=True,
    )
    return summary


def loo_dump(out_dir: Path, dev_paths: list[Path], cache_dir: Path | None) -> None:
    """Readings of each dev transcript by a fast coder trained as `kb build` trains it but without
    that transcript's rows: how the shipped coder, which trains on every dev transcript, reads a new one.

    One fit per transcript (caches shared), one dump per transcript (`<out_dir>/<name>.jsonl`)."""
    book, gold, written = load_view(), load_gold(), load_written()
    rows = [r for path in dev_paths for r in read_rows(path)]
    names = list(dict.fromkeys(r["transcript"] for r in rows))
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in names:
        t0 = time.time()
        own = [r for r in rows if r["transcript"] == name]
        model_dir = out_dir / f"model-{Path(name).stem}"
        coder = Coder(book, embedder="use", cache_dir=cache_dir)
        data = build_training_set(book, gold, written=without_transcripts(written, own))
        coder.fit(data, tune_epochs=0, polarity_embedding=False)
        coder.save(model_dir)
        dev = out_dir / f"{Path(name).stem}.dev.jsonl"
        dev.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in own), encoding="utf-8")
        dump(model_dir, out_dir / f"{Path(name).stem}.jsonl", dev, cache_dir)
        print(f"{name}: fit and dump {time.time() - t0:.0f} s", flush=True)


# ----- replay --------------------------------------------------------------------------------
class Dump:
    """The dumped sentences of one or more dev files as arrays (one row per sentence)."""

    def __init__(self, paths: list[Path]) -> None:
        recs = [json.loads(x) for p in paths for x in p.read_text(encoding="utf-8").splitlines() if x.strip()]
        summaries = [json.loads(p.with_suffix(".summary.json").read_text()) for p in paths]
        self.cats: list[str] = summaries[0]["cats"]
        if any(sm["cats"] != self.cats for sm in summaries):
            raise SystemExit("dumps of different codebooks")
        self.summaries = summaries
        self.recs = recs
        k = len(self.cats)

        def arr(key: str) -> np.ndarray:
            return np.array([r[key] if r[key] is not None else [np.nan] * k for r in recs], float)

        self.own, self.conf, self.raw = arr("own"), arr("conf"), arr("raw")
        self.own_raw, self.question, self.neighbours = arr("own_raw"), arr("question"), arr("neighbours")
        self.tuned = arr("tuned")
        self.n_lemmas = np.array([r["n_lemmas"] for r in recs])
        self.thin = np.array([r["thin"] for r in recs], bool)
        self.substantive = np.array([r["substantive"] for r in recs], bool)
        self.answer = np.array([r["answer"] for r in recs], bool)
        self.transcript = np.array([r["transcript"] for r in recs])
        # rows: a gold row may hold several sentences; it is coded with their union
        keys = list(dict.fromkeys((r["file"], r["row"]) for r in recs))
        index = {key: m for m, key in enumerate(keys)}
        self.row = np.array([index[(r["file"], r["row"])] for r in recs])
        first = {}
        for r in recs:
            first.setdefault((r["file"], r["row"]), r)
        self.row_transcript = np.array([first[key]["transcript"] for key in keys])
        self.row_file = np.array([key[0] for key in keys])
        self.gold_rows = np.array([[c in first[key]["gold"] for c in self.cats] for key in keys], bool)
        self.y = self.gold_rows[self.row]  # [sentences, k]: the sentence's row has the category
        self.dumped = np.array([[c in r["chosen"] for c in self.cats] for r in recs], bool)
        self.names = sorted(set(self.transcript.tolist()))

    def x(self, slopes: tuple[str, ...] = (), extra: tuple[str, ...] = ()) -> np.ndarray:
        """[sentences · k, features] combiner inputs (kb.coding.category_stack.features) + extras."""
        x = cs.features(self.own, self.conf, self.raw, self.question, self.neighbours, self.n_lemmas, slopes)
        cols = []
        for e in extra:
            if e == "tuned":  # the fine-tuned classifier's score and the logistic models', before context
                cols += [self.tuned.reshape(-1), (2 * self.own_raw - self.tuned).reshape(-1)]
            elif e == "own_raw":
                cols.append(self.own_raw.reshape(-1))
            elif e == "own_logit":
                q = np.clip(self.own_raw, 1e-3, 1 - 1e-3)
                cols.append(np.log(q / (1 - q)).reshape(-1))
            elif e == "thin":
                cols.append(np.repeat(self.thin.astype(float), len(self.cats)))
            elif e == "hand":  # the current hand-composed choice
                cols.append(self.hand_keep().reshape(-1).astype(float))
            else:
                raise ValueError(e)
        return np.column_stack([x, *cols]) if cols else x

    def hand_keep(self) -> np.ndarray:
        """The current choice before the fallback: conf ≥ 0.5, within 0.2 of the sentence's best."""
        c = self.conf
        keep = c >= 0.5
        best = np.argmax(c, axis=1)
        top = c[np.arange(len(c)), best]
        keep[np.arange(len(c)), best] |= top >= 0.5
        keep &= c >= (top - (ANSWER_CALIBRATION.keep_within or 1.0))[:, None]
        return keep & self.answer[:, None]

    def finish(self, keep: np.ndarray) -> np.ndarray:
        """The top-category fallback of `Coder.choose` on a [sentences, k] choice."""
        out = keep.copy()
        empty = ~out.any(axis=1) & self.answer & self.substantive
        best = np.argmax(self.conf, axis=1)
        fill = empty & (self.conf[np.arange(len(best)), best] >= FALLBACK_MIN)
        out[np.flatnonzero(fill), best[fill]] = True
        return out

    def rows_pred(self, chosen: np.ndarray) -> np.ndarray:
        out = np.zeros_like(self.gold_rows)
        np.logical_or.at(out, self.row, chosen)
        return out

    def score(self, chosen: np.ndarray, mask_rows: np.ndarray) -> dict:
        """Macro-F1 (categories with gold support in these rows), uncoded share, per-category F1."""
        pred, gold = self.rows_pred(chosen)[mask_rows], self.gold_rows[mask_rows]
        tp = (pred & gold).sum(0)
        fp = (pred & ~gold).sum(0)
        fn = (~pred & gold).sum(0)
        f1 = np.where(tp > 0, 2 * tp / np.maximum(2 * tp + fp + fn, 1), 0.0)
        sup = gold.sum(0) > 0
        return {
            "macro_f1": float(f1[sup].mean()),
            "uncoded": float((~pred.any(1)).mean()),
            "gold_uncoded": float((~gold.any(1)).mean()),
            "f1": f1,
            "pred": pred.sum(0),
            "support": gold.sum(0),
            "precision": np.where(tp + fp > 0, tp / np.maximum(tp + fp, 1), 0.0),
        }

    def by_transcript(self, chosen: np.ndarray) -> dict[str, dict]:
        return {n: self.score(chosen, self.row_transcript == n) for n in self.names}


def fit(x: np.ndarray, y: np.ndarray, c: float) -> tuple[np.ndarray, float]:
    """L2 logistic regression on standardised inputs, folded back to raw coefficients."""
    from sklearn.linear_model import LogisticRegression

    mu, sd = x.mean(axis=0), x.std(axis=0)
    sd[sd == 0] = 1.0
    lr = LogisticRegression(C=c, max_iter=5000, tol=1e-8)
    lr.fit((x - mu) / sd, y.astype(int))
    coef = lr.coef_[0] / sd
    return coef, float(lr.intercept_[0] - (lr.coef_[0] * mu / sd).sum())


def proba(x: np.ndarray, coef: np.ndarray, b: float) -> np.ndarray:
    return 1 / (1 + np.exp(-np.clip(x @ coef + b, -50, 50)))


def loo_proba(d: Dump, x: np.ndarray, c: float, names: list[str]) -> np.ndarray:
    """[sentences, k] probabilities of the transcripts in `names`, each from a fit without it on
    the others of `names` (NaN elsewhere)."""
    k = len(d.cats)
    out = np.full(len(d.transcript), np.nan, object)
    out = np.full((len(d.transcript), k), np.nan)
    pair_t = np.repeat(d.transcript, k)
    inside_all = np.isin(pair_t, names)
    for name in names:
        train = inside_all & (pair_t != name)
        coef, b = fit(x[train], d.y.reshape(-1)[train], c)
        held = d.transcript == name
        out[held] = proba(x[np.repeat(held, k)], coef, b).reshape(-1, k)
    return out


def stack_choice(d: Dump, p: np.ndarray, t: float) -> np.ndarray:
    return d.finish((p >= t) & d.answer[:, None])


def mean_f1(d: Dump, chosen: np.ndarray, names: list[str]) -> tuple[float, float, float]:
    """Mean per-transcript macro-F1 over `names`, and the pooled uncoded share vs the coders'."""
    res = d.by_transcript(chosen)
    rows = np.isin(d.row_transcript, names)
    pooled = d.score(chosen, rows)
    return float(np.mean([res[n]["macro_f1"] for n in names])), pooled["uncoded"], pooled["gold_uncoded"]


def choose_setting(d: Dump, x: np.ndarray, names: list[str]) -> tuple[tuple[float, float], dict]:
    """(C, t) with the best mean held-out macro-F1 over `names` (inner leave-one-out), among the
    settings whose uncoded share is within UNCODED_SLACK of the coders'."""
    table = {}
    for c in CS:
        p = loo_proba(d, x, c, names)
        for t in TS:
            f, unc, gunc = mean_f1(d, stack_choice(d, p, t), names)
            table[(c, t)] = (f, unc, gunc)
    ok = {key: v for key, v in table.items() if abs(v[1] - v[2]) <= UNCODED_SLACK} or table
    best = max(ok, key=lambda key: (round(ok[key][0], 6), -key[0], key[1]))
    return best, table


def nested_loo(
    d: Dump, x: np.ndarray, fits: dict | None = None
) -> tuple[np.ndarray, dict[str, tuple[float, float]]]:
    """Each transcript's choice by a combiner whose C, t were chosen on, and fitted on, the other six.

    `fits`, when given, receives each held-out transcript's (coef, intercept, t)."""
    k = len(d.cats)
    chosen = np.zeros_like(d.y)
    picks = {}
    pair_t = np.repeat(d.transcript, k)
    for name in d.names:
        others = [n for n in d.names if n != name]
        (c, t), _ = choose_setting(d, x, others)
        train = pair_t != name
        coef, b = fit(x[train], d.y.reshape(-1)[train], c)
        held = d.transcript == name
        p = proba(x[np.repeat(held, k)], coef, b).reshape(-1, k)
        part = np.zeros_like(d.y, float)
        part[held] = p
        chosen[held] = stack_choice(d, part, t)[held]
        picks[name] = (c, t)
        if fits is not None:
            fits[name] = (coef, b, t)
        print(f"  held out {name}: C {c} t {t}", file=sys.stderr, flush=True)
    return chosen, picks


SHIPPED_SLOPES: tuple[str, ...] = ()  # per-category slopes of the shipped combiners (LOO: none)
VARIANTS = {
    "base": ((), ()),
    "+tuned": ((), ("tuned",)),
    "+own_raw": ((), ("own_raw",)),
    "+hand": ((), ("hand",)),
    "slopes conf": (("conf",), ()),
    "slopes own+question": (("own", "question"), ()),
    "+own_logit": ((), ("own_logit",)),
    "+own_raw+own_logit": ((), ("own_raw", "own_logit")),
    "+own_raw+thin": ((), ("own_raw", "thin")),
    "+own_raw slopes conf": (("conf",), ("own_raw",)),
    "+own_raw+tuned": ((), ("own_raw", "tuned")),
}


def fmt_row(label: str, res: dict[str, dict], names: list[str], extra: str = "") -> str:
    f = [res[n]["macro_f1"] for n in names]
    return f"| {label} | {np.mean(f):.3f} | " + " / ".join(f"{v:.3f}" for v in f) + f" | {extra} |"


def loo(paths: list[Path], variants: list[str]) -> None:
    d = Dump(paths)
    hand = d.finish(d.hand_keep())
    same = (hand == d.dumped).all()
    print(f"replayed current choice equals the dumped one: {same} ({(hand != d.dumped).sum()} cells differ)")
    for sm in d.summaries:
        f = Path(sm["file"]).name
        rows = d.row_file == f
        m = d.score(hand, rows)
        print(
            f"{f}: replayed macro-F1 {m['macro_f1']:.4f} uncoded {m['uncoded']:.3f} | dump (Coder path) "
            f"{sm['macro_f1']:.4f} uncoded {sm['uncoded']:.3f}"
        )
    names = d.names
    print("\n| choice | mean held-out macro-F1 | " + " / ".join(names) + " | uncoded (coders) / picks |")
    print("|---|---|---|---|")
    base = d.by_transcript(hand)
    allrows = np.ones(len(d.row_transcript), bool)
    pooled = d.score(hand, allrows)
    print(fmt_row("current choose()", base, names, f"{pooled['uncoded']:.3f} ({pooled['gold_uncoded']:.3f})"))
    out = {}
    for v in variants:
        slopes, extra = VARIANTS[v]
        x = d.x(slopes, extra)
        chosen, picks = nested_loo(d, x)
        res = d.by_transcript(chosen)
        pooled = d.score(chosen, allrows)
        wins = sum(res[n]["macro_f1"] > base[n]["macro_f1"] for n in names)
        pk = ", ".join(f"{c}/{t}" for c, t in picks.values())
        print(
            fmt_row(
                f"combiner {v} (nested LOO)", res, names, f"{pooled['uncoded']:.3f}; wins {wins}/7; {pk}"
            ),
            flush=True,
        )
        out[v] = chosen
    # per category, pooled over the seven held-out transcripts
    print(
        "\n| category | support | current pred / P / F1 | "
        + " | ".join(f"{v} pred / P / F1" for v in out)
        + " |"
    )
    print("|---|---|---|" + "---|" * len(out))
    m0 = d.score(hand, allrows)
    ms = {v: d.score(ch, allrows) for v, ch in out.items()}
    for j, cat in enumerate(d.cats):
        cells = [f"{m0['pred'][j]} / {m0['precision'][j]:.2f} / {m0['f1'][j]:.2f}"]
        cells += [f"{m['pred'][j]} / {m['precision'][j]:.2f} / {m['f1'][j]:.2f}" for m in ms.values()]
        print(f"| {cat} | {m0['support'][j]} | " + " | ".join(cells) + " |")
    print(
        f"| pooled macro-F1 | | {m0['macro_f1']:.3f} | "
        + " | ".join(f"{m['macro_f1']:.3f}" for m in ms.values())
        + " |"
    )


def fixed_grid(paths: list[Path], ts: tuple[float, ...] = (0.25, 0.3, 0.35, 0.4, 0.45, 0.5)) -> None:
    """Plain LOO at fixed settings (no inner choice): mean held-out macro-F1 and transcripts won."""
    d = Dump(paths)
    x = d.x(SHIPPED_SLOPES)
    base = d.by_transcript(d.finish(d.hand_keep()))
    print("\n| C \\ t | " + " | ".join(str(t) for t in ts) + " |")
    print("|---|" + "---|" * len(ts))
    for c in CS:
        p = loo_proba(d, x, c, d.names)
        cells = []
        for t in ts:
            res = d.by_transcript(stack_choice(d, p, t))
            f = np.mean([res[n]["macro_f1"] for n in d.names])
            wins = sum(res[n]["macro_f1"] > base[n]["macro_f1"] for n in d.names)
            cells.append(f"{f:.3f} ({wins}/7)")
        print(f"| {c} | " + " | ".join(cells) + " |", flush=True)


# ----- fit -----------------------------------------------------------------------------------
def fit_kind(paths: list[Path], kind: str, out: Path) -> cs.CategoryStack:
    """Choose C and t by leave-one-transcript-out on all seven, fit on all seven, and write this
    kind's combiner into `out` (the other kind's entry is kept as it is)."""
    d = Dump(paths)
    x = d.x(SHIPPED_SLOPES)
    (c, t), table = choose_setting(d, x, d.names)
    coef, b = fit(x, d.y.reshape(-1), c)
    stack = cs.CategoryStack(kind, tuple(d.cats), SHIPPED_SLOPES, coef, b, t)
    stacks = cs.load(out) if out.exists() else dict.fromkeys(cs.KINDS)
    stacks[kind] = cs.parse(kind, json.loads(json.dumps(stack.to_json())))  # as it will be read
    info = json.loads(out.read_text(encoding="utf-8")).get("info", {}) if out.exists() else {}
    info = {k: v for k, v in info.items() if k != "note"}
    info["fitted_on"] = "dev transcripts (dev_gold + dev3), bench/category_stack.py fit"
    info[kind] = {"sentences": len(d.transcript), "transcripts": len(d.names), "C": c, "t": t}
    cs.dump(stacks, out, info)
    f, unc, gunc = table[(c, t)]
    print(f"{kind}: C {c} t {t}; LOO mean macro-F1 {f:.3f}, uncoded {unc:.3f} (coders {gunc:.3f}) -> {out}")
    return stack


# ----- real path -------------------------------------------------------------------------------
def real(
    model_dir: Path, paths: list[Path], dev_files: list[Path], cache_dir: Path | None, shipped: bool
) -> None:
    """The coder's own path (`Coder.choose` + `Coder.assemble`, metrics as bench/eval_coding.py) on
    each dev file: the current choice, and the combiner – each transcript's fitted without it
    (nested LOO on the dumps `paths`), or with `shipped` the shipped one for every row."""
    book = load_view()
    model = CoderModel.load(model_dir)
    if model is None:
        raise SystemExit(f"no coder model in {model_dir}")
    coder = Coder(book, model, cache_dir=cache_dir)
    kind = "tuned" if model.tuned is not None else "fast"
    stacks: dict[str, cs.CategoryStack] = {}
    if not shipped:
        d = Dump(paths)
        fits: dict = {}
        nested_loo(d, d.x(SHIPPED_SLOPES), fits)
        stacks = {
            n: cs.CategoryStack(kind, tuple(d.cats), SHIPPED_SLOPES, coef, b, t)
            for n, (coef, b, t) in fits.items()
        }
    elif cs.shipped()[kind] is None:
        raise SystemExit(f"no {kind} combiner ships")
    print(
        "| file | transcript | current macro-F1 / polarity / uncoded | combiner macro-F1 / polarity / "
        "uncoded | coders uncoded |"
    )
    print("|---|---|---|---|---|")
    for path in dev_files:
        rows = read_rows(path)
        scored = coder.score_texts([r["text"] for r in rows], contexts=[row_context(r) for r in rows])
        coder.category_stack = False
        before = as_preds(coder.assemble(scored, coder.choose(scored)))
        after: list[dict] = [{} for _ in rows]
        names = sorted({r["transcript"] for r in rows})
        for name in names:
            coder.category_stack = True if shipped else stacks[name]
            res = as_preds(coder.assemble(scored, coder.choose(scored)))
            for m, r in enumerate(rows):
                if r["transcript"] == name:
                    after[m] = res[m]
        del coder.category_stack
        for name in [*names, None]:
            idx = [m for m, r in enumerate(rows) if name is None or r["transcript"] == name]
            sub = [rows[m] for m in idx]
            mb = metrics(sub, [before[m] for m in idx], book.ids)
            ma = metrics(sub, [after[m] for m in idx], book.ids)
            print(
                f"| {path.name} | {name or 'all'} | {mb['macro_f1']:.3f} / {mb['polarity_acc']:.3f} / "
                f"{mb['uncoded']:.1%} | {ma['macro_f1']:.3f} / {ma['polarity_acc']:.3f} / "
                f"{ma['uncoded']:.1%} | {mb['gold_uncoded']:.1%} |",
                flush=True,
            )
    coder.embedder.save()


def as_preds(results: list[dict]) -> list[dict]:
    return [{c["category"]: c["polarity"] for c in r["codes"]} for r in results]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train")
    t.add_argument("--out", type=Path, required=True)
    t.add_argument("--fast", action="store_true", help="KB_CODER_TUNE_EPOCHS=0: the fast coder")
    t.add_argument("--cache-dir", type=Path, default=None)
    d = sub.add_parser("dump")
    d.add_argument("--model", type=Path, required=True)
    d.add_argument("--out", type=Path, required=True)
    d.add_argument("--dev", type=Path, action="append", default=None)
    d.add_argument("--cache-dir", type=Path, default=None)
    ld = sub.add_parser("loo-dump", help="one fast coder per held-out dev transcript, and its readings")
    ld.add_argument("--out", type=Path, required=True)
    ld.add_argument("--dev", type=Path, action="append", default=None)
    ld.add_argument("--cache-dir", type=Path, default=None)
    lo = sub.add_parser("loo")
    lo.add_argument("dumps", type=Path, nargs="+")
    lo.add_argument("--variants", default="base")
    lo.add_argument("--grid", action="store_true", help="also plain LOO at fixed C, t")
    fi = sub.add_parser("fit")
    fi.add_argument("dumps", type=Path, nargs="+")
    fi.add_argument("--kind", choices=cs.KINDS, required=True)
    fi.add_argument("--out", type=Path, default=cs.FILE)
    re_ = sub.add_parser("real")
    re_.add_argument("dumps", type=Path, nargs="*")
    re_.add_argument("--model", type=Path, required=True)
    re_.add_argument("--dev", type=Path, action="append", default=None)
    re_.add_argument("--cache-dir", type=Path, default=None)
    re_.add_argument("--shipped", action="store_true", help="the shipped combiner (no LOO fits)")
    args = ap.parse_args()
    if args.cmd == "train":
        train(args.out, args.fast, args.cache_dir)
    elif args.cmd == "dump":
        for path in args.dev or DEV_FILES:
            dump(args.model, args.out.with_name(f"{args.out.stem}_{path.stem}.jsonl"), path, args.cache_dir)
    elif args.cmd == "loo-dump":
        loo_dump(args.out, args.dev or DEV_FILES, args.cache_dir)
    elif args.cmd == "loo":
        loo(args.dumps, args.variants.split(","))
        if args.grid:
            fixed_grid(args.dumps)
    elif args.cmd == "real":
        real(args.model, args.dumps, args.dev or DEV_FILES, args.cache_dir, args.shipped)
    elif args.cmd == "fit":
        fit_kind(args.dumps, args.kind, args.out)


if __name__ == "__main__":
    main()
