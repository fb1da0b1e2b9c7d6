"""Signed receipts, signed ledger exports, and the audit that names each kind of tampering.

Every tampering case is done to a real SQLCipher ledger file the way an insider would: dropping
the append-only triggers and editing or deleting rows, recomputing the hash chain, or restoring
an earlier copy of the database file.
"""

from __future__ import annotations

import asyncio
import math
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import FIXTURES, create_node

from aggregator import (
    Aggregator,
    FederationConfig,
    NodeEntry,
    NodeOutcome,
    QuorumPolicy,
    ReceiptBook,
    SqliteHistory,
)
from aggregator.receipts import verify_signature
from node import (
    KeyError_,
    NodeRuntime,
    import_files,
    load_node_config,
    open_node,
)
from node.service.serde import answer_to_proto
from privacy import PermissionDeniedError, QuerySpec, Statistic, default_catalogue
from privacy.audit import LedgerExport, audit, report_rows
from privacy.receipts import GENESIS, LedgerRecord, Receipt, SignedReceipt, entry_hash
from protos import pb2

CAT = default_catalogue()


def spec(epsilon_micro: int = 100_000) -> QuerySpec:
    return QuerySpec(CAT.version, "headcount", Statistic.COUNT, ("region",), (), "2025",
                     epsilon_micro)


class Node:
    """A node folder that can be opened, closed, backed up and restored."""

    def __init__(self, config_path: Path) -> None:
        self.config_path = config_path
        self.runtime: NodeRuntime | None = None
        self.receipts: list[SignedReceipt] = []

    def open(self) -> NodeRuntime:
        self.runtime = open_node(load_node_config(self.config_path))
        return self.runtime

    def close(self) -> None:
        if self.runtime is not None:
            self.runtime.close()
            self.runtime = None

    def ask(self, query_id: str, querier: str = "federation") -> pb2.QueryResponse:
        assert self.runtime is not None
        answer = self.runtime.engine.answer(querier, query_id, spec())
        assert answer.receipt is not None
        self.receipts.append(answer.receipt)
        return answer_to_proto(answer)

    def export(self) -> LedgerExport:
        assert self.runtime is not None
        return LedgerExport.from_json(self.runtime.engine.export_ledger().to_json())

    def sql(self, *statements: str) -> None:
        assert self.runtime is not None
        with self.runtime.store.reading() as conn:
            for statement in statements:
                conn.execute(statement)

    @property
    def database(self) -> Path:
        return load_node_config(self.config_path).database


@pytest.fixture
def node(tmp_path: Path) -> Iterator[Node]:
    config_path = create_node(tmp_path / "node", node_id="org-audit",
                              queriers={"federation": "2", "researcher": "1"})
    handle = Node(config_path)
    runtime = handle.open()
    import_files(runtime.store, runtime.secret, sorted((FIXTURES / "small").glob("*.csv")))
    for i in range(4):
        handle.ask(f"q{i}")
    yield handle
    handle.close()


def kinds(export: LedgerExport, receipts: list[SignedReceipt]) -> dict[str, list[int | None]]:
    result = audit(export, receipts, verify_signature)
    found: dict[str, list[int | None]] = {}
    for finding in result.findings:
        found.setdefault(finding.kind, []).append(finding.sequence)
    return found


# ------------------------------------------------------------------ signing


def test_signing_key_is_a_distinct_private_file(node: Node) -> None:
    keys = node.config_path.parent / "keys"
    signing = (keys / "signing.key").read_text()
    assert stat.S_IMODE((keys / "signing.key").stat().st_mode) == 0o600
    assert signing not in {(keys / "db.key").read_text(), (keys / "pseudonym.key").read_text()}


def test_every_answer_carries_a_receipt_over_its_values_and_the_ledger_head(node: Node) -> None:
    response = node.ask("q-extra")
    signed = node.receipts[-1]
    assert verify_signature(signed.public_key, signed.payload, signed.signature)
    receipt = Receipt.from_payload(response.receipt.payload)
    assert (receipt.entry_sequence, receipt.head_sequence) == (5, 5)
    assert receipt.cost_micro == 100_000 and receipt.unit == "epsilon"
    tampered = signed.payload.replace(b'"cost_micro":100000', b'"cost_micro":1')
    assert not verify_signature(signed.public_key, tampered, signed.signature)


def test_a_clean_ledger_passes_with_its_receipts(node: Node) -> None:
    export = node.export()
    result = audit(export, node.receipts, verify_signature)
    assert result.ok and result.findings == () and result.receipts_checked == 4
    assert result.totals.per_querier == {("federation", export.records[0].budget_period): 400_000}
    rows = report_rows(result)
    assert rows[0]["spent"] == "0.4" and rows[0]["cap"] == "2" and rows[0]["within_cap"]
    assert rows[-1]["period"] == "(all periods)"


# ------------------------------------------------------------------ tampering, named


def test_an_edited_entry_is_named(node: Node) -> None:
    node.sql("DROP TRIGGER ledger_no_update", "UPDATE ledger SET cost_micro = 1 WHERE seq = 2")
    found = kinds(node.export(), node.receipts)
    assert found == {"ENTRY_EDITED": [2, 2]}  # by its own hash, and against its receipt


def test_an_edited_entry_with_a_recomputed_chain_is_named(node: Node) -> None:
    """The insider rewrites entry 2 and recomputes every later hash so the chain is intact."""
    node.sql("DROP TRIGGER ledger_no_update")
    records = node.export().records
    prev = GENESIS
    assert node.runtime is not None
    with node.runtime.store.reading() as conn:
        for record in records:
            cost = 1 if record.sequence == 2 else record.cost_micro
            changed = replace(record, prev_hash=prev, cost_micro=cost)
            digest = entry_hash(prev, changed.hashed_fields())
            conn.execute("UPDATE ledger SET cost_micro = ?, prev_hash = ?, entry_hash = ?"
                         " WHERE seq = ?", (cost, prev, digest, record.sequence))
            prev = digest
    export = node.export()
    assert audit(export).findings == ()  # without receipts the rewrite is invisible
    found = kinds(export, node.receipts)
    assert found["ENTRY_EDITED"] == [2]
    assert found["CHAIN_REWRITTEN"] == [3, 4]
    assert found["HEAD_DIVERGED"] == [2]


def test_a_deleted_entry_is_named(node: Node) -> None:
    node.sql("DROP TRIGGER ledger_no_delete", "PRAGMA foreign_keys = OFF",
             "DELETE FROM answers WHERE ledger_seq = 2", "DELETE FROM ledger WHERE seq = 2")
    found = kinds(node.export(), node.receipts)
    assert found == {"ENTRY_MISSING": [2], "ENTRY_DELETED": [2]}


def test_a_ledger_restored_from_an_old_backup_is_named(node: Node, tmp_path: Path) -> None:
    node.close()
    backup = tmp_path / "backup.db"
    shutil.copy2(node.database, backup)  # a backup taken after entry 4
    node.open()
    node.ask("q4")
    node.ask("q5")  # entries 5 and 6, receipted
    node.close()
    shutil.copy2(backup, node.database)  # restored: entries 5 and 6 are gone
    node.open()
    found = kinds(node.export(), node.receipts)
    assert found == {"ROLLED_BACK": [5]}
    message = next(f.detail for f in audit(node.export(), node.receipts,
                                             verify_signature).findings)
    assert "ends at entry 4" in message and "up to 6" in message


def test_a_rollback_followed_by_new_charges_is_named_and_flagged_by_the_aggregator(
        node: Node, tmp_path: Path) -> None:
    book = ReceiptBook(tmp_path / "history.db")
    node.close()
    backup = tmp_path / "backup.db"
    shutil.copy2(node.database, backup)
    node.open()
    for query_id in ("q4", "q5"):
        assert book.check("org-audit", "federation", node.ask(query_id)).valid
    assert book.head("org-audit") is not None and book.head("org-audit")[0] == 6  # type: ignore[index]
    node.close()
    shutil.copy2(backup, node.database)
    node.open()
    check = book.check("org-audit", "federation", node.ask("after-restore"))  # entry 5 again
    assert check.valid  # the answer itself is sound; the node's books are not
    assert [f.kind for f in check.flags] == ["HEAD_WENT_BACKWARDS"]
    assert [f.kind for f in book.flags("org-audit")] == ["HEAD_WENT_BACKWARDS"]
    found = kinds(node.export(), book.receipts("org-audit"))
    assert "ROLLED_BACK" in found and "HEAD_DIVERGED" in found
    book.close()


def test_a_forged_statement_and_forged_receipts_are_named(node: Node) -> None:
    export = node.export()
    raised = export.statement_payload.replace(b'"node_cap":3000000', b'"node_cap":9000000')
    assert raised != export.statement_payload
    forged = replace(export, statement_payload=raised)
    assert "SIGNATURE_INVALID" in kinds(forged, [])
    bad = replace(node.receipts[0], signature=bytes(64))
    assert kinds(export, [bad, *node.receipts[1:]]) == {"RECEIPT_INVALID": [1]}


def test_spending_over_a_lowered_cap_is_reported(node: Node) -> None:
    node.close()
    text = node.config_path.read_text()
    node.config_path.write_text(text.replace('identity = "federation"\ncap_epsilon = "2"',
                                             'identity = "federation"\ncap_epsilon = "0.3"'))
    node.open()
    result = audit(node.export(), node.receipts, verify_signature)
    assert [f.kind for f in result.findings] == ["OVER_CAP"]
    assert "over its cap of 0.3" in result.findings[0].detail


def test_export_file_round_trip_and_refusals(node: Node) -> None:
    export = node.export()
    assert LedgerExport.from_json(export.to_json()) == export
    with pytest.raises(ValueError, match="not a koepel ledger export"):
        LedgerExport.from_json('{"format": "other"}')
    with pytest.raises(ValueError, match="lacks a field"):
        LedgerExport.from_json('{"format": "koepel-ledger-export/1"}')
    record = export.records[0]
    assert LedgerRecord.from_dict(record.to_dict()) == record


# ------------------------------------------------------------------ the aggregator's side


def test_the_aggregator_refuses_answers_whose_receipt_does_not_hold(node: Node,
                                                                     tmp_path: Path) -> None:
    book = ReceiptBook(tmp_path / "h.db")
    good = node.ask("fine")
    assert book.check("org-audit", "federation", good).valid
    altered = pb2.QueryResponse()
    altered.CopyFrom(node.ask("altered"))
    altered.count.values[0] += 1
    assert book.check("org-audit", "federation", altered).problem == (
        "the receipt does not cover the released values")
    unsigned = pb2.QueryResponse()
    unsigned.CopyFrom(good)
    unsigned.ClearField("receipt")
    assert not book.check("org-audit", "federation", unsigned).valid
    assert book.check("org-other", "federation", good).problem == "the receipt names another node"
    assert book.check("org-audit", "researcher", good).problem == (
        "the receipt is for another query")
    assert len(book.receipts("org-audit")) == 1
    # A query's answers are checked together and kept in one transaction: the sound ones only.
    checks = book.check_many("federation", [("org-audit", node.ask("batch")),
                                            ("org-audit-2", unsigned)])
    assert checks["org-audit"].valid and not checks["org-audit-2"].valid
    assert len(book.receipts("org-audit")) == 2 and book.receipts("org-audit-2") == []

    class Scripted:
        """A node that answers every query with an answer signed for another one."""

        async def query(self, entry: NodeEntry, request: pb2.QueryRequest,
                        timeout: float) -> pb2.QueryResponse:
            return altered

        async def close(self) -> None:
            return None

    config = FederationConfig(path=tmp_path / "f.toml", name="t", querier_identity="federation",
                              catalogue=CAT, deadline_seconds=2, retries=2,
                              quorum=QuorumPolicy(0.5), history=tmp_path / "h.db",
                              listen="127.0.0.1:0",
                              nodes=(NodeEntry("org-audit", "127.0.0.1:1", "x"),))
    aggregator = Aggregator(config, Scripted(), SqliteHistory(":memory:"),  # type: ignore[arg-type]
                            receipts=book)
    result = asyncio.run(aggregator.submit(spec()))
    assert [n.outcome for n in result.nodes] == [NodeOutcome.ERROR]
    assert result.nodes[0].reason.startswith("answer rejected: the receipt")
    assert not result.complete and all(math.isnan(c.estimate) for c in result.cells)
    asyncio.run(aggregator.close())


def test_auditors_listed_in_node_toml_may_export_strangers_may_not(node: Node) -> None:
    node.close()
    text = node.config_path.read_text()
    node.config_path.write_text(text.replace("[node]\n", '[node]\nauditors = ["dpo"]\n', 1))
    runtime = node.open()
    assert runtime.engine.export_ledger("dpo").node_id == "org-audit"
    assert runtime.engine.export_ledger("researcher").records  # queriers may, too
    with pytest.raises(PermissionDeniedError, match="may not read"):
        runtime.engine.export_ledger("stranger")


def test_a_node_without_its_signing_key_says_how_to_create_one(node: Node) -> None:
    node.close()
    key = node.config_path.parent / "keys" / "signing.key"
    key.unlink()
    with pytest.raises(KeyError_, match="koepel node signing-key"):
        node.open()
    done = subprocess.run([sys.executable, "-m", "cli", "node", "signing-key", "--config",
                           str(node.config_path)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and stat.S_IMODE(key.stat().st_mode) == 0o600
    node.open()
    new_receipt = node.ask("after-new-key").receipt
    found = kinds(node.export(), node.receipts)
    assert found == {"KEY_MISMATCH": [1, 2, 3, 4]}  # the old receipts name the old key
    assert new_receipt.public_key == node.export().public_key
