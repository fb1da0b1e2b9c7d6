"""The operator's commands (query, nodes, history, report) against a real aggregator gRPC server.

The aggregator runs in-process on loopback (port 0) with its real service and history; only
the nodes behind it are the in-process fakes of tests/fake_nodes.py, so that every output
format can be checked quickly and exactly. tests/test_federation_failures.py runs the same
commands as subprocesses against real node processes.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from aggregator import Aggregator, MemoryHistory, QuorumPolicy, create_server
from cli import cli
from privacy import default_catalogue
from tests.fake_nodes import FakeNode, FakeTransport, entry, federation_config


class Running:
    def __init__(self, nodes: list[FakeNode], down: tuple[str, ...]) -> None:
        self.nodes = nodes
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        transport = FakeTransport(n for n in nodes if n.entry.node_id not in down)
        self.aggregator = Aggregator(federation_config(nodes, quorum=QuorumPolicy(0.5)), transport,
                                     MemoryHistory(), backoff_seconds=0.001)
        self.server, port = self._run(create_server(self.aggregator, "127.0.0.1:0",
                                                    insecure=True))
        self._run(self.server.start())
        self.address = f"127.0.0.1:{port}"

    def _run(self, coro):  # type: ignore[no-untyped-def]
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(30)

    def close(self) -> None:
        self._run(self.server.stop(0))
        self._run(self.aggregator.close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()

    def koepel(self, *args: str) -> Result:
        return CliRunner().invoke(cli, [*args, "--aggregator", self.address, "--insecure"])


@pytest.fixture
def running() -> Iterator[Running]:
    nodes = [FakeNode(entry("ok-1", expected_size=100), value=12),
             FakeNode(entry("ok-2", expected_size=80), value=30),
             FakeNode(entry("poor", expected_size=50), cap_micro=100_000),
             FakeNode(entry("x<b>old", expected_size=20), approved=("2024.1",)),
             FakeNode(entry("down", expected_size=10))]
    federation = Running(nodes, down=("down",))
    yield federation
    federation.close()


QUERY = ("query", "headcount", "--by", "region", "--period", "2025", "--epsilon", "0.5")


def test_a_query_as_a_table_names_every_missing_node(running: Running) -> None:
    result = running.koepel(*QUERY)
    assert result.exit_code == 9, result.output  # 2 of 5 answered: incomplete
    text = " ".join(result.output.split())  # rich wraps lines at the console's width
    assert "headcount · count · 2025 · ε=0.5 per node" in text
    assert "BE-VLG" in text and "42" in text
    assert "2 of 5 nodes answered; not included: poor (out of budget), x<b>old (other " \
           "catalogue), down (down) — INCOMPLETE" in text
    assert "remaining ε=0.1" in text


def test_a_query_as_csv_has_one_row_per_cell(running: Running) -> None:
    result = running.koepel(*QUERY, "--csv")
    rows = list(csv.DictReader(io.StringIO(result.output)))
    assert [r["key"] for r in rows] == ["BE-VLG", "BE-WAL", "BE-BRU"]
    assert {r["raw_estimate"] for r in rows} == {"42.0"}
    assert {r["complete"] for r in rows} == {"false"}


def test_json_and_csv_together_are_refused(running: Running) -> None:
    result = running.koepel(*QUERY, "--json", "--csv")
    assert result.exit_code == 2 and "choose one of --json and --csv" in result.output


def test_a_secure_query_refuses_a_query_id_or_a_resume(running: Running) -> None:
    for extra in (("--query-id", "q-1"), ("--resume", "r-1")):
        result = running.koepel(*QUERY, "--secure", *extra)
        assert result.exit_code == 2 and "cannot be resumed" in result.output


def test_a_query_needs_a_measure_or_a_result_to_resume(running: Running) -> None:
    result = running.koepel("query", "--period", "2025")
    assert result.exit_code == 2 and "name a MEASURE" in result.output


def test_a_refused_query_costs_nothing_and_says_why(running: Running) -> None:
    result = running.koepel("query", "salary", "--period", "2025", "--epsilon", "0.5")
    assert result.exit_code == 6 and "unknown measure 'salary'" in result.output
    assert all(n.calls == [] for n in running.nodes)


def test_the_dry_run_spends_nothing(running: Running) -> None:
    table = running.koepel(*QUERY, "--dry-run")
    assert table.exit_code == 0, table.output
    text = " ".join(table.output.split())
    assert "Dry run" in text and "would answer" in text
    assert "The result would be INCOMPLETE: 2 of 5 nodes answered (40%)" in text
    rows = list(csv.DictReader(io.StringIO(running.koepel(*QUERY, "--dry-run", "--csv")
                                           .output)))
    assert {r["node_id"]: r["remaining_after_epsilon"] for r in rows} == {
        "ok-1": "9.5", "ok-2": "9.5", "poor": "0.1", "x<b>old": "10", "down": ""}
    assert all(n.calls == [] and n.spent_micro == 0 for n in running.nodes)


def test_nodes_in_every_format(running: Running) -> None:
    table = running.koepel("nodes")
    assert table.exit_code == 0, table.output
    text = " ".join(table.output.split())
    version = default_catalogue().version
    assert f"Nodes of test federation (catalogue {version})" in text
    assert f"x<b>old: has not approved catalogue {version} (approved: 2024.1)" in text
    assert "down: unreachable (UNAVAILABLE" in text
    assert "never" in text and "ok-1.test" in text and "10 of 10 (2025)" in text
    listing = json.loads(running.koepel("nodes", "--json").output)
    by_id = {n["node_id"]: n for n in listing["nodes"]}
    assert by_id["ok-1"]["certificate_identity"] == "ok-1.test"
    assert by_id["ok-1"]["budget"][0]["remaining_epsilon"] == "10"
    assert by_id["ok-1"]["last_contact"] is not None
    assert by_id["down"]["reachable"] is False and by_id["down"]["last_contact"] is None
    assert by_id["x<b>old"]["approves_catalogue"] is False
    rows = list(csv.DictReader(io.StringIO(running.koepel("nodes", "--csv").output)))
    assert [r["node_id"] for r in rows] == ["ok-1", "ok-2", "poor", "x<b>old", "down"]


def test_history_lists_and_reshows_without_spending(running: Running) -> None:
    first = json.loads(running.koepel(*QUERY, "--json").output)
    spent = [n.spent_micro for n in running.nodes]
    listed = running.koepel("history")
    assert first["result_id"] in listed.output
    again = running.koepel("history", first["result_id"], "--receipts", "--json")
    shown = json.loads(again.output)
    assert shown["cells"] == first["cells"]
    assert [r["node_id"] for r in shown["receipts"]] == ["ok-1", "ok-2"]
    human = running.koepel("history", first["result_id"], "--receipts")
    assert "receipt ok-1" in human.output
    as_csv = running.koepel("history", "--csv")
    assert len(list(csv.DictReader(io.StringIO(as_csv.output)))) == 3
    assert [n.spent_micro for n in running.nodes] == spent
    missing = running.koepel("history", "nope")
    assert missing.exit_code == 2 and "no result with id 'nope'" in missing.output


def test_resume_asks_the_same_query_id_again(running: Running) -> None:
    first = json.loads(running.koepel(*QUERY, "--json").output)
    again = json.loads(running.koepel("query", "--resume", first["result_id"], "--json")
                       .output)
    assert again["query_id"] == first["query_id"]
    assert [n["replayed"] for n in again["nodes"][:2]] == [True, True]
    assert [n.spent_micro for n in running.nodes[:2]] == [500_000, 500_000]


def test_the_report_is_one_self_contained_html_file(running: Running, tmp_path: Path) -> None:
    path = tmp_path / "out" / "report.html"
    result = running.koepel("report", "--period", "2025", "--epsilon", "1.2", "--out",
                            str(path), "--title", "Sector <2025>")
    assert result.exit_code == 9, result.output  # every figure is incomplete (2 of 5)
    assert f"report written to {path}" in result.output
    html = path.read_text()
    assert html.startswith("<!DOCTYPE html>") and html.count("<svg") == 15  # every measure
    assert "<script" not in html and "src=" not in html and "<link" not in html
    assert "http" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "<title>Sector &lt;2025&gt;</title>" in html
    assert "x&lt;b&gt;old (other catalogue)" in html and "x<b>old" not in html
    assert "Incomplete:" in html and "too uncertain" in html
    assert "Share of leavers who went to a regular job" in html
    assert sum(n.spent_micro for n in running.nodes[:2]) == 2 * 1_200_000

    spent = [n.spent_micro for n in running.nodes]
    again = tmp_path / "again.html"
    rebuilt = running.koepel("report", "--period", "2025", "--from-history", "--out",
                             str(again))
    assert rebuilt.exit_code == 9, rebuilt.output
    assert again.read_text().count("<svg") == 15
    assert [n.spent_micro for n in running.nodes] == spent


def test_the_report_dry_run_adds_up_the_figures(running: Running) -> None:
    result = running.koepel("report", "--period", "2025", "--epsilon", "1.2", "--dry-run",
                            "--json")
    plan = json.loads(result.output)
    nodes = {n["node_id"]: n for n in plan["nodes"]}
    assert nodes["ok-1"]["cost_epsilon"] == "1.2"
    assert nodes["ok-1"]["remaining_after_epsilon"] == "8.8"
    assert nodes["poor"]["expected"] == "budget_exhausted"
    assert all(n.calls == [] for n in running.nodes)


def test_a_report_without_stored_results_cannot_be_rebuilt(running: Running) -> None:
    result = running.koepel("report", "--period", "2024", "--from-history")
    assert result.exit_code == 2 and "no stored result for" in result.output


def test_an_explicit_query_id_can_be_asked_again_at_no_extra_cost(running: Running) -> None:
    first = json.loads(running.koepel(*QUERY, "--query-id", "op-2025-1", "--json").output)
    assert first["query_id"] == first["result_id"] == "op-2025-1"
    again = json.loads(running.koepel(*QUERY, "--query-id", "op-2025-1", "--json").output)
    assert again["query_id"] == "op-2025-1" and again["result_id"] != "op-2025-1"
    assert [n["replayed"] for n in again["nodes"][:2]] == [True, True]
    assert [n.spent_micro for n in running.nodes[:2]] == [500_000, 500_000]
    other = running.koepel("query", "fte", "--period", "2025", "--epsilon", "0.5",
                           "--query-id", "op-2025-1")
    assert other.exit_code == 6 and "already used for a different query" in other.output
