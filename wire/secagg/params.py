"""What one secure-aggregation round is about, fixed before any vector is masked.

The aggregator draws a fresh 128-bit query id for every query: it salts every derived round
secret, pair seed and share key, so an ephemeral key rebuilt for a dropped peer in one query
unmasks nothing in another.
``u1`` are the nodes asked; ``shamir_threshold`` t' is how many shares rebuild a self mask
(t' > |U1|/2, so that two disjoint halves of the federation can never both unmask, which is
what makes the consistency round binding); ``min_survivors`` is the noise threshold t plus the
tolerated colluders c: with fewer survivors the distributed noise is too small, and the round
aborts. ``bound`` is the a-priori bound on |sum| per cell in fixed-point units: a decoded cell
beyond it means some input or reply was wrong, and the result is refused.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from wire.secagg.codec import MAX_NODES, MAX_WORDS, Reader, Writer, check_node_id
from wire.secagg.errors import MessageError, ParamsError

__all__ = ["QUERY_ID_BYTES", "RoundParams"]

QUERY_ID_BYTES = 16
_TAG = b"koepel-secagg-params-v1"
_MAX_BOUND = (1 << 63) - 1


@dataclass(frozen=True)
class RoundParams:
    """The parameters of one round; construction refuses anything no honest round could use."""

    query_id: bytes
    roster_hash: bytes
    u1: tuple[str, ...]
    shamir_threshold: int
    min_survivors: int
    vector_length: int
    bound: int

    def __post_init__(self) -> None:
        if not isinstance(self.query_id, bytes) or len(self.query_id) != QUERY_ID_BYTES:
            raise ParamsError(f"query_id must be {QUERY_ID_BYTES} random bytes")
        if not isinstance(self.roster_hash, bytes) or len(self.roster_hash) != 32:
            raise ParamsError("roster_hash must be a 32-byte SHA-256 digest")
        if not isinstance(self.u1, tuple):
            raise ParamsError("u1 must be a tuple of node ids")
        try:
            for node_id in self.u1:
                check_node_id(node_id, "a u1 entry")
        except MessageError as exc:
            raise ParamsError(str(exc)) from None
        if list(self.u1) != sorted(set(self.u1)):
            raise ParamsError("u1 must be sorted, each node once")
        n = len(self.u1)
        if not 2 <= n <= MAX_NODES:
            raise ParamsError(f"u1 must name 2 to {MAX_NODES} nodes, not {n}")
        for name in ("shamir_threshold", "min_survivors", "vector_length", "bound"):
            if type(getattr(self, name)) is not int:
                raise ParamsError(f"{name} must be an integer")
        if not n / 2 < self.shamir_threshold <= n:
            raise ParamsError(f"shamir_threshold must be more than half of |U1| = {n} and at "
                              f"most {n}, not {self.shamir_threshold}")
        if not 1 <= self.min_survivors <= n:
            raise ParamsError(f"min_survivors must be between 1 and |U1| = {n}, not "
                              f"{self.min_survivors}")
        if not 1 <= self.vector_length <= MAX_WORDS:
            raise ParamsError(f"vector_length must be between 1 and {MAX_WORDS}")
        if not 0 <= self.bound <= _MAX_BOUND:
            raise ParamsError("bound must be between 0 and 2^63 - 1")

    @classmethod
    def new(cls, *, roster_hash: bytes, u1: Sequence[str], shamir_threshold: int,
            min_survivors: int, vector_length: int, bound: int) -> RoundParams:
        """Parameters for a new query, with a fresh random query id."""
        return cls(secrets.token_bytes(QUERY_ID_BYTES), roster_hash, tuple(sorted(u1)),
                   shamir_threshold, min_survivors, vector_length, bound)

    def index(self, node_id: str) -> int:
        """The Shamir x-coordinate of ``node_id``: its position in U1 plus one."""
        return self.u1.index(node_id) + 1

    def to_bytes(self) -> bytes:
        return (Writer(_TAG).blob(self.query_id).blob(self.roster_hash).texts(self.u1)
                .u32(self.shamir_threshold).u32(self.min_survivors).u32(self.vector_length)
                .blob(self.bound.to_bytes(8, "big")).getvalue())

    @classmethod
    def from_bytes(cls, data: bytes) -> RoundParams:
        reader = Reader(data, _TAG)
        query_id, roster_hash = reader.blob(exact=QUERY_ID_BYTES), reader.blob(exact=32)
        u1 = tuple(reader.texts())
        threshold, survivors, length = reader.u32(), reader.u32(), reader.u32()
        bound = int.from_bytes(reader.blob(exact=8), "big")
        reader.end()
        try:
            return cls(query_id, roster_hash, u1, threshold, survivors, length, bound)
        except ParamsError as exc:
            raise MessageError(str(exc)) from None

    def describe(self) -> dict[str, object]:
        """A JSON-able view for transcripts and logs."""
        return {"query_id": self.query_id.hex(), "roster_hash": self.roster_hash.hex(),
                "u1": list(self.u1), "shamir_threshold": self.shamir_threshold,
                "min_survivors": self.min_survivors, "vector_length": self.vector_length,
                "bound": self.bound}
