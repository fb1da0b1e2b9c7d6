"""The TLS layouts of ops/compose and ops/kubernetes, run for real on loopback.

The compose and Kubernetes files are checked against their schemas in test_ops.py; here what
they *do* is run, with every container path mapped onto a folder of the test: compose's init
services (init-certs.sh, install-tls.sh, init-node.sh, which call the real `koepel certs` and
`koepel node` commands) in dependency order, and the Kubernetes init containers' shell command
over Secret volumes filled with real keys and certificates. Then a node and the aggregator are
started with exactly the artefacts' command lines and config files (ports and metrics host
overridden to loopback port 0), their health checks and probes are run as written (mutual TLS
with the probe certificates they name), and a sector query goes through with the operator's
certificate. A node's own certificate is shown to be useless as a probe's client certificate:
that is why a node's probes need a certificate of their own.
"""

from __future__ import annotations

import os
import re
import shlex
import stat
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import create_node
from ops_helpers import OPS, Service, _spawn

from cli.errors import EXIT
from node import load_node_config
from wire.tls import init_ca, issue

pytestmark = pytest.mark.slow
COMPOSE = OPS / "compose"
K8S = OPS / "kubernetes"


class PathMap:
    """Container paths onto host paths: every occurrence in an argument, a shell command or a
    config file is rewritten in one pass, longest container path first."""

    def __init__(self, mapping: Mapping[str, Path]) -> None:
        self._mapping = {k.rstrip("/"): str(v) for k, v in mapping.items()}
        names = sorted(self._mapping, key=len, reverse=True)
        self._pattern = re.compile("|".join(re.escape(n) + r"(?![\w.-])" for n in names))

    def __call__(self, text: str) -> str:
        return self._pattern.sub(lambda m: self._mapping[m.group(0)], text)

    def all(self, args: list[str]) -> list[str]:
        return [self(a) for a in args]


def koepel_env(tmp_path: Path) -> dict[str, str]:
    """PATH with `koepel` meaning this checkout's CLI; a private TMPDIR; no KOEPEL_* values."""
    shim = tmp_path / "bin" / "koepel"
    if not shim.exists():
        shim.parent.mkdir(parents=True)
        shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m cli "$@"\n')
        shim.chmod(0o755)
    (tmp_path / "scratch").mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("KOEPEL_")}
    return {**env, "PATH": f"{shim.parent}:{env['PATH']}", "TMPDIR": str(tmp_path / "scratch")}


def run(argv: list[str], env: dict[str, str],
        timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env,
                          check=False)


def koepel(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """A documented `koepel …` command line (args[0] == "koepel"), run with the real CLI."""
    assert args[0] == "koepel", args
    return run([sys.executable, "-m", "cli", *args[1:]], env)


def with_address(args: list[str], address: str) -> list[str]:
    """The same command line, dialing ``address`` instead of the artefact's fixed port."""
    index = args.index("--address") if "--address" in args else args.index("--aggregator")
    return [*args[:index + 1], address, *args[index + 2:]]


@pytest.fixture
def services() -> Iterator[list[Service]]:
    started: list[Service] = []
    yield started
    for service in started:
        service.stop()


# --- compose -------------------------------------------------------------------------------

class Compose:
    """Just enough of `docker compose` to run ops/compose's services' commands on the host."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.services: dict[str, Any] = yaml.safe_load(
            (COMPOSE / "compose.yaml").read_text())["services"]

    def paths(self, name: str) -> PathMap:
        mapping: dict[str, Path] = {}
        for volume in self.services[name].get("volumes", []):
            source, target = volume.split(":")[:2]
            host = COMPOSE / source if source.startswith("./") else self.root / "volumes" / source
            if not source.startswith("./"):
                host.mkdir(parents=True, exist_ok=True)
            mapping[target] = host
        return PathMap(mapping)

    def volume(self, name: str) -> Path:
        return self.root / "volumes" / name

    def run_init(self, name: str, env: dict[str, str],
                 command: list[str] | None = None) -> subprocess.CompletedProcess[str]:
        service = self.services[name]
        entrypoint = service["entrypoint"]
        assert entrypoint[0] == "/bin/sh"
        paths = self.paths(name)
        argv = ["sh", *paths.all([*entrypoint[1:], *(command or service["command"])])]
        done = run(argv, env)
        assert done.returncode == 0, f"{name}: {done.stdout}{done.stderr}"
        return done


def documented_query() -> list[str]:
    """The query command the header of compose.yaml tells people to run."""
    lines = [line.lstrip("#").strip() for line in
             (COMPOSE / "compose.yaml").read_text().splitlines() if line.startswith("#")]
    start = next(i for i, line in enumerate(lines) if "compose exec aggregator" in line)
    parts = []
    for line in lines[start:]:
        parts.append(line.rstrip("\\").strip())
        if not line.endswith("\\"):
            break
    return shlex.split(" ".join(parts).split("compose exec aggregator", 1)[1])


def test_compose_init_services_give_a_working_mutual_tls_federation(
        tmp_path: Path, services: list[Service]) -> None:
    compose = Compose(tmp_path)
    env = koepel_env(tmp_path)
    certs = compose.services["certs-init"]["command"]
    assert certs[1:] == ["org-a", "org-b", "org-c"]
    # The CA and the certificates of the aggregator, the operator and one node (the other
    # nodes' are issued the same way; three more `koepel certs issue` add nothing here).
    compose.run_init("certs-init", env, command=certs[:2])
    ca_volume = compose.volume("federation-ca")
    assert stat.S_IMODE((ca_volume / "ca" / "ca.key").stat().st_mode) == 0o600
    compose.run_init("aggregator-init", env)
    command = compose.services["node-a-init"]["command"]
    first = compose.run_init("node-a-init", env, command=[*command[:3], "40", *command[4:]])
    assert "imported" in first.stdout
    assert list((tmp_path / "scratch").iterdir()) == []  # the synthetic CSVs are gone
    data = compose.volume("node-a-data")
    for key in ("keys/db.key", "keys/pseudonym.key", "keys/signing.key", "tls/node.key",
                "probe/auditor.key"):
        assert stat.S_IMODE((data / key).stat().st_mode) == 0o600, key
    assert not (data / "tls" / "ca.key").exists() and not (data / "probe" / "ca.key").exists()
    again = compose.run_init("node-a-init", env)  # a restart changes nothing
    assert "already set up" in again.stdout and "already holds certificates" in again.stdout
    config = load_node_config(data / "node.toml")
    assert config.listen == "127.0.0.1:50061" and "federation" in config.queriers

    node_service = compose.services["node-a"]
    node_paths = compose.paths("node-a")
    node = _spawn("node-a", tmp_path / "run", [
        sys.executable, "-m", "cli", "node", "serve", *node_paths.all(node_service["command"]),
        "--listen", "127.0.0.1:0"])
    services.append(node)
    probe = node_paths.all(with_address(node_service["healthcheck"]["test"][1:], node.address))
    healthy = koepel(probe, env)
    assert healthy.returncode == 0 and "SERVING" in healthy.stdout, healthy.stderr
    # The node's own certificate cannot be the probe's: it may only serve (no clientAuth).
    own = [data / "tls" / "node.crt", data / "tls" / "node.key", data / "tls" / "ca.crt"]
    as_node = koepel([*probe[:probe.index("--cert")], "--cert", str(own[0]), "--key",
                      str(own[1]), "--ca", str(own[2])], env)
    assert as_node.returncode == EXIT["unavailable"], as_node.stdout + as_node.stderr
    plaintext = koepel(probe[:probe.index("--cert")], env)
    assert plaintext.returncode == EXIT["unavailable"]

    aggregator_service = compose.services["aggregator"]
    aggregator_paths = compose.paths("aggregator")
    federation = aggregator_paths((COMPOSE / "federation.toml").read_text())
    head, *nodes = federation.split("[[nodes]]")
    federation = head + "[[nodes]]" + nodes[0].replace("127.0.0.1:50061", node.address)
    federation_file = tmp_path / "federation.toml"
    federation_file.write_text(federation)
    args = aggregator_paths.all(PathMap({"/etc/koepel/federation.toml": federation_file}).all(
        aggregator_service["command"]))
    aggregator = _spawn("aggregator", tmp_path / "run", [
        sys.executable, "-m", "cli", "aggregator", "serve", *args, "--listen", "127.0.0.1:0"])
    services.append(aggregator)
    check = aggregator_paths.all(with_address(aggregator_service["healthcheck"]["test"][1:],
                                              aggregator.address))
    healthy = koepel(check, env)
    assert healthy.returncode == 0 and "SERVING" in healthy.stdout, healthy.stderr
    query = aggregator_paths.all(with_address(documented_query(), aggregator.address))
    answered = koepel([*query, "--json"], env)
    assert answered.returncode == 0, answered.stdout + answered.stderr
    assert '"complete": true' in answered.stdout


# --- Kubernetes ----------------------------------------------------------------------------

def k8s_resources() -> dict[tuple[str, str], dict[str, Any]]:
    return {(d["kind"], d["metadata"]["name"]): d for path in sorted(K8S.glob("*.yaml"))
            for d in yaml.safe_load_all(path.read_text()) if d}


def secret_templates() -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d
            for path in sorted((K8S / "secret-templates").glob("*.yaml"))
            for d in yaml.safe_load_all(path.read_text()) if d}


class Pod:
    """A Deployment's pod on the host: each volume mount a folder under ``root/fs`` at the same
    path as in the container, Secrets filled from files (as `kubectl create secret generic
    --from-file=KEY=FILE` would), with the volume's defaultMode."""

    def __init__(self, root: Path, name: str, files: Mapping[str, Path]) -> None:
        resources = k8s_resources()
        self.spec = resources[("Deployment", name)]["spec"]["template"]["spec"]
        self.container = self.spec["containers"][0]
        volumes = {v["name"]: v for v in self.spec["volumes"]}
        templates = secret_templates()
        self.config_dir = root
        mapping: dict[str, Path] = {}
        for container in [*self.spec.get("initContainers", []), self.container]:
            for mount in container["volumeMounts"]:
                target = mount["mountPath"]
                host = root / "fs" / target.lstrip("/")
                host.mkdir(parents=True, exist_ok=True)
                mapping[target] = host
                secret = volumes[mount["name"]].get("secret")
                if secret is not None:
                    mapping[str(Path(target).parent)] = host.parent  # e.g. /secrets/$d
                    for key in templates[secret["secretName"]]["stringData"]:
                        (host / key).write_bytes(files[key].read_bytes())
                        (host / key).chmod(secret["defaultMode"])
                if mount["name"] == "config":
                    self.config_dir = host
        self.paths = PathMap(mapping)
        self.config_map = resources[("ConfigMap", volumes["config"]["configMap"]["name"])]

    def run_init_containers(self) -> None:
        for container in self.spec.get("initContainers", []):
            command = self.paths.all(container["command"])
            assert command[:2] == ["/bin/sh", "-c"]
            done = subprocess.run(command, capture_output=True, text=True, timeout=30,
                                  check=False)
            assert done.returncode == 0, done.stderr

    def write_config(self, name: str, replace: Mapping[str, str] | None = None) -> Path:
        text = self.paths(self.config_map["data"][name])
        for old, new in (replace or {}).items():
            text = text.replace(old, new)
        (self.config_dir / name).write_text(text)
        return self.config_dir / name

    def args(self) -> list[str]:
        # Loopback and port 0 instead of the container's 0.0.0.0 and fixed ports.
        return [*self.paths.all(self.container["args"]), "--listen", "127.0.0.1:0",
                "--metrics-host", "127.0.0.1"]

    def probes(self, address: str) -> list[list[str]]:
        return [self.paths.all(with_address(self.container[p]["exec"]["command"], address))
                for p in ("readinessProbe", "livenessProbe")]


def test_kubernetes_pods_get_their_secrets_and_probe_over_mutual_tls(
        tmp_path: Path, services: list[Service]) -> None:
    made = tmp_path / "made"  # what `koepel node init` and `koepel certs issue` produce
    create_node(made / "node", node_id="org-example", queriers={"federation": "3"})
    init_ca(made / "ca")
    issue(made / "ca", role="node", name="org-example", out=made / "node" / "tls",
          dns=("koepel-node.koepel.svc",), ips=("127.0.0.1",))
    issue(made / "ca", role="auditor", name="probe-org-example", out=made / "probe")
    issue(made / "ca", role="aggregator", name="federation", out=made / "tls",
          dns=("koepel-aggregator.koepel.svc",), ips=("127.0.0.1",))
    issue(made / "ca", role="operator", name="alice", out=made / "operator")
    keys, node_tls = made / "node" / "keys", made / "node" / "tls"
    node_files = {"db.key": keys / "db.key", "pseudonym.key": keys / "pseudonym.key",
                  "signing.key": keys / "signing.key", "node.crt": node_tls / "node.crt",
                  "node.key": node_tls / "node.key", "ca.crt": node_tls / "ca.crt",
                  "auditor.crt": made / "probe" / "auditor.crt",
                  "auditor.key": made / "probe" / "auditor.key"}
    env = koepel_env(tmp_path)

    pod = Pod(tmp_path / "node-pod", "koepel-node", node_files)
    pod.run_init_containers()
    config = load_node_config(pod.write_config("node.toml"))
    assert config.tls is not None and config.signing_key_file is not None
    for path in (config.key_file, config.secret_file, config.signing_key_file, config.tls.key,
                 config.tls.cert, config.tls.ca):
        assert stat.S_IMODE(path.stat().st_mode) == 0o400, path  # only koepel's user reads it
    config.database.write_bytes((made / "node" / "koepel.db").read_bytes())
    node = _spawn("k8s-node", tmp_path / "run", [
        sys.executable, "-m", "cli", "node", "serve", *pod.args()])
    services.append(node)
    for probe in pod.probes(node.address):
        done = koepel(probe, env)
        assert done.returncode == 0 and "SERVING" in done.stdout, done.stdout + done.stderr

    aggregator_files = {"aggregator.crt": made / "tls" / "aggregator.crt",
                        "aggregator.key": made / "tls" / "aggregator.key",
                        "ca.crt": made / "tls" / "ca.crt"}
    aggregator_pod = Pod(tmp_path / "aggregator-pod", "koepel-aggregator", aggregator_files)
    aggregator_pod.run_init_containers()
    aggregator_pod.write_config("federation.toml",
                                {"koepel-node.koepel.svc:50051": node.address})
    aggregator = _spawn("k8s-aggregator", tmp_path / "run", [
        sys.executable, "-m", "cli", "aggregator", "serve", *aggregator_pod.args()])
    services.append(aggregator)
    for probe in aggregator_pod.probes(aggregator.address):
        done = koepel(probe, env)
        assert done.returncode == 0 and "SERVING" in done.stdout, done.stdout + done.stderr
    operator = made / "operator"
    answered = koepel(["koepel", "query", "headcount", "--period", "2025", "--epsilon", "0.5",
                       "--aggregator", aggregator.address, "--cert", str(operator / "operator.crt"),
                       "--key", str(operator / "operator.key"), "--ca",
                       str(operator / "ca.crt"), "--json"], env)
    assert answered.returncode == 0, answered.stdout + answered.stderr
    assert '"complete": true' in answered.stdout  # aggregator → node over the pods' TLS files
