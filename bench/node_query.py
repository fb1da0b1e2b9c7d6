"""Node query benchmarks: a DP answer on the encrypted store against plain SQLite on the same data.

For each store size and query this measures, on warm connections:

* **DP answer** — ``QueryEngine.answer`` as the servicer calls it: validate, budget pre-check,
  the compiled per-person SQL on SQLCipher, the OpenDP release, the durable ledger commit;
* **SQL on SQLCipher** — the compiled SQL alone on the node's connection (``exact_cells``);
* **floor** — the very same SQL and parameters (``node.engine.compiler.compile_query``, on the
  per-person facts) run by the standard library's ``sqlite3`` on the unencrypted copy, with
  SQLite's default settings;
* **raw-row SQL** — the SQL the facts replace (each person's value from their raw rows), on
  SQLCipher, for comparison.

Also the cold start (``open_node``: read node.toml and the key files, open and key the store,
check the schema) and the OpenDP release alone on the query's finished cell vectors.

``QueryEngine.answer`` is what the servicer calls inside its reply pacing: the padding of every
reply to node.toml's ``reply_quantum_ms`` (a timing side-channel defence) is added by the
servicer around it and is not in these figures (bench.federation reports it).
"""

from __future__ import annotations

import functools
import sqlite3
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from bench.measure import Row, interleaved, median, repeat
from bench.stores import BENCH_QUERIER, REFERENCE_YEAR, BenchStore
from node import NodeRuntime, QueryEngine, load_node_config, open_node
from node.engine.compiler import compile_query
from node.store.facts import covered
from privacy import (
    QuerySpec,
    Statistic,
    ValidatedQuery,
    VectorRole,
    default_catalogue,
    plan_release,
    release,
    validate,
)

__all__ = ["QUERIES", "BenchQuery", "floor_connection", "node_engine", "run_cold_start",
           "run_node_queries", "run_opendp"]

TARGET_RATIO = 1.3
TARGET_MS_100K = 50.0
TARGET_COLD_S = 1.0


@dataclass(frozen=True)
class BenchQuery:
    key: str
    name: str
    measure: str
    statistic: Statistic
    group_by: tuple[str, ...]
    epsilon_micro: int

    def spec(self) -> QuerySpec:
        return QuerySpec(default_catalogue().version, self.measure, self.statistic,
                         self.group_by, (), str(REFERENCE_YEAR), self.epsilon_micro)

    def validated(self) -> ValidatedQuery:
        return validate(self.spec(), default_catalogue())


QUERIES = (
    BenchQuery("count_target_group", "DP count, headcount by target group", "headcount",
               Statistic.COUNT, ("target_group",), 10_000),
    BenchQuery("mean_support_region", "DP mean, support hours by region", "support_hours",
               Statistic.MEAN, ("region",), 10_000),
    BenchQuery("hist_support_region", "DP histogram, support hours (8 bins) by region",
               "support_hours", Statistic.HISTOGRAM, ("region",), 10_000),
)

Clock = Callable[[], datetime]


def node_engine(runtime: NodeRuntime, clock: Clock) -> QueryEngine:
    """The node's engine (signing receipts as the node does), charging a budget period private
    to this bench run (``bench.clock``): the cached stores outlive a run."""
    return QueryEngine(runtime.config, runtime.store, signer=runtime.signer, clock=clock)


def exact(engine: QueryEngine, query: ValidatedQuery) -> object:
    """The exact per-cell figures the release of ``query`` needs (what its SQL computes)."""
    if query.spec.statistic is Statistic.HISTOGRAM:
        return engine.exact_histogram(query)
    return engine.exact_cells(query)


def floor_connection(store: BenchStore) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{store.plain}?mode=ro", uri=True)


def run_node_queries(store: BenchStore, runs: int, clock: Clock,
                     log: Callable[[str], None]) -> list[Row]:
    """DP answer, SQL on SQLCipher, and the plain-SQLite floor for each query on ``store``."""
    rows: list[Row] = []
    runtime = open_node(load_node_config(store.node.config_path))
    floor = floor_connection(store)
    try:
        engine = node_engine(runtime, clock)
        for query in QUERIES:
            validated = query.validated()
            # The engine reads the per-person facts (node/store/facts.py); the floor runs that
            # same narrow-table SQL, and the raw-row SQL it replaces is measured beside it.
            compiled = compile_query(validated, facts=True)
            raw = compile_query(validated, facts=False)
            spec = query.spec()
            with runtime.store.reading() as conn:
                if not covered(conn, validated.period.label):
                    raise RuntimeError(f"the {store.label} store's facts do not cover "
                                       f"{validated.period.label}")

            def answer(spec: QuerySpec = spec) -> None:
                engine.answer(BENCH_QUERIER, f"bench-{uuid.uuid4().hex}", spec)

            def sql_cipher(validated: ValidatedQuery = validated) -> None:
                exact(engine, validated)

            def sql_plain(sql: str = compiled.sql, params: object = compiled.params) -> None:
                floor.execute(sql, params).fetchall()  # type: ignore[arg-type]

            def sql_raw(sql: str = raw.sql, params: object = raw.params) -> None:
                with runtime.store.reading() as conn:
                    conn.execute(sql, params).fetchall()

            timed = interleaved({"floor": sql_plain, "cipher": sql_cipher, "answer": answer,
                                 "raw": sql_raw}, runs)
            floor_s, cipher_s, answer_s = timed["floor"], timed["cipher"], timed["answer"]
            raw_s = timed["raw"]
            floor_ms = median(floor_s) * 1000
            answer_ms = median(answer_s) * 1000
            checks: dict[str, bool | None] = {}
            if store.label in ("100k", "1M"):  # the targets
                checks[f"≤ {TARGET_RATIO}× floor"] = answer_ms <= TARGET_RATIO * floor_ms
            if store.label == "100k":
                checks[f"≤ {TARGET_MS_100K:.0f} ms"] = answer_ms <= TARGET_MS_100K
            rows.append(Row("node query", query.name, store.label, answer_ms, "ms",
                            floor=floor_ms, floor_name="same SQL, plain sqlite3",
                            target="; ".join(checks),
                            meets=all(checks.values()) if checks else None, checks=checks,
                            samples=[s * 1000 for s in answer_s],
                            extra={"query": query.key,
                                   "floor_samples_ms": [s * 1000 for s in floor_s]}))
            rows.append(Row("node query", f"  SQL alone on SQLCipher ({query.key})", store.label,
                            median(cipher_s) * 1000, "ms", floor=floor_ms,
                            floor_name="same SQL, plain sqlite3",
                            samples=[s * 1000 for s in cipher_s], extra={"query": query.key}))
            rows.append(Row("node query", f"  raw-row SQL on SQLCipher, before facts "
                            f"({query.key})", store.label, median(raw_s) * 1000, "ms",
                            floor=floor_ms, floor_name="facts SQL, plain sqlite3",
                            samples=[s * 1000 for s in raw_s], extra={"query": query.key}))
            log(f"  {store.label} {query.key}: answer {answer_ms:.1f} ms, SQLCipher SQL "
                f"{median(cipher_s) * 1000:.1f} ms, floor {floor_ms:.1f} ms, raw rows "
                f"{median(raw_s) * 1000:.1f} ms")
    finally:
        floor.close()
        runtime.close()
    return rows


def run_cold_start(store: BenchStore, runs: int, clock: Clock) -> list[Row]:
    """``open_node`` (config, key files, keyed open, schema check), then the first DP answer."""
    config_path = store.node.config_path
    spec = QUERIES[0].spec()

    def cold() -> None:
        runtime = open_node(load_node_config(config_path))
        runtime.close()

    def cold_and_first() -> None:
        runtime = open_node(load_node_config(config_path))
        try:
            node_engine(runtime, clock).answer(BENCH_QUERIER, f"bench-{uuid.uuid4().hex}", spec)
        finally:
            runtime.close()

    def plain_open() -> None:  # the floor: connect and read the schema, as any reader must
        conn = sqlite3.connect(store.plain)
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        conn.close()

    timed = interleaved({"open": cold, "floor": plain_open}, runs)
    opened, floor = timed["open"], timed["floor"]
    first = repeat(cold_and_first, max(1, runs // 2))
    open_ms = median(opened) * 1000
    return [
        Row("cold start", "open_node (config, keys, keyed open, checks, schema)", store.label,
            open_ms, "ms", floor=median(floor) * 1000, floor_name="sqlite3 connect + schema read",
            target=f"≤ {TARGET_COLD_S * 1000:.0f} ms", meets=open_ms <= TARGET_COLD_S * 1000,
            samples=[s * 1000 for s in opened]),
        Row("cold start", "open_node + first DP answer (cold page cache)", store.label,
            median(first) * 1000, "ms", samples=[s * 1000 for s in first]),
    ]


def run_opendp(store: BenchStore, runs: int) -> list[Row]:
    """The OpenDP release alone, on each query's finished cell vectors (calibration cached)."""
    rows = []
    runtime = open_node(load_node_config(store.node.config_path))
    try:
        for query in QUERIES:
            validated = query.validated()
            plan = plan_release(validated)
            if query.statistic is Statistic.HISTOGRAM:
                histogram, clamped = runtime.engine.exact_histogram_and_clamped(validated)
                wants = plan.share(VectorRole.CLAMPED) is not None
                draw = functools.partial(release, plan, [], [], histogram,
                                         clamped if wants else None)
                n_values = len(histogram)
            else:
                counts, sums, clamped = runtime.engine.exact_cells_and_clamped(validated)
                wants = plan.share(VectorRole.CLAMPED) is not None
                draw = functools.partial(release, plan, counts, sums, (),
                                         clamped if wants else None)
                n_values = len(counts)
            samples = repeat(draw, max(runs, 50), warmup=3)
            rows.append(Row("OpenDP", f"release only ({query.key}, {n_values} values)",
                            store.label, median(samples) * 1000, "ms",
                            samples=[s * 1000 for s in samples[:20]]))
    finally:
        runtime.close()
    return rows
