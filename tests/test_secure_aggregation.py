"""Secure aggregation through the node's and the aggregator's own logic, without a server.

Real SQLCipher stores with imported records, real certificates from a federation CA, real
masking (wire.secagg) and real OpenDP shares (privacy.distributed); the transport hands each
message to the node's SecureRounds exactly as the gRPC servicer would.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from conftest import FIXTURES, create_node
from secure_support import ZCDP_VERSION, serve_zcdp, write_zcdp_catalogue
from security_support import LOOPBACK

from aggregator import (
    Aggregator,
    FederationConfig,
    NodeEntry,
    NodeOutcome,
    QuorumPolicy,
    SectorResult,
)
from aggregator.federation import AggregationMode
from aggregator.history import SqliteHistory
from aggregator.secure import SecureRound
from aggregator.transport import NodeQueryError
from node import NodeRuntime, import_files, load_node_config, open_node
from node.engine.secure import RoundRequest, SecureRefused, SecureRounds
from node.service.errors import status_for
from privacy import QuerySpec, Statistic, load_catalogue, validate
from privacy.errors import InvalidQueryError, KoepelError
from privacy.mechanisms import plan_release
from protos import pb2
from wire.tls import TlsFiles, init_ca, issue

K = 5


@dataclass
class Federation:
    root: Path
    runtimes: dict[str, NodeRuntime]
    rounds: dict[str, SecureRounds]
    config: FederationConfig
    tls: TlsFiles


class Dispatch:
    """A transport that hands each secure call to the node's SecureRounds, as the servicer does;
    ``silent`` nodes stop answering from ``silent_from`` on (a crash between the rounds)."""

    def __init__(self, rounds: dict[str, SecureRounds], silent: set[str] = frozenset(),
                 silent_from: str = "SecureConsistency", *,
                 restart_before: str | None = None) -> None:
        self.rounds, self.silent, self.silent_from = dict(rounds), set(silent), silent_from
        self.restart_before = restart_before  # every node restarts before this method
        self.dead: set[str] = set()
        self.calls: list[tuple[str, str]] = []
        self.unmasks: dict[str, Any] = {}  # the last unmask request each node got
        self.key_shares: dict[str, bytes] = {}  # what each node sent in share keys
        self.requests: dict[tuple[str, str], Any] = {}  # the last request of each kind

    async def secure(self, node: NodeEntry, method: str, request: Any, timeout: float) -> Any:
        if method == self.silent_from:
            self.dead |= self.silent
        if node.node_id in self.dead:
            raise TimeoutError
        self.calls.append((node.node_id, method))
        self.requests[(node.node_id, method)] = request
        try:
            return self._call(node.node_id, method, request)
        except KoepelError as error:  # as the servicer maps a refusal to its status
            raise NodeQueryError(node.node_id, status_for(error).code, error.code, str(error),
                                 {}) from None

    def _call(self, node_id: str, method: str, request: Any) -> Any:
        if method == self.restart_before:
            old = self.rounds[node_id]
            self.rounds[node_id] = SecureRounds(old._config, old._engine, old._store)
        r = self.rounds[node_id]
        if method == "SecureEnrol":
            return pb2.SecureEnrolResponse(roster_entry=r.enrol())
        if method == "SecureShareKeys":
            self.key_shares[node_id] = r.share_keys("federation", *_round_args(request.round))
            return pb2.SecureShareKeysResponse(key_shares=self.key_shares[node_id])
        if method == "SecureMask":
            masked, cost, local, replayed = r.mask(
                "federation", *_round_args(request.round), key_holders=request.key_holders)
            return pb2.SecureMaskResponse(masked_input=masked, cost_micro_units=cost,
                                          cost_micro_epsilon=cost, local_micro_units=local,
                                          replayed=replayed)
        if method == "SecureConsistency":
            return pb2.SecureConsistencyResponse(signature=r.consistency(
                "federation", request.query_id, list(request.key_holders),
                list(request.survivors)))
        self.unmasks[node_id] = request
        return pb2.SecureUnmaskResponse(unmask_reply=r.unmask(
            "federation", request.query_id, list(request.key_holders),
            list(request.survivors), dict(request.consistency_signatures),
            dict(request.shares)))


def _spec(message: pb2.QuerySpec) -> QuerySpec:
    from wire.spec import spec_from_proto
    return spec_from_proto(message)


def _round_args(message: pb2.SecureRoundSpec) -> tuple[str, QuerySpec, RoundRequest]:
    """As the servicer reads a share-keys or round-1 request (no operator attribution here:
    tests/test_operator_secure.py covers that through real processes)."""
    return message.query_id, _spec(message.spec), RoundRequest(
        message.params, message.roster, message.roster_signature,
        message.aggregator_certificate, message.honest_shares)


@pytest.fixture(scope="module")
def federation(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Federation]:
    root = tmp_path_factory.mktemp("secure")
    init_ca(root / "ca")
    catalogue = write_zcdp_catalogue(root / "zcdp.toml")
    runtimes, rounds, entries = {}, {}, []
    files = sorted((FIXTURES / "small").glob("*.csv"))
    for i in range(K):
        node_id = f"org-{i}"
        path = create_node(root / node_id, node_id=node_id, queriers={"federation": "20"},
                           node_cap="100", lifetime_cap="500")
        serve_zcdp(path, catalogue)
        issue(root / "ca", role="node", name=node_id, out=root / node_id / "tls", **LOOPBACK)
        runtime = open_node(load_node_config(path))
        import_files(runtime.store, runtime.secret, files)
        runtimes[node_id] = runtime
        rounds[node_id] = SecureRounds(runtime.config, runtime.engine, runtime.store)
        entries.append(NodeEntry(node_id, "127.0.0.1:1", node_id))
    tls = issue(root / "ca", role="aggregator", name="federation", out=root / "agg", **LOOPBACK)
    config = FederationConfig(
        path=root / "federation.toml", name="t", querier_identity="federation",
        catalogue=load_catalogue(catalogue), deadline_seconds=10, retries=0,
        quorum=QuorumPolicy(0.5, 0.0), history=root / "h.db", listen="127.0.0.1:0",
        nodes=tuple(entries), tls=tls, aggregation=AggregationMode("secure", 3, 1))
    yield Federation(root, runtimes, rounds, config, tls)
    for runtime in runtimes.values():
        runtime.close()


def _query(fed: Federation, statistic: Statistic = Statistic.COUNT, epsilon: int = 1_000_000):
    measure = "headcount" if statistic is Statistic.COUNT else "support_hours"
    spec = QuerySpec(ZCDP_VERSION, measure, statistic, ("gender",), (), "2025", epsilon)
    return validate(spec, fed.config.catalogue)


def _run(fed: Federation, transport: Dispatch, query: Any):
    round_ = SecureRound(fed.config, transport, fed.tls)
    return asyncio.run(round_.run(query, result_id="r", created_at="now", deadline=5))


def test_the_sector_figure_is_the_sum_with_about_one_central_noise(
        federation: Federation) -> None:
    fed = federation
    query = _query(fed)
    exact = [0] * len(query.cells)
    for runtime in fed.runtimes.values():
        counts, _ = runtime.engine.exact_cells(query)
        exact = [a + b for a, b in zip(exact, counts, strict=True)]
    before = {n: len(r.engine.ledger.entries()) for n, r in fed.runtimes.items()}
    result, transcript = _run(fed, Dispatch(fed.rounds), query)
    assert result.aggregation == "secure" and len(result.answered) == K
    rho = plan_release(query).vectors[0].budget_micro / 1e6
    central = 1 / math.sqrt(2 * rho)  # one trusted curator's discrete Gaussian at that ρ
    for cell, truth in zip(result.cells, exact, strict=True):
        # 5.5 SEs: a correct release fails with probability < 4e-8 per cell.
        assert abs(cell.estimate - truth) <= 5.5 * cell.standard_error
        # K shares calibrated for t = 3 honest ones: √(K/t) × central, not √K × central.
        assert cell.standard_error == pytest.approx(central * math.sqrt(K / 3), rel=0.01)
    for node_id, runtime in fed.runtimes.items():
        [entry] = runtime.engine.ledger.entries()[before[node_id]:]
        assert entry.mechanism == "secagg_discrete_gaussian:count" and entry.cost_micro > 0
        assert "secagg-ddg t=3 c=1" in entry.noise
    assert transcript["u2"] == sorted(fed.runtimes)


def test_nodes_silent_after_round_one_are_recovered_and_still_charged(
        federation: Federation) -> None:
    fed = federation
    query = _query(fed, Statistic.MEAN)
    result, _ = _run(fed, Dispatch(fed.rounds, {"org-3", "org-4"}), query)
    assert len(result.answered) == K  # U2: their masked vectors are in the sum
    # Every cell's sum and count were unmasked (a mean's noisy count may still be ≤ 0 in an
    # empty category, which leaves that ratio without an estimate, as documented).
    assert all(math.isfinite(c.count_estimate) and math.isfinite(c.sum_estimate)
               for c in result.cells)


def test_below_t_plus_c_survivors_nothing_is_released_and_charges_stay(
        federation: Federation) -> None:
    fed = federation
    query = _query(fed)
    before = {n: len(r.engine.ledger.entries()) for n, r in fed.runtimes.items()}
    dying = Dispatch(fed.rounds, {"org-0", "org-1"}, silent_from="SecureMask")
    result, _ = _run(fed, dying, query)
    assert result.cells == () and not result.complete
    assert "aborted" in result.incomplete_reasons[0]
    charged = {n for n, r in fed.runtimes.items() if len(r.engine.ledger.entries()) > before[n]}
    assert charged == {"org-2", "org-3", "org-4"}  # the survivors' round-1 charges stay


def test_a_second_unmask_is_refused_also_after_a_restart(federation: Federation) -> None:
    fed = federation
    transport = Dispatch(fed.rounds)
    _run(fed, transport, _query(fed))
    request = transport.unmasks["org-0"]
    again = dict(key_holders=list(request.key_holders), survivors=list(request.survivors),
                 signatures=dict(request.consistency_signatures), shares=dict(request.shares))
    with pytest.raises(SecureRefused, match="unmask"):  # the very same, valid request
        transport.rounds["org-0"].unmask("federation", request.query_id, **again)
    node = fed.runtimes["org-0"]
    restarted = SecureRounds(node.config, node.engine, node.store)  # a restarted node
    assert restarted._claim(bytes.fromhex(request.query_id)) is False  # the claim persisted
    with pytest.raises(SecureRefused, match="no round-1 state"):
        restarted.unmask("federation", request.query_id, **again)


def test_a_secure_query_refuses_to_resume_a_stored_query_at_no_cost(
        federation: Federation, tmp_path: Path) -> None:
    fed = federation
    history = SqliteHistory(tmp_path / "h.db")
    aggregator = Aggregator(fed.config, Dispatch(fed.rounds), history)
    asked = _query(fed).spec
    stored = SectorResult(result_id="r1", created_at="now", spec=asked, group_by=(), cells=(),
                          nodes=(), complete=True, query_id="q" * 32)
    history.save(stored)  # a per-node query asked earlier with that id
    before = {n: len(r.engine.ledger.entries()) for n, r in fed.runtimes.items()}
    with pytest.raises(InvalidQueryError, match="cannot be resumed"):
        asyncio.run(aggregator.submit(asked, query_id="q" * 32, secure=True))
    assert before == {n: len(r.engine.ledger.entries()) for n, r in fed.runtimes.items()}


def test_a_pure_epsilon_catalogue_is_refused_at_no_cost(federation: Federation,
                                                        tmp_path: Path) -> None:
    fed = federation
    node = fed.runtimes["org-0"]
    before = len(node.engine.ledger.entries())
    pure = replace(_query(fed).spec, catalogue_version="2026.1")
    nothing = RoundRequest(b"", b"", b"", b"", 3)
    with pytest.raises(Exception, match=r"pure|approved"):
        fed.rounds["org-0"].mask("federation", "x" * 32, pure, nothing, key_holders=b"")
    with pytest.raises(Exception, match=r"pure|approved"):
        fed.rounds["org-0"].share_keys("federation", "x" * 32, pure, nothing)
    assert len(node.engine.ledger.entries()) == before


@pytest.mark.parametrize("statistic", [Statistic.SUM, Statistic.HISTOGRAM])
def test_sums_and_histograms_are_securely_aggregated_too(federation: Federation,
                                                         statistic: Statistic) -> None:
    fed = federation
    query = _query(fed, statistic)
    result, _ = _run(fed, Dispatch(fed.rounds), query)
    assert result.aggregation == "secure" and len(result.answered) == K
    exact: list[float] = []
    for runtime in fed.runtimes.values():
        if statistic is Statistic.SUM:
            _, sums, _ = runtime.engine.exact_cells_and_clamped(query)
            values = [v / query.catalogue.fixed_point_scale for v in sums]
        else:
            values = [float(v) for v in runtime.engine.exact_histogram(query)]
        exact = values if not exact else [a + b for a, b in zip(exact, values, strict=True)]
    assert len(result.cells) == len(exact)
    for cell, truth in zip(result.cells, exact, strict=True):
        # 5.5 SEs per cell: a correct release fails with probability < 4e-8 per cell.
        assert abs(cell.estimate - truth) <= 5.5 * cell.standard_error


def test_a_node_refuses_a_share_that_would_expose_more_than_its_cap(
        federation: Federation) -> None:
    """node.toml's local_exposure_cap_epsilon: refused before anything is read or charged."""
    fed = federation
    node = fed.runtimes["org-0"]
    capped_config = replace(node.config, budget=replace(node.config.budget,
                                                        local_exposure_cap_micro=100_000))
    rounds = {**fed.rounds, "org-0": SecureRounds(capped_config, node.engine, node.store)}
    before = len(node.engine.ledger.entries())
    result, _ = _run(fed, Dispatch(rounds), _query(fed))
    [report] = [n for n in result.nodes if n.node_id == "org-0"]
    assert report.outcome is NodeOutcome.REFUSED and "local_exposure_cap" in report.reason
    assert len(node.engine.ledger.entries()) == before
    assert sorted(result.answered) == ["org-1", "org-2", "org-3", "org-4"]


def test_nodes_dropping_after_sharing_keys_cost_nothing_and_a_silent_survivor_is_fine(
        federation: Federation) -> None:
    """org-4 shares keys, then goes silent before round 1 (its pair masks are rebuilt from
    its key shares, it is not charged); org-3 is silent from the consistency round on: the
    combination the long-term-key variant had to abort."""
    fed = federation
    query = _query(fed)
    before = {n: len(r.engine.ledger.entries()) for n, r in fed.runtimes.items()}

    class Both(Dispatch):
        async def secure(self, node: NodeEntry, method: str, request: Any,
                         timeout: float) -> Any:
            if (node.node_id == "org-4" and method != "SecureShareKeys"
                    and method != "SecureEnrol") or (
                    node.node_id == "org-3" and method in ("SecureConsistency", "SecureUnmask")):
                raise TimeoutError
            return await super().secure(node, method, request, timeout)

    transport = Both(fed.rounds)
    result, transcript = _run(fed, transport, query)
    assert sorted(result.answered) == ["org-0", "org-1", "org-2", "org-3"]
    assert transcript["u1_prime"] == sorted(fed.runtimes) and "org-4" not in transcript["u2"]
    assert "org-3" not in transcript["unmask"] and result.cells
    charged = {n for n, r in fed.runtimes.items() if len(r.engine.ledger.entries()) > before[n]}
    assert charged == {"org-0", "org-1", "org-2", "org-3"}
    [report] = [n for n in result.nodes if n.node_id == "org-4"]
    assert report.cost_micro == 0


def test_a_node_restarted_between_share_keys_and_round_one_sends_the_same_keys(
        federation: Federation) -> None:
    """Every node restarts between the phases; the round still unmasks exactly (a node whose
    round-1 keys differed from its shared ones would be refused by every peer)."""
    fed = federation
    query = _query(fed)
    transport = Dispatch(fed.rounds, restart_before="SecureMask")
    result, transcript = _run(fed, transport, query)
    assert len(result.answered) == K and result.cells
    restarted = transport.rounds["org-0"]
    assert restarted is not fed.rounds["org-0"]
    from wire.secagg import KeyShares

    # A retried share keys, from yet another restart, repeats the key it advertised (and
    # costs nothing: the round is in the ledger under the same digest).
    _, spec, round_request = _round_args(
        transport.requests[("org-0", "SecureShareKeys")].round)
    round_id = transport.requests[("org-0", "SecureShareKeys")].round.query_id
    again = SecureRounds(restarted._config, restarted._engine, restarted._store).share_keys(
        "federation", round_id, spec, round_request)
    first = KeyShares.from_bytes(transport.key_shares["org-0"])
    assert KeyShares.from_bytes(again).ephemeral_public == first.ephemeral_public
    assert transcript["keys"]["org-0"]["ephemeral_public"] == first.ephemeral_public.hex()
    # The same round id under another ledger query id is refused (one round, one id).
    with pytest.raises(SecureRefused, match="not the round's id"):
        restarted.share_keys("federation", "f" * 32, spec, round_request)


def test_a_complete_roster_is_reused_and_asked_again_after_a_failure(
        federation: Federation) -> None:
    """One fan-out less per query while every node enrolled and shared keys; a node that
    failed makes the next query enrol everyone again."""
    fed = federation
    transport = Dispatch(fed.rounds)
    round_ = SecureRound(fed.config, transport, fed.tls)
    query = _query(fed)

    def run() -> SectorResult:
        result, _ = asyncio.run(round_.run(query, result_id="r", created_at="now", deadline=5))
        return result

    def enrolled() -> list[str]:
        return sorted(n for n, m in transport.calls if m == "SecureEnrol")

    assert len(run().answered) == K and len(run().answered) == K
    assert enrolled() == sorted(fed.runtimes)  # once each, for two queries
    transport.dead = {"org-4"}  # down during the next query's share keys
    assert len(run().answered) == K - 1
    transport.dead = set()
    assert len(run().answered) == K
    assert enrolled() == sorted(sorted(fed.runtimes) * 2)  # the failure made it ask again
