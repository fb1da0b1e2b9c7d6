"""The auditor's commands end to end: real node and aggregator processes, the CLI as a
subprocess, the aggregator's receipts, and a ledger edited behind the node's back."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from cli.federation_runner import LocalFederation, setup_node
from node import load_node_config, open_node
from node.synthetic.generator import OrgProfile

PROFILES = [
    OrgProfile("org-a", "Atelier A", "ETA_WAL", "BE-WAL", 60),
    OrgProfile("org-b", "Insertion B", "EI_WAL", "BE-WAL", 40),
]


def koepel(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cli", *args], capture_output=True, text=True,
                          timeout=120)


@pytest.fixture(scope="module")
def federation(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalFederation]:
    root = tmp_path_factory.mktemp("audited")
    for index, profile in enumerate(PROFILES):
        setup_node(root / profile.org_id, profile, seed=index, year=2025, cap_epsilon="2")
    # Plaintext on loopback: this module is about the audit; TLS is covered in test_tls.py and
    # by the online check against a TLS node below.
    with LocalFederation(root, insecure=True) as running:
        for profile in PROFILES:
            running.add_node(profile.org_id)
        running.start(deadline_seconds=20)
        for args in (("headcount", "--by", "gender"), ("support_hours", "--stat", "mean")):
            done = koepel("query", *args, "--period", "2025", "--epsilon", "0.5", "--json",
                          *running.client_args())
            assert done.returncode == 0, done.stderr
        yield running


def export(federation: LocalFederation, node_id: str, name: str) -> Path:
    out = federation.root / f"{name}.json"
    done = koepel("node", "ledger", "export", "--config",
                  str(federation.root / node_id / "node.toml"), "--out", str(out), "--plaintext")
    assert done.returncode == 0, done.stderr
    assert "exported 2 ledger entries" in done.stdout
    return out


def test_verify_offline_and_online_with_the_aggregators_receipts(
        federation: LocalFederation) -> None:
    files = [export(federation, p.org_id, f"{p.org_id}-clean") for p in PROFILES]
    history = str(federation.root / "history.db")
    done = koepel("audit", "verify", *map(str, files), "--history", history)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("2 entries, 2 receipts checked: no problems") == 2
    online = koepel("audit", "verify", "--node",
                    f"127.0.0.1:{federation.node_ports['org-a']}", "--identity", "federation",
                    "--history", history, "--json")
    assert online.returncode == 0, online.stderr
    [result] = json.loads(online.stdout)
    assert result["ok"] and result["receipts_checked"] == 2 and result["findings"] == []
    stranger = koepel("audit", "verify", "--node",
                      f"127.0.0.1:{federation.node_ports['org-a']}", "--identity", "nobody")
    assert stranger.returncode == 6 and "may not read this node's ledger" in stranger.stderr


def test_report_as_table_json_and_csv(federation: LocalFederation) -> None:
    files = [str(export(federation, p.org_id, f"{p.org_id}-report")) for p in PROFILES]
    table = koepel("audit", "report", *files)
    assert table.returncode == 0 and "org-a" in table.stdout and "federation" in table.stdout
    rows = json.loads(koepel("audit", "report", *files, "--json").stdout)
    own = [r for r in rows if r["querier"] == "federation"]
    assert [(r["node"], r["spent"], r["cap"]) for r in own] == [("org-a", "1", "2"),
                                                              ("org-b", "1", "2")]
    parsed = list(csv.DictReader(io.StringIO(koepel("audit", "report", *files,
                                                    "--csv").stdout)))
    assert len(parsed) == len(rows) and parsed[0]["within_cap"] == "True"


def test_an_entry_edited_behind_the_nodes_back_is_named(federation: LocalFederation) -> None:
    federation.stop_process("org-b")
    runtime = open_node(load_node_config(federation.root / "org-b" / "node.toml"))
    try:
        with runtime.store.reading() as conn:
            conn.execute("DROP TRIGGER ledger_no_update")
            conn.execute("UPDATE ledger SET cost_micro = 10 WHERE seq = 1")
    finally:
        runtime.close()
    tampered = export(federation, "org-b", "org-b-tampered")
    done = koepel("audit", "verify", str(tampered), "--history",
                  str(federation.root / "history.db"))
    assert done.returncode == 11, done.stdout + done.stderr
    assert "ENTRY_EDITED" in done.stdout and "PROBLEMS" in done.stdout
    as_json = koepel("audit", "verify", str(tampered), "--history",
                     str(federation.root / "history.db"), "--json")
    [result] = json.loads(as_json.stdout)
    details = {f["kind"]: f["detail"] for f in result["findings"]}
    assert set(details) == {"ENTRY_EDITED"} and not result["ok"]
    assert "shows cost 0.00001 epsilon, the node signed 0.5 epsilon" in details["ENTRY_EDITED"]
