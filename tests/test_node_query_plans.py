"""The shape the node's SQL must keep to stay fast, checked on real SQLCipher files.

Speed itself is measured in bench/, never asserted here. What is asserted is structural and
stable: a version-4 store migrates (version 5) to the per-person covering indexes; the compiled
per-person values walk those indexes instead of sorting a whole period's rows in a temporary
B-tree; and pseudonyms did not change when their computation got faster (a changed pseudonym
would turn every re-import into duplicates).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from pathlib import Path

import sqlcipher3

from node import NodeRuntime, Store, create_key_file
from node.engine.compiler import compile_query
from node.imports.pseudonyms import Pseudonymiser
from node.store.facts import REFRESH_SQL
from node.store.schema import MIGRATIONS, SCHEMA_VERSION
from privacy import QuerySpec, Statistic, default_catalogue, validate

CAT = default_catalogue()


def _plan(runtime: NodeRuntime, measure: str, statistic: Statistic,
          group_by: tuple[str, ...], *, facts: bool = False) -> list[str]:
    query = validate(QuerySpec(CAT.version, measure, statistic, group_by, (), "2025", 1_000_000),
                     CAT)
    compiled = compile_query(query, facts=facts)
    with runtime.store.reading() as conn:
        rows = conn.execute("EXPLAIN QUERY PLAN " + compiled.sql, compiled.params).fetchall()
    return [str(row[3]) for row in rows]


def test_support_hours_walk_each_persons_actions_by_index(
        node_factory: Callable[..., NodeRuntime]) -> None:
    plan = _plan(node_factory(), "support_hours", Statistic.MEAN, ("region",))
    assert any("support_actions_by_pid" in step for step in plan), plan
    assert any("contracts_by_pid_period" in step for step in plan), plan
    # The only temporary B-tree left is the final GROUP BY over a handful of cells.
    assert sum("TEMP B-TREE" in step for step in plan) <= 1, plan


def test_counts_and_fte_need_no_value_join(node_factory: Callable[..., NodeRuntime]) -> None:
    runtime = node_factory()
    for measure in ("headcount", "fte"):
        plan = _plan(runtime, measure, Statistic.MEAN if measure == "fte" else Statistic.COUNT,
                     ("target_group",))
        assert not any("AUTOMATIC" in step for step in plan), (measure, plan)
        assert sum("TEMP B-TREE" in step for step in plan) <= 1, (measure, plan)


def test_on_the_facts_a_query_reads_one_range_of_person_periods(
        node_factory: Callable[..., NodeRuntime]) -> None:
    """The per-person facts (schema version 8): one index range of ``person_periods`` by
    period, which carries the worker attributes; no join, no per-person sub-query, no raw
    rows."""
    runtime = node_factory()
    for measure, statistic in (("headcount", Statistic.COUNT), ("fte", Statistic.MEAN),
                               ("support_hours", Statistic.MEAN),
                               ("support_hours", Statistic.HISTOGRAM)):
        plan = _plan(runtime, measure, statistic, ("region",), facts=True)
        text = " ".join(plan)
        assert "SEARCH f USING PRIMARY KEY (period=?)" in text, (measure, plan)
        assert "workers" not in text and " w " not in text, (measure, plan)  # carried in f
        assert "support_actions" not in text and "contracts" not in text, (measure, plan)
        assert "CORRELATED" not in text and "AUTOMATIC" not in text, (measure, plan)
        assert sum("TEMP B-TREE" in step for step in plan) <= 1, (measure, plan)


def test_recomputing_marked_people_reads_only_their_rows(
        node_factory: Callable[..., NodeRuntime]) -> None:
    """An import's facts upkeep is driven by the people it marked, each one's contracts by
    index, never a scan of every contract per period."""
    runtime = node_factory()
    with runtime.store.reading() as conn:
        plan = [str(r[3]) for r in conn.execute(
            "EXPLAIN QUERY PLAN SELECT" + REFRESH_SQL.split("SELECT", 1)[1])]
    assert plan[0] == "SCAN d", plan
    assert any("contracts_by_pid_period (pid=?)" in step for step in plan), plan
    assert any("support_actions_by_pid (pid=?" in step for step in plan), plan


def test_a_version_4_store_migrates_to_the_per_person_indexes(tmp_path: Path) -> None:
    """Version 5 adds the per-person indexes; a version-4 store keeps its rows and gets them."""
    key = create_key_file(tmp_path / "db.key")
    path = tmp_path / "v4.db"
    conn = sqlcipher3.connect(str(path), isolation_level=None)
    conn.execute(f"PRAGMA key = \"x'{key.hex()}'\"")
    for migration in MIGRATIONS[:4]:
        for statement in migration:
            conn.execute(statement)
    conn.execute("PRAGMA user_version = 4")
    conn.execute("INSERT INTO workers (pid, birth_year, gender, education_level, target_group, "
                 "region) VALUES ('p1', 1980, 'F', 'LOWER_SEC', 'TG_DISABILITY', 'BE-WAL')")
    conn.execute("INSERT INTO contracts (contract_key, pid, role, contract_type, weekly_hours, "
                 "start_date, end_date) VALUES ('c1', 'p1', 'TARGET_WORKER', 'OPEN_ENDED', 38, "
                 "'2020-01-01', NULL)")
    conn.execute("INSERT INTO support_actions (action_key, pid, action_date, duration_min, "
                 "action_code, local_code, mapping_version) VALUES ('a1', 'p1', '2025-02-01', "
                 "90, 'SA02', 'SA02', 'identity')")
    conn.close()

    store = Store.open(path, key)
    try:
        with store.reading() as c:
            version = c.execute("PRAGMA user_version").fetchone()[0]
            indexes = {r[0] for r in c.execute("SELECT name FROM sqlite_master WHERE type='index'")}
            hours = c.execute("SELECT SUM(duration_min) FROM support_actions INDEXED BY "
                              "support_actions_by_pid WHERE pid = 'p1'").fetchone()[0]
            contracts = c.execute("SELECT count(*) FROM contracts INDEXED BY "
                                  "contracts_by_pid_period WHERE pid = 'p1'").fetchone()[0]
    finally:
        store.close()
    assert version == SCHEMA_VERSION >= 5
    assert {"contracts_by_pid_period", "support_actions_by_pid", "ledger_by_period"} <= indexes
    assert "contracts_by_pid" not in indexes
    assert (hours, contracts) == (90, 1)  # the rows are kept and the new indexes hold them


def test_pseudonyms_are_unchanged_hmac_sha256() -> None:
    secret = bytes(range(32))
    pseudo = Pseudonymiser(secret)
    # Known answer, computed with the original hmac.new(...).hexdigest()[:32].
    assert pseudo.pseudonym("person", "P000123") == "692d45353e26dc40680f4bd7de7b7074"
    for kind, raw in (("contract", "C0000001"), ("person", "é-ß 42"), ("action", "x" * 128)):
        message = f"{kind}\x00{raw}".encode()
        expected = hmac.new(secret, message, hashlib.sha256).hexdigest()[:32]
        assert pseudo.pseudonym(kind, raw) == expected
