"""scikit-learn estimators as `State`s: parameters as JSON, fitted attributes as arrays.

Rebuilding an estimator from its parameters and fitted arrays keeps prediction on the same
scikit-learn code path as after training, without pickling the estimator.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from kb.coding.model_io import State

_PLAIN = (str, int, float, bool, type(None))


def _params(est: Any, callables: dict[str, Callable] | None = None) -> dict[str, Any]:
    """`get_params()` as JSON: tuples as lists, dtypes by name, known callables by name."""
    names = {fn: name for name, fn in (callables or {}).items()}
    out: dict[str, Any] = {}
    for key, value in est.get_params(deep=False).items():
        if key == "dtype":
            out[key] = {"dtype": np.dtype(value).name}
        elif callable(value) and value in names:
            out[key] = {"callable": names[value]}
        elif isinstance(value, _PLAIN):
            out[key] = value
        elif isinstance(value, tuple | list) and all(isinstance(v, _PLAIN) for v in value):
            out[key] = {"tuple": list(value)}
        elif isinstance(value, dict) and all(isinstance(v, _PLAIN) for v in value.values()):
            out[key] = {"dict": [[k, v] for k, v in value.items()]}
        else:
            raise TypeError(f"cannot save {type(est).__name__} parameter {key}={value!r} as data")
    return out


def _unparams(params: dict[str, Any], callables: dict[str, Callable] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in params.items():
        if isinstance(value, dict):
            if "dtype" in value:
                value = np.dtype(value["dtype"]).type
            elif "callable" in value:
                value = (callables or {})[value["callable"]]
            elif "tuple" in value:
                value = tuple(value["tuple"])
            elif "dict" in value:
                value = dict(value["dict"])
        out[key] = value
    return out


def linear_state(clf: LogisticRegression) -> State:
    classes = clf.classes_.tolist()
    return State(
        {"params": _params(clf), "classes": classes},
        {"coef": np.asarray(clf.coef_), "intercept": np.asarray(clf.intercept_)},
    )


def linear_from_state(state: State) -> LogisticRegression:
    clf = LogisticRegression(**_unparams(state.config["params"]))
    clf.classes_ = np.array(state.config["classes"])
    clf.coef_ = np.asarray(state.arrays["coef"], float)
    clf.intercept_ = np.asarray(state.arrays["intercept"], float)
    clf.n_features_in_ = clf.coef_.shape[1]
    return clf


def tfidf_state(vec: TfidfVectorizer, callables: dict[str, Callable] | None = None) -> State:
    terms = sorted(vec.vocabulary_, key=vec.vocabulary_.__getitem__)
    return State({"params": _params(vec, callables), "terms": terms}, {"idf": np.asarray(vec.idf_)})


def tfidf_from_state(state: State, callables: dict[str, Callable] | None = None) -> TfidfVectorizer:
    vec = TfidfVectorizer(**_unparams(state.config["params"], callables))
    vec.vocabulary_ = {t: i for i, t in enumerate(state.config["terms"])}
    vec.idf_ = np.asarray(state.arrays["idf"], float)
    return vec
