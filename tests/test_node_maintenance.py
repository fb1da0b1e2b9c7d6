"""Key rotation, verified encrypted backups and careful restores, on real node folders."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from clirun import koepel
from conftest import FIXTURES, create_node

from node import (
    DatabaseKey,
    KeyError_,
    Store,
    StoreError,
    WrongKeyError,
    import_files,
    load_node_config,
    open_node,
    read_key_file,
)
from node.store.maintenance import backup, open_store, pending_key_file, rekey, restore, verify_copy
from privacy import QuerySpec, Statistic, default_catalogue

CAT = default_catalogue()


def populated_node(directory: Path, queries: int = 2) -> Path:
    """A node with the small fixture imported and ``queries`` charged answers in its ledger."""
    config_path = create_node(directory)
    runtime = open_node(load_node_config(config_path))
    try:
        import_files(runtime.store, runtime.secret, sorted((FIXTURES / "small").glob("*.csv")))
        for i in range(queries):
            spec = QuerySpec(CAT.version, "headcount", Statistic.COUNT, (), (), "2025", 100_000)
            runtime.engine.answer("federation", f"q{i}", spec)
    finally:
        runtime.close()
    return config_path


def charge_more(config_path: Path, first: int, n: int) -> None:
    runtime = open_node(load_node_config(config_path))
    try:
        for i in range(first, first + n):
            spec = QuerySpec(CAT.version, "reached", Statistic.COUNT, (), (), "2025", 100_000)
            runtime.engine.answer("federation", f"q{i}", spec)
    finally:
        runtime.close()


def raw_key(path: Path) -> DatabaseKey:
    return DatabaseKey.raw(read_key_file(path), str(path))


def test_backup_is_encrypted_verified_private_and_never_overwrites(tmp_path: Path) -> None:
    config = load_node_config(populated_node(tmp_path / "n"))
    key = raw_key(config.key_file)
    store = open_store(config)
    target = tmp_path / "backups" / "monday.db"
    report = backup(store, target, key)
    source = store.fingerprint()
    store.close()
    assert report.fingerprint == source and source.ledger_head[0] == 2
    assert target.stat().st_mode & 0o777 == 0o600
    assert not target.read_bytes().startswith(b"SQLite format 3")
    assert sorted(p.name for p in target.parent.iterdir()) == ["monday.db"]  # no leftovers
    copy = Store.open(target, key, migrate=False)
    assert copy.fingerprint() == source and copy.integrity_problems() == []
    copy.close()
    with pytest.raises(WrongKeyError):
        Store.open(target, os.urandom(32))
    before = target.read_bytes()
    store = open_store(config)
    with pytest.raises(StoreError, match="already exists"):
        backup(store, target, key)
    store.close()
    assert target.read_bytes() == before


def test_verification_catches_a_copy_that_differs(tmp_path: Path) -> None:
    config = load_node_config(populated_node(tmp_path / "n"))
    key = raw_key(config.key_file)
    store = open_store(config)
    report = backup(store, tmp_path / "b.db", key)
    store.close()
    copy = Store.open(tmp_path / "b.db", key, migrate=False)
    with copy.transaction() as conn:
        conn.execute("DELETE FROM exits")
    copy.close()
    with pytest.raises(StoreError, match="does not match its source"):
        verify_copy(tmp_path / "b.db", key, report.fingerprint)


def test_restore_refuses_to_overwrite_silently_and_moves_the_old_database_aside(
        tmp_path: Path) -> None:
    config_path = populated_node(tmp_path / "n")
    config = load_node_config(config_path)
    key = raw_key(config.key_file)
    store = open_store(config)
    saved = backup(store, tmp_path / "b.db", key).fingerprint
    store.close()
    current = config.database.read_bytes()
    with pytest.raises(StoreError, match="--replace"):
        restore(config, tmp_path / "b.db", key, key)
    assert config.database.read_bytes() == current
    report = restore(config, tmp_path / "b.db", key, key, replace=True)
    assert report.moved_aside is not None and report.moved_aside.read_bytes() == current
    assert report.ledger_entries_dropped == 0
    restored = open_store(config)
    assert restored.fingerprint() == saved
    restored.close()
    leftovers = [p.name for p in config.database.parent.iterdir() if "partial" in p.name]
    assert leftovers == []


def test_restore_into_a_missing_database_needs_no_flag(tmp_path: Path) -> None:
    config = load_node_config(populated_node(tmp_path / "n"))
    key = raw_key(config.key_file)
    store = open_store(config)
    saved = backup(store, tmp_path / "b.db", key).fingerprint
    store.close()
    config.database.unlink()
    restore(config, tmp_path / "b.db", key, key)
    restored = Store.open(config.database, key)
    assert restored.fingerprint().ledger_head == saved.ledger_head
    restored.close()


def test_restore_refuses_to_roll_the_privacy_ledger_back(tmp_path: Path) -> None:
    config_path = populated_node(tmp_path / "n")
    config = load_node_config(config_path)
    key = raw_key(config.key_file)
    store = open_store(config)
    backup(store, tmp_path / "b.db", key)
    store.close()
    charge_more(config_path, 2, 3)  # three charges after the backup
    current = config.database.read_bytes()
    with pytest.raises(StoreError, match="3 privacy-ledger entries newer than the backup"):
        restore(config, tmp_path / "b.db", key, key, replace=True)
    assert config.database.read_bytes() == current
    report = restore(config, tmp_path / "b.db", key, key, replace=True,
                     accept_ledger_rollback=True)
    assert report.ledger_entries_dropped == 3


def test_rekey_rotates_the_key_file_and_keeps_the_old_one_for_old_backups(
        tmp_path: Path) -> None:
    config_path = populated_node(tmp_path / "n")
    config = load_node_config(config_path)
    old = raw_key(config.key_file)
    store = open_store(config)
    before = store.fingerprint()
    backup(store, tmp_path / "before.db", old)
    store.close()
    report = rekey(config)
    new = raw_key(config.key_file)
    assert new.secret != old.secret
    assert config.key_file.stat().st_mode & 0o777 == 0o600
    assert report.retired_key is not None and raw_key(report.retired_key).secret == old.secret
    assert report.retired_key.stat().st_mode & 0o777 == 0o600
    assert not pending_key_file(config).exists()
    with pytest.raises(WrongKeyError):
        Store.open(config.database, old)
    store = Store.open(config.database, new)
    assert store.fingerprint() == before
    store.close()
    # A backup made before the rotation restores with the retired key, under the new one.
    restore(config, tmp_path / "before.db", raw_key(report.retired_key), new, replace=True)
    restored = Store.open(config.database, new)
    assert restored.fingerprint() == before
    restored.close()


def test_an_interrupted_rotation_is_finished_by_running_rekey_again(tmp_path: Path) -> None:
    config = load_node_config(populated_node(tmp_path / "n"))
    # Simulate a crash after the database was re-encrypted, before the key files were switched.
    pending = pending_key_file(config)
    fresh = os.urandom(32)
    pending.write_text(fresh.hex() + "\n")
    pending.chmod(0o600)
    store = open_store(config)
    store.rekey(DatabaseKey.raw(fresh))
    store.close()
    with pytest.raises(WrongKeyError, match="koepel node rekey"):
        open_store(config)
    report = rekey(config)
    assert report.resumed and read_key_file(config.key_file) == fresh
    open_store(config).close()


def test_a_rotation_cut_short_before_reencrypting_is_undone(tmp_path: Path) -> None:
    config = load_node_config(populated_node(tmp_path / "n"))
    pending = pending_key_file(config)
    pending.write_text(os.urandom(32).hex() + "\n")  # written, but no page was re-encrypted
    pending.chmod(0o600)
    old = read_key_file(config.key_file)
    report = rekey(config)  # discards the unused pending key, then rotates normally
    assert not report.resumed and read_key_file(config.key_file) != old
    open_store(config).close()


def test_a_passphrase_database_backs_up_and_restores_under_its_passphrase(
        tmp_path: Path) -> None:
    phrase = DatabaseKey.passphrase("correct horse battery staple")
    source = tmp_path / "p.db"
    store = Store.open(source, phrase, create=True)
    with store.transaction() as conn:
        conn.execute("INSERT INTO meta VALUES ('k', 'v')")
    report = backup(store, tmp_path / "b.db", phrase)
    store.close()
    with pytest.raises(WrongKeyError):
        Store.open(tmp_path / "b.db", DatabaseKey.passphrase("another long passphrase"))
    copy = Store.open(tmp_path / "b.db", phrase, migrate=False)
    assert copy.fingerprint() == report.fingerprint and copy.key_kind == "passphrase"
    copy.close()


def test_rekey_refuses_an_injected_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = load_node_config(populated_node(tmp_path / "n"))
    monkeypatch.setenv("KOEPEL_DB_KEY", read_key_file(config.key_file).hex())
    with pytest.raises(KeyError_, match="KOEPEL_DB_KEY"):
        rekey(config)


def test_cli_backup_restore_rekey(tmp_path: Path) -> None:
    config = populated_node(tmp_path / "n")
    target = tmp_path / "b.db"
    made = koepel("node", "backup", "--config", config, target)
    assert made.returncode == 0 and "verified" in made.stdout, made.stderr
    again = koepel("node", "backup", "--config", config, target)
    assert again.returncode == 3 and "already exists" in again.stderr
    refused = koepel("node", "restore", "--config", config, target)
    assert refused.returncode == 3 and "--replace" in refused.stderr
    rotated = koepel("node", "rekey", "--config", config)
    assert rotated.returncode == 0 and "retired" in rotated.stdout, rotated.stderr
    retired = next((tmp_path / "n" / "keys").glob("db.key.retired-*"))
    wrong = koepel("node", "restore", "--config", config, "--replace", target)
    assert wrong.returncode == 3 and "wrong key" in wrong.stderr  # made under the old key
    done = koepel("node", "restore", "--config", config, "--replace", "--key-file", retired,
                  target)
    assert done.returncode == 0 and "moved aside" in done.stdout, done.stderr
    check = koepel("node", "check", "--config", config)
    assert check.returncode == 0 and "ledger head #2" in check.stdout, check.stderr
    rebuilt = koepel("node", "check", "--config", config, "--rebuild-facts")
    assert rebuilt.returncode == 0 and "per-person facts rebuilt" in rebuilt.stdout, rebuilt.stderr


def test_cli_passphrase_node_init_open_and_rekey(tmp_path: Path) -> None:
    directory = tmp_path / "p"
    phrase = "correct horse battery staple"
    made = koepel("node", "init", directory, "--id", "org-p", "--passphrase",
                  input=f"{phrase}\n{phrase}\n")
    assert made.returncode == 0, made.stderr
    assert not (directory / "keys" / "db.key").exists()
    assert (directory / "keys" / "pseudonym.key").stat().st_mode & 0o777 == 0o600
    assert 'key_source = "passphrase"' in (directory / "node.toml").read_text()
    config = directory / "node.toml"
    ok = koepel("node", "check", "--config", config, input=f"{phrase}\n")
    assert ok.returncode == 0, ok.stderr
    bad = koepel("node", "check", "--config", config, input="not the right passphrase\n")
    assert bad.returncode == 3 and "wrong key" in bad.stderr
    by_env = koepel("node", "check", "--config", config, env={"KOEPEL_DB_PASSPHRASE": phrase})
    assert by_env.returncode == 0, by_env.stderr
    new = "a brand new passphrase here"
    rotated = koepel("node", "rekey", "--config", config, input=f"{phrase}\n{new}\n{new}\n")
    assert rotated.returncode == 0, rotated.stderr
    assert koepel("node", "check", "--config", config, input=f"{new}\n").returncode == 0
    assert koepel("node", "check", "--config", config, input=f"{phrase}\n").returncode == 3
    weak = koepel("node", "init", tmp_path / "q", "--id", "q", "--passphrase",
                  input="short\nshort\n")
    assert weak.returncode == 4 and "at least 12" in weak.stderr
    assert not (tmp_path / "q" / "node.toml").exists()


def test_cli_init_creates_distinct_private_keys_and_never_overwrites(tmp_path: Path) -> None:
    directory = tmp_path / "n"
    made = koepel("node", "init", directory, "--id", "org-1", "--querier", "federation=2")
    assert made.returncode == 0, made.stderr
    keys = directory / "keys"
    assert keys.stat().st_mode & 0o777 == 0o700
    db_key, secret = keys / "db.key", keys / "pseudonym.key"
    assert db_key.stat().st_mode & 0o777 == secret.stat().st_mode & 0o777 == 0o600
    assert read_key_file(db_key) != read_key_file(secret)
    assert not (directory / "koepel.db").read_bytes().startswith(b"SQLite format 3")
    (directory / "node.toml").unlink()
    again = koepel("node", "init", directory, "--id", "org-1")
    assert again.returncode == 2 and "already exists" in again.stderr
    assert not (directory / "node.toml").exists()  # nothing was changed
