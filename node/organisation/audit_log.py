"""The node-local audit log of identity-level exports and record access: who, when, what —
never a record value.

A person's transfer record and the regional forms leave the node as files with personal data in
them, by the organisation's own decision (on the person's request, or for the administration).
Each such export appends one line here, in the encrypted store: the operator who ran it, the
time, the kind of export, whose record it was (the pseudonym, or ``*`` for a list of people) and
a detail made only of counts, the format and the SHA-256 of what was written, so that a file
found later can be matched to its export. The table is append-only (SQL triggers refuse updates
and deletes), like the privacy ledger.
"""

from __future__ import annotations

import getpass
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from node.store.database import Store

__all__ = ["ACCESS_ACTIONS", "AuditEntry", "audit_entries", "current_actor", "record_access",
           "record_export"]

ACTIONS = ("transfer_export", "forms_export")
# What the web app (`koepel node web`) logs: each view or change of a person's record, and each
# list of people shown. The subject is the pseudonym (``*`` for a list); the detail says only
# through what and, for changes, which kind of record — never a value.
ACCESS_ACTIONS = ("person_view", "person_create", "contract_add", "support_action_add",
                  "assessment_add", "plan_add", "plan_review_add", "self_evaluation_add",
                  "contract_edit", "plan_close", "goal_edit",
                  "support_action_edit", "support_action_delete", "assessment_edit",
                  "assessment_delete", "self_evaluation_edit", "self_evaluation_delete",
                  "name_edit",
                  "account_add", "account_reset", "account_disable", "vocabulary_edit",
                  "people_list", "report_view")


@dataclass(frozen=True)
class AuditEntry:
    sequence: int
    created_at: str
    actor: str
    action: str
    subject: str
    detail: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {"sequence": self.sequence, "created_at": self.created_at, "actor": self.actor,
                "action": self.action, "subject": self.subject, "detail": self.detail}


def current_actor() -> str:
    """The operating-system account running the command (the default "who")."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _check_detail(detail: dict[str, Any]) -> str:
    """Details are counts, codes, digests and short labels: refuse anything else."""
    def ok(value: Any) -> bool:
        if isinstance(value, bool | int | float) or value is None:
            return True
        if isinstance(value, str):
            return len(value) <= 200
        if isinstance(value, list):
            return all(ok(v) for v in value)
        if isinstance(value, dict):
            return all(isinstance(k, str) and ok(v) for k, v in value.items())
        return False

    if not ok(detail):
        raise ValueError("an audit detail holds counts, codes and digests only")
    return json.dumps(detail, sort_keys=True, separators=(",", ":"))


def record_export(store: Store, *, actor: str, action: str, subject: str,
                  detail: dict[str, Any], when: datetime | None = None) -> AuditEntry:
    """Append one export to the log (its own transaction) and return it."""
    if action not in ACTIONS and action not in ACCESS_ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    created = (when or datetime.now(UTC)).isoformat(timespec="seconds")
    text = _check_detail(detail)
    actor = actor.strip()[:100] or "unknown"
    with store.transaction() as conn:
        cursor = conn.execute(
            "INSERT INTO audit_log (created_at, actor, action, subject, detail) "
            "VALUES (?, ?, ?, ?, ?)", (created, actor, action, subject, text))
        sequence = int(cursor.lastrowid)
    return AuditEntry(sequence, created, actor, action, subject, json.loads(text))


def record_access(store: Store, *, actor: str, action: str, subject: str,
                  detail: dict[str, Any] | None = None) -> AuditEntry:
    """Append one view or change of a record (the web app's) to the log."""
    if action not in ACCESS_ACTIONS and action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    return record_export(store, actor=actor, action=action, subject=subject,
                         detail=detail or {})


def audit_entries(store: Store) -> list[AuditEntry]:
    with store.reading() as conn:
        rows = conn.execute("SELECT seq, created_at, actor, action, subject, detail "
                            "FROM audit_log ORDER BY seq").fetchall()
    return [AuditEntry(int(r[0]), r[1], r[2], r[3], r[4], json.loads(r[5])) for r in rows]
