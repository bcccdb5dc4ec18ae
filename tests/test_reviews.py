"""Review store and merge, on real SQLite files (including concurrent writer processes)."""

from __future__ import annotations

import multiprocessing as mp
import sqlite3
import threading

import pandas as pd
import pytest

from kb.errors import KbError
from kb.reviews import ReviewStore, merge, needs_attention, open_store, training_examples

CATS = ["leadership", "governance", "ict_level", "output_quality"]


def passage(pid: str, h: str, text: str = "본문") -> dict:
    return {"id": pid, "text_hash": h, "text": text}


def auto(pid: str, *codes: tuple[str, str]) -> dict:
    return {
        "passage_id": pid,
        "codes": [{"category": c, "polarity": p, "confidence": 0.7, "evidence": ["cue"]} for c, p in codes],
    }


@pytest.fixture
def store(tmp_path) -> ReviewStore:
    return ReviewStore(tmp_path / "reviews.sqlite", valid_categories=CATS)


def test_schema_wal_and_version(store: ReviewStore, tmp_path) -> None:
    assert store.journal_mode() == "wal"
    assert store.schema_version() == 1
    assert store.current().empty and store.log().empty
    # A second store on the same file sees the same schema and does not recreate anything.
    assert ReviewStore(tmp_path / "reviews.sqlite").schema_version() == 1


def test_default_path_comes_from_settings(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("KB_DATA_DIR", str(tmp_path / "d"))
    assert open_store().path == tmp_path / "d" / "reviews.sqlite"


def test_record_current_log(store: ReviewStore) -> None:
    before = {"category": "leadership", "polarity": "success", "confidence": 0.8}
    store.record("kim", "p1", "h1", "leadership", "accept", before=before)
    store.record("lee", "p1", "h1", "governance", "reject", polarity="obstacle")
    store.record("lee", "p1", "h1", "ict_level", "add", polarity="obstacle", memo="서버 노후")
    store.record("kim", "p1", "h1", "leadership", "set_polarity", polarity="obstacle")
    store.record("kim", "p1", "h1", None, "memo", memo="다시 볼 것")
    store.record("park", "p2", "h2", "governance", "memo", memo="애매함")

    cur = store.current().set_index(["passage_id", "category"])
    assert cur.loc[("p1", "leadership"), ["status", "polarity", "coder"]].tolist() == [
        "accepted",
        "obstacle",
        "kim",
    ]
    assert cur.loc[("p1", "governance"), "status"] == "rejected"
    assert cur.loc[("p1", "ict_level"), ["status", "memo"]].tolist() == ["added", "서버 노후"]
    assert cur.loc[("p2", "governance"), "status"] == "noted"
    assert store.passage_memos()["memo"].tolist() == ["다시 볼 것"]
    assert store.current(["p2"])["passage_id"].tolist() == ["p2"]

    log = store.log()
    assert log["action"].tolist() == ["accept", "reject", "add", "set_polarity", "memo", "memo"]
    assert log.loc[0, "before"] == before and log.loc[0, "after"]["polarity"] == "success"
    assert log.loc[3, "before"] == {"status": "accepted", "polarity": "success", "memo": None}
    assert log["ts"].str.endswith("+00:00").all() and log["ts"].is_monotonic_increasing
    assert len(store.log(coder="kim")) == 3 and len(store.log(passage_ids=["p2"])) == 1
    assert store.reviewed_passage_ids() == {"p1", "p2"}
    assert store.coders() == ["kim", "lee", "park"]


def test_log_is_append_only(store: ReviewStore) -> None:
    store.record("kim", "p1", "h1", "leadership", "accept")
    con = sqlite3.connect(store.path)
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        con.execute("DELETE FROM decisions")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        con.execute("UPDATE decisions SET coder = 'x'")
    con.close()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"action": "approve"}, "unknown action"),
        ({"coder": "  "}, "coder name"),
        ({"polarity": "good"}, "unknown polarity"),
        ({"category": "nonsense"}, "unknown category"),
        ({"category": None}, "needs a category"),
        ({"action": "add"}, "needs a polarity"),
        ({"text_hash": ""}, "text_hash"),
    ],
)
def test_validation_errors(store: ReviewStore, kwargs: dict, message: str) -> None:
    args = {
        "coder": "kim",
        "passage_id": "p1",
        "text_hash": "h1",
        "category": "leadership",
        "action": "accept",
    }
    with pytest.raises(KbError, match=message) as err:
        store.record(**{**args, **kwargs})
    assert "\n" not in str(err.value)
    assert store.log().empty


def test_valid_categories_per_call(tmp_path) -> None:
    s = ReviewStore(tmp_path / "r.sqlite")
    s.record("kim", "p1", "h1", "anything", "accept")  # no codebook given: caller checks
    with pytest.raises(KbError):
        s.record("kim", "p1", "h1", "anything", "accept", valid_categories=CATS)


def test_merge_override_semantics(store: ReviewStore) -> None:
    passages = [passage("p1", "h1"), passage("p2", "h2")]
    autos = [
        auto("p1", ("leadership", "success"), ("governance", "neutral"), ("ict_level", "success")),
        auto("p2", ("output_quality", "success")),
    ]
    store.record("kim", "p1", "h1", "leadership", "accept")
    store.record("kim", "p1", "h1", "governance", "reject")
    store.record("lee", "p1", "h1", "ict_level", "set_polarity", polarity="obstacle", memo="예산 부족")
    store.record("lee", "p2", "h2", "leadership", "add", polarity="obstacle")
    store.record("lee", "p2", "h2", "output_quality", "memo", memo="근거 약함")
    store.record("lee", "p2", "h2", None, "memo", memo="인터뷰 인용")

    out = {e["passage_id"]: e for e in merge(autos, passages, store)}
    p1 = {c["category"]: c for c in out["p1"]["codes"]}
    assert set(p1) == {"leadership", "ict_level"}
    assert p1["leadership"] | {} == {
        "category": "leadership", "polarity": "success", "confidence": 1.0, "evidence": ["cue"],
        "source": "human", "reviewer": "kim", "memo": None,
    }  # fmt: skip
    assert (p1["ict_level"]["polarity"], p1["ict_level"]["memo"]) == ("obstacle", "예산 부족")
    p2 = {c["category"]: c for c in out["p2"]["codes"]}
    assert p2["output_quality"]["source"] == "auto" and p2["output_quality"]["memo"] == "근거 약함"
    assert p2["leadership"]["source"] == "human" and p2["leadership"]["polarity"] == "obstacle"
    assert out["p2"]["memo"] == "인터뷰 인용" and out["p1"]["memo"] is None
    assert autos[0]["codes"][0].get("source") is None  # input untouched
    # A later decision overrides an earlier one: re-accepting brings a rejected code back.
    store.record("park", "p1", "h1", "governance", "accept")
    p1 = {c["category"]: c for c in merge(autos, passages, store)[0]["codes"]}
    assert p1["governance"]["reviewer"] == "park" and p1["governance"]["polarity"] == "neutral"


def test_text_change_needs_attention(store: ReviewStore) -> None:
    store.record("kim", "p1", "h1", "leadership", "reject")
    store.record("kim", "p9", "h9", "governance", "add", polarity="success")
    passages = [passage("p1", "h1-new")]
    att = needs_attention(passages, store).set_index("passage_id")
    assert att.loc["p1", "problem"] == "text_changed" and att.loc["p1", "current_text_hash"] == "h1-new"
    assert att.loc["p9", "problem"] == "missing_passage" and att.loc["p9", "reanchored_to"] is None
    # The stale rejection is not applied to the changed text: the auto code stays.
    codes = merge([auto("p1", ("leadership", "success"))], passages, store)[0]["codes"]
    assert codes[0]["source"] == "auto"
    assert needs_attention([passage("p1", "h1"), passage("p9", "h9")], store).empty


def test_id_change_same_hash_is_reanchored(store: ReviewStore) -> None:
    store.record("kim", "old1", "h1", "leadership", "reject")
    store.record("kim", "old1", "h1", "governance", "add", polarity="obstacle", memo="협업 부재")
    store.record("kim", "old1", "h1", None, "memo", memo="옮겨짐")
    passages = [passage("new1", "h1", "같은 본문"), passage("p2", "h2")]
    att = needs_attention(passages, store)
    assert set(att["reanchored_to"]) == {"new1"} and len(att) == 3
    entry = merge([auto("new1", ("leadership", "success"))], passages, store)[0]
    assert [(c["category"], c["source"], c["memo"]) for c in entry["codes"]] == [
        ("governance", "human", "협업 부재")
    ]
    assert entry["memo"] == "옮겨짐"
    # A decision made directly on the new id wins over the carried-over one.
    store.record("lee", "new1", "h1", "leadership", "accept", polarity="success")
    entry = merge([auto("new1", ("leadership", "success"))], passages, store)[0]
    assert {c["category"]: c["reviewer"] for c in entry["codes"]}["leadership"] == "lee"


def test_ambiguous_hash_is_not_reanchored(store: ReviewStore) -> None:
    store.record("kim", "old1", "h1", "leadership", "add", polarity="success")
    passages = [passage("a", "h1"), passage("b", "h1")]
    att = needs_attention(passages, store)
    assert att.loc[0, "candidates"] == 2 and att.loc[0, "reanchored_to"] is None
    assert all(not e["codes"] for e in merge([], passages, store))


def test_training_examples(store: ReviewStore) -> None:
    store.record("kim", "p1", "h1", "leadership", "accept", polarity="success")
    store.record("kim", "p1", "h1", "governance", "reject", polarity="neutral")
    store.record("kim", "p1", "h1", "ict_level", "memo", memo="보류")
    store.record("kim", "gone", "hx", "ict_level", "add", polarity="obstacle")
    ex = training_examples([passage("p1", "h1", "단체장의 의지")], store)
    assert ex[["text", "category", "polarity", "label"]].values.tolist() == [
        ["단체장의 의지", "governance", "neutral", 0],
        ["단체장의 의지", "leadership", "success", 1],
    ]


def _writer(target: str | ReviewStore, coder: str, n: int, barrier) -> None:
    s = target if isinstance(target, ReviewStore) else ReviewStore(target)
    barrier.wait()
    actions = ["accept", "reject", "add", "set_polarity", "memo"]
    for i in range(n):
        action = actions[i % len(actions)]
        s.record(
            coder, f"p{i % 7}", f"h{i % 7}", CATS[i % len(CATS)], action,
            polarity="obstacle" if action in ("add", "set_polarity") else None, memo=f"{coder}:{i}",
        )  # fmt: skip


def _assert_consistent(s: ReviewStore, coders: list[str], n: int) -> None:
    log = s.log()
    assert len(log) == len(coders) * n
    assert set(log["memo"]) == {f"{c}:{i}" for c in coders for i in range(n)}
    assert log["id"].is_unique and log["ts"].is_monotonic_increasing
    last = log.groupby(["passage_id", "category"]).tail(1).set_index(["passage_id", "category"])
    cur = s.current().set_index(["passage_id", "category"]).sort_index()
    assert len(cur) == len(last)
    for key, row in cur.iterrows():
        assert row["decision_id"] == last.loc[key, "id"]
        state = {k: None if pd.isna(row[k]) else row[k] for k in ("status", "polarity", "memo")}
        assert state == last.loc[key, "after"]


def test_concurrent_processes_lose_nothing(tmp_path) -> None:
    path = str(tmp_path / "shared.sqlite")  # fresh file: schema creation races too
    coders, n = ["c1", "c2", "c3", "c4"], 200
    ctx = mp.get_context("fork")
    barrier = ctx.Barrier(len(coders))
    procs = [ctx.Process(target=_writer, args=(path, c, n, barrier)) for c in coders]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0] * len(coders)
    s = ReviewStore(path)
    assert s.journal_mode() == "wal"
    _assert_consistent(s, coders, n)


def test_concurrent_threads_share_one_store(tmp_path) -> None:
    s = ReviewStore(tmp_path / "threads.sqlite")
    coders, n = ["t1", "t2", "t3"], 60
    barrier = threading.Barrier(len(coders))
    threads = [threading.Thread(target=_writer, args=(s, c, n, barrier)) for c in coders]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    _assert_consistent(s, coders, n)


def test_locked_database_is_one_line_error(store: ReviewStore, monkeypatch) -> None:
    store.record("kim", "p1", "h1", "leadership", "accept")
    monkeypatch.setattr("kb.reviews_store.BUSY_TIMEOUT_S", 0.2)
    holder = sqlite3.connect(store.path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    with pytest.raises(KbError, match="stayed locked") as err:
        store.record("lee", "p1", "h1", "leadership", "reject")
    assert "\n" not in str(err.value)
    assert len(store.log()) == 1  # readers are not blocked by a writer in WAL mode
    holder.execute("ROLLBACK")
    holder.close()
    store.record("lee", "p1", "h1", "leadership", "reject")
    assert store.current()["status"].tolist() == ["rejected"]


def test_not_a_database_is_kb_error(tmp_path) -> None:
    bad = tmp_path / "bad.sqlite"
    bad.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(KbError, match="cannot use reviews database"):
        ReviewStore(bad).current()


def test_newer_schema_is_refused(tmp_path) -> None:
    path = tmp_path / "future.sqlite"
    con = sqlite3.connect(path)
    con.execute("PRAGMA user_version = 99")
    con.close()
    with pytest.raises(KbError, match="schema version 99"):
        ReviewStore(path).log()
