"""Graceful shutdown on SIGTERM, with real node and aggregator processes.

To catch a query mid-flight deterministically, the test holds the node database's write lock
from a second connection (as an operator's `koepel node import` would): the node's charge then
waits inside ``BEGIN IMMEDIATE`` while ``koepel_node_queries_in_flight`` reports 1. The test
sends SIGTERM at that moment, releases the lock, and checks that the answer still arrived, the
process exited cleanly and the ledger holds exactly one intact, fully written charge.

While that query finishes, the server must already say it is going away: the standard health
service answers NOT_SERVING (to a health stub and to `koepel health`, as a Kubernetes probe
would ask) and a new call is refused with UNAVAILABLE, so a load balancer stops sending work.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from ops_helpers import Service, make_node, scrape, start_aggregator, start_node
from prometheus_client.parser import text_string_to_metric_families

from aggregator import SqliteHistory
from cli.client import AggregatorClient, Connection
from cli.errors import EXIT
from node import Ledger, Store, load_node_config, read_key, verify_chain
from privacy import default_catalogue
from protos import pb2, pb2_grpc
from wire.limits import QUERIER_HEADER

pytestmark = pytest.mark.slow
CAT = default_catalogue()
SPEC = pb2.QuerySpec(catalogue_version=CAT.version, measure="headcount",
                     statistic=pb2.STATISTIC_COUNT, group_by=["gender"], period="2025",
                     epsilon="0.4")


def gauge(service: Service, name: str) -> float:
    for family in text_string_to_metric_families(scrape(service.metrics_port)):
        for sample in family.samples:
            if sample.name == name:
                return float(sample.value)
    raise AssertionError(f"{name} not exported by {service.name}")


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def health_status(address: str, service: str = "") -> str:
    """The server's answer to a standard gRPC health check (plaintext loopback)."""
    with grpc.insecure_channel(address) as channel:
        response = health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service=service), timeout=5)
    return str(health_pb2.HealthCheckResponse.ServingStatus.Name(response.status))


def koepel_health(address: str, service: str) -> subprocess.CompletedProcess[str]:
    """`koepel health` as a container or Kubernetes probe runs it (a real process)."""
    return subprocess.run([sys.executable, "-m", "cli", "health", "--address", address,
                           "--service", service], capture_output=True, text=True, timeout=60,
                          check=False)


@contextmanager
def write_lock(config_path: Path) -> Iterator[None]:
    """Hold the node database's write lock from another connection (released on exit)."""
    config = load_node_config(config_path)
    store = Store.open(config.database, read_key(config.key_file))
    try:
        with store.transaction():
            yield
    finally:
        store.close()


def ledger_of(config_path: Path) -> Any:
    config = load_node_config(config_path)
    store = Store.open(config.database, read_key(config.key_file))
    try:
        return Ledger(store).entries()
    finally:
        store.close()


@pytest.fixture
def services() -> Iterator[list[Service]]:
    started: list[Service] = []
    yield started
    for service in started:
        service.stop()


def test_sigterm_turns_health_not_serving_and_lets_an_in_flight_node_query_finish(
        tmp_path: Path, services: list[Service]) -> None:
    config = make_node(tmp_path / "org-a", "org-a")
    node = start_node(config, tmp_path / "run", "org-a")
    services.append(node)
    metadata = ((QUERIER_HEADER, "federation"),)
    with grpc.insecure_channel(node.address) as channel:
        stub = pb2_grpc.NodeServiceStub(channel)
        with write_lock(config):
            future = stub.Query.future(pb2.QueryRequest(query_id="q-shutdown", spec=SPEC),
                                       timeout=30, metadata=metadata)
            wait_until(lambda: gauge(node, "koepel_node_queries_in_flight") == 1,
                       "the query to be in flight")
            assert health_status(node.address, "koepel.v1.NodeService") == "SERVING"
            node.process.terminate()
            wait_until(lambda: health_status(node.address) == "NOT_SERVING",
                       "health to turn NOT_SERVING")
            assert health_status(node.address, "koepel.v1.NodeService") == "NOT_SERVING"
            probe = koepel_health(node.address, "koepel.v1.NodeService")
            assert probe.returncode == EXIT["unavailable"], probe.stdout + probe.stderr
            assert "NOT_SERVING" in probe.stdout
            with pytest.raises(grpc.RpcError) as refused:  # no new work while draining
                stub.Query(pb2.QueryRequest(query_id="q-late", spec=SPEC), timeout=10,
                           metadata=metadata)
            assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
            assert "shutting down" in (refused.value.details() or "")
            assert node.process.poll() is None, "the node quit with a query in flight"
            assert not future.done()
        response = future.result(timeout=30)
    assert node.process.wait(20) == 0
    assert response.cost_micro_epsilon == 400_000 and not response.replayed
    entries = ledger_of(config)
    assert [e.query_id for e in entries] == ["q-shutdown"]
    assert entries[0].cost_micro == 400_000
    assert verify_chain(entries) == []
    lines = node.log_lines()
    assert any('"msg": "query answered"' in line and "q-shutdown" in line for line in lines)
    assert '"msg": "node org-a stopped"' in lines[-1]


def test_a_call_cut_off_after_the_grace_period_leaves_a_whole_charge_and_replays(
        tmp_path: Path, services: list[Service]) -> None:
    """Past the grace period the caller loses the call, but never half a charge: the charge
    is whole (or absent), and a retry of the same query id after restart costs nothing."""
    config = make_node(tmp_path / "org-a", "org-a")
    node = start_node(config, tmp_path / "run", "org-a", "--grace-seconds", "0.2")
    services.append(node)
    request = pb2.QueryRequest(query_id="q-cut", spec=SPEC)
    metadata = ((QUERIER_HEADER, "federation"),)
    with grpc.insecure_channel(node.address) as channel:
        stub = pb2_grpc.NodeServiceStub(channel)
        with write_lock(config):
            future = stub.Query.future(request, timeout=30, metadata=metadata)
            wait_until(lambda: gauge(node, "koepel_node_queries_in_flight") == 1,
                       "the query to be in flight")
            node.process.terminate()
            with pytest.raises(grpc.RpcError):
                future.result(timeout=10)
        assert node.process.wait(20) == 0
    entries = ledger_of(config)
    assert len(entries) <= 1 and verify_chain(entries) == []
    restarted = start_node(config, tmp_path / "run", "org-a-again")
    services.append(restarted)
    with grpc.insecure_channel(restarted.address) as channel:
        response = pb2_grpc.NodeServiceStub(channel).Query(request, timeout=30,
                                                           metadata=metadata)
    assert response.replayed == (len(entries) == 1)
    after = ledger_of(config)
    assert len(after) == 1 and verify_chain(after) == []
    assert after[0].cost_micro == 400_000


def test_sigterm_turns_health_not_serving_and_lets_an_in_flight_sector_query_finish(tmp_path: Path,
                                                       services: list[Service]) -> None:
    config = make_node(tmp_path / "org-a", "org-a")
    node = start_node(config, tmp_path / "run", "org-a")
    services.append(node)
    aggregator = start_aggregator(tmp_path, [("org-a", node.port)], tmp_path / "run")
    services.append(aggregator)
    with AggregatorClient(
                Connection(aggregator.address, None, insecure=True), timeout=30) as client:
        with write_lock(config):
            future = client._stub.SubmitQuery.future(pb2.SubmitQueryRequest(spec=SPEC),
                                                     timeout=30)
            wait_until(lambda: gauge(node, "koepel_node_queries_in_flight") == 1,
                       "the node to be answering")
            assert gauge(aggregator, "koepel_aggregator_queries_in_flight") == 1
            service = "koepel.v1.AggregatorService"
            assert health_status(aggregator.address, service) == "SERVING"
            aggregator.process.terminate()
            wait_until(lambda: health_status(aggregator.address, service) == "NOT_SERVING",
                       "the aggregator's health to turn NOT_SERVING")
            probe = koepel_health(aggregator.address, service)
            assert probe.returncode == EXIT["unavailable"] and "NOT_SERVING" in probe.stdout
            with pytest.raises(grpc.RpcError) as refused:
                client._stub.SubmitQuery(pb2.SubmitQueryRequest(spec=SPEC), timeout=10)
            assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
            assert aggregator.process.poll() is None, "the aggregator quit mid-query"
            assert not future.done()
        result = future.result(timeout=30).result
    assert aggregator.process.wait(20) == 0
    assert result.complete and [n.node_id for n in result.nodes] == ["org-a"]
    history = SqliteHistory(tmp_path / "history.db")
    try:
        stored = history.get(result.result_id)
    finally:
        history.close()
    assert stored is not None and stored.complete
    assert [e.query_id for e in ledger_of(config)] == [result.result_id]  # the late one: none
    node_lines = [line for line in node.log_lines() if result.result_id in line]
    aggregator_lines = [line for line in aggregator.log_lines() if result.result_id in line]
    assert node_lines and aggregator_lines  # one query id ties both sides' lines together
