# ruff: noqa: E501  (Korean queries)
"""The learned reranker of the fused top candidates (kb.query.ltr) on the small real knowledge base.

The shipped coefficient file loads and matches the features kb computes; a changed, garbled or foreign
file is refused with a clear error; only the top N move; the setting turns it off; and a search with
hand-written coefficients orders its results the way those coefficients say (worked out from the
fixture tables and the plain fusion, not from the reranker's code).
"""

from __future__ import annotations

import json
import pickle
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from fixtures_kb import DOCS

from kb.errors import BadRerankModel
from kb.query import ltr
from kb.query.filters import Filters
from kb.query.retrieval import DEFAULT_WEIGHTS, NO_FILTERS, fuse_candidates, ranked_ids, search
from kb.settings import Settings, get_settings
from kb.store.kbase import KnowledgeBase

QUERY = "플랫폼 운영 예산"


def write_model(path: Path, coef: dict[str, float], n: int = 30, **changes: object) -> Path:
    """A valid model file: every feature at mean 0, scale 1, the given coefficients, the rest 0."""
    body: dict = {
        "format": ltr.FORMAT,
        "version": ltr.VERSION,
        "n": n,
        "features": list(ltr.FEATURES),
        "mean": [0.0] * len(ltr.FEATURES),
        "scale": [1.0] * len(ltr.FEATURES),
        "coef": [coef.get(f, 0.0) for f in ltr.FEATURES],
    }
    body["sha256"] = ltr.body_sha(body)
    body.update(changes)
    path.write_text(json.dumps(body), encoding="utf-8")
    return path


def test_shipped_model_loads_and_matches_features() -> None:
    model = ltr.load_model(ltr.MODEL_PATH)
    body = json.loads(ltr.MODEL_PATH.read_text(encoding="utf-8"))
    assert body["features"] == list(ltr.FEATURES) and len(model.coef) == len(ltr.FEATURES)
    assert 20 <= model.n <= 30 and model.sha256 == body["sha256"] and np.isfinite(model.coef).all()
    assert body["fit_on"]["report"] > 0 and body["fit_on"]["transcripts"] > 0


@pytest.mark.parametrize(
    "spoil",
    [
        lambda b: b.replace(b'"coef": [', b'"coef": [0.5, ', 1),  # a changed number: sha256 no longer matches
        lambda b: b[: len(b) // 2],  # truncated
        lambda b: b"\xff\xfe" + b,  # not UTF-8
        lambda b: pickle.dumps({"coef": [1.0]}),  # a pickle is data we never execute
        lambda b: b.replace(b'"kb-ltr-linear"', b'"other"'),
        lambda b: b.replace(f'"version": "{ltr.VERSION}"'.encode(), b'"version": "1"'),  # a file of v1
    ],
)
def test_spoiled_file_is_refused_with_a_clear_error(tmp_path: Path, spoil) -> None:
    good = write_model(tmp_path / "m.json", {"fused_rr": 1.0}).read_bytes()
    bad = tmp_path / "bad.json"
    bad.write_bytes(spoil(good))
    with pytest.raises(BadRerankModel, match="KB_RERANK_LTR=0"):
        ltr.load_model(bad)


def test_nan_wrong_features_and_bad_scale_are_refused(tmp_path: Path) -> None:
    path = write_model(tmp_path / "m.json", {"fused_rr": 1.0})
    path.write_text(path.read_text().replace("1.0", "NaN", 1))
    with pytest.raises(BadRerankModel, match="not valid JSON"):
        ltr.load_model(path)
    body = {"format": ltr.FORMAT, "version": ltr.VERSION, "n": 20, "features": ["fused_rr"]}
    body |= {"mean": [0], "scale": [1], "coef": [1]}
    body["sha256"] = ltr.body_sha(body)
    path.write_text(json.dumps(body))
    with pytest.raises(BadRerankModel, match="other features"):
        ltr.load_model(path)
    write_model(path, {})
    body = json.loads(path.read_text())
    body["scale"][3] = 0.0
    body["sha256"] = ltr.body_sha(body)
    path.write_text(json.dumps(body))
    with pytest.raises(BadRerankModel, match="scale"):
        ltr.load_model(path)
    with pytest.raises(BadRerankModel, match="cannot be read"):
        ltr.load_model(tmp_path / "missing.json")


def test_rerank_moves_only_the_top_n_and_is_deterministic(tmp_path: Path) -> None:
    model = ltr.load_model(write_model(tmp_path / "m.json", {"fused_rr": -1.0}, n=4))
    fused = [(f"p{i}", 1.0 - i / 10) for i in range(7)]
    x = np.zeros((4, len(ltr.FEATURES)))
    x[:, ltr.FEATURES.index("fused_rr")] = 1.0 / np.arange(1, 5)
    got = ltr.rerank(model, fused, x)
    assert [p for p, _ in got] == ["p3", "p2", "p1", "p0", "p4", "p5", "p6"]  # top 4 reversed, tail kept
    assert [s for _, s in got] == [s for _, s in fused]  # scores stay those of the positions
    assert ltr.rerank(model, fused, x) == got
    tie = ltr.rerank(ltr.load_model(write_model(tmp_path / "z.json", {}, n=4)), fused, x)
    assert tie == fused  # all scores equal: the fused order stands


def _plain(settings: Settings, query: str, k: int) -> list[str]:
    fused, _, _ = fuse_candidates(
        KnowledgeBase.open(settings), query, k, NO_FILTERS, "hybrid", DEFAULT_WEIGHTS
    )
    return [pid for pid, _ in fused]


def test_setting_off_gives_the_plain_fusion(kb_settings: Settings, monkeypatch) -> None:
    off = replace(kb_settings, rerank_ltr=0)
    monkeypatch.setenv("KB_RERANK_LTR", "0")
    assert get_settings().rerank_ltr == 0
    assert [pid for pid, _ in ranked_ids(KnowledgeBase.open(off), QUERY, 5)] == _plain(off, QUERY, 5)[:5]


def test_search_follows_the_coefficients(kb_settings: Settings, tmp_path: Path, monkeypatch) -> None:
    """A large weight on 'synthesis' lifts the synthesis document's passages above the rest of the top N,
    each group keeping the fused order; the plain fusion did not have them all first."""
    synthesis = {d for d, v in DOCS.items() if v[3] == "synthesis"}
    monkeypatch.setattr(ltr, "MODEL_PATH", write_model(tmp_path / "m.json", {"synthesis": 5.0}))
    kb = KnowledgeBase.open(kb_settings)
    plain = _plain(kb_settings, QUERY, 5)
    top = plain[:30]
    is_syn = [kb.passage_by_id[p]["doc_id"] in synthesis for p in top]
    assert any(is_syn) and not all(is_syn[: sum(is_syn)])  # the test has something to move
    want = [p for p, s in zip(top, is_syn, strict=True) if s] + [
        p for p, s in zip(top, is_syn, strict=True) if not s
    ]
    got = search(kb, QUERY, 5)
    assert [r["id"] for r in got] == want[:5] != plain[:5]
    assert [r["score"] for r in got] == sorted((r["score"] for r in got), reverse=True)
    # other modes and a filtered search keep working; keyword mode is never reranked
    assert [p for p, _ in ranked_ids(kb, QUERY, 5, mode="keyword")] == [
        p for p, _ in fuse_candidates(kb, QUERY, 5, NO_FILTERS, "keyword", DEFAULT_WEIGHTS)[0][:5]
    ]
    assert ranked_ids(kb, QUERY, 3, Filters(group="domestic"))


def test_garbled_shipped_file_stops_search_with_the_error(
    kb_settings: Settings, tmp_path: Path, monkeypatch
) -> None:
    bad = tmp_path / "m.json"
    bad.write_text("{not json")
    monkeypatch.setattr(ltr, "MODEL_PATH", bad)
    with pytest.raises(BadRerankModel):
        search(KnowledgeBase.open(kb_settings), QUERY, 3)
    assert search(KnowledgeBase.open(replace(kb_settings, rerank_ltr=0)), QUERY, 3)


def test_features_agree_with_their_definitions(kb_settings: Settings) -> None:
    """Lemma overlap read from the BM25 index equals the share of the query's kiwi lemmas in the passage's
    own lemmas; the in-memory sentence cosines equal the ones read from Chroma; gaps are 0 at the best."""
    from kb.store.sentence_index import sentence_index_for
    from kb.text.morphs import terms

    kb = KnowledgeBase.open(replace(kb_settings, rerank_ltr=0))
    fused, vectors, sig = fuse_candidates(kb, QUERY, 10, NO_FILTERS, "hybrid", DEFAULT_WEIGHTS)
    assert sig is not None and vectors is not None
    top = [pid for pid, _ in fused[:20]]
    x = ltr.features(kb, sig, top)
    col = {name: j for j, name in enumerate(ltr.FEATURES)}
    q = set(terms(QUERY))
    want = [len(q & set(terms(kb.passage_by_id[p]["text"]))) / len(q) for p in top]
    assert x[:, col["lex_overlap"]] == pytest.approx(want) and max(want) > 0
    index = sentence_index_for(kb)
    (_, from_chroma), (_, in_memory) = index._scores(top, vectors), index.scores_of(top, vectors)
    assert in_memory == pytest.approx(from_chroma, abs=1e-5)
    for gap in ("cos_passage_p0_gap", "cos_sent1_p0_gap"):
        assert x[:, col[gap]].max() == pytest.approx(0.0) and (x[:, col[gap]] <= 1e-9).all()
    assert (x[:, col["cos_sent2_p0_gap"]] <= x[:, col["cos_sent1_p0_gap"]] + 1e-9).all()
    assert x[0, col["fused_rr"]] == 1.0 and x[0, col["same_case_above"]] == 0.0
    assert (x[:, col["rr_passage_p1"]] == 0).all()  # the test store has one encoder


def test_sentence_stats_and_case_ranks_as_documented() -> None:
    """The second-best sentence, the sentences close to the best (within ltr.CLOSE = 0.02) and the rank
    within a case of a ranking, on numbers worked out by hand."""
    assert ltr.CLOSE == 0.02
    assert ltr.sentence_stats([0.50, 0.81, 0.80, 0.70, 0.795]) == (0.81, 0.80, 2)
    assert ltr.sentence_stats([0.4]) == (0.4, 0.4, 0)  # one sentence: the second is the first
    case_of = {"a1": "A", "a2": "A", "a3": "A", "b1": "B"}
    ranking = ["a1", "b1", "zz", "a2", "a3"]  # zz: a passage gone from the store, skipped
    assert ltr.case_ranks(case_of, ranking, ["a3", "b1", "a2", "a1", "c9"]) == [1 / 3, 1.0, 0.5, 1.0, 0.0]


def test_extra_features_on_the_small_kb(kb_settings: Settings) -> None:
    """The features measured in session 14 computed as documented on the fixture KB: rank within its
    case in the e5 passage list, heading cosine centred on the candidates, position in the document,
    synthesis only for a query that names no case; asking for more columns leaves the shipped ones as
    they were."""
    kb = KnowledgeBase.open(replace(kb_settings, rerank_ltr=0))
    _, _, sig = fuse_candidates(kb, QUERY, 10, NO_FILTERS, "hybrid", DEFAULT_WEIGHTS)
    assert sig is not None and sig.query == QUERY
    top = [pid for pid, _ in sig.fused[:20]]
    x = ltr.features(kb, sig, top, ltr.ALL_FEATURES)
    col = {name: j for j, name in enumerate(ltr.ALL_FEATURES)}
    assert np.array_equal(x[:, [col[f] for f in ltr.FEATURES]], ltr.features(kb, sig, top))
    case = {pid: kb.passage_by_id[pid]["case"] for pid in kb.passage_by_id}
    listed = sig.lists["passage_p0"]
    for i, pid in enumerate(top):
        above = sum(case[q] == case[pid] for q in listed[: listed.index(pid)]) if pid in listed else None
        assert x[i, col["case_rank_p0"]] == (0.0 if above is None else 1 / (1 + above))
    assert (x[:, col["case_rank_p0"]] < 1).any()  # some candidate has a passage of its case above it
    heading = x[:, col["heading_cos"]]  # every fixture passage has a heading
    assert heading.mean() == pytest.approx(0.0, abs=1e-6) and heading.std() > 0
    for i, pid in enumerate(top):
        doc = kb.passage_by_id[pid]["doc_id"]
        starts = sorted(int(p["start"]) for p in kb.passages if p["doc_id"] == doc)
        want = int(kb.passage_by_id[pid]["start"]) / starts[-1] if starts[-1] else 0.0
        assert x[i, col["position"]] == pytest.approx(want)
    assert {0.0, 1.0} <= set(x[:, col["position"]].tolist())
    assert (x[:, col["sent2_rel"]] <= 0).all() and (x[:, col["n_close"]] >= 0).all()
    syn = [float(kb.passage_by_id[p]["platform_type"] == "synthesis") for p in top]
    assert not ltr.names_a_case(kb, QUERY) and any(syn)
    assert x[:, col["nocase_x_synthesis"]].tolist() == syn
    for named in ("은평구의 플랫폼 예산", "당근마켓 조직문화", "Talk London budget"):
        assert ltr.names_a_case(kb, named)
        _, _, s2 = fuse_candidates(kb, named, 10, NO_FILTERS, "hybrid", DEFAULT_WEIGHTS)
        assert s2 is not None
        ids = [pid for pid, _ in s2.fused[:20]]
        assert not ltr.features(kb, s2, ids, ("nocase_x_synthesis",)).any()
    assert not ltr.names_a_case(kb, "국내 사례 소결에서 예산")  # a synthesis's name is no case
    with pytest.raises(ValueError, match="unknown"):
        ltr.features(kb, sig, top, ("no_such_feature",))
