"""`kb export --unit sentence`: the auto coder's codes of every sentence, to set beside a researcher's own.

The small knowledge base gets per-sentence codes the way the coder writes them (`sentences` spans in
passage offsets over the passage text), a coder stamp, and one rejected code; expectations are read
back from the codes file itself, not restated.
"""

from __future__ import annotations

import re

import pandas as pd
import pytest
from fixtures_kb import CODES, DOCS, REVIEWER, passage_id

from kb.errors import ExportError
from kb.exchange.export import export
from kb.query.filters import Filters

STAMP = "coder-test-0001"
BUDGET = "financial_resources"
SENTENCE = re.compile(r"\S[^.]*\.(?=\s|$)")
# 은평구's first budget passage: the code reads obstacle, its sentences obstacle, success, recommendation
MIXED = [("obstacle", 0.91), ("success", 0.64), ("recommendation", 0.7)]
UNRECORDED = ("domestic_synthesis", 2)  # a passage the coder has no record of: no codes, one sentence


def _columns() -> list[str]:
    """The sentence unit's documented columns (imported here: collecting the file needs no new name)."""
    from kb.exchange.columns import SENTENCE_COLUMNS

    return SENTENCE_COLUMNS


def _pid(doc: str, i: int) -> str:
    return passage_id(doc, DOCS[doc][6][i][0])


def _sentence_codes(settings, passages) -> None:  # noqa: ANN001
    """Every coded passage's first sentence carries its codes, the other sentences none (except the
    mixed budget passage, one direction per sentence); one auto code is rejected by a coder."""
    from kb.review.decisions import open_store
    from kb.store.kbase import CODES_FILE, read_jsonl, write_jsonl

    path = settings.data_dir / CODES_FILE
    records = read_jsonl(path)
    index = {_pid(doc, i): (doc, i) for doc, i in CODES}
    for rec in records:
        doc, i = index[rec["passage_id"]]
        spans = [m.span() for m in SENTENCE.finditer(DOCS[doc][6][i][0])]
        if (doc, i) == ("domestic_synthesis", 0):  # a span may take the space before its sentence
            spans[1] = (spans[1][0] - 1, spans[1][1])
        if (doc, i) == ("eunpyeong_forest", 0):
            codes = [[{"category": BUDGET, "polarity": pol, "confidence": conf, "polarity_confidence": 0.8}]
                     for pol, conf in MIXED]  # fmt: skip
        else:
            first = [{k: c[k] for k in ("category", "polarity", "confidence", "polarity_confidence")}
                     for c in rec["codes"]]  # fmt: skip
            codes = [first] + [[] for _ in spans[1:]]
        rec["sentences"] = [
            {"start": a, "end": b, "codes": cs} for (a, b), cs in zip(spans, codes, strict=True)
        ]
        rec["coder"] = STAMP
    write_jsonl(path, records)
    daangn = next(p for p in passages if p["id"] == _pid("daangn_interview", 1))
    open_store(settings.reviews_db).record(
        REVIEWER, daangn["id"], daangn["text_hash"], "leadership", "reject"
    )


@pytest.fixture(scope="module")
def sent_settings(tmp_path_factory):
    from fixtures_kb import build_kb

    return build_kb(tmp_path_factory.mktemp("kb_sentences"), before_index=_sentence_codes)


@pytest.fixture(scope="module")
def skb(sent_settings):
    from kb.store.kbase import get_kb

    return get_kb(sent_settings)


def _file_rows(skb) -> set[tuple]:  # noqa: ANN001
    """(passage, start, end, category, polarity, confidence) of every sentence code in the codes file;
    category None for a sentence without codes."""
    from kb.store.kbase import CODES_FILE, read_jsonl

    out = set()
    for rec in read_jsonl(skb.root / CODES_FILE):  # the codes file of the generation kb reads
        for s in rec["sentences"]:
            for c in s["codes"] or [None]:
                code = (None, None, None) if c is None else (c["category"], c["polarity"], c["confidence"])
                out.add((rec["passage_id"], s["start"], s["end"], *code))
    return out


def _exported(df: pd.DataFrame) -> set[tuple]:
    return {
        (r.passage_id, r.start, r.end, *((None,) * 3 if pd.isna(r.category) else (r.category, r.polarity,
                                                                                     r.confidence)))
        for r in df.itertuples()
    }  # fmt: skip


def test_every_sentence_of_a_selected_passage_has_its_rows_sliced_from_the_passage_text(skb):
    df = export(skb, "csv", unit="sentence", filters=Filters(case="domestic_synthesis"))
    assert list(df.columns) == _columns()
    chosen = [p for p in skb.passages if p["case"] == "domestic_synthesis"]
    assert set(df["passage_id"]) == {p["id"] for p in chosen}  # the uncoded, unrecorded passage too
    for p in chosen:
        mine = df[df["passage_id"] == p["id"]]
        said = [p["text"][a:b] for a, b in (m.span() for m in SENTENCE.finditer(p["text"]))]
        assert mine.drop_duplicates("sentence_id")["sentence"].tolist() == said  # every sentence, in order
        assert sorted(set(mine["sentence_no"])) == list(range(1, len(said) + 1))
        for r in mine.itertuples():
            assert r.sentence == p["text"][r.start : r.end].strip()
            assert r.sentence_id == f"{p['id']}#{r.sentence_no}"
            assert r.doc_id == p["doc_id"] and r.case_name == p["case_name"] and r.citation
    assert df["citation"].str.startswith("KRILA 2022-01").all()  # as the other exports cite it


def test_sentence_rows_are_the_codes_files_sentence_codes_with_the_coders_stamp(skb):
    df = export(skb, "parquet", unit="sentence")
    recorded = _file_rows(skb)
    unrecorded = _pid(*UNRECORDED)
    assert _exported(df[df["passage_id"] != unrecorded]) == recorded
    assert (df.loc[df["passage_id"] != unrecorded, "coder"] == STAMP).all()
    assert df.loc[df["passage_id"] == unrecorded, "coder"].isna().all()
    labels = {c.id: c.label_ko for c in skb.codebook.categories}
    coded = df.dropna(subset=["category"])
    assert (coded["label_ko"] == coded["category"].map(labels)).all()
    assert (coded.loc[coded["passage_id"] == _pid("eunpyeong_forest", 0), "polarity_confidence"] == 0.8).all()
    two = df[df["passage_id"] == _pid("eunpyeong_forest", 1)]
    assert len(two) == 2 and two["sentence_id"].nunique() == 1  # one sentence, two codes: two rows


def test_an_uncoded_sentence_has_one_row_with_no_code(skb):
    df = export(skb, "csv", unit="sentence")
    uncoded = df[df["category"].isna()]
    assert len(uncoded) and uncoded["sentence_id"].is_unique
    assert uncoded[["polarity", "confidence", "label_ko", "passage_decision"]].isna().all().all()
    second = f"{_pid('domestic_synthesis', 0)}#2"  # the leadership passage's second sentence
    assert df.loc[df["sentence_id"] == second, "category"].isna().tolist() == [True]
    assert df.loc[df["sentence_id"] == f"{_pid(*UNRECORDED)}#1", "category"].isna().tolist() == [True]
    # a table of every sentence: one row each, coded or not
    assert df["sentence_id"].nunique() == len({(r[0], r[1]) for r in _file_rows(skb)}) + 1


def test_filters_narrow_sentence_rows_as_the_other_exports(skb):
    every = export(skb, "csv", unit="sentence")
    case = export(skb, "csv", unit="sentence", filters=Filters(case="daangn"))
    assert set(case["case"]) == {"daangn"} and len(case) == (every["case"] == "daangn").sum()
    budget = export(skb, "csv", unit="sentence", filters=Filters(factor=BUDGET))
    assert set(budget["category"]) == {BUDGET}  # no uncoded rows, no other factor's
    assert _exported(budget) == {r for r in _exported(every) if r[3] == BUDGET}
    success = export(skb, "csv", unit="sentence", filters=Filters(polarity="success"))
    assert set(success["polarity"]) == {"success"}
    # the mixed passage's code reads obstacle; its success sentence still counts (as the matrix does)
    assert f"{_pid('eunpyeong_forest', 0)}#2" in set(success["sentence_id"])
    sure = export(skb, "csv", unit="sentence", filters=Filters(min_confidence=0.8))
    assert len(sure) and (sure["confidence"] >= 0.8).all() and sure["category"].notna().all()
    both = export(skb, "csv", unit="sentence", filters=Filters(factor=BUDGET, polarity="obstacle"))
    assert set(zip(both["category"], both["polarity"], strict=True)) == {(BUDGET, "obstacle")}


def test_each_code_row_shows_the_decision_on_its_passage_and_factor(skb):
    df = export(skb, "csv", unit="sentence")
    accepted = df[(df["passage_id"] == _pid("domestic_synthesis", 1)) & (df["category"] == BUDGET)]
    assert accepted["passage_decision"].tolist() == ["accepted: obstacle"]
    assert accepted["reviewer"].tolist() == [REVIEWER]
    rejected = df[(df["passage_id"] == _pid("daangn_interview", 1)) & (df["category"] == "leadership")]
    assert rejected["passage_decision"].tolist() == ["rejected"]  # the coder's reading stays, marked
    undecided = df[df["passage_decision"].isna()]
    assert undecided["reviewer"].isna().all() and len(undecided) == len(df) - 2


def test_cli_writes_a_sentence_csv_that_reads_back_with_the_documented_columns(
    sent_settings, kb_cli, tmp_path
):
    from kb import api

    path = tmp_path / "sentences.csv"
    out = kb_cli("export", "--unit", "sentence", "-o", str(path), "--case", "eunpyeong_forest",
                 settings=sent_settings)  # fmt: skip
    assert out.exit_code == 0, out.stderr
    back = api.read_export(path)
    assert list(back.columns) == _columns()
    assert "wrote 5 rows (4 sentences)" in out.stderr and len(back) == 5  # one sentence has two codes
    assert back["sentence_no"].dtype == "Int64" and back["confidence"].dtype == "float64"
    assert pd.api.types.is_string_dtype(back["passage_decision"])  # no decision in this case: still text
    assert back["sentence"].str.contains("따라서 향후 예산 확대가").any()
    printed = kb_cli("export", "--columns", "--unit", "sentence")
    assert (
        printed.exit_code == 0 and "passage_decision" in printed.stdout and "excerpt_id" not in printed.stdout
    )
    assert list(api.export_columns("sentence")["column"]) == ["rank", *_columns()]


@pytest.mark.parametrize("fmt", ["xlsx", "jsonl"])
def test_a_sentence_export_in_every_tabular_format(skb, tmp_path, fmt):
    path = tmp_path / f"s.{fmt}"
    df = export(skb, fmt, unit="sentence", path=path)
    if fmt == "xlsx":
        book = pd.read_excel(path, sheet_name=None)
        assert list(book)[:5] == ["sentences", "읽기용 reading", "overview", "about", "columns"]
        assert set(book["columns"]["unit"]) == {"sentence", "excerpt"}  # the factor sheets hold excerpts
        assert book["about"].set_index("key").loc["unit", "value"] == "sentence"
        back = book["sentences"]
    else:
        back = pd.read_json(path, lines=True)
    assert list(back["sentence_id"]) == list(df["sentence_id"]) and list(back["sentence"]) == list(
        df["sentence"]
    )


def test_qdpx_and_the_codebook_refuse_the_sentence_unit(skb):
    for fmt in ("qdpx", "qdc", "codebook-csv"):
        with pytest.raises(ExportError, match="does not apply"):
            export(skb, fmt, unit="sentence")


def test_an_interviewer_turn_never_becomes_a_sentence_row(sent_settings, tmp_path):
    """A transcript's question is the answer's `question`, never a row of its own."""
    from fixtures_kb import copy_kb

    from kb.exchange.ingest import add_files
    from kb.store.kbase import forget, get_kb
    from pipelines.run import build

    settings = copy_kb(sent_settings, tmp_path / "kb")
    source = tmp_path / "saemaeul_interview.txt"
    asked = ["예산은 어떻게 마련하셨어요?", "인력은 충분했나요?"]
    source.write_text(
        f"면담자: {asked[0]}\n응답자: 처음엔 구비로 충당했습니다. 이듬해부터 시비 지원을 받았어요.\n"
        f"면담자: {asked[1]}\n응답자: 담당자가 자주 바뀌어서 힘들었어요. 그래도 교육으로 버텼습니다.\n",
        encoding="utf-8",
    )
    (added,) = add_files(
        [source], settings.corpus_dir, "saemaeul", "새마을 면담", "domestic", "policy_proposal"
    )
    assert added.status == "added", added.reason
    build(settings, stages=("segment", "index"), progress=False)
    forget(settings)
    kb = get_kb(settings)
    df = export(kb, "csv", unit="sentence", filters=Filters(case="saemaeul"))
    assert len(df) >= 4 and set(df["speaker"]) == {"응답자"}
    assert not df["sentence"].str.contains("|".join(re.escape(q) for q in asked)).any()
    assert set(df["question"]) == set(asked)
    assert {"처음엔 구비로 충당했습니다.", "그래도 교육으로 버텼습니다."} <= set(df["sentence"])
    for pid, mine in df.groupby("passage_id"):  # the rows' sentences make up the answer, in order
        text = kb.passage_by_id[pid]["text"]
        assert " ".join(mine.sort_values("sentence_no")["sentence"]) == " ".join(text.split())


# -- a second coder codes beside the export, then compares (`kb reviews agreement --codes`) --------


def _compare(skb, path, **kw):  # noqa: ANN001
    from kb import api

    return api.compare_codes(path, settings=skb.settings, **kw)


def test_the_export_itself_as_a_coders_file_agrees_with_kb_everywhere(skb, tmp_path):
    df = export(skb, "csv", unit="sentence", filters=Filters(case="eunpyeong_forest"))
    path = tmp_path / "same.csv"
    df.to_csv(path, index=False)
    got = _compare(skb, path)
    total = got["by_factor"].set_index("category").loc["_all"]
    assert got["unit"] == "sentence" and got["units"] == df["sentence_id"].nunique()
    assert total["agreement"] == 1.0 and total["only_file"] == total["only_kb"] == 0
    assert total["both"] == df["category"].notna().sum() and total["polarity_agreement"] == 1.0
    assert got["disagreements"].empty


def test_a_second_coders_korean_office_csv_is_compared_code_by_code(skb, tmp_path):
    """CP949 as Korean Excel saves CSV, Korean factor labels and polarities, one code dropped, one
    added, one direction changed and one sentence coded with nothing: each shows where it should."""
    df = export(skb, "csv", unit="sentence")
    coded = df.dropna(subset=["category"]).reset_index(drop=True)
    labels = {c.id: c.label_ko for c in skb.codebook.categories}
    ko = {"success": "성공 요인", "obstacle": "장애 요인", "neutral": "중립", "recommendation": "제언"}
    mine = pd.DataFrame({"sentence_id": coded["sentence_id"], "요인": coded["category"].map(labels),
                         "극성": coded["polarity"].map(ko)})  # fmt: skip
    dropped, flipped = coded.iloc[0], coded.iloc[1]
    mine = mine.drop(index=0)
    mine.loc[1, "극성"] = "성공 요인" if flipped["polarity"] != "success" else "장애 요인"
    uncoded = df.loc[df["category"].isna(), "sentence_id"].iloc[0]
    added = pd.DataFrame({"sentence_id": [uncoded], "요인": ["리더십"], "극성": ["제언"]})
    nothing = pd.DataFrame({"sentence_id": [dropped["sentence_id"]], "요인": [""], "극성": [""]})
    path = tmp_path / "내 코딩.csv"
    pd.concat([mine, added, nothing]).to_csv(path, index=False, encoding="cp949")

    got = _compare(skb, path, category_column="요인", polarity_column="극성")
    by = got["by_factor"].set_index("category")
    assert by.loc[dropped["category"], "only_kb"] == 1 and by.loc["leadership", "only_file"] == 1
    assert by.loc["_all", "only_file"] == 1 and by.loc["_all", "only_kb"] == 1
    assert by.loc["_all", "polarity_units"] == by.loc["_all", "both"] == len(coded) - 1
    assert by.loc["_all", "polarity_agreement"] == pytest.approx((len(coded) - 2) / (len(coded) - 1))
    rows = {(r.unit_id, r.category): (r.file, r.kb) for r in got["disagreements"].itertuples()}
    assert rows == {
        (dropped["sentence_id"], dropped["category"]): ("absent", dropped["polarity"]),
        (flipped["sentence_id"], flipped["category"]): ("success" if flipped["polarity"] != "success"
                                                        else "obstacle", flipped["polarity"]),
        (uncoded, "leadership"): ("recommendation", "absent"),
    }  # fmt: skip
    text = got["disagreements"].set_index("unit_id").loc[uncoded, "text"]
    assert text == df.loc[df["sentence_id"] == uncoded, "sentence"].iloc[0]


def test_passage_codes_are_compared_when_the_file_has_no_sentence_ids(skb, tmp_path):
    passages = export(skb, "csv", unit="passage", filters=Filters(case="eunpyeong_forest"))
    auto = {r["passage_id"]: r["codes"] for r in skb.auto_codes}
    rows = [(pid, c["category"]) for pid in passages["passage_id"] for c in auto.get(pid, [])]
    path = tmp_path / "passages.xlsx"
    pd.DataFrame(rows, columns=["passage_id", "category"]).to_excel(path, index=False)
    got = _compare(skb, path)
    total = got["by_factor"].set_index("category").loc["_all"]
    assert got["unit"] == "passage" and got["units"] == len({pid for pid, _ in rows})
    assert total["agreement"] == 1.0 and total["polarity_units"] == 0  # no polarity column: none compared


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("sentence_id,category\nnot-a-sentence#1,leadership\n", "unknown unit: row 2: 'not-a-sentence#1'"),
        ("SID,category,polarity\n{sid},leadership,success\n", "needs a sentence_id column"),
        ("sentence_id,category,polarity\n{sid},리더쉽,success\n", "unknown factor: row 2: '리더쉽'"),
        ("sentence_id,category,polarity\n{sid},leadership,good\n", "unknown polarity: row 2: 'good'"),
        ("sentence_id,category\n", "names no unit"),
    ],
)
def test_a_bad_codes_file_is_refused_naming_the_row(skb, tmp_path, content, message):
    from kb.errors import ReviewError

    sid = export(skb, "csv", unit="sentence")["sentence_id"].iloc[0]
    path = tmp_path / "codes.csv"
    path.write_text(content.format(sid=sid), encoding="utf-8")
    with pytest.raises(ReviewError, match=re.escape(message)):
        _compare(skb, path)


def test_a_file_that_is_no_table_is_refused(skb, tmp_path):
    from kb.errors import ReviewError

    png = tmp_path / "codes.csv"
    png.write_bytes(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR" + bytes(64))
    with pytest.raises(ReviewError, match="binary file"):
        _compare(skb, png)
    fake = tmp_path / "codes.xlsx"
    fake.write_text("sentence_id,category\n", encoding="utf-8")
    with pytest.raises(ReviewError, match="not a readable zip"):
        _compare(skb, fake)


def test_cli_compares_a_coders_file_and_exits_1_on_a_bad_one(sent_settings, kb_cli, tmp_path):
    from kb.store.kbase import get_kb

    df = export(get_kb(sent_settings), "csv", unit="sentence", filters=Filters(case="eunpyeong_forest"))
    path = tmp_path / "mine.csv"
    df.to_csv(path, index=False)
    out = kb_cli("reviews", "agreement", "--codes", str(path), settings=sent_settings)
    assert out.exit_code == 0, out.output
    assert f"mine.csv vs the auto coder: {df['sentence_id'].nunique()} sentences" in out.output
    assert "disagreements" not in out.output
    path.write_text("passage,category\n", encoding="utf-8")
    bad = kb_cli("reviews", "agreement", "--codes", str(path), settings=sent_settings)
    assert bad.exit_code == 1 and "needs a sentence_id column" in bad.output


def test_kb_cell_and_show_name_a_sentence_of_another_direction(sent_settings, kb_cli):
    """The matrix counts a passage under a direction one of its sentences carries; `kb cell` and
    `kb show` say so, so an obstacle cell does not list a passage shown only as a success."""
    from kb.store.kbase import get_kb

    pid = _pid("eunpyeong_forest", 0)
    (code,) = [c for c in get_kb(sent_settings).codes_for(pid) if c["category"] == BUDGET]
    others = list(code["also"])
    assert others and code["polarity"] not in others
    cell = kb_cli("cell", BUDGET, "eunpyeong_forest", "--polarity", others[0], settings=sent_settings)
    assert cell.exit_code == 0, cell.output
    assert f"{pid}  {BUDGET}({'+'.join([code['polarity'], *others])})" in cell.output
    assert "a sentence of the passage reads" in cell.output
    shown = kb_cli("show", pid, settings=sent_settings)
    assert f"{BUDGET} · {code['polarity']} · a sentence reads {others[0]}" in shown.output
