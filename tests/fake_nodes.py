"""An injectable, in-process stand-in for the nodes, to test fan-out and combination logic
without a network (STYLE §13). It keeps the node's contract where the aggregator relies on it:
refusals before any charge, one charge per query id, replayed answers for a repeated id."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import grpc

from aggregator import NodeEntry, NodeQueryError
from aggregator.spec import spec_from_proto
from privacy import BudgetExhaustedError, Statistic, default_catalogue, plan_release, validate
from protos import pb2

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
    return NodeEntry(node_id, f"127.0.0.1:{1000 + len(node_id)}", f"Organisation {node_id}",
                     "BE-WAL", "EI_WAL", f"{node_id}.test", expected_size, deadline)
