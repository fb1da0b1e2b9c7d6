"""A real federation with failing nodes: every failure reported by name and reason, the rest
combined correctly, and nothing charged twice.

Six real node processes (SQLCipher databases of synthetic organisations) and a real aggregator
process on loopback, driven through the `koepel` command line as a subprocess:

* ``killed`` — SIGSTOPped so that the query waits in its socket, then SIGKILLed mid-query;
* ``slow`` — SIGSTOPped for longer than the per-node deadline (the test's way of making a node
  slow without any test-only code in the node);
* ``poor`` — its cap for the federation (ε=0.1) is below the query's ε=0.5;
* ``old`` — its operator approved only the older catalogue version 2025.1 (the query uses 2026.1);
* ``ok-1``, ``ok-2`` — healthy.

Statistical bound: a combined count's noise is a sum of K ≤ 4 discrete Laplace draws of scale
2 (ε = 0.5); by the Chernoff bound P(|S| > 100) ≤ 2·(4/3)^K·exp(-100/4) < 1e-10 per cell, so the
checks "|estimate − truth| ≤ 100" fail by chance with probability below 1e-9 over all cells.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest

from cli.federation_runner import LocalFederation, setup_node
from node import load_node_config, open_node
from node.synthetic.generator import OrgProfile
from privacy import QuerySpec, Statistic, default_catalogue, validate
from protos import pb2

pytestmark = pytest.mark.slow

CATALOGUE = default_catalogue()
EPSILON = "0.5"
SPEC = QuerySpec(CATALOGUE.version, "headcount", Statistic.COUNT, ("region",), (), "2025",
                 500_000)
NODES = {
    "ok-1": OrgProfile("ok-1", "Atelier Een", "MAATWERKBEDRIJF", "BE-VLG", 60),
    "ok-2": OrgProfile("ok-2", "Insertion Deux", "EI_WAL", "BE-WAL", 45),
    "killed": OrgProfile("killed", "Entreprise Trois", "ETA_WAL", "BE-WAL", 50),
    "slow": OrgProfile("slow", "Werkplaats Vier", "LDE", "BE-VLG", 40),
    "poor": OrgProfile("poor", "Atelier Cinq", "CISP_EFT", "BE-WAL", 30),
    "old": OrgProfile("old", "Atelier Zes", "MAATWERKBEDRIJF", "BE-VLG", 35),
}
BOUND = 100.0


def koepel(conn: list[str], *args: str, timeout: float = 60.0) -> tuple[int, Any]:
    """Run the real CLI (``conn``: the options that reach the aggregator, mutual TLS); return
    its exit code and parsed JSON output."""
    done = subprocess.run([sys.executable, "-m", "cli", *args, "--json", *conn],
                          capture_output=True, text=True, timeout=timeout, check=False)
    assert done.stdout, done.stderr
    return done.returncode, json.loads(done.stdout)


def spent(conn: list[str]) -> dict[str, float | None]:
    _, listing = koepel(conn, "nodes")
    return {n["node_id"]: (float(n["budget"][0]["spent_epsilon"]) if n["budget"] else None)
            for n in listing["nodes"]}


@pytest.fixture(scope="module")
def federation(tmp_path_factory: pytest.TempPathFactory) -> Iterator[
        tuple[LocalFederation, dict[str, list[int]]]]:
    root = tmp_path_factory.mktemp("failing-federation")
    truths: dict[str, list[int]] = {}
    for index, (node_id, profile) in enumerate(NODES.items()):
        setup_node(root / node_id, profile, seed=100 + index, year=2025,
                   cap_epsilon="0.1" if node_id == "poor" else "5")
        config_path = root / node_id / "node.toml"
        runtime = open_node(load_node_config(config_path))
        try:
            truths[node_id] = runtime.engine.exact_cells(validate(SPEC, CATALOGUE))[0]
        finally:
            runtime.close()
        if node_id == "old":
            text = config_path.read_text()
            config_path.write_text(re.sub(r'approved = \[[^\]]*\]', 'approved = ["2025.1"]', text))
    with LocalFederation(root) as fed:
        for node_id, profile in NODES.items():
            fed.add_node(node_id, region=profile.region, kind=profile.org_type,
                         expected_size=profile.n_people)
        fed.start(deadline_seconds=3.0, quorum=0.5, retries=2)
        try:
            yield fed, truths
        finally:
            for name in ("killed", "slow"):  # a stopped process cannot act on SIGTERM
                process = fed.process(name)
                if process.poll() is None:
                    process.send_signal(signal.SIGCONT)


def _receipt_values(result: dict[str, Any]) -> dict[str, list[int]]:
    values = {}
    for receipt in result["receipts"]:
        response = pb2.QueryResponse.FromString(bytes.fromhex(receipt["response_hex"]))
        assert response.node_id == receipt["node_id"]
        assert response.query_id == result["query_id"]
        values[receipt["node_id"]] = list(response.count.values)
    return values


def _check_combination(conn: list[str], result: dict[str, Any], truths: dict[str, list[int]],
                       answered: list[str]) -> None:
    """The stored receipts are exactly the answering nodes', and the figures are their sum."""
    code, shown = koepel(conn, "history", result["result_id"], "--receipts")
    assert code == 0
    values = _receipt_values(shown)
    assert sorted(values) == sorted(answered)
    for index, cell in enumerate(shown["cells"]):
        assert cell["raw_estimate"] == sum(values[node][index] for node in answered)
        truth = sum(truths[node][index] for node in answered)
        assert abs(cell["raw_estimate"] - truth) <= BOUND
        assert cell["estimate"] >= 0 and cell["ci95"][0] >= 0  # never a negative count shown
        assert cell["ci95"][0] <= cell["estimate"] <= cell["ci95"][1]
    assert [c["key"] for c in shown["cells"]] == [["BE-VLG"], ["BE-WAL"], ["BE-BRU"]]


def test_every_failure_is_reported_and_the_rest_combined(
        federation: tuple[LocalFederation, dict[str, list[int]]]) -> None:
    fed, truths = federation
    conn = fed.client_args()
    before = spent(conn)  # also warms the aggregator's channels to every node
    assert before == {"ok-1": 0.0, "ok-2": 0.0, "killed": 0.0, "slow": 0.0, "poor": 0.0,
                      "old": 0.0}

    # A dry run spends nothing and foresees the two refusals it can see.
    code, plan = koepel(conn, "query", "headcount", "--by", "region", "--period", "2025",
                        "--epsilon", EPSILON, "--dry-run")
    assert code == 0
    expected = {n["node_id"]: n["expected"] for n in plan["nodes"]}
    assert expected == {"ok-1": "answered", "ok-2": "answered", "killed": "answered",
                        "slow": "answered", "poor": "budget_exhausted",
                        "old": "catalogue_version"}
    assert spent(conn) == before

    fed.process("killed").send_signal(signal.SIGSTOP)
    fed.process("slow").send_signal(signal.SIGSTOP)
    started = time.monotonic()
    query = subprocess.Popen(
        [sys.executable, "-m", "cli", "query", "headcount", "--by", "region", "--period",
         "2025", "--epsilon", EPSILON, "--json", *conn],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(1.0)  # the query now waits in the stopped nodes' sockets
        fed.stop_process("killed", kill=True)  # SIGKILL, then reap it
        out, err = query.communicate(timeout=60)
    finally:
        if query.poll() is None:
            query.kill()
            query.wait()
    elapsed = time.monotonic() - started
    assert query.returncode == 9, err  # incomplete: 2 of 6 answered, below the 50% quorum
    result = json.loads(out)
    nodes = {n["node_id"]: n for n in result["nodes"]}
    assert {k: v["outcome"] for k, v in nodes.items()} == {
        "ok-1": "answered", "ok-2": "answered", "killed": "unavailable",
        "slow": "deadline_exceeded", "poor": "budget_exhausted", "old": "catalogue_version"}
    assert nodes["killed"]["reason"].startswith("unreachable after 3 attempts")
    assert nodes["slow"]["reason"].startswith("no answer within 3 s")
    assert nodes["slow"]["attempts"] == 1 and 2.5 < nodes["slow"]["elapsed_seconds"] < 10
    assert "remaining ε=0.1" in nodes["poor"]["reason"]
    assert "not approved" in nodes["old"]["reason"]
    assert elapsed < 30  # the aggregator never waited for the slow node beyond its deadline
    assert not result["complete"]
    assert result["incomplete_reasons"] == [
        "2 of 6 nodes answered (33%), below the quorum of 50% of nodes"]
    assert result["answered_size_share"] == pytest.approx(105 / 260)
    _check_combination(conn, result, truths, ["ok-1", "ok-2"])
    after = spent(conn)
    assert after["ok-1"] == after["ok-2"] == 0.5
    assert after["poor"] == after["old"] == 0.0  # refused before any charge
    assert after["killed"] is None and after["slow"] is None  # down and stopped

    # Bring both back and ask again with the same query id: the healthy nodes replay their
    # answer for free; the killed node never charged the query and answers now; the slow node
    # either charged it after all (then it replays) or dropped the expired call (then it
    # answers now) — either way it is charged once.
    fed.process("slow").send_signal(signal.SIGCONT)
    fed.start_node("killed")
    deadline = time.monotonic() + 20
    while None in spent(conn).values() and time.monotonic() < deadline:
        time.sleep(0.2)  # until the aggregator has reconnected to both
    code, again = koepel(conn, "query", "--resume", result["result_id"])
    assert code == 0  # 4 of 6 answered: complete
    assert again["query_id"] == result["query_id"]
    assert again["result_id"] != result["result_id"]
    nodes = {n["node_id"]: n for n in again["nodes"]}
    assert {k for k, v in nodes.items() if v["outcome"] == "answered"} == {
        "ok-1", "ok-2", "killed", "slow"}
    assert {k for k, v in nodes.items() if v["replayed"]} - {"slow"} == {"ok-1", "ok-2"}
    _check_combination(conn, again, truths, ["ok-1", "ok-2", "killed", "slow"])
    final = spent(conn)
    assert final == {"ok-1": 0.5, "ok-2": 0.5, "killed": 0.5, "slow": 0.5, "poor": 0.0,
                     "old": 0.0}  # every node charged at most once for this query id

    # History lists both results and re-shows them without spending.
    code, listed = koepel(conn, "history")
    assert code == 0
    assert [r["result_id"] for r in listed][:2] == [again["result_id"], result["result_id"]]
    assert spent(conn) == final
