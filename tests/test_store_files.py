"""Opening the encrypted store: SQLCipher 4 defaults, key kinds, and every way a file can be
wrong (wrong key, not a koepel database, truncated, corrupted) refused with a clear message, a
distinct exit code, and the file left byte for byte as it was."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlcipher3
from clirun import koepel
from conftest import FIXTURES, create_node

from node import (
    DatabaseKey,
    KeyError_,
    NodeRuntime,
    Store,
    StoreDamagedError,
    StoreError,
    WrongKeyError,
    create_key_file,
    database_key,
    import_files,
)
from node.store.database import PAGE_SIZE
from node.store.schema import APPLICATION_ID, SCHEMA_VERSION

SQLCIPHER4_DEFAULTS = {
    "kdf_iter": "256000",
    "cipher_page_size": "4096",
    "cipher_use_hmac": "1",
    "cipher_plaintext_header_size": "0",
    "cipher_hmac_algorithm": "HMAC_SHA512",
    "cipher_kdf_algorithm": "PBKDF2_HMAC_SHA512",
}


def cipher_settings(path: Path, material: str | bytes) -> dict[str, str]:
    """The settings a bare connection (no compatibility pragma) reads the file with."""
    conn = sqlcipher3.connect(str(path))
    try:
        conn.set_key(material)
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        settings = {}
        for (line,) in conn.execute("PRAGMA cipher_settings"):
            name, _, value = line.removeprefix("PRAGMA ").rstrip(";").partition(" = ")
            settings[name] = value
        return settings
    finally:
        conn.close()


def filled_store(path: Path, key: bytes | DatabaseKey, rows: int = 3000) -> None:
    """A koepel database with enough rows to span many pages."""
    store = Store.open(path, key, create=True)
    with store.transaction() as conn:
        conn.executemany("INSERT INTO meta VALUES (?, ?)",
                         [(f"k{i:05d}", "v" * 200) for i in range(rows)])
    store.close()


def test_databases_use_the_sqlcipher_4_defaults(tmp_path: Path) -> None:
    raw = os.urandom(32)
    filled_store(tmp_path / "raw.db", raw, rows=10)
    assert cipher_settings(tmp_path / "raw.db", f"x'{raw.hex()}'") == SQLCIPHER4_DEFAULTS
    phrase = DatabaseKey.passphrase("correct horse battery staple")
    filled_store(tmp_path / "pass.db", phrase, rows=10)
    settings = cipher_settings(tmp_path / "pass.db", b"correct horse battery staple")
    assert settings == SQLCIPHER4_DEFAULTS  # PBKDF2-HMAC-SHA512, 256,000 iterations
    store = Store.open(tmp_path / "pass.db", phrase)
    assert store.schema_version() == SCHEMA_VERSION and store.key_kind == "passphrase"
    with store.reading() as conn:
        assert conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
        assert conn.execute("PRAGMA temp_store").fetchone()[0] == 2  # MEMORY
    store.close()


def test_a_wrong_passphrase_is_refused_and_weak_ones_are_not_accepted(tmp_path: Path) -> None:
    path = tmp_path / "pass.db"
    filled_store(path, DatabaseKey.passphrase("correct horse battery staple"), rows=10)
    before = path.read_bytes()
    with pytest.raises(WrongKeyError, match="wrong key"):
        Store.open(path, DatabaseKey.passphrase("incorrect horse battery staple"))
    with pytest.raises(WrongKeyError):  # a passphrase database does not open with a raw key
        Store.open(path, os.urandom(32))
    assert path.read_bytes() == before
    with pytest.raises(KeyError_, match="at least 12 characters"):
        DatabaseKey.passphrase("short")
    assert "correct" not in repr(DatabaseKey.passphrase("correct horse battery staple"))


def _refused(path: Path, key: bytes, error: type[StoreError], match: str) -> None:
    before = path.read_bytes()
    with pytest.raises(error, match=match) as raised:
        Store.open(path, key)
    assert str(path) in str(raised.value)
    assert path.read_bytes() == before, "the refused file must be left untouched"
    assert not Path(f"{path}-journal").exists()


def test_wrong_key_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "k.db"
    filled_store(path, os.urandom(32))
    _refused(path, os.urandom(32), WrongKeyError, "wrong key")


def test_files_that_are_not_koepel_databases_are_refused_untouched(tmp_path: Path) -> None:
    key = os.urandom(32)
    plain = tmp_path / "plain.db"
    conn = sqlite3.connect(plain)
    conn.execute("CREATE TABLE workers (pid TEXT)")
    conn.commit()
    conn.close()
    _refused(plain, key, StoreDamagedError, "plain, unencrypted SQLite")

    empty = tmp_path / "empty.db"
    empty.write_bytes(b"")
    _refused(empty, key, StoreDamagedError, "is empty")

    text = tmp_path / "notes.db"
    text.write_text("name;insz\n" * 50)
    _refused(text, key, StoreDamagedError, "whole number of 4096-byte pages")

    noise = tmp_path / "noise.db"
    noise.write_bytes(os.urandom(3 * PAGE_SIZE))  # indistinguishable from a wrong key
    _refused(noise, key, WrongKeyError, "not a koepel database")

    foreign = tmp_path / "foreign.db"  # encrypted with the right key, but not koepel's schema
    conn = sqlcipher3.connect(str(foreign))
    conn.set_key(f"x'{key.hex()}'")
    conn.execute("CREATE TABLE accounts (id INTEGER)")
    conn.commit()
    conn.close()
    _refused(foreign, key, StoreDamagedError, "no koepel schema")

    directory = tmp_path / "dir.db"
    directory.mkdir()
    with pytest.raises(StoreError, match="not a file"):
        Store.open(directory, key)


def test_truncated_files_are_refused_untouched(tmp_path: Path) -> None:
    key = os.urandom(32)
    path = tmp_path / "k.db"
    filled_store(path, key)
    whole = path.read_bytes()
    assert len(whole) > 40 * PAGE_SIZE
    path.write_bytes(whole[: len(whole) // 2 + 100])  # mid-page
    _refused(path, key, StoreDamagedError, "truncated")
    path.write_bytes(whole[: 20 * PAGE_SIZE])  # on a page boundary
    _refused(path, key, StoreDamagedError, "truncated")


def test_newer_schema_is_refused_untouched(tmp_path: Path) -> None:
    key = os.urandom(32)
    path = tmp_path / "k.db"
    store = Store.open(path, key, create=True)
    with store.transaction() as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    store.close()
    _refused(path, key, StoreError, "upgrade koepel")


def test_a_corrupted_page_is_detected_and_reported_untouched(tmp_path: Path) -> None:
    key = os.urandom(32)
    path = tmp_path / "k.db"
    filled_store(path, key)
    data = bytearray(path.read_bytes())
    page = len(data) // PAGE_SIZE // 2
    data[page * PAGE_SIZE + 200: page * PAGE_SIZE + 204] = b"\x00\x01\x02\x03"
    path.write_bytes(bytes(data))
    store = Store.open(path, key, migrate=False)  # page 1 is fine: opening succeeds
    try:
        problems = store.integrity_problems()
        assert any(f"page {page + 1}" in p for p in problems)
        with pytest.raises(StoreDamagedError, match="restore it from a backup"), \
                store.reading() as conn:
            conn.execute("SELECT count(*), sum(length(value)) FROM meta").fetchone()
    finally:
        store.close()
    assert path.read_bytes() == bytes(data)


def test_cli_exit_codes_name_the_file_and_leave_it_untouched(tmp_path: Path) -> None:
    config = create_node(tmp_path / "n")
    database = tmp_path / "n" / "koepel.db"
    good = database.read_bytes()

    key_file = tmp_path / "n" / "keys" / "db.key"
    key_file.write_text(os.urandom(32).hex() + "\n")  # someone put the wrong key in place
    wrong = koepel("node", "budget", "--config", config)
    assert wrong.returncode == 3, wrong.stderr
    assert str(database) in wrong.stderr and "wrong key" in wrong.stderr
    assert "Traceback" not in wrong.stderr
    assert database.read_bytes() == good

    truncated = good[: len(good) - 100]
    database.write_bytes(truncated)
    cut = koepel("node", "budget", "--config", config)
    assert cut.returncode == 10, cut.stderr
    assert "truncated" in cut.stderr and str(database) in cut.stderr
    assert database.read_bytes() == truncated


def test_cli_check_finds_a_corrupted_page(tmp_path: Path,
                                          node_factory: Callable[..., NodeRuntime]) -> None:
    runtime = node_factory("n")
    import_files(runtime.store, runtime.secret, sorted((FIXTURES / "small").glob("*.csv")))
    with runtime.store.transaction() as conn:
        conn.executemany("INSERT INTO meta VALUES (?, ?)",
                         [(f"k{i:05d}", "v" * 200) for i in range(3000)])
    runtime.close()
    config = tmp_path / "n" / "node.toml"
    ok = koepel("node", "check", "--config", config)
    assert ok.returncode == 0 and "intact" in ok.stdout, ok.stderr
    database = tmp_path / "n" / "koepel.db"
    data = bytearray(database.read_bytes())
    middle = len(data) // PAGE_SIZE // 2 * PAGE_SIZE
    data[middle + 300] ^= 0xFF
    database.write_bytes(bytes(data))
    damaged = koepel("node", "check", "--config", config)
    assert damaged.returncode == 10, damaged.stderr
    assert str(database) in damaged.stderr and "koepel node restore" in damaged.stderr
    assert database.read_bytes() == bytes(data)


def test_the_key_comes_from_the_environment_before_the_key_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key_file = tmp_path / "keys" / "db.key"
    on_disk = create_key_file(key_file)
    assert database_key("file", key_file).secret == on_disk
    injected = os.urandom(32)
    monkeypatch.setenv("KOEPEL_DB_KEY", injected.hex())
    from_env = database_key("file", key_file)
    assert from_env.secret == injected and "KOEPEL_DB_KEY" in from_env.origin
    monkeypatch.setenv("KOEPEL_DB_KEY", "not hex")
    with pytest.raises(KeyError_, match="KOEPEL_DB_KEY does not hold a hex key"):
        database_key("file", key_file)
    monkeypatch.delenv("KOEPEL_DB_KEY")
    with pytest.raises(KeyError_, match="run the command in a terminal"):
        database_key("passphrase", key_file)  # no prompt (not interactive) and no variable
