"""Import benchmark: rows per second through ``node.import_files`` against a bare executemany.

CSV exports are written from a benchmark store: a personnel register of ``rows`` people
(``workers.csv``), their contracts (``contracts.csv``, so that their per-person facts are built,
then updated as their support actions arrive) and ``rows`` support actions for people in that
register (``support_actions.csv``). Each run imports them, in that order, into a fresh
encrypted node store, the way ``koepel node import`` does (parse, validate every cell,
pseudonymise, upsert, keep the facts, all in one transaction); then the same into a store whose
facts triggers are dropped (what an import cost before the facts). The floor inserts the same
rows, already parsed, validated and pseudonymised by the importer's own reader
(``node.imports.validation.TableReader``, before the floor's clock starts), with one plain
``executemany`` of ``INSERT``s per table into a fresh SQLCipher store (facts triggers dropped),
in one transaction each.
"""

from __future__ import annotations

import csv
import shutil
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

from bench.measure import Row, median
from bench.stores import BenchStore
from node import Store, ToolMapping, Vocabulary, create_key_file, import_files
from node.imports.pseudonyms import Pseudonymiser
from node.imports.records import TABLES
from node.imports.sources import open_csv
from node.imports.validation import Parsed, RowError, TableReader
from node.synthetic.generator import TABLE_COLUMNS

__all__ = ["run_import", "write_csvs"]

TARGET_ROWS_PER_S = 100_000


def write_csvs(store: BenchStore, directory: Path, rows: int) -> dict[str, Path]:
    """``workers.csv`` and ``support_actions.csv`` with ``rows`` rows each, from ``store``, and
    ``contracts.csv`` with those people's contracts."""
    directory.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(f"file:{store.plain}?mode=ro", uri=True)
    try:
        workers = conn.execute(
            "SELECT pid, birth_year, gender, education_level, target_group, region FROM workers "
            "ORDER BY pid LIMIT ?", (rows,)).fetchall()
        if len(workers) < rows:
            raise ValueError(f"the {store.label} store has fewer than {rows} people")
        actions = conn.execute(
            "WITH w AS (SELECT pid FROM workers ORDER BY pid LIMIT ?) "
            "SELECT action_key, s.pid, action_date, duration_min, action_code "
            "FROM support_actions s JOIN w ON w.pid = s.pid LIMIT ?", (rows, rows)).fetchall()
        if len(actions) < rows:
            raise ValueError(f"the {store.label} store has fewer than {rows} support actions")
        contracts = conn.execute(  # every contract of those people: their facts get built
            "WITH w AS (SELECT pid FROM workers ORDER BY pid LIMIT ?) "
            "SELECT contract_key, c.pid, role, contract_type, weekly_hours, start_date, "
            "end_date FROM contracts c JOIN w ON w.pid = c.pid", (rows,)).fetchall()
    finally:
        conn.close()
    paths = {}
    for table, data in (("workers", workers), ("contracts", contracts),
                        ("support_actions", actions)):
        path = directory / f"{table}.csv"
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(TABLE_COLUMNS[table])
            writer.writerows(data)
        paths[table] = path
    return paths


def _fresh_store(directory: Path) -> tuple[Store, bytes]:
    if directory.exists():
        shutil.rmtree(directory)
    key = create_key_file(directory / "keys" / "db.key")
    secret = create_key_file(directory / "keys" / "pseudonym.key")
    return Store.open(directory / "koepel.db", key, create=True), secret


def _parsed(path: Path, table: str, secret: bytes) -> Parsed:
    """The rows as the importer stores them (done before the floor's clock starts)."""
    errors: list[RowError] = []
    source = open_csv(path)
    try:
        reader = TableReader(TABLES[table], ToolMapping.identity().tables[table], source,
                             Pseudonymiser(secret), Vocabulary(), errors, {})
        parsed = reader.read(None)
    finally:
        source.close()
    if errors:
        raise RuntimeError(f"the benchmark's {table}.csv has {len(errors)} invalid rows")
    return parsed


def _drop_facts_triggers(store: Store) -> None:
    with store.transaction() as conn:
        for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' "
                                    "AND name LIKE '%_facts_%'").fetchall():
            conn.execute(f"DROP TRIGGER {name}")


def run_import(store: BenchStore, scratch: Path, rows: int, runs: int,
               log: Callable[[str], None]) -> list[Row]:
    paths = write_csvs(store, scratch / "csv", rows)
    tables = ("workers", "contracts", "support_actions")
    counts = {t: sum(1 for _ in paths[t].open(encoding="utf-8")) - 1 for t in tables}
    koepel: dict[str, list[float]] = {t: [] for t in tables}
    bare: dict[str, list[float]] = {t: [] for t in tables}  # no facts upkeep
    floor: dict[str, list[float]] = {t: [] for t in tables}
    for run in range(runs):
        node_store, secret = _fresh_store(scratch / f"import-{run}")
        try:
            for table in tables:
                started = time.perf_counter()
                summary = import_files(node_store, secret, [paths[table]])
                koepel[table].append(time.perf_counter() - started)
                if summary.new[table] != counts[table]:
                    raise RuntimeError(f"import wrote {summary.new[table]} of {counts[table]} "
                                       f"{table}")
        finally:
            node_store.close()
        node_store, secret = _fresh_store(scratch / f"bare-{run}")
        try:
            _drop_facts_triggers(node_store)  # what an import cost before the facts
            for table in tables:
                started = time.perf_counter()
                import_files(node_store, secret, [paths[table]])
                bare[table].append(time.perf_counter() - started)
        finally:
            node_store.close()
        shutil.rmtree(scratch / f"bare-{run}")
        floor_store, secret = _fresh_store(scratch / f"floor-{run}")
        _drop_facts_triggers(floor_store)  # the floor: bare inserts into the record tables
        try:
            for table in tables:
                parsed = _parsed(paths[table], table, secret)
                sql = (f"INSERT INTO {table} ({', '.join(parsed.columns)}) "
                       f"VALUES ({', '.join('?' * len(parsed.columns))})")
                started = time.perf_counter()
                with floor_store.transaction() as conn:
                    conn.executemany(sql, parsed.rows)
                floor[table].append(time.perf_counter() - started)
        finally:
            floor_store.close()
        shutil.rmtree(scratch / f"import-{run}")
        shutil.rmtree(scratch / f"floor-{run}")
    result = []
    for table in tables:
        n = counts[table]
        rate = n / median(koepel[table])
        floor_rate = n / median(floor[table])
        log(f"  import {table}: {rate:,.0f} rows/s (floor {floor_rate:,.0f} rows/s)")
        result.append(Row(
            "import", f"{table}.csv through node.import_files", f"{n // 1000}k rows",
            rate, "rows/s", floor=floor_rate, floor_name="executemany into SQLCipher",
            target=f"≥ {TARGET_ROWS_PER_S:,} rows/s", meets=rate >= TARGET_ROWS_PER_S,
            samples=[n / s for s in koepel[table]],
            extra={"floor_samples": [n / s for s in floor[table]]}, higher_is_better=True,
        ))
        bare_rate = n / median(bare[table])
        log(f"  import {table} without the facts upkeep: {bare_rate:,.0f} rows/s")
        result.append(Row(
            "import", f"  {table}.csv, facts upkeep: time with / without", f"{n // 1000}k rows",
            median(koepel[table]) * 1000, "ms", floor=median(bare[table]) * 1000,
            floor_name="same import, facts triggers dropped", target="≤ 1.3× floor",
            meets=median(koepel[table]) <= 1.3 * median(bare[table]),
            samples=[s * 1000 for s in koepel[table]],
            extra={"floor_samples_ms": [s * 1000 for s in bare[table]]}))
    return result
