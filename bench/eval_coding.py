"""Leave-one-case-out evaluation of the auto-coder against the human-coded gold sentences.

For every case in eval/gold/part*.jsonl, the coder is trained on the other cases' gold (plus the
codebook examples, which come from chapters outside the gold material, and the written training
sentences of corpus/training/, which are about no case of the report) and codes the held-out
case's sentences through the production path (`Coder.code_texts`). Predictions of all folds are
pooled and compared with the adjudicated human codes. The two human coders' own codes
(eval/gold/coder_a.jsonl, coder_b.jsonl) are scored the same way, as the human reference.

    python bench/eval_coding.py [--variants full,rules,similarity] [--embedder use] [--quick]
        [--out docs/bench/coding.md]
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

from kb.coding.book import load_view  # noqa: E402
from kb.coding.coder import Coder  # noqa: E402
from kb.coding.data import build_training_set, load_gold, load_written  # noqa: E402
from kb.coding.training import train_model  # noqa: E402
from kb.settings import Settings  # noqa: E402

# Ablations of the full model: "full-<block>" drops one feature block.
ABLATIONS = {"emb": "use_embedding", "sim": "use_similarity", "rules": "use_rules", "tfidf": "use_tfidf"}
TUNE_EPOCHS = Settings().coder_tune_epochs  # the production default
# "+<suffix>" of a variant → where its polarity comes from ("model": the coder's own blend)
POLARITY_SOURCES = {"": "model", "rule-polarity": "rules", "logistic-polarity": "logistic"}


def loco_predictions(
    coder: Coder,
    gold: list[dict],
    variant: str,
    polarities: tuple[str, ...] = ("model",),
    space_options: dict | None = None,
    written: list[dict] | None = None,
    tune_epochs: int = TUNE_EPOCHS,
    n_folds: int = 0,
) -> dict[str, list[dict]]:
    """Per polarity source (see POLARITY_SOURCES) and gold row: predicted {category: polarity},
    from a model that never saw the row's case. All polarity sources read the same fold models."""
    book = coder.book
    written = written or []
    texts = [e.text for c in book.categories for e in c.examples] + [r["text"] for r in written + gold]
    texts = list(dict.fromkeys(texts))
    cache = dict(zip(texts, coder.analyzer.analyse(texts, exclude_self=True), strict=True))
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
            for row, res in zip(test_rows, coder.code_texts([r["text"] for r in test_rows]), strict=True):
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
    }


def _micro(per_cat: dict) -> float:
    tp = sum(v["recall"] * v["support"] for v in per_cat.values())
    pred = sum(v["predicted"] for v in per_cat.values())
    sup = sum(v["support"] for v in per_cat.values())
    return 2 * tp / (pred + sup) if pred + sup else 0.0


def summary_table(results: dict[str, dict]) -> list[str]:
    lines = [
        "| variant | macro-F1 | macro-F1 (support ≥ 10) | micro-F1 | mean Krippendorff α | "
        "polarity accuracy (on correct codes) |",
        "|---|---|---|---|---|---|",
    ]
    for name, m in results.items():
        lines.append(
            f"| {name} | {m['macro_f1']:.3f} | {m['macro_f1_10']:.3f} | {m['micro_f1']:.3f} | "
            f"{m['alpha']:.3f} | {m['polarity_acc']:.3f} (n={m['polarity_n']}) |"
        )
    return lines


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
        f"of the report). Embedder: `{embedder}`. The `full` coder is the production one: logistic models "
        f"averaged with multilingual-e5-small fine-tuned per fold ({TUNE_EPOCHS} epochs for the categories, "
        f"a second model for polarity), so this bench trains {2 * len(folds)} e5 models. Run time "
        f"{seconds:.0f} s.",
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
    header = " | ".join(f"{k.split(' (')[0]} P / R / F1 / α" for k in shown)
    lines += [
        "",
        "Per category (precision / recall / F1 / α against the adjudicated gold):",
        "",
        f"| category | support | predicted ({shown[0]}) | {header} |",
        "|---|---|---|" + "---|" * len(shown),
    ]
    for cat, v in results[shown[0]]["per_category"].items():
        cells = []
        for k in shown:
            c = results[k]["per_category"][cat]
            cells.append(f"{c['precision']:.2f} / {c['recall']:.2f} / {c['f1']:.2f} / {c['alpha']:.2f}")
        lines.append(f"| {cat} | {v['support']} | {v['predicted']} | " + " | ".join(cells) + " |")
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
    args = ap.parse_args()
    t0 = time.time()
    book = load_view()
    gold = load_gold()
    written = load_written()
    coder = Coder(book, embedder=args.embedder)
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
        preds = loco_predictions(coder, gold, base, sources, options, rows, tune, args.folds)
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
    command = "python bench/eval_coding.py " + " ".join(sys.argv[1:])
    main_rows = {k: v for k, v in results.items() if k == "full" or k.startswith("human")}
    seconds = time.time() - t0
    text = render(main_rows, gold, command.strip(), seconds, args.embedder, len(written), args.folds)
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
