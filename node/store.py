"""The encrypted record store: one SQLCipher database per organisation.

Opened once with a raw 256-bit key (no per-query key derivation), with temporary storage in
memory (SQLCipher does not encrypt temp files) and a page cache sized for the database. The
connection is shared by the node's threads behind a lock: SQLite serialises writers anyway, and
one warm connection is what makes SQLCipher as fast as plain SQLite (DESIGN.md, Performance).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlcipher3

from node.schema import MIGRATIONS, SCHEMA_VERSION

__all__ = ["Store", "StoreError"]

_CACHE_KIB = 256 * 1024  # at least 256 MiB of page cache: a large organisation's database fits


def _cache_kib(path: Path) -> int:
    """A page cache with room for the whole database, within a quarter of physical memory.

    A query whose pages do not all fit decrypts them again on every run (measured in bench/:
    2× slower than plain SQLite at 100k people with 256 MiB, faster than it once the database
    fits). SQLite allocates cache pages only as it reads them, so a generous limit costs
    nothing on a small database.
    """
    try:
        size = path.stat().st_size
    except OSError:
        size = 0
    wanted = max(_CACHE_KIB, size * 5 // 4 // 1024)  # room to grow
    try:
        physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 1024
    except (AttributeError, OSError, ValueError):
        return wanted
    return max(_CACHE_KIB, min(wanted, physical // 4))


class StoreError(Exception):
    """The database cannot be opened or used; the message names the file and what to try."""

    exit_code = 3


class Store:
    """An open SQLCipher database with the koepel schema."""

    def __init__(self, connection: Any, path: Path) -> None:
        self._conn = connection
        self.path = path
        self.lock = threading.RLock()

    @classmethod
    def open(cls, path: Path, key: bytes, *, create: bool = False) -> Store:
        """Open (or with ``create``, create) the database at ``path`` with a raw 32-byte key."""
        if len(key) != 32:
            raise StoreError("the database key must be 32 bytes (64 hex characters)")
        if not create and not path.exists():
            raise StoreError(f"no database at {path}; run `koepel node init` first")
        if create and path.exists():
            raise StoreError(f"{path} already exists; refusing to overwrite it")
        conn = sqlcipher3.connect(str(path), check_same_thread=False, isolation_level=None)
        try:
            conn.execute("PRAGMA cipher_log_level = NONE")  # no decryption noise on stderr
            conn.execute(f"PRAGMA key = \"x'{key.hex()}'\"")
            try:
                conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
            except sqlcipher3.DatabaseError:
                raise StoreError(
                    f"cannot decrypt {path}: wrong key, or not a koepel database "
                    "(check the key file named in node.toml)"
                ) from None
            conn.execute("PRAGMA temp_store = MEMORY")
            conn.execute(f"PRAGMA cache_size = -{_cache_kib(path)}")
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA synchronous = FULL")
            store = cls(conn, path)
            store.migrate()
            return store
        except BaseException:
            conn.close()
            raise

    def migrate(self) -> None:
        """Apply every migration the database has not seen, each in one transaction."""
        with self.lock:
            version = int(self._conn.execute("PRAGMA user_version").fetchone()[0])
            if version > SCHEMA_VERSION:
                raise StoreError(
                    f"{self.path} has schema version {version}, newer than this koepel "
                    f"({SCHEMA_VERSION}); upgrade koepel"
                )
            for index in range(version, SCHEMA_VERSION):
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    for statement in MIGRATIONS[index]:
                        self._conn.execute(statement)
                    self._conn.execute(f"PRAGMA user_version = {index + 1}")
                    self._conn.execute("COMMIT")
                except BaseException:
                    self._conn.execute("ROLLBACK")
                    raise

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        """A write transaction (``BEGIN IMMEDIATE``): all of it commits durably, or none of it."""
        with self.lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    @contextmanager
    def reading(self) -> Iterator[Any]:
        """The connection for reads, held exclusively by this thread meanwhile."""
        with self.lock:
            yield self._conn

    def close(self) -> None:
        with self.lock:
            self._conn.close()
