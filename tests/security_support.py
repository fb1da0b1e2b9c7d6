"""Test support for security tests: a federation PKI and real node servers on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc

from node import NodeRuntime, create_server, load_node_config, open_node
from protos import pb2, pb2_grpc
from wire.tls import TlsFiles, channel_credentials, init_ca, issue

LOOPBACK = {"dns": ("localhost",), "ips": ("127.0.0.1",)}


@dataclass(frozen=True)
class Pki:
    """A federation CA, a foreign CA, and certificates for every kind of caller."""

    ca: Path
    federation: TlsFiles  # aggregator role, the querier the node's policy knows
    intruder: TlsFiles  # aggregator role, valid, but not in any node's policy
    operator: TlsFiles  # operator role (talks to the aggregator, not to nodes)
    auditor: TlsFiles  # auditor role
    other_node: TlsFiles  # another node's (server) certificate
    foreign: TlsFiles  # "federation" from another CA
    expired: TlsFiles  # "federation" from our CA, expired

    def node_files(self, node_dir: Path, node_id: str) -> TlsFiles:
        """Issue the node's own certificate into its tls/ folder, as node.toml expects."""
        return issue(self.ca, role="node", name=node_id, out=node_dir / "tls", **LOOPBACK)


def make_pki(root: Path) -> Pki:
    ca = root / "ca"
    # The CA is two years old so that a certificate can have expired while the CA has not.
    init_ca(ca, now=datetime.now(UTC) - timedelta(days=730))

    def client(folder: str, role: str, name: str, **extra: object) -> TlsFiles:
        return issue(ca, role=role, name=name, out=root / folder, **extra)  # type: ignore[arg-type]

    foreign_ca = root / "foreign-ca"
    init_ca(foreign_ca, name="someone else's CA")
    return Pki(
        ca=ca,
        federation=client("federation", "aggregator", "federation", **LOOPBACK),
        intruder=client("intruder", "aggregator", "intruder", **LOOPBACK),
        operator=client("operator", "operator", "ops"),
        auditor=client("auditor", "auditor", "dpo"),
        other_node=client("other-node", "node", "org-other", **LOOPBACK),
        foreign=issue(foreign_ca, role="aggregator", name="federation", out=root / "foreign",
                      **LOOPBACK),  # type: ignore[arg-type]
        expired=client("expired", "aggregator", "federation",
                       now=datetime.now(UTC) - timedelta(days=400), days=1, **LOOPBACK),
    )


def raw_credentials(files: TlsFiles) -> grpc.ChannelCredentials:
    """Client credentials without koepel's own checks (to present bad certificates)."""
    return grpc.ssl_channel_credentials(
        root_certificates=files.ca.read_bytes(), private_key=files.key.read_bytes(),
        certificate_chain=files.cert.read_bytes())


@contextmanager
def node_server(runtime: NodeRuntime, *, insecure: bool = False) -> Iterator[int]:
    """A real node gRPC server on a free loopback port, stopped at the end."""
    server, port = create_server(runtime, "127.0.0.1:0", insecure=insecure)
    server.start()
    try:
        yield port
    finally:
        server.stop(None).wait()


@contextmanager
def node_stub(port: int, credentials: grpc.ChannelCredentials | None
              ) -> Iterator[pb2_grpc.NodeServiceStub]:
    target = f"127.0.0.1:{port}"
    channel = (grpc.secure_channel(target, credentials) if credentials is not None
               else grpc.insecure_channel(target))
    try:
        yield pb2_grpc.NodeServiceStub(channel)
    finally:
        channel.close()


def tls_stub(port: int, files: TlsFiles) -> AbstractContextManager[pb2_grpc.NodeServiceStub]:
    return node_stub(port, channel_credentials(files))


def reopen(runtime_dir: Path) -> NodeRuntime:
    return open_node(load_node_config(runtime_dir / "node.toml"))


def query_request(query_id: str, *, measure: str = "headcount", epsilon: str = "0.1",
                  group_by: tuple[str, ...] = ("target_group",), version: str = "2025.1"
                  ) -> pb2.QueryRequest:
    return pb2.QueryRequest(query_id=query_id, spec=pb2.QuerySpec(
        catalogue_version=version, measure=measure, statistic=pb2.STATISTIC_COUNT,
        group_by=list(group_by), period="2025", epsilon=epsilon))
