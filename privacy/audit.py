"""Auditing a node's ledger: the chain, the signatures, the caps and the receipts.

An auditor holds a **ledger export** (written by the node, signed) and, optionally, the
**receipts** the aggregator kept (one per answer, signed by the node at reply time). From them
``audit`` names what it finds:

========================  ============================================================
``ENTRY_EDITED``          an entry's content no longer matches its hash, or differs from what
                          the node signed in a receipt
``ENTRY_MISSING``         the chain skips sequence numbers: entries were deleted
``ENTRY_DELETED``         a receipted entry is absent from the ledger while later ones remain
``ROLLED_BACK``           the receipts name entries (or a head) beyond what the ledger holds:
                          it was restored from an earlier copy, or its last entries deleted
``HEAD_DIVERGED``         the ledger's entry at a signed head has another hash: the history
                          the node signed was replaced
``CHAIN_BROKEN``          an entry does not follow the previous one (rewritten history)
``CHAIN_REWRITTEN``       a receipted entry is present with its signed content but another
                          hash or position: the chain before it was rewritten
``SIGNATURE_INVALID``     the export's statement is not signed by the key it names
``HEAD_MISMATCH``         the signed head is not the export's last entry
``RECEIPT_INVALID``       a receipt's signature does not verify (the receipt is ignored)
``KEY_MISMATCH``          a receipt was signed by another key than the export's
``OVER_CAP``              spending exceeds a cap the node states
``UNKNOWN_QUERIER``       (warning) charges for a querier not in the node's current policy
``KEY_UNCERTIFIED``       (warning) the signing key is not checked against the federation CA
``KEY_NOT_CERTIFIED``     the signing key's certificate does not verify, or is another key's
``CAP_UNLIMITED``         (warning) the node states no long-horizon cap
``CAP_HIGH``              (warning) a cap, as ε, is above ``CAP_THRESHOLDS_EPSILON``
========================  ============================================================

The thresholds are not limits the node enforces (node.toml has its own hard limits); they are
where an auditor should ask the organisation why: a yearly ε above them protects little.

What this proves, and what it does not, is in docs/privacy.md. Signature checking is injected
(``Verifier``): this package never imports a cryptography library or sees a key.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from privacy.accounting import LossRule
from privacy.budget import format_micro
from privacy.catalogue import Accounting
from privacy.receipts import GENESIS, LedgerRecord, LedgerStatement, Receipt, SignedReceipt

__all__ = [
    "AuditResult",
    "Finding",
    "LedgerExport",
    "Totals",
    "Verifier",
    "audit",
    "cap_flag",
    "cap_policy_findings",
    "chain_findings",
    "totals_of",
]

EXPORT_FORMAT = "koepel-ledger-export/1"
# Where a cap stops looking like a privacy guarantee, in ε (µε): one querier in one period,
# all queriers together in one period, all periods together. Documented in docs/privacy.md.
CAP_THRESHOLDS_EPSILON: Mapping[str, int] = {
    "querier": 5_000_000, "node": 10_000_000, "lifetime": 50_000_000}
Verifier = Callable[[bytes, bytes, bytes], bool]  # (public key, payload, signature) -> valid


@dataclass(frozen=True)
class Finding:
    """One problem found, with a stable ``kind`` and a message that names the entries."""

    kind: str
    detail: str
    sequence: int | None = None
    severity: str = "error"  # or "warning"


@dataclass(frozen=True)
class LedgerExport:
    """A node's ledger as exported: its entries and its signed statement (head, caps, rule)."""

    node_id: str
    records: tuple[LedgerRecord, ...]
    statement_payload: bytes
    signature: bytes
    public_key: bytes
    signing_certificate: bytes = b""  # PEM: the CA's certificate for ``public_key``, if any

    @property
    def statement(self) -> LedgerStatement:
        return LedgerStatement.from_payload(self.statement_payload)

    def to_json(self) -> str:
        raw: dict[str, Any] = {
            "format": EXPORT_FORMAT,
            "node_id": self.node_id,
            "public_key": self.public_key.hex(),
            "statement": self.statement_payload.decode("utf-8"),
            "signature": self.signature.hex(),
            "entries": [r.to_dict() for r in self.records],
        }
        if self.signing_certificate:
            raw["signing_certificate"] = self.signing_certificate.decode("ascii")
        return json.dumps(raw, indent=1, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> LedgerExport:
        try:
            raw = json.loads(text)
        except json.JSONDecodeError:
            raise ValueError("not a koepel ledger export (invalid JSON)") from None
        if not isinstance(raw, dict) or raw.get("format") != EXPORT_FORMAT:
            raise ValueError(f"not a koepel ledger export (expected format {EXPORT_FORMAT})")
        try:
            return cls(
                node_id=str(raw["node_id"]),
                records=tuple(LedgerRecord.from_dict(e) for e in raw["entries"]),
                statement_payload=str(raw["statement"]).encode("utf-8"),
                signature=bytes.fromhex(raw["signature"]),
                public_key=bytes.fromhex(raw["public_key"]),
                signing_certificate=str(raw.get("signing_certificate", "")).encode("ascii"),
            )
        except (KeyError, TypeError, ValueError):
            raise ValueError("the ledger export lacks a field or has a malformed one") from None


@dataclass(frozen=True)
class Totals:
    """Spending in the ledger's unit: per (querier, period), per period, and overall; and per
    (querier, operator, period) for the charges an operator signed."""

    per_querier: Mapping[tuple[str, str], int]
    per_period: Mapping[str, int]
    overall: int
    per_operator: Mapping[tuple[str, str, str], int] = field(default_factory=dict)


def totals_of(records: Sequence[LedgerRecord]) -> Totals:
    per_querier: dict[tuple[str, str], int] = defaultdict(int)
    per_period: dict[str, int] = defaultdict(int)
    per_operator: dict[tuple[str, str, str], int] = defaultdict(int)
    for record in records:
        per_querier[(record.querier, record.budget_period)] += record.cost_micro
        per_period[record.budget_period] += record.cost_micro
        if record.operator:
            per_operator[(record.querier, record.operator, record.budget_period)] += (
                record.cost_micro)
    return Totals(dict(per_querier), dict(per_period), sum(per_period.values()),
                  dict(per_operator))


@dataclass(frozen=True)
class AuditResult:
    node_id: str
    findings: tuple[Finding, ...]
    totals: Totals
    statement: LedgerStatement | None
    receipts_checked: int = 0
    entries: int = 0
    kinds: frozenset[str] = field(default_factory=frozenset)

    @property
    def ok(self) -> bool:
        return not any(f.severity == "error" for f in self.findings)


def chain_findings(records: Sequence[LedgerRecord]) -> list[Finding]:
    """Check the hash chain on its own: gaps (deletions), edits and broken links."""
    findings: list[Finding] = []
    expected, prev = 1, GENESIS
    for record in records:
        edited = record.computed_hash() != record.entry_hash
        if record.sequence > expected:
            missing = (f"entry {expected}" if record.sequence == expected + 1
                       else f"entries {expected}–{record.sequence - 1}")
            findings.append(Finding("ENTRY_MISSING", f"{missing} missing from the chain "
                                    "(deleted)", expected))
        elif record.sequence < expected:
            findings.append(Finding("CHAIN_BROKEN", f"entry {record.sequence} appears out of "
                                    "order or twice", record.sequence))
        elif record.prev_hash != prev:
            findings.append(Finding("CHAIN_BROKEN", f"entry {record.sequence} does not follow "
                                    f"entry {record.sequence - 1} (history rewritten)",
                                    record.sequence))
        if edited:
            findings.append(Finding("ENTRY_EDITED", f"entry {record.sequence}: content does not "
                                    "match its hash (edited)", record.sequence))
        expected, prev = max(expected, record.sequence + 1), record.entry_hash
    return findings


def _receipt_findings(records: Sequence[LedgerRecord], receipts: Sequence[Receipt]
                      ) -> list[Finding]:
    findings: list[Finding] = []
    by_query = {(r.querier, r.query_id): r for r in records}
    by_sequence = {r.sequence: r for r in records}
    last = records[-1].sequence if records else 0
    present: list[tuple[Receipt, LedgerRecord]] = []
    missing: list[Receipt] = []
    for receipt in sorted(receipts, key=lambda r: r.entry_sequence):
        record = by_query.get((receipt.querier, receipt.query_id))
        if record is None:
            missing.append(receipt)
        else:
            present.append((receipt, record))
    if missing:
        first = min(r.entry_sequence for r in missing)
        later_present = [r for r, _ in present if r.entry_sequence > first]
        if not later_present:
            top = max(max(r.entry_sequence for r in missing),
                      max(r.head_sequence for r in receipts))
            findings.append(Finding(
                "ROLLED_BACK",
                f"ledger rolled back: the node signed entries up to {top} but "
                f"{len(missing)} receipted entries from entry {first} on are missing (the "
                f"ledger ends at entry {last}); it was restored from an earlier copy or its "
                "last entries were deleted", first))
        else:
            findings.extend(
                Finding("ENTRY_DELETED",
                        f"entry {r.entry_sequence} (query {r.query_id} of {r.querier}, "
                        f"cost {format_micro(r.cost_micro)} {r.unit}) is receipted but absent "
                        "from the ledger (deleted)", r.entry_sequence)
                for r in missing)
    top_head = max((r.head_sequence for r in receipts), default=0)
    if top_head > last and not missing:
        findings.append(Finding(
            "ROLLED_BACK", f"ledger rolled back: the node signed a head at entry {top_head} but "
            f"the ledger ends at entry {last}", last + 1))
    for receipt, record in present:
        if (record.cost_micro, record.query_digest, record.effective_unit) != (
                receipt.cost_micro, receipt.query_digest, receipt.unit):
            findings.append(Finding(
                "ENTRY_EDITED",
                f"entry {record.sequence} (query {receipt.query_id}): the ledger shows cost "
                f"{format_micro(record.cost_micro)} {record.effective_unit}, the node signed "
                f"{format_micro(receipt.cost_micro)} {receipt.unit}", record.sequence))
        elif (record.sequence, record.entry_hash) != (receipt.entry_sequence,
                                                      receipt.entry_hash):
            findings.append(Finding(
                "CHAIN_REWRITTEN",
                f"entry for query {receipt.query_id} is now entry {record.sequence}; the node "
                f"signed it as entry {receipt.entry_sequence} with another hash: the chain "
                "before it was rewritten", record.sequence))
    diverged = sorted({(r.head_sequence, r.head_hash) for r in receipts
                       if r.head_sequence in by_sequence
                       and by_sequence[r.head_sequence].entry_hash != r.head_hash})
    if diverged:
        sequence, _ = diverged[0]
        findings.append(Finding(
            "HEAD_DIVERGED", f"the node signed entry {sequence} as its ledger head with a hash "
            f"the ledger's entry {sequence} does not have ({len(diverged)} signed heads "
            "diverge): the history it signed was replaced", sequence))
    return findings


def _cap_findings(totals: Totals, statement: LedgerStatement) -> list[Finding]:
    findings: list[Finding] = []
    unit = statement.unit
    for (querier, period), spent in sorted(totals.per_querier.items()):
        cap = statement.querier_caps.get(querier)
        if cap is None:
            findings.append(Finding("UNKNOWN_QUERIER", f"{format_micro(spent)} {unit} charged "
                                    f"to {querier} in {period}, who is not in the node's "
                                    "current policy", severity="warning"))
        elif spent > cap:
            findings.append(Finding("OVER_CAP", f"querier {querier} spent {format_micro(spent)} "
                                    f"{unit} in {period}, over its cap of {format_micro(cap)}"))
    for (querier, operator, period), spent in sorted(totals.per_operator.items()):
        own = statement.operator_caps.get(querier, {}).get(operator)
        if own is not None and spent > own:
            findings.append(Finding("OVER_CAP", f"operator {operator} of querier {querier} "
                                    f"spent {format_micro(spent)} {unit} in {period}, over "
                                    f"its own cap of {format_micro(own)}"))
    for period, spent in sorted(totals.per_period.items()):
        if spent > statement.node_cap:
            findings.append(Finding("OVER_CAP", f"all queriers together spent "
                                    f"{format_micro(spent)} {unit} in {period}, over the "
                                    f"node-wide cap of {format_micro(statement.node_cap)}"))
    if statement.lifetime_cap is not None and totals.overall > statement.lifetime_cap:
        findings.append(Finding("OVER_CAP", f"all periods together: {format_micro(totals.overall)}"
                                f" {unit}, over the long-horizon cap of "
                                f"{format_micro(statement.lifetime_cap)}"))
    return findings + cap_policy_findings(statement)


def cap_flag(statement: LedgerStatement, scope: str, cap: int | None) -> str:
    """``unlimited``, ``above threshold`` or ``""`` for one cap (in the statement's unit)."""
    if cap is None:
        return "unlimited"
    return "above threshold" if epsilon_of(statement, cap) > CAP_THRESHOLDS_EPSILON[scope] else ""


def cap_policy_findings(statement: LedgerStatement) -> list[Finding]:
    """Warnings on the caps themselves: none at all over the long run, or very high ones.

    They do not fail an audit (the node kept to what it states); they make a cap that protects
    little stand out in every audit rather than hide in a number.
    """
    scoped: list[tuple[str, str, int | None]] = [("querier", f"querier {querier}", cap)
              for querier, cap in sorted(statement.querier_caps.items())]
    scoped += [("node", "the node-wide cap", statement.node_cap),
               ("lifetime", "the long-horizon cap", statement.lifetime_cap)]
    findings = []
    for scope, name, cap in scoped:
        flag = cap_flag(statement, scope, cap)
        if flag == "unlimited":
            findings.append(Finding("CAP_UNLIMITED", "the node states no long-horizon cap: "
                                    "all periods together may spend without limit",
                                    severity="warning"))
        elif flag:
            assert cap is not None
            findings.append(Finding(
                "CAP_HIGH", f"{name} is ε {format_micro(epsilon_of(statement, cap))}, above the "
                f"threshold of {format_micro(CAP_THRESHOLDS_EPSILON[scope])} an auditor should "
                "question", severity="warning"))
    return findings


def audit(export: LedgerExport, receipts: Sequence[SignedReceipt] = (),
          verify: Verifier | None = None, flags: Sequence[Finding] = ()) -> AuditResult:
    """Check ``export`` on its own and against ``receipts``; name every problem found.

    ``receipts`` for other nodes are ignored. ``flags`` are findings recorded elsewhere (for
    example a head that went backwards, seen by the aggregator) and are passed through.
    """
    findings: list[Finding] = []
    statement: LedgerStatement | None = None
    if verify is not None and not verify(export.public_key, export.statement_payload,
                                         export.signature):
        findings.append(Finding("SIGNATURE_INVALID", "the export's statement is not signed by "
                                "the key it names"))
    try:
        statement = export.statement
    except ValueError as error:
        findings.append(Finding("SIGNATURE_INVALID", f"the export's statement is unreadable: "
                                f"{error}"))
    records = list(export.records)
    findings.extend(chain_findings(records))
    if statement is not None:
        last = (records[-1].sequence, records[-1].entry_hash) if records else (0, GENESIS)
        if statement.node_id != export.node_id:
            findings.append(Finding("SIGNATURE_INVALID", "the statement names another node"))
        if (statement.head_sequence, statement.head_hash) != last:
            findings.append(Finding("HEAD_MISMATCH", f"the node signed head entry "
                                    f"{statement.head_sequence}, the export ends at entry "
                                    f"{last[0]}"))
    checked: list[Receipt] = []
    for signed in receipts:
        try:
            receipt = signed.receipt
        except ValueError:
            findings.append(Finding("RECEIPT_INVALID", "a receipt is unreadable; ignored"))
            continue
        if receipt.node_id != export.node_id:
            continue
        if verify is not None and not verify(signed.public_key, signed.payload,
                                             signed.signature):
            findings.append(Finding("RECEIPT_INVALID", f"the receipt for query "
                                    f"{receipt.query_id} does not verify; ignored",
                                    receipt.entry_sequence))
            continue
        if signed.public_key != export.public_key:
            findings.append(Finding("KEY_MISMATCH", f"the receipt for query {receipt.query_id} "
                                    "was signed by another key than the export's",
                                    receipt.entry_sequence))
        checked.append(receipt)
    findings.extend(_receipt_findings(records, checked))
    totals = totals_of(records)
    if statement is not None:
        findings.extend(_cap_findings(totals, statement))
    findings.extend(flags)
    return AuditResult(export.node_id, tuple(findings), totals, statement, len(checked),
                       len(records), frozenset(f.kind for f in findings))


def epsilon_of(statement: LedgerStatement, units_micro: int) -> int:
    """An amount in the statement's unit as ε (µε, rounded up; δ as stated under zCDP)."""
    accounting = Accounting(statement.accounting)
    delta = Decimal(statement.delta) if accounting is Accounting.ZCDP else None
    return LossRule(accounting, delta).epsilon_of(units_micro)


def report_rows(result: AuditResult) -> list[dict[str, Any]]:
    """Per-querier (and per-operator), per-period totals with their caps (rows for tables,
    JSON and CSV). ``operator`` is empty on a querier's row and on the node-wide rows; an
    operator's row has its own cap, or none (``cap`` None) when the node gives it none."""
    rows: list[dict[str, Any]] = []
    statement = result.statement
    unit = statement.unit if statement else "epsilon"

    def row(querier: str, period: str, spent: int, cap: int | None,
            scope: str = "querier", operator: str = "") -> dict[str, Any]:
        as_epsilon = epsilon_of(statement, spent) if statement else spent
        return {"node": result.node_id, "querier": querier, "operator": operator,
                "period": period, "unit": unit,
                "spent": format_micro(spent), "cap": None if cap is None else format_micro(cap),
                "spent_epsilon": format_micro(as_epsilon),
                "within_cap": cap is None or spent <= cap,
                "cap_flag": cap_flag(statement, scope, cap)
                if statement and not (operator and cap is None) else ""}

    for (querier, period), spent in sorted(result.totals.per_querier.items(),
                                           key=lambda kv: (kv[0][1], kv[0][0])):
        cap = statement.querier_caps.get(querier) if statement else None
        rows.append(row(querier, period, spent, cap))
        for (q, operator, p), own in sorted(result.totals.per_operator.items()):
            if (q, p) == (querier, period):
                limit = statement.operator_caps.get(q, {}).get(operator) if statement else None
                rows.append(row(querier, period, own, limit, "querier", operator))
    for period, spent in sorted(result.totals.per_period.items()):
        rows.append(row("(all queriers)", period, spent, statement.node_cap if statement
                        else None, "node"))
    rows.append(row("(all queriers)", "(all periods)", result.totals.overall,
                    statement.lifetime_cap if statement else None, "lifetime"))
    return rows
