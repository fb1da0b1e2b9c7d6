"""The messages nodes send, as frozen dataclasses with one canonical byte encoding each.

``MaskedInput`` (round 1): the masked vector y_u, one AES-GCM-sealed Shamir share of b_u per
member of U1 (the node itself included, so that after a restart it can get its own share back
from the aggregator like any other), and the node's signature over (query id, node id, H(y_u),
H(shares)). ``UnmaskReply`` (round 2): b-shares for survivors and pairwise seeds for dropped
nodes, never both for one node (refused at construction), signed likewise so the aggregator's
transcript can be audited. The consistency signature is a bare ECDSA signature over
``consistency_message``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

from wire.secagg.codec import Reader, Writer, check_node_id
from wire.secagg.errors import MessageError, ProtocolError
from wire.secagg.params import QUERY_ID_BYTES
from wire.secagg.primitives import SEED_BYTES, sha256
from wire.secagg.shamir import SHARE_BYTES

__all__ = [
    "SEALED_SHARE_BYTES",
    "MaskedInput",
    "UnmaskReply",
    "consistency_message",
    "round1_message",
    "round2_message",
    "share_plaintext",
    "share_value",
]

SEALED_SHARE_BYTES = 12 + 4 + SHARE_BYTES + 16  # nonce, x, f(x), GCM tag
_MASKED_TAG = b"koepel-secagg-masked-v1"
_UNMASK_TAG = b"koepel-secagg-unmask-v1"


def _sorted_unique(names: Sequence[str], what: str) -> None:
    if list(names) != sorted(set(names)):
        raise MessageError(f"{what} must be sorted by node id, each node once")
    for name in names:
        check_node_id(name)


def share_plaintext(x: int, y: int) -> bytes:
    return x.to_bytes(4, "big") + y.to_bytes(SHARE_BYTES, "big")


def share_value(plaintext: bytes) -> tuple[int, int]:
    if len(plaintext) != 4 + SHARE_BYTES:
        raise MessageError("a share has the wrong length")
    return int.from_bytes(plaintext[:4], "big"), int.from_bytes(plaintext[4:], "big")


def consistency_message(query_id: bytes, u2: Sequence[str]) -> bytes:
    return Writer(b"koepel-secagg-consistency-v1").blob(query_id).texts(sorted(u2)).getvalue()


def round1_message(query_id: bytes, node_id: str, y_hash: bytes, shares_hash: bytes) -> bytes:
    """What a node signs in round 1 (also rebuilt by an auditor from a transcript)."""
    return (Writer(b"koepel-secagg-round1-v1").blob(query_id).text(node_id).blob(y_hash)
            .blob(shares_hash).getvalue())


def round2_message(query_id: bytes, node_id: str, body_hash: bytes) -> bytes:
    """What a node signs in round 2: the hash of its revealed shares and seeds."""
    return (Writer(b"koepel-secagg-round2-v1").blob(query_id).text(node_id).blob(body_hash)
            .getvalue())


@dataclass(frozen=True)
class MaskedInput:
    """Round 1 from ``node_id``: y_u, sealed shares of b_u by recipient, and a signature."""

    node_id: str
    query_id: bytes
    masked: tuple[int, ...]
    shares: tuple[tuple[str, bytes], ...]
    signature: bytes

    def __post_init__(self) -> None:
        check_node_id(self.node_id)
        if len(self.query_id) != QUERY_ID_BYTES:
            raise MessageError("a query id is 16 bytes")
        _sorted_unique([name for name, _ in self.shares], "shares")
        if any(len(sealed) != SEALED_SHARE_BYTES for _, sealed in self.shares):
            raise MessageError(f"a sealed share from {self.node_id} has the wrong length")

    @cached_property
    def y_hash(self) -> bytes:
        return sha256(Writer(b"y").words(self.masked).getvalue())

    @cached_property
    def shares_hash(self) -> bytes:
        return sha256(Writer(b"shares").pairs(self.shares).getvalue())

    def signed_message(self) -> bytes:
        return round1_message(self.query_id, self.node_id, self.y_hash, self.shares_hash)

    def to_bytes(self) -> bytes:
        return (Writer(_MASKED_TAG).text(self.node_id).blob(self.query_id).words(self.masked)
                .pairs(self.shares).blob(self.signature).getvalue())

    @classmethod
    def from_bytes(cls, data: bytes) -> MaskedInput:
        reader = Reader(data, _MASKED_TAG)
        message = cls(reader.text(), reader.blob(exact=QUERY_ID_BYTES), reader.words(),
                      tuple(reader.pairs()), reader.blob())
        reader.end()
        return message


@dataclass(frozen=True)
class UnmaskReply:
    """Round 2 from ``node_id``: b-shares (by owner) for U2, seeds (by peer) for U1 minus U2."""

    node_id: str
    query_id: bytes
    b_shares: tuple[tuple[str, bytes], ...]
    seeds: tuple[tuple[str, bytes], ...]
    signature: bytes

    def __post_init__(self) -> None:
        check_node_id(self.node_id)
        if len(self.query_id) != QUERY_ID_BYTES:
            raise MessageError("a query id is 16 bytes")
        owners = [name for name, _ in self.b_shares]
        peers = [name for name, _ in self.seeds]
        _sorted_unique(owners, "b-shares")
        _sorted_unique(peers, "seeds")
        # The one property the whole protocol rests on: a node's self mask and its pairwise
        # masks are never both revealed, so its masked vector never becomes readable alone.
        both = set(owners) & set(peers)
        if both:
            raise ProtocolError(f"an unmask reply may not reveal both a b-share and a seed for "
                                f"{', '.join(sorted(both))}")
        if any(len(share) != 4 + SHARE_BYTES for _, share in self.b_shares):
            raise MessageError("a b-share has the wrong length")
        if any(len(seed) != SEED_BYTES for _, seed in self.seeds):
            raise MessageError("a seed has the wrong length")

    @cached_property
    def body_hash(self) -> bytes:
        return sha256(Writer(b"unmask-body").pairs(self.b_shares).pairs(self.seeds).getvalue())

    def signed_message(self) -> bytes:
        return round2_message(self.query_id, self.node_id, self.body_hash)

    def to_bytes(self) -> bytes:
        return (Writer(_UNMASK_TAG).text(self.node_id).blob(self.query_id).pairs(self.b_shares)
                .pairs(self.seeds).blob(self.signature).getvalue())

    @classmethod
    def from_bytes(cls, data: bytes) -> UnmaskReply:
        reader = Reader(data, _UNMASK_TAG)
        message = cls(reader.text(), reader.blob(exact=QUERY_ID_BYTES), tuple(reader.pairs()),
                      tuple(reader.pairs()), reader.blob())
        reader.end()
        return message
