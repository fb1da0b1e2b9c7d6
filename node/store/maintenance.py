"""Looking after the node's database: opening it from node.toml, key rotation, backup, restore.

Each operation either completes and is verified, or leaves what was there before:

* **rekey** writes the new key to ``<key file>.new`` (0600, fsynced) *before* re-encrypting, so
  the key that opens the database is on disk at every instant; only after the database opens
  with it does the new key replace the old file, and the old key is kept as
  ``<key file>.retired-<time>`` (backups made before the rotation need it). A rotation cut
  short is finished (or undone) by running `koepel node rekey` again.
* **backup** copies the database into a new encrypted file (``sqlcipher_export``: every page is
  encrypted as it is written), then opens the copy, checks every page and compares row counts
  and the ledger head with the source before giving it its final name. It never overwrites.
* **restore** does the same in the other direction, refuses to replace an existing database
  unless asked (and then moves it aside, never deletes it), and refuses to roll the privacy
  ledger back past charges the current database holds unless told that this is intended.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from node.store.database import (
    Fingerprint,
    Store,
    StoreDamagedError,
    StoreError,
    WrongKeyError,
    fsync_path,
)
from node.store.dbkey import DB_PASSPHRASE_ENV, DatabaseKey, Prompt, database_key
from node.store.keys import DB_KEY_ENV, KeyError_, read_key_file

__all__ = [
    "BackupReport",
    "RekeyReport",
    "RestoreReport",
    "StoreSettings",
    "backup",
    "open_store",
    "pending_key_file",
    "rekey",
    "restore",
    "verify_copy",
]


class StoreSettings(Protocol):
    """Where the database and its key are: what this room needs of node.toml.

    A protocol rather than ``NodeConfig`` itself, so that the store room depends on no other
    part of node/ (node.toml's loader builds on this room, not the other way round).
    """

    @property
    def database(self) -> Path: ...

    @property
    def key_file(self) -> Path: ...

    @property
    def key_source(self) -> str: ...


def pending_key_file(config: StoreSettings) -> Path:
    return config.key_file.with_name(config.key_file.name + ".new")


def open_store(config: StoreSettings, *, key: DatabaseKey | None = None,
               prompt: Prompt | None = None, migrate: bool = True) -> Store:
    """Open the node's database with ``key``, or the key its node.toml names."""
    if key is None:
        key = database_key(config.key_source, config.key_file, prompt=prompt)
    try:
        return Store.open(config.database, key, migrate=migrate)
    except WrongKeyError as exc:
        pending = pending_key_file(config)
        if config.key_source == "file" and pending.exists():
            raise WrongKeyError(f"{exc} An interrupted key rotation left {pending}: run "
                                "`koepel node rekey` to finish it.") from None
        raise


def _timestamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")


# ------------------------------------------------------------------------------------------
# Verified copies
# ------------------------------------------------------------------------------------------

def verify_copy(path: Path, key: DatabaseKey, expected: Fingerprint) -> Fingerprint:
    """Open the copy at ``path`` (without migrating it), check every page, compare figures."""
    copy = Store.open(path, key, migrate=False)
    try:
        problems = copy.integrity_problems()
        if problems:
            raise StoreDamagedError(f"the copy at {path} failed its integrity check "
                                    f"({len(problems)} problem(s)); nothing was replaced")
        found = copy.fingerprint()
    finally:
        copy.close()
    if found != expected:
        raise StoreError(f"the copy at {path} does not match its source (row counts or ledger "
                         "head differ); nothing was replaced")
    return found


@contextmanager
def _partial_file(directory: Path, prefix: str) -> Iterator[Path]:
    """A fresh, private (0600) empty file in ``directory``, removed unless it was renamed."""
    directory.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=prefix, suffix=".partial", dir=directory)
    os.close(fd)
    partial = Path(name)
    try:
        yield partial
    finally:
        for leftover in (partial, Path(f"{partial}-journal")):
            with suppress(FileNotFoundError):
                leftover.unlink()


def _publish(partial: Path, target: Path) -> None:
    """Give ``partial`` the name ``target`` durably, failing if ``target`` exists meanwhile."""
    fsync_path(partial)
    os.link(partial, target)  # atomic, and never replaces an existing file
    partial.unlink()
    fsync_path(target.parent)


@dataclass(frozen=True)
class BackupReport:
    path: Path
    fingerprint: Fingerprint
    key_origin: str


def backup(store: Store, target: Path, key: DatabaseKey) -> BackupReport:
    """Write a verified, encrypted copy of ``store`` to ``target`` (which must not exist)."""
    if target.exists():
        raise StoreError(f"{target} already exists; choose a new file name (backups are never "
                         "overwritten)")
    if target.resolve() == store.path.resolve():
        raise StoreError("the backup cannot be the database itself")
    with _partial_file(target.parent, f".{target.name}.") as partial:
        source = store.export_to(partial, key)
        verify_copy(partial, key, source)
        try:
            _publish(partial, target)
        except FileExistsError:
            raise StoreError(f"{target} appeared while the backup was written; nothing was "
                             "overwritten") from None
    return BackupReport(target, source, key.origin)


@dataclass(frozen=True)
class RestoreReport:
    path: Path
    fingerprint: Fingerprint
    moved_aside: Path | None
    ledger_entries_dropped: int


def _current_ledger(config: StoreSettings, key: DatabaseKey) -> Fingerprint | None:
    """The current database's figures, or None if it is missing or cannot be read."""
    if not config.database.exists():
        return None
    try:
        current = Store.open(config.database, key, migrate=False)
    except StoreError:
        return None
    try:
        return current.fingerprint()
    except StoreError:
        return None
    finally:
        current.close()


def restore(config: StoreSettings, source: Path, source_key: DatabaseKey, key: DatabaseKey, *,
            replace: bool = False, accept_ledger_rollback: bool = False) -> RestoreReport:
    """Put the backup at ``source`` in place of the node's database, re-encrypted under ``key``.

    Refuses to replace an existing database unless ``replace`` (which moves it aside), and to
    drop privacy-ledger entries the current database holds unless ``accept_ledger_rollback``.
    """
    database = config.database
    if source.resolve() == database.resolve():
        raise StoreError("the backup to restore is the database itself")
    backup_store = Store.open(source, source_key, migrate=False)
    try:
        problems = backup_store.integrity_problems()
        if problems:
            raise StoreDamagedError(f"the backup {source} failed its integrity check "
                                    f"({len(problems)} problem(s)); nothing was restored")
        wanted = backup_store.fingerprint()
        if database.exists() and not replace:
            raise StoreError(
                f"{database} already exists; nothing was restored. To replace it, run again "
                "with --replace: the current database is then moved aside, not deleted"
            )
        dropped = 0
        current = _current_ledger(config, key)
        if current is not None:
            dropped = max(0, current.ledger_head[0] - wanted.ledger_head[0])
            if dropped and not accept_ledger_rollback:
                raise StoreError(
                    f"the current database holds {dropped} privacy-ledger entr"
                    f"{'y' if dropped == 1 else 'ies'} newer than the backup; restoring would "
                    "forget those charges, and auditors comparing receipts would see a "
                    "rollback. Nothing was restored. If that is really intended, run again "
                    "with --accept-ledger-rollback"
                )
        with _partial_file(database.parent, f".{database.name}.restore.") as partial:
            copied = backup_store.export_to(partial, key)
            verify_copy(partial, key, copied)
            aside: Path | None = None
            if database.exists():
                aside = database.with_name(f"{database.name}.before-restore-{_timestamp()}")
                os.link(database, aside)
                database.unlink()
            try:
                _publish(partial, database)
            except BaseException:
                if aside is not None and not database.exists():
                    os.link(aside, database)
                raise
    finally:
        backup_store.close()
    return RestoreReport(database, wanted, aside, dropped)


# ------------------------------------------------------------------------------------------
# Key rotation
# ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class RekeyReport:
    kind: str
    retired_key: Path | None
    resumed: bool


def _write_private(path: Path, text: str) -> None:
    """Create ``path`` with mode 0600 (failing if it exists) and flush it to disk."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    fsync_path(path.parent)


def _retire_and_install(key_file: Path, pending: Path) -> Path:
    """Keep the old key under a dated name, then move the new key into place (atomically)."""
    stamp = _timestamp()
    retired = key_file.with_name(f"{key_file.name}.retired-{stamp}")
    suffix = 1
    while retired.exists():  # two rotations within one second
        suffix += 1
        retired = key_file.with_name(f"{key_file.name}.retired-{stamp}-{suffix}")
    os.link(key_file, retired)
    os.replace(pending, key_file)
    fsync_path(key_file.parent)
    return retired


def _opens_with(path: Path, key: DatabaseKey) -> bool:
    try:
        Store.open(path, key, migrate=False).close()
    except WrongKeyError:
        return False
    return True


def _finish_pending(config: StoreSettings) -> RekeyReport | None:
    """Finish or undo a rotation that was cut short; None if there was none."""
    pending = pending_key_file(config)
    if not pending.exists():
        return None
    new_key = DatabaseKey.raw(read_key_file(pending), f"key file {pending}")
    old_key = DatabaseKey.raw(read_key_file(config.key_file), f"key file {config.key_file}")
    if _opens_with(config.database, old_key):
        pending.unlink()  # the database was never re-encrypted: the new key was never used
        fsync_path(pending.parent)
        return None
    if _opens_with(config.database, new_key):
        return RekeyReport("raw", _retire_and_install(config.key_file, pending), resumed=True)
    raise StoreError(f"{config.database} opens with neither {config.key_file} nor {pending}; "
                     "nothing was changed")


def rekey(config: StoreSettings, *, key: DatabaseKey | None = None, prompt: Prompt | None = None,
          new_passphrase: str | None = None) -> RekeyReport:
    """Re-encrypt the node's database under a fresh key and verify it before switching keys.

    A key-file node gets a fresh random key; a passphrase node gets ``new_passphrase`` (its
    current passphrase is ``key``, or asked through ``prompt``).
    """
    if config.key_source == "file":
        if os.environ.get(DB_KEY_ENV):
            raise KeyError_(
                f"the database key comes from {DB_KEY_ENV}; unset it to rotate the key file, "
                "or rotate the injected key where it is set"
            )
        resumed = _finish_pending(config)
        if resumed is not None:
            return resumed
        pending = pending_key_file(config)
        store = open_store(config, migrate=False)
        fresh = secrets.token_bytes(32)
        new_key = DatabaseKey.raw(fresh, f"key file {pending}")
        try:
            _write_private(pending, fresh.hex() + "\n")  # on disk before any page changes
            store.rekey(new_key)
        except BaseException:
            store.close()
            old_key = DatabaseKey.raw(read_key_file(config.key_file))
            if pending.exists() and _opens_with(config.database, old_key):
                pending.unlink()  # nothing was re-encrypted: forget the unused new key
            raise
        store.close()
        if not _opens_with(config.database, new_key):
            raise StoreError(f"{config.database} does not open with the new key; {pending} "
                             f"and {config.key_file} were both kept: run `koepel node rekey` "
                             "again to sort it out")
        return RekeyReport("raw", _retire_and_install(config.key_file, pending), resumed=False)
    if os.environ.get(DB_PASSPHRASE_ENV):
        raise KeyError_(f"the passphrase comes from {DB_PASSPHRASE_ENV}; unset it to be asked "
                        "for the current and the new passphrase")
    if new_passphrase is None:
        raise KeyError_("a new passphrase is needed to rotate a passphrase-protected database")
    new_key = DatabaseKey.passphrase(new_passphrase, "the new passphrase")
    store = open_store(config, key=key, prompt=prompt, migrate=False)
    try:
        store.rekey(new_key)
    finally:
        store.close()
    if not _opens_with(config.database, new_key):
        raise StoreError(f"{config.database} does not open with the new passphrase")
    return RekeyReport("passphrase", None, resumed=False)
