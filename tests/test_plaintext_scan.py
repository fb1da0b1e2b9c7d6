"""Nothing in plaintext on disk: a marker written into the records is found in no file the node
touched — database, rollback journal (caught mid-transaction), WAL, temp dir, node folder,
backups, moved-aside databases, logs — after import, queries over gRPC, the local report,
backup, key rotation and restore.

The scanner is itself checked: it finds the marker in a plain SQLite file holding the same rows,
so a pass means the marker really is absent, not that the scan is blind.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import grpc
from clirun import koepel
from conftest import write_csv

from node import Store, load_node_config, read_key_file
from node.store.maintenance import open_store
from protos import pb2, pb2_grpc
from wire.limits import QUERIER_HEADER

MARKER = f"KOEPEL-MARKER-{secrets.token_hex(6)}"


def files_under(*roots: Path) -> list[Path]:
    return [p for root in roots for p in root.rglob("*") if p.is_file()]


def containing(marker: str, paths: list[Path], extra: dict[str, bytes]) -> list[str]:
    """Every file (or captured byte snapshot) whose bytes hold the marker, in any of the
    encodings a database or a log could use."""
    needles = [marker.encode("utf-8"), marker.encode("utf-16-le"), marker.encode("utf-16-be")]
    found = [str(p) for p in paths if any(n in p.read_bytes() for n in needles)]
    found += [name for name, data in extra.items() if any(n in data for n in needles)]
    return found


def exports(directory: Path, people: int) -> list[Path]:
    """CSV exports whose raw ids carry the marker (they must only ever be stored hashed)."""
    workers = [{"person_id": f"{MARKER}-P{i}", "birth_year": str(1960 + i % 40),
                "gender": "FM"[i % 2], "education_level": "LOWER_SEC",
                "target_group": "TG_DISABILITY", "region": "BE-WAL"} for i in range(people)]
    contracts = [{"contract_id": f"{MARKER}-C{i}", "person_id": f"{MARKER}-P{i}",
                  "role": "TARGET_WORKER", "contract_type": "OPEN_ENDED", "weekly_hours": "38",
                  "start_date": "2020-01-01", "end_date": ""} for i in range(people)]
    actions = [{"action_id": f"{MARKER}-A{i}", "person_id": f"{MARKER}-P{i % people}",
                "action_date": "2025-03-01", "duration_min": "60", "action_code": "SA02"}
               for i in range(3 * people)]
    return [write_csv(directory / "workers.csv", workers),
            write_csv(directory / "contracts.csv", contracts),
            write_csv(directory / "support_actions.csv", actions)]


def write_marker_rows(config_path: Path, snapshots: dict[str, bytes]) -> None:
    """The marker straight into the records, over many pages; then an update of those rows,
    with the rollback journal copied while the transaction is still open."""
    config = load_node_config(config_path)
    store = open_store(config)
    try:
        with store.transaction() as conn:
            conn.executemany("INSERT INTO meta VALUES (?, ?)",
                             [(f"note-{i:05d}", f"{MARKER} {i}") for i in range(3000)])
            conn.executemany(
                "UPDATE support_actions SET local_code = ? WHERE rowid % 2 = ?",
                [(MARKER, 0)])
        with store.transaction() as conn:
            conn.execute("UPDATE meta SET value = value || ' (seen)'")
            journal = Path(f"{config.database}-journal")
            assert journal.exists(), "a write transaction keeps a rollback journal"
            snapshots["rollback journal, mid-transaction"] = journal.read_bytes()
            snapshots["database, mid-transaction"] = config.database.read_bytes()
    finally:
        store.close()


def query_over_grpc(config_path: Path, log: Path, env: dict[str, str]) -> None:
    """Serve the node for real and ask it a few DP queries, its log going to ``log``."""
    port_file = log.parent / "port"
    with log.open("w") as log_handle:
        server = subprocess.Popen(
            [sys.executable, "-m", "cli", "node", "serve", "--config", str(config_path),
             "--insecure", "--listen", "127.0.0.1:0", "--port-file", str(port_file)],
            stdout=log_handle, stderr=subprocess.STDOUT, env={**os.environ, **env})
        try:
            deadline = time.monotonic() + 60
            while not port_file.exists():
                assert server.poll() is None, log.read_text()
                assert time.monotonic() < deadline, "the node did not start"
                time.sleep(0.05)
            address = f"127.0.0.1:{port_file.read_text().strip()}"
            metadata = ((QUERIER_HEADER, "federation"),)
            with grpc.insecure_channel(address) as channel:
                stub = pb2_grpc.NodeServiceStub(channel)
                for i, (measure, statistic, group_by) in enumerate([
                        ("headcount", pb2.STATISTIC_COUNT, ["gender"]),
                        ("support_hours", pb2.STATISTIC_MEAN, ["age_band"]),
                        ("fte", pb2.STATISTIC_SUM, [])]):
                    spec = pb2.QuerySpec(catalogue_version="2025.1", measure=measure,
                                         statistic=statistic, group_by=group_by,
                                         period="2025", epsilon="0.1")
                    stub.Query(pb2.QueryRequest(query_id=f"scan-{i}", spec=spec),
                               metadata=metadata, timeout=30)
                stub.Budget(pb2.BudgetRequest(), metadata=metadata, timeout=30)
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)


def test_no_marker_in_any_file_the_node_touched(tmp_path: Path) -> None:
    home = tmp_path / "home"
    node_dir, backups, temp, logs = (home / "node", home / "backups", home / "tmp",
                                     home / "logs")
    for directory in (backups, temp, logs):
        directory.mkdir(parents=True)
    env = {"TMPDIR": str(temp), "SQLITE_TMPDIR": str(temp)}
    snapshots: dict[str, bytes] = {}

    def run(*args: str | Path, input: str | None = None) -> str:
        done = koepel(*args, env=env, input=input)
        with (logs / "cli.log").open("a") as log:
            log.write(done.stdout + done.stderr)
        assert done.returncode == 0, done.stderr
        return done.stdout

    run("node", "init", node_dir, "--id", "org-scan", "--querier", "federation=5")
    config = node_dir / "node.toml"
    csv_dir = tmp_path / "exports"  # outside the node: exported, imported, then deleted
    run("node", "import", "--config", config, *exports(csv_dir, 400))
    shutil.rmtree(csv_dir)
    write_marker_rows(config, snapshots)
    query_over_grpc(config, logs / "node.log", env)
    run("node", "report", "--config", config, "--period", "2025")
    run("node", "report", "--config", config, "--period", "2025", "--json")
    run("node", "backup", "--config", config, backups / "first.db")
    run("node", "rekey", "--config", config)
    run("node", "backup", "--config", config, backups / "second.db")
    retired = next((node_dir / "keys").glob("db.key.retired-*"))
    run("node", "restore", "--config", config, backups / "first.db", "--replace",
        "--key-file", retired)
    run("node", "check", "--config", config)

    # The records really hold the marker (decrypted, through the node's key) ...
    store = Store.open(node_dir / "koepel.db", read_key_file(node_dir / "keys" / "db.key"))
    with store.reading() as conn:
        assert conn.execute("SELECT count(*) FROM meta WHERE value LIKE ?",
                            (f"{MARKER}%",)).fetchone()[0] == 3000
        rows = conn.execute("SELECT key, value FROM meta").fetchall()
    store.close()
    touched = files_under(home)
    assert any(p.name.startswith("koepel.db.before-restore-") for p in touched)
    assert len([p for p in touched if p.suffix == ".db"]) >= 3
    # ... and no file on disk, nor the journal caught mid-transaction, shows it.
    assert containing(MARKER, touched, snapshots) == []

    # The scan is not blind: the same rows in a plain SQLite file are found at once.
    control = tmp_path / "control" / "plain.db"
    control.parent.mkdir()
    plain = sqlite3.connect(control)
    plain.execute("CREATE TABLE meta (key TEXT, value TEXT)")
    plain.executemany("INSERT INTO meta VALUES (?, ?)", rows)
    plain.commit()
    plain.close()
    assert containing(MARKER, [control], {}) == [str(control)]


def test_the_write_ahead_log_is_encrypted_too(tmp_path: Path) -> None:
    """koepel keeps SQLite's rollback journal, but an operator may switch a database to WAL:
    its frames are encrypted like every page."""
    key = os.urandom(32)
    path = tmp_path / "wal.db"
    store = Store.open(path, key, create=True)
    with store.reading() as conn:
        assert conn.execute("PRAGMA journal_mode = WAL").fetchone()[0] == "wal"
        conn.execute("PRAGMA wal_autocheckpoint = 0")  # keep the frames in the -wal file
    with store.transaction() as conn:
        conn.executemany("INSERT INTO meta VALUES (?, ?)",
                         [(f"k{i}", f"{MARKER} {i}") for i in range(3000)])
    wal = Path(f"{path}-wal")
    assert wal.stat().st_size > 50_000
    found = containing(MARKER, files_under(tmp_path), {"wal": wal.read_bytes()})
    store.close()
    assert found == []
