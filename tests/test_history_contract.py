"""One contract suite for every HistoryStore (as Flower's linkstate_test.py does for LinkState).

A new backend (PostgreSQL for a larger deployment) subclasses :class:`HistoryStoreContract`
and implements ``make_store``; it is correct for koepel when the whole suite passes.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from aggregator import (
    HistoryConflictError,
    HistoryStore,
    MemoryHistory,
    NodeOutcome,
    ReceiptBook,
    SqliteHistory,
)
from tests.fake_nodes import sample_result


class HistoryStoreContract:
    """The behaviour every history store must have."""

    def make_store(self, tmp_path: Path) -> HistoryStore:
        raise NotImplementedError

    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[HistoryStore]:
        store = self.make_store(tmp_path)
        yield store
        store.close()

    def test_a_saved_result_comes_back_whole_with_its_receipts(self, store: HistoryStore) -> None:
        result = sample_result("r1")
        store.save(result)
        loaded = store.get("r1")
        assert loaded is not None
        assert loaded.to_json() == result.to_json()
        assert loaded.receipts == result.receipts
        assert math.isnan(loaded.cells[1].estimate) and loaded.cells[1].standard_error == math.inf
        assert loaded.nodes[1].outcome is NodeOutcome.BUDGET_EXHAUSTED

    def test_an_unknown_id_is_none(self, store: HistoryStore) -> None:
        assert store.get("nope") is None

    def test_recent_lists_newest_first_without_receipts(self, store: HistoryStore) -> None:
        for i in range(5):
            store.save(sample_result(f"r{i}"))
        assert [r.result_id for r in store.recent(3)] == ["r4", "r3", "r2"]
        assert [r.result_id for r in store.recent(3, offset=3)] == ["r1", "r0"]
        assert all(r.receipts == () for r in store.recent(10))
        assert [r.result_id for r in store.recent(0)] == ["r4"]  # at least one

    def test_a_reused_id_is_refused_and_changes_nothing(self, store: HistoryStore) -> None:
        store.save(sample_result("r1", receipts=1))
        with pytest.raises(HistoryConflictError):
            store.save(sample_result("r1", receipts=3, created_at="2030-01-01T00:00:00+00:00"))
        loaded = store.get("r1")
        assert loaded is not None and len(loaded.receipts) == 1
        assert loaded.created_at.startswith("2025")

    def test_results_are_found_by_query_id_oldest_first(self, store: HistoryStore) -> None:
        store.save(sample_result("q1", query_id="q1"))
        store.save(sample_result("other"))
        store.save(sample_result("again", query_id="q1"))
        assert [r.result_id for r in store.by_query("q1")] == ["q1", "again"]
        assert store.by_query("unknown") == []

    def test_last_contact_only_moves_forward(self, store: HistoryStore) -> None:
        assert dict(store.last_contacts()) == {}
        store.record_contact("n0", "2025-06-01T10:00:00.000+00:00")
        store.record_contact("n0", "2025-06-01T09:00:00.000+00:00")
        store.record_contact("n1", "2025-06-02T08:00:00.000+00:00")
        store.record_contact("n1", "2025-06-02T08:30:00.000+00:00")
        assert dict(store.last_contacts()) == {"n0": "2025-06-01T10:00:00.000+00:00",
                                               "n1": "2025-06-02T08:30:00.000+00:00"}

    def test_a_querys_contacts_are_recorded_together(self, store: HistoryStore) -> None:
        store.record_contact("n0", "2025-06-03T10:00:00.000+00:00")
        store.record_contacts(["n0", "n1", "n2"], "2025-06-02T10:00:00.000+00:00")
        store.record_contacts([], "2025-06-04T10:00:00.000+00:00")
        assert dict(store.last_contacts()) == {"n0": "2025-06-03T10:00:00.000+00:00",
                                               "n1": "2025-06-02T10:00:00.000+00:00",
                                               "n2": "2025-06-02T10:00:00.000+00:00"}

    def test_results_without_receipts_are_stored_too(self, store: HistoryStore) -> None:
        store.save(sample_result("bare", receipts=0))
        loaded = store.get("bare")
        assert loaded is not None and loaded.receipts == ()


class TestSqliteFile(HistoryStoreContract):
    def make_store(self, tmp_path: Path) -> HistoryStore:
        return SqliteHistory(tmp_path / "history.db")

    def test_history_survives_a_restart(self, tmp_path: Path) -> None:
        first = SqliteHistory(tmp_path / "history.db")
        first.save(sample_result("r1"))
        first.record_contact("n0", "2025-06-01T10:00:00.000+00:00")
        first.close()
        second = SqliteHistory(tmp_path / "history.db")
        try:
            loaded = second.get("r1")
            assert loaded is not None and len(loaded.receipts) == 2
            assert dict(second.last_contacts()) == {"n0": "2025-06-01T10:00:00.000+00:00"}
        finally:
            second.close()

    @pytest.mark.parametrize("book_first", [True, False])
    def test_the_receipt_book_shares_the_file(self, tmp_path: Path, book_first: bool) -> None:
        """One history file: results with each node's response (``node_answers``) and the
        ReceiptBook's signed receipts, heads and flags, opened in either order."""
        path = tmp_path / "history.db"
        book = ReceiptBook(path) if book_first else None
        store = SqliteHistory(path)
        book = book or ReceiptBook(path)
        try:
            store.save(sample_result("r1"))
            loaded = store.get("r1")
            assert loaded is not None and len(loaded.receipts) == 2
            assert book.receipts() == [] and book.flags() == [] and book.head("n0") is None
        finally:
            store.close()
            book.close()
        conn = sqlite3.connect(path)
        try:
            tables = {row[0] for row in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")}
        finally:
            conn.close()
        assert {"results", "node_answers", "node_contacts", "receipts", "node_heads",
                "node_flags"} <= tables

    def test_a_first_version_history_file_is_migrated(self, tmp_path: Path) -> None:
        path = tmp_path / "old.db"
        conn = sqlite3.connect(path)
        conn.execute("CREATE TABLE results (seq INTEGER PRIMARY KEY, result_id TEXT UNIQUE"
                     " NOT NULL, created_at TEXT NOT NULL, body TEXT NOT NULL)")
        old = replace(sample_result("old", receipts=0), query_id="")
        conn.execute("INSERT INTO results (result_id, created_at, body) VALUES (?, ?, ?)",
                     ("old", old.created_at, old.to_json()))
        conn.commit()
        conn.close()
        store = SqliteHistory(path)
        try:
            assert [r.result_id for r in store.by_query("old")] == ["old"]
            store.save(sample_result("new"))
            assert [r.result_id for r in store.recent(5)] == ["new", "old"]
        finally:
            store.close()


class TestSqliteInMemory(HistoryStoreContract):
    def make_store(self, tmp_path: Path) -> HistoryStore:
        return SqliteHistory(":memory:")


class TestMemoryHistory(HistoryStoreContract):
    def make_store(self, tmp_path: Path) -> HistoryStore:
        return MemoryHistory()
