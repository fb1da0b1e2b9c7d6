"""Wire-level conventions shared by both ends, beside the generated contract.

Transport limits live here so that servers and the clients that talk to them agree: a client
that pings more often than the server tolerates is disconnected (``too_many_pings``), so the
keepalive policy is one pair of numbers, not two guesses.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path

__all__ = ["MAX_METADATA_BYTES", "MAX_REQUEST_BYTES", "QUERIER_HEADER", "channel_options",
           "check_loopback", "request_limit", "server_options", "write_port_file"]

# Demo/test mode only (plaintext on loopback): the caller names itself in this metadata header.
# With mutual TLS the identity comes from the verified client certificate instead, and this
# header is ignored.
QUERIER_HEADER = "x-koepel-querier"

MAX_METADATA_BYTES = 16 * 1024
# Servers ping an idle connection every 2 minutes and drop it when the ping is not answered
# within 20 s; they accept client pings at most every 60 s (two strikes and the client is
# disconnected), and close connections idle for 15 minutes.
_SERVER_KEEPALIVE_MS = 120_000
_SERVER_KEEPALIVE_TIMEOUT_MS = 20_000
_MIN_CLIENT_PING_MS = 60_000
_CLIENT_KEEPALIVE_MS = 90_000  # >= _MIN_CLIENT_PING_MS, or servers would strike the client


def server_options(*, max_receive_bytes: int, max_send_bytes: int,
                   max_concurrent_streams: int) -> list[tuple[str, int]]:
    """gRPC server options: message sizes, streams per connection, keepalive/ping policy."""
    return [
        ("grpc.max_receive_message_length", max_receive_bytes),
        ("grpc.max_send_message_length", max_send_bytes),
        ("grpc.max_concurrent_streams", max_concurrent_streams),
        ("grpc.max_metadata_size", MAX_METADATA_BYTES),
        ("grpc.keepalive_time_ms", _SERVER_KEEPALIVE_MS),
        ("grpc.keepalive_timeout_ms", _SERVER_KEEPALIVE_TIMEOUT_MS),
        ("grpc.keepalive_permit_without_calls", 1),
        ("grpc.http2.min_recv_ping_interval_without_data_ms", _MIN_CLIENT_PING_MS),
        ("grpc.http2.max_ping_strikes", 2),
        ("grpc.max_connection_idle_ms", 15 * 60_000),
    ]


def channel_options(*, max_receive_bytes: int) -> list[tuple[str, int]]:
    """gRPC channel options matching :func:`server_options`' keepalive policy."""
    return [
        ("grpc.max_receive_message_length", max_receive_bytes),
        ("grpc.max_send_message_length", 1 << 20),
        ("grpc.keepalive_time_ms", _CLIENT_KEEPALIVE_MS),
        ("grpc.keepalive_timeout_ms", _SERVER_KEEPALIVE_TIMEOUT_MS),
        ("grpc.keepalive_permit_without_calls", 0),
        ("grpc.http2.max_pings_without_data", 2),
    ]


MAX_REQUEST_BYTES = 64 * 1024  # a query is a few hundred bytes: anything larger is refused
# Secure aggregation carries the round's roster (≈0.8 KB a node), U1' with each member's signed
# ephemeral key (≈0.15 KB a node, round 1) and the sealed shares addressed to one node (≈0.2 KB
# a node, unmask): up to 500 organisations, well under 1 MiB.
_LARGER_REQUESTS = {
    "/koepel.v1.NodeService/SecureShareKeys": 2 << 20,
    "/koepel.v1.NodeService/SecureMask": 2 << 20,
    "/koepel.v1.NodeService/SecureConsistency": 256 * 1024,
    "/koepel.v1.NodeService/SecureUnmask": 2 << 20,
    # A published sector result: up to the catalogue's 2000 cells of ~150 bytes each.
    "/koepel.v1.NodeService/ReceiveSectorResult": 1 << 20,
}


def request_limit(method: str) -> int:
    """The largest request ``method`` accepts, in bytes (checked by the gate before parsing)."""
    return _LARGER_REQUESTS.get(method, MAX_REQUEST_BYTES)


def check_loopback(address: str) -> None:
    """Refuse a plaintext listener or target anywhere but loopback."""
    host = address.rsplit(":", 1)[0].strip("[]")
    if host == "localhost":
        return
    try:
        if ipaddress.ip_address(host).is_loopback:
            return
    except ValueError:
        pass
    raise ValueError(f"--insecure serves plaintext and is allowed on loopback only, not {host}")


def write_port_file(path: Path | None, port: int) -> None:
    """Write the port a server got (``--port-file``), atomically: readers never see half of it.

    A server asked for port 0 learns its port only once bound; supervisors and tests read it
    from this file, so it appears whole or not at all.
    """
    if path is not None:
        tmp = path.with_suffix(".tmp")
        tmp.write_text(f"{port}\n")
        tmp.replace(path)
