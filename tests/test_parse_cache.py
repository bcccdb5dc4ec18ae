"""The parse cache of the coder directory (kb.coding.parse_cache): a retrain with it gives exactly
the model an uncached retrain gives, and a damaged or foreign cache file is ignored, never trusted.

Real Kiwi, spaCy, embeddings and scikit-learn; the sentences were written for these tests."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from kb.coding import Coder
from kb.coding.book import load_view
from kb.coding.coder import coder_dir
from kb.coding.data import load_gold
from kb.coding.parse_cache import FILE, text_key
from kb.coding.retrain import quick_retrain
from kb.settings import get_settings

TEXTS = [
    "구청장이 직접 챙기면서 예산이 넉넉하게 확보됐어요.",
    "담당 인력이 부족해서 제일 골치였죠.",
    "주민들이 앱을 잘 안 쓰더라고요.",
    "조례를 만들어서 운영 근거를 마련했습니다.",
]
REVIEWS = [
    {"text": "반장님들이 단체 대화방에 링크를 돌려 주셨어요.", "category": "governance",
     "polarity": "success", "label": 1},
    {"text": "예산이 반토막 나서 간신히 유지했어요.", "category": "financial_resources",
     "polarity": "obstacle", "label": 1},
]  # fmt: skip


def _gold() -> list[dict]:
    return [r for r in load_gold() if r["case"] == "gyeonggi_bis"]


def _outputs(settings) -> tuple[list[dict], np.ndarray]:
    from kb.coding.training import category_scores

    coder = Coder.load(settings, load_view())
    assert coder.model is not None
    analyses = coder.analyzer.analyse(TEXTS)
    return coder.code_texts(TEXTS), category_scores(coder.model, coder.analyzer, analyses)


@pytest.mark.slow  # three quick retrains on a small gold set
def test_a_cached_retrain_gives_exactly_the_uncached_model(tmp_path: Path) -> None:
    settings = get_settings(data_dir=tmp_path / "data")
    gold = _gold()
    first = quick_retrain(settings, REVIEWS, gold=gold, written=[])
    cache = coder_dir(settings) / FILE
    assert cache.exists() and first["parsed"] > len(gold)
    cache.unlink()  # the reference: every text parsed afresh
    uncached = quick_retrain(settings, REVIEWS, gold=gold, written=[])
    want_codes, want_scores = _outputs(settings)
    cached = quick_retrain(settings, REVIEWS, gold=gold, written=[])
    got_codes, got_scores = _outputs(settings)
    assert uncached["parsed"] == first["parsed"] and cached["parsed"] == 0  # nothing parsed again
    assert got_codes == want_codes  # codes, confidences, polarities, evidence: identical
    assert np.array_equal(got_scores, want_scores)
    # a new review decision is the only text parsed by the next retrain
    more = [*REVIEWS, {**REVIEWS[0], "text": "통장님들이 단톡방에 앱 주소를 퍼 날라 주셨죠."}]
    assert quick_retrain(settings, more, gold=gold, written=[])["parsed"] == 1


@pytest.fixture(scope="module")
def coder(tmp_path_factory) -> Coder:
    """One coder (its codebook embedded once); each test points its analyser at its own cache."""
    return Coder(load_view(), embedder="use")


def _use(coder: Coder, folder: Path):
    folder.mkdir(parents=True, exist_ok=True)
    return coder.analyzer.use_cache(folder / FILE)


def _plain(analyses) -> list[tuple]:
    return [
        (a.text, a.lemmas, a.hits, a.polarity_hits, a.clause_of_token, a.clause_score, a.clause_cues,
         a.function_tokens, a.spoken, a.vector.tolist(), a.def_sim.tolist(), a.ex_sim.tolist())
        for a in analyses
    ]  # fmt: skip


def test_cached_analyses_equal_fresh_ones_and_survive_a_reload(coder: Coder, tmp_path: Path) -> None:
    fresh = _use(coder, tmp_path)
    want = _plain(coder.analyzer.analyse(TEXTS))
    assert fresh.misses == len(TEXTS)
    fresh.save()
    body = json.loads((tmp_path / FILE).read_text(encoding="utf-8"))
    assert set(body["entries"]) == {text_key(t) for t in TEXTS}
    again = _use(coder, tmp_path)  # read back from the file
    assert _plain(coder.analyzer.analyse(TEXTS)) == want
    assert again.hits == len(TEXTS) and again.misses == 0


def _damaged(coder: Coder, tmp_path: Path) -> dict[str, bytes]:
    """Cache files no kb run wrote: each must be ignored (parsed afresh), none may crash."""
    cache = _use(coder, tmp_path)
    coder.analyzer.analyse(TEXTS)
    cache.save()
    good = json.loads((tmp_path / FILE).read_text(encoding="utf-8"))
    key = text_key(TEXTS[1])

    def with_entry(**change) -> bytes:
        body = json.loads(json.dumps(good))
        body["entries"][key].update(change)
        return json.dumps(body).encode()

    n = len(good["entries"][key]["clause_of_token"])
    return {
        "not json": b"\x80\x00{{{ not json",
        "truncated": json.dumps(good).encode()[:100],
        "a list": b"[1, 2, 3]",
        "other version": json.dumps({**good, "version": "0" * 64}).encode(),
        "entries not a dict": json.dumps({**good, "entries": [1]}).encode(),
        "deep nesting": b"[" * 100000 + b"]" * 100000,
        "hit past the tokens": with_entry(hits=[["leadership", "x", 0, 1, n + 5, n + 6]]),
        "bool for an int": with_entry(clause_of_token=[True] * n),
        "string lemmas": with_entry(lemmas="예산"),
        "missing field": with_entry(spoken=None),
        "bad score pair": with_entry(clause_score=[[0, "1.0"]]),
    }


def test_a_damaged_or_foreign_cache_file_is_ignored_and_rebuilt(coder: Coder, tmp_path: Path) -> None:
    _use(coder, tmp_path / "clean")
    want = _plain(coder.analyzer.analyse(TEXTS))
    for name, data in _damaged(coder, tmp_path / "src").items():
        folder = tmp_path / name.replace(" ", "_")
        folder.mkdir()
        (folder / FILE).write_bytes(data)
        cache = _use(coder, folder)
        assert _plain(coder.analyzer.analyse(TEXTS)) == want, name
        assert cache.misses >= 1, name  # the bad part was parsed again
        cache.save()  # and replaced by a good file
        body = json.loads((folder / FILE).read_text(encoding="utf-8"))
        assert set(body["entries"]) >= {text_key(t) for t in TEXTS}, name


@pytest.mark.slow  # two fits on a small gold set
def test_fitting_on_several_threads_gives_the_one_thread_model(coder: Coder) -> None:
    from kb.coding.data import build_training_set
    from kb.coding.training import category_scores

    coder.analyzer.use_cache(None)
    data = build_training_set(coder.book, _gold(), REVIEWS, written=[])
    models = []
    for threads in (1, 2):
        coder.fit(data, tune_epochs=0, threads=threads)
        models.append(coder.model)
    one, two = models
    analyses = coder.analyzer.analyse(TEXTS)
    assert list(one.classifiers) == list(two.classifiers) and one.thresholds == two.thresholds
    assert np.array_equal(
        category_scores(one, coder.analyzer, analyses), category_scores(two, coder.analyzer, analyses)
    )
    cats = ["financial_resources"] * len(TEXTS)
    assert one.polarity.predict_proba(analyses, cats) == two.polarity.predict_proba(analyses, cats)
