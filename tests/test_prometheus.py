"""A real Prometheus (Debian's package) scrapes a running federation and reads it back.

Two node processes and an aggregator process run with metrics on port 0; Prometheus runs on
loopback, port 0, with ops/prometheus/prometheus.yml (its targets pointed at those ports, a
1 s scrape interval) and the real alert rules. The test reads series, rule health, firing
alerts and every dashboard panel's query back through Prometheus's HTTP API, and lints the
live /metrics pages with `promtool check metrics`. Every wait is bounded; everything started
is stopped.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import grpc
import pytest
import yaml
from ops_helpers import OPS, Service, find_tool, make_node, scrape, start_aggregator, start_node

from cli.client import AggregatorClient, Connection
from privacy import default_catalogue
from protos import pb2, pb2_grpc
from wire.limits import QUERIER_HEADER

pytestmark = pytest.mark.slow
CAT = default_catalogue()


@dataclass
class Running:
    nodes: list[Service]
    aggregator: Service
    prometheus: str  # base URL


def api(base: str, path: str, **params: str) -> Any:
    url = f"{base}/api/v1/{path}"
    if params:
        url += "?" + urllib.parse.urlencode(params)
    with urllib.request.urlopen(url, timeout=10) as reply:
        body = json.load(reply)
    assert body["status"] == "success", body
    return body["data"]


def wait_for(check: Callable[[], Any], what: str, timeout: float = 40.0) -> Any:
    """Poll ``check`` until it returns something truthy (bounded)."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except (OSError, AssertionError) as error:
            last = error
        else:
            if last:
                return last
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}; last: {last!r}")


def spec(epsilon: str) -> pb2.QuerySpec:
    return pb2.QuerySpec(catalogue_version=CAT.version, measure="headcount",
                         statistic=pb2.STATISTIC_COUNT, group_by=["gender"], period="2025",
                         epsilon=epsilon)


def prometheus_config(nodes: list[Service], aggregator: Service) -> dict[str, Any]:
    """ops/prometheus/prometheus.yml with its targets pointed at the running processes."""
    config = yaml.safe_load((OPS / "prometheus" / "prometheus.yml").read_text())
    config["global"].update(scrape_interval="1s", scrape_timeout="1s",
                            evaluation_interval="1s")
    config["rule_files"] = [str(OPS / "prometheus" / r) for r in config["rule_files"]]
    for job in config["scrape_configs"]:
        if job["job_name"] == "koepel-node":
            job["static_configs"] = [{"targets": [f"127.0.0.1:{n.metrics_port}"],
                                      "labels": {"node": n.name}} for n in nodes]
        else:
            job["static_configs"] = [{"targets": [f"127.0.0.1:{aggregator.metrics_port}"]}]
    return config


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    root = tmp_path_factory.mktemp("prometheus")
    started: list[Service] = []
    prometheus: subprocess.Popen[bytes] | None = None
    try:
        for index, node_id in enumerate(("org-a", "org-b")):
            config = make_node(root / node_id, node_id, seed=index + 1)
            started.append(start_node(config, root / "run", node_id))
        nodes = list(started)
        aggregator = start_aggregator(root, [(n.name, n.port) for n in nodes], root / "run",
                                      "--probe-interval", "1")
        started.append(aggregator)
        with AggregatorClient(
                Connection(aggregator.address, None, insecure=True), timeout=30) as client:
            assert client.submit(spec("0.5")).complete
            assert client.submit(spec("2")).complete  # 2.5 of 3: above 80% of the cap
        with (grpc.insecure_channel(nodes[0].address) as channel,
              pytest.raises(grpc.RpcError)):
            pb2_grpc.NodeServiceStub(channel).Query(
                pb2.QueryRequest(query_id="probe-1", spec=spec("0.1")), timeout=10,
                metadata=((QUERIER_HEADER, "stranger"),))

        (root / "prometheus.yml").write_text(yaml.safe_dump(
            prometheus_config(nodes, aggregator)))
        log = root / "prometheus.log"
        with log.open("wb") as out:
            prometheus = subprocess.Popen(
                [str(find_tool("prometheus")), f"--config.file={root / 'prometheus.yml'}",
                 f"--storage.tsdb.path={root / 'tsdb'}", "--web.listen-address=127.0.0.1:0",
                 "--storage.tsdb.retention.time=1h"],
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

        def listening() -> str | None:
            assert prometheus is not None and prometheus.poll() is None, log.read_text()
            found = re.search(r'msg="Listening on" address=(127\.0\.0\.1:\d+)', log.read_text())
            return f"http://{found.group(1)}" if found else None

        base = wait_for(listening, "Prometheus to listen", timeout=30)
        wait_for(lambda: urllib.request.urlopen(f"{base}/-/ready", timeout=5).status == 200,
                 "Prometheus to be ready")
        yield Running(nodes, aggregator, base)
    finally:
        if prometheus is not None:
            prometheus.terminate()
            try:
                prometheus.wait(20)
            except subprocess.TimeoutExpired:
                prometheus.kill()
                prometheus.wait()
        for service in reversed(started):
            service.stop()


def values(base: str, query: str) -> dict[str, float]:
    """Instant query → {node-or-instance label: value}."""
    result = api(base, "query", query=query)["result"]
    return {r["metric"].get("node", r["metric"].get("instance", "")): float(r["value"][1])
            for r in result}


def test_prometheus_scrapes_every_node_and_the_aggregator(running: Running) -> None:
    def all_up() -> bool:
        targets = api(running.prometheus, "targets")["activeTargets"]
        return len(targets) == 3 and all(t["health"] == "up" for t in targets)

    wait_for(all_up, "all three targets to be up")
    base = running.prometheus
    answered = wait_for(lambda: values(
        base, 'koepel_node_queries_answered_total{querier="federation",replayed="false"}'),
        "node series")
    assert answered == {"org-a": 2.0, "org-b": 2.0}
    assert values(base, "koepel_node_budget_spent_epsilon") == {"org-a": 2.5, "org-b": 2.5}
    assert values(base, 'koepel_node_queries_refused_total{querier="other",'
                        'reason="PERMISSION_DENIED"}') == {"org-a": 1.0, "org-b": 0.0}
    assert values(base, "koepel_node_store_size_bytes")["org-a"] > 0
    assert list(values(base, "koepel_aggregator_queries_total"
                             '{outcome="complete"}').values()) == [2.0]
    assert list(values(base, "koepel_aggregator_fanout_duration_seconds_count").values()) == [2.0]
    nodes_up = wait_for(lambda: values(base, "koepel_aggregator_nodes_up == 2"), "nodes up")
    assert list(nodes_up.values()) == [2.0]
    assert values(base, "koepel_aggregator_node_budget_remaining_epsilon") == {
        "org-a": 0.5, "org-b": 0.5}


def test_alert_rules_load_evaluate_and_fire_on_live_metrics(running: Running) -> None:
    base = running.prometheus

    def evaluated() -> list[dict[str, Any]]:
        rules = [r for g in api(base, "rules")["groups"] for r in g["rules"]]
        done = all(r["health"] == "ok" and not r["lastEvaluation"].startswith("0001")
                   for r in rules)
        return rules if done and len(rules) == 8 else []

    rules = wait_for(evaluated, "every rule to be evaluated")
    assert {r["name"] for r in rules} >= {"KoepelNodeDown", "KoepelBudgetAbove80Percent",
                                          "KoepelRefusalSpike", "KoepelQuorumFailures"}

    def firing() -> set[tuple[str, str]]:
        return {(a["labels"]["alertname"], a["labels"].get("node", ""))
                for a in api(base, "alerts")["alerts"] if a["state"] == "firing"}

    expected = {("KoepelBudgetAbove80Percent", "org-a"), ("KoepelBudgetAbove80Percent", "org-b"),
                ("KoepelFederationBudgetAbove80Percent", "org-a"),
                ("KoepelFederationBudgetAbove80Percent", "org-b")}
    assert wait_for(lambda: firing() if firing() >= expected else None,
                    "the budget alerts to fire") == expected  # and nothing else fires


def test_every_dashboard_panel_shows_data_from_the_live_federation(running: Running) -> None:
    dashboard = json.loads((OPS / "grafana" / "koepel-dashboard.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    base = running.prometheus
    for expr in exprs:
        wait_for(lambda e=expr: api(base, "query", query=e)["result"],
                 f"data for panel query {expr}")


def test_promtool_accepts_the_live_metrics_pages(running: Running) -> None:
    promtool = find_tool("promtool")
    for service in [*running.nodes, running.aggregator]:
        text = scrape(service.metrics_port)
        result = subprocess.run([str(promtool), "check", "metrics"], input=text,
                                capture_output=True, text=True, timeout=30, check=False)
        assert result.returncode == 0, f"{service.name}: {result.stdout}{result.stderr}"
