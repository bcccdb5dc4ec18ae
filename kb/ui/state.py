"""Cached resources for the app: the knowledge base (loaded once per process), first-run build,
and small derived lookups (auto-code sentences, neighbouring passages, case metadata).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import pandas as pd
import streamlit as st

from kb.errors import StoreMissing
from kb.settings import Settings, get_settings
from kb.store.generations import current_name, store_dir
from kb.store.kbase import KnowledgeBase, forget, get_kb, is_built

_BUILD_LOCK = threading.Lock()


@dataclass
class Resources:
    """The knowledge base plus lookups the pages need; rebuilt only with the knowledge base."""

    kb: KnowledgeBase
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def settings(self) -> Settings:
        return self.kb.settings

    @cached_property
    def labels(self) -> dict[str, str]:
        return {c.id: c.label_ko for c in self.kb.codebook.categories}

    @cached_property
    def auto_by_id(self) -> dict[str, dict[str, Any]]:
        from kb.review.queue import auto_by_id

        return auto_by_id(self.kb)

    def coded_sentences(self, pid: str) -> list[tuple[int, int, list[dict[str, Any]]]]:
        from kb.review.queue import coded_sentences

        return coded_sentences(self.kb, pid)

    @cached_property
    def neighbours(self) -> dict[str, tuple[str | None, str | None]]:
        """passage id -> (previous, next) passage id of the same document by start offset."""
        df = self.kb.passages_df[["id", "doc_id", "start"]].sort_values(["doc_id", "start"], kind="stable")
        out: dict[str, tuple[str | None, str | None]] = {}
        for _, grp in df.groupby("doc_id", sort=False):
            ids = grp["id"].tolist()
            for i, pid in enumerate(ids):
                out[pid] = (ids[i - 1] if i > 0 else None, ids[i + 1] if i + 1 < len(ids) else None)
        return out

    @cached_property
    def cases(self) -> pd.DataFrame:
        """One row per case present in the passages: name, group, platform type, organisation."""
        from kb import api

        return api.cases(self.settings)

    def citation(self, pid: str, full: bool = False) -> str:
        """The passage's citation on a card: a transcript's file and lines, a report passage's pages;
        `full`: as the exports give it, for a footnote."""
        from kb import api

        return api.citation(pid, settings=self.settings, full=full)

    def case_name(self, case: str) -> str:
        row = self.cases[self.cases["case"] == case]
        return str(row["name_ko"].iloc[0]) if len(row) else case


def settings() -> Settings:
    return get_settings()


def build_needed(s: Settings) -> tuple[str, ...]:
    """The build stages the app must run before it can open the knowledge base (empty = none)."""
    from kb.runner import STAGES

    if not is_built(s):
        return STAGES
    if not (store_dir(s) / "bm25" / "index.json").exists():
        return ("index",)
    if not s.chroma_url and not (s.data_dir / "chroma").exists():
        return ("index",)
    return ()


def run_build(s: Settings, stages: tuple[str, ...] | None = None) -> None:
    """Build with a visible status box fed by the builder's log callback.

    Without `stages`, runs what `build_needed` says (re-checked under the lock, so a second
    session that waited for the first one's build does nothing).
    """
    from kb import api, background

    with _BUILD_LOCK:
        stages = stages or build_needed(s)
        if not stages:
            return
        first = "code" in stages and background.enabled(s)  # fast coder now, fine-tuned one in the background
        with st.status("지식베이스 구축 중… (first run: building the knowledge base)", expanded=True) as box:
            box.write(f"데이터 폴더: `{s.data_dir}` · 단계: {', '.join(stages)}")
            if first:
                box.write(background.FIRST_BUILD_NOTE)
            # the fast coder (its e5 reading of the training sentences comes from corpus/cache/, so it
            # costs the first search seconds, not minutes); the fine-tuned coder replaces it
            built = s.with_overrides(coder_tune_epochs=0) if first else s
            api.build(built, stages=stages, progress=False, log=lambda msg: box.write(_plain(msg)))
            box.update(label="지식베이스 구축 완료 (build complete)", state="complete", expanded=False)
        forget(s)
        _load.clear()
        if first:
            background.start(s)


def _plain(msg: str) -> str:
    from kb.ui.components import md_escape

    return md_escape(msg)


@st.cache_resource(show_spinner="지식베이스를 불러오는 중… (loading the knowledge base)", max_entries=2)
def _load(key: str, _s: Settings) -> Resources:
    kb = get_kb(_s)
    kb.keyword_index  # noqa: B018 - load indexes and models once, not on the first search
    kb.collection  # noqa: B018
    kb.codes_df()
    kb.embedder.embed_queries(["워밍업 warm-up"])  # model weights load here, not in the first search
    from kb.text.morphs import terms

    terms("워밍업")
    from kb import api

    api.warm_search(kb)
    return Resources(kb)


def resources() -> Resources:
    """The process-wide resources; builds the knowledge base first when it is missing."""
    s = settings()
    if build_needed(s):
        run_build(s)
    try:
        return _load(_key(s), s)
    except StoreMissing:
        # Passages exist but the vector index is empty or from another model: index again.
        forget(s)
        run_build(s, ("index",))
        return _load(_key(s), s)


def _key(s: Settings) -> str:
    """Settings plus the current generation: a build by any process makes the app reload."""
    return f"{s!r}@{current_name(s.data_dir)}"
