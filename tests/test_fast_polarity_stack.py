"""The fast coder's polarity combiner with the e5 reading (kb.coding.polarity_stack, format 2).

The fast slot of `polarity_stack.json` may read, besides the rule/feature model's readings, the
polarity model's reading of the frozen e5 sentence vector – the sentence's and its neighbours'
(docs/bench/fastcomb_dev.md: measured, not shipped – the coder's real path did not support it, so
the slot stays null and the fast coder keeps its hand mix). Checked here: each slot carries its own
feature list and the loader refuses a file that does not (an old version-1 file, a list this code
does not know, e5 inputs in the fine-tuned slot); a fast coder with the e5 reading uses such a
combiner and its e5 inputs decide what they are weighted to decide; a fast coder without the
reading (the app's first build, an older saved model) keeps the hand mix, and so does one whose
sentences lack their e5 vectors; refitting the fast slot leaves the fine-tuned slot's coefficients
as they are and writes the same bytes twice; the fine-tuned slot reads as it did before the format
changed. The sentences are written for this test; none comes from an evaluation file.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from sample_kb import small_fast_coder, zero_polarity_stack

from kb.coding import polarity_stack as ps
from kb.coding.book import POLARITIES
from kb.coding.coder import Coder

QUESTION = "사업을 하시면서 어떠셨어요?"
ANSWER = {"question": QUESTION, "speaker": "응답자"}
SENTENCE = "주민들이 직접 안건을 올리고 투표까지 해서 정책으로 이어졌어요."
OTHER = "담당 부서가 바뀌면서 일정이 몇 달씩 밀렸어요."


def _shipped_json() -> dict:
    return json.loads(ps.FILE.read_text(encoding="utf-8"))


def _write(tmp_path: Path, raw: object) -> Path:
    path = tmp_path / "stack.json"
    path.write_text(raw if isinstance(raw, str) else json.dumps(raw), encoding="utf-8")
    return path


def test_the_shipped_file_is_version_2() -> None:
    stacks = ps.load()
    fast, tuned = stacks["fast"], stacks["tuned"]
    assert fast is None or fast.names in ps.ALLOWED["fast"]
    assert tuned is not None and not tuned.e5 and tuned.names == ps.feature_names(True)
    assert _shipped_json()["format_version"] == ps.FORMAT_VERSION == 2


def test_the_fine_tuned_slot_reads_as_before_the_format_changed() -> None:
    """Its coefficients are the ones fitted in session 13 (docs/bench/polstack_dev.md); these
    readings were computed from the version-1 file before the format changed."""
    stack = ps.load()["tuned"]
    assert stack is not None
    rows = [
        ps.features(
            {"success": 0.7, "obstacle": 0.1, "neutral": 0.1, "recommendation": 0.1},
            {"success": 0.2, "obstacle": 0.5, "neutral": 0.2, "recommendation": 0.1},
            [],
            [],
            "neutral",
            1.0,
            False,
            False,
            True,
        ),
        ps.features(
            {"success": 0.3, "obstacle": 0.4, "neutral": 0.2, "recommendation": 0.1},
            {"success": 0.6, "obstacle": 0.2, "neutral": 0.1, "recommendation": 0.1},
            [{"success": 0.1, "obstacle": 0.8, "neutral": 0.05, "recommendation": 0.05}],
            [{"success": 0.2, "obstacle": 0.6, "neutral": 0.1, "recommendation": 0.1}],
            "difficulty",
            -1.0,
            False,
            True,
            True,
        ),
    ]
    want = [
        {"success": 0.784196, "obstacle": 0.103236, "neutral": 0.015268, "recommendation": 0.097301},
        {"success": 0.28704, "obstacle": 0.702716, "neutral": 0.000771, "recommendation": 0.009473},
    ]
    for got, w in zip(stack.predict_proba(rows), want, strict=True):
        assert got == pytest.approx(w, abs=2e-6)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda raw: {**raw, "format_version": 1}, "version 2"),
        (lambda raw: _slot(raw, "fast", features=list(ps.feature_names(True))), "features do not match"),
        (lambda raw: _slot(raw, "fast", features=list(ps.feature_names(False, True))[:-1]), "features"),
        (lambda raw: _slot(raw, "fast", features="e5:success"), "features do not match"),
        (lambda raw: _slot(raw, "tuned", features=list(ps.feature_names(True, True))), "features do not"),
        (lambda raw: _slot(raw, "fast", coef=[[0.0] * 15] * 4), "shapes"),
        (lambda raw: _slot(raw, "fast", kind="tuned"), "kind"),
    ],
)
def test_a_malformed_version_2_file_fails_clearly(tmp_path, edit, message) -> None:
    raw = _shipped_json()
    raw["models"]["fast"] = raw["models"]["fast"] or zero_polarity_stack("fast", True)
    with pytest.raises(ps.StackError, match=message):
        ps.load(_write(tmp_path, edit(raw)))


def _slot(raw: dict, slot: str, **change: object) -> dict:
    out = json.loads(json.dumps(raw))
    out["models"][slot].update(change)
    return out


def test_both_fast_feature_lists_load(tmp_path) -> None:
    """The fast slot may read the e5 reading or not; the row must match what it reads."""
    for e5 in (False, True):
        raw = _shipped_json()
        raw["models"]["fast"] = zero_polarity_stack("fast", e5)
        stack = ps.load(_write(tmp_path, raw))["fast"]
        assert stack is not None and stack.e5 is e5
    even = dict.fromkeys(POLARITIES, 0.25)
    with pytest.raises(ps.StackError, match="needs the e5 reading"):
        ps.features(even, None, [], None, "neutral", 0.0, False, False, False, None, None, True)
    row = ps.features(even, None, [], None, "neutral", 0.0, False, False, False, even, [], True)
    got = dict(zip(ps.feature_names(False, True), row, strict=True))
    assert got["near_e5:success"] == got["e5:success"] == pytest.approx(np.log(0.25 + ps.EPS))


@pytest.fixture(scope="module")
def fast() -> Coder:
    return small_fast_coder()


@pytest.fixture(scope="module")
def plain() -> Coder:
    """A fast coder fitted without the e5 reading (the app's first build)."""
    return small_fast_coder(polarity_embedding=False)


def _codes(coder: Coder, texts: list[str]) -> list[dict]:
    return coder.code_texts(texts, contexts=[ANSWER] * len(texts))


def _polarities(results: list[dict]) -> list[list[tuple[str, str]]]:
    return [[(c["category"], c["polarity"]) for c in r["codes"]] for r in results]


def _e5_stack(tmp_path: Path) -> ps.PolarityStack:
    """A fast combiner that reads the e5 reading, through a version-2 file: weighted on the
    sentence's e5 reading alone."""
    raw = _shipped_json()
    slot = zero_polarity_stack("fast", True)
    for k, p in enumerate(POLARITIES):
        slot["coef"][k][slot["features"].index(f"e5:{p}")] = 20.0
    raw["models"]["fast"] = slot
    stack = ps.load(_write(tmp_path, raw))["fast"]
    assert stack is not None and stack.e5
    return stack


def test_a_fast_coder_with_the_e5_reading_uses_a_fast_e5_combiner(fast, tmp_path) -> None:
    assert fast.model.polarity.embedding is not None
    stack = _e5_stack(tmp_path)
    fast.polarity_stack = stack
    try:
        assert fast.answer_stack() is stack
    finally:
        del fast.polarity_stack


def test_the_combiners_e5_inputs_are_what_it_reads(fast, tmp_path) -> None:
    """A fast combiner weighted on the sentence's e5 reading alone codes each answer with that
    reading's polarity (here no advice move applies)."""
    fast.polarity_stack = _e5_stack(tmp_path)
    try:
        texts = [SENTENCE, OTHER]
        results = _codes(fast, texts)
        readings = fast.model.polarity.predict_embedding(fast.analyzer.analyse(texts))
        assert readings is not None
        for res, reading in zip(results, readings, strict=True):
            assert res["codes"]
            want = max(reading, key=reading.__getitem__)
            assert {c["polarity"] for c in res["codes"]} == {want}
        assert len({max(r, key=r.__getitem__) for r in readings}) == 2  # the two read differently
    finally:
        del fast.polarity_stack


def test_a_fast_coder_without_the_e5_reading_keeps_the_hand_mix(plain, tmp_path) -> None:
    """The app's first build and an older saved model have no e5 reading: never a combiner fed
    missing inputs, the hand mix exactly."""
    assert plain.model.polarity.embedding is None
    texts = [SENTENCE, OTHER, "예산이 너무 부족해서 운영이 정말 힘들었어요."]
    plain.polarity_stack = _e5_stack(tmp_path)
    try:
        assert plain.answer_stack() is None
        with_stack = _codes(plain, texts)
        plain.polarity_stack = False
        assert _polarities(with_stack) == _polarities(_codes(plain, texts))
    finally:
        del plain.polarity_stack


def test_sentences_without_e5_vectors_fall_back_to_the_hand_mix(fast, tmp_path) -> None:
    """A coder whose analyses lack the e5 vectors (its e5 encoder switched off) reads with the hand
    mix, not with the combiner on missing inputs."""
    coder = Coder(fast.book, fast.model)
    coder.use_polarity_embedder(False)
    stack = _e5_stack(tmp_path)
    coder.polarity_stack = stack
    assert coder.answer_stack() is stack  # the model has the reading; these sentences have no vectors
    texts = [SENTENCE, OTHER]
    got = _codes(coder, texts)
    coder.polarity_stack = False
    assert _polarities(got) == _polarities(_codes(coder, texts))


def test_refitting_the_fast_slot_keeps_the_fine_tuned_slot_and_is_deterministic(tmp_path) -> None:
    """`bench/polarity_stack.py fit --kinds fast` on dump records: the fine-tuned slot's entry is
    copied as it is; two fits write the same bytes."""
    from bench.polarity_stack import cmd_fit

    rng = np.random.default_rng(3)
    recs = []
    for t in range(3):
        for i in range(40):
            gold = POLARITIES[i % 4]

            def reading(gold: str = gold) -> dict:
                p = rng.dirichlet(np.ones(4)) * 0.5
                p[POLARITIES.index(gold)] += 0.5
                probs = dict(zip(POLARITIES, map(float, p), strict=True))
                return {
                    "rules": probs,
                    "tuned": None,
                    "emb": dict(zip(POLARITIES, map(float, rng.dirichlet(np.ones(4))), strict=True)),
                    "score": float(rng.normal()),
                    "recommendation": False,
                    "own_need": False,
                }

            recs.append(
                {
                    "transcript": f"t{t}",
                    "gold": gold,
                    "orientation": ["neutral", "difficulty", "success", "advice"][i % 4],
                    "own": reading(),
                    "near": [reading() for _ in range(i % 3)],
                }
            )
    dump = tmp_path / "dump.jsonl"
    dump.write_text("".join(json.dumps(r) + "\n" for r in recs), encoding="utf-8")
    outs = []
    for k in range(2):
        out = tmp_path / f"stack{k}.json"
        out.write_bytes(ps.FILE.read_bytes())
        cmd_fit([dump], out, ["fast"])
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]
    got, shipped = json.loads(outs[0]), _shipped_json()
    assert got["models"]["tuned"] == shipped["models"]["tuned"]
    assert got["models"]["fast"]["features"] == list(ps.feature_names(False, True))
    assert {k: v for k, v in got["info"].items() if k.startswith("tuned_")} == {
        k: v for k, v in shipped["info"].items() if k.startswith("tuned_")
    }
