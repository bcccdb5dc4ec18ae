"""A learned category combiner for interview answer sentences (stacking).

Which categories an interview answer sentence keeps used to be hand-composed: the sentence's own
confidences, raised by its question's and neighbours' raw scores (kb.coding.context), cut at 0.5,
only the codes within 0.2 of the sentence's best (kb.coding.answers), and a top-category fallback.
Here one binary logistic regression with strong L2 regularisation reads, per (sentence, category),
the same parts – the confidence before and after the context blend, the blended raw score, the
category's rank in the sentence and its gap to the sentence's best, the question's and the
neighbours' raw score for it, how many categories clear 0.5, the sentence's length – plus one
intercept per category, and returns the probability that the coders give the sentence that
category. A code is kept when that probability reaches the combiner's threshold; the top-category
fallback and the interviewer rule of `Coder.choose` stay as they are. Fitted on the development
transcripts by `bench/category_stack.py fit` and kept for a coder kind only where
leave-one-transcript-out said so (docs/bench/catstack_dev.md).

The coefficients ship as JSON (`category_stack.json` next to this module), one combiner per coder
kind (fast, fine-tuned) or null where the hand-composed choice stays. Loading checks the file
strictly and fails with a clear error: a combiner that silently read the wrong features or the
wrong categories would code every answer wrong.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from kb.coding import stack_file

FILE = Path(__file__).with_name("category_stack.json")
FORMAT = "kb-category-stack"
FORMAT_VERSION = 1
KINDS = ("fast", "tuned")
# the per-(sentence, category) inputs, in order; then one intercept per category ("cat:<id>")
BASE_FEATURES = (
    "own",  # confidence from the sentence alone (category threshold at 0.5)
    "conf",  # confidence after the context blend
    "raw_logit",  # log-odds of the blended raw score
    "top",  # 1 for the sentence's most confident category
    "rank",  # log(1 + rank) of the category by blended confidence (0 = best)
    "gap",  # the sentence's best confidence minus this category's
    "question",  # the question's raw score for the category (0 without a question)
    "neighbours",  # the neighbours' highest raw score for it (0 without neighbours)
    "has_question",
    "has_neighbours",
    "n_clear",  # how many categories clear 0.5 after the blend
    "length",  # log(1 + content words)
)
MAX_ABS = 100.0


class CategoryStackError(ValueError):
    """The combiner file is missing, malformed or does not fit this code or codebook."""


def feature_names(cats: Sequence[str], slopes: Sequence[str] = ()) -> tuple[str, ...]:
    """The combiner's inputs for the categories `cats`; `slopes`: base features that also get a
    per-category slope ("<feature>×<category>")."""
    names = list(BASE_FEATURES) + [f"cat:{c}" for c in cats]
    names += [f"{f}×{c}" for f in slopes for c in cats]
    return tuple(names)


def _nan0(a: np.ndarray) -> np.ndarray:
    return np.where(np.isnan(a), 0.0, a)


def features(
    own: np.ndarray,
    conf: np.ndarray,
    raw: np.ndarray,
    question: np.ndarray,
    neighbours: np.ndarray,
    n_lemmas: Sequence[int],
    slopes: Sequence[str] = (),
) -> np.ndarray:
    """[n · k, features] inputs of n sentences × k categories (row i·k + j: sentence i, category j).

    `own`, `conf`, `raw`: [n, k] as in `kb.coding.coder.Scored`; `question`, `neighbours`: [n, k] raw
    scores of the question and the neighbours' maximum, NaN where a sentence has none."""
    own, conf, raw = (np.asarray(a, float) for a in (own, conf, raw))
    question, neighbours = np.asarray(question, float), np.asarray(neighbours, float)
    n, k = conf.shape
    if not n:
        return np.zeros((0, len(BASE_FEATURES) + k * (1 + len(slopes))))
    order = np.argsort(np.argsort(-conf, axis=1, kind="stable"), axis=1, kind="stable")
    best = conf.max(axis=1, keepdims=True)
    p = np.clip(raw, 1e-3, 1 - 1e-3)
    per_pair = {
        "own": own,
        "conf": conf,
        "raw_logit": np.log(p / (1 - p)),
        "top": (order == 0).astype(float),
        "rank": np.log1p(order),
        "gap": best - conf,
        "question": _nan0(question),
        "neighbours": _nan0(neighbours),
        "has_question": np.broadcast_to(~np.isnan(question).all(axis=1, keepdims=True), (n, k)).astype(float),
        "has_neighbours": np.broadcast_to(~np.isnan(neighbours).all(axis=1, keepdims=True), (n, k)).astype(
            float
        ),
        "n_clear": np.broadcast_to((conf >= 0.5).sum(axis=1, keepdims=True), (n, k)).astype(float),
        "length": np.broadcast_to(np.log1p(np.asarray(n_lemmas, float))[:, None], (n, k)),
    }
    cols = [per_pair[f].reshape(-1) for f in BASE_FEATURES]
    eye = np.tile(np.eye(k), (n, 1))
    cols += list(eye.T)
    for f in slopes:
        v = per_pair[f].reshape(-1)
        cols += [v * eye[:, j] for j in range(k)]
    return np.column_stack(cols)


@dataclass(frozen=True)
class CategoryStack:
    """A fitted combiner: sigmoid(coef · x + intercept) ≥ threshold keeps a code."""

    kind: str
    cats: tuple[str, ...]
    slopes: tuple[str, ...]
    coef: np.ndarray  # [features]
    intercept: float
    threshold: float

    @property
    def tuned(self) -> bool:
        return self.kind == "tuned"

    @property
    def names(self) -> tuple[str, ...]:
        return feature_names(self.cats, self.slopes)

    def check_categories(self, cats: Sequence[str]) -> None:
        if tuple(cats) != self.cats:
            raise CategoryStackError(
                f"{self.kind} category combiner was fitted for other categories than this codebook's"
            )

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, float)
        if x.ndim != 2 or x.shape[1] != len(self.coef):
            raise CategoryStackError(f"{self.kind} category combiner: {x.shape} inputs for {len(self.coef)}")
        z = np.clip(x @ self.coef + self.intercept, -50, 50)
        return 1 / (1 + np.exp(-z))

    def keep(
        self,
        cats: Sequence[str],
        own: np.ndarray,
        conf: np.ndarray,
        raw: np.ndarray,
        question: np.ndarray,
        neighbours: np.ndarray,
        n_lemmas: Sequence[int],
    ) -> np.ndarray:
        """[n, k] the codes kept for n answer sentences over `cats` (see `features`)."""
        self.check_categories(cats)
        n, k = np.shape(conf)
        x = features(own, conf, raw, question, neighbours, n_lemmas, self.slopes)
        return (self.predict_proba(x) >= self.threshold).reshape(n, k)

    def to_json(self) -> dict:
        return {
            "kind": self.kind,
            "categories": list(self.cats),
            "slopes": list(self.slopes),
            "features": list(self.names),
            "coef": [round(float(v), 6) for v in self.coef],
            "intercept": round(float(self.intercept), 6),
            "threshold": round(float(self.threshold), 6),
        }


def parse(kind: str, raw: object) -> CategoryStack:
    """A combiner from its JSON object, checked against this code's features."""
    if not isinstance(raw, dict):
        raise CategoryStackError(f"{kind} category combiner: not an object")
    if raw.get("kind") != kind:
        raise CategoryStackError(f"{kind} category combiner: kind {raw.get('kind')!r}")
    cats, slopes, names = raw.get("categories"), raw.get("slopes", []), raw.get("features")
    if (
        not isinstance(cats, list)
        or not cats
        or not all(isinstance(c, str) and c for c in cats)
        or len(set(cats)) != len(cats)
    ):
        raise CategoryStackError(f"{kind} category combiner: categories must be distinct non-empty names")
    if (
        not isinstance(slopes, list)
        or not set(slopes) <= set(BASE_FEATURES)
        or len(set(slopes)) != len(slopes)
    ):
        raise CategoryStackError(f"{kind} category combiner: slopes {slopes!r} are not known features")
    expected = feature_names(cats, slopes)
    if names != list(expected):
        raise CategoryStackError(
            f"{kind} category combiner: features do not match this code's ({len(expected)} expected)"
        )
    try:
        coef = np.asarray(raw.get("coef"), float)
        intercept = float(raw.get("intercept"))  # type: ignore[arg-type]
        threshold = float(raw.get("threshold"))  # type: ignore[arg-type]
    except (TypeError, ValueError) as e:
        raise CategoryStackError(f"{kind} category combiner: coefficients are not numbers ({e})") from None
    if coef.shape != (len(expected),):
        raise CategoryStackError(f"{kind} category combiner: {coef.shape} coefficients for {len(expected)}")
    if not (np.isfinite(coef).all() and math.isfinite(intercept) and math.isfinite(threshold)):
        raise CategoryStackError(f"{kind} category combiner: coefficients must be finite")
    if np.abs(coef).max(initial=0.0) > MAX_ABS or abs(intercept) > MAX_ABS:
        raise CategoryStackError(
            f"{kind} category combiner: coefficients beyond ±{MAX_ABS:g} (not regularised)"
        )
    if not 0.0 < threshold < 1.0:
        raise CategoryStackError(f"{kind} category combiner: threshold {threshold} not in (0, 1)")
    return CategoryStack(kind, tuple(cats), tuple(slopes), coef, intercept, threshold)


def load(path: Path | None = None) -> dict[str, CategoryStack | None]:
    """Both combiners of a file (default: the shipped one); None for a coder kind whose combiner was
    not kept: it keeps the hand-composed choice (kb.coding.answers)."""
    path = FILE if path is None else Path(path)
    models = stack_file.read_models(
        path, FORMAT, FORMAT_VERSION, KINDS, CategoryStackError, "category combiner"
    )
    return {k: None if models[k] is None else parse(k, models[k]) for k in KINDS}


def dump(stacks: Mapping[str, CategoryStack | None], path: Path, info: Mapping[str, object]) -> None:
    models = {k: None if stacks.get(k) is None else stacks[k].to_json() for k in KINDS}  # type: ignore[union-attr]
    stack_file.write_models(path, FORMAT, FORMAT_VERSION, models, info)


@lru_cache(maxsize=1)
def shipped() -> dict[str, CategoryStack | None]:
    """The shipped combiners, read once per process."""
    return load(FILE)
