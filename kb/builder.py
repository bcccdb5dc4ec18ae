"""`kb build`: corpus -> passages -> codes -> keyword and vector indexes, each stage incremental.

Every stage is a plain function over records; re-running with nothing changed re-embeds
nothing and re-codes nothing, so a rebuild takes seconds. A build holds the data directory's
lock, writes a new generation (`kb.store.generations`) and switches to it only when every stage is
done, so a crash or a second process never sees half a store.
"""

from __future__ import annotations

import functools
import json
import resource
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from tqdm.auto import tqdm

from kb.settings import Settings, get_settings
from kb.store import generations
from kb.store.faults import checkpoint
from kb.store.kbase import CODES_FILE, PASSAGES_FILE, KnowledgeBase, forget, read_jsonl, write_jsonl

STAGES = ("segment", "code", "index")
CODE_BATCH = 32


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
    from pipelines import segment

    passages = segment.run(
        corpus_dir=settings.corpus_dir, data_dir=generations.store_dir(settings), progress=progress
    )
    return {"passages": len(passages)}


def code_stage(
    settings: Settings, progress: bool, train: bool | Callable[[Settings, Any], Any] = True
) -> dict[str, Any]:
    """Train the coder on gold + human decisions (if they changed), then code changed passages.

    A passage is re-coded when its text changed or the coder was retrained; otherwise its
    previous codes are kept, so a rebuild with nothing new codes nothing. `train=False` codes
    with the saved coder as it is; a callable `train(settings, decisions)` trains instead of the full
    training (the quick retrain of kb.coding.retrain).
    """
    from kb.coding import Coder
    from kb.coding.build import train_coder
    from kb.coding.coder import coder_dir
    from kb.coding.model_io import saved_stamp
    from kb.review.decisions import training_examples

    kb = KnowledgeBase(settings)
    decisions = training_examples(kb.passages, kb.reviews)
    if callable(train):
        train(settings, decisions)
    elif train:
        train_coder(settings, reviews=decisions, progress=progress)
    stamp = saved_stamp(coder_dir(settings)) or ""
    checkpoint("code:trained")
    codes_path = generations.store_dir(settings) / CODES_FILE
    previous = {r["passage_id"]: r for r in read_jsonl(codes_path)} if codes_path.exists() else {}

    def fresh(p: dict[str, Any]) -> bool:
        old = previous.get(p["id"])
        return old is not None and old.get("text_hash") == p["text_hash"] and old.get("coder") == stamp[:16]

    todo = [p for p in kb.passages if not fresh(p)]
    coded: dict[str, dict[str, Any]] = {}
    if todo:
        coder = Coder.load(settings)
        bar = tqdm(total=len(todo), desc="code", unit="passage", disable=not progress)
        for start in range(0, len(todo), CODE_BATCH):
            chunk = todo[start : start + CODE_BATCH]
            ctx = [{k: p.get(k) for k in ("question", "speaker", "group")} for p in chunk]
            texts, ids = [p["text"] for p in chunk], [p["id"] for p in chunk]
            for p, rec in zip(chunk, coder.code_texts(texts, ids, ctx), strict=True):
                rec = {
                    "passage_id": p["id"],
                    "text_hash": p["text_hash"],
                    "coder": stamp[:16],
                    **{k: v for k, v in rec.items() if k != "id"},
                }
                coded[p["id"]] = rec
            bar.update(len(chunk))
            checkpoint("code:batch")
        bar.close()
    records = [coded.get(p["id"]) or previous[p["id"]] for p in kb.passages]
    write_jsonl(codes_path, records)
    checkpoint("code:written")
    return {
        "coded": len(todo),
        "reused": len(records) - len(todo),
        "human_decisions_in_training": len(decisions),
        "codes": sum(len(r["codes"]) for r in records),
    }


def chroma_metadata(kb: KnowledgeBase) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """Filterable metadata per passage, from the effective (human-overridden) codes."""
    categories = list(kb.codebook.ids)
    kb.codes_df()
    reviewed = kb.reviewed_ids()

    def meta(p: dict[str, Any]) -> dict[str, Any]:
        from kb.search.retrieval import dominant_polarity

        codes = kb.codes_for(p["id"])
        present = {c["category"] for c in codes}
        pols = {c["polarity"] for c in codes}
        out: dict[str, Any] = {
            "doc_id": p["doc_id"],
            "case": p["case"],
            "group": p["group"],
            "platform_type": p["platform_type"],
            "kind": p.get("kind") or "narrative",
            "text_hash": p["text_hash"],
            "polarity": dominant_polarity(codes),
            "has_success": "success" in pols,
            "has_obstacle": "obstacle" in pols,
            "has_neutral": "neutral" in pols,
            "has_recommendation": "recommendation" in pols,
            "reviewed": p["id"] in reviewed,
        }
        out.update({f"f_{cat}": cat in present for cat in categories})
        return out

    return meta


def index_stage(settings: Settings, progress: bool) -> dict[str, Any]:
    from kb.store.keyword_index import KeywordIndex, corpus_fingerprint
    from kb.store.vectorstore import kb_id, open_client, open_collection, sync

    kb = KnowledgeBase(settings)
    bm25_dir = generations.store_dir(settings) / "bm25"
    try:
        existing = KeywordIndex.load(bm25_dir)
    except Exception:  # unreadable index files: rebuild rather than fail every build after
        existing = None
    rebuilt = existing is None or existing.fingerprint != corpus_fingerprint(kb.passages)
    if rebuilt:
        KeywordIndex.build(kb.passages).save(bm25_dir)
    checkpoint("index:bm25-done")
    from kb.embeddings.adapted import build_adapter
    from kb.store.sentence_index import sync_sentences

    adapter = build_adapter(settings, kb.passages, progress)  # before kb.embedder loads it
    client = open_client(settings, fresh=True)
    col = open_collection(client, kb.embedder, kb_id=kb_id(settings))
    t0 = time.perf_counter()
    synced = sync(col, kb.passages, kb.embedder, chroma_metadata(kb), progress=progress)
    sentences = sync_sentences(client, kb.passages, kb.embedder, kb_id=kb_id(settings), progress=progress)
    return {
        "keyword_index_rebuilt": rebuilt,
        "embedded": synced.embedded,
        "metadata_updated": synced.metadata_updated,
        "vectors": synced.total,
        "sentence_vectors": sentences.sentences,
        "sentences_embedded": sentences.embedded,
        "sync_seconds": round(time.perf_counter() - t0, 3),
        "model": kb.embedder.name,
        **adapter,
    }


_STAGE_FUNCS = {"segment": segment_stage, "code": code_stage, "index": index_stage}


def build(
    settings: Settings | None = None,
    *,
    stages: tuple[str, ...] = STAGES,
    progress: bool = True,
    log: Callable[[str], None] = lambda _: None,
    drop_old_collections: bool = False,
    train: bool | Callable[[Settings, Any], Any] = True,
) -> BuildReport:
    """Run the build stages in order into a new generation, switch to it, prune what no kept
    generation uses; record each stage's time and peak memory.

    Raises BuildLocked at once when another process is building the same data directory.
    """
    from kb.review.backup import backup_reviews
    from kb.store.locking import build_lock

    settings = settings or get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    report = BuildReport()
    with build_lock(settings.data_dir):
        backup_reviews(settings, reason="build")
        checkpoint("build:locked")
        draft = generations.begin(settings.data_dir)
        try:
            with generations.building(settings, draft.path):
                for name in STAGES:
                    if name in stages:
                        run = _STAGE_FUNCS[name]
                        if name == "code":
                            run = functools.partial(code_stage, train=train)
                        _timed(report, name, lambda r=run: r(settings, progress), log)
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
    from kb.embeddings import get_embedder
    from kb.store.sentence_index import live_sentence_ids, open_sentence_collections
    from kb.store.vectorstore import drop_other_collections, kb_id, open_client, open_collection, prune

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
