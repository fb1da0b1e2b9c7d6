"""Running a local federation of real node and aggregator processes on loopback.

Used by `koepel demo` and by the end-to-end tests: each organisation gets its own node folder
(node.toml, keys, encrypted database), its records are imported from synthetic CSV exports
(deleted right after import), and every node and the aggregator run as separate processes that
are stopped with SIGTERM and waited for, so nothing is left behind.

By default everything speaks mutual TLS: a federation CA is created in ``root/ca``, and each
node (``<node>/tls``), the aggregator (``root/tls``) and one operator (``root/operator``) get a
certificate from it, exactly as `koepel certs` would issue them. ``insecure=True`` runs the
same federation in plaintext on loopback. Child processes get paths on their command line,
never key material, and an environment without any ``KOEPEL_*`` variable. ``metrics=True``
also gives every process a Prometheus endpoint on a free loopback port (``metrics_ports``).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from aggregator import NodeEntry, render_federation
from aggregator.federation import AggregationMode
from cli.client import Connection
from node import (
    Signer,
    Store,
    create_key_file,
    create_signing_key,
    import_files,
    load_node_config,
    open_node,
    render_node_config,
)
from node.synthetic.generator import OrgProfile, generate_organisation
from node.synthetic.outcomes import generate_outcomes
from node.synthetic.plans import generate_accompaniment
from privacy import Accounting, shipped_versions
from wire.ratelimit import RateLimit
from wire.signing_certs import certify_signing_key
from wire.tls import CA_CERT, TlsFiles, init_ca, issue

__all__ = ["ZCDP_VERSION", "LocalFederation", "serve_catalogue", "setup_node",
           "write_zcdp_catalogue"]

FEDERATION_IDENTITY = "federation"
OPERATOR_IDENTITY = "demo-operator"
ZCDP_VERSION = "2026.2-zcdp"


def write_zcdp_catalogue(path: Path) -> Path:
    """A copy of the shipped ``2026.2-zcdp`` catalogue (2026.2 under zCDP accounting, which
    secure aggregation needs) at ``path``, for a federation.toml or node.toml to name."""
    text = resources.files("privacy").joinpath(f"catalogues/koepel-{ZCDP_VERSION}.toml")
    path.write_text(text.read_text("utf-8"))
    return path


def serve_catalogue(node_toml: Path, catalogue: Path, version: str = ZCDP_VERSION) -> None:
    """Point a node.toml at a catalogue file and approve only its version."""
    text = node_toml.read_text()
    text = re.sub(r'(?m)^approved = \[.*\]$', f'path = "{catalogue}"\napproved = ["{version}"]',
                  text, count=1)
    node_toml.write_text(text)


def _koepel(*args: str) -> list[str]:
    return [sys.executable, "-m", "cli", *args]


def setup_node(directory: Path, profile: OrgProfile, *, seed: int, year: int,
               cap_epsilon: str, accounting: Accounting = Accounting.PURE) -> None:
    """Create a node folder and import a synthetic organisation into it; the node approves
    every shipped catalogue of ``accounting``."""
    directory.mkdir(parents=True)
    (directory / "node.toml").write_text(render_node_config(
        node_id=profile.org_id, organisation=profile.name, listen="127.0.0.1:0",
        queriers={FEDERATION_IDENTITY: cap_epsilon}, approved=shipped_versions(accounting),
    ))
    db_key = create_key_file(directory / "keys" / "db.key")
    create_key_file(directory / "keys" / "pseudonym.key")
    create_signing_key(directory / "keys" / "signing.key")
    config = load_node_config(directory / "node.toml")
    Store.open(config.database, db_key, create=True).close()
    runtime = open_node(config)
    try:
        with tempfile.TemporaryDirectory(prefix="koepel-import-") as tmp:
            org = generate_organisation(profile, seed, year)
            paths = org.write_csvs(Path(tmp))
            plans = generate_accompaniment(org, seed, year).write_csvs(Path(tmp))
            # Outcome records (schema v9); exits and support actions restated with one column.
            outcomes = generate_outcomes(org, seed, year).write_csvs(Path(tmp))
            import_files(runtime.store, runtime.secret,
                         list({**paths, **plans, **outcomes}.values()))
    finally:
        runtime.close()


def _wait_for_port(path: Path, process: subprocess.Popen[bytes], what: str,
                   timeout: float = 60.0) -> int:
    """The port a process wrote to ``path`` (its metrics port file is written before it)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists():
            return int(path.read_text().strip())
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with code {process.returncode} before listening")
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not start listening within {timeout:.0f} s")


@dataclass
class LocalFederation:
    """A federation of node processes and one aggregator process under ``root``."""

    root: Path
    insecure: bool = False
    metrics: bool = False
    start_timeout: float = 60.0  # seconds each process may take to listen
    node_ids: list[str] = field(default_factory=list)
    node_ports: dict[str, int] = field(default_factory=dict)
    aggregator_port: int = 0
    metrics_ports: dict[str, int] = field(default_factory=dict)  # by node id and "aggregator"
    _processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    _metadata: dict[str, tuple[str, str, int | None]] = field(default_factory=dict)

    def add_node(self, node_id: str, *, region: str = "", kind: str = "",
                 expected_size: int | None = None) -> None:
        """Register a node (its public metadata goes into federation.toml)."""
        self.node_ids.append(node_id)
        self._metadata[node_id] = (region, kind, expected_size)

    def process(self, name: str) -> subprocess.Popen[bytes]:
        """The running process of a node (by id) or of ``"aggregator"`` (e.g. to signal it)."""
        return self._processes[name]

    @property
    def ca_dir(self) -> Path:
        return self.root / "ca"

    @property
    def operator_tls(self) -> TlsFiles:
        folder = self.root / "operator"
        return TlsFiles(folder / "operator.crt", folder / "operator.key", folder / CA_CERT)

    def _issue_certificates(self) -> None:
        """Create the CA and every missing certificate (nodes, aggregator, one operator)."""
        if not (self.ca_dir / CA_CERT).exists():
            init_ca(self.ca_dir, name="koepel demo federation CA")
        for node_id in self.node_ids:
            if not (self.root / node_id / "tls" / "node.crt").exists():
                issue(self.ca_dir, role="node", name=node_id, out=self.root / node_id / "tls",
                      dns=("localhost",), ips=("127.0.0.1",))
            signing = self.root / node_id / "tls" / "signing.crt"
            if not signing.exists():  # the answer-signing key, certified: no trust on first use
                public = Signer.load(self.root / node_id / "keys" / "signing.key").public_key
                certify_signing_key(self.ca_dir, name=node_id, public_key=public, out=signing)
        if not (self.root / "tls" / "aggregator.crt").exists():
            issue(self.ca_dir, role="aggregator", name=FEDERATION_IDENTITY,
                  out=self.root / "tls", dns=("localhost",), ips=("127.0.0.1",))
        if not self.operator_tls.cert.exists():
            issue(self.ca_dir, role="operator", name=OPERATOR_IDENTITY,
                  out=self.operator_tls.cert.parent)

    def connection(self) -> Connection:
        """How an operator in this process reaches the aggregator."""
        if self.insecure:
            return Connection(self.aggregator_address, None, insecure=True)
        return Connection(self.aggregator_address, self.operator_tls)

    def client_args(self) -> list[str]:
        """The `koepel query|nodes|history` options that reach this federation's aggregator."""
        if self.insecure:
            return ["--aggregator", self.aggregator_address, "--insecure"]
        tls = self.operator_tls
        return ["--aggregator", self.aggregator_address, "--cert", str(tls.cert),
                "--key", str(tls.key), "--ca", str(tls.ca)]

    def _security(self) -> list[str]:
        return ["--insecure"] if self.insecure else []

    def _metrics_file(self, name: str) -> Path:
        return self.root / "run" / f"{name}.metrics-port"

    def _spawn(self, name: str, args: list[str]) -> subprocess.Popen[bytes]:
        if self.metrics:
            self._metrics_file(name).unlink(missing_ok=True)
            args = [*args, "--metrics-port", "0",
                    "--metrics-port-file", str(self._metrics_file(name))]
        log = (self.root / "logs" / f"{name}.log").open("ab")
        env = {k: v for k, v in os.environ.items() if not k.startswith("KOEPEL_")}
        process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env,
                                   stdin=subprocess.DEVNULL)
        log.close()
        self._processes[name] = process
        return process

    def _spawn_node(self, node_id: str) -> tuple[Path, subprocess.Popen[bytes]]:
        port_file = self.root / "run" / f"{node_id}.port"
        port_file.unlink(missing_ok=True)
        return port_file, self._spawn(node_id, _koepel(
            "node", "serve", "--config", str(self.root / node_id / "node.toml"),
            *self._security(), "--listen", f"127.0.0.1:{self.node_ports.get(node_id, 0)}",
            "--port-file", str(port_file)))

    def _listening(self, name: str, port_file: Path, process: subprocess.Popen[bytes],
                   what: str) -> int:
        port = _wait_for_port(port_file, process, what, self.start_timeout)
        if self.metrics:
            self.metrics_ports[name] = int(self._metrics_file(name).read_text().strip())
        return port

    def start_node(self, node_id: str) -> int:
        """(Re)start one node, on its previous port if it had one."""
        port_file, process = self._spawn_node(node_id)
        self.node_ports[node_id] = self._listening(node_id, port_file, process,
                                                   f"node {node_id}")
        return self.node_ports[node_id]

    def start(self, *, deadline_seconds: float = 10.0, quorum: float = 0.5,
              quorum_size: float = 0.0, retries: int = 2,
              on_node: Callable[[str], None] | None = None, catalogue: str = "",
              aggregation: AggregationMode | None = None,
              operator_rate: RateLimit | None = None) -> None:
        """Start every node (in parallel) and then the aggregator in front of them."""
        (self.root / "logs").mkdir(exist_ok=True)
        (self.root / "run").mkdir(exist_ok=True)
        if not self.insecure:
            self._issue_certificates()
        pending = {node_id: self._spawn_node(node_id) for node_id in self.node_ids}
        for node_id, (port_file, process) in pending.items():
            self.node_ports[node_id] = self._listening(node_id, port_file, process,
                                                       f"node {node_id}")
            if on_node:
                on_node(node_id)
        organisations = {}
        for node_id in self.node_ids:
            config = load_node_config(self.root / node_id / "node.toml")
            organisations[node_id] = config.organisation
        entries = []
        for n in self.node_ids:
            region, kind, size = self._metadata.get(n, ("", "", None))
            # The name in the node's certificate (koepel://node/<id>): carried and shown; the
            # aggregator does not compare it with the certificate the node presents yet.
            entries.append(NodeEntry(n, f"127.0.0.1:{self.node_ports[n]}", organisations[n],
                                     region, kind, certificate_identity=n,
                                     expected_size=size))
        (self.root / "federation.toml").write_text(render_federation(
            name="demo federation", querier_identity=FEDERATION_IDENTITY, nodes=entries,
            deadline_seconds=deadline_seconds, quorum=quorum, quorum_size=quorum_size,
            retries=retries, catalogue=catalogue, aggregation=aggregation,
            operator_rate=operator_rate))
        port_file = self.root / "run" / "aggregator.port"
        port_file.unlink(missing_ok=True)
        process = self._spawn("aggregator", _koepel(
            "aggregator", "serve", "--federation", str(self.root / "federation.toml"),
            *self._security(), "--listen", "127.0.0.1:0", "--port-file", str(port_file)))
        self.aggregator_port = self._listening("aggregator", port_file, process,
                                               "the aggregator")

    def pids(self) -> dict[str, int]:
        """The process id of every running node and of the aggregator, by name."""
        return {name: p.pid for name, p in self._processes.items() if p.poll() is None}

    @property
    def aggregator_address(self) -> str:
        return f"127.0.0.1:{self.aggregator_port}"

    def stop_process(self, name: str, *, kill: bool = False, timeout: float = 15.0) -> None:
        process = self._processes.pop(name, None)
        if process is None or process.poll() is not None:
            return
        if kill:
            process.kill()
        else:
            process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def stop(self) -> None:
        """SIGTERM everything (aggregator first) and wait until every process has exited."""
        self.stop_process("aggregator")
        for name in list(self._processes):
            process = self._processes[name]
            if process.poll() is None:
                process.terminate()
        for name in list(self._processes):
            self.stop_process(name)

    def __enter__(self) -> LocalFederation:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
