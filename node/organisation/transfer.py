"""A person's accompaniment record, exported for a public employment service's counsellor.

When a person moves on to (or is followed up by) VDAB, Forem or Actiris, their counsellor needs
what the organisation built up with them: the trajectory, the support received, how competences
and self-evaluations evolved, the plan goals. The person has a right to it (GDPR art. 15 and 20),
and the export is made on their request. The format, ``koepel-transfer/1``, is documented in
docs/transfer-format.md with a JSON Schema (docs/transfer-format.schema.json).

Codes are the federation's (with the organisation's own code beside them and a label), so a
counsellor reads the same words whichever organisation sent the record; the labels and
the reading note are in the document's ``language`` (fr, nl or en: the person's, or the
counsellor's), from the catalogue's labels (privacy/catalogues/labels.toml). Scores are
normalised to [0, 1] from the organisation's own scale. The organisation's own id of the
person is included as given by the operator (the node itself only holds its pseudonym), so the
recipient can match the record to the person. Internal keys are left out: they mean nothing
outside the node.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from node.organisation.person import ChangeLine, PersonRecord
from privacy.catalogue import LABEL_LANGUAGES, catalogue_labels

__all__ = ["TRANSFER_FORMAT", "TRANSFER_LANGUAGES", "build_transfer", "transfer_bytes",
           "transfer_counts"]

TRANSFER_FORMAT = "koepel-transfer/1"
TRANSFER_LANGUAGES = LABEL_LANGUAGES

_NOTE = {
    "en": "Scores are normalised to [0, 1] from the sending organisation's own scale (0 = its "
          "lowest level, 1 = its highest); compare scores within one record, not across "
          "organisations. Codes follow the koepel federation vocabularies (labels included).",
    "fr": "Les scores sont ramenés à [0, 1] depuis l'échelle propre à l'organisation qui envoie "
          "(0 = son niveau le plus bas, 1 = son niveau le plus haut) ; comparez les scores au "
          "sein d'un même dossier, pas d'une organisation à l'autre. Les codes suivent les "
          "vocabulaires de la fédération koepel (libellés inclus).",
    "nl": "De scores zijn herleid tot [0, 1] vanuit de eigen schaal van de organisatie die "
          "verstuurt (0 = haar laagste niveau, 1 = haar hoogste); vergelijk scores binnen één "
          "dossier, niet tussen organisaties. De codes volgen de vocabularia van de "
          "koepel-federatie (met labels).",
}


def _label(kind: str, code: str, language: str) -> str:
    """The federation's label of ``code`` in ``language``; "" for a code with none (an
    organisation-specific job-family competence, ``T:…``)."""
    entry = catalogue_labels().get(kind, {}).get(code)
    return entry[language] if entry is not None else ""


def _progress(line: ChangeLine, kind: str, language: str) -> dict[str, Any]:
    return {"code": line.code, "label": _label(kind, line.code, language) or line.label,
            "answers": line.answers,
            "first": {"date": line.first_date, "score_norm": line.first},
            "last": {"date": line.last_date, "score_norm": line.last},
            "change": line.change}


def build_transfer(record: PersonRecord, *, node_id: str, organisation: str,
                   person_reference: str, exported_at: datetime | None = None,
                   language: str = "en") -> dict[str, Any]:
    """The ``koepel-transfer/1`` document for ``record``, its labels in ``language``."""
    if language not in TRANSFER_LANGUAGES:
        raise ValueError(f"the transfer file's language is one of "
                         f"{', '.join(TRANSFER_LANGUAGES)}, not {language!r}")
    when = (exported_at or datetime.now(UTC)).isoformat(timespec="seconds")
    actions = [{"date": a["date"], "duration_min": a["duration_min"],
                "kind": {"code": a["federation_code"],
                         "label": _label("support_action", a["federation_code"], language),
                         "local_code": a["local_code"]}}
               for a in record.support_actions]
    assessments = [{"date": a["date"], "competence": {
        "code": a["federation_code"],
        "label": _label("competence", a["federation_code"], language),
        "local_code": a["local_code"]}, "score_norm": a["score_norm"],
        "assessor": a["assessor"], "context": a["context"]} for a in record.assessments]
    evaluations = [{"date": e["date"], "item": {
        "code": e["item_code"], "label": _label("self_evaluation", e["item_code"], language)},
        "score_norm": e["score_norm"]} for e in record.self_evaluations]
    return {
        "format": TRANSFER_FORMAT,
        "language": language,
        "exported_at": when,
        "sender": {"node_id": node_id, "organisation": organisation},
        "person": {"organisation_reference": person_reference, **record.worker},
        "contracts": record.contracts,
        "exits": record.exits,
        "support_actions": actions,
        "support_summary": [{"quarter": s.quarter, "code": s.code,
                             "label": _label("support_action", s.code, language),
                             "actions": s.actions, "hours": round(s.hours, 2)}
                            for s in record.support_by_quarter()],
        "competence_assessments": assessments,
        "competence_progress": [_progress(c, "competence", language)
                                for c in record.competences()],
        "support_plans": record.plans,
        "self_evaluations": evaluations,
        "self_evaluation_progress": [_progress(c, "self_evaluation", language)
                                     for c in record.self_evaluation_changes()],
        "notes": _NOTE[language],
    }


def transfer_bytes(document: dict[str, Any]) -> bytes:
    return (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def transfer_counts(document: dict[str, Any]) -> dict[str, int]:
    """How many entries of each kind a document holds (what the audit log records)."""
    return {key: len(document[key]) for key in (
        "contracts", "exits", "support_actions", "competence_assessments", "support_plans",
        "self_evaluations")}
