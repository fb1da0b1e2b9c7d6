"""Metrics of node and aggregator: real gRPC servers on loopback, /metrics scraped over HTTP.

Every label value must come from a closed set (configured queriers, error codes, node ids…),
and nothing a querier sent (its query id) or a record holds may appear in a scrape.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import pytest
from conftest import FIXTURES
from ops_helpers import scrape
from prometheus_client.parser import text_string_to_metric_families

from aggregator import (
    Aggregator,
    FederationConfig,
    GrpcTransport,
    NodeEntry,
    QuorumPolicy,
    SqliteHistory,
)
from aggregator import create_server as create_aggregator_server
from aggregator.metrics import AggregatorMetrics, MeteredTransport
from aggregator.probe import watch_nodes
from cli.logs import setup_logging
from node import NodeRuntime, create_server, import_files
from node.service.metrics import REFUSAL_REASONS, NodeMetrics
from privacy import default_catalogue
from protos import pb2, pb2_grpc
from wire.limits import QUERIER_HEADER

CAT = default_catalogue()
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def samples(text: str) -> Samples:
    """Every sample of a scrape, keyed by (name, sorted labels)."""
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(found: Samples, name: str, **labels: str) -> float:
    return found[(name, tuple(sorted(labels.items())))]


def query(stub: pb2_grpc.NodeServiceStub, querier: str, query_id: str, epsilon: str = "0.5",
          version: str = CAT.version) -> grpc.StatusCode:
    spec = pb2.QuerySpec(catalogue_version=version, measure="headcount",
                         statistic=pb2.STATISTIC_COUNT, group_by=["gender"], period="2025",
                         epsilon=epsilon)
    try:
        stub.Query(pb2.QueryRequest(query_id=query_id, spec=spec), timeout=10,
                   metadata=((QUERIER_HEADER, querier),))
    except grpc.RpcError as error:
        return error.code()  # type: ignore[no-any-return]
    return grpc.StatusCode.OK


class RunningNode:
    def __init__(self, runtime: NodeRuntime) -> None:
        self.runtime = runtime
        self.metrics = NodeMetrics(runtime.config, runtime.engine, runtime.store)
        self.server, self.port = create_server(runtime, "127.0.0.1:0", insecure=True,
                                               metrics=self.metrics)
        self.server.start()
        self.endpoint = self.metrics.serve_http("127.0.0.1", 0)
        self.channel = grpc.insecure_channel(f"127.0.0.1:{self.port}")
        self.stub = pb2_grpc.NodeServiceStub(self.channel)

    def scrape(self) -> Samples:
        return samples(scrape(self.endpoint.port))

    def stop(self) -> None:
        self.channel.close()
        self.server.stop(None).wait()
        self.endpoint.close()


@pytest.fixture
def running(node_factory: Callable[..., NodeRuntime]) -> Iterator[Callable[..., RunningNode]]:
    started: list[RunningNode] = []

    def start(name: str, node_id: str) -> RunningNode:
        runtime = node_factory(name, node_id=node_id,
                               queriers={"federation": "1", "researcher": "0.2"})
        import_files(runtime.store, runtime.secret, sorted((FIXTURES / "small").glob("*.csv")))
        node = RunningNode(runtime)
        started.append(node)
        return node

    yield start
    for node in started:
        node.stop()


def test_node_counts_answers_refusals_and_budget(running: Callable[..., RunningNode]) -> None:
    node = running("n", "org-m")
    assert query(node.stub, "federation", "q-1", "0.6") == grpc.StatusCode.OK
    assert query(node.stub, "federation", "q-1", "0.6") == grpc.StatusCode.OK  # replayed
    assert query(node.stub, "federation", "q-2", "0.6") == grpc.StatusCode.FAILED_PRECONDITION
    assert query(node.stub, "researcher", "q-3", "0.1", version="1999.9") == (
        grpc.StatusCode.FAILED_PRECONDITION)
    assert query(node.stub, "stranger", "q-4") == grpc.StatusCode.PERMISSION_DENIED
    assert query(node.stub, "federation", "bad id!") == grpc.StatusCode.INVALID_ARGUMENT

    found = node.scrape()
    answered = "koepel_node_queries_answered_total"
    refused = "koepel_node_queries_refused_total"
    assert value(found, answered, querier="federation", replayed="false") == 1
    assert value(found, answered, querier="federation", replayed="true") == 1
    assert value(found, refused, querier="federation", reason="PRIVACY_BUDGET_EXHAUSTED") == 1
    assert value(found, refused, querier="researcher",
                 reason="CATALOGUE_VERSION_NOT_APPROVED") == 1
    assert value(found, refused, querier="other", reason="PERMISSION_DENIED") == 1
    # A malformed id never reaches the servicer: the gate refuses it, and it is still counted.
    assert value(found, refused, querier="federation", reason="INVALID_REQUEST") == 1
    assert value(found, "koepel_node_epsilon_charged_total", querier="federation") == 0.6
    period = node.runtime.engine.budget("federation")[0].period
    assert value(found, "koepel_node_budget_spent_epsilon", querier="federation",
                 period=period) == 0.6
    assert value(found, "koepel_node_budget_remaining_epsilon", querier="federation",
                 period=period) == pytest.approx(0.4)
    assert value(found, "koepel_node_budget_cap_epsilon", querier="researcher",
                 period=period) == 0.2
    assert value(found, "koepel_node_query_duration_seconds_count", outcome="answered") == 1
    assert value(found, "koepel_node_query_duration_seconds_count", outcome="replayed") == 1
    # the gate-refused call is counted as refused but never timed as a query
    assert value(found, "koepel_node_query_duration_seconds_count", outcome="refused") == 3
    assert value(found, "koepel_node_queries_in_flight") == 0
    assert value(found, "koepel_node_requests_total", method="Query", code="OK") == 2
    assert value(found, "koepel_node_requests_total", method="Query",
                 code="PERMISSION_DENIED") == 1
    # Issue 17: no series finer than the reply quantum (durations) or a MiB (the store), and
    # no process CPU counter, which grows with each query's work on the records.
    mib = 1 << 20
    size = node.runtime.config.database.stat().st_size
    assert value(found, "koepel_node_store_size_bytes") == -(-size // mib) * mib
    quantum = node.runtime.config.reply_quantum_ms / 1000
    assert quantum > 0
    for outcome in ("answered", "replayed", "refused"):
        total = value(found, "koepel_node_query_duration_seconds_sum", outcome=outcome)
        count = value(found, "koepel_node_query_duration_seconds_count", outcome=outcome)
        assert total / quantum == pytest.approx(round(total / quantum)) and total >= count * quantum
    assert not any(name.startswith("process_") for name, _ in found)


def test_node_labels_come_from_closed_sets_only(running: Callable[..., RunningNode]) -> None:
    """A query id, an unknown querier's name or a record value never reaches a scrape."""
    node = running("n", "org-m")
    query(node.stub, "federation", "secret-query-id-7", "0.3")
    query(node.stub, "intruder-name-with-secret", "secret-query-id-8")
    text = scrape(node.endpoint.port)
    assert "secret" not in text
    period = node.runtime.engine.budget("federation")[0].period
    allowed = {
        "querier": {"federation", "researcher", "other", "*"},  # "*": node-wide caps
        "reason": set(REFUSAL_REASONS),
        "replayed": {"true", "false"},
        "outcome": {"answered", "replayed", "refused"},
        "period": {period, "all"},  # "all": the long-horizon cap
        "method": {"Describe", "Query", "Budget", "ExportLedger"},
        "code": {"OK"} | {code.name for code in grpc.StatusCode},
        "node_id": {"org-m"},
        "version": {"0.1.0"},
    }
    for family in text_string_to_metric_families(text):
        if not family.name.startswith("koepel_"):
            continue
        for sample in family.samples:
            for label, label_value in sample.labels.items():
                if label == "le":
                    continue
                assert label_value in allowed[label], (sample.name, label, label_value)


def test_two_nodes_in_one_process_keep_their_own_metrics(
        running: Callable[..., RunningNode]) -> None:
    first, second = running("a", "org-a"), running("b", "org-b")
    query(first.stub, "federation", "q-1", "0.25")
    a, b = first.scrape(), second.scrape()
    assert value(a, "koepel_node_build_info", node_id="org-a", version="0.1.0") == 1
    assert value(b, "koepel_node_build_info", node_id="org-b", version="0.1.0") == 1
    assert value(a, "koepel_node_epsilon_charged_total", querier="federation") == 0.25
    assert value(b, "koepel_node_epsilon_charged_total", querier="federation") == 0


def test_aggregator_counts_fanout_quorum_failures_and_nodes_up(
        running: Callable[..., RunningNode], tmp_path: Path) -> None:
    """One node answers, one is down: quorum 1.0 fails, node_up tells which one is down."""
    alive, dead = running("a", "org-a"), running("b", "org-b")
    dead.stop()
    period = alive.runtime.engine.budget("federation")[0].period
    config = FederationConfig(
        path=tmp_path / "federation.toml", name="t", querier_identity="federation",
        catalogue=CAT, deadline_seconds=5.0, retries=2, quorum=QuorumPolicy(1.0),
        history=tmp_path / "history.db",
        listen="127.0.0.1:0",
        nodes=(NodeEntry("org-a", f"127.0.0.1:{alive.port}", "A"),
               NodeEntry("org-b", f"127.0.0.1:{dead.port}", "B")))

    async def scenario() -> Samples:
        metrics = AggregatorMetrics(config)
        aggregator = Aggregator(config, MeteredTransport(GrpcTransport("federation"), metrics),
                                SqliteHistory(config.history), metrics=metrics)
        server, port = await create_aggregator_server(aggregator, "127.0.0.1:0", insecure=True)
        await server.start()
        endpoint = metrics.serve_http("127.0.0.1", 0)
        try:
            async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
                stub = pb2_grpc.AggregatorServiceStub(channel)
                spec = pb2.QuerySpec(catalogue_version=CAT.version, measure="headcount",
                                     statistic=pb2.STATISTIC_COUNT, group_by=["gender"],
                                     period="2025", epsilon="0.2")
                reply = await stub.SubmitQuery(pb2.SubmitQueryRequest(spec=spec), timeout=30)
                assert not reply.result.complete
                with pytest.raises(grpc.aio.AioRpcError):
                    await stub.SubmitQuery(pb2.SubmitQueryRequest(
                        spec=pb2.QuerySpec(catalogue_version=CAT.version, measure="nope",
                                           period="2025", epsilon="0.2")), timeout=30)
            probe = asyncio.create_task(watch_nodes(aggregator, 60.0))
            for _ in range(200):  # the first probe runs at once; bounded wait for it
                await asyncio.sleep(0.05)
                if probe.done() or metrics.registry.get_sample_value(
                        "koepel_aggregator_node_budget_cap_epsilon",
                        {"node": "org-a", "period": period}) is not None:
                    break
            probe.cancel()
            await asyncio.gather(probe, return_exceptions=True)
            return await asyncio.to_thread(lambda: samples(scrape(endpoint.port)))
        finally:
            endpoint.close()
            await server.stop(None)
            await aggregator.close()

    found = asyncio.run(scenario())
    assert value(found, "koepel_aggregator_queries_total", outcome="incomplete") == 1
    assert value(found, "koepel_aggregator_queries_total", outcome="invalid") == 1
    assert value(found, "koepel_aggregator_quorum_failures_total") == 1
    assert value(found, "koepel_aggregator_fanout_duration_seconds_count") == 1
    # the invalid query is refused by the gate before the service: counted, not timed
    assert value(found, "koepel_aggregator_query_duration_seconds_count") == 1
    assert value(found, "koepel_aggregator_node_replies_total", node="org-a",
                 outcome="answered") == 1
    assert value(found, "koepel_aggregator_node_replies_total", node="org-b",
                 outcome="unavailable") == 1
    assert value(found, "koepel_aggregator_node_query_duration_seconds_count", node="org-a") == 1
    assert value(found, "koepel_aggregator_node_up", node="org-a") == 1
    assert value(found, "koepel_aggregator_node_up", node="org-b") == 0
    assert value(found, "koepel_aggregator_nodes_up") == 1
    assert value(found, "koepel_aggregator_nodes_registered") == 2
    assert value(found, "koepel_aggregator_node_budget_spent_epsilon", node="org-a",
                 period=period) == 0.2
    assert value(found, "koepel_aggregator_node_budget_remaining_epsilon", node="org-a",
                 period=period) == 0.8


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """setup_logging changes the root logger: put pytest's handlers back afterwards."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)


@pytest.mark.usefixtures("restore_logging")
def test_json_logs_carry_fields_but_no_exception_text() -> None:
    stream = io.StringIO()
    setup_logging("auto", "info", static={"service": "node", "node_id": "org-x"}, stream=stream)
    log = logging.getLogger("koepel.node")
    log.info("query %s", "answered", extra={"query_id": "q-9", "cost_micro_epsilon": 5})
    try:
        raise ValueError("SELECT secret FROM workers WHERE birth_year = 1961")
    except ValueError:
        log.exception("internal error")
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert lines[0]["msg"] == "query answered"
    assert lines[0]["query_id"] == "q-9" and lines[0]["cost_micro_epsilon"] == 5
    assert lines[0]["service"] == "node" and lines[0]["node_id"] == "org-x"
    assert lines[0]["level"] == "info" and lines[0]["ts"].endswith("+00:00")
    assert lines[1]["error_type"] == "ValueError"
    assert "SELECT" not in stream.getvalue() and "1961" not in stream.getvalue()


@pytest.mark.usefixtures("restore_logging")
def test_human_logs_on_a_terminal() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    stream = Terminal()
    setup_logging("auto", "info", stream=stream)
    logging.getLogger("koepel.aggregator").info("node %s: %s", "org-a", "answered",
                                                extra={"query_id": "q-1"})
    line = stream.getvalue().strip()
    assert "INFO" in line and "node org-a: answered" in line and "query_id=q-1" in line
    assert not line.startswith("{")


@pytest.mark.usefixtures("restore_logging")
def test_human_logs_quote_values_that_could_forge_a_line() -> None:
    stream = io.StringIO()
    setup_logging("human", "info", stream=stream)
    logging.getLogger("koepel.node").info("query refused",
                                          extra={"query_id": "x\nFAKE line", "querier": "a"})
    assert stream.getvalue().count("\n") == 1
    assert 'query_id="x\\nFAKE line"' in stream.getvalue()
