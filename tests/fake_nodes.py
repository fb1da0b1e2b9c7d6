"""Test helpers for the aggregator: fake nodes, a federation of them, a sample stored result.

The fake nodes are an injectable, in-process transport, to test fan-out and combination logic
without a network (STYLE §13). They keep the node's contract where the aggregator relies on it:
refusals before any charge, one charge per query id, replayed answers for a repeated id."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import grpc

from aggregator import (
    CellResult,
    FederationConfig,
    NodeEntry,
    NodeOutcome,
    NodeQueryError,
    NodeReceipt,
    NodeReport,
    QuorumPolicy,
    SectorResult,
)
from privacy import (
    BudgetExhaustedError,
    QuerySpec,
    Statistic,
    default_catalogue,
    plan_release,
    validate,
)
from protos import pb2
from wire.spec import spec_from_proto

CATALOGUE = default_catalogue()


@dataclass
class Step:
    """What a node does on one attempt: answer, or fail before/after charging, or stall."""

    kind: str = "answer"  # answer | unavailable | lost_reply | stall | error
    seconds: float = 0.0


@dataclass
class FakeNode:
    entry: NodeEntry
    value: int = 10  # every cell's released count (sums: 100× in fixed point)
    approved: tuple[str, ...] = (CATALOGUE.version,)
    cap_micro: int = 10_000_000
    authorised: bool = True
    steps: list[Step] = field(default_factory=list)
    answers: dict[str, pb2.QueryResponse] = field(default_factory=dict)
    spent_micro: int = 0
    calls: list[str] = field(default_factory=list)

    def _error(self, code: grpc.StatusCode, reason: str, message: str) -> NodeQueryError:
        return NodeQueryError(self.entry.node_id, code, reason, message)

    def _answer(self, request: pb2.QueryRequest) -> pb2.QueryResponse:
        spec = spec_from_proto(request.spec)
        if not self.authorised:
            raise self._error(grpc.StatusCode.PERMISSION_DENIED, "PERMISSION_DENIED",
                              "querier 'federation' is not authorised on this node")
        if spec.catalogue_version not in self.approved:
            raise self._error(grpc.StatusCode.FAILED_PRECONDITION,
                              "CATALOGUE_VERSION_NOT_APPROVED",
                              f"catalogue version {spec.catalogue_version!r} is not approved")
        stored = self.answers.get(request.query_id)
        if stored is not None:
            replay = pb2.QueryResponse()
            replay.CopyFrom(stored)
            replay.replayed = True
            return replay
        query = validate(spec, CATALOGUE)
        cost = plan_release(query).total_micro
        if self.spent_micro + cost > self.cap_micro:
            error = BudgetExhaustedError(cap="querier federation in 2025",
                                         remaining_micro=self.cap_micro - self.spent_micro,
                                         requested_micro=cost)
            raise self._error(grpc.StatusCode.FAILED_PRECONDITION, error.code, str(error))
        n = len(query.cells)

        def vector(scale: int, value: int) -> pb2.NoisyVector:
            return pb2.NoisyVector(values=[value] * n, fixed_point_scale=scale,
                                   noise=pb2.NOISE_KIND_DISCRETE_LAPLACE, noise_scale=2.0,
                                   noise_variance=7.8, cost_micro_epsilon=cost)

        response = pb2.QueryResponse(
            query_id=request.query_id, node_id=self.entry.node_id,
            cells=[pb2.Cell(key=list(c)) for c in query.cells],
            cost_micro_epsilon=cost, catalogue_version=spec.catalogue_version)
        if spec.statistic in (Statistic.COUNT, Statistic.MEAN):
            response.count.CopyFrom(vector(1, self.value))
        if spec.statistic in (Statistic.SUM, Statistic.MEAN):
            response.sum.CopyFrom(vector(CATALOGUE.fixed_point_scale, 100 * self.value))
        self.spent_micro += cost  # charged before the answer leaves
        self.answers[request.query_id] = response
        return response

    async def query(self, request: pb2.QueryRequest) -> pb2.QueryResponse:
        self.calls.append(request.query_id)
        step = self.steps.pop(0) if self.steps else Step()
        if step.kind == "stall":
            await asyncio.sleep(step.seconds)
        if step.kind == "unavailable":
            raise self._error(grpc.StatusCode.UNAVAILABLE, "UNAVAILABLE", "connection refused")
        if step.kind == "error":
            raise self._error(grpc.StatusCode.INTERNAL, "INTERNAL", "internal error")
        response = self._answer(request)
        if step.kind == "lost_reply":  # charged, but the reply never arrives
            raise self._error(grpc.StatusCode.UNAVAILABLE, "UNAVAILABLE", "connection reset")
        return response


class FakeTransport:
    """The aggregator's transport over :class:`FakeNode` objects; a missing node is down."""

    def __init__(self, nodes: Iterable[FakeNode]) -> None:
        self.nodes: Mapping[str, FakeNode] = {n.entry.node_id: n for n in nodes}
        self.closed = False

    def _node(self, entry: NodeEntry) -> FakeNode:
        node = self.nodes.get(entry.node_id)
        if node is None:
            raise NodeQueryError(entry.node_id, grpc.StatusCode.UNAVAILABLE, "UNAVAILABLE",
                                 "failed to connect: connection refused")
        return node

    async def query(self, node: NodeEntry, request: pb2.QueryRequest,
                    timeout: float) -> pb2.QueryResponse:
        fake = self._node(node)
        try:
            return await asyncio.wait_for(fake.query(request), timeout)
        except TimeoutError:
            raise NodeQueryError(node.node_id, grpc.StatusCode.DEADLINE_EXCEEDED,
                                 "DEADLINE_EXCEEDED", "Deadline Exceeded") from None

    async def describe(self, node: NodeEntry, timeout: float) -> pb2.DescribeResponse:
        fake = self._node(node)
        return pb2.DescribeResponse(node_id=node.node_id, organisation=node.organisation,
                                    catalogue_versions=list(fake.approved),
                                    software_version="koepel test")

    async def budget(self, node: NodeEntry, timeout: float) -> pb2.BudgetResponse:
        fake = self._node(node)
        if not fake.authorised:
            raise NodeQueryError(node.node_id, grpc.StatusCode.PERMISSION_DENIED,
                                 "PERMISSION_DENIED", "querier 'federation' is not authorised")
        return pb2.BudgetResponse(lines=[pb2.BudgetLine(
            querier="federation", period="2025", cap_micro_epsilon=fake.cap_micro,
            spent_micro_epsilon=fake.spent_micro)])

    async def close(self) -> None:
        self.closed = True


def entry(node_id: str, *, expected_size: int | None = None,
          deadline: float | None = None) -> NodeEntry:
    """A registry entry with every piece of public metadata filled in."""
    return NodeEntry(node_id, f"127.0.0.1:{1000 + len(node_id)}", f"Organisation {node_id}",
                     "BE-WAL", "EI_WAL", f"{node_id}.test", expected_size, deadline)


HALF = QuorumPolicy()


def federation_config(nodes: list[FakeNode], *, quorum: QuorumPolicy = HALF,
                      deadline: float = 2.0, retries: int = 2) -> FederationConfig:
    """A federation of these fake nodes, as federation.toml would load it."""
    return FederationConfig(
        path=Path("federation.toml"), name="test federation", querier_identity="federation",
        catalogue=CATALOGUE, deadline_seconds=deadline, retries=retries, quorum=quorum,
        history=Path("history.db"), listen="127.0.0.1:0",
        nodes=tuple(n.entry for n in nodes),
    )


def sample_result(result_id: str, *, query_id: str = "",
                  created_at: str = "2025-06-01T10:00:00+00:00",
                  receipts: int = 2) -> SectorResult:
    """A stored-looking result: a cell without an estimate, three nodes, some receipts."""
    spec = QuerySpec("2025.1", "support_hours", Statistic.MEAN, ("region",),
                     (("gender", ("F", "M")),), "2025", 500_000)
    response = pb2.QueryResponse(query_id=query_id or result_id, node_id="n0",
                                 cost_micro_epsilon=500_000, catalogue_version="2025.1")
    return SectorResult(
        result_id=result_id,
        created_at=created_at,
        spec=spec,
        group_by=("region",),
        cells=(
            CellResult(("BE-VLG",), 53.0, 1.0, 51.1, 55.0, True, "", 53.0, 51.1, 55.0,
                       5300.0, 100.0),
            CellResult(("BE-BRU",), math.nan, math.inf, math.nan, math.nan, False,
                       "no estimate: the noisy denominator is not positive"),
        ),
        nodes=(
            NodeReport("n0", NodeOutcome.ANSWERED, "", 500_000, 1, False, "2025.1", 0.012),
            NodeReport("n1", NodeOutcome.BUDGET_EXHAUSTED, "PRIVACY_BUDGET_EXHAUSTED: …", 0, 1),
            NodeReport("n2", NodeOutcome.DEADLINE_EXCEEDED, "no answer within 2 s", 0, 1,
                       elapsed_seconds=2.0),
        ),
        complete=False,
        query_id=query_id or result_id,
        incomplete_reasons=("1 of 3 nodes answered (33%), below the quorum of 50% of nodes",),
        answered_node_share=1 / 3,
        federation="test",
        receipts=tuple(NodeReceipt(f"n{i}", query_id or result_id, created_at,
                                   response.SerializeToString() + bytes([i]))
                       for i in range(receipts)),
    )
