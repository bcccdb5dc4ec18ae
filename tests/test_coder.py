"""The auto-coder on real Kiwi, spaCy, embeddings and scikit-learn (no mocks).

A session fixture trains one small model (codebook examples + part of the gold set); the test
sentences below were written for these tests, not taken from the report.
"""

from __future__ import annotations

import json
from dataclasses import replace

import docx
import numpy as np
import pytest
from typer.testing import CliRunner

from kb import api
from kb.cli.main import app
from kb.coding import Coder, CoderModel
from kb.coding.book import POLARITIES, CategoryView, Example, load_view
from kb.coding.code_input import parse_lines
from kb.coding.coder import coder_dir
from kb.coding.data import build_training_set, load_gold
from kb.coding.training import category_scores, sentence_polarities
from kb.settings import get_settings

pytestmark = pytest.mark.slow  # the shared coder fixture fine-tunes two e5 models

CLEAR = {
    "leadership": "구청장이 플랫폼 구축에 강한 의지를 보이며 직접 추진을 지시하였다.",
    "human_resources": "플랫폼을 담당하는 전문 인력이 부족하여 담당 공무원 교육이 필요하다.",
    "financial_resources": "플랫폼 운영 예산이 충분히 확보되었다.",
    "org_structure": "플랫폼 전담 조직으로 정보화과 안에 새로운 팀을 신설하였다.",
    "org_culture": "부서 간 칸막이 없이 서로 협력하는 혁신적인 조직문화가 형성되어 있다.",
    "institutional_basis": "플랫폼 운영의 법적 근거가 되는 조례를 제정하고 관련 법령을 정비하였다.",
    "governance": "시청은 민간 기업, 대학, 시민단체와 업무협약을 맺고 협업 거버넌스를 구축하였다.",
    "resident_acceptance": "주민들의 플랫폼 이용률이 높고 참여하는 시민 수가 꾸준히 늘고 있다.",
    "user_centricity": "이용자의 의견을 수렴하여 사용자 중심으로 서비스를 설계하였다.",
    "ict_level": "빅데이터와 인공지능 기술을 활용한 실시간 데이터 분석 시스템을 도입하였다.",
    "accessibility_convenience": "스마트폰 앱으로 누구나 쉽게 접속할 수 있어 이용이 편리하다.",
    "output_quality": "플랫폼이 제공하는 정보의 정확도가 높고 서비스의 질이 우수하다.",
    "regional_disparity": "수도권과 비수도권 지방자치단체 간 디지털 격차가 크다.",
    "public_private_competition": "공공 배달앱은 민간 배달앱과 경쟁하며 민간 플랫폼과 역할 분담이 필요하다.",
}


@pytest.fixture(scope="session")
def coder(tmp_path_factory) -> Coder:
    book = load_view()
    gold = [r for r in load_gold() if r["case"] in {"gyeonggi_bis", "domestic_synthesis", "daangn"}]
    c = Coder(book, embedder="use")
    c.fit(build_training_set(book, gold), n_folds=3)
    return c


def codes_of(result: dict) -> dict[str, dict]:
    return {c["category"]: c for c in result["codes"]}


@pytest.mark.parametrize("category", sorted(CLEAR))
def test_each_category_in_a_clear_sentence(coder, category):
    result = coder.code_texts([CLEAR[category]])[0]
    assert category in codes_of(result), result["codes"]


def test_output_shape(coder):
    text = CLEAR["financial_resources"] + " " + CLEAR["ict_level"]
    (res,) = coder.code_texts([text], ids=["p1"])
    assert res["id"] == "p1"
    assert res["polarity"] in {"success", "obstacle", "neutral"}
    assert 0 <= res["polarity_confidence"] <= 1
    assert len(res["sentences"]) == 2
    for sent in res["sentences"]:
        assert text[sent["start"] : sent["end"]].strip() == text[sent["start"] : sent["end"]]
    for code in res["codes"]:
        assert 0.5 <= code["confidence"] <= 1 and 0 <= code["polarity_confidence"] <= 1
        assert {"cues", "nearest_example", "example_similarity", "model_score"} <= set(code["evidence"])


def test_polarity_flips_on_lack(coder):
    good, bad = coder.code_texts(["예산이 충분히 확보되었다.", "예산이 부족하다."])
    assert codes_of(good)["financial_resources"]["polarity"] == "success"
    assert codes_of(bad)["financial_resources"]["polarity"] == "obstacle"
    assert good["polarity"] == "success" and bad["polarity"] == "obstacle"


def test_polarity_flips_on_negation(coder):
    yes, no = coder.code_texts(["전문 인력이 충분히 확보되었다.", "전문 인력이 확보되지 못하였다."])
    assert codes_of(yes)["human_resources"]["polarity"] == "success"
    assert codes_of(no)["human_resources"]["polarity"] == "obstacle"


def test_deterministic(coder, tmp_path):
    texts = list(CLEAR.values())
    assert coder.code_texts(texts) == coder.code_texts(texts)
    path = coder.save(tmp_path)
    reloaded = Coder(coder.book, CoderModel.load(path), embedder="use")
    assert reloaded.code_texts(texts) == coder.code_texts(texts)


def test_empty_and_long_inputs(coder):
    empty, blank, long = coder.code_texts(["", "   \n ", ("플랫폼 운영 예산이 부족하다. " * 700)[:10_000]])
    assert empty["codes"] == [] and empty["sentences"] == [] and blank["codes"] == []
    assert "financial_resources" in codes_of(long)
    assert len(long["sentences"]) > 500


def test_new_category_added_at_runtime(coder):
    new = CategoryView(
        id="data_privacy",
        label_ko="개인정보 보호",
        definition="개인정보 보호와 관련된 문제",
        cues=("개인정보", "프라이버시"),
        examples=(Example("개인정보 유출에 대한 우려가 크다.", "obstacle"),),
    )
    extended = Coder(coder.book.with_category(new), coder.model, embedder="use")
    (res,) = extended.code_texts(["주민의 개인정보와 프라이버시 침해 우려가 제기되었다."])
    code = codes_of(res)["data_privacy"]
    assert code["evidence"]["cues"] == ["개인정보", "프라이버시"]
    assert code["polarity"] == "obstacle"


def test_written_sentences_train_but_never_calibrate(tmp_path):
    """Written training sentences are fully labelled rows, outside the threshold-calibration folds."""
    from kb.coding.data import load_written

    rows = [
        {"text": "군수가 직접 챙겼다.", "codes": [{"category": "leadership", "polarity": "success"}]},
        {"text": "플랫폼 소개 문단이다.", "codes": []},
    ]
    lines = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    (tmp_path / "extra.jsonl").write_text(lines, encoding="utf-8")
    written = load_written(tmp_path)
    book = load_view()
    gold = load_gold()[:5]
    ts = build_training_set(book, gold, written=written, examples=False)
    assert ts.texts[:2] == [w["text"] for w in written]
    assert ts.groups[:2] == ["written", "written"] and ts.evaluable[:2] == [False, False]
    assert ts.evaluable[2:] == [True] * 5
    assert ts.labels["leadership"][:2] == [1, 0] and ts.polarities["leadership"][0] == "success"
    assert all(ts.labels[c][1] == 0 for c in book.ids)  # no code = known negative everywhere


def test_trained_coder_blends_fine_tuned_models(coder):
    """Both fine-tuned e5 models are trained and change the scores (the blend is not a no-op)."""
    model = coder.model
    assert model.tuned is not None and model.tuned.ids == model.ids
    assert model.tuned_polarity is not None and model.tuned_polarity.ids == list(POLARITIES)
    texts = [CLEAR["financial_resources"], CLEAR["governance"]]
    analyses = coder.analyzer.analyse(texts)
    blended = category_scores(model, coder.analyzer, analyses)
    tuned = model.tuned.predict_proba(texts)
    logistic = category_scores(replace(model, tuned=None), coder.analyzer, analyses)
    np.testing.assert_allclose(blended, (tuned + logistic) / 2)
    assert not np.allclose(blended, logistic)


def test_sentence_polarity_is_the_majority_of_its_codes():
    book = load_view()
    rows = [
        {"id": "1", "case": "x", "text": "a", "codes": [
            {"category": "leadership", "polarity": "obstacle"},
            {"category": "governance", "polarity": "obstacle"},
            {"category": "ict_level", "polarity": "success"}]},
        {"id": "2", "case": "x", "text": "b", "codes": [{"category": "ict_level", "polarity": "neutral"}]},
        {"id": "3", "case": "x", "text": "c", "codes": []},
    ]  # fmt: skip
    ts = build_training_set(book, rows, examples=False)
    assert sentence_polarities(ts, book.ids).tolist() == [POLARITIES.index("obstacle"), 2, -1]


@pytest.fixture(scope="module")
def coder_settings(coder, tmp_path_factory):
    """A data directory holding the trained test coder, as `kb build` would leave it."""
    settings = get_settings(data_dir=tmp_path_factory.mktemp("coded") / "data")
    coder.save(coder_dir(settings))
    return settings


def kb_code(settings, *args: str, stdin: str | None = None):
    return CliRunner().invoke(app, ["--data-dir", str(settings.data_dir), "code", *args], input=stdin)


def test_kb_code_reads_plain_lines_from_stdin(coder_settings):
    result = kb_code(coder_settings, stdin=CLEAR["financial_resources"] + "\n\n" + CLEAR["ict_level"] + "\n")
    assert result.exit_code == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["id"] for r in rows] == ["1", "3"]  # ids are line numbers; the blank line is skipped
    assert "financial_resources" in codes_of(rows[0]) and "ict_level" in codes_of(rows[1])
    for row in rows:
        assert {"id", "codes", "polarity", "polarity_confidence"} <= set(row)
        assert {"category", "confidence", "polarity", "evidence"} <= set(row["codes"][0])


def test_kb_code_warns_when_no_trained_coder_was_saved(coder_settings, tmp_path):
    trained = kb_code(coder_settings, stdin=CLEAR["financial_resources"] + "\n")
    assert trained.exit_code == 0 and "Warning" not in trained.stderr
    empty = get_settings(data_dir=tmp_path / "never-built")
    untrained = kb_code(empty, stdin=CLEAR["financial_resources"] + "\n")
    assert untrained.exit_code == 0, untrained.stderr
    assert "no trained coder" in untrained.stderr and "kb build" in untrained.stderr
    assert json.loads(untrained.stdout)["id"] == "1"  # still coded, by the cue words and definitions
    with pytest.warns(api.UntrainedCoderWarning):
        api.code(CLEAR["ict_level"], settings=empty)


def test_kb_code_reads_a_jsonl_file_and_reports_bad_lines(coder_settings, tmp_path):
    lines = [
        json.dumps({"id": "a", "text": CLEAR["leadership"]}, ensure_ascii=False),
        '{"id": "b", "text": "예산이',  # broken JSON
        json.dumps({"id": "c"}),  # no text
        json.dumps({"id": "d", "text": CLEAR["governance"]}, ensure_ascii=False),
    ]
    path = tmp_path / "in.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = kb_code(coder_settings, str(path))
    assert result.exit_code == 1  # some lines failed ...
    assert [json.loads(line)["id"] for line in result.stdout.splitlines()] == ["a", "d"]  # ... the rest coded
    assert "line 2: invalid JSON" in result.stderr
    assert "line 3: JSON object has no non-empty 'text'" in result.stderr
    missing = kb_code(coder_settings, str(tmp_path / "nope.txt"))
    assert missing.exit_code == 1 and "no such file" in missing.stderr and not missing.stdout


def test_kb_code_reads_a_transcript_file_interviewer_lines_uncoded_answers_with_their_question(
    coder_settings, tmp_path
):
    path = tmp_path / "면담.txt"  # saved in CP949, as Korean Windows editors still do
    path.write_bytes(
        (
            "면담자: 예산 확보는 어떠셨어요?\n"
            f"응답자: {CLEAR['financial_resources']}\n"
            f"{CLEAR['ict_level']}\n"
            "면담자: 담당 인력은요?\n"
            "응답자: 그게 제일 골치였죠.\n"
        ).encode("cp949")
    )
    result = kb_code(coder_settings, str(path))
    assert result.exit_code == 0, result.stderr
    rows = {r["id"]: r for r in map(json.loads, result.stdout.splitlines())}
    assert list(rows) == ["1", "2", "3", "4", "5"]
    assert rows["1"]["codes"] == [] and rows["4"]["codes"] == []  # the interviewer's questions
    assert rows["1"]["polarity"] == rows["4"]["polarity"] == "neutral"  # and no direction of their own
    assert "financial_resources" in codes_of(rows["2"])
    assert not any("응답자" in c["evidence"] for r in rows.values() for c in r["codes"])  # labels dropped
    units, _ = parse_lines(path.read_bytes().decode("cp949").splitlines())
    assert [(u.question, u.speaker) for u in units][1:3] == [("예산 확보는 어떠셨어요?", "응답자")] * 2
    assert units[4].question == "담당 인력은요?" and units[1].answer == units[2].answer != units[4].answer


def test_kb_code_reads_a_docx_and_a_wrapped_transcript_as_kb_add_does(coder_settings, tmp_path):
    d = docx.Document()
    d.add_paragraph("면담 일시: 2023년 5월 17일")  # a header: not coded, not a question
    d.add_paragraph("면담자: 연구자 이OO (OO대학교 행정학과)")
    d.add_paragraph("[00:00:12] 연구자: 예산 확보는 어떠셨어요?")
    d.add_paragraph(f"[00:00:20] 김OO 주무관: {CLEAR['financial_resources']}")
    d.add_paragraph("[00:01:02] 연구자: 기술 수준은요?")
    d.add_paragraph(f"[00:01:09] 김OO 주무관: {CLEAR['ict_level']}")
    d.save(tmp_path / "면담.docx")
    result = kb_code(coder_settings, str(tmp_path / "면담.docx"))
    assert result.exit_code == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(r["speaker"], r.get("question"), r["text"]) for r in rows] == [
        ("연구자", None, "예산 확보는 어떠셨어요?"),
        ("김OO 주무관", "예산 확보는 어떠셨어요?", CLEAR["financial_resources"]),
        ("연구자", None, "기술 수준은요?"),
        ("김OO 주무관", "기술 수준은요?", CLEAR["ict_level"]),
    ]
    assert rows[0]["codes"] == [] and "financial_resources" in codes_of(rows[1])
    # pasted from a PDF: wrapped every 40 characters, inside words; each turn is one record
    answers = [" ".join(CLEAR[c] for c in cats) for cats in (("leadership", "governance"),
               ("ict_level", "human_resources"), ("output_quality", "regional_disparity"))]  # fmt: skip
    lines = [
        f"{who}: {text}" for a in answers for who, text in (("면담자", "그 점은 어떠셨어요?"), ("응답자", a))
    ]
    wrapped = [
        piece for line in lines for piece in (line[i : i + 40].strip() for i in range(0, len(line), 40))
    ]
    (tmp_path / "wrapped.txt").write_text("\n".join(wrapped) + "\n", encoding="utf-8")
    result = kb_code(coder_settings, str(tmp_path / "wrapped.txt"))
    assert result.exit_code == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["text"] for r in rows if r["speaker"] == "응답자"] == answers
    assert "leadership" in codes_of(rows[1]) and "ict_level" in codes_of(rows[3])


def test_api_code_takes_one_string_as_one_text(coder_settings):
    [row] = api.code(CLEAR["leadership"], settings=coder_settings)
    assert "leadership" in codes_of(row)
