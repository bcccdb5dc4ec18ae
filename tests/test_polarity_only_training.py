"""A training sentence marked `"teaches": "polarity"` trains the polarity models only: it is no
example of its categories for the category classifiers or the fine-tuned category model."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from kb.coding.book import load_view
from kb.coding.data import build_training_set, load_written
from kb.coding.training import finetune_rows, fit_polarity

ROOT = Path(__file__).resolve().parents[1]
PLAIN = "예산이 부족해서 사업을 키우지 못했어요."
SPOKEN = "그게 말이 쉽지, 돈이 어디서 나오겠어요?"


def written(teaches: str | None) -> list[dict]:
    rows = [
        {"id": "p1", "text": PLAIN, "codes": [{"category": "financial_resources", "polarity": "obstacle"}]}
    ]
    row = {"id": "p2", "text": SPOKEN, "codes": [{"category": "financial_resources", "polarity": "obstacle"}]}
    if teaches:
        row["teaches"] = teaches
    return rows + [row]


def test_a_polarity_only_row_weighs_nothing_in_the_category_fits() -> None:
    book = load_view()
    ts = build_training_set(book, written=written("polarity"), examples=False)
    assert ts.sample_weights().tolist() == [1.0, 0.0]
    assert ts.sample_weights(polarity=True).tolist() == [1.0, 1.0]
    texts, labels, polar_texts, polar = finetune_rows(ts, book.ids)
    assert texts == [PLAIN] and labels.shape == (1, len(book.ids))  # not a category example
    assert polar_texts == [PLAIN, SPOKEN] and len(polar) == 2  # but a polarity example
    plain = build_training_set(book, written=written(None), examples=False)
    assert plain.sample_weights().tolist() == [1.0, 1.0] and finetune_rows(plain, book.ids)[0] == [
        PLAIN,
        SPOKEN,
    ]


def test_the_polarity_model_learns_from_it(tmp_path: Path) -> None:
    from kb.coding.coder import Coder

    book = load_view()
    ids = ["financial_resources"]
    success = {
        "id": "p3",
        "text": "예산이 넉넉해서 사업을 잘 키웠어요.",
        "codes": [{"category": ids[0], "polarity": "success"}],
    }
    rows = [*written("polarity"), success]
    analyzer = Coder(book, embedder="use", cache_dir=tmp_path).analyzer
    ts = build_training_set(book, written=rows, examples=False)
    with_row = fit_polarity(analyzer.analyse(ts.texts), ts, ids)
    ts_without = build_training_set(book, written=[rows[0], success], examples=False)
    without = fit_polarity(analyzer.analyse(ts_without.texts), ts_without, ids)
    assert with_row is not None and without is not None
    learned = set(with_row.vectorizer.vocabulary_) - set(without.vectorizer.vocabulary_)
    assert learned, "the polarity-only sentence's tokens are in the polarity model"


def test_the_shipped_polarity_only_file_is_marked_on_every_row() -> None:
    path = ROOT / "corpus" / "training" / "spoken_polarity.jsonl"
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(rows) >= 100 and all(r.get("teaches") == "polarity" for r in rows)
    ids = {r["id"] for r in load_written(ROOT / "corpus" / "training")}
    assert {r["id"] for r in rows} <= ids  # read with every other training file
    assert np.mean([bool(r["codes"]) for r in rows]) == 1.0
