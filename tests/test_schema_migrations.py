"""Forward-only schema migrations, tested from every older version.

tests/schema_history/vK.sql is the frozen schema of version K, dumped when that version was
released. An old database is rebuilt from that frozen text (not from today's MIGRATIONS, which
could have been edited by mistake), filled with rows, and opened: it must migrate to exactly the
schema a fresh database gets, keep every row, and backfill what the new version adds.
"""

from __future__ import annotations

import os
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlcipher3

import node.store.database as store_module
from node import Store
from node.store.schema import APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION

HISTORY = Path(__file__).parent / "schema_history"

# Rows valid at version 1 (and, naming their columns, at every later one).
V1_ROWS = (
    "INSERT INTO meta VALUES ('created', '2025-01-01')",
    "INSERT INTO workers VALUES ('p1', 1980, 'F', 'LOWER_SEC', 'TG_DISABILITY', 'BE-WAL')",
    "INSERT INTO workers VALUES ('p2', 1999, 'M', 'UPPER_SEC', 'TG_DISADV', 'BE-BRU')",
    "INSERT INTO contracts (contract_key, pid, role, contract_type, weekly_hours, start_date, "
    "end_date) VALUES ('c1', 'p1', 'TARGET_WORKER', 'OPEN_ENDED', 38, '2020-01-01', NULL)",
    "INSERT INTO support_actions (action_key, pid, action_date, duration_min, action_code) "
    "VALUES ('a1', 'p1', '2025-02-01', 90, 'SA02')",
    "INSERT INTO competence_assessments (assessment_key, pid, assessment_date, competence_code,"
    " score_norm) VALUES ('k1', 'p1', '2025-02-01', 'C01', 0.25)",
    "INSERT INTO exits VALUES ('e1', 'p2', '2025-06-30', 'REGULAR_EMPLOYEE')",
    "INSERT INTO ledger (seq, created_at, querier, query_id, query_digest, mechanism, cost_micro,"
    " budget_period, catalogue_version, prev_hash, entry_hash) VALUES "
    "(1, '2025-07-01T00:00:00.000+00:00', 'federation', 'q1', 'd', "
    "'discrete_laplace:count', 500000, '2025', '2025.1', '" + "0" * 64 + "', 'h1')",
    "INSERT INTO answers VALUES ('federation', 'q1', 'd', '{}', 1)",
)


def frozen_statements(version: int) -> list[str]:
    """The statements of tests/schema_history/v{version}.sql, split where SQLite says."""
    statements, pending = [], ""
    for line in (HISTORY / f"v{version}.sql").read_text().splitlines():
        if not pending and (not line.strip() or line.startswith("--")):
            continue
        pending += line + "\n"
        if sqlite3.complete_statement(pending):
            statements.append(pending.strip().rstrip(";"))
            pending = ""
    assert not pending.strip(), f"v{version}.sql ends in an incomplete statement"
    return statements


def schema_of(conn: sqlite3.Connection | sqlcipher3.Connection) -> list[str]:
    rows = conn.execute(
        "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY rowid").fetchall()
    return [r[0].strip() for r in rows] + [
        f"PRAGMA application_id = {conn.execute('PRAGMA application_id').fetchone()[0]}",
        f"PRAGMA user_version = {conn.execute('PRAGMA user_version').fetchone()[0]}",
    ]


def test_every_version_has_a_frozen_schema_that_the_migrations_still_produce() -> None:
    assert sorted(p.name for p in HISTORY.glob("v*.sql")) == sorted(
        f"v{k}.sql" for k in range(1, SCHEMA_VERSION + 1))
    for version in range(1, SCHEMA_VERSION + 1):
        conn = sqlite3.connect(":memory:")
        for index in range(version):
            for statement in MIGRATIONS[index]:
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {index + 1}")
        assert schema_of(conn) == frozen_statements(version), (
            f"MIGRATIONS[:{version}] no longer produce the released schema v{version}: "
            "released migrations must never be edited; add a new one instead")
        conn.close()


def old_database(path: Path, key: bytes, version: int) -> None:
    """An encrypted database exactly as koepel version ``version`` left it, with rows."""
    conn = sqlcipher3.connect(str(path), isolation_level=None)
    conn.set_key(f"x'{key.hex()}'")
    for statement in frozen_statements(version):
        conn.execute(statement)
    for statement in V1_ROWS:
        conn.execute(statement)
    if version >= 2:  # what a version-2 import stores: federation codes as their own local code
        conn.execute("UPDATE support_actions SET local_code = action_code, "
                     "mapping_version = 'identity'")
        conn.execute("UPDATE competence_assessments SET local_code = competence_code, "
                     "mapping_version = 'identity'")
    conn.close()


def fresh_schema(tmp_path: Path) -> list[str]:
    key = os.urandom(32)
    store = Store.open(tmp_path / "fresh.db", key, create=True)
    with store.reading() as conn:
        schema = schema_of(conn)
    store.close()
    return schema


@pytest.mark.parametrize("version", range(1, SCHEMA_VERSION))
def test_an_old_database_migrates_to_the_current_schema_keeping_its_rows(
        tmp_path: Path, version: int) -> None:
    key = os.urandom(32)
    path = tmp_path / f"v{version}.db"
    old_database(path, key, version)
    store = Store.open(path, key)
    with store.reading() as conn:
        assert schema_of(conn) == fresh_schema(tmp_path) == frozen_statements(SCHEMA_VERSION)
        assert conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
        counts = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                  for t in ("meta", "workers", "contracts", "support_actions",
                            "competence_assessments", "exits", "ledger", "answers")}
        assert counts == {"meta": 1, "workers": 2, "contracts": 1, "support_actions": 1,
                          "competence_assessments": 1, "exits": 1, "ledger": 1, "answers": 1}
        # Version 2 backfills: rows imported with federation codes are their own local code.
        assert conn.execute("SELECT local_code, action_code, mapping_version, duration_min "
                            "FROM support_actions").fetchone() == ("SA02", "SA02", "identity", 90)
        assert conn.execute("SELECT local_code, competence_code, score_norm "
                            "FROM competence_assessments").fetchone() == ("C01", "C01", 0.25)
        # Version 4 backfills: who assessed and when is unknown for older rows; no subsidy.
        assert conn.execute("SELECT assessor, context FROM competence_assessments"
                            ).fetchone() == ("UNKNOWN", "UNKNOWN")
        assert conn.execute("SELECT subsidy_scheme FROM contracts").fetchone() == (None,)
        assert conn.execute("SELECT count(*) FROM support_plans").fetchone() == (0,)
        # Version 7 builds the per-person facts of existing rows on opening, and the ledger's
        # running totals from its entries.
        year = datetime.now(UTC).year  # the facts cover the years around today
        assert conn.execute("SELECT active_start, active_end, fte, support_min FROM "
                            "person_periods WHERE period = ? AND pid = 'p1'", (str(year),)
                            ).fetchone() == (1, 1, 1.0, 90 if year == 2025 else 0)
        assert conn.execute("SELECT count(*) FROM person_periods WHERE pid = 'p2'"
                            ).fetchone() == (0,)  # never under contract
        assert conn.execute("SELECT count(*) FROM facts_dirty").fetchone() == (0,)
        assert conn.execute("SELECT * FROM ledger_totals").fetchall() == [
            ("federation", "2025", "epsilon", 500000)]
        # The ledger is still append-only after the migration.
        with pytest.raises(sqlcipher3.IntegrityError, match="append-only"):
            conn.execute("DELETE FROM ledger")
    store.close()
    again = Store.open(path, key)  # migrating is idempotent: nothing left to do
    assert again.schema_version() == SCHEMA_VERSION
    again.close()


def test_a_failing_migration_leaves_the_database_at_its_previous_version(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key = os.urandom(32)
    path = tmp_path / "k.db"
    Store.open(path, key, create=True).close()
    broken = (*MIGRATIONS, ("CREATE TABLE half_done (x INTEGER)",
                            "ALTER TABLE workers ADD COLUMN extra TEXT",
                            "INSERT INTO no_such_table VALUES (1)"))
    monkeypatch.setattr(store_module, "MIGRATIONS", broken)
    monkeypatch.setattr(store_module, "SCHEMA_VERSION", len(broken))
    with pytest.raises(sqlcipher3.OperationalError, match="no_such_table"):
        Store.open(path, key)
    monkeypatch.undo()
    store = Store.open(path, key)
    with store.reading() as conn:
        assert schema_of(conn) == frozen_statements(SCHEMA_VERSION)  # nothing half-applied
    store.close()
