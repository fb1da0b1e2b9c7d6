"""Federation benchmark: one sector query to N nodes on loopback, end to end through the aggregator.

Nodes are real ``node.create_server`` servers over real encrypted stores (a sampled federation
of synthetic organisations), hosted in-process by a few worker processes (``bench.node_host``)
because this machine has two cores. The aggregator is the real ``koepel aggregator serve``
process; the benchmark submits the DP count (headcount by target group) through its gRPC
service and times the reply: fan-out, every node's SQL, OpenDP and durable ledger commit,
combination and the history write.

The floor is a bare ``grpc.aio`` unary call (the standard health ``Check``) to the same N
servers, concurrently over warm channels: what any fan-out on this machine costs with no work
at the nodes. Two more lines help read the ratio: the same DP query sent straight to every node
by a bare ``grpc.aio`` client (the nodes' work without the aggregator; its rounds take turns
with the aggregator's, so that their difference, the aggregator's own time, holds up on a busy
machine), and that work alone,
each node answering in turn in its host process without gRPC. All nodes share two cores here,
so their work adds up instead of running in parallel as it would on N machines. Peak memory is
the aggregator process's ``VmHWM``.

Every node pads each Query reply to a multiple of node.toml's ``reply_quantum_ms`` (50 ms by
default; a timing side-channel defence, see ``node.service.pacing``). The whole sweep therefore runs
twice: with the node folders' own quantum (what a deployment sees) and with the quantum set to
0 (what the fan-out itself costs, the fair comparison with the floor, which is never padded).

Transport: everything here is plaintext gRPC on loopback (``--insecure``), where deployments use
mutual TLS; ``bench.tls_overhead`` measures what mutual TLS adds to one node call.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from aggregator import NodeEntry, NodeOutcome, render_federation, spec_to_proto
from bench.linechild import LineProcess
from bench.measure import Row, median
from bench.node_query import QUERIES
from bench.stores import BENCH_QUERIER, NodeFolder
from cli.client import AggregatorClient, Connection
from node import load_node_config
from privacy import parse_epsilon
from protos import pb2, pb2_grpc
from wire.limits import QUERIER_HEADER

__all__ = ["query_spec", "run_federation"]

TARGET_RATIO = 2.0
TARGET_OWN_MS = 15.0  # what the aggregator adds per query at 100 nodes (issue 16)


class _Host:
    """One ``bench.node_host`` process and its line protocol."""

    def __init__(self, folders: Sequence[NodeFolder], year: int, quantum_ms: int | None,
                 log_path: Path) -> None:
        self.process = LineProcess([sys.executable, "-m", "bench.node_host"], _child_env(),
                                   log_path, "a node host")
        self.ports: dict[str, int] = self.process.ask(
            {"year": year, "reply_quantum_ms": quantum_ms,
             "nodes": [str(f.directory) for f in folders]})["ports"]

    def send(self, message: dict[str, Any]) -> None:
        self.process.send(message)

    def receive(self) -> dict[str, Any]:
        return self.process.receive()

    def stop(self) -> None:
        self.process.stop()


def _child_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KOEPEL_")}
    root = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
    return env


def query_spec(epsilon: str | None = None) -> pb2.QuerySpec:
    """The benchmark's DP count (``bench.node_query.QUERIES[0]``) as sent on the wire."""
    spec = QUERIES[0].spec()
    if epsilon is not None:
        spec = dataclasses.replace(spec, epsilon_micro=parse_epsilon(epsilon))
    return spec_to_proto(spec)


def _vm_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


async def _floor_rounds(addresses: Sequence[str], runs: int) -> list[float]:
    """Concurrent health checks to every address over warm channels, ``runs`` times."""
    channels = [grpc.aio.insecure_channel(a) for a in addresses]
    stubs = [health_pb2_grpc.HealthStub(c) for c in channels]
    request = health_pb2.HealthCheckRequest(service="")
    try:
        async def one_round() -> float:
            started = time.perf_counter()
            replies = await asyncio.gather(*(s.Check(request, timeout=30) for s in stubs))
            elapsed = time.perf_counter() - started
            if any(r.status != health_pb2.HealthCheckResponse.SERVING for r in replies):
                raise RuntimeError("a node is not serving")
            return elapsed

        await one_round()  # connect every channel first
        return [await one_round() for _ in range(runs)]
    finally:
        for channel in channels:
            await channel.close()


class _BareFanOut:
    """The same DP query sent straight to every node (no aggregator) over warm channels, one
    round per call, so that its rounds can take turns with the aggregator's."""

    def __init__(self, addresses: Sequence[str], spec: pb2.QuerySpec) -> None:
        self.loop = asyncio.new_event_loop()
        self.spec = spec
        self.channels = self.loop.run_until_complete(self._open(addresses))
        self.stubs = [pb2_grpc.NodeServiceStub(c) for c in self.channels]

    @staticmethod
    async def _open(addresses: Sequence[str]) -> list[grpc.aio.Channel]:
        return [grpc.aio.insecure_channel(a) for a in addresses]

    async def _round(self) -> float:
        metadata = ((QUERIER_HEADER, BENCH_QUERIER),)
        started = time.perf_counter()
        await asyncio.gather(*(
            s.Query(pb2.QueryRequest(query_id=f"bench-{uuid.uuid4().hex}", spec=self.spec),
                    timeout=120, metadata=metadata)
            for s in self.stubs))
        return time.perf_counter() - started

    def round(self) -> float:
        return self.loop.run_until_complete(self._round())

    def close(self) -> None:
        for channel in self.channels:
            self.loop.run_until_complete(channel.close())
        self.loop.close()


def _start_aggregator(root: Path, entries: list[NodeEntry]) -> tuple[subprocess.Popen[bytes],
                                                                     int]:
    federation = root / "federation.toml"
    federation.write_text(render_federation(
        name="bench federation", querier_identity=BENCH_QUERIER, nodes=entries,
        deadline_seconds=120.0, quorum=1.0))
    (root / "history.db").unlink(missing_ok=True)
    port_file = root / "aggregator.port"
    port_file.unlink(missing_ok=True)
    with (root / "aggregator.log").open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "cli", "aggregator", "serve", "--federation", str(federation),
             "--insecure", "--listen", "127.0.0.1:0", "--port-file", str(port_file)],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=_child_env())
    deadline = time.monotonic() + 60
    while not port_file.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError("the aggregator did not start; see aggregator.log")
        time.sleep(0.05)
    return process, int(port_file.read_text())


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclasses.dataclass(frozen=True)
class _Pass:
    """One sweep over the tiers: the nodes' reply quantum and how the results name it."""

    quantum_ms: int | None  # None: node.toml's own
    label: str
    key: str


def _passes(folders: Sequence[NodeFolder]) -> list[_Pass]:
    configured = load_node_config(folders[0].config_path).reply_quantum_ms
    deployed = _Pass(None, f"reply quantum {configured} ms, as deployed", "deployed")
    if configured == 0:
        return [deployed]
    return [deployed, _Pass(0, "reply quantum 0, floor comparison", "quantum0")]


def _host_all(chosen: Sequence[NodeFolder], hosts: int, year: int, quantum_ms: int | None,
              scratch: Path, log: Callable[[str], None]) -> list[_Host]:
    started = time.perf_counter()
    shares = [chosen[i::hosts] for i in range(hosts)]
    running: list[_Host] = []
    try:
        for i, share in enumerate(shares):
            if share:
                running.append(_Host(share, year, quantum_ms, scratch / f"host-{i}.log"))
    except BaseException:
        for host in running:
            host.stop()
        raise
    log(f"  {len(chosen)} node servers up in {time.perf_counter() - started:.1f} s "
        f"({len(running)} host processes)")
    return running


def _end_to_end(scratch: Path, entries: list[NodeEntry], spec: pb2.QuerySpec, runs: int,
                bare: _BareFanOut) -> tuple[list[float], list[float], int, int]:
    """Seconds per query through the aggregator process and, taking turns with it, per bare
    fan-out of the same query; the aggregator's idle and peak memory (KiB)."""
    n = len(entries)
    process, port = _start_aggregator(scratch, entries)
    try:
        rss_idle = _vm_kib(process.pid, "VmRSS")
        samples, direct = [], []
        with AggregatorClient(Connection(f"127.0.0.1:{port}", None, insecure=True),
                              timeout=300) as client:
            for attempt in range(runs + 1):  # the first opens the channels
                t0 = time.perf_counter()
                result = client.submit(spec)
                elapsed = time.perf_counter() - t0
                answered = len(result.answered)
                if answered != n:
                    reasons = {x.reason for x in result.nodes
                               if x.outcome is not NodeOutcome.ANSWERED}
                    raise RuntimeError(f"{n - answered} of {n} nodes did not answer: "
                                       f"{sorted(reasons)[:3]}")
                bare_s = bare.round()
                if attempt:
                    samples.append(elapsed)
                    direct.append(bare_s)
        peak_kib = _vm_kib(process.pid, "VmHWM")
    finally:
        _stop(process)
    return samples, direct, rss_idle, peak_kib


def _node_work(running: Sequence[_Host], ids: set[str], work_runs: int) -> list[float]:
    for host in running:
        mine = [node_id for node_id in host.ports if node_id in ids]
        host.send({"cmd": "work", "nodes": mine, "runs": work_runs})
    per_host = [host.receive()["seconds"] for host in running]
    return [sum(round_) for round_ in zip(*per_host, strict=True)]


def run_federation(folders: Sequence[NodeFolder], tiers: Sequence[int], runs: int,
                   scratch: Path, log: Callable[[str], None], *, year: int, hosts: int = 2,
                   work_runs: int = 3) -> list[Row]:
    """Both passes (deployed reply quantum, quantum 0) over every tier; ``year`` is the run's
    budget year (``bench.clock``)."""
    scratch.mkdir(parents=True, exist_ok=True)
    chosen = list(folders[:max(tiers)])
    spec = query_spec()
    rows: list[Row] = []
    passes = _passes(chosen)
    for index, sweep in enumerate(passes):
        log(f"  pass {index + 1} of {len(passes)}: {sweep.label}")
        running = _host_all(chosen, hosts, year, sweep.quantum_ms, scratch, log)
        try:
            ports = {k: v for host in running for k, v in host.ports.items()}
            for n in tiers:
                entries = [NodeEntry(f.node_id, f"127.0.0.1:{ports[f.node_id]}", f.node_id)
                           for f in chosen[:n]]
                addresses = [e.address for e in entries]
                floor_s = asyncio.run(_floor_rounds(addresses, runs))
                bare = _BareFanOut(addresses, spec)
                try:
                    e2e_s, direct_s, rss_idle, peak_kib = _end_to_end(scratch, entries, spec,
                                                                      runs, bare)
                finally:
                    bare.close()
                rows += _tier_rows(sweep, n, e2e_s, floor_s, direct_s, rss_idle, peak_kib,
                                   len(running), log)
                if index == len(passes) - 1:  # in-process work is the same in every pass
                    work = _node_work(running, {e.node_id for e in entries}, work_runs)
                    work_ms = median(work) * 1000
                    log(f"  {n} nodes: node work {work_ms:.0f} ms, all nodes in turn")
                    rows.append(Row("federation", "  node work alone (all nodes answering in "
                                    "turn, no gRPC, no padding)", f"{n} nodes", work_ms, "ms",
                                    samples=[s * 1000 for s in work]))
        finally:
            for host in running:
                host.stop()
    return rows


def _tier_rows(sweep: _Pass, n: int, e2e_s: list[float], floor_s: list[float],
               direct_s: list[float], rss_idle: int, peak_kib: int, host_processes: int,
               log: Callable[[str], None]) -> list[Row]:
    e2e_ms, floor_ms = median(e2e_s) * 1000, median(floor_s) * 1000
    log(f"  {n} nodes ({sweep.label}): end to end {e2e_ms:.0f} ms, floor {floor_ms:.1f} ms, "
        f"bare query fan-out {median(direct_s) * 1000:.0f} ms, aggregator peak RSS "
        f"{peak_kib / 1024:.0f} MB")
    meets = e2e_ms <= TARGET_RATIO * floor_ms if n == 100 else None
    case = f"{n} nodes"
    direct_ms = median(direct_s) * 1000
    own_ms = median([e - d for e, d in zip(e2e_s, direct_s, strict=True)]) * 1000  # paired
    checked = n == 100 and sweep.key == "quantum0"  # the floor comparison: no padding
    own = Row("federation", f"  aggregator's own time: end to end minus the bare query fan-out "
              f"({sweep.key})", case, own_ms, "ms",
              target=f"≤ {TARGET_OWN_MS:.0f} ms" if checked else "",
              meets=own_ms <= TARGET_OWN_MS if checked else None,
              extra={"pass": sweep.key, "end_to_end_ms": e2e_ms, "bare_fan_out_ms": direct_ms,
                     "differences_ms": [(e - d) * 1000 for e, d in zip(e2e_s, direct_s,
                                                                        strict=True)]})
    rows = [
        Row("federation", f"one DP query end to end through the aggregator ({sweep.label})",
            case, e2e_ms, "ms", floor=floor_ms,
            floor_name="bare grpc.aio unary to the same servers",
            target=f"≤ {TARGET_RATIO:.0f}× floor" if n == 100 else "", meets=meets,
            samples=[s * 1000 for s in e2e_s],
            extra={"pass": sweep.key, "reply_quantum_ms": sweep.quantum_ms,
                   "floor_samples_ms": [s * 1000 for s in floor_s], "cores": os.cpu_count(),
                   "host_processes": host_processes, "transport": "plaintext, loopback"}),
        Row("federation", f"  same query fanned out by a bare grpc.aio client ({sweep.key})",
            case, median(direct_s) * 1000, "ms", floor=floor_ms,
            floor_name="bare grpc.aio unary to the same servers",
            samples=[s * 1000 for s in direct_s], extra={"pass": sweep.key}),
        Row("federation", f"  aggregator peak RSS ({sweep.key})", case, peak_kib / 1024, "MB",
            extra={"idle_rss_mb": rss_idle / 1024, "pass": sweep.key}),
    ]
    if n >= 10:  # below, a millisecond of noise outweighs it
        rows.insert(2, own)  # after the bare fan-out it is measured against
    return rows
