"""A real node process killed (SIGKILL) between its charge and its reply keeps the charge.

The node pads every reply to a quantum (node.toml ``reply_quantum_ms``). Set to a minute, it
holds the reply long after the charge is committed: the test waits until the ledger (read from
the database file by this process) shows the charge, kills the node outright, and checks that
the charge survived and that a retry of the same query id, once the node is back, replays the
stored answer without charging again.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from conftest import FIXTURES, create_node

from aggregator.receipts import verify_signature
from node import Store, import_files, load_node_config, open_node, read_key
from privacy.receipts import Receipt
from protos import pb2, pb2_grpc
from wire.limits import QUERIER_HEADER

METADATA = ((QUERIER_HEADER, "federation"),)


def start_node(config_path: Path, run: Path) -> tuple[subprocess.Popen[bytes], int]:
    port_file = run / "node.port"
    port_file.unlink(missing_ok=True)
    process = subprocess.Popen(
        [sys.executable, "-m", "cli", "node", "serve", "--config", str(config_path),
         "--insecure", "--listen", "127.0.0.1:0", "--port-file", str(port_file)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if port_file.exists():
            return process, int(port_file.read_text())
        if process.poll() is not None:
            raise RuntimeError(f"node exited with {process.returncode}")
        time.sleep(0.05)
    process.kill()
    process.wait()
    raise RuntimeError("node did not start")


def ledger_entries(config_path: Path) -> list[tuple[int, str, int]]:
    config = load_node_config(config_path)
    store = Store.open(config.database, read_key(config.key_file))
    try:
        with store.reading() as conn:
            rows = conn.execute("SELECT seq, query_id, cost_micro FROM ledger").fetchall()
        return [(int(r[0]), str(r[1]), int(r[2])) for r in rows]
    finally:
        store.close()


@pytest.fixture
def node_folder(tmp_path: Path) -> Iterator[Path]:
    config_path = create_node(tmp_path / "node", queriers={"federation": "1"})
    runtime = open_node(load_node_config(config_path))
    import_files(runtime.store, runtime.secret, sorted((FIXTURES / "small").glob("*.csv")))
    runtime.close()
    yield config_path


def test_sigkill_after_the_charge_keeps_it_and_the_retry_replays(node_folder: Path,
                                                                 tmp_path: Path) -> None:
    text = node_folder.read_text()
    node_folder.write_text(text.replace("reply_quantum_ms = 50", "reply_quantum_ms = 60000"))
    request = pb2.QueryRequest(query_id="kill-me", spec=pb2.QuerySpec(
        catalogue_version="2025.1", measure="headcount", statistic=pb2.STATISTIC_COUNT,
        group_by=["region"], period="2025", epsilon="0.3"))
    process, port = start_node(node_folder, tmp_path)
    try:
        channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        call = pb2_grpc.NodeServiceStub(channel).Query.future(request, timeout=120,
                                                              metadata=METADATA)
        deadline = time.monotonic() + 60
        while not ledger_entries(node_folder) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not call.done()  # charged, and the reply is still being held
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
        assert process.returncode == -signal.SIGKILL
        with pytest.raises(grpc.RpcError) as lost:
            call.result(timeout=60)
        assert lost.value.code() == grpc.StatusCode.UNAVAILABLE  # the reply never left
        channel.close()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert ledger_entries(node_folder) == [(1, "kill-me", 300_000)]  # the charge survived

    node_folder.write_text(text)  # back to the normal quantum
    process, port = start_node(node_folder, tmp_path)
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = pb2_grpc.NodeServiceStub(channel)
            retried = stub.Query(request, timeout=60, metadata=METADATA)
            budget = stub.Budget(pb2.BudgetRequest(), timeout=30, metadata=METADATA)
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert retried.replayed and retried.cost_micro_epsilon == 300_000
    assert ledger_entries(node_folder) == [(1, "kill-me", 300_000)]  # no second charge
    own = [line for line in budget.lines if line.scope == "querier"]
    assert own[0].spent_micro_epsilon == 300_000
    receipt = Receipt.from_payload(retried.receipt.payload)
    assert verify_signature(retried.receipt.public_key, retried.receipt.payload,
                            retried.receipt.signature)
    assert (receipt.entry_sequence, receipt.head_sequence, receipt.query_id) == (1, 1, "kill-me")
