"""Secure aggregation end to end: 10 node processes over mutual TLS, two killed between rounds.

The nodes are real `koepel node serve` processes with their own SQLCipher stores, answering
over mutual TLS with certificates from the federation CA. The aggregator's logic runs in this
process over its real gRPC transport, so that the test can kill nodes (SIGKILL) exactly
between phases: one after it shared its keys and before round 1 (its pair masks with everyone
are rebuilt from its key shares; it is not charged), one after round 1 and before the
consistency round (its vector is in the sum, its self mask rebuilt from the others' b-shares,
and it is silent in the unmask: the combination the long-term-key variant had to abort). The
result must be the sum over the nine nodes of U2, with the standard error the round states,
and every node of U2 charged.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from secure_support import ZCDP_VERSION, serve_zcdp, write_zcdp_catalogue

from aggregator import SqliteHistory, build_aggregator, load_federation
from aggregator.federation import NodeEntry
from cli.audit_cmds import _transcript_check
from cli.federation_runner import LocalFederation, setup_node
from node import load_node_config, open_node
from node.synthetic import OrgProfile
from privacy import QuerySpec, Statistic, load_catalogue, validate
from privacy.mechanisms import plan_release

pytestmark = pytest.mark.slow

PROFILES = [OrgProfile(f"org-{i:02d}", f"Atelier {i}", "MAATWERKBEDRIJF", "BE-VLG", 40 + 7 * i)
            for i in range(10)]
KILLED_AFTER_KEYS, KILLED_AFTER_ROUND1 = "org-03", "org-07"
KILLED = (KILLED_AFTER_KEYS, KILLED_AFTER_ROUND1)


@pytest.fixture(scope="module")
def federation(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalFederation]:
    root = tmp_path_factory.mktemp("secure-e2e")
    catalogue = write_zcdp_catalogue(root / "zcdp.toml")
    for index, profile in enumerate(PROFILES):
        setup_node(root / profile.org_id, profile, seed=700 + index, year=2025,
                   cap_epsilon="5")
        serve_zcdp(root / profile.org_id / "node.toml", catalogue)
    with LocalFederation(root) as fed:
        for profile in PROFILES:
            fed.add_node(profile.org_id)
        fed.start(deadline_seconds=10.0)
        text = (root / "federation.toml").read_text()
        text = re.sub(r"(?m)^\[federation\]$", f'[federation]\ncatalogue = "{catalogue}"', text)
        text += '\n[aggregation]\nmode = "secure"\nthreshold = 6\ncolluders = 1\n'
        (root / "federation.toml").write_text(text)
        yield fed


class KillBetweenRounds:
    """The aggregator's real transport; SIGKILLs one node process once the key phase is over
    and another once round 1 is over."""

    def __init__(self, inner: Any, fed: LocalFederation) -> None:
        self._inner, self._fed, self.killed = inner, fed, set[str]()

    async def secure(self, node: NodeEntry, method: str, request: object, timeout: float) -> Any:
        for phase, name in (("SecureMask", KILLED_AFTER_KEYS),
                            ("SecureConsistency", KILLED_AFTER_ROUND1)):
            if method == phase and name not in self.killed:
                self.killed.add(name)
                self._fed.stop_process(name, kill=True)
        return await self._inner.secure(node, method, request, timeout)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def test_ten_processes_two_killed_between_the_rounds(federation: LocalFederation) -> None:
    config = load_federation(federation.root / "federation.toml")
    catalogue = load_catalogue(federation.root / "zcdp.toml")
    spec = QuerySpec(ZCDP_VERSION, "headcount", Statistic.COUNT, ("gender",), (), "2025",
                     1_000_000)
    query = validate(spec, catalogue)
    exact = [0] * len(query.cells)
    for profile in PROFILES:  # the truth over U2, read from each store while its node serves
        if profile.org_id == KILLED_AFTER_KEYS:
            continue
        runtime = open_node(load_node_config(federation.root / profile.org_id / "node.toml"))
        try:
            counts, _ = runtime.engine.exact_cells(query)
        finally:
            runtime.close()
        exact = [a + b for a, b in zip(exact, counts, strict=True)]

    async def scenario() -> Any:
        aggregator = build_aggregator(config)
        assert aggregator.secure_round is not None
        killer = KillBetweenRounds(aggregator.secure_round._transport, federation)
        aggregator.secure_round._transport = killer
        try:
            return await aggregator.submit(spec), killer.killed
        finally:
            await aggregator.close()

    result, killed = asyncio.run(scenario())
    assert killed == set(KILLED) and result.aggregation == "secure"
    u2 = [p.org_id for p in PROFILES if p.org_id != KILLED_AFTER_KEYS]
    assert sorted(result.answered) == u2  # U2: all but the node killed before round 1
    rho = plan_release(query).vectors[0].budget_micro / 1e6
    expected_se = math.sqrt(9 / 6) / math.sqrt(2 * rho)  # 9 shares calibrated for t = 6
    for cell, truth in zip(result.cells, exact, strict=True):
        assert cell.standard_error == pytest.approx(expected_se, rel=0.01)
        # 5.5 SEs: a correct release fails with probability < 4e-8 per cell (4 cells).
        assert abs(cell.estimate - truth) <= 5.5 * cell.standard_error
    costs = {n.node_id: n.cost_micro for n in result.nodes}
    assert costs[KILLED_AFTER_KEYS] == 0 and all(costs[u] > 0 for u in u2)  # U2 charged
    for profile in PROFILES:  # the killed processes are dead: their stores can be read too
        runtime = open_node(load_node_config(federation.root / profile.org_id / "node.toml"))
        try:
            entries = runtime.engine.ledger.entries()
        finally:
            runtime.close()
        if profile.org_id == KILLED_AFTER_KEYS:
            assert entries == []  # shared keys, read nothing, charged nothing
            continue
        [entry] = entries
        assert entry.mechanism == "secagg_discrete_gaussian:count"
        assert "t=6 c=1 n=10" in entry.noise


def test_an_auditor_checks_the_kept_transcripts_against_the_ca(
        federation: LocalFederation) -> None:
    """Runs after the round above: its transcript is in the aggregator's history."""
    config = load_federation(federation.root / "federation.toml")
    ca_pem = (federation.ca_dir / "ca.crt").read_bytes()
    checked, problems = _transcript_check(config.history, ca_pem)
    assert checked >= 1 and problems == []
    history = SqliteHistory(config.history)
    try:
        [kept] = [r for r in history.recent(10) if r.aggregation == "secure"]
        record = json.loads(kept.transcript)
        assert record["u1_prime"] == [p.org_id for p in PROFILES]
        assert KILLED_AFTER_KEYS in record["dropped"] and KILLED_AFTER_ROUND1 in record["u2"]
        assert KILLED_AFTER_ROUND1 not in record["unmask"]
        node, entry = next(iter(record["consistency"].items()))
        forged = bytearray(bytes.fromhex(entry))
        forged[-1] ^= 1
        record["consistency"][node] = bytes(forged).hex()
        history.save(replace(kept, result_id="forged", transcript=json.dumps(record)))
    finally:
        history.close()
    checked, problems = _transcript_check(config.history, ca_pem)
    assert checked == 2 and len(problems) == 1 and "forged" in problems[0]
