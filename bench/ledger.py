"""Ledger benchmark: a DP answer on a node whose ledger holds 100k entries against one with none.

Two copies of one small organisation's node (the same synthetic records, built the same way);
one gets ``entries`` hash-chained ledger entries (spread over querier identities and budget
periods, written in one transaction with their answers, exactly the rows ``Ledger.commit``
writes), the other none. Answers alternate between the two: validation, the budget checks
against all three caps (querier, node-wide, lifetime) and the unit check, the SQL, the OpenDP
release, the durable ledger commit and the signed receipt. Target: ≤ 1.1× the empty ledger.

The indented line times what the checks cost before the running totals (schema version 8):
the unit check and the three sums read straight from the 100k-entry ledger table.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from bench.measure import Row, interleaved, median
from bench.node_query import QUERIES
from bench.stores import BENCH_QUERIER, _build_encrypted_node
from node import NodeRuntime, QueryEngine, load_node_config, open_node
from node.synthetic.generator import sample_federation
from privacy.receipts import GENESIS, LedgerRecord

__all__ = ["run_ledger"]

TARGET_RATIO = 1.1


def _fill(runtime: NodeRuntime, entries: int) -> None:
    """``entries`` ledger rows and their stored answers, hash-chained, in one transaction."""
    prev = GENESIS
    ledger, answers = [], []
    for seq in range(1, entries + 1):
        record = LedgerRecord(
            sequence=seq, created_at="2025-01-01T00:00:00.000+00:00",
            querier=f"querier-{seq % 7}", query_id=f"old-{seq}", query_digest="d" * 64,
            mechanism="discrete_laplace:count", cost_micro=1, budget_period=str(1990 + seq % 40),
            catalogue_version="2026.1", prev_hash=prev, entry_hash="", unit="epsilon", noise="")
        digest = record.computed_hash()
        ledger.append((seq, record.created_at, record.querier, record.query_id,
                       record.query_digest, record.mechanism, record.cost_micro,
                       record.budget_period, record.catalogue_version, prev, digest,
                       record.unit, record.noise))
        answers.append((record.querier, record.query_id, record.query_digest, "{}", seq))
        prev = digest
    with runtime.store.transaction() as conn:
        conn.executemany(
            "INSERT INTO ledger (seq, created_at, querier, query_id, query_digest, mechanism, "
            "cost_micro, budget_period, catalogue_version, prev_hash, entry_hash, unit, noise) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", ledger)
        conn.executemany("INSERT INTO answers (querier, query_id, query_digest, answer, "
                         "ledger_seq) VALUES (?, ?, ?, ?, ?)", answers)


def run_ledger(scratch: Path, entries: int, runs: int, clock: Callable[[], datetime],
               log: Callable[[str], None]) -> list[Row]:
    profile = next(p for p in sample_federation(50, 2025) if 50 <= p.n_people <= 400)
    folders = []
    for name in ("empty", "full"):
        directory = scratch / f"ledger-{name}"
        if directory.exists():
            shutil.rmtree(directory)
        _build_encrypted_node((directory, profile, 2025))
        folders.append(directory)
    empty = open_node(load_node_config(folders[0] / "node.toml"))
    full = open_node(load_node_config(folders[1] / "node.toml"))
    try:
        _fill(full, entries)
        spec = QUERIES[0].spec()
        engines = {name: QueryEngine(r.config, r.store, signer=r.signer, clock=clock)
                   for name, r in (("empty", empty), ("full", full))}

        def answer(name: str) -> Callable[[], None]:
            def call() -> None:
                engines[name].answer(BENCH_QUERIER, f"bench-{uuid.uuid4().hex}", spec)
            return call

        def old_checks() -> None:  # what the checks read before the running totals
            with full.store.reading() as conn:
                conn.execute("SELECT 1 FROM ledger WHERE COALESCE(NULLIF(unit, ''), "
                             "'epsilon') != 'epsilon' LIMIT 1").fetchone()
                conn.execute("SELECT SUM(cost_micro) FROM ledger WHERE querier = ? AND "
                             "budget_period = ?", (BENCH_QUERIER, "2025")).fetchone()
                conn.execute("SELECT SUM(cost_micro) FROM ledger WHERE budget_period = ?",
                             ("2025",)).fetchone()
                conn.execute("SELECT SUM(cost_micro) FROM ledger").fetchone()

        timed = interleaved({"empty": answer("empty"), "full": answer("full"),
                             "old": old_checks}, runs)
    finally:
        empty.close()
        full.close()
        for folder in folders:
            shutil.rmtree(folder, ignore_errors=True)
    empty_ms, full_ms = median(timed["empty"]) * 1000, median(timed["full"]) * 1000
    log(f"  ledger: answer {full_ms:.1f} ms with {entries:,} entries, {empty_ms:.1f} ms with "
        f"none; the old full-ledger checks alone {median(timed['old']) * 1000:.1f} ms")
    return [
        Row("ledger", f"DP count with {entries // 1000}k ledger entries ({profile.n_people} "
            "people)", f"{entries // 1000}k entries", full_ms, "ms", floor=empty_ms,
            floor_name="same answer, empty ledger", target=f"≤ {TARGET_RATIO}× floor",
            meets=full_ms <= TARGET_RATIO * empty_ms,
            samples=[s * 1000 for s in timed["full"]],
            extra={"floor_samples_ms": [s * 1000 for s in timed["empty"]]}),
        Row("ledger", "  the checks as they read the ledger table before the running totals",
            f"{entries // 1000}k entries", median(timed["old"]) * 1000, "ms",
            samples=[s * 1000 for s in timed["old"]]),
    ]
