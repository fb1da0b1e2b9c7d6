"""Where the database key comes from: a key file, the environment, or a passphrase prompt.

Two kinds of key, never on a command line:

* **raw** (the default): 32 random bytes, kept as hex in a key file that must be private
  (mode 0600 or stricter), or injected by a service manager through ``KOEPEL_DB_KEY``. SQLCipher
  uses it directly, so opening costs nothing (0.13 ms) and the key has a full 256 bits.
* **passphrase** (``key_source = "passphrase"`` in node.toml): typed at an interactive prompt
  (or injected through ``KOEPEL_DB_PASSPHRASE``) and stretched by SQLCipher's own KDF
  (SQLCipher 4 defaults: PBKDF2-HMAC-SHA512, 256,000 iterations, per-file salt). The trade-off:
  no key file lies on disk for a thief to copy with the database, but a human-chosen passphrase
  has far less entropy than 256 random bits, so its strength against an offline guessing
  attack on a stolen database rests on the passphrase and the KDF's cost; every open pays that
  cost once (~0.1 s), and an unattended service needs someone to type it or an environment
  variable. Use it where the machine is shared and no safe place for a key file exists.

The key is handed to SQLCipher through ``sqlite3_key`` (the connection's ``set_key``), which is
exactly what ``PRAGMA key`` calls, so the key never appears in SQL text.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from node.store.keys import DB_KEY_ENV, KeyError_, read_key

__all__ = [
    "DB_PASSPHRASE_ENV",
    "KEY_SOURCES",
    "MIN_PASSPHRASE_CHARS",
    "DatabaseKey",
    "Prompt",
    "check_passphrase",
    "database_key",
]

DB_PASSPHRASE_ENV = "KOEPEL_DB_PASSPHRASE"
KEY_SOURCES = ("file", "passphrase")
MIN_PASSPHRASE_CHARS = 12

Prompt = Callable[[str], str]


@dataclass(frozen=True, repr=False)
class DatabaseKey:
    """A database key and where it came from (for messages; the key itself is never shown)."""

    kind: Literal["raw", "passphrase"]
    secret: bytes
    origin: str

    def __repr__(self) -> str:
        return f"DatabaseKey({self.kind}, from {self.origin})"

    @classmethod
    def raw(cls, key: bytes, origin: str = "a raw key") -> DatabaseKey:
        if len(key) != 32:
            raise KeyError_("the database key must be 32 bytes (64 hex characters)")
        return cls("raw", bytes(key), origin)

    @classmethod
    def passphrase(cls, text: str, origin: str = "a passphrase") -> DatabaseKey:
        check_passphrase(text)
        return cls("passphrase", text.encode("utf-8"), origin)

    def material(self) -> str | bytes:
        """What SQLCipher's ``sqlite3_key`` takes: ``x'…'`` for a raw key, else the passphrase."""
        if self.kind == "raw":
            return f"x'{self.secret.hex()}'"
        return self.secret


def check_passphrase(text: str) -> None:
    """Refuse passphrases too short to resist guessing, or that SQLCipher cannot take whole."""
    if len(text) < MIN_PASSPHRASE_CHARS:
        raise KeyError_(
            f"a database passphrase needs at least {MIN_PASSPHRASE_CHARS} characters; "
            "several unrelated words are easiest to remember"
        )
    if "\x00" in text:
        raise KeyError_("a database passphrase cannot contain a NUL character")


def database_key(key_source: str, key_file: Path, *, prompt: Prompt | None = None) -> DatabaseKey:
    """The node's database key, from the source node.toml names.

    ``file``: ``KOEPEL_DB_KEY`` if set, else the key file (refused unless private).
    ``passphrase``: ``KOEPEL_DB_PASSPHRASE`` if set, else ``prompt`` (an interactive one).
    """
    if key_source == "file":
        origin = (f"environment variable {DB_KEY_ENV}" if os.environ.get(DB_KEY_ENV)
                  else f"key file {key_file}")
        return DatabaseKey.raw(read_key(key_file), origin)
    if key_source == "passphrase":
        value = os.environ.get(DB_PASSPHRASE_ENV)
        if value:
            return DatabaseKey.passphrase(value, f"environment variable {DB_PASSPHRASE_ENV}")
        if prompt is None:
            raise KeyError_(
                f"this node's database is protected by a passphrase: run the command in a "
                f"terminal to be asked for it, or set {DB_PASSPHRASE_ENV}"
            )
        return DatabaseKey.passphrase(prompt("Database passphrase"), "the passphrase typed")
    raise KeyError_(f"unknown key source {key_source!r}; use one of {', '.join(KEY_SOURCES)}")
