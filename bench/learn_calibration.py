"""Per-document calibration from reviewed sentences (tried in session 15, not shipped).

What 25–50 reviewed sentences of one transcript might tell most reliably is how this transcript is
miscoded: which categories the coder over- or under-codes here, whether it leans to obstacle or
success. This bench measures that on the development transcripts, in the simulation of
bench/learning_curve.py (same queue, same decisions, same ×30/×1 retrain), with the evidence taken
OUT OF SAMPLE: the untrained coder's scores of the reviewed sentences, i.e. before the retrain that
includes them.

- Categories: logit offsets on the answer-category combiner (kb.coding.category_stack), a global
  g ~ N(0, sg²) plus a per-category d_c ~ N(0, sc²), fitted (MAP) to the reviewed sentences' decided
  codes (a done sentence's other categories absent, as in training) against the untrained
  combiner's probabilities; applied to the rest of that transcript as a per-document combiner (its
  per-category intercepts moved), on the retrained coder, on the retrained coder with reviewed
  neighbours as context, and on the untrained coder.
- Polarity: a log-bias per polarity value ~ N(0, s²), MAP fit of the decided polarities of the
  reviewed sentences' gold codes on the untrained coder's answer polarity probabilities (the fast
  coder's hand mix, which ends in kb.coding.context.answer_polarity), applied to the rest.
- Reviewed neighbours as context: a reviewed neighbour's decided codes replace the coder's reading
  of it where the context blend reads neighbours (raised to ≥ 0.9 / lowered to ≤ 0.02).

    KB_CODER_TUNE_EPOCHS=0 python bench/learn_calibration.py run --steps 25,50,100 --out X.jsonl \
        --cache-dir DIR eval/dev_transcripts/dev_gold.jsonl eval/dev_transcripts/dev3/dev3_gold.jsonl
    python bench/learn_calibration.py report X.jsonl    # per transcript Δ, leave-one-transcript-out

Results: docs/bench/learn_dev.md. Development transcripts only: never point it at the test set.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from scipy.optimize import minimize

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import kb.coding.coder as coder_module  # noqa: E402
from bench.eval_coding import load_transcripts, metrics, row_context  # noqa: E402
from bench.learning_curve import as_preds, decisions  # noqa: E402
from kb.coding import category_stack  # noqa: E402
from kb.coding.book import load_view  # noqa: E402
from kb.coding.category_stack import features as stack_inputs  # noqa: E402
from kb.coding.coder import Coder, Scored  # noqa: E402
from kb.coding.context import is_answer  # noqa: E402
from kb.coding.data import build_training_set, load_gold, load_written  # noqa: E402
from kb.records import POLARITIES  # noqa: E402
from kb.review.queue import CONFIDENT_EVERY, queue_order  # noqa: E402

CAT_GRID = [(sg, sc) for sg in (0, 0.25, 0.5, 1.0, 2.0) for sc in (0, 0.25, 0.5, 1.0)]
POL_GRID = (0, 0.1, 0.25, 0.5, 1.0)
STEPS = (25, 50)  # the steps leave-one-out chooses on (100 leaves 3–30 sentences)

# the answer polarity of the fast coder's hand mix, recorded and biased here (bench only)
_STATE: dict[str, Any] = {"bias": None, "record": None}
_answer_polarity = coder_module.answer_polarity


def _biased_answer_polarity(probs, answer, questions=None, spoken=None):  # type: ignore[no-untyped-def]
    out = _answer_polarity(probs, answer, questions, spoken)
    if _STATE["record"] is not None:
        _STATE["record"].append([dict(p) for p in out])
    bias = _STATE["bias"]
    if not bias:
        return out
    moved = []
    for p, ans in zip(out, answer, strict=True):
        if ans:
            q = {k: p[k] * float(np.exp(bias.get(k, 0.0))) for k in POLARITIES}
            total = sum(q.values()) or 1.0
            p = {k: v / total for k, v in q.items()}
        moved.append(p)
    return moved


def combiner_logits(coder: Coder, sc: Scored) -> tuple[np.ndarray, np.ndarray]:
    """[n, k] log-odds of the answer-category combiner (0 for non-answers) and the answer mask."""
    stack = coder.answer_categories()
    assert stack is not None and sc.question is not None and sc.neighbours is not None
    answer = np.array([is_answer(sc.ctx[i]) for i in sc.owner], bool)
    out = np.zeros(sc.conf.shape)
    rows = np.flatnonzero(answer)
    if len(rows):
        x = stack_inputs(
            sc.own[rows],
            sc.conf[rows],
            sc.raw[rows],
            sc.question[rows],
            sc.neighbours[rows],
            [len(sc.analyses[i].lemmas) for i in rows],
            stack.slopes,
        )
        p = np.clip(stack.predict_proba(x), 1e-4, 1 - 1e-4).reshape(len(rows), -1)
        out[rows] = np.log(p / (1 - p))
    return out, answer


def fit_offsets(logit: np.ndarray, y: np.ndarray, known: np.ndarray, sg: float, sc: float) -> np.ndarray:
    """Per category, the MAP logit offset g + d_c (g ~ N(0, sg²), d_c ~ N(0, sc²); 0 turns a part off)."""
    k = logit.shape[1]
    if not (sg or sc) or not known.any():
        return np.zeros(k)
    ii, jj = np.nonzero(known)
    z0, t = logit[ii, jj], y[ii, jj]

    def loss(v: np.ndarray) -> tuple[float, np.ndarray]:
        g, d = v[0], v[1:]
        p = 1 / (1 + np.exp(-(z0 + g + d[jj])))
        nll = -np.sum(t * np.log(p + 1e-12) + (1 - t) * np.log(1 - p + 1e-12))
        r = p - t
        grad_g = np.sum(r) + g / sg**2 if sg else 0.0
        grad_d = np.bincount(jj, weights=r, minlength=k) + d / sc**2 if sc else np.zeros(k)
        pen = (g * g / (2 * sg**2) if sg else 0.0) + (float(d @ d) / (2 * sc**2) if sc else 0.0)
        return nll + pen, np.concatenate([[grad_g], grad_d])

    bounds = [(-5, 5) if sg else (0, 0)] + [(-5, 5) if sc else (0, 0)] * k
    v = minimize(loss, np.zeros(k + 1), jac=True, method="L-BFGS-B", bounds=bounds).x
    return v[0] + v[1:]


def fit_polarity_bias(probs: list[dict[str, float]], gold: list[str], s: float) -> dict[str, float]:
    """MAP log-bias per polarity value (~ N(0, s²)) of the decided polarities on `probs`."""
    if not s or not probs:
        return {}
    lp = np.log(np.array([[max(p[q], 1e-9) for q in POLARITIES] for p in probs]))
    y = np.array([POLARITIES.index(g) for g in gold])
    onehot = np.eye(len(POLARITIES))[y]

    def loss(b: np.ndarray) -> tuple[float, np.ndarray]:
        z = lp + b
        z -= z.max(axis=1, keepdims=True)
        pr = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
        nll = -np.sum(np.log(pr[np.arange(len(y)), y] + 1e-12)) + float(b @ b) / (2 * s * s)
        return nll, (pr - onehot).sum(0) + b / (s * s)

    b = minimize(loss, np.zeros(len(POLARITIES)), jac=True, method="L-BFGS-B").x
    return {q: float(v) for q, v in zip(POLARITIES, b, strict=True)}


def unit_preds(sc: Scored, chosen: np.ndarray, n: int) -> list[dict[str, str]]:
    """The categories chosen per text (polarity not scored: macro-F1 reads categories only)."""
    out: list[dict[str, str]] = [{} for _ in range(n)]
    for i, o in enumerate(sc.owner):
        for j in np.flatnonzero(chosen[i]):
            out[o][sc.cats[j]] = "-"
    return out


def run(args: argparse.Namespace) -> None:
    coder_module.answer_polarity = _biased_answer_polarity
    book = load_view()
    cats = book.ids
    report_gold, written = load_gold(), load_written()
    coder = Coder(book, embedder="use", cache_dir=args.cache_dir)
    coder.fit(build_training_set(book, report_gold, written=written), tune_epochs=0)
    base = coder.model
    shipped = category_stack.shipped()["fast"]
    assert shipped is not None, "the fast coder ships no category combiner"
    t0 = time.time()
    with args.out.open("a", encoding="utf-8") as fh:
        for path in args.transcripts:
            by_tr: dict[str, list[dict]] = {}
            for r in load_transcripts(path):
                by_tr.setdefault(str(r.get("transcript")), []).append(r)
            for name, tr in sorted(by_tr.items()):
                for line in transcript(
                    coder, base, shipped, book, cats, report_gold, written, tr, args.steps
                ):
                    fh.write(json.dumps({"tr": name, **line}, ensure_ascii=False) + "\n")
                fh.flush()
                print(f"{name} done, {time.time() - t0:.0f} s", file=sys.stderr, flush=True)


def transcript(coder, base, shipped, book, cats, gold, written, tr, steps):  # type: ignore[no-untyped-def]
    coder.model, coder.category_stack = base, True
    sc_b = coder.score_texts([r["text"] for r in tr], contexts=[row_context(r) for r in tr])
    auto = coder.assemble(sc_b, coder.choose(sc_b))
    order = queue_order(auto, CONFIDENT_EVERY)
    logit_b, answer = combiner_logits(coder, sc_b)
    gold_mask = np.zeros(sc_b.conf.shape, bool)  # the untrained coder's polarity of every gold code
    for i, o in enumerate(sc_b.owner):
        for c in tr[o]["codes"]:
            gold_mask[i, cats.index(c["category"])] = True
    _STATE["record"] = []
    coder.assemble(sc_b, gold_mask)
    recorded = _STATE["record"][0] if _STATE["record"] else []
    _STATE["record"] = None
    pairs = [(i, j) for i in range(len(sc_b.analyses)) for j in range(len(cats)) if gold_mask[i, j]]
    pol_of = dict(zip(pairs, recorded, strict=True))
    for n in steps:
        if n >= len(tr):
            continue
        seen, rest = set(order[:n]), sorted(order[n:])
        y, known = np.zeros(logit_b.shape), np.zeros(logit_b.shape, bool)
        decided: dict[str, tuple[set[str], set[str]]] = {}
        pp, pg = [], []
        for i, o in enumerate(sc_b.owner):
            if o not in seen or not answer[i]:
                continue
            pos = {c["category"] for c in tr[o]["codes"]}
            shown = {c["category"] for c in auto[o]["codes"]}
            neg = (set(cats) if auto[o]["codes"] else shown) - pos  # a done sentence: the rest absent
            decided[tr[o]["text"]] = (pos, neg)
            for j, c in enumerate(cats):
                y[i, j], known[i, j] = c in pos, c in pos | neg
            for c in tr[o]["codes"]:
                if (i, cats.index(c["category"])) in pol_of:
                    pp.append(pol_of[(i, cats.index(c["category"]))])
                    pg.append(c["polarity"])
        offsets = {v: fit_offsets(logit_b, y, known, *v) for v in CAT_GRID}
        biases = {s: fit_polarity_bias(pp, pg, s) for s in POL_GRID}
        reviews = [d for i in order[:n] for d in decisions(tr[i], auto[i])]
        coder.model, coder.category_stack = base, True
        t1 = time.time()
        coder.fit(build_training_set(book, gold, reviews, written=written), tune_epochs=0)
        fit_s, after = time.time() - t1, coder.model
        rest_rows = [tr[i] for i in rest]
        texts, ctx = [r["text"] for r in rest_rows], [row_context(r) for r in rest_rows]
        plain = coder._raw_scores

        def with_decisions(ts: list[str], _plain=plain, _decided=decided) -> np.ndarray:  # type: ignore[no-untyped-def]
            raw = np.array(_plain(ts), float, copy=True)
            for r, t in enumerate(ts):
                pos, neg = _decided.get(t, (set(), set()))
                for j, c in enumerate(cats):
                    raw[r, j] = (
                        max(raw[r, j], 0.9) if c in pos else min(raw[r, j], 0.02) if c in neg else raw[r, j]
                    )
            return raw

        for label, model, ctx_decided in (
            ("retrain", after, False),
            ("retrain+ctx", after, True),
            ("base", base, False),
        ):
            coder.model, coder.category_stack = model, True
            if ctx_decided:
                coder._raw_scores = with_decisions  # type: ignore[method-assign]
            sc = coder.score_texts(texts, contexts=ctx)
            if ctx_decided:
                del coder._raw_scores
            for v, d in offsets.items():
                coder.category_stack = replace(
                    shipped,
                    coef=shipped.coef
                    + np.array(
                        [d[cats.index(f[4:])] if f.startswith("cat:") else 0.0 for f in shipped.names]
                    ),
                )
                chosen = coder.choose(sc)
                common = {
                    "n": n,
                    "model": label,
                    "cat": list(v),
                    "rest": len(rest_rows),
                    "fit_s": round(fit_s, 1),
                }
                if v != (0, 0):
                    m = metrics(rest_rows, unit_preds(sc, chosen, len(rest_rows)), cats)
                    yield {**common, "pol": None, "f1": m["macro_f1"], "uncoded": m["uncoded"]}
                    continue
                for s, bias in biases.items():
                    _STATE["bias"] = bias or None
                    m = metrics(rest_rows, as_preds(coder.assemble(sc, chosen)), cats)
                    _STATE["bias"] = None
                    hits = round(m["polarity_acc"] * m["polarity_n"]) if m["polarity_n"] else 0
                    yield {**common, "pol": s, "f1": m["macro_f1"], "uncoded": m["uncoded"],
                           "pol_hits": hits, "pol_n": m["polarity_n"]}  # fmt: skip
        coder.model, coder.category_stack = base, True


def report(path: Path) -> None:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    base = {
        (r["tr"], r["n"]): r["f1"]
        for r in rows
        if r["model"] == "base" and r["cat"] == [0, 0] and r["pol"] == 0
    }
    trs = sorted({t for t, _ in base})
    delta: dict[tuple, dict] = defaultdict(dict)
    pol: dict[tuple, dict] = defaultdict(dict)
    for r in rows:
        key = (r["tr"], r["n"])
        if r["pol"] in (None, 0):
            delta[(r["model"], tuple(r["cat"]))][key] = r["f1"] - base[key]
        if r["pol"] is not None:
            pol[(r["model"], r["pol"])][key] = (r["pol_hits"], r["pol_n"])

    def mean(res: dict, steps: tuple, out: str | None = None) -> float:
        vals = [d for (t, n), d in res.items() if n in steps and t != out]
        return float(np.mean(vals)) if vals else float("nan")

    for step in (25, 50, 100):
        print(f"\nΔ macro-F1 on the rest after {step} | " + " ".join(t[:2] for t in trs) + " | mean")
        for v, res in sorted(delta.items()):
            cells = " ".join(f"{res[(t, step)]:+.3f}" if (t, step) in res else "   .  " for t in trs)
            print(f"{v[0]:12s} {v[1]!s:12s} | {cells} | {mean(res, (step,)):+.4f}")
    print("\nleave one transcript out (the best mean Δ over steps 25 and 50 on the other transcripts):")
    for label, cands in ((m, [v for v in delta if v[0] == m]) for m in ("retrain", "retrain+ctx", "base")):
        held: dict[int, list[float]] = {n: [] for n in STEPS}
        chose = []
        for t in trs:
            best = max(cands, key=lambda v: mean(delta[v], STEPS, t))  # noqa: B023
            chose.append(best[1])
            for n in STEPS:
                held[n].append(delta[best][(t, n)])
        got = ", ".join(f"after {n} {np.mean(held[n]):+.4f}" for n in STEPS)
        print(f"- {label}: held-out mean Δ {got}; chose {chose}")
    print("\npolarity of the rest (pooled over transcripts), per bias strength:")
    for (label, s), res in sorted(pol.items()):
        cells = []
        for n in STEPS:
            h, k = (sum(res[(t, n)][i] for t in trs if (t, n) in res) for i in (0, 1))
            cells.append(f"after {n} {h / k:.3f} (n={k})")
        print(f"- {label} s={s}: " + ", ".join(cells))
    for label in ("retrain",):
        grid = sorted(s for m, s in pol if m == label)

        def pooled(s: float, out: str | None, _label: str = label) -> float:
            got = [pol[(_label, s)][(t, n)] for t in trs for n in STEPS if t != out]
            return sum(h for h, _ in got) / sum(k for _, k in got)

        hits = {n: [0, 0] for n in STEPS}
        chose = []
        for t in trs:
            best = max(grid, key=lambda s: pooled(s, t))  # noqa: B023
            chose.append(best)
            for n in STEPS:
                h, k = pol[(label, best)][(t, n)]
                hits[n][0] += h
                hits[n][1] += k
        got = ", ".join(f"after {n} {h / k:.3f}" for n, (h, k) in hits.items())
        print(f"- leave one out ({label}): {got}; chose s = {chose}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("transcripts", type=Path, nargs="+", help="development transcript gold files")
    r.add_argument("--steps", type=lambda s: [int(x) for x in s.split(",")], default=[25, 50, 100])
    r.add_argument("--out", type=Path, required=True)
    r.add_argument("--cache-dir", type=Path, default=None)
    p = sub.add_parser("report")
    p.add_argument("path", type=Path)
    args = ap.parse_args()
    if args.cmd == "run":
        run(args)
    else:
        report(args.path)


if __name__ == "__main__":
    main()
