"""Every way a secure-aggregation round can be refused, as one family of exceptions.

Callers map the family to gRPC codes: a ``MessageError`` or ``ParamsError`` is the peer's
malformed input (``INVALID_ARGUMENT``); ``RosterError``, ``SignatureError``, ``ShareError`` and
``ConsistencyError`` are evidence of a forged or tampered message (``PERMISSION_DENIED``, and
worth an alert); ``ReplayError`` is a second unmask or a reused query id
(``FAILED_PRECONDITION``); ``AbortError`` ends the round without a result (too few key
holders or survivors, too few signatures or unmask replies) and ``BoundError`` refuses a
decoded sum that cannot be right. Messages name nodes and phases, never a key, a share, a seed
or a vector value.
"""

from __future__ import annotations

__all__ = [
    "AbortError",
    "BoundError",
    "ConsistencyError",
    "MessageError",
    "ParamsError",
    "ProtocolError",
    "ReplayError",
    "RosterError",
    "SecAggError",
    "ShareError",
    "SignatureError",
]


class SecAggError(Exception):
    """A secure-aggregation step was refused; the message says which and why."""


class MessageError(SecAggError):
    """A message does not decode: wrong tag, wrong length, trailing bytes, bad field."""


class ParamsError(SecAggError):
    """Round parameters that no honest round could use (threshold, sizes, ids)."""


class RosterError(SecAggError):
    """A roster entry or roster that does not verify against the federation CA."""


class SignatureError(SecAggError):
    """A signature that does not verify under the signer's certified key."""


class ShareError(SecAggError):
    """An encrypted share that does not decrypt (tampered, misaddressed) or does not fit."""


class ConsistencyError(SecAggError):
    """Sets that disagree: the aggregator showed different (U1', U2) to different nodes."""


class ProtocolError(SecAggError):
    """A step out of order: not in U1, a second submission, a closed phase, a wrong query id."""


class ReplayError(SecAggError):
    """A second unmask for one query id: refused, whatever the aggregator says."""


class AbortError(SecAggError):
    """The round cannot produce a result (too few survivors or replies); no sum is released."""


class BoundError(SecAggError):
    """A decoded cell exceeds the a-priori bound: some input or unmask reply was wrong."""
