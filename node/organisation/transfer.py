"""A person's accompaniment record, exported for a public employment service's counsellor.

When a person moves on to (or is followed up by) VDAB, Forem or Actiris, their counsellor needs
what the organisation built up with them: the trajectory, the support received, how competences
and self-evaluations evolved, the plan goals. The person has a right to it (GDPR art. 15 and 20),
and the export is made on their request. The format, ``koepel-transfer/1``, is documented in
docs/transfer-format.md with a JSON Schema (docs/transfer-format.schema.json).

Codes are the federation's (with the organisation's own code beside them and a label), so a
counsellor reads the same words whichever organisation sent the record. Scores are normalised to
[0, 1] from the organisation's own scale. The organisation's own id of the person is included as
given by the operator (the node itself only holds its pseudonym), so the recipient can match the
record to the person. Internal keys are left out: they mean nothing outside the node.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from node.imports.records import SELF_EVALUATION_ITEMS
from node.imports.vocabulary import FED_COMPETENCES, FED_SUPPORT_ACTIONS
from node.organisation.person import ChangeLine, PersonRecord

__all__ = ["TRANSFER_FORMAT", "build_transfer", "transfer_bytes", "transfer_counts"]

TRANSFER_FORMAT = "koepel-transfer/1"

_NOTE = ("Scores are normalised to [0, 1] from the sending organisation's own scale (0 = its "
         "lowest level, 1 = its highest); compare scores within one record, not across "
         "organisations. Codes follow the koepel federation vocabularies (labels included).")


def _progress(line: ChangeLine) -> dict[str, Any]:
    return {"code": line.code, "label": line.label, "answers": line.answers,
            "first": {"date": line.first_date, "score_norm": line.first},
            "last": {"date": line.last_date, "score_norm": line.last},
            "change": line.change}


def build_transfer(record: PersonRecord, *, node_id: str, organisation: str,
                   person_reference: str, exported_at: datetime | None = None
                   ) -> dict[str, Any]:
    """The ``koepel-transfer/1`` document for ``record``."""
    when = (exported_at or datetime.now(UTC)).isoformat(timespec="seconds")
    actions = [{"date": a["date"], "duration_min": a["duration_min"],
                "kind": {"code": a["federation_code"],
                         "label": FED_SUPPORT_ACTIONS.get(a["federation_code"], ""),
                         "local_code": a["local_code"]}}
               for a in record.support_actions]
    assessments = [{"date": a["date"], "competence": {
        "code": a["federation_code"], "label": FED_COMPETENCES.get(a["federation_code"], ""),
        "local_code": a["local_code"]}, "score_norm": a["score_norm"],
        "assessor": a["assessor"], "context": a["context"]} for a in record.assessments]
    evaluations = [{"date": e["date"], "item": {
        "code": e["item_code"], "label": SELF_EVALUATION_ITEMS.get(e["item_code"], "")},
        "score_norm": e["score_norm"]} for e in record.self_evaluations]
    return {
        "format": TRANSFER_FORMAT,
        "exported_at": when,
        "sender": {"node_id": node_id, "organisation": organisation},
        "person": {"organisation_reference": person_reference, **record.worker},
        "contracts": record.contracts,
        "exits": record.exits,
        "support_actions": actions,
        "support_summary": [{"quarter": s.quarter, "code": s.code, "label": s.label,
                             "actions": s.actions, "hours": round(s.hours, 2)}
                            for s in record.support_by_quarter()],
        "competence_assessments": assessments,
        "competence_progress": [_progress(c) for c in record.competences()],
        "support_plans": record.plans,
        "self_evaluations": evaluations,
        "self_evaluation_progress": [_progress(c) for c in record.self_evaluation_changes()],
        "notes": _NOTE,
    }


def transfer_bytes(document: dict[str, Any]) -> bytes:
    return (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def transfer_counts(document: dict[str, Any]) -> dict[str, int]:
    """How many entries of each kind a document holds (what the audit log records)."""
    return {key: len(document[key]) for key in (
        "contracts", "exits", "support_actions", "competence_assessments", "support_plans",
        "self_evaluations")}
