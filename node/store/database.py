"""The encrypted record store: one SQLCipher database per organisation.

Opened once with its key (a raw 256-bit key by default: no per-query key derivation), pinned to
the SQLCipher 4 defaults, with temporary storage in memory (SQLCipher does not encrypt temp
files) and a page cache sized for the database. The rollback journal holds encrypted pages only.
The connection is shared by the node's threads behind a lock: SQLite serialises writers anyway,
and one warm connection is what makes SQLCipher as fast as plain SQLite (DESIGN.md, Performance).

Opening never writes to a file it cannot positively recognise as a koepel database: a wrong
key, a plaintext or foreign file, a truncated or damaged file are each refused with a message
that names the file and what to try, and the file is left byte for byte as it was.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import sqlcipher3

from node.store import facts
from node.store.dbkey import DatabaseKey
from node.store.schema import APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION

__all__ = [
    "PAGE_SIZE",
    "Fingerprint",
    "Store",
    "StoreDamagedError",
    "StoreError",
    "WrongKeyError",
    "fsync_path",
]

_CACHE_KIB = 256 * 1024  # at least 256 MiB of page cache: a large organisation's database fits
PAGE_SIZE = 4096  # SQLCipher 4 default page size; every koepel database file is a multiple of it
_PLAIN_SQLITE = b"SQLite format 3\x00"
_DAMAGE_CODES = frozenset({"SQLITE_CORRUPT", "SQLITE_NOTADB"})
_RESTORE_HINT = "restore it from a backup with `koepel node restore`"
_FACTS_VERSION = 8  # the schema version that keeps per-person facts (node/store/facts.py)


def _today() -> date:
    return datetime.now(UTC).date()


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


class WrongKeyError(StoreError):
    """The file does not decrypt with the key given (or its first page is damaged)."""


class StoreDamagedError(StoreError):
    """The file is not a koepel database, or is truncated or damaged."""

    exit_code = 10


def _is_damage(error: BaseException) -> bool:
    return getattr(error, "sqlite_errorname", None) in _DAMAGE_CODES


def _damaged(path: Path) -> StoreDamagedError:
    return StoreDamagedError(
        f"{path} is damaged (a page is unreadable or fails its integrity check); "
        f"{_RESTORE_HINT}, and keep the damaged file for inspection"
    )


@dataclass(frozen=True)
class Fingerprint:
    """What a copy of the database must match: its schema version, the number of rows in each
    table, and the head of the privacy ledger."""

    schema_version: int
    row_counts: tuple[tuple[str, int], ...]
    ledger_head: tuple[int, str]

    def rows(self) -> int:
        return sum(count for _, count in self.row_counts)


def _key_of(key: bytes | DatabaseKey) -> DatabaseKey:
    return key if isinstance(key, DatabaseKey) else DatabaseKey.raw(key)


def _precheck(path: Path) -> None:
    """Refuse, without opening it, a path that cannot be a koepel database."""
    if not path.exists():
        raise StoreError(f"no database at {path}; run `koepel node init` first, or check the "
                         "database path in node.toml")
    if not path.is_file():
        raise StoreError(f"{path} is not a file; check the database path in node.toml")
    size = path.stat().st_size
    if size == 0:
        raise StoreDamagedError(
            f"{path} is empty, not a koepel database; if `koepel node init` was interrupted, "
            f"move it away and run init again, otherwise {_RESTORE_HINT}"
        )
    with path.open("rb") as handle:
        head = handle.read(len(_PLAIN_SQLITE))
    if head == _PLAIN_SQLITE:
        raise StoreDamagedError(
            f"{path} is a plain, unencrypted SQLite file, not a koepel database; check the "
            "database path in node.toml (koepel databases are always encrypted)"
        )
    if size < PAGE_SIZE or size % PAGE_SIZE:
        raise StoreDamagedError(
            f"{path} is truncated or is not a koepel database (its size is not a whole number "
            f"of {PAGE_SIZE}-byte pages); {_RESTORE_HINT}"
        )


def _connect(path: Path, key: DatabaseKey) -> Any:
    # Writers queue on BEGIN IMMEDIATE: wait up to 30 s for the lock (the default 5 s refused
    # charges on a loaded machine, with 16 threads each committing durably).
    conn = sqlcipher3.connect(str(path), check_same_thread=False, isolation_level=None,
                              timeout=30.0)
    try:
        conn.execute("PRAGMA cipher_log_level = NONE")  # no decryption noise on stderr
        conn.set_key(key.material())
        conn.execute("PRAGMA cipher_compatibility = 4")  # SQLCipher 4 defaults, pinned
    except BaseException:
        conn.close()
        raise
    return conn


class Store:
    """An open SQLCipher database with the koepel schema."""

    def __init__(self, connection: Any, path: Path, key: DatabaseKey) -> None:
        self._conn = connection
        self.path = path
        self._key = key
        self.lock = threading.RLock()
        self._facts_window: date | None = None  # the day whose facts window was ensured

    @property
    def key_kind(self) -> str:
        return self._key.kind

    @classmethod
    def open(cls, path: Path, key: bytes | DatabaseKey, *, create: bool = False,
             migrate: bool = True) -> Store:
        """Open (or with ``create``, create) the database at ``path``.

        ``key`` is a raw 32-byte key or a :class:`DatabaseKey`. With ``migrate=False`` the
        schema is left as found (for checking backups); otherwise pending migrations run.
        """
        dbkey = _key_of(key)
        if create:
            if path.exists():
                raise StoreError(f"{path} already exists; refusing to overwrite it")
        else:
            _precheck(path)
        conn = _connect(path, dbkey)
        try:
            cls._check_readable(conn, path, dbkey, create=create)
            conn.execute("PRAGMA temp_store = MEMORY")
            conn.execute(f"PRAGMA cache_size = -{_cache_kib(path)}")
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA synchronous = FULL")
            store = cls(conn, path, dbkey)
            if migrate:
                store.migrate()
                if store._keeps_facts() and facts.pending(conn, _today()):
                    with store.transaction():
                        pass  # builds the facts a migration marked, extends their window
            return store
        except BaseException:
            conn.close()
            raise

    @staticmethod
    def _check_readable(conn: Any, path: Path, key: DatabaseKey, *, create: bool) -> None:
        """Decrypt page 1 and the schema, read the header; refuse anything not koepel's."""
        try:
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlcipher3.DatabaseError as exc:
            if getattr(exc, "sqlite_errorname", None) == "SQLITE_NOTADB":
                raise WrongKeyError(
                    f"cannot decrypt {path} with the key from {key.origin}: a wrong key, "
                    "or a file that is not a koepel database or whose first page is damaged. Check "
                    "that node.toml names this node's key (and passphrase, if it uses one); "
                    f"if it does, {_RESTORE_HINT}."
                ) from None
            if _is_damage(exc):
                raise _damaged(path) from None
            raise StoreError(f"cannot open {path}: {exc}") from None
        except sqlcipher3.OperationalError as exc:
            raise StoreError(f"cannot open {path}: {exc}") from None
        if create:
            return
        try:
            conn.execute("PRAGMA page_count").fetchone()
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
            has_meta = conn.execute(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'meta'"
            ).fetchone()[0]
            app_id = int(conn.execute("PRAGMA application_id").fetchone()[0])
        except sqlcipher3.DatabaseError as exc:
            if _is_damage(exc):
                raise StoreDamagedError(
                    f"{path} is truncated or damaged (SQLite reports a malformed file); "
                    f"{_RESTORE_HINT}"
                ) from None
            raise
        if version < 1 or not has_meta or app_id not in (0, APPLICATION_ID):
            raise StoreDamagedError(
                f"{path} decrypts but holds no koepel schema, so it is not a koepel database; "
                "check the database path in node.toml"
            )
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{path} has schema version {version}, newer than this koepel understands "
                f"({SCHEMA_VERSION}); upgrade koepel (the file was not changed)"
            )

    def schema_version(self) -> int:
        with self.reading() as conn:
            return int(conn.execute("PRAGMA user_version").fetchone()[0])

    def migrate(self) -> None:
        """Apply every migration the database has not seen, each in one transaction."""
        with self.lock:
            version = int(self._conn.execute("PRAGMA user_version").fetchone()[0])
            for index in range(version, SCHEMA_VERSION):
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    for statement in MIGRATIONS[index]:
                        self._conn.execute(statement)
                    self._conn.execute(f"PRAGMA user_version = {index + 1:d}")
                    self._conn.execute("COMMIT")
                except BaseException:
                    self._conn.execute("ROLLBACK")
                    raise

    def _keeps_facts(self) -> bool:
        return int(self._conn.execute("PRAGMA user_version").fetchone()[0]) >= _FACTS_VERSION

    def _update_facts(self) -> None:
        """Inside a write transaction: recompute the facts of every person whose rows changed
        in it, and cover a new year's periods at the first write of that year."""
        if not self._keeps_facts():
            return
        today = _today()
        if self._facts_window != today:
            facts.ensure_window(self._conn, today)
        facts.refresh(self._conn)

    def rebuild_facts(self) -> int:
        """Compute every per-person fact again from the rows, in one transaction; returns the
        number of person-period rows."""
        with self.transaction() as conn:
            return facts.rebuild(conn, _today())

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        """A write transaction (``BEGIN IMMEDIATE``): all of it commits durably, or none of it.

        The per-person facts of anyone whose rows changed are brought up to date in it, before
        it commits (node/store/facts.py).
        """
        with self.lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
                self._update_facts()
            except BaseException as exc:
                with suppress(sqlcipher3.Error):
                    self._conn.execute("ROLLBACK")
                if isinstance(exc, sqlcipher3.DatabaseError) and _is_damage(exc):
                    raise _damaged(self.path) from None
                raise
            try:
                self._conn.execute("COMMIT")
            except sqlcipher3.DatabaseError as exc:
                if _is_damage(exc):
                    raise _damaged(self.path) from None
                raise
            if self._keeps_facts():
                self._facts_window = _today()

    @contextmanager
    def reading(self) -> Iterator[Any]:
        """The connection for reads, held exclusively by this thread meanwhile."""
        with self.lock:
            try:
                yield self._conn
            except sqlcipher3.DatabaseError as exc:
                if _is_damage(exc):
                    raise _damaged(self.path) from None
                raise

    def integrity_problems(self) -> list[str]:
        """Every page's HMAC (``cipher_integrity_check``) and SQLite's own structural check.

        Reads the whole file once; meant for `koepel node check`, backups and restores, not for
        the request path. An empty list means the database is intact.
        """
        with self.lock:
            conn = self._conn
            try:
                problems = [str(r[0]) for r in conn.execute("PRAGMA cipher_integrity_check")]
                if problems:  # pages fail their HMAC: the structural check would only stumble
                    return problems
                result = [str(r[0]) for r in conn.execute("PRAGMA integrity_check")]
                problems += [r for r in result if r != "ok"]
                problems += [f"foreign key violation in {r[0]}"
                             for r in conn.execute("PRAGMA foreign_key_check")]
            except sqlcipher3.DatabaseError as exc:
                if not _is_damage(exc):
                    raise
                problems.append("the database structure cannot be read")
        return problems

    def fingerprint(self) -> Fingerprint:
        """Row counts per table and the ledger head, read in one consistent snapshot."""
        with self.reading() as conn:
            tables = [r[0] for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' "
                "AND name NOT LIKE 'sqlite_%' ORDER BY name")]
            counts = tuple(
                (name, int(conn.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]))
                for name in tables
            )
            head = conn.execute("SELECT seq, entry_hash FROM ledger ORDER BY seq DESC LIMIT 1")
            last = head.fetchone()
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        return Fingerprint(version, counts, (int(last[0]), str(last[1])) if last else (0, ""))

    def export_to(self, target: Path, key: DatabaseKey) -> Fingerprint:
        """Copy the whole database into a new encrypted file ``target`` under ``key``.

        Uses ``sqlcipher_export`` on an attached, keyed database, so every page of the copy is
        encrypted as it is written (no plaintext intermediate). ``target`` must not exist or be
        empty. Returns the fingerprint of the source taken under the same lock, so no write
        can slip in between the copy and the figures it must match.
        """
        with self.lock:
            fingerprint = self.fingerprint()
            conn = self._conn
            conn.execute("ATTACH DATABASE ? AS koepel_export KEY ?", (str(target), key.material()))
            try:
                conn.execute("PRAGMA koepel_export.cipher_compatibility = 4")
                conn.execute("SELECT sqlcipher_export('koepel_export')").fetchall()
                conn.execute(f"PRAGMA koepel_export.user_version = {fingerprint.schema_version:d}")
                app_id = int(conn.execute("PRAGMA application_id").fetchone()[0])
                conn.execute(f"PRAGMA koepel_export.application_id = {app_id:d}")
            except sqlcipher3.DatabaseError as exc:
                if _is_damage(exc):
                    raise _damaged(self.path) from None
                raise
            finally:
                conn.execute("DETACH DATABASE koepel_export")
        return fingerprint

    def rekey(self, new_key: DatabaseKey) -> None:
        """Re-encrypt every page under ``new_key`` (SQLCipher's ``PRAGMA rekey``, one
        transaction: on failure the file stays under the old key)."""
        with self.lock:
            if new_key.kind != self._key.kind:
                raise StoreError("a key rotation keeps the kind of key (raw key file or "
                                 "passphrase); export to a new database to change it")
            self._conn.reset_key(new_key.material())
            self._key = new_key

    def close(self) -> None:
        with self.lock:
            self._conn.close()


def fsync_path(path: Path) -> None:
    """Flush a file or a directory entry to disk (so a rename survives a power cut)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
