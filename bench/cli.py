"""`python -m bench`: run every benchmark, print the table, write ``bench/results/<date>.json``."""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import sqlite3
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import grpc
import sqlcipher3

from bench.accuracy import run_accuracy
from bench.clock import clock_in, reserve_year
from bench.federation import run_federation
from bench.importing import run_import
from bench.ledger import run_ledger
from bench.measure import Row
from bench.node_query import run_cold_start, run_node_queries, run_opendp
from bench.peers import run_peers
from bench.report import render_table, write_results
from bench.secure import run_secure
from bench.secure_time import run_secure_time
from bench.startup import run_node_ready, run_startup
from bench.stores import cache_root, ensure_federation, ensure_store, remove_stale, size_label
from bench.tls_overhead import run_tls
from bench.web_pages import run_web

__all__ = ["MODES", "Plan", "main"]

HERE = Path(__file__).resolve().parent
PARTS = ("startup", "node", "peers", "import", "ledger", "federation", "tls", "accuracy",
         "web", "secure", "secure-time")
# The smoke run proves koepel's own benchmarks run, in seconds and without the network: the
# peers' venvs (bench/peer_envs.py) are left to `make bench` and `--only peers`.
NOT_BY_DEFAULT = {"smoke": frozenset({"peers"})}


@dataclass(frozen=True)
class Plan:
    """How much of everything a mode runs."""

    sizes: tuple[int, ...]
    query_runs: int
    big_query_runs: int  # at 1M people
    cold_runs: int
    import_store: int
    import_rows: int
    import_runs: int
    federation_tiers: tuple[int, ...]
    federation_runs: int
    work_runs: int
    tls_runs: int
    accuracy_tiers: tuple[tuple[int, int], ...]  # (nodes, repetitions)
    web_people: int = 3_000  # the web app's pages (issue 13: ≤ 100 ms at 3,000 people)
    web_runs: int = 20
    secure_tiers: tuple[int, ...] = (10, 100)  # secure aggregation (issue 12)
    secure_samples: int = 3_000  # noise draws per mode and K for the RMSE
    secure_runs: int = 3  # rounds timed at the largest K
    secure_time_tiers: tuple[int, ...] = (10, 100)  # node processes, secure vs per-node query
    secure_time_runs: int = 5
    peer_sizes: tuple[int, ...] = (100_000, 1_000_000)  # koepel against the peers (issue 16)
    ledger_entries: int = 100_000
    ledger_runs: int = 20
    startup_runs: int = 15
    ready_runs: int = 7  # node servers started, and bare ones (each runs ~0.5 s)


MODES = {
    "full": Plan(sizes=(10_000, 100_000, 1_000_000), query_runs=7, big_query_runs=5,
                 cold_runs=7, import_store=100_000, import_rows=100_000, import_runs=3,
                 federation_tiers=(10, 50, 100, 200), federation_runs=7, work_runs=3,
                 tls_runs=50, accuracy_tiers=((10, 600), (100, 150))),
    "quick": Plan(sizes=(10_000, 100_000), query_runs=5, big_query_runs=3, cold_runs=5,
                  import_store=100_000, import_rows=100_000, import_runs=2,
                  federation_tiers=(10, 50, 100), federation_runs=5, work_runs=2,
                  tls_runs=30, accuracy_tiers=((10, 200), (100, 40)), web_runs=10,
                  secure_time_tiers=(10,), secure_time_runs=3, peer_sizes=(100_000,)),
    "smoke": Plan(sizes=(2_000,), query_runs=2, big_query_runs=1, cold_runs=2,
                  import_store=2_000, import_rows=1_000, import_runs=1, federation_tiers=(3,),
                  federation_runs=2, work_runs=1, tls_runs=2, accuracy_tiers=((3, 5),),
                  web_people=200, web_runs=2, secure_tiers=(3,), secure_samples=50,
                  secure_runs=1, ledger_entries=1_000, ledger_runs=2, startup_runs=2, ready_runs=1,
                  secure_time_tiers=(3,), secure_time_runs=1, peer_sizes=(2_000,)),
}


def _log(message: str, started: float = time.perf_counter()) -> None:
    print(f"[{time.perf_counter() - started:6.1f} s] {message}", file=sys.stderr, flush=True)


def _machine() -> dict[str, Any]:
    cipher = sqlcipher3.connect(":memory:")
    try:
        cipher_version = cipher.execute("PRAGMA cipher_version").fetchone()[0]
        cipher_sqlite = cipher.execute("SELECT sqlite_version()").fetchone()[0]
    finally:
        cipher.close()
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=HERE,
                                capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        commit = ""
    return {
        "platform": platform.platform(), "cpus": os.cpu_count(),
        "python": platform.python_version(), "sqlite3": sqlite3.sqlite_version,
        "sqlcipher": cipher_version, "sqlcipher_sqlite": cipher_sqlite,
        "opendp": metadata.version("opendp"), "grpcio": grpc.__version__, "commit": commit,
        "load_average_at_start": os.getloadavg(),
    }


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_const", const="quick", dest="mode",
                      help="10k and 100k stores, up to 100 nodes, fewer runs (~5 min)")
    mode.add_argument("--smoke", action="store_const", const="smoke", dest="mode",
                      help="tiny sizes, proves every benchmark runs (seconds; no real figures)")
    parser.set_defaults(mode="full")
    parser.add_argument("--only", choices=PARTS, action="append",
                        help="run only this part (repeatable); --smoke leaves out peers "
                             "unless named")
    parser.add_argument("--cache", type=Path, default=HERE / ".cache",
                        help="where generated stores are kept between runs (default bench/.cache)")
    parser.add_argument("--out", type=Path, default=HERE / "results",
                        help="folder of the results file (default bench/results)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse(argv)
    plan = MODES[args.mode]
    parts = set(args.only or set(PARTS) - NOT_BY_DEFAULT.get(args.mode, frozenset()))
    cache: Path = args.cache
    started = time.perf_counter()
    remove_stale(cache)
    scratch = cache_root(cache) / "scratch"
    year = reserve_year(cache_root(cache))  # the budget period this run charges (bench.clock)
    clock = clock_in(year)
    meta: dict[str, Any] = {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "mode": args.mode, "command": "python -m bench" + (
            f" --{args.mode}" if args.mode != "full" else "") + "".join(
            f" --only {p}" for p in (args.only or [])),
        "machine": _machine(), "plan": plan.__dict__, "stores": {}, "budget_year": year,
    }
    rows: list[Row] = []
    _log(f"koepel benchmarks, mode {args.mode}; cache {cache}")
    if "startup" in parts:
        _log(f"CLI start-up ({plan.startup_runs} runs)")
        rows += run_startup(plan.startup_runs, _log)
        rows += run_node_ready(scratch, plan.ready_runs, _log)
    if "node" in parts:
        for people in plan.sizes:
            store = ensure_store(cache, people, log=_log)
            meta["stores"][store.label] = store.describe()
            runs = plan.big_query_runs if people >= 1_000_000 else plan.query_runs
            _log(f"node queries on the {store.label} store ({runs} runs each)")
            rows += run_cold_start(store, plan.cold_runs, clock)
            rows += run_node_queries(store, runs, clock, _log)
        mid = ensure_store(cache, plan.sizes[min(1, len(plan.sizes) - 1)], log=_log)
        rows += run_opendp(mid, plan.query_runs)
    if "peers" in parts:
        _log(f"koepel's node against SmartNoise SQL and OpenDP polars at "
             f"{', '.join(size_label(s) for s in plan.peer_sizes)} people")
        rows += run_peers(cache, plan.peer_sizes, plan.query_runs, plan.big_query_runs,
                          scratch / "peers", clock, _log)
    if "import" in parts:
        store = ensure_store(cache, plan.import_store, log=_log)
        _log(f"import of {plan.import_rows:,}-row CSVs ({plan.import_runs} runs)")
        rows += run_import(store, scratch, plan.import_rows, plan.import_runs, _log)
    if "ledger" in parts:
        _log(f"answers with {plan.ledger_entries:,} ledger entries and with none "
             f"({plan.ledger_runs} runs)")
        rows += run_ledger(scratch, plan.ledger_entries, plan.ledger_runs, clock, _log)
    pool_size = max([*plan.federation_tiers, *(n for n, _ in plan.accuracy_tiers)])
    if {"federation", "tls", "accuracy"} & parts:
        folders = ensure_federation(cache, pool_size, log=_log)
        if "federation" in parts:
            _log(f"federation fan-out to {', '.join(map(str, plan.federation_tiers))} nodes")
            rows += run_federation(folders, plan.federation_tiers, plan.federation_runs,
                                   scratch / "federation", _log, year=year,
                                   work_runs=plan.work_runs)
        if "tls" in parts:
            _log(f"mutual TLS against plaintext, one node ({plan.tls_runs} runs)")
            rows += run_tls(folders[0], scratch / "tls", clock, plan.tls_runs, _log)
        if "accuracy" in parts:
            _log("accuracy of federated counts and means")
            rows += run_accuracy(folders, plan.accuracy_tiers, _log)
    if "web" in parts:
        _log(f"web app pages at {plan.web_people:,} people ({plan.web_runs} runs)")
        rows += run_web(scratch / "web", plan.web_people, plan.web_runs, _log)
    if "secure" in parts:
        _log(f"secure aggregation against per-node noise and a curator at K = "
             f"{', '.join(map(str, plan.secure_tiers))}")
        rows += run_secure(plan.secure_tiers, plan.secure_samples, plan.secure_runs,
                           scratch / "secure", _log)
    if "secure-time" in parts:
        rows += run_secure_time(plan.secure_time_tiers, plan.secure_time_runs,
                                scratch / "secure-time", _log)
    meta["duration_seconds"] = round(time.perf_counter() - started, 1)
    name = datetime.date.today().isoformat() + ("" if args.mode == "full" else f"-{args.mode}")
    out = args.out / f"{name}.json"
    write_results(out, meta, rows)
    print(render_table(rows))
    print(f"\n{len(rows)} measurements in {meta['duration_seconds']:.0f} s; "
          f"stores: {', '.join(size_label(s) for s in plan.sizes)}; written to {out}")
    return 0
