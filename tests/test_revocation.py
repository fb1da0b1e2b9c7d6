"""Revoked certificates stop working on the next call; certificates renew for short periods.

Real TLS servers on loopback and `koepel certs` as a subprocess. Before this, a stolen
aggregator or operator key kept working until its certificate expired (a year by default).
"""

from __future__ import annotations

import asyncio
import shutil
import time
from pathlib import Path

import grpc
import pytest
from clirun import koepel
from conftest import create_node
from cryptography import x509
from security_support import LOOPBACK, Pki, make_pki, node_server, reopen, tls_stub

from aggregator import build_aggregator, create_server, load_federation, render_federation
from node import create_server as create_node_server
from protos import pb2, pb2_grpc
from wire.lifecycle import CA_CRL, renew, revoke
from wire.tls import CertError, channel_credentials, describe_certificate, init_ca, issue


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    return make_pki(tmp_path / "pki")


def _refusal(call: object) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.RpcError) as caught:
        call()  # type: ignore[operator]
    error = caught.value
    return error.code(), error.details()  # type: ignore[attr-defined]


def test_a_revoked_aggregator_certificate_is_refused_on_its_next_call(
        tmp_path: Path, pki: Pki) -> None:
    directory = tmp_path / "node"
    create_node(directory, queriers={"federation": "5", "intruder": "5"})
    pki.node_files(directory, "org-test")
    runtime = reopen(directory)
    try:
        with node_server(runtime) as port, tls_stub(port, pki.federation) as federation, \
                tls_stub(port, pki.intruder) as intruder:
            assert federation.Describe(pb2.DescribeRequest(), timeout=10).node_id == "org-test"
            assert intruder.Describe(pb2.DescribeRequest(), timeout=10).node_id == "org-test"
            done = koepel("certs", "revoke", "--ca", pki.ca, pki.intruder.cert)
            assert done.returncode == 0, done.stderr
            shutil.copy(pki.ca / CA_CRL, directory / "tls" / CA_CRL)  # as an operator would
            time.sleep(1.2)  # the node re-reads a changed list at most once a second
            code, message = _refusal(lambda: intruder.Describe(pb2.DescribeRequest(),
                                                               timeout=10))
            assert code == grpc.StatusCode.UNAUTHENTICATED and "revoked" in message
            assert federation.Describe(pb2.DescribeRequest(), timeout=10).node_id == "org-test"
        assert runtime.engine.ledger.entries() == []
    finally:
        runtime.close()


def test_a_revocation_list_from_another_ca_stops_the_node_from_starting(
        tmp_path: Path, pki: Pki) -> None:
    directory = tmp_path / "node"
    create_node(directory)
    pki.node_files(directory, "org-test")
    other = tmp_path / "other-ca"
    init_ca(other, name="someone else's CA")
    stranger = issue(other, role="operator", name="x", out=tmp_path / "x")
    revoke(other, stranger.cert)
    shutil.copy(other / CA_CRL, directory / "tls" / CA_CRL)
    runtime = reopen(directory)
    try:
        with pytest.raises(CertError, match="not signed by the federation CA"):
            create_node_server(runtime, "127.0.0.1:0", insecure=False)
    finally:
        runtime.close()


def test_the_aggregator_refuses_a_revoked_operator(tmp_path: Path, pki: Pki) -> None:
    issue(pki.ca, role="aggregator", name="federation", out=tmp_path / "tls", **LOOPBACK)
    (tmp_path / "federation.toml").write_text(render_federation(
        name="t", querier_identity="federation", nodes=[]))
    revoke(pki.ca, pki.operator.cert)
    shutil.copy(pki.ca / CA_CRL, tmp_path / "tls" / CA_CRL)
    config = load_federation(tmp_path / "federation.toml")

    async def scenario() -> tuple[grpc.StatusCode, str]:
        aggregator = build_aggregator(config)
        server, port = await create_server(aggregator, "127.0.0.1:0", insecure=False)
        await server.start()
        try:
            async with grpc.aio.secure_channel(
                    f"127.0.0.1:{port}", channel_credentials(pki.operator)) as channel:
                try:
                    await pb2_grpc.AggregatorServiceStub(channel).ListNodes(
                        pb2.ListNodesRequest(), timeout=10)
                except grpc.aio.AioRpcError as error:
                    return error.code(), error.details() or ""
                return grpc.StatusCode.OK, ""
        finally:
            await server.stop(None)
            await aggregator.close()

    code, message = asyncio.run(scenario())
    assert code == grpc.StatusCode.UNAUTHENTICATED and "revoked" in message


def test_renew_keeps_identity_key_and_addresses_and_refuses_a_revoked_certificate(
        tmp_path: Path, pki: Pki) -> None:
    files = issue(pki.ca, role="node", name="org-9", out=tmp_path / "n", days=5, **LOOPBACK)
    before = describe_certificate(files.cert)
    old = x509.load_pem_x509_certificate(files.cert.read_bytes())
    done = koepel("certs", "renew", "--ca", pki.ca, files.cert, "--days", "60")
    assert done.returncode == 0, done.stderr
    after = describe_certificate(files.cert)
    fresh = x509.load_pem_x509_certificate(files.cert.read_bytes())
    assert (after.identity, after.dns, after.ips) == (before.identity, before.dns, before.ips)
    assert fresh.public_key() == old.public_key() and fresh.serial_number != old.serial_number
    assert (after.not_after - before.not_after).days >= 50
    assert x509.load_pem_x509_certificate(
        files.cert.with_name("node.crt.old").read_bytes()) == old  # the previous one is kept
    fresh.verify_directly_issued_by(x509.load_pem_x509_certificate(files.ca.read_bytes()))
    revoke(pki.ca, files.cert)
    with pytest.raises(CertError, match="revoked"):
        renew(pki.ca, files.cert.with_name("node.crt"), days=30)
    issued = koepel("certs", "issue", "--ca", pki.ca, "--role", "operator", "--name", "ann",
                    "--out", tmp_path / "ann")
    assert issued.returncode == 0, issued.stderr
    default = describe_certificate(tmp_path / "ann" / "operator.crt")
    assert (default.not_after - default.not_before).days <= 91  # short by default
