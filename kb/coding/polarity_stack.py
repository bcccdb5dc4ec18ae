"""A learned combiner of an interview answer's polarity readings (stacking).

Before it, an answer's polarity was a hand-composed mix, each weight chosen on the development
transcripts: (1 − w)·rule/feature model + w·fine-tuned classifier, then the neighbours' polarity
blended in, then a prior by the question's orientation. Each step was a separate knob, and the mix
read about a third of the gold successes of new transcripts as obstacles. Here one multinomial
logistic regression with strong L2 regularisation reads the same parts – the rule/feature model's
four probabilities, the fine-tuned classifier's (when there is one), the neighbours' mean readings,
the question's orientation, the rule score's sign and the advice / own-need flags; for the fast
coder also the polarity model's reading of the frozen e5 sentence vector, the sentence's and its
neighbours' – and returns the four polarity probabilities. It has a few dozen weights, fitted on
the gold codes of the development transcripts by `bench/polarity_stack.py fit` and kept because
leave-one-transcript-out said so (docs/bench/polstack_dev.md, docs/bench/fastcomb_dev.md). The
advice moves of `Coder.polarity` still apply after it.

The coefficients ship as JSON (`polarity_stack.json` next to this module): one combiner for the fast
coder (no fine-tuned classifier) and one for the fine-tuned coder, or null where the combiner was not
kept and that coder keeps the hand mix. Each carries its feature list (format version 2: the fast
slot reads the e5 reading, the fine-tuned slot does not); the list must be one this code knows for
that slot. Loading checks the file strictly and fails with a clear error: a combiner that silently
read the wrong features would code every answer wrong. A combiner that reads the e5 reading is only
used by a coder that has it (`Coder.answer_stack`); without it the coder keeps the hand mix rather
than feed the combiner missing inputs.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from kb.coding import stack_file
from kb.records import POLARITIES

FILE = Path(__file__).with_name("polarity_stack.json")
FORMAT = "kb-polarity-stack"
FORMAT_VERSION = 2  # 2: each slot names its feature list (the fast slot reads e5, session 16)
KINDS = ("fast", "tuned")
EPS = 1e-3  # probabilities are read as log(p + EPS): a 0 from the advice moves stays finite
ORIENTATION_FEATURES = ("difficulty", "success", "advice")  # "neutral" is the reference


class StackError(ValueError):
    """The combiner file is missing, malformed or does not fit this code."""


def feature_names(tuned: bool, e5: bool = False) -> tuple[str, ...]:
    """The combiner's inputs, in order; `tuned`: with the fine-tuned classifier's readings; `e5`:
    with the polarity model's e5 reading of the sentence and its neighbours (appended last)."""
    parts = ["rules"] + (["tuned"] if tuned else []) + ["near_rules"] + (["near_tuned"] if tuned else [])
    names = [f"{part}:{p}" for part in parts for p in POLARITIES]
    names += [f"question:{o}" for o in ORIENTATION_FEATURES]
    names += ["score_pos", "score_neg", "recommendation", "own_need"]
    if e5:
        names += [f"{part}:{p}" for part in ("e5", "near_e5") for p in POLARITIES]
    return tuple(names)


# The feature lists a slot may carry: the fine-tuned slot reads no e5 (its fine-tuned classifier
# already reads the sentence's e5 encoding, tuned; docs/bench/fastpol_dev.md §4), the fast slot may.
ALLOWED = {
    "fast": (feature_names(False), feature_names(False, e5=True)),
    "tuned": (feature_names(True),),
}


def _log(p: Mapping[str, float]) -> list[float]:
    return [math.log(max(float(p.get(k, 0.0)), 0.0) + EPS) for k in POLARITIES]


def _mean(rows: Sequence[Mapping[str, float]], fallback: Mapping[str, float]) -> dict[str, float]:
    if not rows:
        return dict(fallback)  # no neighbour: the sentence's own reading, so it adds nothing
    return {k: sum(float(r.get(k, 0.0)) for r in rows) / len(rows) for k in POLARITIES}


def features(
    rules: Mapping[str, float],
    tuned: Mapping[str, float] | None,
    near_rules: Sequence[Mapping[str, float]],
    near_tuned: Sequence[Mapping[str, float]] | None,
    orientation: str,
    score: float,
    recommendation: bool,
    own_need: bool,
    with_tuned: bool,
    e5: Mapping[str, float] | None = None,
    near_e5: Sequence[Mapping[str, float]] | None = None,
    with_e5: bool = False,
) -> list[float]:
    """One (sentence, category) code's input row (see `feature_names`). `rules` / `tuned`: the
    sentence's probabilities from the rule/feature model and the fine-tuned classifier;
    `near_*`: its neighbours' (same category); `orientation`: kb.coding.question_polarity's;
    `score`: the clause-rule polarity score (> 0 success, < 0 obstacle); `e5` / `near_e5`: the
    polarity model's e5 reading of the sentence and its neighbours (`with_e5`)."""
    row = _log(rules)
    if with_tuned:
        if tuned is None:
            raise StackError("the fine-tuned combiner needs the fine-tuned classifier's readings")
        row += _log(tuned)
    row += _log(_mean(near_rules, rules))
    if with_tuned:
        assert tuned is not None
        row += _log(_mean(near_tuned or [], tuned))
    row += [float(orientation == o) for o in ORIENTATION_FEATURES]
    row += [float(score > 0), float(score < 0), float(bool(recommendation)), float(bool(own_need))]
    if with_e5:
        if e5 is None:
            raise StackError("this combiner needs the e5 reading (the coder has none: use the hand mix)")
        row += _log(e5) + _log(_mean(near_e5 or [], e5))
    return row


@dataclass(frozen=True)
class PolarityStack:
    """A fitted combiner: softmax(coef · x + intercept) over `classes`."""

    kind: str
    classes: tuple[str, ...]
    names: tuple[str, ...]
    coef: np.ndarray  # [classes, features]
    intercept: np.ndarray  # [classes]

    @property
    def tuned(self) -> bool:
        return self.kind == "tuned"

    @property
    def e5(self) -> bool:
        """Whether it reads the polarity model's e5 reading (only a coder that has it can use it)."""
        return "e5:success" in self.names

    def predict_proba(self, rows: Sequence[Sequence[float]]) -> list[dict[str, float]]:
        if not len(rows):
            return []
        x = np.asarray(rows, float)
        if x.ndim != 2 or x.shape[1] != len(self.names):
            raise StackError(f"{self.kind} combiner: {x.shape} inputs for {len(self.names)} features")
        z = x @ self.coef.T + self.intercept
        z -= z.max(axis=1, keepdims=True)
        e = np.exp(z)
        p = e / e.sum(axis=1, keepdims=True)
        return [{c: float(row[k]) for k, c in enumerate(self.classes)} for row in p]

    def to_json(self) -> dict:
        return {
            "kind": self.kind,
            "classes": list(self.classes),
            "features": list(self.names),
            "coef": [[round(float(v), 6) for v in row] for row in self.coef],
            "intercept": [round(float(v), 6) for v in self.intercept],
        }


def parse(kind: str, raw: object) -> PolarityStack:
    """A combiner from its JSON object, checked against this code's features and polarities."""
    if not isinstance(raw, dict):
        raise StackError(f"{kind} combiner: not an object")
    if raw.get("kind") != kind:
        raise StackError(f"{kind} combiner: kind {raw.get('kind')!r}")
    classes, names = raw.get("classes"), raw.get("features")
    if not isinstance(classes, list) or sorted(map(str, classes)) != sorted(POLARITIES) or len(classes) != 4:
        raise StackError(f"{kind} combiner: classes {classes!r} are not the four polarities")
    known = [list(f) for f in ALLOWED[kind]]
    if not isinstance(names, list) or names not in known:
        sizes = " or ".join(str(len(f)) for f in known)
        raise StackError(f"{kind} combiner: features do not match this code's ({sizes} expected)")
    expected = tuple(names)
    try:
        coef = np.asarray(raw.get("coef"), float)
        intercept = np.asarray(raw.get("intercept"), float)
    except (TypeError, ValueError) as e:
        raise StackError(f"{kind} combiner: coefficients are not numbers ({e})") from None
    if coef.shape != (len(classes), len(expected)) or intercept.shape != (len(classes),):
        raise StackError(f"{kind} combiner: coefficient shapes {coef.shape} / {intercept.shape}")
    if not (np.isfinite(coef).all() and np.isfinite(intercept).all()):
        raise StackError(f"{kind} combiner: coefficients must be finite")
    if np.abs(coef).max(initial=0.0) > 100 or np.abs(intercept).max(initial=0.0) > 100:
        raise StackError(f"{kind} combiner: coefficients beyond ±100 (not a regularised fit)")
    return PolarityStack(kind, tuple(map(str, classes)), expected, coef, intercept)


def load(path: Path | None = None) -> dict[str, PolarityStack | None]:
    """Both combiners of a file (default: the shipped one); None for a coder whose combiner was not
    kept (leave-one-transcript-out did not beat its hand mix): it keeps the hand mix."""
    path = FILE if path is None else Path(path)
    models = stack_file.read_models(path, FORMAT, FORMAT_VERSION, KINDS, StackError, "polarity combiner")
    return {k: None if models[k] is None else parse(k, models[k]) for k in KINDS}


def dump(stacks: Mapping[str, PolarityStack | None], path: Path, info: Mapping[str, object]) -> None:
    models = {k: None if stacks.get(k) is None else stacks[k].to_json() for k in KINDS}  # type: ignore[union-attr]
    stack_file.write_models(path, FORMAT, FORMAT_VERSION, models, info)


@lru_cache(maxsize=1)
def shipped() -> dict[str, PolarityStack | None]:
    """The shipped combiners, read once per process."""
    return load(FILE)
