"""Evaluation of the auto-coder: new interview transcripts (headline) and held-out report cases.

New transcripts (eval/transcripts/transcripts_gold.jsonl, written and double-coded blind for the
test; never trained on): the production coder, trained on all report gold + written sentences,
codes every interviewee sentence with its interview context (the interviewer's question and the
neighbouring sentences of the same answer) and is scored per category, on polarity and on the
share of sentences it leaves uncoded next to the coders' share.

Held-out report cases:

For every case in eval/gold/part*.jsonl, the coder is trained on the other cases' gold (plus the
codebook examples, which come from chapters outside the gold material, and the written training
sentences of corpus/training/, which are about no case of the report) and codes the held-out
case's sentences through the production path (`Coder.code_texts`). Predictions of all folds are
pooled and compared with the adjudicated human codes. The two human coders' own codes
(eval/gold/coder_a.jsonl, coder_b.jsonl) are scored the same way, as the human reference.

    python bench/eval_coding.py [--variants full,rules,similarity] [--embedder use] [--quick]
        [--out docs/bench/coding.md] [--transcripts PATH | --no-transcripts] [--context neighbours|none]
        [--fallback 0.35]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import krippendorff
import numpy as np
from tqdm import tqdm

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kb.coding.book import CodebookView, load_view  # noqa: E402
from kb.coding.coder import Coder  # noqa: E402
from kb.coding.data import build_training_set, load_gold, load_written, without_transcripts  # noqa: E402
from kb.coding.supervised import TrainingSet  # noqa: E402
from kb.coding.training import train_model  # noqa: E402
from kb.settings import get_settings  # noqa: E402

# Ablations of the full model: "full-<block>" drops one feature block.
ABLATIONS = {"emb": "use_embedding", "sim": "use_similarity", "rules": "use_rules", "tfidf": "use_tfidf"}
TUNE_EPOCHS = get_settings().coder_tune_epochs  # the production default, or KB_CODER_TUNE_EPOCHS
# "+<suffix>" of a variant → where its polarity comes from ("model": the coder's own blend)
POLARITY_SOURCES = {"": "model", "rule-polarity": "rules", "logistic-polarity": "logistic"}
TRANSCRIPTS = [
    ROOT / "eval" / "transcripts" / "transcripts_gold.jsonl",
    Path("/work/blind/final/transcripts_gold.jsonl"),
]


def load_transcripts(path: Path | None = None) -> list[dict]:
    """New-transcript gold rows (evaluation only), or [] when the set does not exist yet."""
    for p in [path] if path else TRANSCRIPTS:
        if p and p.exists():
            return [json.loads(line) for line in p.read_text(encoding="utf-8").splitlines() if line.strip()]
    return []


def _ctx_text(row: dict, key: str) -> str | None:
    nested = row.get("context") if isinstance(row.get("context"), dict) else {}
    for k in (key, f"{key}_text", f"context_{key}"):
        v = row.get(k, nested.get(k))
        if isinstance(v, str) and v.strip():
            return v
        if isinstance(v, list) and v:  # several neighbours: the nearest one
            near = v[-1] if key == "prev" else v[0]
            if isinstance(near, str) and near.strip():
                return near
    return None


def row_context(row: dict) -> dict:
    """The coder's context of a transcript gold row: question, neighbours, speaker."""
    return {
        "question": row.get("question") or None,
        "prev": _ctx_text(row, "prev"),
        "next": _ctx_text(row, "next"),
        "speaker": row.get("speaker") or None,
        "group": row.get("group") or None,
    }


def neighbour_contexts(rows: list[dict]) -> list[dict]:
    """Report gold rows in order: each row's neighbours are the adjacent rows of the same case."""
    out = []
    for i, r in enumerate(rows):
        prev = rows[i - 1]["text"] if i and rows[i - 1]["case"] == r["case"] else None
        nxt = rows[i + 1]["text"] if i + 1 < len(rows) and rows[i + 1]["case"] == r["case"] else None
        out.append({"prev": prev, "next": nxt, "group": r.get("group")})
    return out


def polarity_confusion(gold: list[dict], preds: list[dict]) -> list[str]:
    """Markdown rows: gold polarity × predicted polarity over the codes whose category is right."""
    from collections import Counter

    pols = ("success", "obstacle", "neutral", "recommendation")
    counts = Counter(
        (c["polarity"], p[c["category"]])
        for r, p in zip(gold, preds, strict=True)
        for c in r["codes"]
        if c["category"] in p
    )
    lines = ["| gold \\ coder | " + " | ".join(pols) + " |", "|---|" + "---|" * len(pols)]
    lines += [f"| {g} | " + " | ".join(str(counts[(g, q)]) for q in pols) + " |" for g in pols]
    return lines


def uncoded_share(preds: list[dict]) -> float:
    return float(np.mean([not p for p in preds])) if preds else float("nan")


def transcript_training_set(
    book: CodebookView, report_gold: list[dict], written: list[dict], rows: list[dict]
) -> TrainingSet:
    """What the coder scored on `rows` trains on: `kb build`'s data minus the training rows taken
    from the scored transcripts (the development transcripts of
    corpus/training/spoken_transcripts.jsonl), so that a dev score is never in-sample."""
    return build_training_set(book, report_gold, written=without_transcripts(written, rows))


def transcript_predictions(
    coder: Coder,
    report_gold: list[dict],
    rows: list[dict],
    written: list[dict],
    tune_epochs: int = TUNE_EPOCHS,
    context: str = "full",
) -> list[dict]:
    """{category: polarity} per transcript row from a coder trained on the report gold + written
    sentences only (as `kb build` trains it), coding with each row's interview context."""
    data = transcript_training_set(coder.book, report_gold, written, rows)
    # KB_CODER_POLARITY_EMBEDDING=0: the fast coder of the app's first build (no e5 polarity reading)
    coder.fit(data, tune_epochs=tune_epochs, polarity_embedding=bool(get_settings().coder_polarity_embedding))
    ctx = [row_context(r) for r in rows]
    if context == "none":  # an answer without its question or neighbours (ablation)
        ctx = [{"speaker": "응답자", "group": c["group"]} for c in ctx]
    res = coder.code_texts([r["text"] for r in rows], contexts=ctx)
    return [{c["category"]: c["polarity"] for c in r["codes"]} for r in res]


def loco_predictions(
    coder: Coder,
    gold: list[dict],
    variant: str,
    polarities: tuple[str, ...] = ("model",),
    space_options: dict | None = None,
    written: list[dict] | None = None,
    tune_epochs: int = TUNE_EPOCHS,
    n_folds: int = 0,
    context: str = "neighbours",
) -> dict[str, list[dict]]:
    """Per polarity source (see POLARITY_SOURCES) and gold row: predicted {category: polarity},
    from a model that never saw the row's case. All polarity sources read the same fold models."""
    book = coder.book
    written = written or []
    texts = [e.text for c in book.categories for e in c.examples] + [r["text"] for r in written + gold]
    texts = list(dict.fromkeys(texts))
    cache = dict(zip(texts, coder.analyzer.analyse(texts, exclude_self=True), strict=True))
    coder.embedder.save()  # with --cache-dir, the next run embeds nothing again
    preds: dict[str, dict[str, dict[str, str]]] = {p: {} for p in polarities}
    for held_out in tqdm(case_folds(gold, n_folds), desc=variant, unit="fold"):
        train_rows = [r for r in gold if r["case"] not in held_out]
        test_rows = [r for r in gold if r["case"] in held_out]
        data = build_training_set(book, train_rows, written=written)
        coder.model = train_model(
            coder.analyzer,
            data,
            variant,
            coder.embedder_spec,
            analyses=[cache[t] for t in data.texts],
            space_options=space_options,
            tune_epochs=tune_epochs,
        )
        logistic, tuned = coder.model.polarity, coder.model.tuned_polarity
        for source in polarities:
            coder.model.polarity = None if source == "rules" else logistic
            coder.model.tuned_polarity = tuned if source == "model" else None
            ctx = neighbour_contexts(test_rows) if context == "neighbours" else None
            coded = coder.code_texts([r["text"] for r in test_rows], contexts=ctx)
            for row, res in zip(test_rows, coded, strict=True):
                preds[source][row["id"]] = {c["category"]: c["polarity"] for c in res["codes"]}
    return {source: [by_id[r["id"]] for r in gold] for source, by_id in preds.items()}


def case_folds(gold: list[dict], n_folds: int = 0) -> list[set[str]]:
    """Held-out case sets: one per case (n_folds 0), or the cases dealt into n_folds groups after a
    seeded shuffle (fewer trainings when each one fine-tunes e5)."""
    cases = sorted({r["case"] for r in gold})
    if not n_folds or n_folds >= len(cases):
        return [{c} for c in cases]
    order = [cases[i] for i in np.random.RandomState(0).permutation(len(cases))]
    return [set(order[i::n_folds]) for i in range(n_folds)]


def metrics(gold: list[dict], preds: list[dict], categories: list[str]) -> dict[str, Any]:
    per_cat = {}
    pol_hits = pol_total = 0
    for cat in categories:
        human = np.array([any(c["category"] == cat for c in r["codes"]) for r in gold], int)
        coder = np.array([cat in p for p in preds], int)
        tp = int(np.sum(human & coder))
        fp = int(np.sum(coder & (1 - human)))
        fn = int(np.sum(human & (1 - coder)))
        prec = tp / (tp + fp) if tp + fp else 0.0
        rec = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
        alpha = float("nan")
        if len(set(human.tolist()) | set(coder.tolist())) > 1:
            alpha = float(
                krippendorff.alpha(reliability_data=np.vstack([human, coder]), level_of_measurement="nominal")
            )
        per_cat[cat] = {
            "support": int(human.sum()),
            "predicted": int(coder.sum()),
            "precision": prec,
            "recall": rec,
            "f1": f1,
            "alpha": alpha,
        }
    for r, p in zip(gold, preds, strict=True):
        for c in r["codes"]:
            if c["category"] in p:
                pol_total += 1
                pol_hits += int(p[c["category"]] == c["polarity"])
    scored = [v for v in per_cat.values() if v["support"] > 0]
    return {
        "per_category": per_cat,
        "macro_f1": float(np.mean([v["f1"] for v in scored])),
        "macro_f1_10": float(np.mean([v["f1"] for v in scored if v["support"] >= 10])),
        "alpha": float(np.nanmean([v["alpha"] for v in scored])),
        "micro_f1": _micro(per_cat),
        "polarity_acc": pol_hits / pol_total if pol_total else float("nan"),
        "polarity_n": pol_total,
        "uncoded": uncoded_share(preds),
        "gold_uncoded": float(np.mean([not r["codes"] for r in gold])) if gold else float("nan"),
    }


def _micro(per_cat: dict) -> float:
    tp = sum(v["recall"] * v["support"] for v in per_cat.values())
    pred = sum(v["predicted"] for v in per_cat.values())
    sup = sum(v["support"] for v in per_cat.values())
    return 2 * tp / (pred + sup) if pred + sup else 0.0


def summary_table(results: dict[str, dict]) -> list[str]:
    lines = [
        "| variant | macro-F1 | macro-F1 (support ≥ 10) | micro-F1 | mean Krippendorff α | "
        "polarity accuracy (on correct codes) | uncoded sentences: coder / gold |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, m in results.items():
        lines.append(
            f"| {name} | {m['macro_f1']:.3f} | {m['macro_f1_10']:.3f} | {m['micro_f1']:.3f} | "
            f"{m['alpha']:.3f} | {m['polarity_acc']:.3f} (n={m['polarity_n']}) | "
            f"{m['uncoded']:.1%} / {m['gold_uncoded']:.1%} |"
        )
    return lines


def per_category_table(results: dict[str, dict], shown: list[str]) -> list[str]:
    header = " | ".join(f"{k.split(' (')[0]} P / R / F1 / α" for k in shown)
    lines = [
        f"| category | support | predicted ({shown[0]}) | {header} |",
        "|---|---|---|" + "---|" * len(shown),
    ]
    for cat, v in results[shown[0]]["per_category"].items():
        cells = []
        for k in shown:
            c = results[k]["per_category"][cat]
            cells.append(f"{c['precision']:.2f} / {c['recall']:.2f} / {c['f1']:.2f} / {c['alpha']:.2f}")
        lines.append(f"| {cat} | {v['support']} | {v['predicted']} | " + " | ".join(cells) + " |")
    return lines


def render_transcripts(results: dict[str, dict], rows: list[dict], command: str, tune_epochs: int) -> str:
    """The headline: new interview transcripts the coder was never tuned on."""
    n_tr = len({r.get("transcript") for r in rows})
    tuning = (
        f", fine-tuned e5 {tune_epochs} epochs"
        if tune_epochs
        else ", fast models only (KB_CODER_TUNE_EPOCHS=0)"
    )
    lines = [
        "## Auto-coding: new interview transcripts (headline)",
        "",
        f"{len(rows)} interviewee sentences from {n_tr} interview transcripts written for the test by a "
        "writer who had not seen the training sentences, on platforms and regions outside the report's "
        "cases, each sentence coded blind by two coders and adjudicated (eval/transcripts/README.md). "
        "Never trained on. "
        "The coder is trained as `kb build` trains it (report gold + codebook examples + written sentences"
        f"{tuning}) and codes each sentence with its interview context (the interviewer's question, the "
        "neighbouring sentences of the same answer).",
        "",
        f"Reproduce: `{command}`",
        "",
        *summary_table(results),
        "",
        "Per category (precision / recall / F1 / α against the adjudicated transcript gold):",
        "",
        *per_category_table(results, list(results)),
    ]
    return "\n".join(lines) + "\n"


def render_variants(results: dict[str, dict], command: str) -> str:
    """What each part of the coder contributes (the full run only; `make bench` skips it)."""
    lines = [
        "## Auto-coding: what each part contributes",
        "",
        "Same protocol as above. `full-tuned`: the logistic models alone, without the "
        "fine-tuned e5 classifiers. `full+logistic-polarity`: polarity from the logistic polarity model "
        "alone. `full-written` (not in the default run): trained without the written sentences. "
        "`full+rule-polarity`: polarity from the cue rules instead of the polarity model. `rules`: a code "
        "whenever a category cue occurs. `similarity`: nearest codebook example or definition, "
        "threshold fitted.",
        "",
        f"Reproduce: `{command}`",
        "",
        *summary_table(results),
    ]
    return "\n".join(lines) + "\n"


def render(
    results: dict[str, dict],
    gold: list[dict],
    command: str,
    seconds: float,
    embedder: str,
    n_written: int,
    n_folds: int,
) -> str:
    folds = case_folds(gold, n_folds)
    protocol = (
        "leave-one-case-out"
        if all(len(f) == 1 for f in folds)
        else f"held-out cases, {len(folds)} folds: " + " · ".join("+".join(sorted(f)) for f in folds)
    )
    lines = [
        f"## Auto-coding ({protocol.split(',')[0]})",
        "",
        f"Gold: {len(gold)} sentences from {sum(map(len, folds))} cases (eval/gold/part*.jsonl), coded "
        "independently by two coders and adjudicated where they disagreed (eval/gold/README.md). Protocol: "
        f"{protocol}. Each case is coded by a "
        "model trained only on the other folds' gold, the codebook examples (chapters 1-3 and 7, outside "
        f"the gold material) and {n_written} written training sentences (corpus/training/, about no case "
        f"of the report). Embedder: `{embedder}`. "
        + (
            "The `full` coder is the production one: logistic models averaged with multilingual-e5-small "
            f"fine-tuned per fold ({TUNE_EPOCHS} epochs for the categories, a second model for polarity), so "
            f"this bench trains {2 * len(folds)} e5 models. "
            if TUNE_EPOCHS
            else "Fast models only (KB_CODER_TUNE_EPOCHS=0): the logistic models without the fine-tuned e5. "
        )
        + f"Run time {seconds:.0f} s.",
        "",
        f"Reproduce: `{command}`",
        "",
        *summary_table(results),
    ]
    lines += [
        "",
        "The human rows score coders A and B against the gold, which is their own adjudicated consensus. "
        "So they sit above the fair human-to-human bar: A vs B directly (see *Agreement between human "
        "coders*, `python -m bench.human_agreement`).",
    ]
    shown = [k for k in results if k == "full" or k.startswith("human")] or [next(iter(results))]
    lines += [
        "",
        "Per category (precision / recall / F1 / α against the adjudicated gold):",
        "",
        *per_category_table(results, shown),
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--variants",
        default="full,full+logistic-polarity,full+rule-polarity,full-tuned,rules,similarity",
        help="comma-separated: full, rules, similarity; full-emb/-sim/-rules/-tfidf drop a feature block, "
        "full-tuned skips the fine-tuned e5 classifier, full-written trains without the written "
        "sentences; +rule-polarity takes polarity from the cue rules, +logistic-polarity from the "
        "logistic polarity model without the fine-tuned one",
    )
    ap.add_argument("--quick", action="store_true", help="only the `full` variant (for `make bench`)")
    ap.add_argument(
        "--folds",
        type=int,
        default=5,
        help="held-out case groups; 0 = leave one case out (13 trainings, ~2 h with fine-tuning)",
    )
    ap.add_argument("--embedder", default="use")
    ap.add_argument("--out", default=str(ROOT / "docs" / "bench" / "coding.md"))
    ap.add_argument(
        "--transcripts", type=Path, default=None, help="new-transcript gold (default: eval/transcripts)"
    )
    ap.add_argument(
        "--check",
        type=Path,
        default=None,
        help="also score this held-back dev transcript gold (e.g. eval/dev_transcripts/dev5/dev5_gold.jsonl) "
        "with the same fitted coder, reported apart from the headline",
    )
    ap.add_argument("--only-transcripts", action="store_true", help="skip the held-out report cases")
    ap.add_argument("--no-transcripts", action="store_true", help="only the held-out report cases")
    ap.add_argument("--tr-context", default="full", choices=("full", "none"), help="transcript rows' context")
    ap.add_argument(
        "--context", default="neighbours", choices=("neighbours", "none"), help="report rows' context"
    )
    ap.add_argument("--fallback", type=float, default=None, help="top-category fallback (≥ 0.5: off)")
    ap.add_argument("--cache-dir", type=Path, default=None, help="keep sentence embeddings here between runs")
    args = ap.parse_args()
    t0 = time.time()
    book = load_view()
    gold = load_gold()
    written = load_written()
    coder = Coder(book, embedder=args.embedder, cache_dir=args.cache_dir)
    if TUNE_EPOCHS == 0 and get_settings().coder_polarity_embedding:
        # the held-out report folds read e5 like `kb build --fast` (its category models' e5 block)
        coder.use_polarity_embedder()
    coder.fallback_min = args.fallback
    command = "python bench/eval_coding.py " + " ".join(sys.argv[1:])
    transcripts = [] if args.no_transcripts else load_transcripts(args.transcripts)
    headline = ""
    check = load_transcripts(args.check) if args.check and transcripts else []
    if transcripts:
        # one fit scores both sets; neither set's transcripts are trained on
        both = transcript_predictions(coder, gold, transcripts + check, written, TUNE_EPOCHS, args.tr_context)
        preds, check_preds = both[: len(transcripts)], both[len(transcripts) :]
        tr_results = {"full": metrics(transcripts, preds, book.ids)}
        confusion = polarity_confusion(transcripts, preds)
        m = tr_results["full"]
        print(
            f"new transcripts: macro-F1 {m['macro_f1']:.3f} polarity {m['polarity_acc']:.3f} "
            f"uncoded {m['uncoded']:.1%} vs gold {m['gold_uncoded']:.1%}",
            file=sys.stderr,
        )
        headline = render_transcripts(tr_results, transcripts, command.strip(), TUNE_EPOCHS)
        headline += "\nPolarity on the codes whose category is right (rows: gold, columns: coder):\n\n"
        headline += "\n".join(confusion) + "\n"
        if check:
            c = metrics(check, check_preds, book.ids)
            line = (
                f"Held-back development check from the same fit ({args.check}, {len(check)} sentences, never "
                f"trained on): macro-F1 {c['macro_f1']:.3f}, polarity {c['polarity_acc']:.3f}, uncoded "
                f"{c['uncoded']:.1%} (coders {c['gold_uncoded']:.1%})."
            )
            print(line, file=sys.stderr)
            headline += "\n" + line + "\n"
        if args.only_transcripts:
            print(headline)
            if args.out:
                Path(args.out).with_name("coding_transcripts.md").write_text(headline, encoding="utf-8")
            return
    results: dict[str, dict] = {}
    # variants that differ only in their polarity source share one set of trained fold models
    configs: dict[str, list[tuple[str, str]]] = {}
    for variant in ["full"] if args.quick else args.variants.split(","):
        trained, _, extra = variant.partition("+")
        configs.setdefault(trained, []).append((variant, POLARITY_SOURCES[extra]))
    for trained, wanted in configs.items():
        base, _, dropped = trained.partition("-")
        options = {ABLATIONS[dropped]: False} if dropped in ABLATIONS else None
        rows = [] if dropped == "written" else written
        tune = 0 if dropped == "tuned" else TUNE_EPOCHS
        sources = tuple(dict.fromkeys(source for _, source in wanted))
        preds = loco_predictions(coder, gold, base, sources, options, rows, tune, args.folds, args.context)
        for variant, source in wanted:
            results[variant] = m = metrics(gold, preds[source], book.ids)
            print(
                f"{variant}: macro-F1 {m['macro_f1']:.3f} micro-F1 {m['micro_f1']:.3f} α {m['alpha']:.3f} "
                f"polarity {m['polarity_acc']:.3f}",
                file=sys.stderr,
            )
    for coder_id in ("a", "b"):  # the two human coders, scored like the model (reference rows)
        human = load_human_coder(gold, coder_id)
        if human is not None:
            results[f"human coder {coder_id.upper()} (reference)"] = metrics(gold, human, book.ids)
    main_rows = {k: v for k, v in results.items() if k == "full" or k.startswith("human")}
    seconds = time.time() - t0
    text = render(main_rows, gold, command.strip(), seconds, args.embedder, len(written), args.folds)
    text = (headline + "\n" if headline else "") + text
    print(text)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
    variants = {k: v for k, v in results.items() if not k.startswith("human")}
    if args.out and len(variants) > 1:
        Path(args.out).with_name("coding_variants.md").write_text(
            render_variants(variants, command.strip()), encoding="utf-8"
        )


def load_human_coder(gold: list[dict], coder_id: str) -> list[dict] | None:
    """One human coder's codes per gold row, as {category: polarity} like the predictions."""
    path = ROOT / "eval" / "gold" / f"coder_{coder_id}.jsonl"
    if not path.exists():
        return None
    rows = {r["id"]: r for r in map(json.loads, path.read_text(encoding="utf-8").splitlines()) if r}
    return [{c["category"]: c["polarity"] for c in rows[g["id"]]["codes"]} for g in gold]


if __name__ == "__main__":
    main()
