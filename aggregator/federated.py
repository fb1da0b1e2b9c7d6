"""The aggregator's logic: validate, fan out, combine, remember. Free of the gRPC server."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from dataclasses import dataclass, field

from aggregator.fanout import NodeOutcome, NodeReply, fan_out
from aggregator.federation import FederationConfig, NodeEntry
from aggregator.history import HistoryStore
from aggregator.metrics import AggregatorMetrics
from aggregator.receipts import ReceiptBook
from aggregator.results import SectorResult, combine_replies
from aggregator.serde import spec_to_proto
from aggregator.transport import NodeQueryError, NodeTransport
from privacy import QuerySpec, Statistic, validate
from protos import pb2

__all__ = ["Aggregator", "NodeState"]

log = logging.getLogger("koepel.aggregator")


@dataclass(frozen=True)
class NodeState:
    node: NodeEntry
    reachable: bool
    reason: str = ""
    catalogue_versions: tuple[str, ...] = ()
    budget: tuple[pb2.BudgetLine, ...] = field(default_factory=tuple)


class Aggregator:
    def __init__(self, config: FederationConfig, transport: NodeTransport,
                 history: HistoryStore, *, metrics: AggregatorMetrics | None = None,
                 receipts: ReceiptBook | None = None) -> None:
        self.config = config
        self._transport = transport
        self.history = history
        self.metrics = metrics or AggregatorMetrics(config)
        self.receipts = receipts  # None: answers are used without checking signed receipts

    def _checked(self, reply: NodeReply) -> NodeReply:
        """Keep an answer's signed receipt; an answer whose receipt fails is not used."""
        if (self.receipts is None or reply.outcome is not NodeOutcome.ANSWERED
                or reply.response is None):
            return reply
        check = self.receipts.check(reply.node.node_id, self.config.querier_identity,
                                    reply.response)
        if check.valid:
            return reply
        log.warning("node %s: answer rejected: %s", reply.node.node_id, check.problem)
        return NodeReply(reply.node, NodeOutcome.ERROR, f"answer rejected: {check.problem}",
                         None, reply.attempts)

    async def submit(self, spec: QuerySpec, *, deadline_seconds: float | None = None,
                     query_id: str | None = None) -> SectorResult:
        """Ask every node; a query the catalogue refuses is refused here and costs nothing."""
        validated = validate(spec, self.config.catalogue)
        query_id = query_id or uuid.uuid4().hex
        request = pb2.QueryRequest(query_id=query_id, spec=spec_to_proto(spec))
        started = time.perf_counter()
        replies = await fan_out(
            self._transport, self.config.nodes, request,
            deadline_seconds=deadline_seconds or self.config.deadline_seconds,
        )
        replies = [self._checked(reply) for reply in replies]
        self.metrics.fanned_out(query_id, replies, time.perf_counter() - started)
        histogram = spec.statistic is Statistic.HISTOGRAM
        result = combine_replies(
            result_id=query_id, spec=spec, cells=validated.cells, replies=replies,
            quorum=self.config.quorum,
            bins=validated.measure.bin_labels if histogram else (),
            bin_edges=tuple(float(e) for e in validated.measure.bins) if histogram else (),
        )
        self.history.save(result)
        return result

    async def _state(self, node: NodeEntry, timeout: float) -> NodeState:
        try:
            described, budget = await asyncio.gather(
                self._transport.describe(node, timeout), self._transport.budget(node, timeout)
            )
        except NodeQueryError as error:
            return NodeState(node, False, f"{error.code.name}: {error.reason}")
        return NodeState(node, True, "", tuple(described.catalogue_versions),
                         tuple(budget.lines))

    async def node_states(self, timeout: float = 3.0) -> list[NodeState]:
        return list(await asyncio.gather(*(self._state(n, timeout) for n in self.config.nodes)))

    async def close(self) -> None:
        await self._transport.close()
        self.history.close()
        if self.receipts is not None:
            self.receipts.close()
