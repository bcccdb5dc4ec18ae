"""End to end through the `kb` command line: build → search → rebuild does nothing → edit one
document → only its changed passage is redone → a coder's decision retrains the coder.

The corpus is the small fixture corpus (tests/fixtures_kb.py: documents, blocks and manifest as
the extraction stage writes them); every stage is the real one, including the coder's training
on the gold set (no fine-tuning: tmp_settings has coder_tune_epochs=0). The counts come from the build report
`kb build` prints, as a user would read them.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from fixtures_kb import DOCS, write_corpus

from kb.review.decisions import open_store
from kb.settings import Settings
from kb.store.generations import store_dir
from kb.store.kbase import PASSAGES_FILE, forget, read_jsonl

pytestmark = pytest.mark.slow  # trains the coder twice (about a minute each on 2 idle cores)

ADDED = "주민 참여 포인트 제도를 새로 도입하여 제안 건수가 크게 늘었다."
STAGE_LINE = re.compile(r"^\[(\w+)\] done in [\d.]+s (\{.*\})$", re.MULTILINE)


def build(kb_cli: Any, settings: Settings) -> dict[str, dict[str, Any]]:
    """`kb build`, and the per-stage report it printed."""
    result = kb_cli("build", "-q", settings=settings)  # tmp_settings: --coder-tune-epochs 0
    assert result.exit_code == 0, result.output
    stages = {name: json.loads(detail) for name, detail in STAGE_LINE.findall(result.stderr)}
    assert set(stages) == {"segment", "code", "index"}, result.stderr
    return stages


def search(kb_cli: Any, settings: Settings, query: str) -> list[dict[str, Any]]:
    result = kb_cli("search", query, "--json", "-k", "3", settings=settings)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def passages(settings: Settings) -> dict[str, dict[str, Any]]:
    return {p["id"]: p for p in read_jsonl(store_dir(settings) / PASSAGES_FILE)}


def exported(kb_cli: Any, settings: Settings) -> Any:
    """`kb export` of the coded excerpts, read back."""
    import pandas as pd

    out = settings.data_dir.parent / "excerpts.csv"
    result = kb_cli("export", "-o", str(out), settings=settings)
    assert result.exit_code == 0, result.output
    return pd.read_csv(out, encoding="utf-8-sig")


def coders_in_export(kb_cli: Any, settings: Settings) -> set[str]:
    """The auto coder version stamps an excerpt export names."""
    df = exported(kb_cli, settings)
    return set(df.loc[df["source"] == "auto", "coder"])


def test_build_search_rebuild_edit_review(kb_cli: Any, tmp_settings: Settings) -> None:
    settings = tmp_settings
    write_corpus(settings.corpus_dir)

    first = build(kb_cli, settings)
    n = first["segment"]["passages"]
    assert n >= len(DOCS)
    assert first["code"]["coded"] == n and first["index"]["embedded"] == n
    hits = search(kb_cli, settings, "플랫폼 유지비용 예산")
    assert hits and hits[0]["case"] == "eunpyeong_forest" and hits[0]["codes"]
    before = passages(settings)
    rows = exported(kb_cli, settings)  # each code's quote: the sentences that carry it
    assert all(part in r.text for r in rows.itertuples() for part in r.quote.split(" … "))
    assert (rows["quote"].str.len() < rows["text"].str.len()).any()
    first_coder = coders_in_export(kb_cli, settings)
    assert len(first_coder) == 1 and len(next(iter(first_coder))) >= 8  # the version stamp, to cite

    again = build(kb_cli, settings)  # nothing changed: nothing is coded or embedded again
    assert again["code"]["coded"] == 0 and again["code"]["reused"] == n
    assert again["index"]["embedded"] == 0 and again["index"]["sentences_embedded"] == 0
    assert again["index"]["keyword_index_rebuilt"] is False
    assert passages(settings) == before

    docs = {k: (*v[:6], list(v[6])) for k, v in DOCS.items()}
    text, kind, speaker = docs["eunpyeong_forest"][6][1]
    docs["eunpyeong_forest"][6][1] = (f"{text} {ADDED}", kind, speaker)
    write_corpus(settings.corpus_dir, docs)
    edited = build(kb_cli, settings)
    after = passages(settings)
    new = [p for pid, p in after.items() if pid not in before]
    assert len(new) == 1 and new[0]["doc_id"] == "eunpyeong_forest" and ADDED in new[0]["text"]
    assert len(after) == n and set(after) - {new[0]["id"]} <= set(before)  # the rest kept their ids
    assert edited["code"]["coded"] == 1 and edited["code"]["reused"] == n - 1
    assert edited["index"]["embedded"] == 1
    assert search(kb_cli, settings, "주민 참여 포인트 제도")[0]["id"] == new[0]["id"]

    # A coder's decision is training data: the next build retrains the coder and re-codes
    # every passage with it, but embeds nothing (no text changed).
    target = next(p for p in after.values() if p["doc_id"] == "daangn_interview")
    store = open_store(settings.reviews_db)
    store.record("김연구", target["id"], target["text_hash"], "leadership", "add", polarity="success")
    retrained = build(kb_cli, settings)
    assert retrained["code"]["human_decisions_in_training"] >= 1
    assert retrained["code"]["coded"] == n and retrained["index"]["embedded"] == 0
    assert coders_in_export(kb_cli, settings).isdisjoint(first_coder)  # the export says it moved
    reviewed = kb_cli("search", "조직문화", "--reviewed", "--json", settings=settings)
    assert reviewed.exit_code == 0, reviewed.output
    assert [r["id"] for r in json.loads(reviewed.stdout)] == [target["id"]]
    forget(settings)
