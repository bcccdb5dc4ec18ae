"""How long `kb build` takes on the full corpus, per stage, and how cheap rebuilds are.

In a fresh temp data dir (nothing copied): `kb extract` of the report into a temp corpus dir,
then the full build stage by stage (the builder's own
StageReport timings and peak RSS), the embedder alone on the same passage texts (so the index
stage's overhead around embedding shows as a ratio), a rebuild with nothing changed, and an
incremental rebuild after one word of one document changed (in a temp copy of the corpus).
With --keep-store the edit is rebuilt away again and the store is left for the other benches
(`bench.run_all` hands it to the retrieval and app benches, so the corpus is embedded once a run).

    python -m bench.build_speed [--keep] [--keep-store DIR]
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

from bench.common import md_table, peak_rss_mb, write_fragment
from kb.settings import Settings, get_settings
from kb.store.generations import store_dir
from kb.store.kbase import CODES_FILE, PASSAGES_FILE, read_jsonl, write_jsonl
from pipelines.run import STAGES, StageReport, build

EDIT_DOC, EDIT_FROM, EDIT_TO = "gyeonggi_bis.txt", "버스정보팀", "버스운영팀"  # same length: offsets hold
TARGET_RATIO, TARGET_INCREMENTAL = 0.8, 0.10


def run_stages(settings: Settings, label: str, notes: list[str]) -> list[StageReport]:
    """Each stage through pipelines.run.build; a failing stage is recorded and the next ones still run."""
    out = []
    for name in STAGES:
        t0 = time.perf_counter()
        try:
            out += build(settings, stages=(name,), progress=False).stages
        except Exception as exc:  # the code stage may not be ready yet: measure the others
            secs = round(time.perf_counter() - t0, 3)
            err = f"{type(exc).__name__}: {exc}".splitlines()[0][:200]
            out.append(StageReport(name, secs, round(peak_rss_mb(), 1), {"FAILED": err}))
            notes.append(f"{label}: stage `{name}` failed ({err}).")
            traceback.print_exc()
            codes = store_dir(settings) / CODES_FILE
            if name == "code" and not codes.exists():
                write_jsonl(codes, [])
                notes.append(
                    f"{label}: wrote an empty `{CODES_FILE}` so the index stage could run (no codes)."
                )
    return out


def run_extract(settings: Settings, into: Path, notes: list[str]) -> list[StageReport]:
    """`kb extract` of the report into a temp corpus dir (the build then reads the committed corpus/)."""
    from pipelines.extract import run

    if not settings.source_path.exists():
        notes.append(f"extract not measured: no report text at {settings.source_path}.")
        return []
    t0 = time.perf_counter()
    docs = run(settings.source_path, corpus_dir=into)
    secs = round(time.perf_counter() - t0, 3)
    return [StageReport("extract", secs, round(peak_rss_mb(), 1), {"documents": len(docs)})]


def edit_corpus(src: Path, dst: Path) -> str:
    shutil.copytree(src, dst)
    path = dst / "docs" / EDIT_DOC
    text = path.read_text(encoding="utf-8")
    if EDIT_FROM not in text:
        raise RuntimeError(f"{EDIT_FROM!r} not in {path}; pick another edit")
    path.write_text(text.replace(EDIT_FROM, EDIT_TO, 1), encoding="utf-8")
    return f"`{EDIT_FROM}` → `{EDIT_TO}` once in `corpus/docs/{EDIT_DOC}`"


def _detail(d: dict[str, Any]) -> str:
    keep = {k: v for k, v in d.items() if k != "model"}
    return ", ".join(f"{k}={v}" for k, v in keep.items())[:160]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--keep", action="store_true", help="keep the temp dir")
    ap.add_argument("--keep-store", type=Path, help="move the built store (edit reverted) to this dir")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="kb_build_speed_"))
    load_start = os.getloadavg()[0]
    notes: list[str] = []
    try:
        settings = get_settings(data_dir=tmp / "data")
        full = run_extract(settings, tmp / "extracted", notes) + run_stages(settings, "full build", notes)
        passages = read_jsonl(store_dir(settings) / PASSAGES_FILE)
        n = len(passages)

        from kb.embeddings import get_embedder

        emb = get_embedder(settings.embed_model)
        t0, c0 = time.perf_counter(), time.process_time()
        emb.embed_passages([p["text"] for p in passages])
        embed_s, embed_cpu = time.perf_counter() - t0, time.process_time() - c0

        same = run_stages(settings, "no-change rebuild", notes)
        edited = get_settings(corpus_dir=tmp / "corpus", data_dir=settings.data_dir)
        what = edit_corpus(settings.corpus_dir, edited.corpus_dir)
        incr = run_stages(edited, "incremental rebuild", notes)
        if args.keep_store:
            run_stages(settings, "edit reverted", notes)  # the store matches the real corpus again
            shutil.rmtree(args.keep_store, ignore_errors=True)
            args.keep_store.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(settings.data_dir, args.keep_store)
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)

    rows = []
    for label, reports in (("full", full), ("no change", same), ("one doc edited", incr)):
        for r in reports:
            rows.append({"build": label, "stage": r.name, "seconds": r.seconds, "peak RSS MB": r.peak_rss_mb,
                         "detail": _detail(r.detail)})  # fmt: skip
        rows.append({"build": label, "stage": "**total**", "seconds": sum(r.seconds for r in reports)})
    total = sum(r.seconds for r in full if r.name != "extract")  # `kb build`: the corpus is committed
    extract_s = sum(r.seconds for r in full if r.name == "extract")
    index = next((r for r in full if r.name == "index"), None)
    sync_s = float(index.detail.get("sync_seconds", 0)) if index else 0.0
    ratio = embed_s / sync_s if sync_s else float("nan")
    incr_total = sum(r.seconds for r in incr)
    ok = lambda good: "✅" if good else "❌"  # noqa: E731
    body = [
        f"{n} passages of the report, embedder `{settings.embed_model}`, fresh temp data dir; peak RSS is "
        f"the bench process's running peak (ru_maxrss) after each stage. Load average {load_start:.1f} at "
        f"start, {os.getloadavg()[0]:.1f} at end (2 shared cores: wall times are noisy). `extract` "
        "re-extracts the report into a temp dir; the build stages read the committed `corpus/`. The "
        "embedding happens inside `index` (its `sync_seconds`).",
        "",
        md_table(rows, ["build", "stage", "seconds", "peak RSS MB", "detail"]),
        "",
        f"- Full build (`kb build`, segment + code + index): {total:.1f} s, {n / total:.1f} passages/s end "
        f"to end; extracting the corpus from the report first adds {extract_s:.1f} s.",
        f"- Embedding alone (`embed_passages` on the same {n} texts, model loaded): {embed_s:.1f} s, "
        f"{n / embed_s:.1f} passages/s ({embed_cpu:.1f} CPU-s). Index stage's Chroma sync (embedding + "
        f"upserts): {sync_s:.1f} s → throughput ratio {ratio:.2f} {ok(ratio >= TARGET_RATIO)} (target ≥ "
        f"{TARGET_RATIO}).",
        f"- Rebuild with nothing changed: {sum(r.seconds for r in same):.1f} s.",
        f"- Incremental rebuild after one edit ({what}): {incr_total:.1f} s = {incr_total / total:.1%} "
        f"of the full build {ok(incr_total <= TARGET_INCREMENTAL * total)} "
        f"(target ≤ {TARGET_INCREMENTAL:.0%}).",
        f"- Bench process peak RSS {peak_rss_mb():.0f} MB.",
    ]
    body += [f"- Note: {x}" for x in notes]
    write_fragment("build", "Build speed", "python -m bench.build_speed", "\n".join(body))


if __name__ == "__main__":
    main()
