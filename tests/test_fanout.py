"""Fan-out and combination logic with an injected transport: no network needed."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import grpc
import pytest

from aggregator import (
    Aggregator,
    FederationConfig,
    NodeEntry,
    NodeOutcome,
    NodeQueryError,
    QuorumPolicy,
    RetryPolicy,
    SqliteHistory,
    fan_out,
)
from privacy import InvalidQueryError, QuerySpec, Statistic, default_catalogue
from protos import pb2

CAT = default_catalogue()


class ScriptedTransport:
    """Each node follows a script: a list of behaviours, one per attempt."""

    def __init__(self, scripts: dict[str, list[str]], cells: int = 7) -> None:
        self.scripts = scripts
        self.cells = cells
        self.seen_ids: Counter[tuple[str, str]] = Counter()

    async def query(self, node: NodeEntry, request: pb2.QueryRequest,
                    timeout: float) -> pb2.QueryResponse:
        self.seen_ids[(node.node_id, request.query_id)] += 1
        script = self.scripts[node.node_id]
        behaviour = script.pop(0) if len(script) > 1 else script[0]
        if behaviour == "down":
            raise NodeQueryError(node.node_id, grpc.StatusCode.UNAVAILABLE, "UNAVAILABLE", "")
        if behaviour == "broke":
            raise NodeQueryError(node.node_id, grpc.StatusCode.FAILED_PRECONDITION,
                                 "PRIVACY_BUDGET_EXHAUSTED", "no budget")
        if behaviour == "slow":
            await asyncio.sleep(timeout + 1)
        query = pb2.QueryResponse(query_id=request.query_id, node_id=node.node_id,
                                  cost_micro_epsilon=500_000,
                                  catalogue_version=request.spec.catalogue_version)
        for cell in CAT.dimensions["target_group"].cells[: self.cells]:
            query.cells.add(key=[cell])
        query.count.values.extend([10] * self.cells)
        query.count.noise_variance = 8.0
        query.count.fixed_point_scale = 1
        return query

    async def describe(self, node: NodeEntry, timeout: float) -> pb2.DescribeResponse:
        return pb2.DescribeResponse(node_id=node.node_id)

    async def budget(self, node: NodeEntry, timeout: float) -> pb2.BudgetResponse:
        return pb2.BudgetResponse()

    async def close(self) -> None:
        return None


def nodes(*names: str) -> list[NodeEntry]:
    return [NodeEntry(n, f"127.0.0.1:{i + 1}", n) for i, n in enumerate(names)]


def federation(tmp_path: Path, entries: list[NodeEntry], quorum: float = 0.5) -> FederationConfig:
    return FederationConfig(path=tmp_path / "federation.toml", name="test",
                            querier_identity="federation", catalogue=CAT, deadline_seconds=0.5,
                            retries=2, quorum=QuorumPolicy(quorum), history=tmp_path / "h.db",
                            listen="127.0.0.1:0", nodes=tuple(entries))


def test_transient_failures_are_retried_with_the_same_query_id() -> None:
    transport = ScriptedTransport({"a": ["down", "ok"], "b": ["ok"]})
    request = pb2.QueryRequest(query_id="q-1")
    replies = asyncio.run(fan_out(transport, nodes("a", "b"), request,
                                  deadlines={"a": 5, "b": 5}))
    assert [r.outcome for r in replies] == [NodeOutcome.ANSWERED, NodeOutcome.ANSWERED]
    assert replies[0].attempts == 2
    assert set(transport.seen_ids) == {("a", "q-1"), ("b", "q-1")}


def test_each_failure_is_reported_by_name_and_reason() -> None:
    transport = ScriptedTransport({"up": ["ok"], "down": ["down"], "broke": ["broke"],
                                   "slow": ["slow"]})
    entries = nodes("up", "down", "broke", "slow")
    replies = asyncio.run(fan_out(transport, entries, pb2.QueryRequest(query_id="q"),
                                  deadlines={n.node_id: 0.3 for n in entries},
                                  retry=RetryPolicy(retries=1)))
    outcomes = {r.node.node_id: r.outcome for r in replies}
    assert outcomes == {"up": NodeOutcome.ANSWERED, "down": NodeOutcome.UNAVAILABLE,
                        "broke": NodeOutcome.BUDGET_EXHAUSTED,
                        "slow": NodeOutcome.DEADLINE_EXCEEDED}


def test_aggregator_combines_answers_and_marks_quorum(tmp_path: Path) -> None:
    entries = nodes("a", "b", "c")
    transport = ScriptedTransport({"a": ["ok"], "b": ["ok"], "c": ["down"]})
    history = SqliteHistory(tmp_path / "h.db")
    aggregator = Aggregator(federation(tmp_path, entries, quorum=0.9), transport, history)
    spec = QuerySpec(CAT.version, "headcount", Statistic.COUNT, ("target_group",), (), "2025",
                     500_000)
    result = asyncio.run(aggregator.submit(spec))
    assert not result.complete  # 2 of 3 answered, quorum 90%
    assert all(cell.estimate == 20 for cell in result.cells)
    assert all(cell.standard_error == pytest.approx(4.0) for cell in result.cells)
    stored = history.get(result.result_id)  # stored, re-showable without spending
    assert stored is not None and stored.to_json() == result.to_json()
    history.close()


def test_invalid_queries_never_reach_a_node(tmp_path: Path) -> None:
    transport = ScriptedTransport({"a": ["ok"]})
    aggregator = Aggregator(federation(tmp_path, nodes("a")), transport,
                            SqliteHistory(":memory:"))
    bad = QuerySpec(CAT.version, "headcount", Statistic.COUNT, ("salary_band",), (), "2025", 1)
    with pytest.raises(InvalidQueryError):
        asyncio.run(aggregator.submit(bad))
    assert not transport.seen_ids
