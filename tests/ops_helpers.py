"""Real node and aggregator processes with metrics on port 0, and the ops tools, for tests.

Every server binds port 0 and reports the port it got through a port file; every wait is
bounded; every process is stopped with SIGTERM (then SIGKILL after a timeout) and waited for.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from aggregator import NodeEntry, render_federation
from cli.federation_runner import setup_node
from node.synthetic.generator import OrgProfile

ROOT = Path(__file__).resolve().parent.parent
OPS = ROOT / "ops"
TOOLS_DIR = ROOT / ".venv" / "ops-tools" / "usr" / "bin"


def find_tool(name: str) -> Path:
    """An ops tool (promtool, prometheus) installed by `make ops-deps`, or on PATH.

    Missing tools fail the test with the command that installs them: never a silent skip.
    """
    override = os.environ.get("KOEPEL_OPS_TOOLS")
    for directory in ([Path(override)] if override else []) + [TOOLS_DIR]:
        if (directory / name).is_file():
            return directory / name
    found = shutil.which(name)
    if found:
        return Path(found)
    pytest.fail(f"{name} not found: run `make ops-deps` (Debian's prometheus package, "
                f"unpacked into {TOOLS_DIR.parent.parent})")


def koepel(*args: str) -> list[str]:
    return [sys.executable, "-m", "cli", *args]


def wait_for_port_file(path: Path, process: subprocess.Popen[bytes], what: str,
                       timeout: float = 60.0) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().strip():
            return int(path.read_text().strip())
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with code {process.returncode} before listening")
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not start listening within {timeout:.0f} s")


def scrape(port: int, timeout: float = 5.0) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=timeout) as reply:
        return reply.read().decode()


@dataclass
class Service:
    """One running koepel process: its gRPC port, its metrics port and its log file."""

    name: str
    process: subprocess.Popen[bytes]
    port: int
    metrics_port: int
    log: Path

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def stop(self, timeout: float = 20.0) -> int:
        """SIGTERM and wait; SIGKILL if it does not stop in time. Returns the exit code."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    def log_lines(self) -> list[str]:
        return self.log.read_text().splitlines() if self.log.exists() else []


def make_node(directory: Path, node_id: str, *, people: int = 60, seed: int = 1,
              cap_epsilon: str = "3") -> Path:
    """A node folder with a synthetic organisation imported; returns its node.toml."""
    profile = OrgProfile(node_id, f"Organisation {node_id}", "EI_WAL", "BE-WAL", people)
    setup_node(directory, profile, seed=seed, year=2025, cap_epsilon=cap_epsilon)
    return directory / "node.toml"


def _spawn(name: str, run: Path, args: Sequence[str]) -> Service:
    run.mkdir(parents=True, exist_ok=True)
    port_file, metrics_file, log = run / f"{name}.port", run / f"{name}.mport", run / f"{name}.log"
    for path in (port_file, metrics_file):
        path.unlink(missing_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("KOEPEL_")}
    with log.open("ab") as out:
        process = subprocess.Popen(
            [*args, "--port-file", str(port_file), "--metrics-port", "0",
             "--metrics-port-file", str(metrics_file), "--log-format", "json"],
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
    try:
        port = wait_for_port_file(port_file, process, name)
        metrics_port = int(metrics_file.read_text())
    except BaseException:
        process.kill()
        process.wait()
        raise
    return Service(name, process, port, metrics_port, log)


def start_node(config: Path, run: Path, name: str, *extra: str) -> Service:
    return _spawn(name, run, koepel("node", "serve", "--config", str(config), "--insecure",
                                    "--listen", "127.0.0.1:0", *extra))


def start_aggregator(directory: Path, nodes: Sequence[tuple[str, int]], run: Path,
                     *extra: str, quorum: float = 0.5) -> Service:
    federation = directory / "federation.toml"
    federation.write_text(render_federation(
        name="test federation", querier_identity="federation", quorum=quorum,
        nodes=[NodeEntry(node_id, f"127.0.0.1:{port}", node_id) for node_id, port in nodes]))
    return _spawn("aggregator", run, koepel(
        "aggregator", "serve", "--federation", str(federation), "--insecure",
        "--listen", "127.0.0.1:0", *extra))
