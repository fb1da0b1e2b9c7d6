"""The aggregator's history: every sector result, its receipts, and when each node last replied.

A result's receipts are its nodes' responses exactly as received (``node_answers``); the signed
receipts inside them are checked on arrival and also kept per node by
:class:`aggregator.receipts.ReceiptBook`, in the same file (tables ``receipts``, ``node_heads``,
``node_flags``), which is what ``koepel audit verify --history`` reads.

Results are already differentially private, so re-showing them costs no budget. The store sits
behind :class:`HistoryStore` so that a larger deployment can put PostgreSQL behind the same
contract; ``tests/test_history_contract.py`` runs one contract suite against every
implementation (SQLite on disk, SQLite in memory, the in-process :class:`MemoryHistory`).

Saving is atomic: a result and all its receipts are written in one transaction, or nothing is.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Protocol

from aggregator.results import NodeReceipt, SectorResult

__all__ = ["HistoryConflictError", "HistoryStore", "MemoryHistory", "SqliteHistory"]


class HistoryConflictError(Exception):
    """A result with this id is already stored (results are never overwritten)."""


class HistoryStore(Protocol):
    def save(self, result: SectorResult, contacts: Sequence[str] = ()) -> None:
        """Store ``result`` and its receipts, and the ``contacts`` (nodes that replied) at its
        time, in one write; raise :class:`HistoryConflictError` on a reused id."""
        ...

    def get(self, result_id: str) -> SectorResult | None:
        """One result with its receipts, or None."""
        ...

    def recent(self, limit: int, offset: int = 0) -> list[SectorResult]:
        """The newest results first, without receipts."""
        ...

    def by_query(self, query_id: str) -> list[SectorResult]:
        """Every result asked with ``query_id`` (a first ask and its re-asks), oldest first."""
        ...

    def record_contact(self, node_id: str, at: str) -> None:
        """Remember that ``node_id`` replied at ``at`` (ISO 8601 UTC); never moves back in time."""
        ...

    def record_contacts(self, node_ids: Sequence[str], at: str) -> None:
        """``record_contact`` for several nodes at once (one write)."""
        ...

    def last_contacts(self) -> Mapping[str, str]:
        """Each node's last reply time."""
        ...

    def close(self) -> None: ...


_SCHEMA_VERSION = 1
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS results (seq INTEGER PRIMARY KEY, result_id TEXT UNIQUE NOT NULL,"
    " created_at TEXT NOT NULL, body TEXT NOT NULL)",
    # Each node's response as received, per result. (The signed receipts inside them are also
    # kept per node, in ``receipts``, by aggregator.receipts.ReceiptBook in this same file.)
    "CREATE TABLE IF NOT EXISTS node_answers (result_id TEXT NOT NULL, node_id TEXT NOT NULL,"
    " query_id TEXT NOT NULL, received_at TEXT NOT NULL, response BLOB NOT NULL,"
    " PRIMARY KEY (result_id, node_id))",
    "CREATE TABLE IF NOT EXISTS node_contacts (node_id TEXT PRIMARY KEY,"
    " last_contact TEXT NOT NULL)",
)
_MIGRATIONS = {
    # version 0 (the first skeleton) had only `results`, without query ids.
    1: ("ALTER TABLE results ADD COLUMN query_id TEXT NOT NULL DEFAULT ''",
        "UPDATE results SET query_id = result_id WHERE query_id = ''",
        "CREATE INDEX IF NOT EXISTS results_by_query ON results (query_id)"),
}


class SqliteHistory:
    """History in one SQLite file (or ``:memory:``)."""

    def __init__(self, path: Path | str) -> None:
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode = WAL")
        self._conn.execute("PRAGMA busy_timeout = 5000")
        self._migrate()

    def _migrate(self) -> None:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                for statement in _SCHEMA:
                    self._conn.execute(statement)
                version = int(self._conn.execute("PRAGMA user_version").fetchone()[0])
                if version > _SCHEMA_VERSION:
                    raise RuntimeError(f"history schema version {version} is newer than this "
                                       "koepel; upgrade koepel")
                for target in range(version + 1, _SCHEMA_VERSION + 1):
                    for statement in _MIGRATIONS[target]:
                        self._conn.execute(statement)
                self._conn.execute(f"PRAGMA user_version = {_SCHEMA_VERSION}")
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise

    def save(self, result: SectorResult, contacts: Sequence[str] = ()) -> None:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")  # one durable write for a query
            try:
                self._contacts(contacts, result.created_at)
                self._conn.execute(
                    "INSERT INTO results (result_id, query_id, created_at, body)"
                    " VALUES (?, ?, ?, ?)",
                    (result.result_id, result.query_id or result.result_id, result.created_at,
                     result.to_json()),
                )
                self._conn.executemany(
                    "INSERT INTO node_answers (result_id, node_id, query_id, received_at,"
                    " response)"
                    " VALUES (?, ?, ?, ?, ?)",
                    [(result.result_id, r.node_id, r.query_id, r.received_at, r.response)
                     for r in result.receipts],
                )
                self._conn.execute("COMMIT")
            except sqlite3.IntegrityError:
                self._conn.execute("ROLLBACK")
                raise HistoryConflictError(
                    f"a result with id {result.result_id!r} is already stored") from None
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise

    def get(self, result_id: str) -> SectorResult | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT body FROM results WHERE result_id = ?", (result_id,)
            ).fetchone()
            if row is None:
                return None
            receipts = self._conn.execute(
                "SELECT node_id, query_id, received_at, response FROM node_answers"
                " WHERE result_id = ? ORDER BY rowid", (result_id,)
            ).fetchall()
        return SectorResult.from_json(row[0], tuple(
            NodeReceipt(r[0], r[1], r[2], bytes(r[3])) for r in receipts))

    def recent(self, limit: int, offset: int = 0) -> list[SectorResult]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT body FROM results ORDER BY seq DESC LIMIT ? OFFSET ?",
                (max(1, limit), max(0, offset)),
            ).fetchall()
        return [SectorResult.from_json(r[0]) for r in rows]

    def by_query(self, query_id: str) -> list[SectorResult]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT body FROM results WHERE query_id = ? ORDER BY seq", (query_id,)
            ).fetchall()
        return [SectorResult.from_json(r[0]) for r in rows]

    def record_contact(self, node_id: str, at: str) -> None:
        self.record_contacts([node_id], at)

    def _contacts(self, node_ids: Sequence[str], at: str) -> None:
        """Inside the caller's transaction: each node's last contact, never moved back."""
        self._conn.executemany(
            "INSERT INTO node_contacts (node_id, last_contact) VALUES (?, ?)"
            " ON CONFLICT (node_id) DO UPDATE SET last_contact = excluded.last_contact"
            " WHERE excluded.last_contact > node_contacts.last_contact",
            [(node_id, at) for node_id in node_ids],
        )

    def record_contacts(self, node_ids: Sequence[str], at: str) -> None:
        if not node_ids:
            return
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")  # one durable write for a query's nodes
            try:
                self._contacts(node_ids, at)
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise

    def last_contacts(self) -> Mapping[str, str]:
        with self._lock:
            rows = self._conn.execute("SELECT node_id, last_contact FROM node_contacts")
            return {node_id: at for node_id, at in rows}

    def close(self) -> None:
        with self._lock:
            self._conn.close()


class MemoryHistory:
    """History kept in the process only (tests, one-off scripts); the same contract."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._results: dict[str, tuple[str, str, tuple[NodeReceipt, ...]]] = {}
        self._contacts: dict[str, str] = {}

    def save(self, result: SectorResult, contacts: Sequence[str] = ()) -> None:
        body = result.to_json()  # serialise first: a failure must store nothing
        with self._lock:
            if result.result_id in self._results:
                raise HistoryConflictError(
                    f"a result with id {result.result_id!r} is already stored")
            self._results[result.result_id] = (result.query_id or result.result_id, body,
                                               result.receipts)
        self.record_contacts(contacts, result.created_at)

    def get(self, result_id: str) -> SectorResult | None:
        with self._lock:
            entry = self._results.get(result_id)
        return SectorResult.from_json(entry[1], entry[2]) if entry else None

    def recent(self, limit: int, offset: int = 0) -> list[SectorResult]:
        with self._lock:
            bodies = [body for _, body, _ in self._results.values()]
        newest = bodies[::-1][max(0, offset):max(0, offset) + max(1, limit)]
        return [SectorResult.from_json(body) for body in newest]

    def by_query(self, query_id: str) -> list[SectorResult]:
        with self._lock:
            bodies = [body for qid, body, _ in self._results.values() if qid == query_id]
        return [SectorResult.from_json(body) for body in bodies]

    def record_contact(self, node_id: str, at: str) -> None:
        with self._lock:
            if at > self._contacts.get(node_id, ""):
                self._contacts[node_id] = at

    def record_contacts(self, node_ids: Sequence[str], at: str) -> None:
        for node_id in node_ids:
            self.record_contact(node_id, at)

    def last_contacts(self) -> Mapping[str, str]:
        with self._lock:
            return dict(self._contacts)

    def close(self) -> None:
        pass
