"""Fine-tuned e5 classifiers: the encoder's top layers and a head, trained on coded sentences.

Two are trained per coder: a multi-label one for the categories and a single-label one for
a sentence's polarity.

A linear model over frozen sentence embeddings cannot learn what separates, say, a platform's
output quality from its user-centricity in this report's language; updating the encoder's top
layers on the coded sentences can. The lower six of the twelve layers stay frozen, so their
states are computed once per text and training costs about half of full fine-tuning. Labels
may be unknown (-1) for some categories (a reviewer's rejection says nothing about the other
codes); the loss skips those cells.
"""

from __future__ import annotations

import copy
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from kb.coding.e5_weights import E5Encoder, load_encoder, run
from kb.coding.model_io import State

SEED = 13
BATCH = 16
# frozen states of recent training texts: the polarity model, a rebuild after a few review
# decisions and the benchmark's folds train on mostly the same texts (~300 MB at the bound)
_STATES: OrderedDict[tuple[str, int], torch.Tensor] = OrderedDict()
MAX_CACHED_STATES = 4500


class _Top(nn.Module):
    """The trainable part: the encoder's last layers, mean pooling, dropout, one logit per category."""

    def __init__(self, base: E5Encoder, frozen: int, n_labels: int) -> None:
        super().__init__()
        self.layers = copy.deepcopy(base.layers[frozen:]).requires_grad_(True)
        self.dropout = nn.Dropout(0.1)
        self.head = nn.Linear(base.hidden, n_labels)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.head(self.dropout(E5Encoder.mean_pool(run(self.layers, x, mask), mask)))


def frozen_states(base: E5Encoder, texts: Sequence[str], frozen: int) -> list[torch.Tensor]:
    """Per text, its token states after the first `frozen` layers (batched by length)."""
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    out: list[torch.Tensor] = [torch.empty(0)] * len(texts)
    with torch.no_grad():
        for start in range(0, len(order), 32):
            idx = order[start : start + 32]
            tokens = [base.tokenizer(texts[i]) for i in idx]
            x, mask = base.embed_tokens(tokens)
            x = base.run_layers(x, mask, 0, frozen)
            for j, i in enumerate(idx):
                out[i] = x[j, : len(tokens[j])].clone()
    return out


def deepen(base: E5Encoder, states: list[torch.Tensor], start: int, stop: int) -> list[torch.Tensor]:
    """States after layer `start` carried on to after layer `stop`."""
    out = []
    with torch.no_grad():
        for i in range(0, len(states), 32):
            chunk = states[i : i + 32]
            x, mask = base.pad(chunk)
            x = base.run_layers(x, mask, start, stop)
            out += [x[j, : len(s)].clone() for j, s in enumerate(chunk)]
    return out


def cached_states(base: E5Encoder, texts: Sequence[str], frozen: int) -> list[torch.Tensor]:
    """`frozen_states` through the `_STATES` cache (least recently used texts leave first).

    A text cached at a shallower depth (the category model's) is carried on from there, so the
    polarity model does not run the shared lower layers again."""
    keys = [(t, frozen) for t in texts]
    new = [k for k in dict.fromkeys(keys) if k not in _STATES]
    by_depth: dict[int, list[tuple[str, int]]] = {}
    for key in new:
        depth = max((d for d in range(frozen) if (key[0], d) in _STATES), default=0)
        by_depth.setdefault(depth, []).append(key)
    for depth, group in by_depth.items():
        texts_ = [t for t, _ in group]
        states = (
            deepen(base, [_STATES[(t, depth)] for t in texts_], depth, frozen)
            if depth
            else frozen_states(base, texts_, frozen)
        )
        _STATES.update(zip(group, states, strict=True))
    out = []
    for k in keys:
        _STATES.move_to_end(k)
        out.append(_STATES[k])
    while len(_STATES) > max(MAX_CACHED_STATES, len(keys)):
        _STATES.popitem(last=False)
    return out


def length_batches(lengths: np.ndarray, rng: np.random.RandomState) -> list[np.ndarray]:
    """Shuffled batches of similar-length texts (less padding, same randomness per epoch)."""
    perm = rng.permutation(len(lengths))
    batches = []
    for start in range(0, len(perm), 256):
        chunk = perm[start : start + 256]
        chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
        batches += [chunk[i : i + BATCH] for i in range(0, len(chunk), BATCH)]
    rng.shuffle(batches)
    return batches


def multilabel_loss(labels: np.ndarray) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """Masked binary cross-entropy for [n, k] labels of 1 / 0 / -1 (unknown)."""
    y = torch.tensor(np.clip(labels, 0, 1), dtype=torch.float32)
    known = torch.tensor(labels >= 0, dtype=torch.float32)
    pos, neg = (y * known).sum(0), ((1 - y) * known).sum(0)
    # rare categories weigh more, damped (sqrt) so the head does not over-predict them
    bce = nn.BCEWithLogitsLoss(reduction="none", pos_weight=(neg / pos.clamp_min(1)).clamp(max=20).sqrt())

    def loss(logits: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
        return (bce(logits, y[idx]) * known[idx]).sum() / known[idx].sum().clamp_min(1)

    return loss


def single_label_loss(
    labels: np.ndarray, n_classes: int | None = None, balanced: bool = False
) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """Cross-entropy for [n] class indices; -1 (unknown) rows are skipped.

    `balanced`: each class weighs n / (k · n_class) (sklearn's "balanced"), so the head learns no
    prior from the training rows' class mix (a class without rows gets weight 0)."""
    y = torch.tensor(labels, dtype=torch.long)
    weight = None
    if balanced:
        k = n_classes if n_classes is not None else int(labels.max()) + 1
        counts = np.bincount(labels[labels >= 0], minlength=k).astype(float)
        present = counts > 0
        w = np.zeros(k)
        w[present] = counts.sum() / (present.sum() * counts[present])
        weight = torch.tensor(w, dtype=torch.float32)
    ce = nn.CrossEntropyLoss(weight=weight, ignore_index=-1)

    def loss(logits: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
        return ce(logits, y[idx]) if bool((y[idx] >= 0).any()) else logits.sum() * 0

    return loss


@dataclass
class TunedClassifier:
    """Trained weights of `_Top` as numpy arrays (saved as safetensors with the `CoderModel`).

    `multilabel`: independent probabilities per id (the categories); otherwise one softmax
    over the ids (the polarity of a sentence)."""

    ids: list[str]
    frozen: int
    state: dict[str, np.ndarray]
    epochs: int
    multilabel: bool = True
    _module: _Top | None = field(default=None, repr=False, compare=False)

    @classmethod
    def fit(
        cls,
        texts: Sequence[str],
        labels: np.ndarray,
        ids: Sequence[str],
        epochs: int = 4,
        frozen: int = 6,
        lr: float = 1e-4,
        progress: bool = False,
        balanced: bool = False,
    ) -> TunedClassifier:
        """`labels`: [n_texts, n_ids] of 1 / 0 / -1 (unknown) for a multi-label task, or [n_texts]
        class indices into `ids` (-1 = unknown) for a single-label one; `balanced`: a single-label
        loss with class-balanced weights (see `single_label_loss`)."""
        torch.manual_seed(SEED)
        rng = np.random.RandomState(SEED)
        base = load_encoder()
        states = cached_states(base, texts, frozen)
        lengths = np.array([len(s) for s in states])
        multilabel = labels.ndim == 2
        loss_fn = multilabel_loss(labels) if multilabel else single_label_loss(labels, len(ids), balanced)
        top = _Top(base, frozen, len(ids))
        steps = epochs * len(length_batches(lengths, np.random.RandomState(0)))
        optim = torch.optim.AdamW(
            [{"params": top.layers.parameters(), "lr": lr}, {"params": top.head.parameters(), "lr": 2e-3}],
            weight_decay=0.01,
        )
        sched = torch.optim.lr_scheduler.OneCycleLR(
            optim, max_lr=[lr, 2e-3], total_steps=steps, pct_start=0.1
        )
        desc = "fine-tune coder: " + ("categories" if multilabel else "polarity")
        bar = tqdm(total=steps, desc=desc, unit="batch", disable=not progress)
        top.train()
        for _ in range(epochs):
            for batch in length_batches(lengths, rng):
                x, mask = base.pad([states[i] for i in batch])
                loss = loss_fn(top(x, mask), torch.from_numpy(batch))
                optim.zero_grad()
                loss.backward()
                optim.step()
                sched.step()
                bar.update()
        bar.close()
        top.eval()
        state = {k: v.detach().numpy().copy() for k, v in top.state_dict().items()}
        return cls(list(ids), frozen, state, epochs, multilabel, top)

    def module(self) -> _Top:
        if self._module is None:
            top = _Top(load_encoder(), self.frozen, len(self.ids))
            top.load_state_dict({k: torch.from_numpy(v) for k, v in self.state.items()})
            self._module = top.eval()
        return self._module

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """[n_texts, n_ids] probabilities."""
        out = np.zeros((len(texts), len(self.ids)))
        if not len(texts):
            return out
        base, top = load_encoder(), self.module()
        states = cached_states(base, texts, self.frozen)
        order = sorted(range(len(texts)), key=lambda i: len(states[i]))
        with torch.no_grad():
            for start in range(0, len(order), 32):
                idx = order[start : start + 32]
                x, mask = base.pad([states[i] for i in idx])
                logits = top(x, mask)
                out[idx] = (torch.sigmoid(logits) if self.multilabel else torch.softmax(logits, -1)).numpy()
        return out

    def to_state(self) -> State:
        config = {"ids": self.ids, "frozen": self.frozen, "epochs": self.epochs}
        return State({**config, "multilabel": self.multilabel}, weights=dict(self.state))

    @classmethod
    def from_state(cls, state: State) -> TunedClassifier:
        c = state.config
        weights = dict(state.weights)
        return cls(list(c["ids"]), int(c["frozen"]), weights, int(c["epochs"]), bool(c["multilabel"]))
