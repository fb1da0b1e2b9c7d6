"""koepel's node against the central-DP peers on the same rows: SmartNoise SQL, OpenDP polars.

The peers start from a per-person table; so does this comparison. Each store's per-person rows
for the reference year (``person_periods``, the facts the node answers from: pseudonym, under
contract on the last day, target group, region, support hours) are exported once from the
store's plain copy into a CSV beside it (``people-<year>.csv``, in the cache), and every peer
reads that file into its own memory before the clock starts. Each peer runs in its own venv
(``bench/peer_envs.py``) and process (``bench/peer_runners/``) and times its own releases;
koepel's node answers in this process, through ``QueryEngine.answer`` on the encrypted store
(validation, budget checks, the SQL, OpenDP, the durable ledger commit, the signed receipt), as
in ``bench.node_query``. All take turns within each run, so a busy machine slows them alike.

Per query and store size, in one run (medians):

* **SmartNoise SQL** (``PrivateReader.execute`` on its pandas reader, row privacy, every cell
  released): the issue's target, koepel ≤ 0.5× it;
* **same SQL in plain SQLite**: the node's own compiled SQL on its per-person facts
  (``compile_query(…, facts=True)``) run by the standard library's ``sqlite3`` on the
  unencrypted copy: target koepel ≤ 1.1× it;
* **OpenDP polars context** (``Context.compositor`` … ``release().collect()``), no target;
* **hand-written SQL on the exported table** (plain ``sqlite3``, in memory): the substrate the
  peers' SQL runs on, no target. Its exact figures are checked against the node's exact cells
  before anything is timed: the peers are given the very rows the node answers from.

The ε of each query is the node's (``bench.node_query.QUERIES``). Loading a peer's data is not
timed; its load time is kept in the results' ``extra``.
"""

from __future__ import annotations

import csv
import functools
import os
import sqlite3
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from bench.linechild import LineProcess
from bench.measure import Row, clocked, median, turns
from bench.node_query import QUERIES, BenchQuery, floor_connection, node_engine
from bench.peer_envs import PEERS, PeerEnv, ensure_all
from bench.stores import BENCH_QUERIER, REFERENCE_YEAR, BenchStore, ensure_store
from node import QueryEngine, load_node_config, open_node
from node.engine.compiler import compile_query
from privacy import Statistic, ValidatedQuery

__all__ = ["export_people", "run_peers"]

TARGET_PEER = 0.5  # koepel's DP answer ≤ 0.5× SmartNoise SQL's
TARGET_FLOOR = 1.1  # and ≤ 1.1× its own SQL on the plain copy
TARGET_SIZES = ("100k", "1M")  # the sizes; below them a fixed cost (the fsynced
# ledger commit) outweighs a query of a few milliseconds
PEER_KEYS = {"count_target_group": "count", "mean_support_region": "mean",
             "hist_support_region": "hist"}
_COLUMNS = ("pid", "active_end", "target_group", "region", "support_hours")

Clock = Callable[[], datetime]


def export_people(store: BenchStore) -> Path:
    """The store's per-person rows of the reference year as CSV (made once, kept in the cache)."""
    path = store.plain.parent / f"people-{REFERENCE_YEAR}.csv"
    if path.exists():
        return path
    conn = sqlite3.connect(f"file:{store.plain}?mode=ro", uri=True)
    tmp = path.with_suffix(".csv.tmp")
    try:
        rows = conn.execute(
            "SELECT pid, active_end, target_group, region, support_min / 60.0 "
            "FROM person_periods WHERE period = ? ORDER BY pid", (str(REFERENCE_YEAR),))
        with tmp.open("w", newline="") as out:
            writer = csv.writer(out)
            writer.writerow(_COLUMNS)
            writer.writerows(rows)
    finally:
        conn.close()
    tmp.replace(path)
    return path


def _bin_case(edges: Sequence[float]) -> str:
    whens = " ".join(f"WHEN support_hours < {edge!r} THEN {i}"
                     for i, edge in enumerate(edges[1:-1]))
    return f"CASE {whens} ELSE {len(edges) - 2} END"


class _Narrow:
    """The exported rows in an in-memory plain SQLite table, queried by hand-written SQL."""

    def __init__(self, people: Path, lower: float, upper: float,
                 edges: Sequence[float]) -> None:
        self.conn = sqlite3.connect(":memory:")
        self.conn.execute("CREATE TABLE people (pid TEXT PRIMARY KEY, active_end INTEGER, "
                          "target_group TEXT, region TEXT, support_hours REAL)")
        with people.open(newline="") as source:
            reader = csv.reader(source)
            next(reader)
            self.conn.executemany("INSERT INTO people VALUES (?, ?, ?, ?, ?)",
                                  ((p, int(a), t, r, float(h)) for p, a, t, r, h in reader))
        self.sql = {
            "count": ("SELECT target_group, COUNT(*) FROM people WHERE active_end = 1 "
                      "GROUP BY target_group", ()),
            "mean": ("SELECT region, COUNT(*), SUM(MIN(MAX(support_hours, ?), ?)) FROM people "
                     "GROUP BY region", (lower, upper)),
            "hist": (f"SELECT region, {_bin_case(edges)} AS bin, COUNT(*) FROM people "
                     "GROUP BY region, bin", ()),
        }

    def run(self, key: str) -> list[Any]:
        sql, params = self.sql[key]
        return self.conn.execute(sql, params).fetchall()


def _check_same_rows(engine: QueryEngine, narrow: _Narrow, query: BenchQuery,
                     validated: ValidatedQuery) -> None:
    """Refuse to compare unless the exported table gives the node's exact person counts."""
    key = PEER_KEYS[query.key]
    cells = {row[0]: row for row in narrow.run(key)} if key != "hist" else {
        (row[0], row[1]): row[2] for row in narrow.run(key)}
    if query.statistic is Statistic.HISTOGRAM:
        node_counts = engine.exact_histogram(validated)
        n_bins = len(validated.measure.bins) - 1
        theirs = [cells.get((cell[0], b), 0) for cell in validated.cells for b in range(n_bins)]
    else:
        node_counts, _ = engine.exact_cells(validated)
        theirs = [cells[cell[0]][1] if cell[0] in cells else 0 for cell in validated.cells]
    if list(node_counts) != theirs:
        raise RuntimeError(f"the exported per-person rows do not give the node's exact counts "
                           f"for {query.key}; the peers would not see the same data")


class _Peer:
    """One peer runner process (``bench/peer_runners/protocol.py``)."""

    def __init__(self, env: PeerEnv, setup: Mapping[str, Any], log_path: Path) -> None:
        self.env = env
        child_env = {k: v for k, v in os.environ.items()
                     if k not in ("PYTHONPATH", "VIRTUAL_ENV") and not k.startswith("KOEPEL_")}
        self.process = LineProcess([str(env.python), str(env.runner)], child_env, log_path,
                                   f"the {env.label} peer")
        ready = self.process.ask(dict(setup))
        self.load_seconds = float(ready["load_seconds"])
        self.versions: dict[str, str] = ready["versions"]

    def release(self, key: str) -> float:
        return float(self.process.ask({"query": key})["seconds"])

    def stop(self) -> None:
        self.process.stop()


def _setup(people: Path, validated: ValidatedQuery) -> dict[str, Any]:
    catalogue = validated.catalogue
    measure = catalogue.measures["support_hours"]
    return {"data": str(people), "epsilon": QUERIES[0].epsilon_micro / 1e6,
            "target_groups": list(catalogue.dimensions["target_group"].cells),
            "regions": list(catalogue.dimensions["region"].cells),
            "edges": [float(e) for e in measure.bins],
            "lower": float(measure.lower), "upper": float(measure.upper)}


def _rows(query: BenchQuery, label: str, ms: Mapping[str, list[float]],
          peers: Sequence[_Peer]) -> list[Row]:
    med = {name: median(samples) * 1000 for name, samples in ms.items()}
    koepel = med["koepel"]
    samples = {name: [s * 1000 for s in values] for name, values in ms.items()}
    checks: dict[str, bool | None] = {}
    if label in TARGET_SIZES:
        checks[f"≤ {TARGET_PEER}× SmartNoise SQL"] = koepel <= TARGET_PEER * med["smartnoise"]
        checks[f"≤ {TARGET_FLOOR}× same SQL in plain SQLite"] = \
            koepel <= TARGET_FLOOR * med["floor"]
    versions = {peer.env.name: peer.versions for peer in peers}
    loads = {peer.env.name: peer.load_seconds for peer in peers}
    rows = [Row("peers", f"{query.name}: koepel node ÷ SmartNoise SQL", label, koepel, "ms",
                floor=med["smartnoise"], floor_name="SmartNoise SQL, same per-person rows",
                target="; ".join(checks), meets=all(checks.values()) if checks else None,
                checks=checks,
                samples=samples["koepel"],
                extra={"query": query.key, "floor_samples_ms": samples["smartnoise"],
                       "peer_versions": versions, "peer_load_seconds": loads})]
    for name, floor_name in (("floor", "same SQL in plain SQLite"),
                             ("polars", "OpenDP polars context"),
                             ("narrow", "hand-written SQL on the exported table (plain SQLite)")):
        rows.append(Row("peers", f"  koepel node ÷ {floor_name} ({query.key})", label, koepel,
                        "ms", floor=med[name], floor_name=floor_name, samples=samples["koepel"],
                        extra={"query": query.key, "floor_samples_ms": samples[name]}))
    return rows


def _one_query(engine: QueryEngine, floor: sqlite3.Connection, narrow: _Narrow,
               peers: Sequence[_Peer], query: BenchQuery, label: str, runs: int,
               log: Callable[[str], None]) -> list[Row]:
    validated = query.validated()
    _check_same_rows(engine, narrow, query, validated)
    compiled = compile_query(validated, facts=True)
    key = PEER_KEYS[query.key]
    spec = query.spec()
    smartnoise, polars = peers

    def answer() -> None:
        engine.answer(BENCH_QUERIER, f"bench-{uuid.uuid4().hex}", spec)

    def plain() -> None:
        floor.execute(compiled.sql, compiled.params).fetchall()

    timed = turns({
        "koepel": clocked(answer), "floor": clocked(plain),
        "narrow": clocked(functools.partial(narrow.run, key)),
        "smartnoise": functools.partial(smartnoise.release, key),
        "polars": functools.partial(polars.release, key),
    }, runs)
    log("  " + ", ".join(f"{name} {median(s) * 1000:.1f} ms" for name, s in timed.items())
        + f" ({label} {query.key})")
    return _rows(query, label, timed, peers)


def _one_size(store: BenchStore, runs: int, scratch: Path, clock: Clock,
              log: Callable[[str], None]) -> list[Row]:
    table = export_people(store)
    setup = _setup(table, QUERIES[0].validated())
    log(f"peers on the {store.label} store ({runs} runs each): loading the per-person rows")
    rows: list[Row] = []
    runtime = open_node(load_node_config(store.node.config_path))
    floor = floor_connection(store)
    peers: list[_Peer] = []
    try:
        narrow = _Narrow(table, setup["lower"], setup["upper"], setup["edges"])
        for env in PEERS:
            peers.append(_Peer(env, setup, scratch / f"peer-{env.name}.log"))
        engine = node_engine(runtime, clock)
        for query in QUERIES:
            rows += _one_query(engine, floor, narrow, peers, query, store.label, runs, log)
    finally:
        for peer in peers:
            peer.stop()
        floor.close()
        runtime.close()
    return rows


def run_peers(cache: Path, sizes: Sequence[int], runs: int, big_runs: int, scratch: Path,
              clock: Clock, log: Callable[[str], None]) -> list[Row]:
    """Every query at every size: koepel's node, its floor, the narrow table and both peers."""
    ensure_all(log)
    scratch.mkdir(parents=True, exist_ok=True)
    rows: list[Row] = []
    for people in sizes:
        store = ensure_store(cache, people, log=log)
        rows += _one_size(store, big_runs if people >= 1_000_000 else runs, scratch, clock, log)
    return rows
