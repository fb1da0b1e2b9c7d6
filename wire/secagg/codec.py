"""A small, strict, canonical binary encoding for secure-aggregation messages.

Every message is carried by the gRPC layer as opaque ``bytes`` and hashed or signed as such,
so one value must have exactly one encoding: fixed-width big-endian lengths, no optional
fields, no padding, sorted maps, and a decoder that refuses trailing bytes, oversize lengths
and out-of-range words. No pickle, no JSON: nothing a peer sends is ever evaluated.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence

from wire.secagg.errors import MessageError
from wire.tls import PeerIdentity

__all__ = ["MAX_BLOB", "MAX_NODES", "MAX_WORDS", "Reader", "Writer", "check_node_id"]

MAX_WORDS = 1 << 20  # cells in one vector
MAX_NODES = 10_000  # parties in one round
MAX_BLOB = 1 << 16  # one certificate, signature, key or share
_WORD = 1 << 64
_LENGTH = struct.Struct(">I")


def check_node_id(node_id: object, what: str = "node id") -> str:
    """A node id is a koepel certificate name (``koepel://node/NAME``); anything else is refused."""
    if not isinstance(node_id, str) or PeerIdentity.from_uri(f"koepel://node/{node_id}") is None:
        raise MessageError(f"{what} {node_id!r} is not a valid node name")
    return node_id


class Writer:
    """Append fields; ``getvalue()`` is the canonical encoding."""

    def __init__(self, tag: bytes) -> None:
        self._parts: list[bytes] = [struct.pack(">B", len(tag)), tag]

    def u32(self, value: int) -> Writer:
        if not 0 <= value < 1 << 32:
            raise MessageError(f"{value} does not fit in 32 bits")
        self._parts.append(struct.pack(">I", value))
        return self

    def blob(self, data: bytes, *, limit: int = MAX_BLOB) -> Writer:
        if len(data) > limit:
            raise MessageError(f"a field of {len(data)} bytes exceeds {limit}")
        self.u32(len(data))
        self._parts.append(bytes(data))
        return self

    def text(self, value: str) -> Writer:
        return self.blob(value.encode("utf-8"), limit=255)

    def texts(self, values: Iterable[str]) -> Writer:
        items = list(values)
        self.u32(len(items))
        for item in items:
            self._sized(item.encode("utf-8"), 255)
        return self

    def _sized(self, data: bytes, limit: int) -> None:
        if len(data) > limit:
            raise MessageError(f"a field of {len(data)} bytes exceeds {limit}")
        self._parts.append(_LENGTH.pack(len(data)))
        self._parts.append(data)

    def words(self, values: Sequence[int]) -> Writer:
        if len(values) > MAX_WORDS:
            raise MessageError(f"a vector of {len(values)} cells exceeds {MAX_WORDS}")
        for value in values:
            if not 0 <= value < _WORD:
                raise MessageError("a vector word is outside [0, 2^64)")
        self.u32(len(values))
        self._parts.append(struct.pack(f">{len(values)}Q", *values))
        return self

    def pairs(self, items: Sequence[tuple[str, bytes]]) -> Writer:
        self.u32(len(items))
        for name, data in items:  # the hot path of hashing 500 shares: no per-field calls
            self._sized(name.encode("utf-8"), 255)
            self._sized(bytes(data), MAX_BLOB)
        return self

    def getvalue(self) -> bytes:
        return b"".join(self._parts)


class Reader:
    """Read fields back in order; every read checks bounds, ``end()`` refuses leftovers."""

    def __init__(self, data: bytes, tag: bytes) -> None:
        if not isinstance(data, bytes | bytearray | memoryview):
            raise MessageError("a message must be bytes")
        self._data = bytes(data)
        self._pos = 0
        if self._take(1) != bytes([len(tag)]) or self._take(len(tag)) != tag:
            raise MessageError(f"not a {tag.decode()} message")

    def _take(self, size: int) -> bytes:
        end = self._pos + size
        if end > len(self._data):
            raise MessageError("message is truncated")
        chunk = self._data[self._pos:end]
        self._pos = end
        return chunk

    def u32(self) -> int:
        value: int = struct.unpack(">I", self._take(4))[0]
        return value

    def blob(self, *, limit: int = MAX_BLOB, exact: int | None = None) -> bytes:
        size = self.u32()
        if size > limit:
            raise MessageError(f"a field of {size} bytes exceeds {limit}")
        if exact is not None and size != exact:
            raise MessageError(f"a field of {size} bytes where {exact} are expected")
        return self._take(size)

    def text(self) -> str:
        try:
            return self.blob(limit=255).decode("utf-8")
        except UnicodeDecodeError:
            raise MessageError("a text field is not UTF-8") from None

    def count(self, limit: int) -> int:
        size = self.u32()
        if size > limit:
            raise MessageError(f"{size} items exceed {limit}")
        return size

    def texts(self, *, limit: int = MAX_NODES) -> list[str]:
        return [self.text() for _ in range(self.count(limit))]

    def words(self) -> tuple[int, ...]:
        size = self.count(MAX_WORDS)
        return tuple(struct.unpack(f">{size}Q", self._take(8 * size)))

    def pairs(self, *, limit: int = MAX_NODES) -> list[tuple[str, bytes]]:
        return [(self.text(), self.blob()) for _ in range(self.count(limit))]

    def end(self) -> None:
        if self._pos != len(self._data):
            raise MessageError(f"{len(self._data) - self._pos} trailing bytes")
