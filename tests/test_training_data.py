"""The coder's training and evaluation data: double-coded gold and written sentences stay consistent."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from kb.coding.book import POLARITIES, load_view
from kb.coding.data import build_training_set, gold_dir, load_gold, load_written, without_transcripts
from kb.settings import ROOT, get_settings

IDS = set(load_view().ids)


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _valid_codes(codes: list[dict]) -> bool:
    cats = [c["category"] for c in codes]
    return len(cats) == len(set(cats)) and all(
        c["category"] in IDS and c["polarity"] in POLARITIES for c in codes
    )


def test_both_coders_and_the_gold_code_the_same_sentences() -> None:
    gold = load_gold()
    for name in ("coder_a", "coder_b"):
        other = _rows(gold_dir() / f"{name}.jsonl")
        assert [(r["id"], r["text"]) for r in other] == [(r["id"], r["text"]) for r in gold], name
        assert all(_valid_codes(r["codes"]) for r in other), name
    assert all(_valid_codes(r["codes"]) for r in gold)
    assert len({r["id"] for r in gold}) == len(gold)


def test_gold_is_a_where_coders_agreed_and_the_adjudication_where_not() -> None:
    def key(codes: list[dict]) -> set[tuple[str, str]]:
        return {(c["category"], c["polarity"]) for c in codes}

    a = {r["id"]: r["codes"] for r in _rows(gold_dir() / "coder_a.jsonl")}
    b = {r["id"]: r["codes"] for r in _rows(gold_dir() / "coder_b.jsonl")}
    adjudicated = {r["id"]: r["codes"] for r in _rows(gold_dir() / "adjudication.jsonl")}
    # re-decided under the 2026-12 rules (recommendation polarity, adopted plans): eval/gold/README.md
    readjudicated = {r["id"]: r["codes"] for r in _rows(gold_dir() / "readjudication_2026-12.jsonl")}
    for row in load_gold():
        if row["id"] in readjudicated:
            assert key(row["codes"]) == key(readjudicated[row["id"]]), row["id"]
        elif key(a[row["id"]]) == key(b[row["id"]]):
            assert key(row["codes"]) == key(a[row["id"]]), row["id"]
        else:
            assert key(row["codes"]) == key(adjudicated[row["id"]]), row["id"]


def test_written_sentences_are_valid_and_apart_from_the_gold() -> None:
    written = load_written(ROOT / "corpus" / "training")
    assert len(written) >= 1000
    texts = [r["text"] for r in written]
    assert len(set(texts)) == len(texts)
    assert len({r["id"] for r in written}) == len(written)
    assert all(_valid_codes(r["codes"]) for r in written)
    assert not set(texts) & {r["text"] for r in load_gold()}
    covered = {c["category"] for r in written for c in r["codes"]}
    assert covered == IDS  # every category is taught


def test_written_sentences_are_not_taken_from_the_report() -> None:
    source = get_settings().source_path
    if not source.exists():
        pytest.skip(f"report text not found at {source}")
    flat = "".join(source.read_text(encoding="utf-8").split())
    written = load_written(ROOT / "corpus" / "training")
    copied = [r["id"] for r in written if "".join(r["text"].split()) in flat]
    assert copied == []


TRANSCRIPTS = ROOT / "eval" / "transcripts" / "transcripts_gold.jsonl"
DEV_TRANSCRIPTS = ROOT / "eval" / "dev_transcripts" / "dev_gold.jsonl"
DEV3_TRANSCRIPTS = ROOT / "eval" / "dev_transcripts" / "dev3" / "dev3_gold.jsonl"
DEV4_TRANSCRIPTS = ROOT / "eval" / "dev_transcripts" / "dev4" / "dev4_gold.jsonl"
DEV5_TRANSCRIPTS = ROOT / "eval" / "dev_transcripts" / "dev5" / "dev5_gold.jsonl"
DEV6_TRANSCRIPTS = ROOT / "eval" / "dev_transcripts" / "dev6" / "dev6_gold.jsonl"
SPOKEN_TRANSCRIPTS = ROOT / "corpus" / "training" / "spoken_transcripts.jsonl"


def _flat(text: str) -> str:
    return "".join(text.split())


def _training_texts(written: list[dict]) -> set[str]:
    """Every text the coder trains on: report gold, the given written rows, codebook examples."""
    book = load_view()
    texts = [r["text"] for r in load_gold()] + [r["text"] for r in written]
    texts += [e.text for c in book.categories for e in c.examples]
    return {_flat(t) for t in texts}


@pytest.mark.parametrize(
    "path", [TRANSCRIPTS, DEV5_TRANSCRIPTS, DEV6_TRANSCRIPTS], ids=["test", "dev5", "dev6"]
)
def test_held_out_transcripts_never_reach_training(path: Path) -> None:
    """The blind test transcripts, the held-back dev5 check and the dev6 development set never train
    the coder: none of their sentences is a training row (only a count is shown, never an
    evaluation text)."""
    if not path.exists():
        pytest.skip(f"{path} not copied in yet")
    evaluation = {_flat(r["text"]) for r in _rows(path)}
    n_in_training = len(evaluation & _training_texts(load_written(ROOT / "corpus" / "training")))
    assert n_in_training == 0
    assert all(_valid_codes(r["codes"]) for r in _rows(path))


@pytest.mark.parametrize(
    "path", [DEV_TRANSCRIPTS, DEV3_TRANSCRIPTS, DEV4_TRANSCRIPTS], ids=["dev", "dev3", "dev4"]
)
def test_dev_transcripts_train_only_through_their_file(path: Path) -> None:
    """The development transcripts are training data only as the rows of spoken_transcripts.jsonl,
    which carry their transcript's name (so a bench can leave the transcript out); no other training
    source holds one of their sentences."""
    rows = _rows(path)
    assert all(_valid_codes(r["codes"]) for r in rows)
    evaluation = {_flat(r["text"]) for r in rows}
    written = load_written(ROOT / "corpus" / "training")
    others = [r for r in written if r.get("transcript") is None]
    assert not evaluation & _training_texts(others)
    by_text = {r["text"]: r for r in rows}
    mine = [r for r in _rows(SPOKEN_TRANSCRIPTS) if r["transcript"] in {x["transcript"] for x in rows}]
    sys.path.insert(0, str(ROOT / "scripts"))
    from dev_transcripts_training import thin_text

    kept = [r for r in rows if not (r["codes"] and thin_text(r["text"]))]
    assert 0.5 * len(rows) < len(kept)
    assert len(mine) >= 0.95 * len(kept)  # a few repeated or conflicting texts are left out
    for r in mine:
        source = by_text[r["text"]]
        assert (r["transcript"], r["case"], r["group"]) == (
            source["transcript"],
            source["case"],
            source["group"],
        )
        assert r["codes"] == [{"category": c["category"], "polarity": c["polarity"]} for c in source["codes"]]


def test_spoken_transcripts_is_what_the_script_writes() -> None:
    """The shipped file is exactly scripts/dev_transcripts_training.py's output: dev, dev3 and dev4
    in order, no text twice, no text found in another evaluation set (the test transcripts, dev5),
    no coded text too thin to carry its codes without its context."""
    sys.path.insert(0, str(ROOT / "scripts"))
    from check_training_leaks import TRANSCRIPT_SOURCES, evaluation_texts, matcher
    from dev_transcripts_training import SOURCES, convert, thin_text

    rows, *_ = convert(SOURCES, matcher(evaluation_texts(ROOT, TRANSCRIPT_SOURCES)), thin_text)
    assert _rows(SPOKEN_TRANSCRIPTS) == rows
    assert {r["kind"] for r in rows if not r["codes"]} == {"no_code"}
    assert {r["transcript"][:1] for r in rows} == {"d", "e", "f"}


def test_without_transcripts_drops_the_named_transcripts_only() -> None:
    written = [
        {"text": "a", "codes": []},
        {"text": "b", "codes": [], "transcript": "t1.txt"},
        {"text": "c", "codes": [], "transcript": "t2.txt"},
    ]
    assert [r["text"] for r in without_transcripts(written, [{"transcript": "t1.txt"}])] == ["a", "c"]
    assert [r["text"] for r in without_transcripts(written, [{"text": "x"}])] == ["a", "b", "c"]
    assert [r["text"] for r in without_transcripts(written)] == ["a"]


def test_transcript_bench_never_trains_on_the_transcripts_it_scores() -> None:
    """bench/eval_coding.py --transcripts F: the coder it scores trains without F's transcripts (a
    dev score is leave-one-transcript-out, never in-sample) but with the other dev transcripts."""
    from bench.eval_coding import transcript_training_set

    book = load_view()
    written = load_written(ROOT / "corpus" / "training")
    scored = _rows(DEV3_TRANSCRIPTS)
    texts = {_flat(t) for t in transcript_training_set(book, load_gold(), written, scored).texts}
    others = {_flat(r["text"]) for r in _rows(DEV_TRANSCRIPTS) + _rows(DEV4_TRANSCRIPTS)}
    # a greeting such as "네, 안녕하세요." is in several transcripts: it may train from another one
    assert not ({_flat(r["text"]) for r in scored} - others) & texts
    assert len(others & texts) >= 0.8 * len(others)  # less the coded thin sentences (see above)
    everything = {_flat(t) for t in build_training_set(book, load_gold(), written=written).texts}
    assert {_flat(r["text"]) for r in scored} & everything  # the file does train `kb build`


def test_transcript_rows_weigh_transcript_weight_in_both_fits() -> None:
    """A row from a real transcript weighs TRANSCRIPT_WEIGHT in the category and the polarity fits;
    other written rows 1, a polarity-only row 0 in the category fits."""
    from kb.coding.data import TRANSCRIPT_WEIGHT

    assert TRANSCRIPT_WEIGHT == 2.0
    book = load_view()
    cat = book.ids[0]
    written = [
        {"text": "가", "codes": [{"category": cat, "polarity": "success"}]},
        {"text": "나", "codes": [{"category": cat, "polarity": "obstacle"}], "transcript": "t1.txt"},
        {"text": "다", "codes": [], "transcript": "t1.txt"},
        {"text": "라", "codes": [{"category": cat, "polarity": "success"}], "teaches": "polarity"},
    ]
    ts = build_training_set(book, written=written, examples=False)
    assert ts.texts == ["가", "나", "다", "라"]
    assert ts.sample_weights().tolist() == [1.0, TRANSCRIPT_WEIGHT, TRANSCRIPT_WEIGHT, 0.0]
    assert ts.sample_weights(polarity=True).tolist() == [1.0, TRANSCRIPT_WEIGHT, TRANSCRIPT_WEIGHT, 1.0]
    assert ts.labels[cat] == [1, 1, 0, 1]  # the uncoded transcript sentence is a known negative


def test_a_coded_sentence_that_leans_on_its_question_is_no_training_row(tmp_path: Path) -> None:
    """ "그게 제일 골치였죠" is coded only through its question; as a bare training text it would teach the
    coder to code thin sentences without their context (tests/test_coder_context.py)."""
    sys.path.insert(0, str(ROOT / "scripts"))
    from dev_transcripts_training import convert, thin_text

    def row(i: int, text: str, codes: list[dict]) -> dict:
        return {"id": f"x-{i}", "transcript": "x.txt", "case": "x", "group": "domestic",
                "question": "예산은요?", "prev": None, "next": None, "text": text,
                "codes": codes}  # fmt: skip

    money = [{"category": "financial_resources", "polarity": "obstacle"}]
    source = tmp_path / "gold.jsonl"
    rows = [
        row(1, "아, 그게 제일 골치였죠.", money),
        row(2, "네, 맞아요.", []),
        row(3, "작년부터 앱 운영 예산이 절반으로 깎여서 서버 유지비도 겨우 맞췄어요.", money),
    ]
    source.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    kept, _, _, n_thin = convert([source], thin=thin_text)
    assert [r["id"] for r in kept] == ["dt-x-2", "dt-x-3"] and n_thin == 1
