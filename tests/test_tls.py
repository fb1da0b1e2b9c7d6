"""Mutual TLS against real servers on loopback: who gets in, who does not, and what it costs.

Every refused caller leaves the ledger exactly as it was. Refusals that happen in the TLS
handshake (no certificate, another CA, an expired certificate, a server certificate for another
address) reach the client as UNAVAILABLE: the connection is refused before any RPC exists, so
there is no RPC to answer with UNAUTHENTICATED. Refusals of a verified caller are
PERMISSION_DENIED with a message naming the rule.
"""

from __future__ import annotations

import asyncio
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import pytest
from click.testing import CliRunner
from conftest import FIXTURES, create_node
from security_support import (
    LOOPBACK,
    Pki,
    make_pki,
    node_server,
    node_stub,
    query_request,
    raw_credentials,
    reopen,
    tls_stub,
)

from aggregator import build_aggregator, create_server, load_federation, render_federation
from aggregator.federation import NodeEntry
from aggregator.transport import GrpcTransport, NodeQueryError
from cli.main import cli
from node import NodeRuntime, import_files
from node import create_server as create_node_server
from protos import pb2, pb2_grpc
from wire.limits import QUERIER_HEADER
from wire.tls import (
    CertError,
    PeerIdentity,
    TlsFiles,
    channel_credentials,
    describe_certificate,
    init_ca,
    issue,
    server_credentials,
)


@dataclass
class TlsNode:
    runtime: NodeRuntime
    port: int
    pki: Pki

    def entries(self) -> int:
        return len(self.runtime.engine.ledger.entries())


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def tls_node(tmp_path_factory: pytest.TempPathFactory, pki: Pki) -> Iterator[TlsNode]:
    directory = tmp_path_factory.mktemp("tls-node") / "node"
    config_path = create_node(directory, queriers={"federation": "20", "dpo": "1"})
    with config_path.open("a") as handle:
        handle.write('\n[[queriers]]\nidentity = "narrow"\ncap_epsilon = "5"\n'
                     'measures = ["headcount"]\ndimensions = ["gender"]\n'
                     'min_epsilon = "0.05"\nmax_epsilon = "1"\nmax_cells = 3\n')
    pki.node_files(directory, "org-test")
    runtime = reopen(directory)
    import_files(runtime.store, runtime.secret, sorted((FIXTURES / "small").glob("*.csv")))
    try:
        with node_server(runtime) as port:
            yield TlsNode(runtime, port, pki)
    finally:
        runtime.close()


def refused(call: object) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as caught:
        call()  # type: ignore[operator]
    return caught.value


# ------------------------------------------------------------------------- the way in


def test_a_valid_certificate_queries_end_to_end_and_is_charged(tls_node: TlsNode) -> None:
    before = tls_node.entries()
    with tls_stub(tls_node.port, tls_node.pki.federation) as stub:
        described = stub.Describe(pb2.DescribeRequest(), timeout=10)
        answer = stub.Query(query_request("valid-1"), timeout=10)
        budget = stub.Budget(pb2.BudgetRequest(), timeout=10)
    assert described.node_id == "org-test"
    assert answer.cost_micro_epsilon == 100_000 and len(answer.cells) == 7
    assert tls_node.entries() == before + 1
    own = [(b.querier, b.spent_micro_epsilon >= 100_000) for b in budget.lines
           if b.querier == "federation"]
    assert own == [("federation", True)]


@pytest.mark.parametrize("who", ["no certificate", "another CA", "expired"])
def test_handshake_refusals_cost_nothing(tls_node: TlsNode, who: str) -> None:
    pki = tls_node.pki
    credentials = {
        "no certificate": grpc.ssl_channel_credentials(root_certificates=pki.federation.ca
                                                       .read_bytes()),
        "another CA": grpc.ssl_channel_credentials(
            root_certificates=pki.federation.ca.read_bytes(),
            private_key=pki.foreign.key.read_bytes(),
            certificate_chain=pki.foreign.cert.read_bytes()),
        "expired": raw_credentials(pki.expired),
    }[who]
    before = tls_node.entries()
    with node_stub(tls_node.port, credentials) as stub:
        error = refused(lambda: stub.Query(query_request(f"hs-{who[:3]}"), timeout=10))
    assert error.code() == grpc.StatusCode.UNAVAILABLE  # type: ignore[attr-defined]
    assert tls_node.entries() == before


def test_plaintext_client_cannot_reach_a_tls_node(tls_node: TlsNode) -> None:
    before = tls_node.entries()
    with node_stub(tls_node.port, None) as stub:
        error = refused(lambda: stub.Query(query_request("plain-1"), timeout=10,
                                           metadata=((QUERIER_HEADER, "federation"),)))
    assert error.code() == grpc.StatusCode.UNAVAILABLE  # type: ignore[attr-defined]
    assert tls_node.entries() == before


def test_a_valid_certificate_without_permission_is_denied(tls_node: TlsNode) -> None:
    before = tls_node.entries()
    with tls_stub(tls_node.port, tls_node.pki.intruder) as stub:
        error = refused(lambda: stub.Query(query_request("intr-1"), timeout=10))
        # the identity is the certificate's: a header naming the federation changes nothing
        spoof = refused(lambda: stub.Query(query_request("intr-2"), timeout=10,
                                           metadata=((QUERIER_HEADER, "federation"),)))
    for e in (error, spoof):
        assert e.code() == grpc.StatusCode.PERMISSION_DENIED  # type: ignore[attr-defined]
        assert "'intruder' is not authorised" in e.details()  # type: ignore[attr-defined]
    assert tls_node.entries() == before


@pytest.mark.parametrize("who,method", [
    ("operator", "Query"), ("auditor", "Query"), ("operator", "Describe"),
])
def test_roles_that_may_not_call_a_method_are_denied(tls_node: TlsNode, who: str,
                                                     method: str) -> None:
    files = getattr(tls_node.pki, who)
    before = tls_node.entries()
    request = query_request(f"role-{who}") if method == "Query" else pb2.DescribeRequest()
    with tls_stub(tls_node.port, files) as stub:
        error = refused(lambda: getattr(stub, method)(request, timeout=10))
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED  # type: ignore[attr-defined]
    assert f"a {'operator' if who == 'operator' else 'auditor'} certificate may not call " \
           f"{method}" in error.details()  # type: ignore[attr-defined]
    assert tls_node.entries() == before


def test_another_nodes_certificate_cannot_query(tls_node: TlsNode) -> None:
    """A node's certificate is for serving (serverAuth only): the handshake refuses it."""
    before = tls_node.entries()
    with node_stub(tls_node.port, raw_credentials(tls_node.pki.other_node)) as stub:
        error = refused(lambda: stub.Query(query_request("node-1"), timeout=10))
    # BoringSSL refuses it in the handshake: "unsupported certificate purpose"
    assert error.code() == grpc.StatusCode.UNAVAILABLE  # type: ignore[attr-defined]
    assert tls_node.entries() == before


def test_an_auditor_reads_the_ledger_but_spends_nothing(tls_node: TlsNode) -> None:
    with tls_stub(tls_node.port, tls_node.pki.federation) as stub:
        stub.Query(query_request("for-audit"), timeout=10)
    before = tls_node.entries()
    with tls_stub(tls_node.port, tls_node.pki.auditor) as stub:
        exported = stub.ExportLedger(pb2.ExportLedgerRequest(), timeout=10)
    assert len(exported.entries) == before >= 1
    assert tls_node.entries() == before


@pytest.mark.parametrize("request_,rule", [
    (query_request("n-1", measure="support_hours", group_by=()),
     "measure 'support_hours' is not allowed (allowed: headcount)"),
    (query_request("n-2", group_by=("region",)),
     "dimension 'region' is not allowed (allowed: gender)"),
    (query_request("n-3", group_by=("gender",), epsilon="0.01"),
     "ε=0.01 is below the smallest ε this node accepts per query (0.05)"),
    (query_request("n-4", group_by=("gender",), epsilon="2"),
     "ε=2 is above the largest ε this node accepts per query (1)"),
])
def test_node_policy_refusals_name_the_rule(tls_node: TlsNode, pki: Pki,
                                            request_: pb2.QueryRequest, rule: str,
                                            tmp_path: Path) -> None:
    narrow = issue(pki.ca, role="aggregator", name="narrow", out=tmp_path / "narrow", **LOOPBACK)
    before = tls_node.entries()
    with tls_stub(tls_node.port, narrow) as stub:
        error = refused(lambda: stub.Query(request_, timeout=10))
        allowed = stub.Query(query_request(f"ok-{request_.query_id}", group_by=("gender",),
                                           epsilon="0.5"), timeout=10)
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED  # type: ignore[attr-defined]
    assert f"node policy for querier 'narrow': {rule}" in error.details()  # type: ignore[attr-defined]
    assert len(allowed.cells) == 3
    assert tls_node.entries() == before + 1  # only the allowed query was charged


def test_client_refuses_a_server_certificate_for_another_address(
        tmp_path: Path, pki: Pki) -> None:
    directory = tmp_path / "far"
    create_node(directory, node_id="org-far")
    issue(pki.ca, role="node", name="org-far", out=directory / "tls", dns=("node.example.org",))
    runtime = reopen(directory)
    try:
        with node_server(runtime) as port, tls_stub(port, pki.federation) as stub:
            error = refused(lambda: stub.Describe(pb2.DescribeRequest(), timeout=10))
    finally:
        runtime.close()
    assert error.code() == grpc.StatusCode.UNAVAILABLE  # type: ignore[attr-defined]


def test_the_aggregator_demands_the_registered_identity_in_the_handshake(
        tls_node: TlsNode) -> None:
    """A node registered as X at an address where another certified node answers is refused
    before anything is sent (before: any certificate from the federation CA was accepted)."""
    address = f"127.0.0.1:{tls_node.port}"
    entries_before = tls_node.entries()

    async def describe(entry: NodeEntry) -> str:
        transport = GrpcTransport("federation", channel_credentials(tls_node.pki.federation))
        try:
            reply = await transport.describe(entry, timeout=10)
            return reply.node_id
        except NodeQueryError as error:
            assert error.code == grpc.StatusCode.PERMISSION_DENIED
            assert address in error.message and "federation.toml" in error.message
            return error.reason
        finally:
            await transport.close()

    assert asyncio.run(describe(NodeEntry("org-test", address, "T"))) == "org-test"
    assert asyncio.run(describe(NodeEntry("org-y", address, "T", certificate_identity="org-test"))
                       ) == "org-test"
    assert asyncio.run(describe(NodeEntry("org-other", address, "T"))) == "IDENTITY_MISMATCH"
    assert asyncio.run(describe(NodeEntry("org-test", address, "T",
                                          certificate_identity="org-elsewhere"))
                       ) == "IDENTITY_MISMATCH"
    assert tls_node.entries() == entries_before


# ------------------------------------------------------------------------- refusing to start


def test_a_node_will_not_serve_with_a_bad_certificate(tmp_path: Path, pki: Pki) -> None:
    directory = tmp_path / "node"
    create_node(directory, node_id="org-x")
    runtime = reopen(directory)
    try:
        with pytest.raises(CertError, match=r"does not exist.*koepel certs issue"):
            create_node_server(runtime, "127.0.0.1:0", insecure=False)
        # someone else's certificate in the node's folder
        issue(pki.ca, role="node", name="org-y", out=directory / "tls", **LOOPBACK)
        with pytest.raises(CertError, match="koepel://node/org-y, not of koepel://node/org-x"):
            create_node_server(runtime, "127.0.0.1:0", insecure=False)
    finally:
        runtime.close()


def test_key_files_must_be_private(tmp_path: Path, pki: Pki) -> None:
    files = issue(pki.ca, role="operator", name="careless", out=tmp_path / "op")
    os.chmod(files.key, 0o644)
    with pytest.raises(CertError, match=r"readable by others.*chmod 600"):
        channel_credentials(files)


def test_expired_and_foreign_certificates_are_refused_at_load(pki: Pki) -> None:
    with pytest.raises(CertError, match="expired on"):
        channel_credentials(pki.expired)
    mixed = TlsFiles(pki.foreign.cert, pki.foreign.key, pki.federation.ca)
    with pytest.raises(CertError, match="was not issued by the CA"):
        server_credentials(mixed)
    with pytest.raises(CertError, match="not of koepel://aggregator/federation"):
        channel_credentials(pki.intruder, expect=PeerIdentity("aggregator", "federation"))


def test_insecure_mode_stays_on_loopback(tls_node: TlsNode) -> None:
    with pytest.raises(ValueError, match="loopback only"):
        create_node_server(tls_node.runtime, "0.0.0.0:0", insecure=True)


# ------------------------------------------------------------------------- the aggregator


def test_aggregator_admits_operators_only(tmp_path: Path, pki: Pki) -> None:
    """The operator service: an operator lists nodes; a node's cert or none gets nothing."""
    issue(pki.ca, role="aggregator", name="federation", out=tmp_path / "tls", **LOOPBACK)
    (tmp_path / "federation.toml").write_text(render_federation(
        name="t", querier_identity="federation", nodes=[]))
    config = load_federation(tmp_path / "federation.toml")

    async def scenario() -> dict[str, object]:
        aggregator = build_aggregator(config)
        server, port = await create_server(aggregator, "127.0.0.1:0", insecure=False)
        await server.start()
        outcomes: dict[str, object] = {}
        try:
            for who, credentials in (("operator", channel_credentials(pki.operator)),
                                     ("node", raw_credentials(pki.other_node)),
                                     ("intruder-aggregator", channel_credentials(pki.intruder)),
                                     ("none", grpc.ssl_channel_credentials(
                                         pki.federation.ca.read_bytes()))):
                async with grpc.aio.secure_channel(f"127.0.0.1:{port}", credentials) as channel:
                    stub = pb2_grpc.AggregatorServiceStub(channel)
                    try:
                        await stub.ListNodes(pb2.ListNodesRequest(), timeout=10)
                        outcomes[who] = "OK"
                    except grpc.aio.AioRpcError as error:
                        outcomes[who] = error.code()
        finally:
            await server.stop(None)
            await aggregator.close()
        return outcomes

    outcomes = asyncio.run(scenario())
    assert outcomes["operator"] == "OK"
    assert outcomes["intruder-aggregator"] == grpc.StatusCode.PERMISSION_DENIED
    assert outcomes["none"] == grpc.StatusCode.UNAVAILABLE
    assert outcomes["node"] == grpc.StatusCode.UNAVAILABLE  # serverAuth only: handshake refuses


# ------------------------------------------------------------------------- koepel certs


def test_certs_init_ca_and_issue_write_private_keys_and_refuse_overwriting(
        tmp_path: Path) -> None:
    runner = CliRunner()
    done = runner.invoke(cli, ["certs", "init-ca", str(tmp_path / "ca")])
    assert done.exit_code == 0, done.output
    assert stat.S_IMODE((tmp_path / "ca" / "ca.key").stat().st_mode) == 0o600
    again = runner.invoke(cli, ["certs", "init-ca", str(tmp_path / "ca")])
    assert again.exit_code == 2 and "never overwrites" in again.output

    args = ["certs", "issue", "--ca", str(tmp_path / "ca"), "--role", "node", "--name",
            "org-17", "--out", str(tmp_path / "org-17"), "--ip", "10.0.0.7", "--dns",
            "org17.example.org", "--days", "30"]
    done = runner.invoke(cli, args)
    assert done.exit_code == 0, done.output
    key = tmp_path / "org-17" / "node.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    info = describe_certificate(tmp_path / "org-17" / "node.crt")
    assert info.identity == PeerIdentity("node", "org-17")
    assert info.common_name == "org-17" and not info.is_ca
    assert info.dns == ("org17.example.org",) and info.ips == ("10.0.0.7",)
    assert timedelta(days=29) < info.not_after - datetime.now(UTC) <= timedelta(days=30)
    before = key.read_bytes()
    again = runner.invoke(cli, args)
    assert again.exit_code == 2 and "never overwrites" in again.output
    assert key.read_bytes() == before


@pytest.mark.parametrize("args,message", [
    (["--role", "node", "--name", "org-1"], "needs the address clients dial"),
    (["--role", "operator", "--name", "bad name"], "name must be 1–63"),
    (["--role", "operator", "--name", "x", "--days", "0"], "validity must be between"),
    (["--role", "node", "--name", "x", "--ip", "999.1.1.1"], "--ip"),
    (["--role", "wizard", "--name", "x"], "Invalid value for '--role'"),
])
def test_certs_issue_refuses_bad_requests(tmp_path: Path, args: list[str], message: str) -> None:
    init_ca(tmp_path / "ca")
    done = CliRunner().invoke(cli, ["certs", "issue", "--ca", str(tmp_path / "ca"), "--out",
                                    str(tmp_path / "out"), *args])
    assert done.exit_code == 2, done.output
    assert message in done.output
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_certs_show_and_a_real_subprocess(tmp_path: Path) -> None:
    """The command as a user runs it: a real process, its exit code, its output."""
    done = subprocess.run([sys.executable, "-m", "cli", "certs", "init-ca", str(tmp_path / "ca"),
                           "--name", "Test CA"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    shown = CliRunner().invoke(cli, ["certs", "show", "--json", str(tmp_path / "ca" / "ca.crt")])
    assert shown.exit_code == 0
    assert '"ca": true' in shown.output and '"common_name": "Test CA"' in shown.output
    assert (tmp_path / "ca" / "ca.key").read_text() not in done.stdout + done.stderr


def test_issue_refuses_a_ca_key_readable_by_others(tmp_path: Path) -> None:
    init_ca(tmp_path / "ca")
    os.chmod(tmp_path / "ca" / "ca.key", 0o640)
    with pytest.raises(CertError, match="readable by others"):
        issue(tmp_path / "ca", role="operator", name="x", out=tmp_path / "x")
