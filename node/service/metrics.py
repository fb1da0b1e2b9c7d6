"""The node's Prometheus metrics: what its operator watches, never what its records hold.

Every label value comes from a small, closed set: the querier identities configured in
node.toml (any other caller is counted as ``other``), the stable refusal codes of the error
catalogue, gRPC method and status names, and the budget period. No record value, key, query id
or SQL ever becomes a label or a sample. Budget figures are read from the ledger at scrape
time, so they are exactly what an auditor would add up, not a counter that could drift.

Each :class:`NodeMetrics` has its own ``CollectorRegistry`` (never the process-global one), so
several nodes can run in one process, as the tests do.

Metrics must not reopen the side channels the node closes elsewhere: whoever can read them (an
operator, or a shared Prometheus that also scrapes the aggregator, ops/compose) could time a
query or watch the store grow. So the query-duration series and the log line record the time
**rounded up to the reply quantum** (node.toml ``reply_quantum_ms``), the same grain at which
the reply itself leaves the node; the store size is reported in whole MiB; and there is no
process CPU or memory collector, whose counters grow with every query's work on the records.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from wsgiref.simple_server import WSGIServer

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    start_http_server,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from node.config import NodeConfig
from node.engine.queries import BudgetLine, QueryEngine
from node.store.database import Store
from wire.guard import Refusal

__all__ = [
    "LATENCY_BUCKETS",
    "REFUSAL_REASONS",
    "STORE_SIZE_QUANTUM",
    "MetricsEndpoint",
    "NodeMetrics",
    "QueryObservation",
    "quantised",
]

log = logging.getLogger("koepel.node")

SOFTWARE_VERSION = "0.1.0"
OTHER_QUERIER = "other"
# The error catalogue's stable codes (privacy.errors) plus INTERNAL for anything unexpected.
REFUSAL_REASONS = (
    "INVALID_QUERY",
    "PERMISSION_DENIED",
    "NOT_SHARED_BY_ORGANISATION",  # the organisation's own sharing choice (node/policy.py)
    "CATALOGUE_VERSION_NOT_APPROVED",
    "PRIVACY_BUDGET_EXHAUSTED",
    "QUERY_ID_REUSED",
    # The operator's signature behind a query (wire.attribution, node/policy.py):
    "OPERATOR_ATTRIBUTION_INVALID",
    "OPERATOR_ATTRIBUTION_REQUIRED",
    "INTERNAL",
    # Refused by the gate before the servicer (wire/guard.py):
    "UNAUTHENTICATED",
    "ROLE_NOT_ALLOWED",
    "RATE_LIMITED",
    "MALFORMED_REQUEST",
    "INVALID_REQUEST",
)
# A query is a SQL aggregation over one organisation plus a few OpenDP draws: milliseconds to a
# few seconds at most. Buckets in seconds (Prometheus base unit).
_LOCK_WAIT_SECONDS = 0.5
LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
STORE_SIZE_QUANTUM = 1 << 20  # the store size is reported in whole MiB, rounded up


def quantised(seconds: float, quantum: float) -> float:
    """``seconds`` rounded up to a whole number of quanta (at least one; as is if 0)."""
    if quantum <= 0:
        return seconds
    return quantum * max(1, math.ceil(seconds / quantum - 1e-9))


class _LedgerCollector(Collector):
    """Budget and store size, read at scrape time from the ledger and the database file."""

    def __init__(self, engine: QueryEngine, config: NodeConfig, store: Store) -> None:
        self._engine = engine
        self._config = config
        self._store = store
        self._last: list[BudgetLine] = []

    def _budgets(self) -> list[BudgetLine]:
        """The ledger's budget lines, or the last ones read while a write holds the store.

        A scrape must not hang behind a charge that waits for the database (e.g. during an
        import): then it reports the previous scrape's figures, at most a moment old.
        """
        if not self._store.lock.acquire(timeout=_LOCK_WAIT_SECONDS):
            return self._last
        try:
            self._last = self._engine.all_budgets()
        except Exception as error:  # a closed or broken store must not break the scrape
            log.warning("budget metrics unavailable", extra={"error_type": type(error).__name__})
        finally:
            self._store.lock.release()
        return self._last

    def collect(self) -> Iterator[GaugeMetricFamily]:
        labels = ["querier", "period"]
        spent = GaugeMetricFamily("koepel_node_budget_spent_epsilon",
                                  "Privacy loss (ε) charged to a querier in the current period.",
                                  labels=labels)
        remaining = GaugeMetricFamily("koepel_node_budget_remaining_epsilon",
                                      "Privacy loss (ε) a querier may still spend this period.",
                                      labels=labels)
        cap = GaugeMetricFamily("koepel_node_budget_cap_epsilon",
                                "A querier's privacy-loss cap (ε) per period, from node.toml.",
                                labels=labels)
        for line in self._budgets():
            values = [line.querier, line.period]
            spent.add_metric(values, line.spent_micro / 1e6)
            remaining.add_metric(values, line.remaining_micro / 1e6)
            cap.add_metric(values, line.cap_micro / 1e6)
        yield from (spent, remaining, cap)
        size = GaugeMetricFamily("koepel_node_store_size_bytes",
                                 "Size of the node's encrypted database file, rounded up to "
                                 "whole MiB.")
        with suppress(OSError):
            exact = os.stat(self._config.database).st_size
            size.add_metric([], float(-(-exact // STORE_SIZE_QUANTUM) * STORE_SIZE_QUANTUM))
        yield size


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


class QueryObservation:
    """What one Query call turned out to be; filled in by the servicer, recorded on exit."""

    def __init__(self, query_id: str) -> None:
        self.query_id = query_id[:64]
        self.querier = ""
        self.outcome = "refused"
        self.reason = "INTERNAL"
        self.cost_micro = 0

    def answered(self, *, replayed: bool, cost_micro: int) -> None:
        self.outcome = "replayed" if replayed else "answered"
        self.reason = ""
        self.cost_micro = 0 if replayed else cost_micro

    def refused(self, reason: str) -> None:
        self.outcome = "refused"
        self.reason = reason


class NodeMetrics:
    """The node's metrics in their own registry, and the hooks the servicer calls."""

    def __init__(self, config: NodeConfig, engine: QueryEngine, store: Store,
                 registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry(auto_describe=True)
        self._queriers = frozenset(config.queriers)
        self._quantum = config.reply_quantum_ms / 1000
        r = self.registry
        PlatformCollector(registry=r)  # the Python version; no process CPU/memory (see above)
        Gauge("koepel_node_build_info", "Always 1; labels name the node and its software.",
              ["node_id", "version"], registry=r).labels(config.node_id, SOFTWARE_VERSION).set(1)
        self.answered = Counter("koepel_node_queries_answered_total",
                                "Queries answered (replayed: a retried query id, no new charge).",
                                ["querier", "replayed"], registry=r)
        self.refused = Counter("koepel_node_queries_refused_total",
                               "Queries refused, by querier and machine-readable reason; "
                               "a refused query costs no budget.",
                               ["querier", "reason"], registry=r)
        self.charged = Counter("koepel_node_epsilon_charged_total",
                               "Privacy loss (ε) charged since the node started.",
                               ["querier"], registry=r)
        self.latency = Histogram("koepel_node_query_duration_seconds",
                                 "Time to answer or refuse a query, by outcome, rounded up "
                                 "to the reply quantum.",
                                 ["outcome"], buckets=LATENCY_BUCKETS, registry=r)
        self.in_flight = Gauge("koepel_node_queries_in_flight",
                               "Queries being answered right now.", registry=r)
        self.requests = Counter("koepel_node_requests_total",
                                "gRPC calls handled, by method and status code.",
                                ["method", "code"], registry=r)
        for querier in sorted(self._queriers | {OTHER_QUERIER}):
            self.charged.labels(querier)
            for replayed in ("false", "true"):
                self.answered.labels(querier, replayed)
            for reason in REFUSAL_REASONS:
                self.refused.labels(querier, reason)
        for outcome in ("answered", "replayed", "refused"):
            self.latency.labels(outcome)
        r.register(_LedgerCollector(engine, config, store))

    def querier_label(self, querier: str) -> str:
        """The label for ``querier``: itself if configured, else ``other`` (bounded labels)."""
        return querier if querier in self._queriers else OTHER_QUERIER

    def request(self, method: str, code: str) -> None:
        self.requests.labels(method, code).inc()

    def gate_refused(self, method: str, identity: str, refusal: Refusal) -> None:
        """Count a call the gate refused before it reached the servicer."""
        short = method.rsplit("/", 1)[-1]
        self.request(short, refusal.code.name)
        if short == "Query":
            reason = refusal.reason if refusal.reason in REFUSAL_REASONS else "INTERNAL"
            self.refused.labels(self.querier_label(identity), reason).inc()

    @contextmanager
    def observe_query(self, query_id: str) -> Iterator[QueryObservation]:
        """Time one Query call and record its outcome, whatever way it ends; log one line."""
        observation = QueryObservation(query_id)
        started = time.perf_counter()
        self.in_flight.inc()
        try:
            yield observation
        finally:
            elapsed = quantised(time.perf_counter() - started, self._quantum)
            self.in_flight.dec()
            querier = self.querier_label(observation.querier)
            self.latency.labels(observation.outcome).observe(elapsed)
            if observation.outcome == "refused":
                self.refused.labels(querier, observation.reason).inc()
            else:
                self.answered.labels(querier, str(observation.outcome == "replayed").lower()).inc()
                self.charged.labels(querier).inc(observation.cost_micro / 1e6)
            log.info("query %s", observation.outcome, extra={
                "query_id": observation.query_id,
                "querier": observation.querier[:128],
                "outcome": observation.outcome,
                "reason": observation.reason,
                "cost_micro_epsilon": observation.cost_micro,
                "duration_seconds": round(elapsed, 6),
            })

    def serve_http(self, host: str, port: int) -> MetricsEndpoint:
        """Serve /metrics on ``host:port`` (port 0 picks a free port) in a daemon thread."""
        server, thread = start_http_server(port, addr=host, registry=self.registry)
        return MetricsEndpoint(server, thread)

