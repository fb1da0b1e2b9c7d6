"""The messages nodes send, as frozen dataclasses with one canonical byte encoding each.

``KeyShares`` (share keys, before any data is read): the node's ephemeral X25519 public key for
this round and, for every member of U1 (itself included, so that it needs no state to take
part in unmasking), one AES-GCM-sealed plaintext (x, share of b_u, share of the ephemeral
secret), signed over (query id, node id, ephemeral key, H(sealed shares)). What round 1 carries
to every node is the ``KeyAdvert`` of each member of U1' (the same without the sealed shares):
enough to check the signature and to agree a pair seed. ``MaskedInput`` (round 1): y_u, signed
over (query id, node id, H(y_u), H(the adverts it masked against)). ``UnmaskReply`` (round 2):
b-shares for owners in U2 and ephemeral-secret shares for owners in U1' minus U2, never both for
one owner (refused at construction), signed likewise. The consistency signature is a bare
ECDSA signature over ``consistency_message`` (query id, U1', U2).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

from wire.secagg.codec import MAX_NODES, Reader, Writer, check_node_id
from wire.secagg.errors import MessageError, ProtocolError
from wire.secagg.params import QUERY_ID_BYTES
from wire.secagg.primitives import sha256
from wire.secagg.shamir import SHARE_BYTES

__all__ = [
    "EPHEMERAL_BYTES",
    "PROTOCOL",
    "REVEALED_SHARE_BYTES",
    "SEALED_SHARE_BYTES",
    "KeyAdvert",
    "KeyShares",
    "MaskedInput",
    "UnmaskReply",
    "adverts_hash",
    "consistency_message",
    "decode_adverts",
    "encode_adverts",
    "keys_message",
    "round1_message",
    "round2_message",
    "share_plaintext",
    "share_value",
    "split_plaintext",
]

PROTOCOL = "bonawitz-ccs17-full-graph-pki/v2"  # named in every transcript
EPHEMERAL_BYTES = 32
REVEALED_SHARE_BYTES = 4 + SHARE_BYTES  # x, f(x): one share as revealed in round 2
SEALED_SHARE_BYTES = 12 + 4 + 2 * SHARE_BYTES + 16  # nonce, x, b-share, key share, GCM tag
_KEYS_TAG = b"koepel-secagg-keys-v1"
_ADVERTS_TAG = b"koepel-secagg-adverts-v1"
_MASKED_TAG = b"koepel-secagg-masked-v2"
_UNMASK_TAG = b"koepel-secagg-unmask-v2"


def _sorted_unique(names: Sequence[str], what: str) -> None:
    if list(names) != sorted(set(names)):
        raise MessageError(f"{what} must be sorted by node id, each node once")
    for name in names:
        check_node_id(name)


def _check_query_id(query_id: bytes) -> None:
    if len(query_id) != QUERY_ID_BYTES:
        raise MessageError("a query id is 16 bytes")


def share_plaintext(x: int, b_share: int, key_share: int) -> bytes:
    """What one node seals to another: its x, and its shares of b_u and of the ephemeral key."""
    return (x.to_bytes(4, "big") + b_share.to_bytes(SHARE_BYTES, "big")
            + key_share.to_bytes(SHARE_BYTES, "big"))


def split_plaintext(plain: bytes) -> tuple[int, bytes, bytes]:
    """x, and the two revealable shares x || b-share and x || key share, of an opened share."""
    if len(plain) != 4 + 2 * SHARE_BYTES:
        raise MessageError("a share has the wrong length")
    x = plain[:4]
    return int.from_bytes(x, "big"), x + plain[4:4 + SHARE_BYTES], x + plain[4 + SHARE_BYTES:]


def share_value(revealed: bytes) -> tuple[int, int]:
    """(x, f(x)) of one revealed share (x || f(x), as in an unmask reply)."""
    if len(revealed) != REVEALED_SHARE_BYTES:
        raise MessageError("a share has the wrong length")
    return int.from_bytes(revealed[:4], "big"), int.from_bytes(revealed[4:], "big")


def consistency_message(query_id: bytes, u1_prime: Sequence[str], u2: Sequence[str]) -> bytes:
    return (Writer(b"koepel-secagg-consistency-v2").blob(query_id).texts(sorted(u1_prime))
            .texts(sorted(u2)).getvalue())


def keys_message(query_id: bytes, node_id: str, ephemeral_public: bytes,
                 shares_hash: bytes) -> bytes:
    """What a node signs when it shares its keys (also rebuilt by round-1 peers and auditors)."""
    return (Writer(b"koepel-secagg-keys-v1").blob(query_id).text(node_id).blob(ephemeral_public)
            .blob(shares_hash).getvalue())


def round1_message(query_id: bytes, node_id: str, y_hash: bytes, keys_hash: bytes) -> bytes:
    """What a node signs in round 1 (also rebuilt by an auditor from a transcript)."""
    return (Writer(b"koepel-secagg-round1-v2").blob(query_id).text(node_id).blob(y_hash)
            .blob(keys_hash).getvalue())


def round2_message(query_id: bytes, node_id: str, body_hash: bytes) -> bytes:
    """What a node signs in round 2: the hash of its revealed shares."""
    return (Writer(b"koepel-secagg-round2-v2").blob(query_id).text(node_id).blob(body_hash)
            .getvalue())


@dataclass(frozen=True)
class KeyAdvert:
    """One member of U1' as round 1 shows it: its ephemeral key and its signed key message."""

    node_id: str
    ephemeral_public: bytes
    shares_hash: bytes
    signature: bytes

    def __post_init__(self) -> None:
        check_node_id(self.node_id)
        if len(self.ephemeral_public) != EPHEMERAL_BYTES or len(self.shares_hash) != 32:
            raise MessageError(f"the key advert of {self.node_id} is malformed")

    def signed_message(self, query_id: bytes) -> bytes:
        return keys_message(query_id, self.node_id, self.ephemeral_public, self.shares_hash)


def encode_adverts(adverts: Sequence[KeyAdvert]) -> bytes:
    """U1' with each member's advert, sorted by node id: the bytes round 1 carries."""
    _sorted_unique([a.node_id for a in adverts], "key adverts")
    writer = Writer(_ADVERTS_TAG).u32(len(adverts))
    for a in adverts:
        writer.text(a.node_id).blob(a.ephemeral_public).blob(a.shares_hash).blob(a.signature)
    return writer.getvalue()


def decode_adverts(data: bytes) -> tuple[KeyAdvert, ...]:
    reader = Reader(data, _ADVERTS_TAG)
    adverts = tuple(KeyAdvert(reader.text(), reader.blob(exact=EPHEMERAL_BYTES),
                              reader.blob(exact=32), reader.blob())
                    for _ in range(reader.count(MAX_NODES)))
    reader.end()
    _sorted_unique([a.node_id for a in adverts], "key adverts")
    return adverts


def adverts_hash(adverts: Sequence[KeyAdvert]) -> bytes:
    """The hash a node signs in round 1: which U1', with which keys, it masked against."""
    return sha256(encode_adverts(adverts))


@dataclass(frozen=True)
class KeyShares:
    """Share keys from ``node_id``: its ephemeral key, sealed shares by recipient, a signature."""

    node_id: str
    query_id: bytes
    ephemeral_public: bytes
    shares: tuple[tuple[str, bytes], ...]
    signature: bytes

    def __post_init__(self) -> None:
        check_node_id(self.node_id)
        _check_query_id(self.query_id)
        if len(self.ephemeral_public) != EPHEMERAL_BYTES:
            raise MessageError(f"the ephemeral key of {self.node_id} is not 32 bytes")
        _sorted_unique([name for name, _ in self.shares], "shares")
        if any(len(sealed) != SEALED_SHARE_BYTES for _, sealed in self.shares):
            raise MessageError(f"a sealed share from {self.node_id} has the wrong length")

    @cached_property
    def shares_hash(self) -> bytes:
        return sha256(Writer(b"shares").pairs(self.shares).getvalue())

    def signed_message(self) -> bytes:
        return keys_message(self.query_id, self.node_id, self.ephemeral_public,
                            self.shares_hash)

    def advert(self) -> KeyAdvert:
        return KeyAdvert(self.node_id, self.ephemeral_public, self.shares_hash, self.signature)

    def to_bytes(self) -> bytes:
        return (Writer(_KEYS_TAG).text(self.node_id).blob(self.query_id)
                .blob(self.ephemeral_public).pairs(self.shares).blob(self.signature).getvalue())

    @classmethod
    def from_bytes(cls, data: bytes) -> KeyShares:
        reader = Reader(data, _KEYS_TAG)
        message = cls(reader.text(), reader.blob(exact=QUERY_ID_BYTES),
                      reader.blob(exact=EPHEMERAL_BYTES), tuple(reader.pairs()), reader.blob())
        reader.end()
        return message


@dataclass(frozen=True)
class MaskedInput:
    """Round 1 from ``node_id``: y_u, the hash of the adverts it masked against, a signature."""

    node_id: str
    query_id: bytes
    masked: tuple[int, ...]
    keys_hash: bytes
    signature: bytes

    def __post_init__(self) -> None:
        check_node_id(self.node_id)
        _check_query_id(self.query_id)
        if len(self.keys_hash) != 32:
            raise MessageError("a keys hash is 32 bytes")

    @cached_property
    def y_hash(self) -> bytes:
        return sha256(Writer(b"y").words(self.masked).getvalue())

    def signed_message(self) -> bytes:
        return round1_message(self.query_id, self.node_id, self.y_hash, self.keys_hash)

    def to_bytes(self) -> bytes:
        return (Writer(_MASKED_TAG).text(self.node_id).blob(self.query_id).words(self.masked)
                .blob(self.keys_hash).blob(self.signature).getvalue())

    @classmethod
    def from_bytes(cls, data: bytes) -> MaskedInput:
        reader = Reader(data, _MASKED_TAG)
        message = cls(reader.text(), reader.blob(exact=QUERY_ID_BYTES), reader.words(),
                      reader.blob(exact=32), reader.blob())
        reader.end()
        return message


@dataclass(frozen=True)
class UnmaskReply:
    """Round 2 from ``node_id``: b-shares (by owner) for U2, ephemeral-key shares (by owner)
    for U1' minus U2."""

    node_id: str
    query_id: bytes
    b_shares: tuple[tuple[str, bytes], ...]
    key_shares: tuple[tuple[str, bytes], ...]
    signature: bytes

    def __post_init__(self) -> None:
        check_node_id(self.node_id)
        _check_query_id(self.query_id)
        owners = [name for name, _ in self.b_shares]
        dropped = [name for name, _ in self.key_shares]
        _sorted_unique(owners, "b-shares")
        _sorted_unique(dropped, "key shares")
        # The one property the whole protocol rests on: a node's self mask and its pairwise
        # masks are never both revealed, so its masked vector never becomes readable alone.
        both = set(owners) & set(dropped)
        if both:
            raise ProtocolError(f"an unmask reply may not reveal both a b-share and a key share "
                                f"for {', '.join(sorted(both))}")
        if any(len(share) != REVEALED_SHARE_BYTES
               for _, share in self.b_shares + self.key_shares):
            raise MessageError("a revealed share has the wrong length")

    @cached_property
    def body_hash(self) -> bytes:
        return sha256(Writer(b"unmask-body").pairs(self.b_shares).pairs(self.key_shares)
                      .getvalue())

    def signed_message(self) -> bytes:
        return round2_message(self.query_id, self.node_id, self.body_hash)

    def to_bytes(self) -> bytes:
        return (Writer(_UNMASK_TAG).text(self.node_id).blob(self.query_id).pairs(self.b_shares)
                .pairs(self.key_shares).blob(self.signature).getvalue())

    @classmethod
    def from_bytes(cls, data: bytes) -> UnmaskReply:
        reader = Reader(data, _UNMASK_TAG)
        message = cls(reader.text(), reader.blob(exact=QUERY_ID_BYTES), tuple(reader.pairs()),
                      tuple(reader.pairs()), reader.blob())
        reader.end()
        return message
