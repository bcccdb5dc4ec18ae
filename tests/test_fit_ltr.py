# ruff: noqa: E501  (Korean text)
"""The reranker's fit script (bench/fit_ltr.py): training questions resolved against today's store,
training questions weighted in the fit and never scored, and a written file that search loads back.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bench import fit_ltr as F
from kb.embeddings.adapt_data import text_hash
from kb.query import ltr

PASSAGES = [
    {"id": "doc:aaa", "text": "예산은 구비로 충당한다."},
    {"id": "doc:bbb", "text": "주민 참여가 저조했다."},
]


def row(target: str, question: str, source: str = "report", **extra: str) -> dict:
    return {"target_id": target, "source": source, "question": question, "lang": "ko", **extra}


def test_training_loader_keeps_live_targets_and_drops_stale_ones() -> None:
    h = text_hash
    rows = [
        row("doc:aaa", "예산은 어디서?", passage_sha256=h(PASSAGES[0]["text"])),  # live
        row("doc:old", "참여는 어땠나?", passage_sha256=h(PASSAGES[1]["text"])),  # id changed, text found
        row("doc:aaa", "바뀐 글", passage_sha256=h("예전 글")),  # the id now holds another text: stale
        row("doc:gone", "사라진 글", passage_sha256=h("없어진 글")),  # gone: stale
        row("sp2-w1-001", "말로 한 답", "spoken", text="주민 참여가 저조했다."),  # a passage has its text
        row("sp2-w1-002", "없는 답", "spoken", text="스토어에 없는 답이다."),  # not in the store
        row("w1-185", "연습 문장", "training", text="학습용 문장."),  # not in the store
        row("doc:bbb", "예산은 어디서?", passage_sha256=h(PASSAGES[1]["text"])),  # 2nd target, same question
    ]
    got = F.training_questions(rows, PASSAGES)
    assert (got.records, got.moved, got.stale, got.absent) == (8, 1, 2, 2)
    assert got.questions == {
        "예산은 어디서?": ("ko", {"doc:aaa": 1, "doc:bbb": 1}),
        "참여는 어땠나?": ("ko", {"doc:bbb": 1}),
        "말로 한 답": ("ko", {"doc:bbb": 1}),
    }


def test_shipped_training_files_all_parse() -> None:
    from kb.settings import ROOT

    rows = F.training_rows(ROOT / "corpus")
    assert len(rows) > 800 and {r["source"] for r in rows} == {"report", "training", "spoken"}


def synthetic(n_q: int, seed: int, set_: str) -> list[F.Query]:
    """Questions whose relevant candidate has the best sentence cosine, noise elsewhere."""
    rng = np.random.default_rng(seed)
    out = []
    j = ltr.ALL_FEATURES.index("cos_sent1_p0_gap")
    for k in range(n_q):
        ids = [f"q{k}p{i}" for i in range(30)]
        x = {n: rng.normal(size=(n, len(ltr.ALL_FEATURES))) for n in F.NS}
        hit = int(rng.integers(0, 20))
        for n in F.NS:
            x[n][:, j] = -np.abs(x[n][:, j])
            x[n][hit, j] = 0.5
        out.append(F.Query(set_, f"{set_}{k}", "ko", ids, x, {ids[hit]: 1}, F.fold_of(set_, f"{set_}{k}", 0)))
    return out


def test_training_questions_are_fit_with_their_weight_and_never_scored() -> None:
    dev, train = synthetic(30, 0, "report"), synthetic(40, 1, "training")
    assert {q.fold for q in train} == {-1}
    flip = ltr.ALL_FEATURES.index("cos_sent1_p0_gap")
    for q in train:  # training questions that say the opposite: their weight decides how much they count
        for n in F.NS:
            q.x[n][:, flip] *= -1
    coef = {}
    for w in (0.0, 1.0):
        m = F.fit(dev + train, F.Config("pairwise", 20, 1.0, w))
        coef[w] = m.coef[ltr.FEATURES.index("cos_sent1_p0_gap")]
    assert coef[0.0] > 0 and coef[1.0] < coef[0.0]
    per = F.cv(dev + train, F.Config("pairwise", 20, 1.0, 0.25))
    assert set(per) == {f"report/{q.qid}" for q in dev}  # only dev questions are scored


def test_written_file_loads_back_and_scores_the_same(tmp_path: Path) -> None:
    queries = synthetic(40, 2, "report") + synthetic(20, 3, "transcripts") + synthetic(20, 4, "training")
    cfg = F.Config("pairwise", 20, 0.1, 0.5)
    model = F.fit(queries, cfg)
    body = F.model_json(model, cfg, queries, {"report all": {"n": 40, "hit@5": 1.0, "MRR@10": 1.0}})
    again = F.model_json(F.fit(queries, cfg), cfg, queries, body["cv"])
    assert again == body  # deterministic: the same questions give the same file
    assert body["version"] == ltr.VERSION and body["features"] == list(ltr.FEATURES)
    assert body["fit_on"] == {"report": 40, "transcripts": 20, "training": 20}
    path = tmp_path / "m.json"
    path.write_text(json.dumps(body, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    loaded = ltr.load_model(path)
    assert loaded.n == 20 and loaded.sha256 == body["sha256"]
    x = queries[0].x[20][:, F.cols_of(ltr.FEATURES)]
    assert loaded.score(x) == pytest.approx(model.score(x), rel=1e-8, abs=1e-9)
    assert F.ranked(queries[0], loaded, F.cols_of(ltr.FEATURES))[0] == next(iter(queries[0].rel))
