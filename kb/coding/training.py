"""Fit the coder's model: classifiers, out-of-fold thresholds, polarity model; save and load it
as data (`kb.coding.model_io`: JSON + NPZ + safetensors, never pickle).

Variants exist so the benchmark can show what each part contributes:
  full        logistic regressions on lemma n-grams + embedding + cue + similarity features,
              averaged with a fine-tuned e5 classifier (`kb.coding.finetune`; tune_epochs=0 skips it)
  rules       a category is coded when one of its cues occurs (no training)
  similarity  best similarity to the category's examples/description, threshold fitted on data
"""

from __future__ import annotations

import os
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from sklearn.linear_model import LogisticRegression
from tqdm.auto import tqdm

from kb.coding.calibrate import best_threshold, group_folds, out_of_fold
from kb.coding.features import Analysis, Analyzer
from kb.coding.model_io import State, load_state, save_state
from kb.coding.sk_state import linear_from_state, linear_state
from kb.coding.supervised import (
    CATEGORY_E5_WEIGHT,
    EMBEDDING_POLARITY_C,
    FeatureSpace,
    PolarityModel,
    TrainingSet,
    fit_binary,
    has_polarity_vectors,
)
from kb.records import POLARITIES, dominant

if TYPE_CHECKING:  # torch loads only when a model is tuned or a tuned model is loaded
    from kb.coding.finetune import TunedClassifier

MODEL_VERSION = 4  # 2: endings/auxiliaries; written sentences. 3: fine-tuned e5. 4: spoken markers, 제언
VARIANTS = ("full", "rules", "similarity")
# the polarity model is lighter than the category one (two fewer layers trained, one fewer epoch):
# one label per sentence is an easier target, and it keeps `kb build` within a few minutes
POLARITY_FROZEN, POLARITY_EPOCHS = 8, 3


@dataclass
class CoderModel:
    """Everything needed to code new text the way training decided; saved with `model_io`."""

    variant: str
    ids: list[str]  # categories this model scores
    book_fingerprint: str
    embedder: str
    space: FeatureSpace | None = None
    classifiers: dict[str, LogisticRegression] = field(default_factory=dict)
    thresholds: dict[str, float] = field(default_factory=dict)
    polarity: PolarityModel | None = None
    tuned: TunedClassifier | None = None
    tuned_polarity: TunedClassifier | None = None
    n_train: int = 0
    version: int = MODEL_VERSION

    def save(self, directory: Path, stamp: str = "", info: dict | None = None) -> Path:
        """Write the model into `directory` (atomically; see `kb.coding.model_io`)."""
        return save_state(directory, self.to_state(), stamp, info)

    @staticmethod
    def load(directory: Path) -> CoderModel | None:
        """The model saved in `directory`, None if none; `ModelRefused` if it is not kb's own."""
        state = load_state(directory)
        if state is None:
            return None
        if state.config.get("version") != MODEL_VERSION:
            from kb.errors import ModelRefused

            raise ModelRefused(
                f"the saved coder in {directory} is model version {state.config.get('version')!r}, "
                f"this kb uses {MODEL_VERSION}; run `kb build` to retrain it"
            )
        try:
            return CoderModel.from_state(state)
        except (KeyError, TypeError, ValueError, AssertionError) as exc:
            from kb.errors import ModelRefused

            raise ModelRefused(
                f"the saved coder in {directory} is incomplete ({type(exc).__name__}: {exc}); "
                f"delete {directory} or run `kb build` to retrain it"
            ) from None

    _PARTS = ("space", "classifiers", "polarity", "tuned", "tuned_polarity")

    def to_state(self) -> State:
        state = State({f.name: getattr(self, f.name) for f in fields(self) if f.name not in self._PARTS})
        state.config["classifier_ids"] = list(self.classifiers)
        for k, clf in enumerate(self.classifiers.values()):
            state.nest(f"clf{k}", linear_state(clf) if clf is not None else None)
        state.nest("space", self.space.to_state() if self.space else None)
        state.nest("polarity", self.polarity.to_state() if self.polarity else None)
        for name in ("tuned", "tuned_polarity"):
            tuned = getattr(self, name)
            state.nest(name, tuned.to_state() if tuned is not None else None)
        return state

    @classmethod
    def from_state(cls, state: State) -> CoderModel:
        plain = {f.name for f in fields(cls)} - set(cls._PARTS)
        model = cls(**{k: v for k, v in state.config.items() if k in plain})
        for k, cat in enumerate(state.config["classifier_ids"]):
            part = state.part(f"clf{k}")
            model.classifiers[cat] = linear_from_state(part) if part is not None else None
        space, polarity = state.part("space"), state.part("polarity")
        model.space = FeatureSpace.from_state(space) if space is not None else None
        model.polarity = PolarityModel.from_state(polarity) if polarity is not None else None
        for name in ("tuned", "tuned_polarity"):
            part = state.part(name)
            if part is not None:
                from kb.coding.finetune import TunedClassifier

                setattr(model, name, TunedClassifier.from_state(part))
        return model


def fit_threads() -> int:
    """Threads for the logistic fits: the cores this process may use, at most four."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    return max(1, min(4, cores))


def similarity_score(a: Analysis, j: int) -> float:
    return float(max(a.ex_sim[j], a.def_sim[j]))


def category_scores(model: CoderModel, analyzer: Analyzer, analyses: list[Analysis]) -> np.ndarray:
    """[n_texts, n_model_categories] raw scores in [0, 1] (probabilities for `full`)."""
    n, ids = len(analyses), model.ids
    out = np.zeros((n, len(ids)))
    if not n:
        return out
    if model.variant == "rules":
        for k, cat in enumerate(ids):
            out[:, k] = [1 - 0.5 ** (1 + a.cue_count(cat)) if a.cue_count(cat) else 0.0 for a in analyses]
        return out
    if model.variant == "similarity":
        for k, cat in enumerate(ids):
            j = analyzer.ids.index(cat) if cat in analyzer.ids else -1
            out[:, k] = [similarity_score(a, j) if j >= 0 else 0.0 for a in analyses]
        return out
    assert model.space is not None
    x = model.space.transform(analyses, analyzer.ids)
    for k, cat in enumerate(ids):
        clf = model.classifiers.get(cat)
        if clf is not None:
            out[:, k] = clf.predict_proba(x)[:, 1]
    if model.tuned is not None:
        probs = model.tuned.predict_proba([a.text for a in analyses])
        tuned = dict(zip(model.tuned.ids, probs.T, strict=True))
        for k, cat in enumerate(ids):
            if cat in tuned:
                out[:, k] = (out[:, k] + tuned[cat]) / 2
    return out


# Grouped folds for the category thresholds' out-of-fold predictions. Five of every six category fits
# of a fast fit were these fold fits; with the ten dev transcripts among the training rows a fast fit
# took 51 s with 5 folds and 36.5 s with 3 on a quiet machine ("retrain now" has a minute). Leave-one-
# transcript-out over the ten read the same with 3 as with 5 (macro-F1 0.721 vs 0.722, polarity 0.784
# vs 0.783; dev5 0.652 / 0.712 vs 0.649 / 0.712): docs/bench/devtrain_dev.md, session 18.
THRESHOLD_FOLDS = 3


def train_model(
    analyzer: Analyzer,
    data: TrainingSet,
    variant: str = "full",
    embedder: str = "",
    n_folds: int = THRESHOLD_FOLDS,
    c: float = 1.0,
    analyses: list[Analysis] | None = None,
    space_options: dict | None = None,
    prior_n: int = 10,
    polarity_c: float = 3.0,
    tune_epochs: int = 4,
    progress: bool = False,
    threads: int | None = None,
) -> CoderModel:
    """Fit on `data`; thresholds from grouped out-of-fold predictions on the evaluable rows.

    With `tune_epochs` > 0 the `full` model's probabilities are the mean of the logistic
    regressions' and a fine-tuned e5 classifier's; a category's threshold is then the mean of
    its calibrated logistic threshold and 0.5, the tuned model's own cut (its loss is
    class-weighted). Calibrating the blend itself would need out-of-fold fine-tuning, five
    times the training cost; the leave-one-case-out benchmark measures the blend as it is.
    A second fine-tuned e5 model reads each sentence's polarity; the coder mixes it into the
    polarity model's (per category) probabilities (kb.coding.coder.TUNED_POLARITY_WEIGHT)."""
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
    ids = [c_ for c_ in analyzer.ids if c_ in data.labels]
    model = CoderModel(variant, ids, analyzer.book.fingerprint(), embedder, n_train=len(data))
    analyses = analyses if analyses is not None else analyzer.analyse(data.texts, True, progress)
    labels = {cat: np.array(data.labels[cat]) for cat in ids}
    evaluable = np.flatnonzero(np.array(data.evaluable, bool))
    if variant == "rules":
        model.thresholds = dict.fromkeys(ids, 0.5)
    elif variant == "similarity":
        scores = category_scores(model, analyzer, analyses)
        for k, cat in enumerate(ids):
            known = evaluable[labels[cat][evaluable] >= 0]
            model.thresholds[cat] = best_threshold(labels[cat][known], scores[known, k], default=0.85)
    else:
        options = dict(space_options or {})
        # the e5 block only for a fast model whose training sentences all have their e5 vector (the
        # coder computes them for a fast coder with the e5 polarity reading); otherwise, and for a
        # fine-tuned coder (not measured with it), the model reads as before
        options.setdefault("e5_weight", CATEGORY_E5_WEIGHT)
        if tune_epochs > 0 or not has_polarity_vectors(analyses):
            options["e5_weight"] = 0.0
        model.space = FeatureSpace(ids, **options).fit(analyses)
        x = model.space.transform(analyses, analyzer.ids)
        folds = [evaluable[f] for f in group_folds([data.groups[i] for i in evaluable], n_folds)]

        weight = data.sample_weights()  # review rows weigh REVIEW_WEIGHT, the rest 1

        def fit_category(cat: str) -> tuple[LogisticRegression | None, float]:
            y = labels[cat]
            known = y >= 0
            trains = known & (weight > 0)  # a polarity-only row (weight 0) is no category example
            clf = fit_binary(x[trains], y[trains], c, weight[trains])

            def fit_predict(train_idx: np.ndarray, test_idx: np.ndarray) -> np.ndarray:
                train_idx = train_idx[trains[train_idx]]
                part = fit_binary(x[train_idx], y[train_idx], c, weight[train_idx])
                return part.predict_proba(x[test_idx])[:, 1] if part is not None else np.zeros(len(test_idx))

            oof = out_of_fold(fit_predict, len(y), folds) if folds else np.full(len(y), np.nan)
            usable = np.flatnonzero(~np.isnan(oof) & known)
            return clf, best_threshold(y[usable], oof[usable], prior_n=prior_n) if len(usable) else 0.5

        # liblinear and lbfgs release the GIL: the categories and the polarity model fit on every
        # core, each fit seeded on its own (the same model as one thread, see tests/test_parse_cache)
        with ThreadPoolExecutor(max_workers=threads or fit_threads()) as pool:
            polarity = pool.submit(fit_polarity, analyses, data, ids, polarity_c)
            fits = tqdm(
                pool.map(fit_category, ids), desc="fit", total=len(ids), unit="category", disable=not progress
            )
            for cat, (clf, threshold) in zip(ids, fits, strict=True):
                model.classifiers[cat], model.thresholds[cat] = clf, threshold
            model.polarity = polarity.result()
        if tune_epochs > 0:
            from kb.coding.finetune import TunedClassifier

            texts, label_matrix, polar_texts, polar = finetune_rows(data, ids)
            model.tuned = TunedClassifier.fit(texts, label_matrix, ids, tune_epochs, progress=progress)
            model.thresholds = {cat: (t + 0.5) / 2 for cat, t in model.thresholds.items()}
            model.tuned_polarity = TunedClassifier.fit(
                polar_texts, polar, list(POLARITIES), POLARITY_EPOCHS, POLARITY_FROZEN, progress=progress
            )
    return model


def finetune_rows(data: TrainingSet, ids: list[str]) -> tuple[list[str], np.ndarray, list[str], np.ndarray]:
    """What the fine-tuned e5 models train on: (texts, [n, len(ids)] labels) for the categories,
    (texts, polarity indices) for the sentence polarity; one row per distinct text.

    The review weight is the logistic fits' (sample weights); repeating a reviewed sentence in
    fine-tuning would only overfit the encoder to it."""
    once = data.distinct()
    labels = np.array([once.labels[cat] for cat in ids]).T
    category_rows = np.flatnonzero(once.sample_weights() > 0)  # not the polarity-only texts
    polar = sentence_polarities(once, ids)
    rows = np.flatnonzero(polar >= 0)
    return (
        [once.texts[i] for i in category_rows],
        labels[category_rows],
        [once.texts[i] for i in rows],
        polar[rows],
    )


def sentence_polarities(data: TrainingSet, ids: list[str]) -> np.ndarray:
    """Per training text, the index in POLARITIES of its codes' most common polarity (-1: none).

    Ties go by `kb.records.dominant`. Sentence level because a sentence's codes nearly always share
    a polarity, and a fine-tuned model needs more examples per label than per-(sentence, category)
    pairs would give."""
    out = np.full(len(data), -1)
    for i in range(len(data)):
        found = [data.polarities[c][i] for c in ids if data.labels[c][i] == 1 and data.polarities[c][i]]
        if found:
            out[i] = POLARITIES.index(dominant(Counter(found)))
    return out


def fit_polarity(
    analyses: list[Analysis],
    data: TrainingSet,
    ids: list[str],
    c: float = 1.0,
    embedding_c: float | None = EMBEDDING_POLARITY_C,
) -> PolarityModel | None:
    """The polarity model on every (sentence, category) pair with a known polarity; `embedding_c`:
    the L2 strength of its embedding reading (None: none)."""
    rows, cats, pols, weights = [], [], [], []
    weight = data.sample_weights(polarity=True)  # review rows: REVIEW_POLARITY_WEIGHT (kb.coding.data)
    for cat in ids:
        for i, (label, pol) in enumerate(zip(data.labels[cat], data.polarities[cat], strict=True)):
            if label == 1 and pol:
                rows.append(analyses[i])
                cats.append(cat)
                pols.append(pol)
                weights.append(weight[i])
    return PolarityModel.fit(rows, cats, pols, c, weights, embedding_c) if rows else None
