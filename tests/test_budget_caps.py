"""Node-wide and long-horizon caps, budget views, dry runs and concurrent charging.

Concurrency tests run many real clients against one SQLCipher file — threads with their own
connections, and separate processes — against a cap that admits only some of their queries:
the accepted charges must add up to no more than the cap (and, since every query costs the
same, to exactly as many as fit).
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import FIXTURES, create_node

from node import (
    NodeRuntime,
    QueryEngine,
    Store,
    import_files,
    load_node_config,
    open_node,
    read_key,
)
from node.engine.signing import Signer
from privacy import (
    BudgetExhaustedError,
    PermissionDeniedError,
    QuerySpec,
    Statistic,
    default_catalogue,
)

CAT = default_catalogue()


def spec(epsilon_micro: int, measure: str = "headcount",
         statistic: Statistic = Statistic.COUNT) -> QuerySpec:
    return QuerySpec(CAT.version, measure, statistic, ("region",), (), "2025", epsilon_micro)


class Clock:
    """A settable clock for the budget period."""

    def __init__(self, year: int) -> None:
        self.now = datetime(year, 6, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    config_path = create_node(tmp_path / "n", queriers={"federation": "1", "researcher": "1"},
                              node_cap="1.5", lifetime_cap="2")
    runtime = open_node(load_node_config(config_path))
    import_files(runtime.store, runtime.secret, sorted((FIXTURES / "small").glob("*.csv")))
    runtime.close()
    return config_path


@pytest.fixture
def opened(folder: Path) -> Iterator[tuple[NodeRuntime, Clock, QueryEngine]]:
    runtime = open_node(load_node_config(folder))
    clock = Clock(2025)
    engine = QueryEngine(runtime.config, runtime.store, signer=runtime.signer, clock=clock)
    yield runtime, clock, engine
    runtime.close()


def test_node_wide_cap_binds_all_queriers_together(
        opened: tuple[NodeRuntime, Clock, QueryEngine]) -> None:
    _, _, engine = opened
    engine.answer("federation", "f1", spec(1_000_000))
    engine.answer("researcher", "r1", spec(500_000))  # 1.5 together: the node cap exactly
    with pytest.raises(BudgetExhaustedError) as refused:
        engine.answer("researcher", "r2", spec(100_000))  # its own cap has 0.5 left
    assert refused.value.scope == "node"
    assert "all queriers together in 2025" in str(refused.value)
    assert refused.value.remaining_micro == 0
    assert len(engine.ledger.entries()) == 2  # the refusal cost nothing


def test_long_horizon_cap_binds_all_periods_together(
        opened: tuple[NodeRuntime, Clock, QueryEngine]) -> None:
    _, clock, engine = opened
    engine.answer("federation", "a", spec(1_000_000))
    engine.answer("researcher", "b", spec(500_000))
    clock.now = datetime(2026, 2, 1, tzinfo=UTC)  # a new year: yearly caps start afresh
    engine.answer("federation", "c", spec(400_000))
    with pytest.raises(BudgetExhaustedError) as refused:
        engine.answer("federation", "d", spec(200_000))  # 2.1 over all years > 2
    assert refused.value.scope == "lifetime"
    assert refused.value.remaining_micro == 100_000
    assert "long-horizon" in str(refused.value)
    assert [e.budget_period for e in engine.ledger.entries()] == ["2025", "2025", "2026"]


def test_budget_views_show_each_scope_and_period(
        opened: tuple[NodeRuntime, Clock, QueryEngine]) -> None:
    _, clock, engine = opened
    engine.answer("federation", "a", spec(300_000))
    clock.now = datetime(2026, 1, 5, tzinfo=UTC)
    engine.answer("researcher", "b", spec(200_000))
    lines = {(x.scope, x.querier, x.period): (x.cap_micro, x.spent_micro)
             for x in engine.all_budgets()}
    assert lines == {
        ("querier", "federation", "2025"): (1_000_000, 300_000),
        ("node", "*", "2025"): (1_500_000, 300_000),
        ("querier", "federation", "2026"): (1_000_000, 0),
        ("querier", "researcher", "2026"): (1_000_000, 200_000),
        ("node", "*", "2026"): (1_500_000, 200_000),
        ("lifetime", "*", "all"): (2_000_000, 500_000),
    }
    own = engine.budget("researcher")
    assert [(x.scope, x.remaining_micro) for x in own] == [
        ("querier", 800_000), ("node", 1_300_000), ("lifetime", 1_500_000)]
    with pytest.raises(PermissionDeniedError):
        engine.budget("stranger")


def test_dry_run_states_the_cost_and_the_caps_without_spending(
        opened: tuple[NodeRuntime, Clock, QueryEngine]) -> None:
    _, _, engine = opened
    engine.answer("federation", "a", spec(900_000))
    dry = engine.dry_run("federation", spec(200_000, "support_hours", Statistic.MEAN))
    assert (dry.cost_micro, dry.cost_epsilon_micro, dry.unit) == (200_000, 200_000, "epsilon")
    # Issue 17: support hours (catalogue 2026.2) also count the clamped people, on 10%.
    assert dry.vectors == (("sum", 15_000, 90_000), ("count", 1, 90_000),
                           ("clamped", 1, 20_000))
    assert not dry.fits  # only 0.1 left for federation
    assert engine.dry_run("federation", spec(100_000)).fits
    assert engine.cost("researcher", spec(100_000)) == 100_000
    assert len(engine.ledger.entries()) == 1


def test_config_refuses_bad_budget_settings(tmp_path: Path) -> None:
    from node import ConfigError

    config_path = create_node(tmp_path / "n")
    text = config_path.read_text()
    for bad, message in [('period = "year"', 'period = "month"'),
                         ("reply_quantum_ms = 50", "reply_quantum_ms = -1")]:
        config_path.write_text(text.replace(bad, message))
        with pytest.raises(ConfigError):
            load_node_config(config_path)
    config_path.write_text(text.replace('node_cap_epsilon = "10"', 'node_cap_epsilon = "x"'))
    with pytest.raises(ConfigError, match="node_cap_epsilon"):
        load_node_config(config_path)


# ------------------------------------------------------------------ concurrency


def test_threads_with_their_own_connections_never_overspend(folder: Path) -> None:
    """16 threads, each with its own SQLCipher connection, race 48 queries of ε=0.1 against
    the federation's cap of 1: exactly 10 are charged, the rest refused at no cost."""
    config = load_node_config(folder)
    key = read_key(config.key_file)
    signer = Signer.load(config.signing_key_file)
    accepted: list[int] = []
    refused: list[int] = []
    lock = threading.Lock()
    barrier = threading.Barrier(16)

    def client(index: int) -> None:
        store = Store.open(config.database, key)
        try:
            engine = QueryEngine(config, store, signer=signer)
            barrier.wait()
            for attempt in range(3):
                try:
                    answer = engine.answer("federation", f"t{index}-{attempt}", spec(100_000))
                    with lock:
                        accepted.append(answer.release.cost_micro)
                except BudgetExhaustedError:
                    with lock:
                        refused.append(index)
        finally:
            store.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads)
    assert sum(accepted) == 1_000_000 and len(accepted) == 10 and len(refused) == 38
    runtime = open_node(config)
    try:
        entries = runtime.engine.ledger.entries()
        assert sum(e.cost_micro for e in entries) == 1_000_000 and len(entries) == 10
        assert runtime.engine.ledger.spent("federation", entries[0].budget_period) == 1_000_000
    finally:
        runtime.close()


def test_concurrent_retries_of_one_query_id_charge_once(folder: Path) -> None:
    config = load_node_config(folder)
    key = read_key(config.key_file)
    answers: list[tuple[int, ...]] = []
    barrier = threading.Barrier(8)

    def client() -> None:
        store = Store.open(config.database, key)
        try:
            engine = QueryEngine(config, store)
            barrier.wait()
            answer = engine.answer("federation", "same-id", spec(300_000))
            assert answer.release.count is not None
            answers.append(answer.release.count.values)
        finally:
            store.close()

    threads = [threading.Thread(target=client) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(answers) == 8 and len(set(answers)) == 1  # everyone got the stored answer
    runtime = open_node(config)
    try:
        assert [e.query_id for e in runtime.engine.ledger.entries()] == ["same-id"]
    finally:
        runtime.close()


_CLIENT = """
import sys, time
from pathlib import Path
from node import load_node_config, open_node
from privacy import BudgetExhaustedError, QuerySpec, Statistic
config_path, prefix, attempts, go = sys.argv[1], sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
runtime = open_node(load_node_config(Path(config_path)))
print("ready", flush=True)
deadline = time.monotonic() + 60
while not go.exists() and time.monotonic() < deadline:
    time.sleep(0.005)
accepted = 0
spec = QuerySpec("2025.1", "headcount", Statistic.COUNT, ("region",), (), "2025", 100_000)
for i in range(attempts):
    try:
        accepted += runtime.engine.answer("federation", f"{prefix}-{i}", spec).release.cost_micro
    except BudgetExhaustedError:
        pass
runtime.close()
print(accepted, flush=True)
"""


def test_separate_processes_on_one_database_never_overspend(folder: Path,
                                                            tmp_path: Path) -> None:
    """4 processes race 6 queries of ε=0.1 each against the cap of 1 on one database file."""
    go = tmp_path / "go"
    processes = [
        subprocess.Popen([sys.executable, "-c", _CLIENT, str(folder), f"p{i}", "6", str(go)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for i in range(4)
    ]
    try:
        for process in processes:
            assert process.stdout is not None
            assert process.stdout.readline().strip() == "ready"
        go.touch()
        outputs = [process.communicate(timeout=120) for process in processes]
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    assert all(p.returncode == 0 for p in processes), [err for _, err in outputs]
    accepted = [int(out.strip()) for out, _ in outputs]
    assert sum(accepted) == 1_000_000, accepted
    runtime = open_node(load_node_config(folder))
    try:
        entries = runtime.engine.ledger.entries()
        assert sum(e.cost_micro for e in entries) == 1_000_000 and len(entries) == 10
        assert [e.sequence for e in entries] == list(range(1, 11))
    finally:
        runtime.close()


# ------------------------------------------------------------------ the operator's CLI


def koepel(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cli", *args], capture_output=True, text=True,
                          timeout=120)


def test_cli_budget_and_dry_run(folder: Path, node_factory: Callable[..., NodeRuntime]) -> None:
    runtime = open_node(load_node_config(folder))
    try:
        runtime.engine.answer("federation", "q1", spec(250_000))
    finally:
        runtime.close()
    done = koepel("node", "budget", "--config", str(folder), "--json")
    assert done.returncode == 0, done.stderr
    lines = json.loads(done.stdout)["lines"]
    mine = [x for x in lines if x["querier"] == "federation" and x["spent"] == "0.25"]
    assert mine and mine[0]["remaining"] == "0.75"
    assert {x["scope"] for x in lines} == {"querier", "node", "lifetime"}
    table = koepel("node", "budget", "--config", str(folder))
    assert "all periods" in table.stdout and "all queriers" in table.stdout

    dry = koepel("node", "dry-run", "--config", str(folder), "support_hours", "--stat", "mean",
                 "--by", "gender", "--period", "2025", "--epsilon", "0.5", "--querier",
                 "federation", "--json")
    assert dry.returncode == 0, dry.stderr
    planned = json.loads(dry.stdout)
    assert planned["cost"] == "0.5" and planned["fits"] is True
    assert [v["role"] for v in planned["vectors"]] == ["sum", "count", "clamped"]  # issue 17
    over = koepel("node", "dry-run", "--config", str(folder), "headcount", "--period", "2025",
                  "--epsilon", "0.9", "--querier", "federation")
    assert over.returncode == 7 and "would be refused" in over.stdout
    stranger = koepel("node", "dry-run", "--config", str(folder), "headcount", "--period",
                      "2025", "--epsilon", "0.1", "--querier", "stranger")
    assert stranger.returncode == 6 and "not authorised" in stranger.stderr


def test_running_totals_equal_the_ledger_they_summarise(
        opened: tuple[NodeRuntime, Clock, QueryEngine]) -> None:
    """The caps read ``ledger_totals`` (kept by a trigger in each charge's transaction), never
    the whole ledger: they must always equal the ledger's own sums."""
    runtime, clock, engine = opened
    engine.answer("federation", "a", spec(300_000))
    engine.answer("federation", "a", spec(300_000))  # a replay: no new charge
    engine.answer("researcher", "b", spec(200_000))
    clock.now = datetime(2026, 1, 5, tzinfo=UTC)
    engine.answer("researcher", "c", spec(100_000))
    with runtime.store.reading() as conn:
        totals = conn.execute("SELECT querier, budget_period, unit, spent_micro "
                              "FROM ledger_totals ORDER BY 1, 2").fetchall()
        summed = conn.execute("SELECT querier, budget_period, 'epsilon', SUM(cost_micro) "
                              "FROM ledger GROUP BY 1, 2 ORDER BY 1, 2").fetchall()
    assert totals == summed == [("federation", "2025", "epsilon", 300_000),
                                ("researcher", "2025", "epsilon", 200_000),
                                ("researcher", "2026", "epsilon", 100_000)]
    assert engine.ledger.spent_overall() == 600_000
    assert engine.ledger.spent_in_period("2025") == 500_000


def test_a_charge_in_another_unit_than_the_ledgers_is_refused(
        opened: tuple[NodeRuntime, Clock, QueryEngine]) -> None:
    from node.engine.ledger import Charge, LedgerUnitError

    _, _, engine = opened
    engine.answer("federation", "a", spec(300_000))
    caps = engine.policy.caps("federation")
    charge = Charge(querier="federation", query_id="rho", query_digest="d", mechanism="m",
                    cost_micro=1, budget_period=caps.period, catalogue_version=CAT.version,
                    answer="{}", unit="rho")
    with pytest.raises(LedgerUnitError):
        engine.ledger.commit(charge, caps)
    assert len(engine.ledger.entries()) == 1
