"""Training data for the coder: gold sentences, reviewers' decisions, codebook examples.

Gold rows know every category (absent = 0). Written training sentences
(`corpus/training/*.jsonl`: composed and coded by coders from the codebook, about no case of
the report) are coded the same way. A review decision knows one category of one
passage (accepted/added = 1, rejected = 0, the rest unknown) – unless the passage is
`complete`: a coder who decided every code the review queue suggested for it, with the "add a
missing code" box on the same screen, said the categories they neither accepted nor added do not
apply (kb.review.merge.training_examples). Codebook examples are
positives of their own category and, because the codebook is written so that an example
illustrates one code, negatives of the others.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from kb.coding.book import CodebookView
from kb.coding.supervised import TrainingSet
from kb.records import POLARITIES

GOLD_GLOB = "part*.jsonl"
REVIEW_KEYS = ("text", "category", "polarity", "label", "complete")  # what training keeps of a decision
# a reviewed sentence weighs a hundred training sentences in the per-category logistic fits (a sample
# weight, in `kb build` and "retrain now" alike; the fine-tuned e5 sees it once). ×30 was chosen before
# the development transcripts joined the training data (3 763 texts now); re-chosen on dev6, which is
# never trained on, leave-one-transcript-out: ×100 in 3 of 4 folds (docs/bench/learning_curve_dev.md)
REVIEW_WEIGHT = 100
# ... but ten in the polarity model. That model is shared by every category, so at ×30 the ~60
# decided codes of fifty reviewed sentences weigh ~1 800 against ~3 000 training (sentence, code)
# pairs: in session 11 (four dev transcripts, the coder of then) the polarity of the rest of the
# transcript fell at ×30 and ×1 was chosen. With the current coder, over the seven dev
# transcripts, ×10 reads the rest best after 25 and after 50 decisions (chosen in every
# leave-one-transcript-out fold over ×1/3/10/30; docs/bench/learn_dev.md, session 15).
REVIEW_POLARITY_WEIGHT = 10
# a training row taken from a real interview transcript (corpus/training/spoken_transcripts.jsonl:
# the development transcripts, written and coded blind, adjudicated; rows with a `transcript`)
# weighs two written sentences, in the category fits and the polarity fit: over the 10 transcripts,
# leave-one-transcript-out, ×2 read them better than ×1 (docs/bench/devtrain_dev.md)
TRANSCRIPT_WEIGHT = 2.0


def gold_dir() -> Path:
    from kb.settings import get_settings

    return get_settings().eval_dir / "gold"


def load_gold(paths: Sequence[Path] | None = None) -> list[dict[str, Any]]:
    """Gold rows {id, case, group, text, codes:[{category, polarity}]} from eval/gold/part*.jsonl."""
    files = list(paths) if paths is not None else sorted(gold_dir().glob(GOLD_GLOB))
    rows: list[dict[str, Any]] = []
    for path in files:
        with open(path, encoding="utf-8") as fh:
            rows.extend(json.loads(line) for line in fh if line.strip())
    return rows


def load_written(directory: Path | None = None) -> list[dict[str, Any]]:
    """Written training sentences {text, codes, ...} from `corpus/training/*.jsonl`."""
    if directory is None:
        from kb.settings import get_settings

        directory = get_settings().corpus_dir / "training"
    rows: list[dict[str, Any]] = []
    for path in sorted(Path(directory).glob("*.jsonl")):
        with open(path, encoding="utf-8") as fh:
            rows.extend(json.loads(line) for line in fh if line.strip())
    return rows


def without_transcripts(
    written: Iterable[Mapping[str, Any]], rows: Iterable[Mapping[str, Any]] | None = None
) -> list[dict[str, Any]]:
    """Written training rows minus those taken from the interview transcripts that `rows` come from
    (their `transcript` names), or minus every transcript row when `rows` is None.

    Why: the development transcripts are training data (`spoken_transcripts.jsonl`), so a
    development score on one of them is in-sample unless its rows leave the training set; a bench
    that scores transcripts drops them (leave-one-transcript-out). The category and polarity
    combiners are fit on readings of transcripts by a coder that never saw them: their benches
    drop every transcript row."""
    names = None if rows is None else {r.get("transcript") for r in rows} - {None}
    return [
        dict(r)
        for r in written
        if r.get("transcript") is None or (names is not None and r["transcript"] not in names)
    ]


def reviews_until(rows: list[dict[str, Any]]) -> str | None:
    """The time of the newest decision among training rows (None without any): saved with the coder, so
    agreement can leave out what the coder learned (kb.review.agreement.auto_vs_human)."""
    times = [str(r["ts"]) for r in rows if r.get("ts")]
    return max(times) if times else None


def decision_count(rows: list[dict[str, Any]]) -> int:
    """Distinct (passage, category) decisions behind training rows (one decision gives a row per sentence)."""
    return len({(r.get("passage_id"), r.get("category")) for r in rows}) if rows else 0


def load_review_rows(source: Any = None) -> list[dict[str, Any]]:
    """Review decisions as dicts {text, category, polarity, label}.

    `source`: a DataFrame (kb.review.decisions.training_examples), an iterable of dicts or tuples
    (text, category, polarity, label), or None for `corpus/reviewed_codes.jsonl` if present."""
    if source is None:
        from kb.settings import get_settings

        path = get_settings().corpus_dir / "reviewed_codes.jsonl"
        if not path.exists():
            return []
        with open(path, encoding="utf-8") as fh:
            return [json.loads(line) for line in fh if line.strip()]
    if hasattr(source, "to_dict"):
        return list(source.to_dict("records"))
    rows = []
    for item in source:
        if isinstance(item, Mapping):
            rows.append(dict(item))
        else:
            text, category, polarity, label = item
            rows.append({"text": text, "category": category, "polarity": polarity, "label": label})
    return rows


def _polarity(value: Any) -> str:
    return value if value in POLARITIES else ""


def _codes(row: Mapping[str, Any], ids: Sequence[str]) -> dict[str, tuple[int, str]]:
    return {
        c["category"]: (1, _polarity(c.get("polarity")))
        for c in row.get("codes", [])
        if c.get("category") in ids
    }


def build_training_set(
    book: CodebookView,
    gold: Iterable[Mapping[str, Any]] = (),
    reviews: Iterable[Mapping[str, Any]] = (),
    examples: bool = True,
    written: Iterable[Mapping[str, Any]] = (),
    review_weight: float = REVIEW_WEIGHT,
    review_polarity_weight: float = REVIEW_POLARITY_WEIGHT,
    transcript_weight: float = TRANSCRIPT_WEIGHT,
) -> TrainingSet:
    """Rows in order: codebook examples, written sentences, gold, reviews; one row per reviewed text.

    Only gold rows are `evaluable` (thresholds are calibrated on real report text). A review row
    has the sample weight `review_weight` (the others 1) in the category models: a few dozen
    decisions on a new transcript must be able to move a model fitted on two thousand other
    sentences; in the polarity model it weighs `review_polarity_weight`. A reviewed text whose
    rows say `complete` is a known negative of every category not accepted or added (see the
    module doc). A written row marked `"teaches": "polarity"` trains the polarity models only
    (category weight 0): sentences written to teach how speech evaluates, whose categories did
    not help the category models (corpus/training/README.md). A written row from a real interview
    transcript (one with a `transcript`) has the sample weight `transcript_weight` in both."""
    ids = book.ids
    ts = TrainingSet()
    if examples:
        for cat in book.categories:
            for ex in cat.examples:
                ts.add(
                    ex.text, "codebook", {cat.id: (1, ex.polarity)}, ids, known_negative=True, evaluable=False
                )
    for row in written:
        weight = transcript_weight if row.get("transcript") is not None else 1.0
        category_weight = 0.0 if row.get("teaches") == "polarity" else weight
        ts.add(
            row["text"], "written", _codes(row, ids), ids, known_negative=True, evaluable=False,
            weight=category_weight, polarity_weight=weight,
        )  # fmt: skip
    for row in gold:
        group = str(row.get("case") or "gold")
        ts.add(row["text"], group, _codes(row, ids), ids, known_negative=True, evaluable=True)
    by_text: dict[str, dict[str, tuple[int, str]]] = {}
    complete: set[str] = set()
    for r in reviews:
        text, cat = r.get("text"), r.get("category")
        if not text or cat not in ids:
            continue
        label = r.get("label")
        if label == -1:  # unknown in this text (kb.review.merge.sentence_rows): never an implicit negative
            by_text.setdefault(text, {}).setdefault(cat, (-1, ""))
        else:
            by_text.setdefault(text, {})[cat] = (int(bool(label)), _polarity(r.get("polarity")))
        if r.get("complete") in (True,):  # a bool, numpy or not; never a missing value
            complete.add(text)
    weight = max(1.0, float(review_weight))
    polarity_weight = max(1.0, float(review_polarity_weight))
    for text, codes in sorted(by_text.items()):
        ts.add(
            text,
            "review",
            codes,
            ids,
            known_negative=text in complete,
            evaluable=False,
            weight=weight,
            polarity_weight=polarity_weight,
        )
    return ts
