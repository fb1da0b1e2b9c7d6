"""The receipts nodes sign for their answers, and the highest ledger head seen per node.

Every answer carries a receipt signed by the node (Ed25519): the query, a digest of the released
values, the ledger entry that charged them and the node's ledger head. The aggregator checks it
on arrival — an answer whose receipt is missing, unsigned or about other values is not used —
and keeps it, in its history file, for auditors: with the receipts, ``koepel audit verify`` can
prove that a node's ledger lost nothing. The aggregator also keeps the highest head each node has
signed, and flags a node whose head goes backwards (its ledger was restored from an earlier
copy) or whose signing key changes.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from privacy.receipts import Receipt, SignedReceipt, answer_digest
from protos import pb2
from wire.signing_certs import certified_signing_key
from wire.tls import CertError

__all__ = ["NodeFlag", "ReceiptBook", "ReceiptCheck", "Verified", "verify_signature"]

log = logging.getLogger("koepel.aggregator")

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS receipts (id INTEGER PRIMARY KEY, node_id TEXT NOT NULL,"
    " querier TEXT NOT NULL, query_id TEXT NOT NULL, entry_sequence INTEGER NOT NULL,"
    " head_sequence INTEGER NOT NULL, payload BLOB NOT NULL, signature BLOB NOT NULL,"
    " public_key BLOB NOT NULL, payload_sha256 TEXT NOT NULL UNIQUE, received_at TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS receipts_by_node ON receipts(node_id, entry_sequence)",
    "CREATE TABLE IF NOT EXISTS node_heads (node_id TEXT PRIMARY KEY, sequence INTEGER NOT NULL,"
    " hash TEXT NOT NULL, public_key BLOB NOT NULL, updated_at TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS node_flags (id INTEGER PRIMARY KEY, node_id TEXT NOT NULL,"
    " kind TEXT NOT NULL, detail TEXT NOT NULL, at TEXT NOT NULL)",
)


# Why a receipt does not hold ("" when it does), and the receipt when it does.
Verified = tuple[str, "tuple[Receipt, SignedReceipt] | None"]


def verify_signature(public_key: bytes, payload: bytes, signature: bytes) -> bool:
    """True when ``signature`` is ``public_key``'s Ed25519 signature of ``payload``."""
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, payload)
    except (InvalidSignature, ValueError):
        return False
    return True


@dataclass(frozen=True)
class NodeFlag:
    """Something wrong seen from outside a node: ``HEAD_WENT_BACKWARDS``, ``HEAD_FORKED``,
    ``KEY_CHANGED``."""

    node_id: str
    kind: str
    detail: str
    at: str


@dataclass(frozen=True)
class ReceiptCheck:
    """Whether an answer's receipt holds (``problem`` says why not) and what it flagged."""

    valid: bool
    problem: str = ""
    flags: tuple[NodeFlag, ...] = ()


def _digest_of(response: pb2.QueryResponse) -> str:
    vectors = {name: list(getattr(response, name).values)
               for name in ("count", "sum", "histogram", "clamped") if response.HasField(name)}
    return answer_digest(query_id=response.query_id, node_id=response.node_id,
                         cells=[list(c.key) for c in response.cells], vectors=vectors,
                         catalogue_version=response.catalogue_version)


def _mismatch(receipt: Receipt, node_id: str, querier: str,
              response: pb2.QueryResponse) -> str:
    if receipt.node_id != node_id or response.node_id != node_id:
        return "the receipt names another node"
    if receipt.querier != querier or receipt.query_id != response.query_id:
        return "the receipt is for another query"
    if receipt.answer_digest != _digest_of(response):
        return "the receipt does not cover the released values"
    if receipt.cost_micro != response.cost_micro_units:
        return "the receipt states another cost"
    if receipt.head_sequence < receipt.entry_sequence or receipt.entry_sequence < 1:
        return "the receipt's ledger positions are inconsistent"
    return ""


def _verify(node_id: str, querier: str, response: pb2.QueryResponse
            ) -> tuple[str, tuple[Receipt, SignedReceipt] | None]:
    """The receipt of ``node_id``'s answer if it holds, else why not."""
    if not response.HasField("receipt"):
        return "the answer carries no signed receipt", None
    signed = SignedReceipt(response.receipt.payload, response.receipt.signature,
                           response.receipt.public_key)
    if not verify_signature(signed.public_key, signed.payload, signed.signature):
        return "the receipt's signature does not verify", None
    try:
        receipt = signed.receipt
    except ValueError:
        return "the receipt is unreadable", None
    problem = _mismatch(receipt, node_id, querier, response)
    if problem:
        return problem, None
    return "", (receipt, signed)


class ReceiptBook:
    """Receipts, highest heads and flags per node, in a SQLite file (the history store's)."""

    def __init__(self, path: Path | str, *, ca_pem: bytes | None = None) -> None:
        # With the federation CA, a receipt that carries a certificate for its signing key must
        # match it (no trust on first use for certified nodes).
        self._ca_pem = ca_pem
        self._certified: dict[tuple[str, bytes], bytes] = {}
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA busy_timeout = 5000")
        for statement in _SCHEMA:
            self._conn.execute(statement)

    def check(self, node_id: str, querier: str, response: pb2.QueryResponse) -> ReceiptCheck:
        """Verify the receipt of ``node_id``'s answer; keep it and advance the node's head."""
        return self.check_many(querier, [(node_id, response)])[node_id]

    def verify(self, querier: str, node_id: str, response: pb2.QueryResponse) -> Verified:
        """Why ``node_id``'s receipt does not hold ("" when it does) and, if it holds, the
        receipt: the signature, the values it covers and the certified key. Reads and writes
        nothing, so the aggregator runs it on each answer as it arrives (``fan_out``)."""
        problem, verified = _verify(node_id, querier, response)
        if verified is not None:
            problem = self._certification(node_id, verified[1].public_key,
                                          response.receipt.signing_certificate)
            verified = None if problem else verified
        return problem, verified

    def check_many(self, querier: str, answers: Sequence[tuple[str, pb2.QueryResponse]], *,
                   verified: Mapping[str, Verified] | None = None) -> dict[str, ReceiptCheck]:
        """Verify every answer's receipt (one per node; ``verified`` holds those :meth:`verify`
        already checked), then keep the valid ones and advance their nodes' heads in one
        transaction (one durable write per query, not per node)."""
        checks: dict[str, ReceiptCheck] = {}
        valid: list[tuple[str, Receipt, SignedReceipt]] = []
        for node_id, response in answers:
            done = (verified or {}).get(node_id)
            problem, holds = done if done is not None else self.verify(querier, node_id,
                                                                       response)
            if holds is None:
                checks[node_id] = ReceiptCheck(False, problem)
            else:
                valid.append((node_id, *holds))
        if valid:
            now = datetime.now(UTC).isoformat(timespec="seconds")
            with self._lock:
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    flagged = [(node_id, self._record(node_id, receipt, signed, now))
                               for node_id, receipt, signed in valid]
                    self._conn.execute("COMMIT")
                except BaseException:
                    self._conn.execute("ROLLBACK")
                    raise
            for node_id, flags in flagged:
                for flag in flags:
                    log.warning("node %s: %s: %s", node_id, flag.kind, flag.detail)
                checks[node_id] = ReceiptCheck(True, flags=flags)
        return checks

    def _certification(self, node_id: str, public_key: bytes, certificate: bytes) -> str:
        """Why the signing key is not the one the CA certified for the node ("" when it is, or
        when there is no certificate or CA to check against: then the key is pinned)."""
        if self._ca_pem is None or not certificate:
            return ""
        certified = self._certified.get((node_id, certificate))
        if certified is None:
            try:
                certified = certified_signing_key(certificate, self._ca_pem, node_id=node_id)
            except CertError as error:
                return f"the node's signing certificate does not hold: {error}"
            self._certified[(node_id, certificate)] = certified
        if certified != public_key:
            return "the receipt is signed by another key than the one the federation CA certified"
        return ""

    def _record(self, node_id: str, receipt: Receipt, signed: SignedReceipt, now: str
                ) -> tuple[NodeFlag, ...]:
        """Inside the caller's transaction: keep the receipt, advance the head, flag."""
        flags: list[NodeFlag] = []
        self._conn.execute(
            "INSERT OR IGNORE INTO receipts (node_id, querier, query_id, entry_sequence,"
            " head_sequence, payload, signature, public_key, payload_sha256,"
            " received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (node_id, receipt.querier, receipt.query_id, receipt.entry_sequence,
             receipt.head_sequence, signed.payload, signed.signature,
             signed.public_key, hashlib.sha256(signed.payload).hexdigest(), now))
        row = self._conn.execute(
            "SELECT sequence, hash, public_key FROM node_heads WHERE node_id = ?",
            (node_id,)).fetchone()
        if row is not None and bytes(row[2]) != signed.public_key:
            flags.append(NodeFlag(node_id, "KEY_CHANGED", "the node signed with "
                                  "another key than before", now))
        if row is not None and receipt.head_sequence < row[0]:
            flags.append(NodeFlag(
                node_id, "HEAD_WENT_BACKWARDS",
                f"signed ledger head {receipt.head_sequence} after head {row[0]}: its "
                "ledger was restored from an earlier copy or truncated", now))
        elif (row is not None and receipt.head_sequence == row[0]
              and receipt.head_hash != row[1]):
            flags.append(NodeFlag(
                node_id, "HEAD_FORKED",
                f"signed two different ledger heads at entry {row[0]}", now))
        if row is None or receipt.head_sequence > row[0]:
            self._conn.execute(
                "INSERT INTO node_heads (node_id, sequence, hash, public_key, updated_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT(node_id) DO UPDATE SET"
                " sequence = excluded.sequence, hash = excluded.hash,"
                " public_key = excluded.public_key, updated_at = excluded.updated_at",
                (node_id, receipt.head_sequence, receipt.head_hash, signed.public_key,
                 now))
        for flag in flags:
            self._conn.execute(
                "INSERT INTO node_flags (node_id, kind, detail, at) VALUES (?, ?, ?, ?)",
                (flag.node_id, flag.kind, flag.detail, flag.at))
        return tuple(flags)

    def receipts(self, node_id: str | None = None) -> list[SignedReceipt]:
        sql = "SELECT payload, signature, public_key FROM receipts"
        params: tuple[str, ...] = ()
        if node_id is not None:
            sql += " WHERE node_id = ?"
            params = (node_id,)
        with self._lock:
            rows = self._conn.execute(sql + " ORDER BY id", params).fetchall()
        return [SignedReceipt(bytes(r[0]), bytes(r[1]), bytes(r[2])) for r in rows]

    def head(self, node_id: str) -> tuple[int, str] | None:
        """The highest ledger head ``node_id`` has signed, if any."""
        with self._lock:
            row = self._conn.execute("SELECT sequence, hash FROM node_heads WHERE node_id = ?",
                                     (node_id,)).fetchone()
        return (int(row[0]), str(row[1])) if row else None

    def flags(self, node_id: str | None = None) -> list[NodeFlag]:
        sql = "SELECT node_id, kind, detail, at FROM node_flags"
        params: tuple[str, ...] = ()
        if node_id is not None:
            sql += " WHERE node_id = ?"
            params = (node_id,)
        with self._lock:
            rows = self._conn.execute(sql + " ORDER BY id", params).fetchall()
        return [NodeFlag(*row) for row in rows]

    def close(self) -> None:
        with self._lock:
            self._conn.close()
