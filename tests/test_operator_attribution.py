"""Operator identities end to end: every query is signed by the operator who asks, the
aggregator binds that signature to the operator's TLS certificate and forwards it, and the node
checks it against the federation CA, names the operator in its ledger and holds each operator
to its own cap within the federation's.

A real node process and a real aggregator process over mutual TLS, `koepel query` as a
subprocess with each operator's own certificate, and hand-made requests straight to the node
(with the aggregator's certificate, as a compromised aggregator would send them) for forgeries.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import pytest
from conftest import create_node
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from cli.audit_cmds import fetch_export
from cli.federation_runner import LocalFederation, setup_node
from node import ConfigError, load_node_config
from node.policy import OperatorRequiredError
from node.synthetic.generator import OrgProfile
from privacy.receipts import LedgerRecord, entry_hash
from protos import pb2, pb2_grpc
from wire.attribution import sign_request
from wire.spec import spec_from_proto
from wire.tls import CA_CERT, TlsFiles, channel_credentials, init_ca, issue

PROFILE = OrgProfile("org-a", "Atelier A", "ETA_WAL", "BE-WAL", 60)
# The federation may spend ε = 2 a year on this node; alice and bob 0.6 each of it; any other
# operator (the runner's own demo-operator, carol) may not ask at all.
OPERATORS = '\n[queriers.operators]\nalice = "0.6"\nbob = "0.6"\n'
SPEC = pb2.QuerySpec(catalogue_version="2026.2", measure="headcount",
                     statistic=pb2.STATISTIC_COUNT, group_by=["gender"], period="2025",
                     epsilon="0.01")


def koepel(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cli", *args], capture_output=True, text=True,
                          timeout=120)


def files(folder: Path, role: str = "operator") -> TlsFiles:
    return TlsFiles(folder / f"{role}.crt", folder / f"{role}.key", folder / CA_CERT)


@pytest.fixture(scope="module")
def federation(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalFederation]:
    root = tmp_path_factory.mktemp("operators")
    setup_node(root / "org-a", PROFILE, seed=3, year=2025, cap_epsilon="2")
    with (root / "org-a" / "node.toml").open("a") as toml:
        toml.write(OPERATORS)
    with LocalFederation(root) as running:
        running.add_node("org-a")
        running.start(deadline_seconds=20)
        for name in ("alice", "bob", "carol"):
            issue(running.ca_dir, role="operator", name=name, out=root / name)
        yield running


def ask(fed: LocalFederation, who: str, epsilon: str) -> tuple[int, dict[str, object]]:
    operator = files(fed.root / who)
    done = koepel("query", "headcount", "--by", "gender", "--period", "2025", "--epsilon",
                  epsilon, "--json", "--aggregator", fed.aggregator_address,
                  "--cert", str(operator.cert), "--key", str(operator.key),
                  "--ca", str(operator.ca))
    assert done.stdout, done.stderr
    return done.returncode, json.loads(done.stdout)


def ledger(fed: LocalFederation) -> list[LedgerRecord]:
    """The node's ledger, read over mutual TLS with the aggregator's certificate."""
    export = fetch_export(f"127.0.0.1:{fed.node_ports['org-a']}", "federation",
                          files(fed.root / "tls", "aggregator"))
    return list(export.records)


def node_reason(result: dict[str, object]) -> tuple[str, str]:
    [node] = result["nodes"]  # type: ignore[misc]
    return node["outcome"], node["reason"]  # type: ignore[index]


@pytest.mark.slow
def test_the_ledger_names_the_operator_and_each_has_its_own_cap(
        federation: LocalFederation) -> None:
    before = len(ledger(federation))
    code, result = ask(federation, "alice", "0.5")
    assert code == 0, result
    [entry] = ledger(federation)[before:]
    assert (entry.operator, entry.operator_request) == ("alice", result["query_id"])
    assert entry.querier == "federation" and entry.cost_micro == 500_000

    # alice is past her own cap (0.5 + 0.5 > 0.6), far within the federation's 2: refused, and
    # nothing is charged; bob, of the same federation, can still ask.
    code, result = ask(federation, "alice", "0.5")
    outcome, reason = node_reason(result)
    assert code == 7 and outcome == "budget_exhausted", result
    assert "operator alice of querier federation" in reason
    assert len(ledger(federation)) == before + 1
    code, result = ask(federation, "bob", "0.5")
    assert code == 0, result
    assert [e.operator for e in ledger(federation)[before:]] == ["alice", "bob"]
    code, result = ask(federation, "bob", "0.5")
    assert code == 7 and node_reason(result)[0] == "budget_exhausted"

    # An operator the node's policy does not list is refused, also at no cost.
    code, result = ask(federation, "carol", "0.1")
    outcome, reason = node_reason(result)
    assert outcome == "refused" and "operator 'carol' may not ask this node" in reason
    assert len(ledger(federation)) == before + 2


def _refusal(call: grpc.RpcError) -> tuple[grpc.StatusCode, str, str]:
    status = rpc_status.from_call(call)  # type: ignore[arg-type]
    assert status is not None
    info = error_details_pb2.ErrorInfo()
    status.details[0].Unpack(info)
    return call.code(), info.reason, call.details() or ""


@pytest.mark.slow
def test_a_forged_or_missing_attribution_is_refused_at_no_cost(
        federation: LocalFederation, tmp_path: Path) -> None:
    """What a compromised aggregator could send the node, with its own valid certificate."""
    alice = files(federation.root / "alice")
    digest = spec_from_proto(SPEC).digest()
    signed = sign_request(alice, query_id="forged-1", spec_digest=digest)
    assert signed is not None
    signed.certificate = alice.cert.read_bytes()
    wider = pb2.QuerySpec()
    wider.CopyFrom(SPEC)
    wider.epsilon = "0.02"
    as_bob = pb2.OperatorAttribution()
    as_bob.CopyFrom(signed)
    as_bob.payload = signed.payload.replace(b'"operator":"alice"', b'"operator":"bob"')
    as_bob.certificate = (federation.root / "bob" / "operator.crt").read_bytes()
    init_ca(tmp_path / "rogue-ca")
    rogue = issue(tmp_path / "rogue-ca", role="operator", name="alice", out=tmp_path / "rogue")
    from_rogue = sign_request(rogue, query_id="forged-1", spec_digest=digest)
    assert from_rogue is not None
    from_rogue.certificate = rogue.cert.read_bytes()
    stale = sign_request(alice, query_id="forged-1", spec_digest=digest,
                         now=datetime.now(UTC) - timedelta(hours=1))
    assert stale is not None
    stale.certificate = alice.cert.read_bytes()
    cases = {
        "no attribution": (pb2.QueryRequest(query_id="forged-1", spec=SPEC),
                           grpc.StatusCode.PERMISSION_DENIED, "OPERATOR_ATTRIBUTION_REQUIRED"),
        "another query": (pb2.QueryRequest(query_id="forged-1", spec=wider, attribution=signed),
                          grpc.StatusCode.UNAUTHENTICATED, "OPERATOR_ATTRIBUTION_INVALID"),
        "another query id": (pb2.QueryRequest(query_id="forged-2", spec=SPEC,
                                              attribution=signed),
                             grpc.StatusCode.UNAUTHENTICATED, "OPERATOR_ATTRIBUTION_INVALID"),
        "edited to bob": (pb2.QueryRequest(query_id="forged-1", spec=SPEC, attribution=as_bob),
                          grpc.StatusCode.UNAUTHENTICATED, "OPERATOR_ATTRIBUTION_INVALID"),
        "another CA": (pb2.QueryRequest(query_id="forged-1", spec=SPEC, attribution=from_rogue),
                       grpc.StatusCode.UNAUTHENTICATED, "OPERATOR_ATTRIBUTION_INVALID"),
        "an hour old": (pb2.QueryRequest(query_id="forged-1", spec=SPEC, attribution=stale),
                        grpc.StatusCode.UNAUTHENTICATED, "OPERATOR_ATTRIBUTION_INVALID"),
    }
    before = ledger(federation)
    address = f"127.0.0.1:{federation.node_ports['org-a']}"
    aggregator = files(federation.root / "tls", "aggregator")
    # The node's certificate names its identity, not this loopback address (the aggregator
    # dials it the same way).
    options = [("grpc.ssl_target_name_override", "org-a.node.koepel.invalid")]
    with grpc.secure_channel(address, channel_credentials(aggregator), options) as channel:
        stub = pb2_grpc.NodeServiceStub(channel)
        for name, (request, code, reason) in cases.items():
            with pytest.raises(grpc.RpcError) as refused:
                stub.Query(request, timeout=20)
            got = _refusal(refused.value)
            assert got[:2] == (code, reason), (name, got)
        assert ledger(federation) == before  # not one charge
        # The genuine request goes through: the refusals above were the forgeries' alone.
        answer = stub.Query(pb2.QueryRequest(query_id="forged-1", spec=SPEC,
                                             attribution=signed), timeout=20)
    assert answer.cost_micro_epsilon == 10_000
    [entry] = ledger(federation)[len(before):]
    assert (entry.operator, entry.operator_request) == ("alice", "forged-1")


@pytest.mark.slow
def test_the_aggregator_forwards_only_the_connected_operators_signature(
        federation: LocalFederation) -> None:
    """bob, connected with his own certificate, cannot pass alice's signature off as his."""
    alice = files(federation.root / "alice")
    signed = sign_request(alice, query_id="borrowed-1",
                          spec_digest=spec_from_proto(SPEC).digest())
    before = ledger(federation)
    bob = channel_credentials(files(federation.root / "bob"))
    with (grpc.secure_channel(federation.aggregator_address, bob) as channel,
          pytest.raises(grpc.RpcError) as refused):
        pb2_grpc.AggregatorServiceStub(channel).SubmitQuery(pb2.SubmitQueryRequest(
            spec=SPEC, query_id="borrowed-1", attribution=signed), timeout=30)
    assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert "does not verify with the certificate of 'bob'" in (refused.value.details() or "")
    assert ledger(federation) == before


@pytest.mark.slow
def test_the_audit_shows_each_operators_spend_and_chains_it(federation: LocalFederation
                                                            ) -> None:
    if not any(e.operator == "alice" for e in ledger(federation)):
        assert ask(federation, "alice", "0.5")[0] == 0
    out = federation.root / "audit.json"
    out.unlink(missing_ok=True)
    done = koepel("node", "ledger", "export", "--config",
                  str(federation.root / "org-a" / "node.toml"), "--out", str(out), "--plaintext")
    assert done.returncode == 0, done.stderr
    records = ledger(federation)
    spent = {name: sum(e.cost_micro for e in records if e.operator == name)
             for name in ("alice", "bob")}
    rows = json.loads(koepel("audit", "report", str(out), "--json").stdout)
    own = {r["operator"]: (r["spent"], r["cap"], r["within_cap"]) for r in rows
           if r["operator"]}
    assert set(own) == {n for n, v in spent.items() if v}
    for name, (shown, cap, within) in own.items():
        assert float(shown) * 1e6 == pytest.approx(spent[name]) and cap == "0.6" and within
    statement = json.loads(json.loads(out.read_text())["statement"])
    assert statement["operator_caps"] == {"federation": {"alice": 600_000, "bob": 600_000}}

    verified = koepel("audit", "verify", str(out), "--history",
                      str(federation.root / "history.db"))
    assert verified.returncode == 0, verified.stdout + verified.stderr
    period = datetime.now(UTC).year  # budgets run per calendar year of the charge
    assert f"operator alice (federation, {period}): spent" in verified.stdout

    # The node's own operator sees the same per operator (`koepel node budget`).
    budget = json.loads(koepel("node", "budget", "--config",
                               str(federation.root / "org-a" / "node.toml"), "--json").stdout)
    mine = {x["querier"]: (x["cap"], x["spent"]) for x in budget["lines"]
            if x["scope"] == "operator"}
    assert mine["federation/alice"] == ("0.6", own["alice"][0])
    assert mine["federation/bob"][0] == "0.6"

    # The operator is in the hash chain: naming another operator afterwards is an edit.
    raw = json.loads(out.read_text())
    first = next(e for e in raw["entries"] if e["operator"] == "alice")
    first["operator"] = "bob"
    edited = federation.root / "audit-edited.json"
    edited.write_text(json.dumps(raw))
    tampered = koepel("audit", "verify", str(edited))
    assert tampered.returncode == 11 and "ENTRY_EDITED" in tampered.stdout


def test_entries_without_an_operator_keep_the_hash_they_were_written_with() -> None:
    """Old ledgers keep verifying: the hash formula before operators existed, by hand."""
    old_fields = {"sequence": 1, "created_at": "2025-07-01T00:00:00.000+00:00",
                  "querier": "federation", "query_id": "q1", "query_digest": "d",
                  "mechanism": "discrete_laplace:count", "cost_micro": 500_000,
                  "budget_period": "2025", "catalogue_version": "2025.1", "unit": "epsilon",
                  "noise": "laplace"}
    written = entry_hash("0" * 64, old_fields)
    record = LedgerRecord(prev_hash="0" * 64, entry_hash=written, **old_fields)  # type: ignore[arg-type]
    assert record.computed_hash() == written
    signed = LedgerRecord(prev_hash="0" * 64, entry_hash=written, operator="alice",
                          operator_request="q1", **old_fields)  # type: ignore[arg-type]
    assert signed.computed_hash() != written


@pytest.mark.parametrize(("operators", "problem"), [
    ('alice = "3"', "operator 'alice' has a cap of 3, above the querier's own cap of 2"),
    ('"al ice" = "1"', "operator names are the names in their certificates"),
    ('alice = "-1"', "operators.alice"),
])
def test_operator_caps_lie_within_the_queriers_and_name_certificates(
        tmp_path: Path, operators: str, problem: str) -> None:
    config = create_node(tmp_path / "node", queriers={"federation": "2"})
    config.write_text(config.read_text() + f"\n[queriers.operators]\n{operators}\n")
    with pytest.raises(ConfigError, match=re.escape(problem)):
        load_node_config(config)


def test_require_operator_without_caps_refuses_unsigned_queries_only(tmp_path: Path) -> None:
    config = create_node(tmp_path / "node", queriers={"federation": "2"})
    config.write_text(config.read_text() + "require_operator = true\n")
    access = load_node_config(config).queriers["federation"].access
    access.check_operator("federation", "anyone")  # any operator the CA certified may ask
    with pytest.raises(OperatorRequiredError, match="must be signed by the operator who asks"):
        access.check_operator("federation", None)
    config.write_text(config.read_text().replace("= true", '= "yes"'))
    with pytest.raises(ConfigError, match="require_operator must be true or false"):
        load_node_config(config)
