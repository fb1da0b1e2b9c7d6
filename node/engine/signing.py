"""The node's Ed25519 signing key: it signs every answer's receipt and every ledger export.

The key is 32 random bytes in its own file (hex, mode 0600), distinct from the database key and
the pseudonym secret: whoever holds only the database cannot sign, and the signing key unlocks
no records. The public key travels in every signed message so that the aggregator can pin it.
"""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from node.store.keys import KeyError_, create_key_file, read_key_file

__all__ = ["Signer", "create_signing_key"]


class Signer:
    """Signs payloads with the node's private key."""

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._key = private_key
        self.public_key = private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)

    @classmethod
    def load(cls, path: Path | None) -> Signer:
        if path is None or not path.exists():
            raise KeyError_(
                f"no signing key at {path}; create one with `koepel node signing-key` "
                "(it must be distinct from the database key)"
            )
        return cls(Ed25519PrivateKey.from_private_bytes(read_key_file(path)))

    def sign(self, payload: bytes) -> bytes:
        return self._key.sign(payload)


def create_signing_key(path: Path) -> bytes:
    """Create a new signing key file (0600); returns the raw public key."""
    return Signer(Ed25519PrivateKey.from_private_bytes(create_key_file(path))).public_key
