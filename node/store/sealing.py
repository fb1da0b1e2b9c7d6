"""Exports sealed to their recipients: the age format (X25519), so no export sits in plaintext.

The forms, a person's transfer record, the organisation's exact report and the ledger export
leave the encrypted store as files. Sealed with age (age-encryption.org/v1, through ``pyrage``,
the maintained binding of the Rust implementation ``rage``), only the holder of a recipient's
identity can read them, with koepel (`koepel decrypt`) or any age tool: an administration or an
auditor need not install koepel to open what they receive. Recipients are age X25519 public keys
(``age1…``); an identity file is the matching secret key, 0600, made by `koepel keygen`.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from pathlib import Path

import pyrage
from pyrage import x25519

__all__ = [
    "SEALED_SUFFIX",
    "SealingError",
    "create_identity_file",
    "is_sealed",
    "parse_recipients",
    "read_identity_file",
    "seal",
    "unseal",
]

SEALED_SUFFIX = ".age"
_AGE_HEADER = b"age-encryption.org/v1\n"


class SealingError(ValueError):
    """A recipient, identity or sealed file is not usable; the message says which and why."""

    exit_code = 2


def parse_recipients(texts: Sequence[str], *, where: str = "--encrypt-to") -> tuple[str, ...]:
    """Check each recipient is an age X25519 public key; return them without duplicates."""
    seen: dict[str, None] = {}
    for text in texts:
        candidate = text.strip()
        try:
            x25519.Recipient.from_str(candidate)
        except pyrage.RecipientError:
            raise SealingError(
                f"{where}: {candidate[:12]!r}… is not an age public key (it starts with "
                "'age1'; `koepel keygen` makes one)") from None
        seen[candidate] = None
    return tuple(seen)


def seal(data: bytes, recipients: Sequence[str]) -> bytes:
    """``data`` encrypted to every recipient (any one of them can decrypt)."""
    if not recipients:
        raise SealingError("sealing needs at least one recipient")
    return bytes(pyrage.encrypt(data, [x25519.Recipient.from_str(r) for r in recipients]))


def is_sealed(data: bytes) -> bool:
    return data.startswith(_AGE_HEADER)


def unseal(data: bytes, identity: x25519.Identity) -> bytes:
    """The plaintext of a sealed export, or a clear error if this identity cannot open it."""
    if not is_sealed(data):
        raise SealingError("this file is not an age-sealed export")
    try:
        return bytes(pyrage.decrypt(data, [identity]))
    except pyrage.DecryptError:
        raise SealingError("this identity cannot open the file: it was sealed to other "
                           "recipients, or it was damaged") from None


def create_identity_file(path: Path) -> str:
    """Write a fresh age identity to a new 0600 file; return its public recipient."""
    identity = x25519.Identity.generate()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0),
                     0o600)
    except FileExistsError:
        raise SealingError(f"{path} already exists; keys are never overwritten") from None
    recipient = str(identity.to_public())
    with os.fdopen(fd, "w", encoding="ascii") as out:
        os.fchmod(out.fileno(), 0o600)
        out.write(f"# public key: {recipient}\n{identity}\n")
        out.flush()
        os.fsync(out.fileno())
    return recipient


def read_identity_file(path: Path) -> x25519.Identity:
    """Read an age identity file, refusing one that others can read (keys are 0600)."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        raise SealingError(f"no identity file at {path}") from None
    if mode & 0o077:
        raise SealingError(f"{path} is readable by others (mode {mode:o}); chmod 600 it")
    for line in path.read_text("ascii", errors="replace").splitlines():
        if line.startswith("AGE-SECRET-KEY-"):
            try:
                return x25519.Identity.from_str(line.strip())
            except pyrage.IdentityError:
                break
    raise SealingError(f"{path} holds no age identity (a line AGE-SECRET-KEY-…)")
