"""Start-up: the CLI's, and a node server's until it answers.

``koepel --help`` and ``koepel query --help`` against ``python -c pass``: each a fresh
interpreter (``python -m cli …`` with this checkout on ``PYTHONPATH``), runs taking turns. The
floor is the bare interpreter start in the same run. Target: ≤ 3× the floor (the commands and
their heavy modules load only when a command runs: cli/main.py).

Node ready: ``koepel node serve`` on a small organisation's node folder (plaintext on loopback,
port 0 and ``--port-file``), timed from the spawn until the port file is written and a gRPC
health check on that port answers SERVING: the interpreter, the CLI, node.toml and the key
files, opening and checking the encrypted store, the servicer, the server. Floor: the same
for a bare ``grpc.server`` with the standard health service in a fresh interpreter, writing
its port file the same way. Target: ≤ 1.5× the floor. Each server is stopped (SIGTERM) after
it answered; runs take turns.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from bench.measure import Row, interleaved, median
from bench.stores import _build_encrypted_node
from node.synthetic.generator import sample_federation

__all__ = ["run_node_ready", "run_startup"]

TARGET_RATIO = 3.0
TARGET_READY = 1.5
ROOT = Path(__file__).resolve().parent.parent

# The floor's server: a bare grpc.server with the health service, its port written as the
# node writes its own (wire.limits.write_port_file).
_BARE_SERVER = """
import sys, threading
from concurrent import futures
from pathlib import Path
import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
servicer = health.HealthServicer()
health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
servicer.set("", health_pb2.HealthCheckResponse.SERVING)
port = server.add_insecure_port("127.0.0.1:0")
server.start()
tmp = Path(sys.argv[1] + ".tmp")
tmp.write_text(f"{port}\\n")
tmp.replace(sys.argv[1])
server.wait_for_termination()
"""


def _spawn(*args: str) -> Callable[[], None]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}

    def call() -> None:
        subprocess.run([sys.executable, *args], cwd=ROOT, env=env, check=True,
                       stdout=subprocess.DEVNULL)
    return call


def run_startup(runs: int, log: Callable[[str], None]) -> list[Row]:
    timed = interleaved({"floor": _spawn("-c", "pass"),
                         "help": _spawn("-m", "cli", "--help"),
                         "query": _spawn("-m", "cli", "query", "--help")}, runs)
    floor_ms = median(timed["floor"]) * 1000
    rows = []
    for key, name in (("help", "koepel --help"), ("query", "koepel query --help")):
        ms = median(timed[key]) * 1000
        log(f"  {name}: {ms:.0f} ms (python -c pass {floor_ms:.0f} ms)")
        rows.append(Row("CLI start-up", name, "fresh interpreter", ms, "ms", floor=floor_ms,
                        floor_name="python -c pass", target=f"≤ {TARGET_RATIO:.0f}× floor",
                        meets=ms <= TARGET_RATIO * floor_ms,
                        samples=[s * 1000 for s in timed[key]],
                        extra={"floor_samples_ms": [s * 1000 for s in timed["floor"]]}))
    return rows


def _until_serving(argv: list[str], port_file: Path) -> float:
    """Seconds from spawning ``argv`` until its port file exists and its health check answers
    SERVING; the process is stopped afterwards."""
    port_file.unlink(missing_ok=True)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    started = time.perf_counter()
    process = subprocess.Popen(argv, cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = started + 60
        while not port_file.exists():
            if process.poll() is not None or time.perf_counter() > deadline:
                raise RuntimeError(f"{argv[1:4]} did not start (exit {process.poll()})")
            time.sleep(0.002)
        with grpc.insecure_channel(f"127.0.0.1:{int(port_file.read_text())}") as channel:
            reply = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=""), timeout=30, wait_for_ready=True)
        elapsed = time.perf_counter() - started
        if reply.status != health_pb2.HealthCheckResponse.SERVING:
            raise RuntimeError(f"{argv[1:4]} answered but is not serving")
        return elapsed
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def run_node_ready(scratch: Path, runs: int, log: Callable[[str], None]) -> list[Row]:
    """``koepel node serve`` until it answers, against a bare gRPC server's start."""
    directory = scratch / "ready-node"
    if directory.exists():
        shutil.rmtree(directory)
    profile = next(p for p in sample_federation(50, 2025) if 50 <= p.n_people <= 400)
    _build_encrypted_node((directory, profile, 2025))
    node_port, bare_port = scratch / "ready-node.port", scratch / "ready-bare.port"
    node_argv = [sys.executable, "-m", "cli", "node", "serve", "--config",
                 str(directory / "node.toml"), "--insecure", "--listen", "127.0.0.1:0",
                 "--port-file", str(node_port), "--grace-seconds", "0"]
    bare_argv = [sys.executable, "-c", _BARE_SERVER, str(bare_port)]
    samples: dict[str, list[float]] = {"node": [], "bare": []}
    try:
        if runs > 1:  # warm the OS caches for both (the smoke run only proves it runs)
            _until_serving(node_argv, node_port)
            _until_serving(bare_argv, bare_port)
        for _ in range(runs):
            samples["node"].append(_until_serving(node_argv, node_port))
            samples["bare"].append(_until_serving(bare_argv, bare_port))
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    node_ms, bare_ms = median(samples["node"]) * 1000, median(samples["bare"]) * 1000
    log(f"  node ready {node_ms:.0f} ms, bare gRPC server {bare_ms:.0f} ms")
    return [Row("CLI start-up", f"koepel node serve until it answers ({profile.n_people} "
                "people)", "fresh interpreter", node_ms, "ms", floor=bare_ms,
                floor_name="bare grpc.server + health, fresh interpreter",
                target=f"≤ {TARGET_READY}× floor", meets=node_ms <= TARGET_READY * bare_ms,
                samples=[s * 1000 for s in samples["node"]],
                extra={"floor_samples_ms": [s * 1000 for s in samples["bare"]]})]
