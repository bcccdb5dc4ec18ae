"""The built knowledge base, loaded once per process: passages, effective codes, indexes.

Effective codes are the auto coder's output with human review decisions applied (human
decisions always win). They are recomputed only when the review log has grown. One object
reads one generation of the built store (`kb.store.generations`), chosen when it is created; `get_kb`
hands out a new object once a build has switched the data directory to a newer generation.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd

from kb.errors import StoreMissing
from kb.fileio import read_jsonl, write_jsonl  # noqa: F401 - write_jsonl re-exported for callers of kb.store.kbase
from kb.records import CODE_COLUMNS, DIRECTION_COLUMNS, STORE_PASSAGE_FIELDS
from kb.settings import Settings, get_settings
from kb.store.generations import current_name, store_dir

PASSAGES_FILE = "passages.jsonl"
CODES_FILE = "codes.jsonl"

PASSAGE_COLUMNS = list(STORE_PASSAGE_FIELDS)


def is_built(settings: Settings) -> bool:
    root = store_dir(settings)
    return (root / PASSAGES_FILE).exists() and (root / CODES_FILE).exists()


@dataclass
class KnowledgeBase:
    settings: Settings
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _codes_version: int = -1
    _codes_df: pd.DataFrame | None = None
    _codes_by_passage: dict[str, list[dict[str, Any]]] = field(default_factory=dict, repr=False)
    _reviewed: set[str] = field(default_factory=set, repr=False)
    _passage_memos: dict[str, str] = field(default_factory=dict, repr=False)
    _codes_meta: pd.DataFrame | None = field(default=None, repr=False)
    _memo: dict[Any, Any] = field(default_factory=dict, repr=False)
    root: Path = field(default=Path(), repr=False)  # the generation read; set from settings
    generation: str | None = None

    def __post_init__(self) -> None:
        if self.root == Path():
            self.generation = current_name(self.settings.data_dir)
            self.root = store_dir(self.settings)

    @classmethod
    def open(cls, settings: Settings | None = None) -> KnowledgeBase:
        settings = settings or get_settings()
        if not is_built(settings):
            raise StoreMissing(f"no knowledge base in {settings.data_dir}; run `kb build` first")
        return cls(settings)

    # ---- records -------------------------------------------------------------------------
    @cached_property
    def passages(self) -> list[dict[str, Any]]:
        return read_jsonl(self.root / PASSAGES_FILE)

    @cached_property
    def passage_by_id(self) -> dict[str, dict[str, Any]]:
        return {p["id"]: p for p in self.passages}

    @cached_property
    def passages_df(self) -> pd.DataFrame:
        df = pd.DataFrame(self.passages)
        for col in PASSAGE_COLUMNS:
            if col not in df:
                df[col] = None
        return df.set_index("id", drop=False)

    @cached_property
    def relocate(self) -> Callable[[str, str], str]:
        """(passage id, text hash) of a decision -> the id it counts for now (kb.review.merge.relocate)."""
        from kb.review.merge import relocate

        return relocate(self.passages)

    @cached_property
    def passage_values(self) -> dict[str, list[str]]:
        """Distinct group, case and platform type values (filter validation; ~8 ms a scan at 100k)."""
        df = self.passages_df
        return {c: df[c].dropna().unique().tolist() for c in ("group", "case", "platform_type")}

    @cached_property
    def auto_codes(self) -> list[dict[str, Any]]:
        """The coder's codes; none yet while the first generation is being built (its code stage
        asks for them to know which categories a reviewer saw)."""
        path = self.root / CODES_FILE
        return read_jsonl(path) if path.exists() else []

    @cached_property
    def codebook(self) -> Any:
        from kb.coding.codebook import load_codebook

        return load_codebook(self.settings.codebook_path)

    @cached_property
    def reviews(self) -> Any:
        from kb.review.decisions import open_store

        return open_store(self.settings.reviews_db, valid_categories=self.codebook.ids)

    # ---- effective codes -----------------------------------------------------------------
    def codes_df(self) -> pd.DataFrame:
        """One row per effective code (auto unless a human decided otherwise).

        A read: it never writes. Filters (factor, polarity, reviewed) apply to these codes in
        kb.query.filters, not to Chroma metadata, so nothing needs syncing when a decision lands."""
        version = self.reviews.version()
        with self._lock:
            changed = self._codes_df is None or version != self._codes_version
            if changed:
                self._codes_df, self._reviewed, self._passage_memos, anchored = self._merge_codes()
                self._codes_by_passage = {}
                for row in self._codes_df.to_dict("records"):
                    self._codes_by_passage.setdefault(row["passage_id"], []).append(row)
                self._codes_version = version
                self._codes_meta = None
                self._memo = {("anchored",): anchored}
            return self._codes_df

    def _merge_codes(self) -> tuple[pd.DataFrame, set[str], dict[str, str], Any]:
        from kb.review.decisions import anchor, merge

        dims = {c.id: c.dimension for c in self.codebook.categories}
        rows, memos = [], {}
        anchored = anchor(self.passages, self.reviews)  # once: the merge, `reviewed` and `anchored()`
        for entry in merge(self.auto_codes, self.passages, self.reviews, anchored):
            if entry.get("memo"):
                memos[entry["passage_id"]] = entry["memo"]
            for code in entry.get("codes", []):
                rows.append({
                    "passage_id": entry["passage_id"],
                    "category": code["category"],
                    "dimension": dims.get(code["category"], "other"),
                    "polarity": code.get("polarity") or "neutral",
                    "also": code.get("also") or {},
                    "confidence": float(code.get("confidence") or 0.0),
                    "polarity_confidence": _float_or_none(code.get("polarity_confidence")),
                    "source": code.get("source") or "auto",
                    "reviewer": code.get("reviewer") or None,
                    "memo": code.get("memo") or None,
                    "evidence": code.get("evidence"),
                })  # fmt: skip
        frame = pd.DataFrame(rows, columns=CODE_COLUMNS).astype({"reviewer": object, "memo": object})
        frame[["reviewer", "memo"]] = frame[["reviewer", "memo"]].where(
            frame[["reviewer", "memo"]].notna(), None
        )
        # Reviewed = any decision on the passage's current text, rejections included.
        return frame, set(anchored.codes), memos, anchored

    def anchored(self) -> Any:
        """The decisions as they apply to the current passages (kb.review.merge.anchor), computed once
        per decision: a decision carried to a passage's new id is under that id."""
        self.codes_df()
        with self._lock:
            return self._memo[("anchored",)]

    def memo(self, key: Any, compute: Any) -> Any:
        """`compute()` cached until the codes change (filter id sets, masks: reused across searches)."""
        self.codes_df()
        with self._lock:
            if key in self._memo:
                return self._memo[key]
        value = compute()
        with self._lock:
            self._memo[key] = value
        return value

    def codes_by_direction(self) -> pd.DataFrame:
        """Effective codes once per direction they count under (DIRECTION_COLUMNS): each code's own
        polarity, then each other direction one of its sentences carries (`also`), at that
        sentence's confidence. What the matrix, case profiles, polarity filters and exports count."""
        return self.memo(("by direction",), lambda: by_direction(self.codes_df()))

    def codes_with_meta(self) -> pd.DataFrame:
        """Counted codes (`codes_by_direction`) with their passage's case, group and platform type
        (for pivots): a passage counts once per factor and direction."""
        codes = self.codes_by_direction()
        with self._lock:
            if self._codes_meta is None:
                meta = self.passages_df[["case", "case_name", "group", "platform_type"]]
                self._codes_meta = (
                    codes.drop_duplicates(["passage_id", "category", "polarity"])
                    .join(meta, on="passage_id")
                    .reset_index(drop=True)
                )
            return self._codes_meta

    def _merged(self) -> None:
        # Per-passage lookups read the last merge; `codes_df()` is where the review log is
        # checked, once per operation, not once per passage (it costs a SQLite query).
        if self._codes_df is None:
            self.codes_df()

    def codes_for(self, passage_id: str) -> list[dict[str, Any]]:
        """Effective codes of one passage, as of the last `codes_df()`."""
        self._merged()
        return self._codes_by_passage.get(passage_id, [])

    def passage_memos(self) -> dict[str, str]:
        """Passage id -> the coders' passage memo (on its current text), as of the last `codes_df()`."""
        self._merged()
        return self._passage_memos

    def reviewed_ids(self) -> set[str]:
        """Passages a human coder decided on (accepted, added, re-polarised or rejected codes)."""
        self._merged()
        return self._reviewed

    # ---- indexes -------------------------------------------------------------------------
    @cached_property
    def embedder(self) -> Any:
        from kb.embeddings.adapted import embedder_for

        return embedder_for(self.settings)  # the configured model, its e5 queries adapted if KB_EMBED_ADAPT

    @cached_property
    def collection(self) -> Any:
        from kb.store.vectorstore import kb_id, open_client, open_collection

        ident = kb_id(self.settings, create=False)
        col = open_collection(
            open_client(self.settings, fresh=True), self.embedder, kb_id=ident, create=False
        )
        if col is None or col.count() == 0:
            raise StoreMissing(
                f"no vector index for model {self.settings.embed_model!r} in {self.settings.data_dir}; "
                "run `kb build` first"
            )
        return col

    @cached_property
    def vector_cache(self) -> Any:
        """Stored vectors of recently used narrow filters (exact filtered dense search)."""
        from kb.store.vectorstore import VectorCache

        return VectorCache()

    @cached_property
    def keyword_index(self) -> Any:
        from kb.store.keyword_index import KeywordIndex

        index = KeywordIndex.load(self.root / "bm25")
        if index is None:
            raise StoreMissing(f"no keyword index in {self.settings.data_dir}; run `kb build` first")
        return index


_OPEN: dict[Settings, KnowledgeBase] = {}
_OPEN_LOCK = threading.Lock()


def get_kb(settings: Settings | None = None) -> KnowledgeBase:
    """The process-wide knowledge base for these settings (models and indexes load once).

    Reopened when a build (in this or another process) has switched to a newer generation;
    one read of the small pointer file per call.
    """
    settings = settings or get_settings()
    with _OPEN_LOCK:
        kb = _OPEN.get(settings)
        if kb is None or kb.generation != current_name(settings.data_dir):
            kb = _OPEN[settings] = KnowledgeBase.open(settings)
        return kb


def forget(settings: Settings | None = None) -> None:
    """Drop the cached knowledge base, e.g. after a rebuild."""
    with _OPEN_LOCK:
        if settings is None:
            _OPEN.clear()
        else:
            _OPEN.pop(settings, None)


def _float_or_none(value: Any) -> float | None:
    return None if value is None else float(value)


def by_direction(codes: pd.DataFrame) -> pd.DataFrame:
    """`codes` (CODE_COLUMNS) with one more row per `also` direction (DIRECTION_COLUMNS)."""
    own = codes.assign(polarity_from="passage")
    extra = [
        {
            **row,
            "polarity": pol,
            "confidence": float(conf),
            "polarity_confidence": None,
            "also": {},
            "polarity_from": "sentence",
        }  # fmt: skip
        for row in codes[codes["also"].map(bool)].to_dict("records")
        for pol, conf in row["also"].items()
    ]
    if not extra:
        return own.reset_index(drop=True)[list(DIRECTION_COLUMNS)]
    both = pd.concat([own, pd.DataFrame(extra, columns=list(DIRECTION_COLUMNS))], ignore_index=True)
    return both[list(DIRECTION_COLUMNS)].astype({"reviewer": object, "memo": object})
