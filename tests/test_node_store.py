"""The encrypted store, its key files and the importer, on real SQLCipher files."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import FIXTURES, write_csv

from node import (
    ImportFailed,
    KeyError_,
    NodeRuntime,
    Store,
    create_key_file,
    import_files,
    read_key_file,
)


def test_database_is_encrypted_and_wrong_key_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "k.db"
    key = os.urandom(32)
    store = Store.open(path, key, create=True)
    with store.transaction() as conn:
        conn.execute("INSERT INTO meta VALUES ('marker', 'PLAINTEXT-MARKER-123')")
    store.close()
    assert b"PLAINTEXT-MARKER-123" not in path.read_bytes()
    assert not path.read_bytes().startswith(b"SQLite format 3")
    before = path.read_bytes()
    with pytest.raises(Exception, match="wrong key"):
        Store.open(path, os.urandom(32))
    assert path.read_bytes() == before  # untouched


def test_store_refuses_to_overwrite_or_open_missing(tmp_path: Path) -> None:
    path = tmp_path / "k.db"
    Store.open(path, os.urandom(32), create=True).close()
    with pytest.raises(Exception, match="already exists"):
        Store.open(path, os.urandom(32), create=True)
    with pytest.raises(Exception, match="koepel node init"):
        Store.open(tmp_path / "missing.db", os.urandom(32))


def test_key_files_must_be_private(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "db.key"
    key = create_key_file(path)
    assert path.stat().st_mode & 0o777 == 0o600
    assert read_key_file(path) == key
    path.chmod(0o644)
    with pytest.raises(KeyError_, match="chmod 600"):
        read_key_file(path)


def test_import_stores_pseudonyms_only_and_is_idempotent(
        node_factory: Callable[..., NodeRuntime]) -> None:
    node = node_factory()
    files = sorted((FIXTURES / "small").glob("*.csv"))
    first = import_files(node.store, node.secret, files)
    assert first.new["workers"] == 5 and first.new["contracts"] == 7
    again = import_files(node.store, node.secret, files)
    assert again.new == {table: 0 for table in again.new}
    with node.store.reading() as conn:
        pids = [r[0] for r in conn.execute("SELECT pid FROM workers")]
        assert len(pids) == 5 and not {"P1", "P2"} & set(pids)


def test_bad_rows_are_reported_by_line_and_column_and_nothing_is_written(
        node_factory: Callable[..., NodeRuntime], tmp_path: Path) -> None:
    node = node_factory()
    workers = write_csv(tmp_path / "in" / "workers.csv", [
        {"person_id": "A", "birth_year": "1980", "gender": "F", "education_level": "LOWER_SEC",
         "target_group": "TG_DISABILITY", "region": "BE-WAL"},
        {"person_id": "B", "birth_year": "SECRET-VALUE", "gender": "F",
         "education_level": "LOWER_SEC", "target_group": "TG_DISABILITY", "region": "BE-WAL"},
    ])
    contracts = write_csv(tmp_path / "in" / "contracts.csv", [
        {"contract_id": "C", "person_id": "nobody", "role": "TARGET_WORKER",
         "contract_type": "OPEN_ENDED", "weekly_hours": "38", "start_date": "2025-01-01",
         "end_date": ""},
    ])
    with pytest.raises(ImportFailed) as failed:
        import_files(node.store, node.secret, [workers, contracts])
    text = str(failed.value)
    assert "workers.csv:3: column birth_year (code-like text): not a whole number" in text
    assert "contracts.csv:2: column person_id: no such person in workers" in text
    assert "SECRET-VALUE" not in text
    with node.store.reading() as conn:
        assert conn.execute("SELECT count(*) FROM workers").fetchone()[0] == 0


def test_dry_run_writes_nothing(node_factory: Callable[..., NodeRuntime]) -> None:
    node = node_factory()
    summary = import_files(node.store, node.secret, sorted((FIXTURES / "small").glob("*.csv")),
                           dry_run=True)
    assert summary.new["workers"] == 5
    with node.store.reading() as conn:
        assert conn.execute("SELECT count(*) FROM workers").fetchone()[0] == 0
