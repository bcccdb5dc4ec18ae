"""The supervised part: per-category logistic regressions and a polarity classifier.

Features per text: TF-IDF over Kiwi lemma uni/bigrams, the sentence embedding, the cue-hit
counts of every category and the similarity to every category's description and examples.
Training rows come from the human-coded gold, from reviewers' accept/reject decisions and
from the codebook's own examples; a row may be labelled for only some categories (a reviewer
who rejected one code said nothing about the others), so labels are {1, 0, -1 = unknown}.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, fields

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from kb.coding.features import Analysis, lemma_ngrams
from kb.coding.model_io import State
from kb.coding.sk_state import linear_from_state, linear_state, tfidf_from_state, tfidf_state
from kb.coding.spoken import MARKER_NAMES
from kb.records import POLARITIES

SEED = 13


def _identity(tokens: list[str]) -> list[str]:
    return tokens


CALLABLES = {"identity": _identity}  # analyzers a saved vectorizer may name


@dataclass
class TrainingSet:
    """Rows of texts with per-category labels (1/0/-1) and polarities ("" when unknown)."""

    texts: list[str] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)  # case id, "codebook", "review"
    labels: dict[str, list[int]] = field(default_factory=dict)
    polarities: dict[str, list[str]] = field(default_factory=dict)
    evaluable: list[bool] = field(default_factory=list)  # used to choose thresholds
    weights: list[float] = field(default_factory=list)  # sample weight in the category fits
    polarity_weights: list[float] = field(default_factory=list)  # sample weight in the polarity fit

    def add(
        self,
        text: str,
        group: str,
        codes: dict[str, tuple[int, str]],
        categories: Sequence[str],
        known_negative: bool,
        evaluable: bool,
        weight: float = 1.0,
        polarity_weight: float | None = None,
    ) -> None:
        """`codes`: category → (label, polarity); others are 0 if `known_negative` else unknown.

        `polarity_weight`: the row's weight in the polarity model (None: `weight`)."""
        self.texts.append(text)
        self.groups.append(group)
        self.evaluable.append(evaluable)
        self.weights.append(float(weight))
        self.polarity_weights.append(float(weight if polarity_weight is None else polarity_weight))
        for cat in categories:
            label, pol = codes.get(cat, (0 if known_negative else -1, ""))
            self.labels.setdefault(cat, [-1] * (len(self.texts) - 1)).append(label)
            self.polarities.setdefault(cat, [""] * (len(self.texts) - 1)).append(pol)

    def __len__(self) -> int:
        return len(self.texts)

    def sample_weights(self, polarity: bool = False) -> np.ndarray:
        """Per row, its weight in the category fits, or with `polarity` in the polarity fit (1 for
        rows added without one)."""
        weights = self.polarity_weights if polarity else self.weights
        return np.array(weights + [1.0] * (len(self.texts) - len(weights)), float)

    def distinct(self) -> TrainingSet:
        """One row per distinct text, every row weight 1 (for the fine-tuned e5: a reviewed sentence
        is one example there, whatever its weight in the logistic fits), 0 for a text whose rows are
        all polarity-only (kb.coding.data: they teach no category). Where rows of one text
        disagree on a category, the heavier row's label wins (a reviewer's decision over the gold
        or written row of the same sentence), then the later one."""
        out, first, weight = TrainingSet(), {}, {}
        cats = list(self.labels)
        w = self.sample_weights()
        for i, text in enumerate(self.texts):
            if text not in first:
                first[text] = len(out)
                out.add(
                    text,
                    self.groups[i],
                    {},
                    cats,
                    known_negative=False,
                    evaluable=self.evaluable[i],
                    weight=0.0,
                )
                weight[text] = dict.fromkeys(cats, -1.0)
            j = first[text]
            if w[i] > 0:  # weight 0 only when every row of the text is polarity-only
                out.weights[j] = 1.0
            for cat in cats:
                if self.labels[cat][i] >= 0 and w[i] >= weight[text][cat]:
                    out.labels[cat][j] = self.labels[cat][i]
                    out.polarities[cat][j] = self.polarities[cat][i]
                    weight[text][cat] = w[i]
        return out


@dataclass
class FeatureSpace:
    """Turns analyses into the design matrix; fitted once on the training texts."""

    ids: list[str]
    use_tfidf: bool = True
    use_embedding: bool = True
    use_rules: bool = True
    use_similarity: bool = True
    use_chars: bool = False
    embedding_weight: float = 1.0
    # weight of the frozen e5 sentence vector block (`Analysis.polarity_vector`, unit length); 0: none
    e5_weight: float = 0.0
    e5_dim: int = 0  # the e5 vectors' length (set by `fit`)
    vectorizer: TfidfVectorizer | None = None
    char_vectorizer: TfidfVectorizer | None = None

    def fit(self, analyses: Sequence[Analysis]) -> FeatureSpace:
        if self.e5_weight > 0:
            self.e5_dim = len(analyses[0].polarity_vector) if has_polarity_vectors(analyses) else 0
            self.e5_weight = self.e5_weight if self.e5_dim else 0.0
        if self.use_tfidf:
            self.vectorizer = TfidfVectorizer(analyzer=_identity, min_df=2, sublinear_tf=True)
            self.vectorizer.fit([lemma_ngrams(a.lemmas) for a in analyses])
        if self.use_chars:
            self.char_vectorizer = TfidfVectorizer(
                analyzer="char_wb", ngram_range=(2, 4), min_df=2, sublinear_tf=True, max_features=40000
            )
            self.char_vectorizer.fit([a.text for a in analyses])
        return self

    def transform(self, analyses: Sequence[Analysis], book_ids: Sequence[str]) -> sparse.csr_matrix:
        """`book_ids`: category order of the analyses' rule/similarity arrays (the current codebook)."""
        cols = [list(book_ids).index(c) if c in book_ids else -1 for c in self.ids]
        blocks = []
        if self.use_tfidf and self.vectorizer is not None:
            blocks.append(self.vectorizer.transform([lemma_ngrams(a.lemmas) for a in analyses]))
        if self.use_chars and self.char_vectorizer is not None:
            blocks.append(self.char_vectorizer.transform([a.text for a in analyses]))
        dense = []
        if self.use_embedding:
            dense.append(self.embedding_weight * np.stack([a.vector for a in analyses]))
        if self.e5_weight > 0:
            dense.append(self.e5_weight * e5_block(analyses, self.e5_dim))
        if self.use_rules:
            dense.append(np.log1p(np.array([[a.cue_count(c) for c in self.ids] for a in analyses], float)))
        if self.use_similarity:
            for attr in ("def_sim", "ex_sim"):
                rows = [[getattr(a, attr)[j] if j >= 0 else 0.0 for j in cols] for a in analyses]
                dense.append(2.0 * np.array(rows, float))
        if dense:
            blocks.append(sparse.csr_matrix(np.hstack(dense)))
        return sparse.hstack(blocks).tocsr()

    def to_state(self) -> State:
        vecs = ("vectorizer", "char_vectorizer")
        state = State({f.name: getattr(self, f.name) for f in fields(self) if f.name not in vecs})
        for name in vecs:
            vec = getattr(self, name)
            state.nest(name, tfidf_state(vec, CALLABLES) if vec is not None else None)
        return state

    @classmethod
    def from_state(cls, state: State) -> FeatureSpace:
        vecs = ("vectorizer", "char_vectorizer")
        space = cls(**{k: v for k, v in state.config.items() if k not in vecs})
        for name in vecs:
            part = state.part(name)
            setattr(space, name, tfidf_from_state(part, CALLABLES) if part is not None else None)
        return space


# Weight of the frozen e5 sentence vector block in the category models' features (`FeatureSpace.
# e5_weight`; beside the coder's own USE vector, the n-grams, cues and similarities). Fitted only where
# the training sentences have their e5 vectors (a fast coder with the e5 polarity reading: `kb build
# --fast`, KB_CODER_TUNE_EPOCHS=0, "retrain now" over such a coder); chosen on the held-out report
# folds and the development transcripts (docs/bench/fastcat_dev.md).
CATEGORY_E5_WEIGHT = 2.0


def e5_block(analyses: Sequence[Analysis], dim: int) -> np.ndarray:
    """The analyses' e5 vectors at unit length; a row without one is zeros (the block then says
    nothing about that sentence, and the other blocks decide)."""
    out = np.zeros((len(analyses), dim))
    have = [i for i, a in enumerate(analyses) if a.polarity_vector is not None]
    if have:
        out[have] = unit_vectors([analyses[i] for i in have])
    return out


def balanced_weights(y: Sequence, weight: np.ndarray | None = None) -> np.ndarray:
    """Sample weights × sklearn's "balanced" class weights, the classes counted by weight.

    sklearn's `class_weight="balanced"` counts rows, not weights, so a weighted review row would
    count once in the balance and `weight` times in the loss; this counts it `weight` times in
    both, exactly as if the row were repeated (with unit weights it equals "balanced")."""
    y_arr = np.asarray(y)
    w = np.ones(len(y_arr)) if weight is None else np.asarray(weight, float)
    classes, inverse = np.unique(y_arr, return_inverse=True)
    totals = np.bincount(inverse, weights=w, minlength=len(classes))
    return w * (w.sum() / (len(classes) * totals))[inverse]


def fit_binary(
    x: sparse.csr_matrix, y: np.ndarray, c: float = 1.0, weight: np.ndarray | None = None
) -> LogisticRegression | None:
    """Logistic regression for one category; `weight`: per-row sample weights (None: all 1)."""
    if y.sum() < 2 or y.sum() == len(y):
        return None
    clf = LogisticRegression(C=c, max_iter=3000, solver="liblinear", random_state=SEED)
    return clf.fit(x, y, sample_weight=balanced_weights(y, weight))


def polarity_features(analyses: Sequence[Analysis], categories: Sequence[str]) -> np.ndarray:
    """Rule polarity signals for (text, category) pairs: focus-clause score and whole-text counts."""
    rows = []
    for a, cat in zip(analyses, categories, strict=True):
        focus = a.polarity_for(cat)
        succ, obst, neg, total = a.polarity_counts()
        rows.append(
            [
                focus.score,
                float(focus.score > 0),
                float(focus.score < 0),
                float(focus.score == 0),
                np.log1p(succ),
                np.log1p(obst),
                np.log1p(neg),
                total,
                *[min(a.spoken.get(k, 0.0), 3.0) for k in MARKER_NAMES],
            ]
        )
    return np.array(rows, float)


# L2 strength of the polarity reading on sentence embeddings (`PolarityModel.embedding`); chosen on
# the development transcripts by leave-one-transcript-out (docs/bench/fastpol_dev.md)
EMBEDDING_POLARITY_C = 3.0


def has_polarity_vectors(analyses: Sequence[Analysis]) -> bool:
    return bool(analyses) and all(a.polarity_vector is not None for a in analyses)


def unit_vectors(analyses: Sequence[Analysis]) -> np.ndarray:
    """The analyses' polarity vectors (`Analysis.polarity_vector`) scaled to unit length (cosine
    geometry, as the encoder's)."""
    x = np.stack([np.asarray(a.polarity_vector, float) for a in analyses])
    norm = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.where(norm > 0, norm, 1.0)


@dataclass
class PolarityModel:
    """Multinomial logistic regression over lemma n-grams, endings/auxiliaries and the rule signals.

    `embedding`: a second, separate reading of the same training rows – a multinomial logistic
    regression on the frozen e5 sentence vector (`Analysis.polarity_vector`, see
    kb.coding.coder.POLARITY_EMBEDDER). The n-grams see words and endings; the vector reads how a
    sentence evaluates what it says when no cue word carries it. It is kept apart so that each coder
    decides how to use it (`predict_embedding`; the fast coder mixes it into interview answers'
    readings); None when the analyses had no such vector, and in models saved before it existed.
    (The coder's own USE vectors were tried first and did not help: docs/bench/fastpol_dev.md.)"""

    vectorizer: TfidfVectorizer
    clf: LogisticRegression
    embedding: LogisticRegression | None = None

    @classmethod
    def fit(
        cls,
        analyses: Sequence[Analysis],
        categories: Sequence[str],
        labels: Sequence[str],
        c: float = 1.0,
        weight: Sequence[float] | None = None,
        embedding_c: float | None = EMBEDDING_POLARITY_C,
    ) -> PolarityModel | None:
        """`weight`: per-pair sample weights (None: all 1), class-balanced by weight;
        `embedding_c`: L2 strength of the embedding reading (None: none is fitted)."""
        if len(set(labels)) < 2:
            return None
        vec = TfidfVectorizer(analyzer=_identity, min_df=1, sublinear_tf=True)
        x_text = vec.fit_transform([_polarity_tokens(a) for a in analyses])
        x = sparse.hstack([x_text, sparse.csr_matrix(polarity_features(analyses, categories))]).tocsr()
        clf = LogisticRegression(C=c, max_iter=3000, random_state=SEED)
        w = balanced_weights(labels, None if weight is None else np.asarray(weight, float))
        emb = None
        if embedding_c is not None and has_polarity_vectors(analyses):
            emb = LogisticRegression(C=embedding_c, max_iter=3000, random_state=SEED)
            emb.fit(unit_vectors(analyses), list(labels), sample_weight=w)
        return cls(vec, clf.fit(x, list(labels), sample_weight=w), emb)

    def predict_embedding(self, analyses: Sequence[Analysis]) -> list[dict[str, float]] | None:
        """The embedding reading of each text (category-blind), None when the model has none or an
        analysis lacks its vector."""
        if not analyses:
            return []
        if self.embedding is None or not has_polarity_vectors(analyses):
            return None
        return _as_dicts(self.embedding.predict_proba(unit_vectors(analyses)), list(self.embedding.classes_))

    def predict_proba(
        self, analyses: Sequence[Analysis], categories: Sequence[str]
    ) -> list[dict[str, float]]:
        if not analyses:
            return []
        x_text = self.vectorizer.transform([_polarity_tokens(a) for a in analyses])
        x = sparse.hstack([x_text, sparse.csr_matrix(polarity_features(analyses, categories))]).tocsr()
        return _as_dicts(self.clf.predict_proba(x), list(self.clf.classes_))

    def to_state(self) -> State:
        return (
            State()
            .nest("vectorizer", tfidf_state(self.vectorizer, CALLABLES))
            .nest("clf", linear_state(self.clf))
            .nest("embedding", linear_state(self.embedding) if self.embedding is not None else None)
        )

    @classmethod
    def from_state(cls, state: State) -> PolarityModel:
        vec, clf, emb = state.part("vectorizer"), state.part("clf"), state.part("embedding")
        assert vec is not None and clf is not None
        embedding = linear_from_state(emb) if emb is not None else None
        return cls(tfidf_from_state(vec, CALLABLES), linear_from_state(clf), embedding)


def _as_dicts(probs: np.ndarray, classes: list[str]) -> list[dict[str, float]]:
    return [{p: float(row[classes.index(p)]) if p in classes else 0.0 for p in POLARITIES} for row in probs]


def _polarity_tokens(a: Analysis) -> list[str]:
    toks = lemma_ngrams(a.lemmas)
    toks += [f"POL:{h.key}:{h.cue}" for h in a.polarity_hits]
    toks += [f"SP:{k}" for k, v in a.spoken.items() for _ in range(int(min(v, 2)))]
    return toks + a.function_tokens
