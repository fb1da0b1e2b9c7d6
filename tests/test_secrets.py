"""No secret and no record value leaves where it belongs, in a full federation run.

A small federation (real node and aggregator processes, mutual TLS, each with its Prometheus
endpoint on) answers good, bad and over-budget queries from the CLI. Meanwhile and afterwards
every place a secret could leak to is searched for every secret: the processes' command lines
and environments (/proc/PID/cmdline and /proc/PID/environ while they run), every /metrics page
(scraped after the queries, so that every refusal reason and budget series exists), every log
file, and everything the CLI printed. The secrets:
each node's database key and pseudonym secret (hex, as stored), every TLS private key (CA,
nodes, aggregator, operator), a marker person's raw id (a record value that must never be
stored, let alone logged) and its pseudonym.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import urllib.request
import uuid
from pathlib import Path

import pytest

from cli.federation_runner import LocalFederation, setup_node
from node import import_files, load_node_config, open_node
from node.imports.pseudonyms import Pseudonymiser
from node.synthetic.generator import OrgProfile

PROFILES = [
    OrgProfile("org-s1", "Secret Workshop One", "ETA_WAL", "BE-WAL", 60),
    OrgProfile("org-s2", "Secret Insertion Two", "EI_WAL", "BE-WAL", 40),
]


def koepel(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cli", *args], capture_output=True, text=True,
                          timeout=120)


def _write(path: Path, header: list[str], row: list[str]) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerow(row)
    return path


def _import_marker(node_dir: Path, marker: str, tmp: Path) -> str:
    """Import one person whose raw id is ``marker``; return the pseudonym it is stored under."""
    workers = _write(tmp / "workers.csv", ["person_id", "birth_year", "gender",
                                           "education_level", "target_group", "region"],
                     [marker, "1977", "F", "LOWER_SEC", "TG_DISABILITY", "BE-WAL"])
    contracts = _write(tmp / "contracts.csv", ["contract_id", "person_id", "role",
                                               "contract_type", "weekly_hours", "start_date",
                                               "end_date"],
                       [marker + "-C", marker, "TARGET_WORKER", "OPEN_ENDED", "38",
                        "2019-03-01", ""])
    runtime = open_node(load_node_config(node_dir / "node.toml"))
    try:
        import_files(runtime.store, runtime.secret, [workers, contracts])
        return Pseudonymiser(runtime.secret).pseudonym("person", marker)
    finally:
        runtime.close()


def _pem_body(path: Path) -> list[str]:
    return [line for line in path.read_text().splitlines() if line and "-----" not in line]


def _scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as reply:
        return str(reply.read().decode("utf-8", "replace"))


def test_no_secret_in_argv_environment_metrics_logs_or_output(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "federation"
    for index, profile in enumerate(PROFILES):
        setup_node(root / profile.org_id, profile, seed=100 + index, year=2025, cap_epsilon="2")
    marker = f"KOEPELMARKER{uuid.uuid4().hex[:10].upper()}"
    (tmp_path / "import").mkdir()
    pseudonym = _import_marker(root / "org-s1", marker, tmp_path / "import")
    (tmp_path / "import" / "workers.csv").unlink()
    (tmp_path / "import" / "contracts.csv").unlink()
    node_key = (root / "org-s1" / "keys" / "db.key").read_text().strip()
    # A database key in the parent's environment must not reach any child process.
    monkeypatch.setenv("KOEPEL_DB_KEY", node_key)

    outputs: list[str] = []
    seen_processes: dict[str, tuple[bytes, bytes]] = {}
    metrics_pages: dict[str, str] = {}
    with LocalFederation(root, metrics=True) as federation:
        for profile in PROFILES:
            federation.add_node(profile.org_id)
        federation.start(deadline_seconds=20)
        pids = federation.pids()
        assert set(pids) == {"org-s1", "org-s2", "aggregator"}
        for name, pid in pids.items():
            seen_processes[name] = (Path(f"/proc/{pid}/cmdline").read_bytes(),
                                    Path(f"/proc/{pid}/environ").read_bytes())
        args = federation.client_args()
        good = koepel("query", "headcount", "--by", "target_group", "--period", "2025",
                      "--epsilon", "0.5", "--json", *args)
        assert good.returncode == 0, good.stderr
        answered = json.loads(good.stdout)
        assert [n["outcome"] for n in answered["nodes"]] == ["answered", "answered"]
        for bad in (("--by", "salary", "--epsilon", "1"), ("--epsilon", "NaN"),
                    ("--epsilon", "1e999999999"), ("--epsilon", "1.9")):
            done = koepel("query", "headcount", "--period", "2025", *bad, *args)
            assert done.returncode in (6, 7), done.stdout + done.stderr
            assert "Traceback" not in done.stderr
            outputs += [done.stdout, done.stderr]
        listed = koepel("nodes", "--json", *args)
        assert listed.returncode == 0, listed.stderr
        budgets = [line for node in json.loads(listed.stdout)["nodes"] for line in node["budget"]]
        # Only the caller's own lines, plus the node-wide ones ("*"): never another querier's.
        own = [b for b in budgets if b["querier"] != "*"]
        assert len(own) == 2 and all(b["querier"] == "federation" for b in own)
        table = koepel("nodes", *args)  # the same lines as people read them
        assert table.returncode == 0, table.stderr
        assert "ε left" in table.stdout and " * " not in table.stdout
        outputs += [good.stdout, good.stderr, listed.stdout, listed.stderr, table.stdout,
                    table.stderr]
        assert set(federation.metrics_ports) == set(pids)
        for name, port in federation.metrics_ports.items():
            metrics_pages[f"{name} /metrics"] = _scrape(port)
    for profile in PROFILES:  # real pages, after real answers and refusals
        page = metrics_pages[f"{profile.org_id} /metrics"]
        assert 'koepel_node_queries_answered_total{querier="federation"' in page
        assert "koepel_node_budget_spent_epsilon" in page
    aggregator_page = metrics_pages["aggregator /metrics"]
    assert 'koepel_aggregator_queries_total{outcome="complete"} 1.0' in aggregator_page
    assert 'koepel_aggregator_queries_total{outcome="invalid"}' in aggregator_page

    secrets = {"marker person id": marker, "marker pseudonym": pseudonym}
    for profile in PROFILES:
        keys = root / profile.org_id / "keys"
        secrets[f"{profile.org_id} db key"] = (keys / "db.key").read_text().strip()
        secrets[f"{profile.org_id} pseudonym secret"] = (keys / "pseudonym.key").read_text().strip()
    key_files = [root / "ca" / "ca.key", root / "tls" / "aggregator.key",
                 root / "operator" / "operator.key",
                 *(root / p.org_id / "tls" / "node.key" for p in PROFILES)]
    for path in key_files:
        for number, line in enumerate(_pem_body(path)):
            if len(line) >= 16:  # a short last line could match by chance
                secrets[f"{path.relative_to(root)} line {number}"] = line

    logs = {str(p.relative_to(root)): p.read_text("utf-8", "replace")
            for p in (root / "logs").iterdir()}
    assert len(logs) == 3 and all("mutual TLS" in text or "aggregator" in name
                                  for name, text in logs.items())
    places: dict[str, str] = {**logs, **metrics_pages, "cli output": "\n".join(outputs)}
    for name, (cmdline, environ) in seen_processes.items():
        places[f"{name} argv"] = cmdline.decode("utf-8", "replace")
        places[f"{name} environment"] = environ.decode("utf-8", "replace")
        assert b"KOEPEL_" not in environ
    for secret_name, secret in secrets.items():
        assert len(secret) >= 16, secret_name  # a real secret, not a trivially common string
        for place, text in places.items():
            assert secret not in text, f"{secret_name} found in {place}"
            assert secret.lower() not in text.lower(), f"{secret_name} found in {place}"
