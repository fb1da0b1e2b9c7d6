"""What a node signs: ledger entries, answer receipts and ledger statements (canonical forms).

Node, aggregator and auditor must agree to the byte on what was hashed and signed, and they may
not import each other, so the canonical forms live here (standard library only). Signing and
verifying (Ed25519) happen outside this package, which never sees a key.

* A **ledger record** is one charge. Its hash covers the previous record's hash and its own
  fields as canonical JSON, so the records form a chain: changing, removing or reordering one
  changes every later hash.
* A **receipt** is signed for every answer: it names the query, a digest of the released values,
  the ledger entry that charged them and the ledger head at the time of the reply. The
  aggregator keeps receipts; an auditor uses them to prove that a ledger lost nothing.
* A **statement** is signed for every ledger export: the head, the caps and the accounting rule.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = [
    "GENESIS",
    "LedgerRecord",
    "LedgerStatement",
    "Receipt",
    "SignedReceipt",
    "answer_digest",
    "canonical_json",
    "entry_hash",
]

GENESIS = "0" * 64
RECEIPT_FORMAT = "koepel-receipt/1"
STATEMENT_FORMAT = "koepel-ledger-statement/1"
# Added later (unit, noise: schema v3; operator, operator_request: the operator attribution);
# left out of the hash when empty, so entries written before them keep verifying.
_OPTIONAL_FIELDS = ("unit", "noise", "operator", "operator_request")


def canonical_json(data: Mapping[str, Any]) -> bytes:
    """Sorted keys, no spaces, UTF-8: the one serialisation that is hashed or signed."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def entry_hash(prev_hash: str, fields: Mapping[str, Any]) -> str:
    """SHA-256 over the previous hash and the entry's canonical JSON."""
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256((prev_hash + canonical).encode()).hexdigest()


@dataclass(frozen=True)
class LedgerRecord:
    """One ledger entry (one charged answer), as stored, exported and audited."""

    sequence: int
    created_at: str
    querier: str
    query_id: str
    query_digest: str
    mechanism: str
    cost_micro: int  # in ``unit``: µε, or µρ under zCDP
    budget_period: str
    catalogue_version: str
    prev_hash: str
    entry_hash: str
    unit: str = ""  # "epsilon" or "rho"; empty in entries written before schema v2 (ε)
    noise: str = ""  # per released vector: kind, scale and sensitivity
    operator: str = ""  # the operator who signed the query (wire.attribution); "" if none did
    operator_request: str = ""  # the query id that operator signed

    def hashed_fields(self) -> dict[str, Any]:
        """The fields the entry's hash covers (empty optional fields are left out)."""
        fields = {k: v for k, v in asdict(self).items() if k not in ("prev_hash", "entry_hash")}
        for name in _OPTIONAL_FIELDS:
            if fields[name] == "":
                del fields[name]
        return fields

    def computed_hash(self) -> str:
        return entry_hash(self.prev_hash, self.hashed_fields())

    @property
    def effective_unit(self) -> str:
        return self.unit or "epsilon"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> LedgerRecord:
        try:
            return cls(
                sequence=int(raw["sequence"]), created_at=str(raw["created_at"]),
                querier=str(raw["querier"]), query_id=str(raw["query_id"]),
                query_digest=str(raw["query_digest"]), mechanism=str(raw["mechanism"]),
                cost_micro=int(raw["cost_micro"]), budget_period=str(raw["budget_period"]),
                catalogue_version=str(raw["catalogue_version"]),
                prev_hash=str(raw["prev_hash"]), entry_hash=str(raw["entry_hash"]),
                unit=str(raw.get("unit", "")), noise=str(raw.get("noise", "")),
                operator=str(raw.get("operator", "")),
                operator_request=str(raw.get("operator_request", "")),
            )
        except (KeyError, TypeError, ValueError):
            raise ValueError("a ledger entry lacks a field or has a malformed one") from None


def answer_digest(*, query_id: str, node_id: str, cells: Sequence[Sequence[str]],
                  vectors: Mapping[str, Sequence[int]], catalogue_version: str) -> str:
    """SHA-256 of the released content of an answer, as both ends of the wire see it.

    ``vectors`` maps "count", "sum", "histogram" and/or "clamped" to the released integers.
    """
    return hashlib.sha256(canonical_json({
        "query_id": query_id,
        "node_id": node_id,
        "cells": [list(c) for c in cells],
        "vectors": {k: [int(v) for v in values] for k, values in sorted(vectors.items())},
        "catalogue_version": catalogue_version,
    })).hexdigest()


def _load(payload: bytes, expected_format: str) -> dict[str, Any]:
    try:
        raw = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ValueError("not a koepel payload (invalid JSON)") from None
    if not isinstance(raw, dict) or raw.get("format") != expected_format:
        raise ValueError(f"not a {expected_format} payload")
    return raw


@dataclass(frozen=True)
class Receipt:
    """What the node signs with every answer."""

    node_id: str
    querier: str
    query_id: str
    query_digest: str
    answer_digest: str
    entry_sequence: int
    entry_hash: str
    cost_micro: int
    unit: str
    head_sequence: int
    head_hash: str
    signed_at: str

    def to_payload(self) -> bytes:
        return canonical_json({"format": RECEIPT_FORMAT, **asdict(self)})

    @classmethod
    def from_payload(cls, payload: bytes) -> Receipt:
        raw = _load(payload, RECEIPT_FORMAT)
        try:
            return cls(
                node_id=str(raw["node_id"]), querier=str(raw["querier"]),
                query_id=str(raw["query_id"]), query_digest=str(raw["query_digest"]),
                answer_digest=str(raw["answer_digest"]),
                entry_sequence=int(raw["entry_sequence"]), entry_hash=str(raw["entry_hash"]),
                cost_micro=int(raw["cost_micro"]), unit=str(raw["unit"]),
                head_sequence=int(raw["head_sequence"]), head_hash=str(raw["head_hash"]),
                signed_at=str(raw["signed_at"]),
            )
        except (KeyError, TypeError, ValueError):
            raise ValueError("a receipt lacks a field or has a malformed one") from None


@dataclass(frozen=True)
class SignedReceipt:
    """A receipt payload with the node's Ed25519 signature and public key, as kept."""

    payload: bytes
    signature: bytes
    public_key: bytes

    @property
    def receipt(self) -> Receipt:
        return Receipt.from_payload(self.payload)


@dataclass(frozen=True)
class LedgerStatement:
    """What the node signs with every ledger export: its head, caps and accounting rule.

    Caps are in ``unit`` (what the node enforces); ``caps_epsilon`` are the configured ε.
    ``lifetime_cap`` is ``None`` when the node has no long-horizon cap. ``operator_caps`` are
    the operators' own caps within a querier's (querier → operator → cap, in ``unit``).
    """

    node_id: str
    exported_at: str
    head_sequence: int
    head_hash: str
    accounting: str
    unit: str
    delta: str
    period: str
    querier_caps: Mapping[str, int]
    node_cap: int
    lifetime_cap: int | None
    caps_epsilon: Mapping[str, int | None] = field(default_factory=dict)
    operator_caps: Mapping[str, Mapping[str, int]] = field(default_factory=dict)

    def to_payload(self) -> bytes:
        raw = asdict(self)
        raw["querier_caps"] = dict(self.querier_caps)
        raw["caps_epsilon"] = dict(self.caps_epsilon)
        raw["operator_caps"] = {q: dict(c) for q, c in self.operator_caps.items()}
        return canonical_json({"format": STATEMENT_FORMAT, **raw})

    @classmethod
    def from_payload(cls, payload: bytes) -> LedgerStatement:
        raw = _load(payload, STATEMENT_FORMAT)
        try:
            lifetime = raw["lifetime_cap"]
            return cls(
                node_id=str(raw["node_id"]), exported_at=str(raw["exported_at"]),
                head_sequence=int(raw["head_sequence"]), head_hash=str(raw["head_hash"]),
                accounting=str(raw["accounting"]), unit=str(raw["unit"]),
                delta=str(raw["delta"]), period=str(raw["period"]),
                querier_caps={str(k): int(v) for k, v in dict(raw["querier_caps"]).items()},
                node_cap=int(raw["node_cap"]),
                lifetime_cap=None if lifetime is None else int(lifetime),
                caps_epsilon={str(k): None if v is None else int(v)
                              for k, v in dict(raw.get("caps_epsilon", {})).items()},
                operator_caps={str(q): {str(o): int(c) for o, c in dict(caps).items()}
                               for q, caps in dict(raw.get("operator_caps", {})).items()},
            )
        except (KeyError, TypeError, ValueError):
            raise ValueError("a ledger statement lacks a field or has a malformed one") from None
