"""Every artefact in ops/ checked by the strongest validator that runs here.

promtool (Debian's prometheus package, `make ops-deps`) checks the scrape config and the alert
rules and runs the rules' unit tests; hadolint lints the Containerfile; the compose file is
checked against the Compose specification's schema and the Kubernetes manifests against the
Kubernetes API schemas (both shipped offline in PyPI packages); systemd-analyze verifies the
units. On top, structural checks tie the artefacts to the code: every koepel command line in
them parses with the real CLI, every config file loads with the real loaders, and every metric
an alert or a dashboard panel uses is one the code exports. Each validator is also shown a
broken artefact once, so that a validator that silently accepts anything fails the suite.
"""

from __future__ import annotations

import glob
import json
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import pytest
import yaml
from conftest import create_node
from ops_helpers import OPS, find_tool
from prometheus_client import generate_latest

from aggregator import BudgetInfo, load_federation
from aggregator.metrics import AggregatorMetrics
from cli.main import cli
from node import load_node_config, open_node
from node.service.metrics import NodeMetrics

PROM = OPS / "prometheus"
COMPOSE = OPS / "compose"
K8S = OPS / "kubernetes"
SYSTEMD = OPS / "systemd"
DASHBOARD = OPS / "grafana" / "koepel-dashboard.json"
BIN = Path(sys.executable).parent


def run(*args: str | Path, cwd: Path | None = None, timeout: float = 60,
        env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env=env, check=False)


def venv_tool(name: str) -> Path:
    """A validator installed by pip in this venv (a dev dependency)."""
    path = BIN / name
    if not path.exists():
        pytest.fail(f"{name} not found next to {sys.executable}: install the dev extra "
                    "(`pip install -e '.[dev]'`, done by `make test`)")
    return path


def parses(argv: list[str]) -> None:
    """Fail unless ``koepel <argv>`` is a valid command line of the real CLI (not run)."""
    assert argv and argv[0] == "koepel", argv
    command: click.Command = cli
    rest = list(argv[1:])
    while isinstance(command, click.Group):
        assert rest, f"{argv}: a subcommand is missing"
        sub = command.get_command(click.Context(command), rest[0])
        assert sub is not None, f"{argv}: unknown koepel command {rest[0]!r}"
        command, rest = sub, rest[1:]
    command.make_context(command.name or "", rest)  # raises on any unknown or bad option


def yaml_documents(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d is not None]


# --- which metrics the code exports --------------------------------------------------------

@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    """Every sample name the node and the aggregator expose (from their real registries)."""
    directory = tmp_path_factory.mktemp("exported")
    runtime = open_node(load_node_config(create_node(directory / "node")))
    try:
        node_text = generate_latest(NodeMetrics(runtime.config, runtime.engine,
                                                runtime.store).registry).decode()
    finally:
        runtime.close()
    federation = load_federation(SYSTEMD / "federation.toml")
    aggregator = AggregatorMetrics(federation)
    for entry in federation.nodes:  # as after the first probe of a running aggregator
        aggregator.node_probed(entry, True, [BudgetInfo(
            querier="federation", period="2025", cap_micro=3_000_000, spent_micro=0)])
    aggregator_text = generate_latest(aggregator.registry).decode()
    names = set()
    for line in (node_text + aggregator_text).splitlines():
        if line and not line.startswith("#"):
            names.add(re.split(r"[{ ]", line, maxsplit=1)[0])
    return names


_METRIC = re.compile(r"\b(koepel_[a-z0-9_]+|up)\b(?!\s*\()")


def metrics_in(expr: str) -> set[str]:
    names = set(_METRIC.findall(expr))
    assert names, f"expression uses no koepel metric: {expr}"
    return names


def alert_rules() -> list[dict[str, Any]]:
    return [rule for group in yaml.safe_load((PROM / "alerts.yml").read_text())["groups"]
            for rule in group["rules"]]


def dashboard_exprs() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    return [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]


# --- Prometheus ----------------------------------------------------------------------------

def test_promtool_checks_the_scrape_config_and_the_rules() -> None:
    promtool = find_tool("promtool")
    config = run(promtool, "check", "config", "prometheus.yml", cwd=PROM)
    assert config.returncode == 0, config.stdout + config.stderr
    rules = run(promtool, "check", "rules", "alerts.yml", cwd=PROM)
    assert rules.returncode == 0, rules.stdout + rules.stderr
    assert "SUCCESS: 8 rules found" in rules.stdout


def test_promtool_unit_tests_of_the_alerts_pass_and_can_fail(tmp_path: Path) -> None:
    promtool = find_tool("promtool")
    result = run(promtool, "test", "rules", "alerts.test.yml", cwd=PROM)
    assert result.returncode == 0, result.stdout + result.stderr
    shutil.copy(PROM / "alerts.yml", tmp_path / "alerts.yml")
    broken = (PROM / "alerts.test.yml").read_text().replace("83.33%", "50%")
    (tmp_path / "alerts.test.yml").write_text(broken)
    assert run(promtool, "test", "rules", "alerts.test.yml", cwd=tmp_path).returncode != 0


def test_every_alert_has_a_runbook_in_the_readme_and_uses_exported_metrics(
        exported: set[str]) -> None:
    readme = (OPS / "README.md").read_text().lower()
    names = {rule["alert"] for rule in alert_rules()}
    assert {"KoepelNodeDown", "KoepelBudgetAbove80Percent", "KoepelRefusalSpike",
            "KoepelQuorumFailures"} <= names
    for rule in alert_rules():
        assert rule["labels"]["severity"] in {"page", "warning"}
        anchor = rule["annotations"]["runbook"].split("#", 1)[1]
        assert f"### {anchor}" in readme.replace("`", ""), f"no README section for {anchor}"
        unknown = metrics_in(rule["expr"]) - exported - {"up"}
        assert not unknown, f"{rule['alert']} uses metrics the code does not export: {unknown}"


def readme_commands() -> list[list[str]]:
    """Every `koepel …` command line in the shell blocks of ops/README.md."""
    blocks = re.findall(r"```sh\n(.*?)```", (OPS / "README.md").read_text(), re.S)
    commands = []
    for block in blocks:
        for line in block.replace("\\\n", " ").splitlines():
            words = shlex.split(line, comments=True)
            starts = [i for i, w in enumerate(words) if w == "koepel" or w.endswith("/koepel")]
            if starts:
                commands.append(["koepel", *words[starts[0] + 1:]])
    return commands


def test_every_koepel_command_line_in_the_readme_parses(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # where the shell would expand exports/*.csv
    (tmp_path / "exports").mkdir()
    (tmp_path / "exports" / "workers.csv").write_text("person_id\n")
    commands = [[w for word in c for w in (sorted(glob.glob(word)) if "*" in word else [word])]
                for c in readme_commands()]
    kinds = {tuple(c[1:3]) for c in commands}
    assert {("certs", "init-ca"), ("certs", "issue"), ("node", "init"), ("query", "headcount"),
            ("node", "import")} <= kinds and ("health", "--address") in kinds
    for command in commands:
        parses(command)
        assert "--insecure" not in command


def test_scrape_config_matches_the_alerts_and_the_compose_ports() -> None:
    config = yaml.safe_load((PROM / "prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert set(jobs) == {"koepel-node", "koepel-aggregator"}
    for rule in alert_rules():  # the jobs the alerts name are the jobs scraped
        for job in re.findall(r'job="([^"]+)"', rule["expr"]):
            assert job in jobs
    compose = yaml.safe_load((COMPOSE / "compose.yaml").read_text())["services"]
    def port_of(command: list[str]) -> str:
        return command[command.index("--metrics-port") + 1]
    node_ports = {port_of(s["command"]) for n, s in compose.items()
                  if n.startswith("node-") and not n.endswith("-init")}
    targets = {t.rsplit(":", 1)[1] for sc in jobs["koepel-node"]["static_configs"]
               for t in sc["targets"]}
    assert targets == node_ports == {"9464", "9465", "9466"}
    aggregator_targets = {t.rsplit(":", 1)[1]
                          for sc in jobs["koepel-aggregator"]["static_configs"]
                          for t in sc["targets"]}
    assert aggregator_targets == {port_of(compose["aggregator"]["command"])}


# --- Grafana -------------------------------------------------------------------------------

def test_dashboard_panels_use_exported_metrics_and_valid_promql(
        exported: set[str], tmp_path: Path) -> None:
    """Each panel query names real metrics, and promtool parses it (as a recording rule)."""
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["uid"] and dashboard["title"] and dashboard["schemaVersion"] >= 36
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    datasource = yaml.safe_load(
        (OPS / "grafana/provisioning/datasources/prometheus.yaml").read_text())["datasources"][0]
    for panel in dashboard["panels"]:
        assert {"x", "y", "w", "h"} <= set(panel["gridPos"])
        if panel["type"] == "row":
            continue
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == datasource["uid"]
            unknown = metrics_in(target["expr"]) - exported
            assert not unknown, f"panel {panel['title']!r} uses unexported {unknown}"
    exprs = dashboard_exprs()
    rules = {"groups": [{"name": "dashboard", "rules": [
        {"record": f"koepel:dashboard_panel_{i}", "expr": e} for i, e in enumerate(exprs)]}]}
    (tmp_path / "dashboard-rules.yml").write_text(yaml.safe_dump(rules))
    result = run(find_tool("promtool"), "check", "rules", tmp_path / "dashboard-rules.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    (tmp_path / "broken.yml").write_text(yaml.safe_dump({"groups": [{"name": "x", "rules": [
        {"record": "koepel:broken", "expr": "sum by (le (rate(x[5m]))"}]}]}))
    assert run(find_tool("promtool"), "check", "rules", tmp_path / "broken.yml").returncode


def test_dashboard_check_catches_an_unexported_metric(exported: set[str]) -> None:
    assert metrics_in("rate(koepel_node_made_up_total[5m])") - exported


# --- Containers and compose ----------------------------------------------------------------

def containerfile_stages() -> dict[str, list[str]]:
    stages: dict[str, list[str]] = {}
    current = ""
    text = (OPS / "container" / "Containerfile").read_text().replace("\\\n", " ")
    for line in text.splitlines():
        if line.startswith("FROM "):
            current = line.split(" AS ")[-1].strip()
            stages[current] = []
        elif line.strip() and not line.startswith("#"):
            stages[current].append(line.strip())
    return stages


def test_hadolint_accepts_the_containerfile_and_rejects_a_bad_one(tmp_path: Path) -> None:
    hadolint = venv_tool("hadolint")
    result = run(hadolint, OPS / "container" / "Containerfile")
    assert result.returncode == 0, result.stdout + result.stderr
    (tmp_path / "Containerfile").write_text("FROM debian\nRUN cd /tmp && apt-get install x\n")
    assert run(hadolint, tmp_path / "Containerfile").returncode != 0


def test_container_images_run_unprivileged_and_their_commands_parse() -> None:
    stages = containerfile_stages()
    assert {"node", "aggregator"} <= set(stages)
    assert any(line.startswith("USER 10001") for line in stages["base"])
    for stage, group in (("node", "node"), ("aggregator", "aggregator")):
        lines = {line.split(" ", 1)[0]: line.split(" ", 1)[1] for line in stages[stage]}
        entrypoint = json.loads(lines["ENTRYPOINT"])
        assert entrypoint == ["koepel", group, "serve"]
        parses([*entrypoint, *json.loads(lines["CMD"])])
        health = json.loads(lines["HEALTHCHECK"].split("CMD", 1)[1])
        assert health[:2] == ["koepel", "health"]
        parses(health)


def test_compose_file_matches_the_compose_specification(tmp_path: Path) -> None:
    checker = venv_tool("check-jsonschema")
    result = run(checker, "--builtin-schema", "vendor.compose-spec", COMPOSE / "compose.yaml")
    assert result.returncode == 0, result.stdout + result.stderr
    broken = yaml.safe_load((COMPOSE / "compose.yaml").read_text())
    broken["services"]["node-a"]["stop_grace_periodd"] = "30s"
    (tmp_path / "compose.yaml").write_text(yaml.safe_dump(broken))
    assert run(checker, "--builtin-schema", "vendor.compose-spec",
               tmp_path / "compose.yaml").returncode != 0


def test_compose_federation_is_three_nodes_an_aggregator_and_prometheus() -> None:
    services = yaml.safe_load((COMPOSE / "compose.yaml").read_text())["services"]
    nodes = sorted(n for n in services if n.startswith("node-") and not n.endswith("-init"))
    assert nodes == ["node-a", "node-b", "node-c"] and "prometheus" in services
    federation = load_federation(COMPOSE / "federation.toml")
    assert federation.tls is not None and federation.tls.key.parent.name == "tls"
    grpc_ports = {n.address.rsplit(":", 1)[1] for n in federation.nodes}
    init_ports = set()
    for name in nodes:
        service = services[name]
        assert service["network_mode"] == "service:aggregator"  # loopback between services
        assert service["depends_on"][f"{name}-init"]["condition"] == (
            "service_completed_successfully")
        parses(["koepel", "node", "serve", *service["command"]])
        assert service["healthcheck"]["test"][1:3] == ["koepel", "health"]
        assert "--cert" in service["healthcheck"]["test"]  # mutual TLS, a probe certificate
        parses(service["healthcheck"]["test"][1:])
        init_ports.add(services[f"{name}-init"]["command"][2])
    assert init_ports == grpc_ports
    inits = [n for n in services if n.endswith("-init")]
    assert sorted(inits) == ["aggregator-init", "certs-init", "node-a-init", "node-b-init",
                             "node-c-init"]
    for name in [*inits, *nodes, "aggregator"]:
        hardened = services[name]
        assert hardened["read_only"] and hardened["cap_drop"] == ["ALL"]
        assert "no-new-privileges:true" in hardened["security_opt"]
        assert "environment" not in hardened  # no key passed through the environment
        assert "--insecure" not in [*hardened.get("command", []), *hardened.get("entrypoint", [])]
        if name in inits:
            assert hardened["network_mode"] == "none" and hardened["restart"] == "no"
        # Only the init containers see the federation CA's volume (and so its key).
        mounts_ca = any(v.startswith("federation-ca:") for v in hardened.get("volumes", []))
        assert mounts_ca == (name in inits), name
        if name != "certs-init" and mounts_ca:
            assert all(v.endswith(":ro") for v in hardened["volumes"]
                       if v.startswith("federation-ca:"))
            assert hardened["depends_on"]["certs-init"]["condition"] == (
                "service_completed_successfully")
    assert services["certs-init"]["command"][1:] == [n.node_id for n in federation.nodes]
    aggregator = services["aggregator"]
    assert aggregator["depends_on"]["aggregator-init"]["condition"] == (
        "service_completed_successfully")
    parses(["koepel", "aggregator", "serve", *aggregator["command"]])
    assert "--cert" in aggregator["healthcheck"]["test"]
    parses(aggregator["healthcheck"]["test"][1:])
    assert all(p.startswith("127.0.0.1:") for p in aggregator["ports"])


def test_no_ops_artefact_runs_koepel_in_plaintext() -> None:
    """Mutual TLS is the deployment default: --insecure appears in no file of ops/ (only the
    README may mention it)."""
    files = [p for p in OPS.rglob("*") if p.is_file() and p.name != "README.md"]
    assert len(files) > 15
    offenders = [str(p.relative_to(OPS)) for p in files if "--insecure" in p.read_text()]
    assert offenders == []


# --- Kubernetes ----------------------------------------------------------------------------

def manifests() -> Iterator[dict[str, Any]]:
    for path in sorted(K8S.glob("*.yaml")):
        yield from yaml_documents(path)


def test_kubernetes_manifests_match_the_api_schemas(tmp_path: Path) -> None:
    validate = venv_tool("kubernetes-validate")
    files = sorted(K8S.glob("*.yaml")) + sorted((K8S / "secret-templates").glob("*.yaml"))
    result = run(validate, "--strict", "--quiet", *files)
    assert result.returncode == 0, result.stdout + result.stderr
    broken = (K8S / "node.yaml").read_text().replace("readinessProbe:", "readinesProbe:")
    (tmp_path / "node.yaml").write_text(broken)
    assert run(validate, "--strict", "--quiet", tmp_path / "node.yaml").returncode != 0


def _deployment(name: str) -> dict[str, Any]:
    return next(m for m in manifests() if m["kind"] == "Deployment"
                and m["metadata"]["name"] == name)


def secret_templates() -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for path in sorted((K8S / "secret-templates").glob("*.yaml"))
            for d in yaml_documents(path)}


def test_kubernetes_node_keeps_keys_in_secrets_and_data_on_a_claim(tmp_path: Path) -> None:
    resources = {(m["kind"], m["metadata"]["name"]): m for m in manifests()}
    spec = _deployment("koepel-node")["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in spec["volumes"]}
    secrets = {v["secret"]["secretName"] for v in volumes.values() if "secret" in v}
    assert secrets == {"koepel-node-keys", "koepel-node-tls", "koepel-node-probe"}
    assert secrets <= set(secret_templates())
    assert volumes["run"]["emptyDir"]["medium"] == "Memory"
    claim = volumes["data"]["persistentVolumeClaim"]["claimName"]
    assert ("PersistentVolumeClaim", claim) in resources
    container = spec["containers"][0]
    mounts = {m["name"]: m for m in container["volumeMounts"]}
    assert mounts["run"]["readOnly"] is True
    config_map = resources[("ConfigMap", volumes["config"]["configMap"]["name"])]
    (tmp_path / "node.toml").write_text(config_map["data"]["node.toml"])
    config = load_node_config(tmp_path / "node.toml")
    assert config.tls is not None and not config.listen.startswith("127.")
    memory = Path(mounts["run"]["mountPath"])
    for path in (config.key_file, config.secret_file, config.signing_key_file, config.tls.cert,
                 config.tls.key, config.tls.ca):
        assert path is not None and path.parent.parent == memory, path
    assert config.database.parent == Path(mounts["data"]["mountPath"])
    assert "env" not in container and "envFrom" not in container
    parses(["koepel", "node", "serve", *container["args"]])
    assert "--insecure" not in container["args"]
    keys = secret_templates()["koepel-node-keys"]["stringData"]
    assert set(keys) == {config.key_file.name, config.secret_file.name,
                         config.signing_key_file.name}  # type: ignore[union-attr]


@pytest.mark.parametrize("name", ["koepel-node", "koepel-aggregator"])
def test_kubernetes_pods_are_hardened_and_probed_through_grpc_health(name: str,
                                                                      tmp_path: Path) -> None:
    spec = _deployment(name)["spec"]["template"]["spec"]
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["automountServiceAccountToken"] is False
    for container in spec["containers"] + spec.get("initContainers", []):
        context = container["securityContext"]
        assert context["allowPrivilegeEscalation"] is False
        assert context["readOnlyRootFilesystem"] is True
        assert context["capabilities"]["drop"] == ["ALL"]
    container = spec["containers"][0]
    service = "koepel.v1.NodeService" if name == "koepel-node" else "koepel.v1.AggregatorService"
    for probe in ("readinessProbe", "livenessProbe"):
        command = container[probe]["exec"]["command"]
        assert command[:2] == ["koepel", "health"]
        assert {"--cert", "--key", "--ca"} <= set(command)  # mutual TLS, as everyone
        parses(command)
    assert service in container["readinessProbe"]["exec"]["command"]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert str(ports["metrics"]) in container["args"]
    assert spec["terminationGracePeriodSeconds"] > float(
        container["args"][container["args"].index("--grace-seconds") + 1])
    if name == "koepel-aggregator":
        config_map = next(m for m in manifests() if m["kind"] == "ConfigMap"
                          and m["metadata"]["name"] == "koepel-aggregator-config")
        (tmp_path / "federation.toml").write_text(config_map["data"]["federation.toml"])
        federation = load_federation(tmp_path / "federation.toml")
        assert federation.nodes and federation.tls is not None
        volumes = {v["name"]: v for v in spec["volumes"]}
        assert {v["secret"]["secretName"] for v in volumes.values() if "secret" in v} == {
            "koepel-aggregator-tls"}
        assert set(secret_templates()["koepel-aggregator-tls"]["stringData"]) == {
            federation.tls.cert.name, federation.tls.key.name, federation.tls.ca.name}


# --- systemd -------------------------------------------------------------------------------

def unit_settings(path: Path) -> dict[str, list[str]]:
    settings: dict[str, list[str]] = {}
    for line in path.read_text().splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, value = line.split("=", 1)
            settings.setdefault(key, []).append(value)
    return settings


def test_systemd_analyze_verifies_the_units(tmp_path: Path) -> None:
    """The units' ExecStart names /opt/koepel/bin/koepel; verify a copy pointing at this
    checkout's CLI instead (systemd-analyze requires the program to exist)."""
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.fail("systemd-analyze not found: run `make ops-deps`")
    shim = tmp_path / "koepel"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m cli "$@"\n')
    shim.chmod(0o755)
    units = []
    for unit in sorted(SYSTEMD.glob("*.service")):
        copy = tmp_path / unit.name
        copy.write_text(unit.read_text().replace("/opt/koepel/bin/koepel", str(shim)))
        units.append(copy)
    result = run(analyze, "verify", "--man=no", *units)
    assert result.returncode == 0 and result.stdout + result.stderr == "", result.stderr
    bad = tmp_path / "bad.service"
    bad.write_text(f"[Service]\nExecStart={shim}\nProtectSystem=sometimes\nNoNewPrivilege=yes\n")
    complaint = run(analyze, "verify", "--man=no", bad)
    assert "bad.service" in complaint.stderr


@pytest.mark.parametrize("unit", ["koepel-node.service", "koepel-aggregator.service"])
def test_systemd_units_are_hardened_and_keep_keys_off_the_command_line(unit: str,
                                                                        tmp_path: Path) -> None:
    settings = unit_settings(SYSTEMD / unit)
    for key, expected in (("DynamicUser", "yes"), ("NoNewPrivileges", "yes"),
                          ("ProtectSystem", "strict"), ("ProtectHome", "yes"),
                          ("PrivateTmp", "yes"), ("KillSignal", "SIGTERM"),
                          ("CapabilityBoundingSet", ""), ("LimitCORE", "0")):
        assert settings[key] == [expected], key
    argv = shlex.split(settings["ExecStart"][0])
    assert argv[0] == "/opt/koepel/bin/koepel"
    parses(["koepel", *argv[1:]])
    assert not any("key" in arg.lower() for arg in argv)
    assert "--insecure" not in argv  # mutual TLS
    grace = float(argv[argv.index("--grace-seconds") + 1])
    assert float(settings["TimeoutStopSec"][0]) > grace
    state = Path("/var/lib") / settings["StateDirectory"][0]
    credentials = Path("/run/credentials") / unit
    loaded = {c.split(":", 1)[0]: Path(c.split(":", 1)[1]) for c in settings["LoadCredential"]}
    assert all(source.parent == Path("/etc/koepel/keys") for source in loaded.values())
    if unit == "koepel-node.service":
        config = load_node_config(SYSTEMD / "node.toml")
        assert config.tls is not None
        private = [config.key_file, config.secret_file, config.signing_key_file, config.tls.key]
        public = [config.tls.cert, config.tls.ca]
        assert config.database.parent == state
        listen = config.listen
    else:
        federation = load_federation(SYSTEMD / "federation.toml")
        assert federation.tls is not None
        private, public = [federation.tls.key], [federation.tls.cert, federation.tls.ca]
        assert federation.history.parent == state
        listen = federation.listen
    # Every private key arrives as a credential; nothing else does; certificates are public.
    assert sorted(private) == sorted(credentials / name for name in loaded)  # type: ignore[type-var]
    assert all(path.parent == Path("/etc/koepel/tls") for path in public)
    assert not listen.startswith("127.")  # off loopback: only mutual TLS is allowed there
