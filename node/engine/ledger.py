"""The privacy ledger: every charge, durably, before the answer leaves the node.

A charge is one ledger row, written in the same SQLCipher transaction as the stored answer
(``BEGIN IMMEDIATE`` serialises concurrent writers, also across processes), after re-checking
every cap — the querier's for the period, all queriers' together for the period, and all periods
together — inside that transaction, so concurrent queries cannot overspend. The store runs with
``synchronous = FULL``: once ``commit`` returns, the charge survives a crash or a kill.

Rows are hash-chained (each hash covers the previous one; see ``privacy.receipts``) and the
schema refuses UPDATE and DELETE. What has been spent per querier, period and unit is kept in
``ledger_totals`` by a trigger on every ledger insert, in the same transaction, so the cap checks
read a few rows however long the ledger grows. Costs are integers in the catalogue's unit
(µε or µρ).

Each row also names the operator who signed the query (``wire.attribution``; empty when none
did) and the query id that operator signed. Both are in the entry's hash when set and left out
when empty, so entries written before them keep verifying. An operator's own cap reads that
operator's spend through an index (schema version 9), in the same transaction as the charge,
and one signed request is charged at most once (a unique index backs the check).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from node.engine.budget import BudgetCaps
from node.store.database import Store
from privacy import QueryConflictError
from privacy.receipts import GENESIS, LedgerRecord, entry_hash

__all__ = [
    "GENESIS",
    "Charge",
    "Committed",
    "Ledger",
    "LedgerEntry",
    "LedgerUnitError",
    "StoredAnswer",
    "entry_hash",
    "verify_chain",
]

LedgerEntry = LedgerRecord  # the node's name for one row of its ledger

_COLUMNS = ("seq, created_at, querier, query_id, query_digest, mechanism, cost_micro,"
            " budget_period, catalogue_version, prev_hash, entry_hash, unit, noise, operator,"
            " operator_request")


class LedgerUnitError(Exception):
    """The ledger holds charges in another unit than the catalogue's accounting (ε vs ρ).

    Summing ε and ρ would be meaningless, so the node refuses to charge; its operator must keep
    the accounting rule of the catalogue the ledger was started with.
    """


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
    unit: str = "epsilon"
    noise: str = ""
    operator: str = ""  # the operator who signed the query, "" if nobody did
    operator_request: str = ""  # the query id the operator signed


@dataclass(frozen=True)
class StoredAnswer:
    query_digest: str
    answer: str
    ledger_seq: int = 0
    entry_hash: str = ""


@dataclass(frozen=True)
class Committed:
    """The answer that stands for a query id, and whether this call wrote it."""

    stored: StoredAnswer
    written: bool


def _row_to_entry(row: Any) -> LedgerEntry:
    return LedgerRecord(*row)


class Ledger:
    """Budget state and the hash-chained ledger inside the node's store."""

    def __init__(self, store: Store) -> None:
        self._store = store

    @staticmethod
    def _stored(conn: Any, querier: str, query_id: str) -> StoredAnswer | None:
        row = conn.execute(
            "SELECT a.query_digest, a.answer, a.ledger_seq, l.entry_hash FROM answers a"
            " JOIN ledger l ON l.seq = a.ledger_seq WHERE a.querier = ? AND a.query_id = ?",
            (querier, query_id),
        ).fetchone()
        return StoredAnswer(row[0], row[1], row[2], row[3]) if row else None

    def stored_answer(self, querier: str, query_id: str) -> StoredAnswer | None:
        with self._store.reading() as conn:
            return self._stored(conn, querier, query_id)

    def spent(self, querier: str, budget_period: str) -> int:
        with self._store.reading() as conn:
            return self._spent(conn, querier, budget_period)

    def spent_in_period(self, budget_period: str) -> int:
        """All queriers together in ``budget_period``."""
        with self._store.reading() as conn:
            return self._spent(conn, None, budget_period)

    def spent_overall(self) -> int:
        """All queriers, all periods (what the long-horizon cap bounds)."""
        with self._store.reading() as conn:
            return self._spent(conn, None, None)

    @staticmethod
    def _spent(conn: Any, querier: str | None, budget_period: str | None) -> int:
        where, params = [], []
        if querier is not None:
            where.append("querier = ?")
            params.append(querier)
        if budget_period is not None:
            where.append("budget_period = ?")
            params.append(budget_period)
        # ``ledger_totals`` (schema version 8) is kept by a trigger in the very transaction of
        # each charge: a few rows per querier and period instead of the whole ledger.
        sql = "SELECT COALESCE(SUM(spent_micro), 0) FROM ledger_totals"
        if where:
            sql += " WHERE " + " AND ".join(where)
        return int(conn.execute(sql, params).fetchone()[0])

    def check(self, querier: str, caps: BudgetCaps, cost_micro: int,
              operator_request: str = "") -> None:
        """Raise if ``cost_micro`` does not fit every cap now (a pre-check: commit re-checks),
        or if the operator's signed request ``operator_request`` was already charged."""
        with self._store.reading() as conn:
            self._check(conn, querier, caps, cost_micro, operator_request)

    def _check(self, conn: Any, querier: str, caps: BudgetCaps, cost_micro: int,
               operator_request: str = "") -> None:
        if operator_request and conn.execute(
                "SELECT 1 FROM ledger WHERE operator = ? AND operator_request = ?",
                (caps.operator_name, operator_request)).fetchone() is not None:
            raise QueryConflictError(
                f"operator {caps.operator_name!r} signed query id {operator_request} once and "
                "it was already charged; a signed request is answered once (ask anew to sign "
                "a new one)")
        caps.querier.check(self._spent(conn, querier, caps.period), cost_micro)
        caps.node.check(self._spent(conn, None, caps.period), cost_micro)
        if caps.lifetime is not None:
            caps.lifetime.check(self._spent(conn, None, None), cost_micro)
        if caps.operator is not None:
            caps.operator.check(self._operator_spent(conn, querier, caps.operator_name,
                                                    caps.period), cost_micro)

    @staticmethod
    def _operator_spent(conn: Any, querier: str, operator: str, budget_period: str) -> int:
        """What ``operator`` spent for ``querier`` in ``budget_period`` (ledger_by_operator)."""
        return int(conn.execute(
            "SELECT COALESCE(SUM(cost_micro), 0) FROM ledger"
            " WHERE querier = ? AND operator = ? AND budget_period = ?",
            (querier, operator, budget_period)).fetchone()[0])

    def operator_totals(self) -> dict[tuple[str, str, str], int]:
        """Spent per (querier, operator, period) by signed queries, for the budget views."""
        with self._store.reading() as conn:
            rows = conn.execute(
                "SELECT querier, operator, budget_period, SUM(cost_micro) FROM ledger"
                " WHERE operator != '' GROUP BY 1, 2, 3 ORDER BY 3, 1, 2").fetchall()
        return {(r[0], r[1], r[2]): int(r[3]) for r in rows}

    @staticmethod
    def _head(conn: Any) -> tuple[int, str]:
        last = conn.execute(
            "SELECT seq, entry_hash FROM ledger ORDER BY seq DESC LIMIT 1").fetchone()
        return (int(last[0]), str(last[1])) if last else (0, GENESIS)

    def head(self) -> tuple[int, str]:
        """The last entry's sequence number and hash; ``(0, GENESIS)`` for an empty ledger."""
        with self._store.reading() as conn:
            return self._head(conn)

    def commit(self, charge: Charge, caps: BudgetCaps) -> Committed:
        """Charge and store the answer atomically, or raise and write nothing.

        If a concurrent retry of the same query id committed first, its answer is returned and
        nothing is written (so the querier is never charged twice).
        """
        with self._store.transaction() as conn:
            stored = self._stored(conn, charge.querier, charge.query_id)
            if stored is not None:
                if stored.query_digest != charge.query_digest:
                    raise QueryConflictError(
                        "this query id was already used for a different query; use a new id"
                    )
                return Committed(stored, written=False)
            other = conn.execute(  # entries without a unit (before version 3) count as ε
                "SELECT 1 FROM ledger_totals WHERE unit != ? LIMIT 1", (charge.unit,),
            ).fetchone()
            if other is not None:
                raise LedgerUnitError(f"the ledger holds charges in another unit than "
                                      f"{charge.unit}; refusing to mix them")
            self._check(conn, charge.querier, caps, charge.cost_micro, charge.operator_request)
            last_seq, prev = self._head(conn)
            sequence = last_seq + 1
            record = LedgerRecord(
                sequence=sequence,
                created_at=datetime.now(UTC).isoformat(timespec="milliseconds"),
                querier=charge.querier,
                query_id=charge.query_id,
                query_digest=charge.query_digest,
                mechanism=charge.mechanism,
                cost_micro=charge.cost_micro,
                budget_period=charge.budget_period,
                catalogue_version=charge.catalogue_version,
                prev_hash=prev,
                entry_hash="",
                unit=charge.unit,
                noise=charge.noise,
                operator=charge.operator,
                operator_request=charge.operator_request,
            )
            digest = record.computed_hash()
            conn.execute(
                f"INSERT INTO ledger ({_COLUMNS}) VALUES "
                "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (record.sequence, record.created_at, record.querier, record.query_id,
                 record.query_digest, record.mechanism, record.cost_micro,
                 record.budget_period, record.catalogue_version, prev, digest, record.unit,
                 record.noise, record.operator, record.operator_request),
            )
            conn.execute(
                "INSERT INTO answers (querier, query_id, query_digest, answer, ledger_seq) "
                "VALUES (?, ?, ?, ?, ?)",
                (charge.querier, charge.query_id, charge.query_digest, charge.answer, sequence),
            )
        return Committed(StoredAnswer(charge.query_digest, charge.answer, sequence, digest),
                         written=True)

    def entries(self, after_sequence: int = 0) -> list[LedgerEntry]:
        with self._store.reading() as conn:
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM ledger WHERE seq > ? ORDER BY seq", (after_sequence,)
            ).fetchall()
        return [_row_to_entry(row) for row in rows]

    def totals(self) -> dict[tuple[str, str], int]:
        """Spent per (querier, period), for the operator's budget view."""
        with self._store.reading() as conn:
            rows = conn.execute(
                "SELECT querier, budget_period, SUM(spent_micro) FROM ledger_totals"
                " GROUP BY querier, budget_period ORDER BY budget_period, querier"
            ).fetchall()
        return {(r[0], r[1]): int(r[2]) for r in rows}


def verify_chain(entries: list[LedgerEntry]) -> list[str]:
    """Problems found in a ledger's hash chain (empty when it is intact).

    The auditor's fuller check, which names deletions, edits and rollbacks and uses the
    aggregator's receipts, is ``privacy.audit``.
    """
    problems: list[str] = []
    prev = GENESIS
    for expected_seq, entry in enumerate(entries, start=1):
        if entry.sequence != expected_seq:
            problems.append(f"entry {entry.sequence}: expected sequence {expected_seq}")
        if entry.prev_hash != prev:
            problems.append(f"entry {entry.sequence}: does not follow the previous entry")
        if entry.computed_hash() != entry.entry_hash:
            problems.append(f"entry {entry.sequence}: content does not match its hash")
        prev = entry.entry_hash
    return problems
