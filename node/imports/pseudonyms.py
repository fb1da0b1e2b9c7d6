"""Pseudonymous ids: an HMAC of the organisation's own id under the node's secret.

The raw id (a staff number, a national number) is never stored; the same raw id always maps to
the same pseudonym on this node, so re-importing a file updates rather than duplicates.
"""

from __future__ import annotations

import hmac

__all__ = ["Pseudonymiser"]


class Pseudonymiser:
    """Keyed, deterministic, one-way mapping from raw ids to pseudonyms."""

    def __init__(self, secret: bytes) -> None:
        if len(secret) < 32:
            raise ValueError("the pseudonym secret must be at least 32 bytes")
        self._secret = secret

    def pseudonym(self, kind: str, raw_id: str) -> str:
        """The pseudonym of ``raw_id`` within ``kind`` (person, contract, …)."""
        message = f"{kind}\x00{raw_id}".encode()
        # hmac.digest is the one-shot C path: the same HMAC-SHA256, several times faster than
        # building an hmac object per id (an import computes one or two per row).
        return hmac.digest(self._secret, message, "sha256").hex()[:32]
