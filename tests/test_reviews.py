"""Review store and merge, on real SQLite files (including concurrent writer processes)."""

from __future__ import annotations

import multiprocessing as mp
import sqlite3
import threading

import pandas as pd
import pytest

from kb.errors import KbError
from kb.review.decisions import (
    SCHEMA_VERSION,
    ReviewStore,
    merge,
    needs_attention,
    open_store,
    training_examples,
)

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
    assert store.schema_version() == SCHEMA_VERSION
    assert store.current().empty and store.log().empty
    # A second store on the same file sees the same schema and does not recreate anything.
    assert ReviewStore(tmp_path / "reviews.sqlite").schema_version() == SCHEMA_VERSION


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
    assert store.recent_coders() == ["park", "kim", "lee"]  # the review page offers the latest


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
        "category": "leadership", "polarity": "success", "confidence": 1.0, "polarity_confidence": 1.0,
        "evidence": ["cue"], "source": "human", "reviewer": "kim", "memo": None, "also": {},
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
    monkeypatch.setattr("kb.review.store.BUSY_TIMEOUT_S", 0.2)
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


# ---- export / import / backups -----------------------------------------------------------------
def _cli(*args: str, data: object) -> object:
    from typer.testing import CliRunner

    from kb.cli.main import app

    return CliRunner().invoke(app, ["--data-dir", str(data), *args])


def _decide(s: ReviewStore, coder: str, n: int) -> None:
    for i in range(n):
        s.record(coder, f"p{i % 3}", f"h{i % 3}", CATS[i % len(CATS)], ("accept", "reject", "add")[i % 3],
                 polarity="success" if i % 3 == 2 else None, memo=f"{coder} {i}")  # fmt: skip
    s.record(coder, "p0", "h0", None, "memo", memo=f"{coder}의 메모")


def test_export_import_roundtrip_is_idempotent(tmp_path) -> None:
    from kb.review.transfer import import_files

    src = ReviewStore(tmp_path / "a" / "reviews.sqlite", valid_categories=CATS)
    _decide(src, "김연구", 7)
    out = tmp_path / "a.jsonl"
    result = _cli("reviews", "export", "-o", str(out), data=tmp_path / "a")
    assert result.exit_code == 0, result.output
    lines = out.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 8 and "김연구의 메모" in lines[-1]
    dst = ReviewStore(tmp_path / "b" / "reviews.sqlite", valid_categories=CATS)
    assert import_files(dst, [out]) == (8, 8)
    cols = ["ts", "coder", "passage_id", "text_hash", "category", "action", "memo"]
    pd.testing.assert_frame_equal(dst.log()[cols], src.log()[cols])
    assert dst.log()["after"].tolist() == src.log()["after"].tolist()
    pd.testing.assert_frame_equal(dst.current(), src.current())
    pd.testing.assert_frame_equal(dst.passage_memos(), src.passage_memos())
    version = dst.version()
    result = _cli("reviews", "import", str(out), str(out), data=tmp_path / "b")
    assert result.exit_code == 0 and "0 new" in result.output and dst.version() == version


def test_import_merges_coders_latest_decision_wins(tmp_path) -> None:
    from kb.review.transfer import import_files, write_export

    a = ReviewStore(tmp_path / "a.sqlite", valid_categories=CATS)
    b = ReviewStore(tmp_path / "b.sqlite", valid_categories=CATS)
    a.record("김", "p1", "h1", "leadership", "accept", polarity="success")
    b.record("이", "p1", "h1", "leadership", "reject")  # later: wins wherever the logs meet
    a.record("김", "p2", "h2", "governance", "add", polarity="obstacle")
    files = []
    for name, s in (("a", a), ("b", b)):
        files.append(tmp_path / f"{name}.jsonl")
        with files[-1].open("w", encoding="utf-8") as fh:
            write_export(s, fh)
    merged = ReviewStore(tmp_path / "m.sqlite", valid_categories=CATS)
    assert import_files(merged, reversed(files)) == (3, 3)  # file order does not matter
    assert import_files(a, [files[1]]) == (1, 1) and import_files(b, [files[0]]) == (2, 2)
    for s in (merged, a, b):
        cur = s.current().set_index(["passage_id", "category"])
        assert cur.loc[("p1", "leadership"), ["status", "coder"]].tolist() == ["rejected", "이"]
        assert cur.loc[("p2", "governance"), ["status", "polarity"]].tolist() == ["added", "obstacle"]
        assert sorted(s.coders()) == ["김", "이"] and len(s.log()) == 3


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("{not json", "Expecting property name"),
        ('["a list"]', "expected a JSON object"),
        (
            '{"ts": "2026-01-01T00:00:00+00:00", "coder": "", "passage_id": "p", "text_hash": "h", '
            '"category": "leadership", "action": "accept", "after": {"status": "accepted"}}',
            "coder name",
        ),
        (
            '{"ts": "yesterday", "coder": "김", "passage_id": "p", "text_hash": "h", '
            '"category": "leadership", "action": "accept", "after": {"status": "accepted"}}',
            "Invalid isoformat",
        ),
        (
            '{"ts": "2026-01-01T00:00:00+00:00", "coder": "김", "passage_id": "p", "text_hash": "h", '
            '"category": "made_up", "action": "accept", "after": {"status": "accepted"}}',
            "unknown category",
        ),
        (
            '{"ts": "2026-01-01T00:00:00+00:00", "coder": "김", "passage_id": "p", "text_hash": "h", '
            '"category": "leadership", "action": "accept", "after": {"status": "x"}}',
            "unknown status",
        ),
        (
            '{"ts": "2026-01-01T00:00:00+00:00", "coder": "김", "passage_id": "p", "text_hash": "h", '
            '"category": "leadership", "action": "drop table", "after": {}}',
            "unknown action",
        ),
        (  # a suggestion's fields belong to `before` (what the coder saw), never to the result
            '{"ts": "2026-01-01T00:00:00+00:00", "coder": "김", "passage_id": "p", "text_hash": "h", '
            '"category": "leadership", "action": "accept", "after": {"status": "accepted", "confidence": 1}}',
            "unexpected keys in after: ['confidence']",
        ),
        (
            '{"ts": "2026-01-01T00:00:00+00:00", "coder": "김", "passage_id": "p", "text_hash": "h", '
            '"category": "leadership", "action": "accept", "before": {"confidence": 7, "source": "auto"}, '
            '"after": {"status": "accepted"}}',
            "confidence must be a number from 0 to 1",
        ),
    ],
)
def test_bad_line_imports_nothing_with_one_line_error(tmp_path, line: str, problem: str) -> None:
    from kb.review.transfer import import_files

    good = ('{"ts": "2026-01-01T00:00:00+00:00", "coder": "김", "passage_id": "p", "text_hash": "h", '
            '"category": "leadership", "action": "accept", "after": {"status": "accepted"}}')  # fmt: skip
    path = tmp_path / "in.jsonl"
    path.write_text(f"{good}\n{line}\n", encoding="utf-8")
    s = ReviewStore(tmp_path / "r.sqlite", valid_categories=CATS)
    with pytest.raises(KbError) as err:
        import_files(s, [path])
    msg = str(err.value)
    assert "\n" not in msg and f"{path}:2:" in msg and problem in msg and "nothing imported" in msg
    assert s.log().empty


def test_backups_use_online_api_rotate_and_skip_unchanged(tmp_path) -> None:
    from kb.review.backup import backup_db, backups

    db = tmp_path / "reviews.sqlite"
    s = ReviewStore(db, valid_categories=CATS)
    dest = tmp_path / "bk"
    made = []
    for i in range(5):
        s.record("김", f"p{i}", "h", "leadership", "accept")
        made.append(backup_db(db, dest, keep=3, reason="build"))
        assert backup_db(db, dest, keep=3, reason="build") is None  # nothing new since
    assert backups(dest) == made[-3:]
    with sqlite3.connect(made[-1]) as con:  # a self-contained, consistent database
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert con.execute("SELECT COUNT(*) FROM decisions").fetchone()[0] == 5
    assert not made[0].exists() and ReviewStore(made[-3]).log()["passage_id"].tolist() == ["p0", "p1", "p2"]


def test_schema_upgrade_backs_up_first(tmp_path, monkeypatch) -> None:
    import kb.review.store as rs

    db = tmp_path / "reviews.sqlite"
    ReviewStore(db, valid_categories=CATS).record("김", "p", "h", "leadership", "accept")
    old = rs.SCHEMA_VERSION
    monkeypatch.setattr(rs, "SCHEMA_VERSION", old + 1)
    assert ReviewStore(db).schema_version() == rs.SCHEMA_VERSION
    (backup,) = (tmp_path / "reviews-backups").iterdir()
    assert f"schema-v{old}" in backup.name
    with sqlite3.connect(backup) as con:
        assert con.execute("SELECT coder FROM decisions").fetchall() == [("김",)]
        assert con.execute("PRAGMA user_version").fetchone()[0] == old


# The decisions table as kb wrote it before schema version 2 (no "resolve" action).
V1_SCHEMA = """
CREATE TABLE decisions (id INTEGER PRIMARY KEY AUTOINCREMENT, ts TEXT NOT NULL, coder TEXT NOT NULL,
  passage_id TEXT NOT NULL, text_hash TEXT NOT NULL, category TEXT,
  action TEXT NOT NULL CHECK (action IN ('accept', 'reject', 'add', 'set_polarity', 'memo')),
  before TEXT, after TEXT, memo TEXT);
CREATE INDEX decisions_passage ON decisions (passage_id);
CREATE TRIGGER decisions_no_update BEFORE UPDATE ON decisions
  BEGIN SELECT RAISE(ABORT, 'decisions log is append-only'); END;
CREATE TRIGGER decisions_no_delete BEFORE DELETE ON decisions
  BEGIN SELECT RAISE(ABORT, 'decisions log is append-only'); END;
CREATE TABLE codes_current (passage_id TEXT NOT NULL, category TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('accepted', 'rejected', 'added', 'noted')), polarity TEXT,
  coder TEXT NOT NULL, ts TEXT NOT NULL, text_hash TEXT NOT NULL, memo TEXT,
  decision_id INTEGER NOT NULL REFERENCES decisions (id), PRIMARY KEY (passage_id, category));
CREATE TABLE passage_memos (passage_id TEXT PRIMARY KEY, memo TEXT NOT NULL, coder TEXT NOT NULL,
  ts TEXT NOT NULL, text_hash TEXT NOT NULL, decision_id INTEGER NOT NULL REFERENCES decisions (id));
PRAGMA user_version = 1;
"""


def test_a_version_1_log_is_upgraded_in_place_and_keeps_every_decision(tmp_path) -> None:
    db = tmp_path / "reviews.sqlite"
    with sqlite3.connect(db) as con:
        con.executescript(V1_SCHEMA)
    with pytest.raises(sqlite3.IntegrityError):  # the old table refuses the new action
        with sqlite3.connect(db) as con:
            con.execute(
                "INSERT INTO decisions (ts, coder, passage_id, text_hash, action)"
                " VALUES ('t', 'a', 'p', 'h', 'resolve')"
            )
    with sqlite3.connect(db) as con:  # two decisions, as kb wrote them before
        for i, coder in enumerate(("김", "이"), 1):
            after = '{"memo": null, "polarity": "success", "status": "accepted"}'
            con.execute(
                "INSERT INTO decisions (ts, coder, passage_id, text_hash, category, action, after)"
                " VALUES (?, ?, 'p', 'h', 'leadership', 'accept', ?)",
                (f"2026-01-0{i}", coder, after),
            )
        con.execute(
            "INSERT INTO codes_current VALUES"
            " ('p', 'leadership', 'accepted', 'success', '이', '2026-01-02', 'h', NULL, 2)"
        )
    store = ReviewStore(db, valid_categories=CATS)
    assert store.schema_version() == SCHEMA_VERSION
    log = store.log()
    assert log["id"].tolist() == [1, 2] and log["coder"].tolist() == ["김", "이"]
    assert store.record("박", "p", "h", "leadership", "resolve", polarity="obstacle") == 3  # ids go on
    assert store.current()[["status", "polarity", "coder"]].values.tolist() == [["added", "obstacle", "박"]]
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):  # the new table keeps the guards
        with sqlite3.connect(db) as con:
            con.execute("DELETE FROM decisions")
    with sqlite3.connect(db) as con:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    (backup,) = (tmp_path / "reviews-backups").iterdir()  # the old file, untouched
    with sqlite3.connect(backup) as con:
        assert con.execute("PRAGMA user_version").fetchone()[0] == 1
        assert con.execute("SELECT coder FROM decisions ORDER BY id").fetchall() == [("김",), ("이",)]
