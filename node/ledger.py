"""The privacy ledger: every charge, durably, before the answer leaves the node.

A charge is one ledger row, written in the same SQLCipher transaction as the stored answer
(``BEGIN IMMEDIATE`` serialises concurrent writers, also across processes), after re-checking
the cap inside that transaction, so concurrent queries cannot overspend. Rows are hash-chained
(each hash covers the previous one) and the schema refuses UPDATE and DELETE.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from node.store import Store
from privacy import Cap, QueryConflictError

__all__ = ["GENESIS", "Charge", "Ledger", "LedgerEntry", "StoredAnswer", "entry_hash"]

GENESIS = "0" * 64


@dataclass(frozen=True)
class LedgerEntry:
    sequence: int
    created_at: str
    querier: str
    query_id: str
    query_digest: str
    mechanism: str
    cost_micro: int
    budget_period: str
    catalogue_version: str
    prev_hash: str
    entry_hash: str


def entry_hash(prev_hash: str, fields: dict[str, Any]) -> str:
    """SHA-256 over the previous hash and the entry's canonical JSON."""
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256((prev_hash + canonical).encode()).hexdigest()


@dataclass(frozen=True)
class Charge:
    """What is about to be charged, for whom, and the answer it pays for."""

    querier: str
    query_id: str
    query_digest: str
    mechanism: str
    cost_micro: int
    budget_period: str
    catalogue_version: str
    answer: str  # the released answer, serialised; replayed on a retried query id


@dataclass(frozen=True)
class StoredAnswer:
    query_digest: str
    answer: str


class Ledger:
    """Budget state and the hash-chained ledger inside the node's store."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def stored_answer(self, querier: str, query_id: str) -> StoredAnswer | None:
        with self._store.reading() as conn:
            row = conn.execute(
                "SELECT query_digest, answer FROM answers WHERE querier = ? AND query_id = ?",
                (querier, query_id),
            ).fetchone()
        return StoredAnswer(row[0], row[1]) if row else None

    def spent(self, querier: str, budget_period: str) -> int:
        with self._store.reading() as conn:
            return self._spent(conn, querier, budget_period)

    @staticmethod
    def _spent(conn: Any, querier: str, budget_period: str) -> int:
        row = conn.execute(
            "SELECT COALESCE(SUM(cost_micro), 0) FROM ledger "
            "WHERE querier = ? AND budget_period = ?",
            (querier, budget_period),
        ).fetchone()
        return int(row[0])

    def commit(self, charge: Charge, cap: Cap) -> StoredAnswer:
        """Charge and store the answer atomically, or raise and write nothing.

        Returns the stored answer: the new one, or, if a concurrent retry of the same query id
        committed first, that one (so the querier is never charged twice).
        """
        with self._store.transaction() as conn:
            row = conn.execute(
                "SELECT query_digest, answer FROM answers WHERE querier = ? AND query_id = ?",
                (charge.querier, charge.query_id),
            ).fetchone()
            if row is not None:
                if row[0] != charge.query_digest:
                    raise QueryConflictError(
                        "this query id was already used for a different query; use a new id"
                    )
                return StoredAnswer(row[0], row[1])
            cap.check(self._spent(conn, charge.querier, charge.budget_period), charge.cost_micro)
            head = conn.execute("SELECT seq, entry_hash FROM ledger ORDER BY seq DESC LIMIT 1")
            last = head.fetchone()
            sequence, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
            fields = {
                "sequence": sequence,
                "created_at": datetime.now(UTC).isoformat(timespec="milliseconds"),
                "querier": charge.querier,
                "query_id": charge.query_id,
                "query_digest": charge.query_digest,
                "mechanism": charge.mechanism,
                "cost_micro": charge.cost_micro,
                "budget_period": charge.budget_period,
                "catalogue_version": charge.catalogue_version,
            }
            digest = entry_hash(prev, fields)
            conn.execute(
                "INSERT INTO ledger (seq, created_at, querier, query_id, query_digest, mechanism,"
                " cost_micro, budget_period, catalogue_version, prev_hash, entry_hash) VALUES "
                "(:sequence, :created_at, :querier, :query_id, :query_digest, :mechanism,"
                " :cost_micro, :budget_period, :catalogue_version, :prev, :hash)",
                {**fields, "prev": prev, "hash": digest},
            )
            conn.execute(
                "INSERT INTO answers (querier, query_id, query_digest, answer, ledger_seq) "
                "VALUES (?, ?, ?, ?, ?)",
                (charge.querier, charge.query_id, charge.query_digest, charge.answer, sequence),
            )
        return StoredAnswer(charge.query_digest, charge.answer)

    def entries(self, after_sequence: int = 0) -> list[LedgerEntry]:
        with self._store.reading() as conn:
            rows = conn.execute(
                "SELECT seq, created_at, querier, query_id, query_digest, mechanism, cost_micro,"
                " budget_period, catalogue_version, prev_hash, entry_hash FROM ledger"
                " WHERE seq > ? ORDER BY seq",
                (after_sequence,),
            ).fetchall()
        return [LedgerEntry(*row) for row in rows]


def verify_chain(entries: list[LedgerEntry]) -> list[str]:
    """Problems found in a ledger export's hash chain (empty when it is intact)."""
    problems: list[str] = []
    prev = GENESIS
    for expected_seq, entry in enumerate(entries, start=1):
        if entry.sequence != expected_seq:
            problems.append(f"entry {entry.sequence}: expected sequence {expected_seq}")
        fields = {k: v for k, v in asdict(entry).items() if k not in ("prev_hash", "entry_hash")}
        if entry.prev_hash != prev:
            problems.append(f"entry {entry.sequence}: does not follow the previous entry")
        if entry_hash(entry.prev_hash, fields) != entry.entry_hash:
            problems.append(f"entry {entry.sequence}: content does not match its hash")
        prev = entry.entry_hash
    return problems
