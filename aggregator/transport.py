"""How the aggregator reaches nodes: a small protocol and its grpc.aio implementation.

Fan-out logic depends on :class:`NodeTransport` only, so it is tested without a network.
Channels are opened once per node and kept: a warm channel makes a call 2.5–3× cheaper.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

import grpc
from google.protobuf.message import DecodeError
from google.rpc import error_details_pb2, status_pb2

from aggregator.federation import NodeEntry
from protos import pb2, pb2_grpc
from wire.limits import QUERIER_HEADER, channel_options
from wire.tls import PeerIdentity, identity_host

__all__ = ["GrpcTransport", "NodeQueryError", "NodeTransport"]

_DETAILS_KEY = "grpc-status-details-bin"
# What gRPC's TLS says when a server's certificate does not carry the name we demanded.
_IDENTITY_REFUSED = "Hostname Verification Check failed"
# gRPC's default reconnect back-off grows to 120 s: a node that was down for a while would then
# look unreachable for up to two minutes after it is back. A federation's nodes restart (updates,
# reboots), so the aggregator tries again within a few seconds.
_CHANNEL_OPTIONS = (
    ("grpc.initial_reconnect_backoff_ms", 200),
    ("grpc.min_reconnect_backoff_ms", 200),
    ("grpc.max_reconnect_backoff_ms", 5000),
)


class NodeQueryError(Exception):
    """A node did not answer: which node, the gRPC status code and the machine-readable reason."""

    def __init__(self, node_id: str, code: grpc.StatusCode, reason: str, message: str,
                 metadata: Mapping[str, str] | None = None) -> None:
        self.node_id = node_id
        self.code = code
        self.reason = reason
        self.message = message
        self.metadata: Mapping[str, str] = dict(metadata or {})
        super().__init__(f"{node_id}: {code.name} {reason}: {message}")


class NodeTransport(Protocol):
    async def query(self, node: NodeEntry, request: pb2.QueryRequest,
                    timeout: float) -> pb2.QueryResponse: ...

    async def describe(self, node: NodeEntry, timeout: float) -> pb2.DescribeResponse: ...

    async def budget(self, node: NodeEntry, timeout: float) -> pb2.BudgetResponse: ...

    async def close(self) -> None: ...


def expected_identity(node: NodeEntry) -> str:
    """The certificate name a node must present: its registered identity, else its id."""
    return node.certificate_identity or node.node_id


def _error_info(error: grpc.aio.AioRpcError) -> tuple[str, dict[str, str]]:
    """The machine-readable reason and metadata of a node's refusal (its ErrorInfo detail)."""
    for key, value in error.trailing_metadata() or ():
        if key == _DETAILS_KEY and isinstance(value, bytes):
            try:
                status = status_pb2.Status.FromString(value)
            except DecodeError:
                break
            for detail in status.details:
                info = error_details_pb2.ErrorInfo()
                if detail.Unpack(info):
                    return info.reason, dict(info.metadata)
    return error.code().name, {}


class GrpcTransport:
    """grpc.aio channels to every node, presenting the federation's querier identity.

    With ``credentials`` (mutual TLS, the default) the identity is the aggregator's client
    certificate and no header is sent; without, channels are plaintext and the identity is a
    header (loopback demos only: the caller checks the addresses).
    """

    def __init__(self, querier_identity: str,
                 credentials: grpc.ChannelCredentials | None = None) -> None:
        self._credentials = credentials
        self._metadata = () if credentials else ((QUERIER_HEADER, querier_identity),)
        self._stubs: dict[str, tuple[grpc.aio.Channel, pb2_grpc.NodeServiceStub]] = {}

    def _stub(self, node: NodeEntry) -> pb2_grpc.NodeServiceStub:
        entry = self._stubs.get(node.node_id)
        if entry is None:
            options: list[tuple[str, str | int]] = [
                *channel_options(max_receive_bytes=16 << 20), *_CHANNEL_OPTIONS]
            if self._credentials:  # the handshake itself demands the registered identity
                options.append(("grpc.ssl_target_name_override",
                                identity_host(PeerIdentity("node", expected_identity(node)))))
            channel = (grpc.aio.secure_channel(node.address, self._credentials, options=options)
                       if self._credentials else
                       grpc.aio.insecure_channel(node.address, options=options))
            entry = (channel, pb2_grpc.NodeServiceStub(channel))
            self._stubs[node.node_id] = entry
        return entry[1]

    async def _call(self, node: NodeEntry, method: str, request: object,
                    timeout: float) -> Any:
        try:
            return await getattr(self._stub(node), method)(
                request, timeout=timeout, metadata=self._metadata
            )
        except grpc.aio.AioRpcError as error:
            if _IDENTITY_REFUSED in (error.details() or ""):
                raise NodeQueryError(
                    node.node_id, grpc.StatusCode.PERMISSION_DENIED, "IDENTITY_MISMATCH",
                    f"the server at {node.address} does not present the certificate of "
                    f"{expected_identity(node)!r} registered for {node.node_id} in "
                    "federation.toml (certificate_identity); check the address and the "
                    "registration", {}) from None
            reason, metadata = _error_info(error)
            raise NodeQueryError(node.node_id, error.code(), reason, error.details() or "",
                                 metadata) from None

    async def query(self, node: NodeEntry, request: pb2.QueryRequest,
                    timeout: float) -> pb2.QueryResponse:
        return await self._call(node, "Query", request, timeout)

    async def describe(self, node: NodeEntry, timeout: float) -> pb2.DescribeResponse:
        return await self._call(node, "Describe", pb2.DescribeRequest(), timeout)

    async def budget(self, node: NodeEntry, timeout: float) -> pb2.BudgetResponse:
        return await self._call(node, "Budget", pb2.BudgetRequest(), timeout)

    async def close(self) -> None:
        for channel, _ in self._stubs.values():
            await channel.close()
        self._stubs.clear()
