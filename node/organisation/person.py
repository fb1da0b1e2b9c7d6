"""One person's accompaniment record, read for the organisation's own staff (local only).

A job coach knows a person by the organisation's own id (a staff or file number); the node only
stores the HMAC of it. :func:`resolve` turns the raw id into the pseudonym with the node secret,
in memory, and looks the person up; the raw id is never written anywhere. :func:`person_record`
gathers everything the node holds about that person — contracts and exits, support received per
quarter and kind, each competence from its first to its last assessment, support plans with
their goals and reviews, self-evaluation answers — exact, as stored. It is the basis of
`koepel node person` (the job coach's view) and of `koepel node transfer` (the record handed to
a public employment service's counsellor at the person's request). Nothing here goes through
the federation.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

from node.imports.pseudonyms import Pseudonymiser
from node.imports.records import SELF_EVALUATION_ITEMS
from node.imports.vocabulary import FED_COMPETENCES, FED_SUPPORT_ACTIONS
from node.store.database import Store

__all__ = [
    "ChangeLine",
    "PersonNotFound",
    "PersonRecord",
    "SupportLine",
    "person_record",
    "resolve",
]


class PersonNotFound(LookupError):
    """No person with this id on this node (the message never repeats the id)."""

    exit_code = 2


def resolve(store: Store, secret: bytes, raw_id: str) -> str:
    """The pseudonym of the organisation's id ``raw_id``, if such a person is on this node."""
    raw_id = raw_id.strip()
    if not raw_id or len(raw_id) > 128:
        raise PersonNotFound("a person id is 1 to 128 characters")
    pid = Pseudonymiser(secret).pseudonym("person", raw_id)
    with store.reading() as conn:
        found = conn.execute("SELECT 1 FROM workers WHERE pid = ?", (pid,)).fetchone()
    if found is None:
        raise PersonNotFound("no person with this id on this node; check the id as your HR "
                             "tool exports it (it must be the one used in workers.csv)")
    return pid


@dataclass(frozen=True)
class SupportLine:
    """Support received in one quarter, of one federation kind (and the local code used)."""

    quarter: str
    code: str
    label: str
    local_codes: tuple[str, ...]
    actions: int
    hours: float


@dataclass(frozen=True)
class ChangeLine:
    """One competence (or questionnaire item) from its first to its last answer."""

    code: str
    label: str
    first_date: str
    first: float
    last_date: str
    last: float
    answers: int

    @property
    def change(self) -> float | None:
        """Last minus first; None with a single answer (no change can be read)."""
        return None if self.answers < 2 else round(self.last - self.first, 6)


@dataclass
class PersonRecord:
    """Everything the node holds about one person, as stored (ids are pseudonyms)."""

    pid: str
    worker: dict[str, Any]
    contracts: list[dict[str, Any]] = field(default_factory=list)
    exits: list[dict[str, Any]] = field(default_factory=list)
    support_actions: list[dict[str, Any]] = field(default_factory=list)
    assessments: list[dict[str, Any]] = field(default_factory=list)
    plans: list[dict[str, Any]] = field(default_factory=list)
    self_evaluations: list[dict[str, Any]] = field(default_factory=list)

    def support_by_quarter(self) -> list[SupportLine]:
        """Support received per quarter and federation kind, in date order."""
        lines: dict[tuple[str, str], list[Any]] = {}
        for action in self.support_actions:
            when = date.fromisoformat(action["date"])
            key = (f"{when.year}-Q{(when.month - 1) // 3 + 1}", action["federation_code"])
            entry = lines.setdefault(key, [set(), 0, 0])
            entry[0].add(action["local_code"])
            entry[1] += 1
            entry[2] += action["duration_min"]
        return [SupportLine(quarter, code, FED_SUPPORT_ACTIONS.get(code, code),
                            tuple(sorted(local)), count, minutes / 60)
                for (quarter, code), (local, count, minutes) in sorted(lines.items())]

    def competences(self) -> list[ChangeLine]:
        return _changes(self.assessments, "federation_code", dict(FED_COMPETENCES))

    def self_evaluation_changes(self) -> list[ChangeLine]:
        return _changes(self.self_evaluations, "item_code", SELF_EVALUATION_ITEMS)

    def to_json(self) -> dict[str, Any]:
        return {
            "pseudonym": self.pid, "worker": self.worker, "contracts": self.contracts,
            "exits": self.exits,
            "support_by_quarter": [asdict(s) for s in self.support_by_quarter()],
            "competences": [{**asdict(c), "change": c.change} for c in self.competences()],
            "plans": self.plans,
            "self_evaluations": [{**asdict(c), "change": c.change}
                                 for c in self.self_evaluation_changes()],
        }


def _changes(rows: list[dict[str, Any]], code_key: str, labels: dict[str, str]
             ) -> list[ChangeLine]:
    """First and last answer per code, ties on a date broken by the stored key (as the
    catalogue's measures break them)."""
    by_code: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_code[row[code_key]].append(row)
    lines = []
    for code in sorted(by_code):
        ordered = sorted(by_code[code], key=lambda r: (r["date"], r["key"]))
        first, last = ordered[0], ordered[-1]
        lines.append(ChangeLine(code, labels.get(code, code), first["date"],
                                first["score_norm"], last["date"], last["score_norm"],
                                len(ordered)))
    return lines


def person_record(store: Store, pid: str) -> PersonRecord:
    """Read one person's whole record (one consistent snapshot)."""
    with store.reading() as conn:
        row = conn.execute("SELECT birth_year, gender, education_level, target_group, region "
                           "FROM workers WHERE pid = ?", (pid,)).fetchone()
        if row is None:
            raise PersonNotFound("no person with this id on this node")
        record = PersonRecord(pid, dict(zip(
            ("birth_year", "gender", "education_level", "target_group", "region"), row,
            strict=True)))
        record.contracts = [dict(zip(
            ("role", "contract_type", "weekly_hours", "start_date", "end_date",
             "subsidy_scheme"), r, strict=True)) for r in conn.execute(
            "SELECT role, contract_type, weekly_hours, start_date, end_date, subsidy_scheme "
            "FROM contracts WHERE pid = ? ORDER BY start_date, contract_key", (pid,))]
        record.exits = [{"date": d, "destination": x} for d, x in conn.execute(
            "SELECT exit_date, destination FROM exits WHERE pid = ? "
            "ORDER BY exit_date, exit_key", (pid,))]
        record.support_actions = [dict(zip(
            ("key", "date", "duration_min", "federation_code", "local_code"), r, strict=True))
            for r in conn.execute(
                "SELECT action_key, action_date, duration_min, action_code, local_code "
                "FROM support_actions WHERE pid = ? ORDER BY action_date, action_key", (pid,))]
        record.assessments = [dict(zip(
            ("key", "date", "federation_code", "local_code", "score_norm", "assessor",
             "context"), r, strict=True)) for r in conn.execute(
            "SELECT assessment_key, assessment_date, competence_code, local_code, score_norm, "
            "assessor, context FROM competence_assessments WHERE pid = ? "
            "ORDER BY assessment_date, assessment_key", (pid,))]
        record.self_evaluations = [dict(zip(
            ("key", "date", "item_code", "score_norm"), r, strict=True)) for r in conn.execute(
            "SELECT evaluation_key, evaluation_date, item_code, score_norm FROM self_evaluations"
            " WHERE pid = ? ORDER BY evaluation_date, evaluation_key", (pid,))]
        plans = conn.execute("SELECT plan_key, start_date, end_date FROM support_plans "
                             "WHERE pid = ? ORDER BY start_date, plan_key", (pid,)).fetchall()
        for key, start, end in plans:
            goals = [{"domain": d, "status": s} for d, s in conn.execute(
                "SELECT domain, status FROM plan_goals WHERE plan_key = ? "
                "ORDER BY domain, status, goal_key", (key,))]
            reviews = [r[0] for r in conn.execute(
                "SELECT review_date FROM plan_reviews WHERE plan_key = ? "
                "ORDER BY review_date, review_key", (key,))]
            record.plans.append({"start_date": start, "end_date": end, "goals": goals,
                                 "reviews": reviews})
    return record
