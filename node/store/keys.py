"""Key material on disk: the database key and the pseudonym secret, each in its own file.

Keys never appear on a command line. A key file must be private to its owner (mode 0600 or
stricter); anything looser is refused with a message that says how to fix it. The database key
may instead come from the environment (``KOEPEL_DB_KEY``), for service managers that inject it.
"""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

__all__ = ["KeyError_", "create_key_file", "read_key", "read_key_file"]

DB_KEY_ENV = "KOEPEL_DB_KEY"


class KeyError_(Exception):
    """A key file is missing, too open, or malformed."""

    exit_code = 4


def create_key_file(path: Path) -> bytes:
    """Write 32 fresh random bytes (hex) to a new file created with mode 0600."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = secrets.token_bytes(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key.hex() + "\n")
    return key


def _parse_hex(text: str, origin: str) -> bytes:
    try:
        key = bytes.fromhex(text.strip())
    except ValueError:
        raise KeyError_(f"{origin} does not hold a hex key") from None
    if len(key) != 32:
        raise KeyError_(f"{origin} must hold 32 bytes (64 hex characters)")
    return key


def read_key_file(path: Path) -> bytes:
    """Read a key file, refusing it unless only its owner can read it."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise KeyError_(f"key file {path} does not exist") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyError_(
            f"key file {path} is readable by others (mode {stat.S_IMODE(mode):o}); "
            f"run `chmod 600 {path}`"
        )
    return _parse_hex(path.read_text(), f"key file {path}")


def read_key(path: Path | None, *, env: str = DB_KEY_ENV) -> bytes:
    """The key from the environment variable ``env`` if set, else from ``path``."""
    value = os.environ.get(env)
    if value:
        return _parse_hex(value, f"environment variable {env}")
    if path is None:
        raise KeyError_(f"no key: set {env} or name a key file in node.toml")
    return read_key_file(path)
