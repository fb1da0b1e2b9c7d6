"""Operator attribution on the secure-aggregation path: round 1 charges the ledger, so the
operator who signed the query is named there too, and a signed request is charged once.

Three real `koepel node serve` processes over mutual TLS with a zCDP catalogue; the
aggregator's logic runs in this process over its real gRPC transport (as in
tests/test_secure_e2e.py), forwarding the operator's signature as its service would.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator

import pytest
from secure_support import ZCDP_VERSION, serve_zcdp, write_zcdp_catalogue

from aggregator import build_aggregator, load_federation
from aggregator.fanout import NodeOutcome
from aggregator.results import SectorResult
from cli.audit_cmds import fetch_export
from cli.federation_runner import LocalFederation, setup_node
from node.synthetic import OrgProfile
from privacy import QuerySpec, Statistic
from privacy.receipts import LedgerRecord
from protos import pb2
from wire.attribution import sign_request
from wire.tls import CA_CERT, TlsFiles, issue

pytestmark = pytest.mark.slow

PROFILES = [OrgProfile(f"org-{i}", f"Atelier {i}", "MAATWERKBEDRIJF", "BE-VLG", 40 + 9 * i)
            for i in range(3)]
SPEC = QuerySpec(ZCDP_VERSION, "headcount", Statistic.COUNT, ("gender",), (), "2025", 500_000)


@pytest.fixture(scope="module")
def federation(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalFederation]:
    root = tmp_path_factory.mktemp("operator-secure")
    catalogue = write_zcdp_catalogue(root / "zcdp.toml")
    for index, profile in enumerate(PROFILES):
        setup_node(root / profile.org_id, profile, seed=900 + index, year=2025,
                   cap_epsilon="5")
        serve_zcdp(root / profile.org_id / "node.toml", catalogue)
        with (root / profile.org_id / "node.toml").open("a") as toml:
            toml.write('\n[queriers.operators]\nalice = "3"\n')
    with LocalFederation(root) as fed:
        for profile in PROFILES:
            fed.add_node(profile.org_id)
        fed.start(deadline_seconds=15.0)
        text = (root / "federation.toml").read_text()
        text = re.sub(r"(?m)^\[federation\]$", f'[federation]\ncatalogue = "{catalogue}"', text)
        text += '\n[aggregation]\nmode = "secure"\nthreshold = 2\ncolluders = 1\n'
        (root / "federation.toml").write_text(text)
        issue(fed.ca_dir, role="operator", name="alice", out=root / "alice")
        yield fed


def _signed(fed: LocalFederation, query_id: str) -> pb2.OperatorAttribution:
    """alice's signature as the aggregator forwards it (with her TLS certificate)."""
    alice = TlsFiles(fed.root / "alice" / "operator.crt", fed.root / "alice" / "operator.key",
                     fed.root / "alice" / CA_CERT)
    signed = sign_request(alice, query_id=query_id, spec_digest=SPEC.digest())
    assert signed is not None
    signed.certificate = alice.cert.read_bytes()
    return signed


def _secure(fed: LocalFederation, attribution: pb2.OperatorAttribution | None) -> SectorResult:
    async def run() -> SectorResult:
        aggregator = build_aggregator(load_federation(fed.root / "federation.toml"))
        try:
            return await aggregator.submit(SPEC, secure=True, attribution=attribution)
        finally:
            await aggregator.close()

    return asyncio.run(run())


def _ledgers(fed: LocalFederation) -> dict[str, list[LedgerRecord]]:
    tls = TlsFiles(fed.root / "tls" / "aggregator.crt", fed.root / "tls" / "aggregator.key",
                   fed.root / "tls" / CA_CERT)
    return {p.org_id: list(fetch_export(f"127.0.0.1:{fed.node_ports[p.org_id]}", "federation",
                                        tls).records) for p in PROFILES}


def test_a_secure_round_names_the_operator_and_charges_a_signed_request_once(
        federation: LocalFederation) -> None:
    signed = _signed(federation, "alice-secure-1")
    result = _secure(federation, signed)
    assert result.aggregation == "secure" and result.complete, result.incomplete_reasons
    ledgers = _ledgers(federation)
    for entries in ledgers.values():
        [entry] = entries
        assert entry.mechanism.startswith("secagg_")
        assert (entry.operator, entry.operator_request) == ("alice", "alice-secure-1")

    # The aggregator replays alice's signature in a new round (a new ledger query id): every
    # node refuses before it charges, and nothing is released.
    again = _secure(federation, signed)
    assert not again.complete and not again.cells
    assert all(n.outcome is NodeOutcome.REFUSED and "already charged" in n.reason
               for n in again.nodes), again.nodes
    assert _ledgers(federation) == ledgers

    # Without the signature the nodes (whose policy lists operators) refuse as well.
    unsigned = _secure(federation, None)
    assert all("OPERATOR_ATTRIBUTION_REQUIRED" in n.reason for n in unsigned.nodes)
    assert _ledgers(federation) == ledgers
