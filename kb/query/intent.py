"""What a question asks about: codebook categories and, when it says so, a direction.

Researchers ask about a factor and a direction ("what held back resident participation?",
"예산 확보가 성공에 어떤 역할을 했나") in words a passage rarely uses, while kb has already coded
every passage into the codebook's categories with a polarity. Reading the question's intent lets
search prefer the passages coded with it: the categories by cosine of the query vector search
already computed to each category's labels and definitions (Korean and English; both encoders are
multilingual) plus the categories the store's own coder gives the query text, the direction by a few
polarity words of either language. Search adds one ranking to its fusion: its candidates coded with
the intent, by weight x confidence (docs/bench/retrieval_intent.md). Nothing here knows any
evaluation question; the codebook is the only vocabulary.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from kb.query.glossary import glossary_for
from kb.query.vocabulary import query_lang

# Direction words, matched as substrings (Korean stems; English word starts). General phrasings of
# "what went wrong / what worked / what should be done", not taken from any question set.
_POLARITY_WORDS: dict[str, tuple[str, ...]] = {
    "obstacle": (
        "어려", "장애", "장벽", "걸림돌", "한계", "문제", "부족", "실패", "저조", "갈등", "저항", "제약",
        "가로막", "방해", "애로", "약점", "부진", "미흡", "막았", "막은", "발목",
        "obstacle", "barrier", "challeng", "difficult", "problem", "held back", "hold back", "holding back",
        "hinder", "limit", "lack", "fail", "weakness", "constrain", "struggl", "prevent", "conflict",
        "resist", "shortcoming", "bottleneck", "went wrong", "shortage", "shortfall", "insufficien", "scarc",
        "short of", "too few", "too little", "drawback", "impede", "hamper", "setback",
        "차질", "난관", "저해", "모자라", "미비", "취약", "외면", "중단", "폐지", "방치", "사장되", "좌초",
        "abandon", "discontinu", "shut down", "neglect",
    ),
    "success": (
        "성공", "효과", "성과", "기여", "도움", "강점", "장점", "비결", "잘 된", "잘된", "원동력",
        "success", "succeed", "worked", "work well", "effective", "helped", "contribut", "enabl",
        "strength", "benefit", "achiev", "drove", "key to",
    ),
    "recommendation": (
        "해야", "하려면", "방안", "제언", "시사점", "교훈", "권고", "바람직", "조언", "권하", "당부",
        "should", "recommend", "lesson", "suggest", "implication", "need to", "ought", "advice", "advis",
    ),
}  # fmt: skip


def _pattern(words: Sequence[str]) -> re.Pattern[str]:
    """Korean stems anywhere (particles follow them), English words from their start."""
    alts = (re.escape(w) if re.search(r"[가-힣]", w) else r"\b" + re.escape(w) for w in words)
    return re.compile("|".join(alts))


_WORDS = {pol: _pattern(ws) for pol, ws in _POLARITY_WORDS.items()}


@dataclass(frozen=True)
class IntentConfig:
    """How a query's intent is read and how much it moves the ranking (bench/retrieval_variants.py)."""

    part: int | None = 0  # encoder whose cosine reads the categories (None: mean over encoders)
    temperature: float = 0.02  # category weight exp((cos - best cos) / temperature)
    min_weight: float = 0.5  # categories below this weight are not part of the intent
    max_categories: int = 3
    off_polarity: float = 0.5  # a code of another polarity than the query's counts this much
    order: str = "code"  # the coded candidates ordered by: code (weight x confidence) | fused (the fusion's)
    coder_min: float | None = 0.5  # categories the coder gives the query at least this (None: no coder)
    # an English query: categories the coder gives its glossary Korean terms at least this (None: off;
    # 0.5 as coder_min: chosen on the dev halves, docs/bench/retrieval.md)
    gloss_coder_min: float | None = 0.5
    texts: str = "definitions"  # a category read from: definitions (and labels) | include (plus rules)


DEFAULT_INTENT = IntentConfig()


@dataclass(frozen=True)
class Intent:
    categories: Mapping[str, float] = field(default_factory=dict)  # category id -> weight in (0, 1]
    polarity: str | None = None  # obstacle | success | recommendation, when the query says so


# "Why did … not …?" asks for the reasons of a failure, whatever the verb ("why did residents not
# use the app?", "주민들은 왜 앱을 쓰지 않았나", "왜 참여가 안 됐나"), and so does the reason of a
# negated verb ("주민들이 잘 안 쓴 이유", "참여하지 않는 원인", "the reasons residents did not …").
_NEGATED = r"(\s안\s|\s안된|지\s?않|지\s?못|\s못\s|없었|없는)"
_WHY_NOT = re.compile(
    r"\bwhy\b.*(\bnot\b|n't\b|\bnever\b|\bno one\b|\bnobody\b|\bfew\b)"
    rf"|왜.*{_NEGATED}|{_NEGATED}.*(이유|원인|까닭)"
    r"|\breasons?\b.*(\bnot\b|n't\b|\bnever\b)"
)


def query_polarity(query: str) -> str | None:
    """The direction the query asks about, when exactly one direction's words occur in it."""
    text = query.lower()
    found = [pol for pol, rx in _WORDS.items() if rx.search(text)]
    if "obstacle" not in found and _WHY_NOT.search(text):
        found.append("obstacle")
    return found[0] if len(found) == 1 else None


def category_texts(codebook: Any, which: str = "definitions") -> tuple[list[str], list[str]]:
    """(category id, text) pairs: each category's labels and definitions in both languages, and
    with `which="include"` its inclusion rules."""
    owners, texts = [], []
    for c in codebook.categories:
        extra = tuple(c.include) if which == "include" else ()
        for text in (f"{c.label_ko} {c.label_en}", c.definition, c.definition_en, *extra):
            if text:
                owners.append(c.id)
                texts.append(text)
    return owners, texts


class CategoryReader:
    """Category vectors per encoder, embedded once per codebook (and per query model)."""

    def __init__(
        self,
        codebook: Any,
        embedder: Any,
        which: str = "definitions",
        embed: Callable[..., Any] | None = None,
    ) -> None:
        """`embed` (texts -> query vectors of `embedder`) may be a cache in front of it."""
        from kb.store.sentence_index import split_query_vector

        self.ids = list(codebook.ids)
        owners, texts = category_texts(codebook, which)
        fused = (embed or embedder.embed_queries)(texts)
        rows = [split_query_vector(embedder, v) for v in fused]
        self.owner = np.array([self.ids.index(o) for o in owners])
        self.parts = [np.stack([r[i] for r in rows]) for i in range(len(rows[0]))]

    def scores(self, part_vectors: Sequence[np.ndarray], part: int | None) -> np.ndarray:
        """Per category the best cosine of the query to one of its texts."""
        chosen = range(len(self.parts)) if part is None else [part]
        sims = np.mean([self.parts[i] @ np.asarray(part_vectors[i]) for i in chosen], axis=0)
        out = np.full(len(self.ids), -np.inf)
        np.maximum.at(out, self.owner, sims)
        return out

    def read(self, query: str, part_vectors: Sequence[np.ndarray], config: IntentConfig) -> Intent:
        s = self.scores(part_vectors, config.part)
        w = np.exp((s - s.max()) / max(config.temperature, 1e-6))
        order = [int(i) for i in np.argsort(-w, kind="stable")[: config.max_categories]]
        cats = {self.ids[i]: float(w[i]) for i in order if w[i] >= config.min_weight}
        return Intent(cats, query_polarity(query))


def reader_for(kb: Any, config: IntentConfig = DEFAULT_INTENT) -> CategoryReader:
    """The open knowledge base's reader (kept on the instance: lives and dies with it).

    The category vectors are cached on disk beside the store (seconds to embed, once per codebook
    and query model), so a fresh process's first search does not pay for them."""
    readers = kb.__dict__.setdefault("_category_readers", {})
    if config.texts not in readers:
        from kb.coding.similarity import CachedEmbedder
        from kb.store.sentence_index import encoders

        models = [kb.embedder, *encoders(kb.embedder)]  # an adapted query encoder has its own version
        ident = "|".join(
            f"{getattr(m, 'name', '')};{getattr(m, 'version', '')};{getattr(m, 'query_version', '')}"
            for m in models
        )
        ident += f"|{config.texts}"
        digest = hashlib.sha1(ident.encode("utf-8")).hexdigest()[:16]
        path = kb.settings.data_dir / "cache" / f"intent-{digest}.npz"
        try:
            cached = CachedEmbedder(kb.embedder, path)
        except Exception:  # noqa: BLE001 - an unreadable cache file is only a cache: embed anew, replace it
            cached = CachedEmbedder(kb.embedder, None)
            cached.cache_path = path
        readers[config.texts] = CategoryReader(kb.codebook, kb.embedder, config.texts, cached.embed)
        try:
            cached.save()
        except OSError:  # a read-only data directory: the vectors stay in memory
            pass
    return readers[config.texts]


def intent_of(kb: Any, query: str, part_vectors: Sequence[np.ndarray], config: IntentConfig) -> Intent:
    """The query's categories (by similarity, plus what the store's coder reads in it) and direction."""
    intent = reader_for(kb, config).read(query, part_vectors, config)
    if config.coder_min is not None:
        intent = with_coder(intent, coder_confidences(kb, query), config.coder_min)
    if config.gloss_coder_min is not None and query_lang(query) == "en":
        terms = glossary_terms(kb, query)
        if terms:
            intent = with_coder(intent, coder_confidences(kb, terms), config.gloss_coder_min)
    return intent


def glossary_terms(kb: Any, query: str) -> str:
    """The Korean terms the glossary gives the English query's phrases, as one text for the coder:
    the coder reads Korean cues ("did the mayor support …" → 시장 … 단체장 지원 …: leadership),
    where e5's similarity alone may read "mayor" as regional."""
    return " ".join(term for entry in glossary_for(kb).match(query) for term in entry.ko)


READ_INTENTS_KEPT = 64  # questions whose reading an open knowledge base remembers


def read_intent(kb: Any, query: str, config: IntentConfig = DEFAULT_INTENT) -> Intent:
    """`intent_of` for a query not yet embedded (the cross-case view, the search page's reading line).

    Remembered on the open knowledge base, as its category reader and coder are (a reading depends
    only on them and the query): one page rerun asks it twice – the reading line and the
    across-cases tab – and each ask embeds the query and runs the coder on it. A question none of
    whose words occur in the corpus (`kb.query.vocabulary.corpus_words`) is about something else:
    nothing is read into it."""
    from kb.query.vocabulary import corpus_words
    from kb.store.sentence_index import split_query_vector

    kept: dict[tuple[str, IntentConfig], Intent] = kb.__dict__.setdefault("_read_intents", {})
    if (query, config) not in kept:
        if len(kept) >= READ_INTENTS_KEPT:
            kept.pop(next(iter(kept)))  # the oldest question
        if corpus_words(kb, query):
            vector = kb.embedder.embed_queries([query])[0]
            kept[(query, config)] = intent_of(kb, query, split_query_vector(kb.embedder, vector), config)
        else:
            kept[(query, config)] = Intent()
    return kept[(query, config)]


def intent_list(
    kb: Any, query: str, part_vectors: Sequence[np.ndarray], fused: Sequence[str], config: IntentConfig
) -> list[str]:
    """The ranking search adds to its fusion: the fused candidates coded with the query's intent."""
    intent = intent_of(kb, query, part_vectors, config)
    return intent_ranking(fused, code_scores(kb.codes_for, fused, intent, config), config)


def with_coder(intent: Intent, confidences: Mapping[str, float], minimum: float) -> Intent:
    """The intent plus, at full weight, every category the coder gives the query text confidently."""
    cats = dict(intent.categories)
    for cat, conf in confidences.items():
        if conf >= minimum:
            cats[cat] = 1.0
    return Intent(cats, intent.polarity)


def coder_confidences(kb: Any, query: str) -> dict[str, float]:
    """The store's own coder on the query text: per category its best sentence confidence.

    The coder reads Korean cues and paraphrases the way it reads passages, so a Korean question about
    a factor is coded like a passage about it. Empty when the store has no usable coder."""
    coder = coder_for(kb)
    if coder is None:
        return {}
    scored = coder.score_texts([query])
    if not len(scored.conf):
        return {}
    return {cat: float(x) for cat, x in zip(scored.cats, scored.conf.max(axis=0), strict=True)}


def coder_for(kb: Any) -> Any:
    """The coder `kb build` saved with the store (loaded once per open knowledge base), or None."""
    if "_intent_coder" not in kb.__dict__:
        from kb.coding.coder import Coder

        try:
            kb.__dict__["_intent_coder"] = Coder.load(kb.settings)
        except Exception:  # noqa: BLE001 - a store without a usable coder: intent by similarity alone
            kb.__dict__["_intent_coder"] = None
    return kb.__dict__["_intent_coder"]


def code_scores(
    codes_for: Any, candidates: Sequence[str], intent: Intent, config: IntentConfig
) -> dict[str, float]:
    """How strongly each candidate passage is coded with the intent: best weight x confidence."""
    out: dict[str, float] = {}
    if not intent.categories:
        return out
    for pid in candidates:
        best = 0.0
        for c in codes_for(pid):
            w = intent.categories.get(c["category"], 0.0)
            if not w:
                continue
            if intent.polarity is not None and c.get("polarity") != intent.polarity:
                w *= config.off_polarity
            best = max(best, w * float(c.get("confidence") or 0.0))
        if best > 0:
            out[pid] = best
    return out


def intent_ranking(fused: Sequence[str], scores: Mapping[str, float], config: IntentConfig) -> list[str]:
    """The fused candidates coded with the intent, in fused order or by how strongly coded."""
    coded = [pid for pid in fused if pid in scores]
    if config.order == "code":
        coded.sort(key=lambda pid: -scores[pid])  # stable: fused order among equals
    return coded
