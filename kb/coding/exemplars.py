"""Exemplar memory: reviewed sentences vote for their codes on the sentences that resemble them.

Fifty decisions on a new transcript barely move logistic models fitted on ~2 500 other sentences,
even weighted; yet a transcript's sentences share topics, words and the speaker's style, so the
reviewed sentences nearest to a new one are direct evidence about it. The memory keeps each
reviewed text's sentence embedding (the one the coder computes anyway) and its decisions: +1 for
an accepted or added category, -1 for a rejected one or, in a passage done in the review queue, a
category the reviewer neither accepted nor added (kb.review.merge.complete_passages), 0 unknown.
A sentence's confidence for a category moves by `weight` × the similarity-weighted mean vote of
its `k` nearest exemplars, counting only those whose cosine reaches `min_sim`; a vote against
counts `against` times a vote for (most votes against are the implicit ones of a done passage).

It is built from the training set's review rows whenever the coder is fitted (`Coder.fit`: a
`kb build`, "retrain now") and saved inside the coder model (kb.coding.model_io: JSON + NPZ,
hashed, replaced atomically); loading checks every shape and value, so a hostile model folder is
refused, never half-trusted. k, weight and min_sim were chosen on the development transcripts
(docs/bench/learning_curve_dev.md).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from kb.coding.model_io import State
from kb.coding.supervised import TrainingSet

log = logging.getLogger(__name__)
K, WEIGHT, MIN_SIM, AGAINST = 5, 0.2, 0.4, 1.0  # chosen on the development transcripts
MAX_K = 50
REVIEW_GROUP = "review"  # kb.coding.data.build_training_set's group of review rows


def _unit(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


@dataclass
class ExemplarMemory:
    """Reviewed texts as unit vectors with their per-category votes (+1 / -1 / 0)."""

    ids: list[str]  # categories, the columns of `votes`
    vectors: np.ndarray  # [m, d] float32, unit length
    votes: np.ndarray  # [m, len(ids)] int8 in {-1, 0, 1}
    k: int = K
    weight: float = WEIGHT
    min_sim: float = MIN_SIM
    against: float = AGAINST  # how much a vote against counts, relative to one for

    def __len__(self) -> int:
        return len(self.vectors)

    @classmethod
    def from_training(
        cls, data: TrainingSet, embed: Callable[[list[str]], np.ndarray], ids: Sequence[str]
    ) -> ExemplarMemory | None:
        """The review rows of `data` (each reviewed text once), None when there are none."""
        rows: dict[str, int] = {}
        for i, (text, group) in enumerate(zip(data.texts, data.groups, strict=True)):
            if group == REVIEW_GROUP and text not in rows:
                rows[text] = i
        if not rows:
            return None
        ids = list(ids)
        votes = np.zeros((len(rows), len(ids)), np.int8)
        for j, cat in enumerate(ids):
            labels = data.labels.get(cat)
            if labels is None:
                continue
            for r, i in enumerate(rows.values()):
                votes[r, j] = {1: 1, 0: -1}.get(int(labels[i]), 0)
        return cls(ids, _unit(embed(list(rows))), votes)

    def evidence(self, vectors: np.ndarray, cats: Sequence[str]) -> np.ndarray:
        """[n, len(cats)] in [-1, 1]: the similarity-weighted vote of each text's nearest exemplars."""
        out = np.zeros((len(vectors), len(cats)), np.float32)
        if not len(vectors) or not len(self):
            return out
        if vectors.shape[1] != self.vectors.shape[1]:  # kept from another embedder: it cannot vote
            log.warning("exemplar memory of another embedder ignored; retrain to rebuild it")
            return out
        sims = _unit(vectors) @ self.vectors.T  # [n, m]
        k = min(self.k, len(self))
        top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        near = np.take_along_axis(sims, top, axis=1)
        w = np.where(near >= self.min_sim, np.maximum(near, 0.0), 0.0)  # [n, k]; 0 below min_sim
        votes = self.votes[top].astype(np.float32)  # [n, k, c]
        votes[votes < 0] *= self.against
        ev = (w[:, :, None] * votes).sum(axis=1) / np.maximum(w.sum(axis=1), 1e-6)[:, None]
        col = {c: j for j, c in enumerate(self.ids)}
        for j, cat in enumerate(cats):
            if cat in col:
                out[:, j] = ev[:, col[cat]]
        return out

    def adjust(self, conf: np.ndarray, evidence: np.ndarray) -> np.ndarray:
        """Confidences (threshold at 0.5) moved by `weight` × evidence, kept in [0, 1]."""
        return np.clip(conf + self.weight * evidence, 0.0, 1.0)

    def with_options(self, **settings: float) -> ExemplarMemory:
        """The same memory with other settings (k, weight, min_sim, against; the bench compares them)."""
        return replace(self, **settings)

    # ----- persistence (inside the coder model, kb.coding.model_io) ---------------------------
    def to_state(self) -> State:
        config = {"ids": list(self.ids), "k": self.k, "weight": self.weight, "min_sim": self.min_sim}
        config["against"] = self.against
        return State(
            config, {"vectors": self.vectors.astype(np.float32), "votes": self.votes.astype(np.int8)}
        )

    @classmethod
    def from_state(cls, state: State) -> ExemplarMemory:
        """Checked: a saved memory whose values could not come from `from_training` raises ValueError."""
        cfg = state.config
        ids, k, weight, min_sim, against = cfg["ids"], cfg["k"], cfg["weight"], cfg["min_sim"], cfg["against"]
        vectors, votes = state.arrays["vectors"], state.arrays["votes"]
        if not (isinstance(ids, list) and all(isinstance(c, str) for c in ids) and len(set(ids)) == len(ids)):
            raise ValueError("exemplar categories must be distinct strings")
        if not (isinstance(k, int) and not isinstance(k, bool) and 1 <= k <= MAX_K):
            raise ValueError(f"exemplar k must be an integer in 1..{MAX_K}")
        bounds = (
            ("weight", weight, 0.0, 1.0),
            ("min_sim", min_sim, -1.0, 1.0),
            ("against", against, 0.0, 1.0),
        )
        for name, value, lo, hi in bounds:
            if not (
                isinstance(value, int | float) and not isinstance(value, bool) and lo <= value < hi + 1e-9
            ):
                raise ValueError(f"exemplar {name} must be a number in [{lo}, {hi}]")
        if vectors.ndim != 2 or vectors.dtype.kind != "f" or not np.isfinite(vectors).all():
            raise ValueError("exemplar vectors must be a finite float matrix")
        if votes.shape != (len(vectors), len(ids)) or votes.dtype.kind not in "iu":
            raise ValueError(
                "exemplar votes must be an integer matrix, one row per vector, one column per id"
            )
        if not np.isin(votes, (-1, 0, 1)).all():
            raise ValueError("exemplar votes must be -1, 0 or 1")
        return cls(
            ids, _unit(vectors), votes.astype(np.int8), k, float(weight), float(min_sim), float(against)
        )
