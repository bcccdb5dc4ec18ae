"""SQLite store for coders' review decisions, so that no human decision is ever lost.

Every decision is appended to the `decisions` log (triggers forbid UPDATE/DELETE) and, in the
same `BEGIN IMMEDIATE` transaction, folded into the current-state tables `codes_current`
(passage_id, category) and `passage_memos` (passage_id). Each call opens its own short-lived
connection, so one store object is safe across threads, forked processes and Streamlit reruns;
WAL mode plus a busy timeout lets several coders write at the same time without losing rows.
"""

from __future__ import annotations

import json
import random
import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from kb.errors import ReviewError
from kb.review.rules import ACTIONS, STATUSES, Decision, next_code_state

SCHEMA_VERSION = 2  # 2: the "resolve" action (adjudication)
BUSY_TIMEOUT_S = 10.0
LOG_COLUMNS = [
    "id",
    "ts",
    "coder",
    "passage_id",
    "text_hash",
    "category",
    "action",
    "before",
    "after",
    "memo",
]
CURRENT_COLUMNS = [
    "passage_id",
    "category",
    "status",
    "polarity",
    "coder",
    "ts",
    "text_hash",
    "memo",
    "decision_id",
]
MEMO_COLUMNS = ["passage_id", "memo", "coder", "ts", "text_hash", "decision_id"]

_DECISIONS = f"""(
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  ts TEXT NOT NULL, coder TEXT NOT NULL, passage_id TEXT NOT NULL, text_hash TEXT NOT NULL,
  category TEXT, action TEXT NOT NULL CHECK (action IN {ACTIONS}),
  before TEXT, after TEXT, memo TEXT)"""
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS decisions {_DECISIONS};
CREATE INDEX IF NOT EXISTS decisions_passage ON decisions (passage_id);
CREATE TRIGGER IF NOT EXISTS decisions_no_update BEFORE UPDATE ON decisions
  BEGIN SELECT RAISE(ABORT, 'decisions log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS decisions_no_delete BEFORE DELETE ON decisions
  BEGIN SELECT RAISE(ABORT, 'decisions log is append-only'); END;
CREATE TABLE IF NOT EXISTS codes_current (
  passage_id TEXT NOT NULL, category TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN {STATUSES}), polarity TEXT,
  coder TEXT NOT NULL, ts TEXT NOT NULL, text_hash TEXT NOT NULL, memo TEXT,
  decision_id INTEGER NOT NULL REFERENCES decisions (id),
  PRIMARY KEY (passage_id, category));
CREATE TABLE IF NOT EXISTS passage_memos (
  passage_id TEXT PRIMARY KEY, memo TEXT NOT NULL,
  coder TEXT NOT NULL, ts TEXT NOT NULL, text_hash TEXT NOT NULL,
  decision_id INTEGER NOT NULL REFERENCES decisions (id));
"""

# SQLite cannot alter a CHECK constraint: the log is copied row for row (ids kept) into a table
# that allows the new actions, in the same transaction; its index and triggers are made anew.
_WIDEN_ACTIONS = f"""
CREATE TABLE decisions_widened {_DECISIONS};
INSERT INTO decisions_widened SELECT id, ts, coder, passage_id, text_hash, category, action, before, after,
  memo FROM decisions ORDER BY id;
DROP TABLE decisions;
ALTER TABLE decisions_widened RENAME TO decisions;
"""


def _statements(script: str) -> Iterator[str]:
    """The statements of a script (a trigger's body keeps its inner semicolons): `executescript`
    would commit the open transaction first."""
    pending = ""
    for part in script.split(";"):
        pending += part + ";"
        if sqlite3.complete_statement(pending):
            if pending.strip(" \n;"):
                yield pending.strip()
            pending = ""


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def _dump(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True)


def _load(value: str | None) -> Any:
    return None if value is None else json.loads(value)


class ReviewStore:
    """Append-only decision log plus current state in one SQLite file (WAL mode)."""

    def __init__(self, path: str | Path | None = None, valid_categories: Iterable[str] | None = None):
        if path is None:
            from kb.settings import get_settings

            path = get_settings().reviews_db
        self.path = Path(path)
        self.valid_categories = frozenset(valid_categories) if valid_categories is not None else None
        self._ready = False

    # -- connection and schema ---------------------------------------------------------------
    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        con = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        try:
            con.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
            if not self._ready:
                self._init_schema(con)
                self._ready = True
            yield con
        except sqlite3.DatabaseError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                msg = f"reviews database {self.path} stayed locked for {BUSY_TIMEOUT_S:.0f} s; try again"
            else:
                msg = f"cannot use reviews database {self.path}: {exc}"
            raise ReviewError(msg) from exc
        finally:
            con.close()

    def _init_schema(self, con: sqlite3.Connection) -> None:
        self._ensure_wal(con)
        version = con.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise ReviewError(
                f"{self.path} has schema version {version}; this kb understands {SCHEMA_VERSION}"
            )
        if version == SCHEMA_VERSION:
            return
        if version > 0:  # an upgrade: keep a snapshot of the old schema first
            from kb.review.backup import backup_db
            from kb.settings import get_settings

            backup_db(self.path, self.path.parent / "reviews-backups", get_settings().reviews_backups,
                      f"schema-v{version}", force=True)  # fmt: skip
        # One IMMEDIATE transaction: racing first users wait, and whoever comes second finds the
        # version already current (read again under the lock) and changes nothing.
        con.execute("BEGIN IMMEDIATE")
        try:
            version = con.execute("PRAGMA user_version").fetchone()[0]
            if version < SCHEMA_VERSION:
                for statement in _statements((_WIDEN_ACTIONS if 0 < version < 2 else "") + _SCHEMA):
                    con.execute(statement)
                con.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            con.execute("COMMIT")
        except BaseException:
            if con.in_transaction:
                con.execute("ROLLBACK")
            raise

    def _ensure_wal(self, con: sqlite3.Connection) -> None:
        # Switching to WAL needs an exclusive lock and SQLite may refuse at once instead of calling
        # the busy handler when first users race, so retry here (WAL then persists in the file).
        deadline = time.monotonic() + BUSY_TIMEOUT_S
        while True:
            try:
                mode = con.execute("PRAGMA journal_mode").fetchone()[0]
                if mode.lower() != "wal":
                    mode = con.execute("PRAGMA journal_mode = WAL").fetchone()[0]
                break
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(random.uniform(0.005, 0.05))
        if mode.lower() != "wal":
            raise ReviewError(f"cannot switch {self.path} to WAL mode (got {mode!r})")

    def schema_version(self) -> int:
        with self._connect() as con:
            return con.execute("PRAGMA user_version").fetchone()[0]

    def journal_mode(self) -> str:
        with self._connect() as con:
            return con.execute("PRAGMA journal_mode").fetchone()[0]

    # -- writing -----------------------------------------------------------------------------
    def record(
        self,
        coder: str,
        passage_id: str,
        text_hash: str,
        category: str | None,
        action: str,
        polarity: str | None = None,
        memo: str | None = None,
        before: dict | None = None,
        valid_categories: Iterable[str] | None = None,
    ) -> int:
        """Append one decision and update the current state atomically; returns the decision id.

        `before` is the code as the coder saw it (e.g. the auto suggestion); when absent the previous
        current state is logged instead. Accepting without a polarity keeps `before`'s polarity.
        """
        valid = frozenset(valid_categories) if valid_categories is not None else self.valid_categories
        d = Decision((coder or "").strip(), passage_id, text_hash, category, action, polarity, memo, before)
        d.check(valid)
        with self._connect() as con:
            con.execute("BEGIN IMMEDIATE")
            try:
                decision_id = self._write(con, d)
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
        return decision_id

    @staticmethod
    def _write(con: sqlite3.Connection, d: Decision) -> int:
        ts = _now()  # taken under the write lock, so ts order equals id order
        if d.is_passage_memo:
            row = con.execute(
                "SELECT memo FROM passage_memos WHERE passage_id = ?", (d.passage_id,)
            ).fetchone()
            prev, after = ({"memo": row[0]} if row else None), {"memo": d.memo}
        else:
            row = con.execute(
                "SELECT status, polarity, memo FROM codes_current WHERE passage_id = ? AND category = ?",
                (d.passage_id, d.category),
            ).fetchone()
            prev = dict(zip(("status", "polarity", "memo"), row, strict=True)) if row else None
            after = next_code_state(d.action, prev, d.polarity, d.memo, d.before)
        logged_before = _dump(d.before if d.before is not None else prev)
        cur = con.execute(
            "INSERT INTO decisions (ts, coder, passage_id, text_hash, category, action, before, after, memo)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                ts,
                d.coder,
                d.passage_id,
                d.text_hash,
                d.category,
                d.action,
                logged_before,
                _dump(after),
                d.memo,
            ),
        )
        decision_id = int(cur.lastrowid)
        if d.is_passage_memo:
            con.execute(
                "INSERT OR REPLACE INTO passage_memos VALUES (?, ?, ?, ?, ?, ?)",
                (d.passage_id, d.memo, d.coder, ts, d.text_hash, decision_id),
            )
        else:
            con.execute(
                "INSERT OR REPLACE INTO codes_current VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (d.passage_id, d.category, after["status"], after["polarity"], d.coder, ts, d.text_hash,
                 after["memo"], decision_id),
            )  # fmt: skip
        return decision_id

    # -- reading -----------------------------------------------------------------------------
    def _frame(self, sql: str, params: Iterable[Any], columns: list[str], json_cols=()) -> pd.DataFrame:
        with self._connect() as con:
            rows = con.execute(sql, tuple(params)).fetchall()
        if json_cols:
            at = [columns.index(c) for c in json_cols]
            rows = [tuple(_load(v) if i in at else v for i, v in enumerate(r)) for r in rows]
        return pd.DataFrame(rows, columns=columns)

    @staticmethod
    def _in(column: str, values: Iterable[str] | None) -> tuple[str, list[str]]:
        if values is None:
            return "", []
        values = list(values)
        return f" AND {column} IN ({','.join('?' * len(values))})", values

    def current(self, passage_ids: Iterable[str] | None = None) -> pd.DataFrame:
        """Current status of every decided (passage, category)."""
        where, params = self._in("passage_id", passage_ids)
        sql = f"SELECT {', '.join(CURRENT_COLUMNS)} FROM codes_current WHERE 1=1{where}"
        sql += " ORDER BY passage_id, category"
        return self._frame(sql, params, CURRENT_COLUMNS)

    def passage_memos(self, passage_ids: Iterable[str] | None = None) -> pd.DataFrame:
        where, params = self._in("passage_id", passage_ids)
        sql = f"SELECT {', '.join(MEMO_COLUMNS)} FROM passage_memos WHERE 1=1{where} ORDER BY passage_id"
        return self._frame(sql, params, MEMO_COLUMNS)

    def log(
        self,
        passage_ids: Iterable[str] | None = None,
        coder: str | None = None,
        since: str | None = None,
        limit: int | None = None,
    ) -> pd.DataFrame:
        """The decision log in write order; `before`/`after` are parsed back from JSON."""
        where, params = self._in("passage_id", passage_ids)
        if coder is not None:
            where, params = where + " AND coder = ?", [*params, coder]
        if since is not None:
            where, params = where + " AND ts >= ?", [*params, since]
        sql = f"SELECT {', '.join(LOG_COLUMNS)} FROM decisions WHERE 1=1{where} ORDER BY id"
        if limit is not None:
            sql, params = sql + " LIMIT ?", [*params, int(limit)]
        return self._frame(sql, params, LOG_COLUMNS, json_cols=("before", "after"))

    def version(self) -> int:
        """Id of the newest decision (0 when none): cached merges are valid while it is unchanged."""
        with self._connect() as con:
            return int(con.execute("SELECT COALESCE(MAX(id), 0) FROM decisions").fetchone()[0])

    def recent_coders(self) -> list[str]:
        """Names that have recorded decisions, the most recent first (the review page offers the first)."""
        sql = "SELECT coder FROM decisions GROUP BY coder ORDER BY MAX(id) DESC"
        with self._connect() as con:
            return [r[0] for r in con.execute(sql)]

    def reviewed_passage_ids(self) -> set[str]:
        with self._connect() as con:
            return {r[0] for r in con.execute("SELECT DISTINCT passage_id FROM decisions")}

    def merge_decisions(self, rows: Iterable[dict[str, Any]]) -> int:
        """Add decisions recorded elsewhere, keeping their coder and time; returns how many were new.

        A decision already in the log (same time, coder, passage, category, action) is skipped, so
        importing a file twice adds nothing. The current state of every code and memo touched
        becomes that of its latest decision by time, as if all had been recorded in time order.
        """
        with self._connect() as con:
            con.execute("BEGIN IMMEDIATE")
            try:
                added = self._merge(con, list(rows))
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
        return added

    @staticmethod
    def _merge(con: sqlite3.Connection, rows: list[dict[str, Any]]) -> int:
        seen = set(con.execute("SELECT ts, coder, passage_id, COALESCE(category, ''), action FROM decisions"))
        touched: set[tuple[str, str | None]] = set()
        added = 0
        for r in sorted(rows, key=lambda r: r["ts"]):
            key = (r["ts"], r["coder"], r["passage_id"], r.get("category") or "", r["action"])
            if key in seen:
                continue
            seen.add(key)
            con.execute(
                "INSERT INTO decisions (ts, coder, passage_id, text_hash, category, action, before, after,"
                " memo) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (r["ts"], r["coder"], r["passage_id"], r["text_hash"], r.get("category"), r["action"],
                 _dump(r.get("before")), _dump(r.get("after")), r.get("memo")),
            )  # fmt: skip
            touched.add((r["passage_id"], r.get("category") or None))
            added += 1
        for pid, cat in sorted(touched, key=lambda t: (t[0], t[1] or "")):
            if cat is None:
                row = con.execute(
                    "SELECT id, ts, coder, text_hash, after FROM decisions WHERE passage_id = ? AND"
                    " category IS NULL AND action = 'memo' ORDER BY ts DESC, id DESC LIMIT 1",
                    (pid,),
                ).fetchone()
                after = _load(row[4]) or {}
                con.execute(
                    "INSERT OR REPLACE INTO passage_memos VALUES (?, ?, ?, ?, ?, ?)",
                    (pid, after.get("memo") or "", row[2], row[1], row[3], row[0]),
                )
                continue
            row = con.execute(
                "SELECT id, ts, coder, text_hash, after FROM decisions WHERE passage_id = ? AND category = ?"
                " ORDER BY ts DESC, id DESC LIMIT 1",
                (pid, cat),
            ).fetchone()
            after = _load(row[4]) or {}
            con.execute(
                "INSERT OR REPLACE INTO codes_current VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (pid, cat, after.get("status") or "noted", after.get("polarity"), row[2], row[1], row[3],
                 after.get("memo"), row[0]),
            )  # fmt: skip
        return added

    def coders(self) -> list[str]:
        with self._connect() as con:
            return [r[0] for r in con.execute("SELECT DISTINCT coder FROM decisions ORDER BY coder")]
