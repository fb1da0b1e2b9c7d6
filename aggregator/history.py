"""The aggregator's history of sector results.

Results are already differentially private, so re-showing them costs no budget. The store sits
behind :class:`HistoryStore` so that a larger deployment can put PostgreSQL behind the same
contract (tests run one contract suite against every implementation).
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Protocol

from aggregator.results import SectorResult

__all__ = ["HistoryStore", "SqliteHistory"]


class HistoryStore(Protocol):
    def save(self, result: SectorResult) -> None: ...

    def get(self, result_id: str) -> SectorResult | None: ...

    def recent(self, limit: int) -> list[SectorResult]: ...

    def close(self) -> None: ...


class SqliteHistory:
    """History in one SQLite file (or ``:memory:``)."""

    def __init__(self, path: Path | str) -> None:
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode = WAL")
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS results (seq INTEGER PRIMARY KEY, result_id TEXT UNIQUE"
            " NOT NULL, created_at TEXT NOT NULL, body TEXT NOT NULL)"
        )

    def save(self, result: SectorResult) -> None:
        with self._lock:
            self._conn.execute(
                "INSERT INTO results (result_id, created_at, body) VALUES (?, ?, ?)",
                (result.result_id, result.created_at, result.to_json()),
            )

    def get(self, result_id: str) -> SectorResult | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT body FROM results WHERE result_id = ?", (result_id,)
            ).fetchone()
        return SectorResult.from_json(row[0]) if row else None

    def recent(self, limit: int) -> list[SectorResult]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT body FROM results ORDER BY seq DESC LIMIT ?", (max(1, limit),)
            ).fetchall()
        return [SectorResult.from_json(r[0]) for r in rows]

    def close(self) -> None:
        with self._lock:
            self._conn.close()
