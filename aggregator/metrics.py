"""The aggregator's Prometheus metrics: fan-out, nodes up, quorum failures, what nodes report.

Label values come only from closed sets: the node ids registered in federation.toml, the
fan-out outcome names (:class:`NodeOutcome`), a few submit outcomes and the budget period.
Nothing from a query's answer, and no query id, ever becomes a label or a sample.

Each :class:`AggregatorMetrics` has its own ``CollectorRegistry`` (never the process-global
one), so tests can run several aggregators in one process.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from wsgiref.simple_server import WSGIServer

import grpc
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    start_http_server,
)

from aggregator.budgets import BudgetInfo
from aggregator.fanout import NodeOutcome, NodeReply
from aggregator.federation import FederationConfig, NodeEntry
from aggregator.results import SectorResult
from aggregator.transport import NodeTransport
from protos import pb2
from wire.guard import Refusal

__all__ = [
    "SUBMIT_OUTCOMES",
    "AggregatorMetrics",
    "MeteredTransport",
    "MetricsEndpoint",
    "SubmitObservation",
]

log = logging.getLogger("koepel.aggregator")

SUBMIT_OUTCOMES = ("complete", "incomplete", "invalid", "refused", "error")
# Fan-out waits for the slowest node up to its deadline (10 s by default): buckets in seconds.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_DOWN = {NodeOutcome.UNAVAILABLE}
_UNKNOWN = {NodeOutcome.DEADLINE_EXCEEDED, NodeOutcome.ERROR}


class MetricsEndpoint:
    """A running /metrics HTTP server; ``port`` is the bound port (useful with port 0)."""

    def __init__(self, server: WSGIServer, thread: threading.Thread) -> None:
        self._server = server
        self._thread = thread
        self.host = str(server.server_address[0])
        self.port = int(server.server_address[1])

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


class SubmitObservation:
    """How one SubmitQuery call ended; set by the servicer, recorded on exit."""

    def __init__(self) -> None:
        self.outcome = "error"
        self.query_id = ""

    def result(self, result: SectorResult) -> None:
        self.query_id = result.query_id or result.result_id
        self.outcome = "complete" if result.complete else "incomplete"


class AggregatorMetrics:
    """The aggregator's metrics in their own registry, and the hooks its code calls."""

    def __init__(self, config: FederationConfig, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry(auto_describe=True)
        self._nodes = tuple(n.node_id for n in config.nodes)
        self._querier = config.querier_identity
        self._up: dict[str, bool] = {}  # unknown until a call or a probe says
        r = self.registry
        ProcessCollector(registry=r)
        PlatformCollector(registry=r)
        self.queries = Counter("koepel_aggregator_queries_total",
                               "Sector queries submitted by operators, by outcome.",
                               ["outcome"], registry=r)
        self.latency = Histogram("koepel_aggregator_query_duration_seconds",
                                 "Time from an operator's submit to the combined result.",
                                 buckets=LATENCY_BUCKETS, registry=r)
        self.in_flight = Gauge("koepel_aggregator_queries_in_flight",
                               "Sector queries being answered right now.", registry=r)
        self.fanout = Histogram("koepel_aggregator_fanout_duration_seconds",
                                "Time to ask every node (until the last answer or the deadline).",
                                buckets=LATENCY_BUCKETS, registry=r)
        self.node_latency = Histogram("koepel_aggregator_node_query_duration_seconds",
                                      "Time one node took to answer one Query call.",
                                      ["node"], buckets=LATENCY_BUCKETS, registry=r)
        self.replies = Counter("koepel_aggregator_node_replies_total",
                               "Nodes' replies to fanned-out queries, by node and outcome.",
                               ["node", "outcome"], registry=r)
        self.quorum_failures = Counter("koepel_aggregator_quorum_failures_total",
                                       "Sector results with fewer answering nodes than the "
                                       "quorum (published as incomplete).", registry=r)
        self.node_up = Gauge("koepel_aggregator_node_up",
                             "1 if the node answered its last call or probe, 0 if unreachable.",
                             ["node"], registry=r)
        self.nodes_up = Gauge("koepel_aggregator_nodes_up", "Registered nodes that are up.",
                              registry=r)
        Gauge("koepel_aggregator_nodes_registered", "Nodes registered in federation.toml.",
              registry=r).set(len(self._nodes))
        labels = ["node", "period"]
        self.budget_spent = Gauge("koepel_aggregator_node_budget_spent_epsilon",
                                  "ε the federation's querier has spent on a node this period, "
                                  "as the node reports it.", labels, registry=r)
        self.budget_remaining = Gauge("koepel_aggregator_node_budget_remaining_epsilon",
                                      "ε the federation's querier may still spend on a node.",
                                      labels, registry=r)
        self.budget_cap = Gauge("koepel_aggregator_node_budget_cap_epsilon",
                                "The node's cap (ε per period) for the federation's querier.",
                                labels, registry=r)
        for outcome in SUBMIT_OUTCOMES:
            self.queries.labels(outcome)
        self.quorum_failures.inc(0)
        for node in self._nodes:
            self.node_latency.labels(node)
            for reply in NodeOutcome:
                self.replies.labels(node, reply.value)

    def _set_up(self, node: str, up: bool) -> bool:
        """Record whether ``node`` is up; return whether that changed."""
        changed = self._up.get(node) != up
        self._up[node] = up
        self.node_up.labels(node).set(1 if up else 0)
        self.nodes_up.set(sum(self._up.values()))
        return changed

    @contextmanager
    def observe_submit(self) -> Iterator[SubmitObservation]:
        """Time one SubmitQuery call and count its outcome, however it ends; log one line."""
        observation = SubmitObservation()
        started = time.perf_counter()
        self.in_flight.inc()
        try:
            yield observation
        finally:
            elapsed = time.perf_counter() - started
            self.in_flight.dec()
            self.latency.observe(elapsed)
            self.queries.labels(observation.outcome).inc()
            if observation.outcome == "incomplete":
                self.quorum_failures.inc()
            log.info("sector query %s", observation.outcome, extra={
                "query_id": observation.query_id, "outcome": observation.outcome,
                "duration_seconds": round(elapsed, 6)})

    def gate_refused(self, method: str, identity: str, refusal: Refusal) -> None:
        """Count a SubmitQuery the gate refused before it reached the service (not timed)."""
        if method.endswith("/SubmitQuery"):
            invalid = refusal.code is grpc.StatusCode.INVALID_ARGUMENT
            self.queries.labels("invalid" if invalid else "refused").inc()

    def fanned_out(self, query_id: str, replies: Sequence[NodeReply], seconds: float) -> None:
        """Record one fan-out: its duration, each node's outcome, which nodes are up."""
        self.fanout.observe(seconds)
        for reply in replies:
            node = reply.node.node_id
            if node not in self._nodes:
                continue
            self.replies.labels(node, reply.outcome.value).inc()
            if reply.outcome not in _UNKNOWN:
                self._set_up(node, reply.outcome not in _DOWN)
            log.info("node %s: %s", node, reply.outcome.value, extra={
                "query_id": query_id, "node_id": node, "outcome": reply.outcome.value,
                "attempts": reply.attempts})

    def node_probed(self, node: NodeEntry, reachable: bool,
                    budget: Sequence[BudgetInfo]) -> None:
        """Record a periodic probe of ``node``: up or not, and the budget it reports."""
        if node.node_id not in self._nodes:
            return
        if self._set_up(node.node_id, reachable):
            log.log(logging.INFO if reachable else logging.WARNING,
                    "node %s is %s", node.node_id, "up" if reachable else "unreachable",
                    extra={"node_id": node.node_id, "up": reachable})
        for line in budget:
            if line.querier != self._querier:
                continue  # node-wide and lifetime lines ("*") are the node's, not ours
            values = (node.node_id, line.period)
            self.budget_spent.labels(*values).set(line.spent_micro / 1e6)
            self.budget_cap.labels(*values).set(line.cap_micro / 1e6)
            self.budget_remaining.labels(*values).set(line.remaining_micro / 1e6)

    def node_called(self, node: str, seconds: float) -> None:
        if node in self._nodes:
            self.node_latency.labels(node).observe(seconds)

    def serve_http(self, host: str, port: int) -> MetricsEndpoint:
        """Serve /metrics on ``host:port`` (port 0 picks a free port) in a daemon thread."""
        server, thread = start_http_server(port, addr=host, registry=self.registry)
        return MetricsEndpoint(server, thread)


class MeteredTransport:
    """A :class:`NodeTransport` that times every Query call per node; otherwise transparent."""

    def __init__(self, inner: NodeTransport, metrics: AggregatorMetrics) -> None:
        self._inner = inner
        self._metrics = metrics

    async def query(self, node: NodeEntry, request: pb2.QueryRequest,
                    timeout: float) -> pb2.QueryResponse:
        started = time.perf_counter()
        try:
            return await self._inner.query(node, request, timeout)
        finally:
            self._metrics.node_called(node.node_id, time.perf_counter() - started)

    async def describe(self, node: NodeEntry, timeout: float) -> pb2.DescribeResponse:
        return await self._inner.describe(node, timeout)

    async def budget(self, node: NodeEntry, timeout: float) -> pb2.BudgetResponse:
        return await self._inner.budget(node, timeout)

    async def close(self) -> None:
        await self._inner.close()
