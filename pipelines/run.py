"""`kb build`: corpus -> passages -> codes -> keyword and vector indexes, each stage incremental.

The runner: it holds the data directory's lock, backs up the review log, writes a new
generation (`kb.store.generations`), runs the stages in order (pipelines.segment, .code, .index:
each a plain function of the settings), switches to the new generation only when every stage is
done, then prunes what no kept generation uses. A crash or a second process never sees half a
store; re-running with nothing changed re-embeds nothing and re-codes nothing.

kb reaches this module through the `kb.pipelines` entry point (kb.runner), never by import.
"""

from __future__ import annotations

import json
import resource
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from kb.embeddings import get_embedder
from kb.fileio import read_jsonl, write_jsonl
from kb.review.backup import backup_reviews
from kb.runner import STAGES
from kb.settings import Settings, get_settings
from kb.store import generations
from kb.store.faults import checkpoint
from kb.store.kbase import PASSAGES_FILE, forget
from kb.store.locking import build_lock
from kb.store.sentence_index import live_sentence_ids, open_sentence_collections
from kb.store.vectorstore import drop_other_collections, kb_id, open_client, open_collection, prune
from pipelines import code, index, segment

__all__ = ["STAGES", "BuildReport", "StageReport", "build", "prune_vectors"]


@dataclass
class StageReport:
    name: str
    seconds: float
    peak_rss_mb: float
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass
class BuildReport:
    stages: list[StageReport] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return sum(s.seconds for s in self.stages)

    def as_dict(self) -> dict[str, Any]:
        return {"seconds": round(self.seconds, 3), "stages": [asdict(s) for s in self.stages]}


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _timed(
    report: BuildReport, name: str, fn: Callable[[], dict[str, Any]], log: Callable[[str], None]
) -> None:
    log(f"[{name}] …")
    t0 = time.perf_counter()
    detail = fn()
    stage = StageReport(name, round(time.perf_counter() - t0, 3), round(_peak_rss_mb(), 1), detail)
    report.stages.append(stage)
    log(f"[{name}] done in {stage.seconds:.1f}s {json.dumps(detail, ensure_ascii=False)}")


def segment_stage(settings: Settings, progress: bool) -> dict[str, Any]:
    passages = segment.run(
        corpus_dir=settings.corpus_dir, data_dir=generations.store_dir(settings), progress=progress
    )
    return {"passages": len(passages)}


def build(
    settings: Settings | None = None,
    *,
    stages: tuple[str, ...] = STAGES,
    progress: bool = True,
    log: Callable[[str], None] = lambda _: None,
    drop_old_collections: bool = False,
    train: bool | code.Trainer = True,
) -> BuildReport:
    """Run the build stages in order into a new generation, switch to it, prune what no kept
    generation uses; record each stage's time and peak memory.

    `train`: see `pipelines.code.run`. Raises BuildLocked at once when another process is building
    the same data directory.
    """
    settings = settings or get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    runs: dict[str, Callable[[], dict[str, Any]]] = {
        "segment": lambda: segment_stage(settings, progress),
        "code": lambda: code.run(settings, progress, train=train),
        "index": lambda: index.run(settings, progress),
    }
    report = BuildReport()
    with build_lock(settings.data_dir):
        backup_reviews(settings, reason="build")
        checkpoint("build:locked")
        draft = generations.begin(settings.data_dir)
        try:
            with generations.building(settings, draft.path):
                for name in STAGES:
                    if name in stages:
                        _timed(report, name, runs[name], log)
                        checkpoint(f"stage:{name}")
                write_jsonl(draft.path / "build_report.jsonl", [report.as_dict()])
        except BaseException:
            generations.abandon(draft)
            raise
        name = generations.commit(draft)
        forget(settings)
        log(f"[switch] generation {name}")
        detail = _prune(settings, draft, drop_old_collections)
        report.stages.append(StageReport("prune", 0.0, round(_peak_rss_mb(), 1), detail))
        checkpoint("build:done")
    return report


def _prune(settings: Settings, draft: generations.Draft, drop_old_collections: bool) -> dict[str, Any]:
    """After the switch: vectors and folders that neither kept generation uses go.

    A crash here is harmless: the next build prunes again.
    """
    keep = generations.kept(settings.data_dir, draft.previous)
    removed = prune_vectors(settings, keep, drop_old_collections)
    checkpoint("prune:vectors")
    gone = generations.prune(settings.data_dir, keep, draft.staged)
    return {"kept": keep, "generations_removed": gone, **removed}


def live_passages(settings: Settings, keep: list[str]) -> list[dict[str, Any]]:
    """The passages of the kept generations (what readers may still ask Chroma for)."""
    out: list[dict[str, Any]] = []
    for name in keep:
        path = settings.data_dir / generations.GENERATIONS / name / PASSAGES_FILE
        if path.exists():
            out.extend(read_jsonl(path))
    return out


def prune_vectors(settings: Settings, keep: list[str], drop_old_collections: bool = False) -> dict[str, Any]:
    """Delete the passage and sentence vectors no kept generation uses; with `drop_old_collections`,
    also this knowledge base's collections for other models. Other knowledge bases are never touched.
    """
    client = open_client(settings, fresh=True)
    embedder = get_embedder(settings.embed_model)
    col = open_collection(client, embedder, kb_id=kb_id(settings), create=False)
    live = live_passages(settings, keep)
    pruned = prune(col, {p["id"] for p in live}) if col is not None else 0
    sentence_cols = open_sentence_collections(client, embedder, kb_id=kb_id(settings), create=False) or []
    live_sentences = live_sentence_ids(live) if sentence_cols else set()
    sentences_pruned = sum(prune(c, live_sentences) for c in sentence_cols)
    dropped = []
    if drop_old_collections:
        for keep_col in [c for c in [col, *sentence_cols] if c is not None]:
            dropped += drop_other_collections(
                client, keep_col, kb_id(settings), legacy=not settings.chroma_url
            )
    return {
        "vectors_pruned": pruned,
        "sentence_vectors_pruned": sentences_pruned,
        "collections_dropped": dropped,
    }
