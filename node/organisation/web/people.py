"""The people list and the manager's reminders: what needs attention, read in one query each.

Per person: the end of their running contract (none running, open-ended, or the last end date
of the running ones) and when the review of their open support plan is due (six months after
its last review, or after its start when it was never reviewed). The list filters on these,
on target group and on the pseudonym, 50 people a page; the reminders list contracts ending
within 30, 60 or 90 days, plan reviews due within 30 days (or overdue), and people at work
not assessed for a year. One indexed query
per page: at 3,000 people it stays within a few tens of milliseconds (measured in bench/).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any

from node.organisation.web.names import search_key
from node.store.database import Store

__all__ = ["PAGE", "REVIEW_MONTHS", "PeoplePage", "PersonRow", "people_page", "reminders"]

PAGE = 50
REVIEW_MONTHS = 6  # a support plan is reviewed at least every six months (DOMAIN.md §1.2)
OPEN_ENDED = "9999-12-31"

_PER_PERSON = f"""
WITH person AS (
  SELECT w.pid, w.birth_year, w.gender, w.target_group, w.region,
    (SELECT CASE WHEN COUNT(*) = 0 THEN NULL
                 WHEN SUM(c.end_date IS NULL) > 0 THEN '{OPEN_ENDED}'
                 ELSE MAX(c.end_date) END
       FROM contracts c
      WHERE c.pid = w.pid AND c.start_date <= :today
        AND (c.end_date IS NULL OR c.end_date >= :today)) AS contract_end,
    (SELECT group_concat(DISTINCT c.subsidy_scheme)
       FROM contracts c
      WHERE c.pid = w.pid AND c.start_date <= :today
        AND (c.end_date IS NULL OR c.end_date >= :today)
        AND c.subsidy_scheme IS NOT NULL AND c.subsidy_scheme <> 'NONE') AS subsidies,
    (SELECT MIN(date(COALESCE((SELECT MAX(r.review_date) FROM plan_reviews r
                               WHERE r.plan_key = p.plan_key), p.start_date),
                     '+{REVIEW_MONTHS} months'))
       FROM support_plans p
      WHERE p.pid = w.pid AND (p.end_date IS NULL OR p.end_date > :today)) AS review_due,
    n.display_name AS name, n.search_key AS name_key
  FROM workers w LEFT JOIN person_names n ON n.pid = w.pid
)
"""
# The same, for the people whose pseudonyms :pids lists (a JSON array): one page's fifty.
_PER_PERSON_OF = _PER_PERSON.replace(
    "LEFT JOIN person_names n ON n.pid = w.pid",
    "LEFT JOIN person_names n ON n.pid = w.pid WHERE w.pid IN (SELECT value FROM json_each(:pids))")


@dataclass(frozen=True)
class PersonRow:
    pid: str
    birth_year: int
    gender: str
    target_group: str
    region: str
    contract_end: str | None  # None: no running contract; OPEN_ENDED: open-ended
    review_due: str | None  # None: no open plan
    subsidies: str = ""  # the running contracts' subsidy schemes, comma-separated
    name: str = ""  # the name staff entered (web/names.py), "" if none

    @property
    def open_ended(self) -> bool:
        return self.contract_end == OPEN_ENDED


@dataclass(frozen=True)
class PeoplePage:
    rows: tuple[PersonRow, ...]
    total: int
    page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // PAGE))


_COLUMNS = ("pid, birth_year, gender, target_group, region, contract_end, review_due, "
            "subsidies, name")


def _row(r: tuple[Any, ...]) -> PersonRow:
    return PersonRow(str(r[0]), int(r[1]), str(r[2]), str(r[3]), str(r[4]), r[5], r[6],
                     str(r[7] or ""), str(r[8] or ""))


def people_page(store: Store, *, today: date, target_group: str = "",
                ending_within: int | None = None, review_due_within: int | None = None,
                pid_prefix: str = "", name: str = "", page: int = 1) -> PeoplePage:
    """One page of the people list with its filters (every value bound, never spliced):
    people with a name first, by name, then by pseudonym. ``pid_prefix`` and ``name`` (either
    matching) keep the people whose pseudonym starts with it or whose name holds it (accents
    and case aside)."""
    where, params = [], {"today": today.isoformat()}
    if target_group:
        where.append("target_group = :tg")
        params["tg"] = target_group
    if ending_within is not None:
        where.append(f"contract_end IS NOT NULL AND contract_end <> '{OPEN_ENDED}' "
                     "AND contract_end <= date(:today, :ending)")
        params["ending"] = f"+{int(ending_within)} days"
    if review_due_within is not None:
        where.append("review_due IS NOT NULL AND review_due <= date(:today, :review)")
        params["review"] = f"+{int(review_due_within)} days"
    found = []  # a search matches a name or the start of a pseudonym
    if pid_prefix:
        found.append("(pid >= :lo AND pid < :hi)")
        params["lo"], params["hi"] = pid_prefix, pid_prefix + "g"  # hex: 'g' sorts after 'f'
    if name:
        found.append("name_key LIKE :name ESCAPE '\\'")
        folded = search_key(name)
        for special in ("\\", "%", "_"):
            folded = folded.replace(special, "\\" + special)
        params["name"] = f"%{folded}%"
    if found:
        where.append("(" + " OR ".join(found) + ")")
    clause = ("WHERE " + " AND ".join(where)) if where else ""
    page = max(1, page)
    order = "ORDER BY name_key IS NULL, name_key, pid"
    with store.reading() as conn:
        # The page's people and the total in one pass (only the filters' columns are computed
        # for everyone), then the per-person columns for those fifty alone.
        listed = conn.execute(
            f"{_PER_PERSON} SELECT pid, COUNT(*) OVER () FROM person {clause} {order} "
            f"LIMIT {PAGE} OFFSET :offset", {**params, "offset": (page - 1) * PAGE}).fetchall()
        if listed:
            total = int(listed[0][1])
        else:  # no one, or a page past the end
            total = int(conn.execute(f"{_PER_PERSON} SELECT COUNT(*) FROM person {clause}",
                                     params).fetchone()[0])
        rows = conn.execute(
            f"{_PER_PERSON_OF} SELECT {_COLUMNS} FROM person {order}",
            {"today": params["today"], "pids": json.dumps([r[0] for r in listed])}).fetchall()
    return PeoplePage(tuple(_row(r) for r in rows), total, page)


ASSESSMENT_MONTHS = 12  # a person at work is assessed at least once a year
SETTLING_MONTHS = 3  # … once they have been under contract this long

_ASSESSMENTS_OVERDUE = f"""
SELECT w.pid, w.target_group,
       (SELECT MAX(a.assessment_date) FROM competence_assessments a WHERE a.pid = w.pid) AS last
  FROM workers w
 WHERE EXISTS (SELECT 1 FROM contracts c
                WHERE c.pid = w.pid AND c.role <> 'SUPERVISORY_STAFF'
                  AND c.start_date <= date(:today, '-{SETTLING_MONTHS} months')
                  AND (c.end_date IS NULL OR c.end_date >= :today))
   AND COALESCE((SELECT MAX(a.assessment_date) FROM competence_assessments a
                  WHERE a.pid = w.pid), '') < date(:today, '-{ASSESSMENT_MONTHS} months')
 ORDER BY last IS NOT NULL, last, w.pid
"""


@dataclass(frozen=True)
class Reminders:
    contracts: tuple[tuple[int, tuple[PersonRow, ...]], ...]  # (within days, people)
    reviews: tuple[PersonRow, ...]
    # (pseudonym, target group, last assessment or None): people at work (not supervisory
    # staff) for three months or more who were not assessed in the last twelve
    assessments: tuple[tuple[str, str, str | None], ...] = ()


def reminders(store: Store, *, today: date) -> Reminders:
    """Contracts ending within 30, 60 and 90 days (each person in the first band that holds
    them), plan reviews due within 30 days or overdue, soonest first, and assessments overdue
    (people at work for three months or more, not assessed in twelve)."""
    params = {"today": today.isoformat()}
    with store.reading() as conn:
        ending = [_row(r) for r in conn.execute(
            f"{_PER_PERSON} SELECT {_COLUMNS} FROM person WHERE contract_end IS NOT NULL "
            f"AND contract_end <> '{OPEN_ENDED}' AND contract_end <= date(:today, '+90 days') "
            "ORDER BY contract_end, pid", params)]
        reviews = tuple(_row(r) for r in conn.execute(
            f"{_PER_PERSON} SELECT {_COLUMNS} FROM person WHERE review_due IS NOT NULL "
            "AND review_due <= date(:today, '+30 days') ORDER BY review_due, pid", params))
        assessments = tuple((str(r[0]), str(r[1]), r[2])
                            for r in conn.execute(_ASSESSMENTS_OVERDUE, params))

    def band(row: PersonRow) -> int:
        days = (date.fromisoformat(str(row.contract_end)) - today).days
        return next(b for b in (30, 60, 90) if days <= b)

    bands = tuple((days, tuple(r for r in ending if band(r) == days)) for days in (30, 60, 90))
    return Reminders(bands, reviews, assessments)
