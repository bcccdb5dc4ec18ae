"""`kb build`: corpus -> passages -> codes -> keyword and vector indexes, each stage incremental.

Every stage is a plain function over records; re-running with nothing changed re-embeds
nothing and re-codes nothing, so a rebuild takes seconds.
"""

from __future__ import annotations

import json
import resource
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from tqdm.auto import tqdm

from kb.kbase import CODES_FILE, KnowledgeBase, forget, read_jsonl, write_jsonl
from kb.settings import Settings, get_settings

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

    passages = segment.run(corpus_dir=settings.corpus_dir, data_dir=settings.data_dir, progress=progress)
    return {"passages": len(passages)}


def code_stage(settings: Settings, progress: bool, train: bool = True) -> dict[str, Any]:
    """Train the coder on gold + human decisions (if they changed), then code changed passages.

    A passage is re-coded when its text changed or the coder was retrained; otherwise its
    previous codes are kept, so a rebuild with nothing new codes nothing. `train=False` codes
    with the saved coder as it is (after a quick retrain, kb.coding.retrain).
    """
    from kb.coding import Coder
    from kb.coding.build import STAMP_FILE, train_coder
    from kb.coding.coder import coder_dir
    from kb.reviews import training_examples

    kb = KnowledgeBase(settings)
    decisions = training_examples(kb.passages, kb.reviews)
    if train:
        train_coder(settings, reviews=decisions, progress=progress)
    stamp = json.loads((coder_dir(settings) / STAMP_FILE).read_text())["stamp"]
    codes_path = settings.data_dir / CODES_FILE
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
        bar.close()
    records = [coded.get(p["id"]) or previous[p["id"]] for p in kb.passages]
    write_jsonl(codes_path, records)
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
        from kb.retrieval import dominant_polarity

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
    from kb.keyword_index import KeywordIndex, corpus_fingerprint
    from kb.vectorstore import open_client, open_collection, sync

    kb = KnowledgeBase(settings)
    bm25_dir = settings.data_dir / "bm25"
    existing = KeywordIndex.load(bm25_dir)
    rebuilt = existing is None or existing.fingerprint != corpus_fingerprint(kb.passages)
    if rebuilt:
        KeywordIndex.build(kb.passages).save(bm25_dir)
    col = open_collection(open_client(settings), kb.embedder)
    t0 = time.perf_counter()
    synced = sync(col, kb.passages, kb.embedder, chroma_metadata(kb), progress=progress)
    return {
        "keyword_index_rebuilt": rebuilt,
        "embedded": synced.embedded,
        "metadata_updated": synced.metadata_updated,
        "removed": synced.removed,
        "vectors": col.count(),
        "sync_seconds": round(time.perf_counter() - t0, 3),
        "model": kb.embedder.name,
    }


_STAGE_FUNCS = {"segment": segment_stage, "code": code_stage, "index": index_stage}


def build(
    settings: Settings | None = None,
    *,
    stages: tuple[str, ...] = STAGES,
    progress: bool = True,
    log: Callable[[str], None] = lambda _: None,
) -> BuildReport:
    """Run the build stages in order and record their time and peak memory."""
    settings = settings or get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    report = BuildReport()
    for name in STAGES:
        if name in stages:
            _timed(report, name, lambda n=name: _STAGE_FUNCS[n](settings, progress), log)
    forget(settings)
    write_jsonl(settings.data_dir / "build_report.jsonl", [report.as_dict()])
    return report
