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

import json
import os
import re
import shlex
import shutil
import stat
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
from node.metrics import NodeMetrics

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
    grpc_ports = {n.address.rsplit(":", 1)[1] for n in federation.nodes}
    init_ports = set()
    for name in nodes:
        service = services[name]
        assert service["network_mode"] == "service:aggregator"  # loopback between services
        assert service["depends_on"][f"{name}-init"]["condition"] == (
            "service_completed_successfully")
        parses(["koepel", "node", "serve", *service["command"]])
        assert service["healthcheck"]["test"][1:3] == ["koepel", "health"]
        parses(service["healthcheck"]["test"][1:])
        init_ports.add(services[f"{name}-init"]["command"][2])
        for service_name in (name, f"{name}-init"):
            hardened = services[service_name]
            assert hardened["read_only"] and hardened["cap_drop"] == ["ALL"]
            assert "no-new-privileges:true" in hardened["security_opt"]
            assert "environment" not in hardened  # no key passed through the environment
    assert init_ports == grpc_ports
    aggregator = services["aggregator"]
    parses(["koepel", "aggregator", "serve", *aggregator["command"]])
    parses(aggregator["healthcheck"]["test"][1:])
    assert all(p.startswith("127.0.0.1:") for p in aggregator["ports"])


def test_compose_init_script_creates_a_working_node_once(tmp_path: Path) -> None:
    """Run ops/compose/init-node.sh for real, with `koepel` meaning this checkout's CLI."""
    shim = tmp_path / "bin" / "koepel"
    shim.parent.mkdir()
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m cli "$@"\n')
    shim.chmod(0o755)
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = {**os.environ, "PATH": f"{shim.parent}:{os.environ['PATH']}", "TMPDIR": str(scratch)}
    env = {k: v for k, v in env.items() if k != "KOEPEL_DB_KEY"}
    data = tmp_path / "data"
    first = run("sh", COMPOSE / "init-node.sh", data, "org-a", "50061", "40", "1", env=env,
                timeout=120)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "imported" in first.stdout
    assert list(scratch.iterdir()) == []  # the synthetic CSVs are gone
    for key in ("db.key", "pseudonym.key"):
        assert stat.S_IMODE((data / "keys" / key).stat().st_mode) == 0o600
    config = load_node_config(data / "node.toml")
    assert config.listen == "127.0.0.1:50061" and "federation" in config.queriers
    budget = run("koepel", "node", "budget", "--config", data / "node.toml", env=env)
    assert budget.returncode == 0 and "federation" in budget.stdout, budget.stderr
    again = run("sh", COMPOSE / "init-node.sh", data, "org-a", "50061", env=env)
    assert again.returncode == 0 and "already set up" in again.stdout


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


def test_kubernetes_node_keeps_keys_in_a_secret_and_data_on_a_claim(tmp_path: Path) -> None:
    resources = {(m["kind"], m["metadata"]["name"]): m for m in manifests()}
    spec = _deployment("koepel-node")["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in spec["volumes"]}
    assert volumes["key-secret"]["secret"]["secretName"] == "koepel-node-keys"
    assert volumes["keys"]["emptyDir"]["medium"] == "Memory"
    claim = volumes["data"]["persistentVolumeClaim"]["claimName"]
    assert ("PersistentVolumeClaim", claim) in resources
    container = spec["containers"][0]
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    config_map = resources[("ConfigMap", volumes["config"]["configMap"]["name"])]
    (tmp_path / "node.toml").write_text(config_map["data"]["node.toml"])
    config = load_node_config(tmp_path / "node.toml")
    assert config.key_file.parent == config.secret_file.parent == Path(mounts["keys"])
    assert config.database.parent == Path(mounts["data"])
    assert "env" not in container and "envFrom" not in container
    parses(["koepel", "node", "serve", *container["args"]])
    secret = yaml_documents(K8S / "secret-templates" / "node-keys.yaml")[0]
    assert set(secret["stringData"]) == {config.key_file.name, config.secret_file.name}


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
        assert load_federation(tmp_path / "federation.toml").nodes


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
    grace = float(argv[argv.index("--grace-seconds") + 1])
    assert float(settings["TimeoutStopSec"][0]) > grace
    state = Path("/var/lib") / settings["StateDirectory"][0]
    if unit == "koepel-node.service":
        config = load_node_config(SYSTEMD / "node.toml")
        credentials = Path("/run/credentials") / unit
        loaded = {c.split(":", 1)[0]: c.split(":", 1)[1] for c in settings["LoadCredential"]}
        assert config.key_file == credentials / "db.key" and "db.key" in loaded
        assert config.secret_file == credentials / "pseudonym.key" and "pseudonym.key" in loaded
        assert config.database.parent == state
    else:
        assert load_federation(SYSTEMD / "federation.toml").history.parent == state
