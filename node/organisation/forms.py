"""The Walloon insertion-enterprise forms: identity-level figures, computed locally and exactly.

An EI receives its TD/TGD subsidy on two conditions the administration (SPW) checks from the
yearly activity report and its annexes (DOMAIN.md §2.3; the annex layout itself is not public,
so the structure below is the nearest rule found):

* **Annexe 1** — the subsidised disadvantaged (TD) and severely disadvantaged (TGD) workers
  with their contract data: one row per contract of a target worker who was eligible at hiring
  (an attestation under a subsidised scheme dated on or before the hire, with the criteria
  met), whose contract is financed by a subsidised scheme, or — when no attestation was
  imported — whose target group is ``TG_DISADV`` / ``TG_SEVERELY_DISADV``, overlapping the
  year, with its full-time equivalent over the year. The category comes from the attestation
  first: a worker eligible at hiring stays TD even if no longer in a target group.
* **Annexe 2** — "maintien de l'effectif": the global employment volume (FTE of everyone under
  contract, staff included) per quarter of the year against the four quarters before the year
  (the earlier, yearly approximation, kept for comparison), and per subsidised hire over its
  own reference period and the years after it, with neutralised departures
  (node/organisation/maintien.py).
* **The approval's share** of (severely) disadvantaged workers, checked and flagged.

FTE: per contract, min(weekly hours, its joint committee's full-time week)/that week (the
``[forms] fulltime_hours`` setting when the contract's was not imported), per person summed
over their contracts times the share of the period covered, capped at 1; in full precision,
rounded only for display. Every assumption is a ``[forms]`` setting (node/form_rules.py).

These are identity-level documents for the administration: they never go through the
federation. The node never stores the organisation's own ids, so Annexe 1 lists people by
pseudonym; an operator who supplies the list of the organisation's ids (e.g. the HR export's
workers file) gets them matched back in a column, in memory, by HMAC under the node secret.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from node.form_rules import FormRules
from node.imports.pseudonyms import Pseudonymiser
from node.imports.sources import SourceError, open_csv
from node.organisation.maintien import (
    MaintienRow,
    ShareCheck,
    eligibility_at_hiring,
    global_fte,
    maintien_rows,
    share_check,
)
from node.store.database import Store
from privacy import InvalidQueryError, Period, parse_period

__all__ = [
    "ANNEX1_COLUMNS",
    "ANNEX2_COLUMNS",
    "MAINTIEN_COLUMNS",
    "Annex1Row",
    "Annex2Row",
    "EiForms",
    "build_forms",
    "forms_csv",
    "forms_xlsx",
    "read_id_list",
    "reidentify",
]

TD_GROUPS = {"TG_DISADV": "TD", "TG_SEVERELY_DISADV": "TGD"}
TD_SUBSIDIES = {"WAL_EI_TD": "TD", "WAL_EI_TGD": "TGD"}

ANNEX1_COLUMNS = ("pseudonym", "organisation_id", "category", "birth_year", "gender",
                  "education_level", "contract_type", "weekly_hours", "fte_fraction",
                  "start_date", "end_date", "subsidy_scheme", "days_in_year", "fte_in_year",
                  "fulltime_ref_hours", "eligibility_scheme", "criteria_at_hiring",
                  "attestation_date", "current_target_group")
ANNEX2_COLUMNS = ("quarter", "fte", "reference_fte", "difference", "maintained")
MAINTIEN_COLUMNS = ("pseudonym", "hire_date", "scheme", "hire_fte", "reference_quarters",
                    "reference_fte", "quarter", "fte", "neutralised_fte", "volume", "required",
                    "maintained")


@dataclass(frozen=True)
class Annex1Row:
    pseudonym: str
    organisation_id: str  # empty unless re-identified from the operator's id list
    category: str  # TD or TGD
    birth_year: int
    gender: str
    education_level: str
    contract_type: str
    weekly_hours: float
    fte_fraction: float
    start_date: str
    end_date: str
    subsidy_scheme: str
    days_in_year: int
    fte_in_year: float
    fulltime_ref_hours: float = 38.0
    eligibility_scheme: str = ""  # the attestation at hiring; empty: none imported
    criteria_at_hiring: str = ""
    attestation_date: str = ""
    current_target_group: str = ""

    def cells(self) -> tuple[Any, ...]:
        return tuple(getattr(self, c) for c in ANNEX1_COLUMNS)


@dataclass(frozen=True)
class Annex2Row:
    quarter: str
    fte: float
    reference_fte: float
    difference: float
    maintained: bool

    def cells(self) -> tuple[Any, ...]:
        return (self.quarter, self.fte, self.reference_fte, self.difference,
                "yes" if self.maintained else "no")


@dataclass(frozen=True)
class EiForms:
    organisation: str
    node_id: str
    year: int
    annex1: tuple[Annex1Row, ...]
    annex2: tuple[Annex2Row, ...]
    reference_quarters: tuple[tuple[str, float], ...]  # the 4 quarters before the year
    reference_fte: float
    unmatched: int  # Annexe 1 people with no id in the operator's list (0 without a list)
    maintien: tuple[MaintienRow, ...] = ()  # per subsidised hire
    share: ShareCheck | None = None
    rules: FormRules = field(default_factory=FormRules)

    @property
    def flags(self) -> tuple[str, ...]:
        """What the administration would object to: a share below the approval's minimum, a
        subsidised hire whose volume was not maintained."""
        hires = [f"hire of {r.hire_date} ({r.pseudonym[:8]}…): volume not maintained in "
                 f"{', '.join(q.quarter for q in r.quarters if not q.maintained)}"
                 for r in self.maintien if not r.maintained]
        return (*(self.share.flags if self.share else ()), *hires)

    @property
    def people(self) -> int:
        return len({r.pseudonym for r in self.annex1})


def _year(period: str) -> int:
    parsed = parse_period(period)
    if (parsed.start.month, parsed.start.day) != (1, 1) or parsed.end != date(
            parsed.start.year + 1, 1, 1):
        raise InvalidQueryError("the forms are yearly: give a year such as 2025")
    return parsed.start.year


def _quarters(year: int) -> list[Period]:
    return [parse_period(f"{year}-Q{q}") for q in range(1, 5)]


# Every target worker's contract overlapping the year; which of them make Annexe 1 is decided
# in Python, from the attestation at hiring first.
_ANNEX1 = (
    "SELECT c.pid, w.target_group, w.birth_year, w.gender, w.education_level, c.contract_type,"
    " c.weekly_hours, c.start_date, c.end_date, c.subsidy_scheme, c.fulltime_ref_hours "
    "FROM contracts c JOIN workers w ON w.pid = c.pid "
    "WHERE c.role = 'TARGET_WORKER' AND c.start_date < :end "
    "AND (c.end_date IS NULL OR c.end_date > :start) "
    "ORDER BY c.pid, c.start_date, c.contract_key"
)


def build_forms(store: Store, *, period: str, organisation: str, node_id: str,
                ids: dict[str, str] | None = None, rules: FormRules | None = None) -> EiForms:
    """The annexes, the per-hire maintien and the share check for the calendar year
    ``period``, under ``rules`` (node.toml ``[forms]``); ``ids`` maps pseudonyms to the
    organisation's own ids (from :func:`reidentify`), in memory only."""
    rules = rules or FormRules()
    year = _year(period)
    start, end = date(year, 1, 1), date(year + 1, 1, 1)
    year_days = (end - start).days
    ids = ids or {}
    schemes = {s: TD_SUBSIDIES[s] for s in rules.subsidised_schemes if s in TD_SUBSIDIES}
    with store.reading() as conn:
        rows = conn.execute(_ANNEX1, {"start": start.isoformat(),
                                      "end": end.isoformat()}).fetchall()
        quarters = [(p.label, global_fte(conn, p, rules.fulltime_hours))
                    for p in _quarters(year)]
        before = [(p.label, global_fte(conn, p, rules.fulltime_hours))
                  for p in _quarters(year - 1)]
        eligible = eligibility_at_hiring(conn, rules)
        maintien = maintien_rows(conn, year, rules, eligible)
        share = share_check(conn, year, rules, eligible)
    annex1 = []
    for (pid, group, birth, gender, education, ctype, hours, c_start, c_end, subsidy,
         own_full) in rows:
        attested = eligible.get(pid)
        category = (schemes.get(subsidy or "") or (schemes.get(attested.scheme, "")
                    if attested else TD_GROUPS.get(group, "")))
        if not category:
            continue
        full = float(own_full) if own_full else rules.fulltime_hours
        first = max(date.fromisoformat(c_start), start)
        last = min(date.fromisoformat(c_end), end) if c_end else end
        days = (last - first).days
        fraction = min(float(hours), full) / full
        annex1.append(Annex1Row(
            pid, ids.get(pid, ""), category, int(birth), gender, education, ctype, float(hours),
            round(fraction, 4), c_start, c_end or "", subsidy or "", days,
            round(fraction * days / year_days, 4), full,
            attested.scheme if attested else "", attested.criteria if attested else "",
            attested.attestation_date if attested else "", group))
    reference = sum(v for _, v in before) / 4
    annex2 = tuple(Annex2Row(label, round(fte, 2), round(reference, 2),
                             round(fte - reference, 2), fte >= reference - 1e-9)
                   for label, fte in quarters)
    unmatched = len({r.pseudonym for r in annex1 if not r.organisation_id}) if ids else 0
    return EiForms(organisation, node_id, year, tuple(annex1), annex2,
                   tuple((label, round(v, 2)) for label, v in before), round(reference, 2),
                   unmatched, maintien, share, rules)


def maintien_cells(forms: EiForms) -> list[tuple[Any, ...]]:
    """The per-hire maintien as table rows: one per hire and quarter."""
    return [(r.pseudonym, r.hire_date, r.scheme, r.hire_fte, " ".join(r.reference_quarters),
             r.reference_fte, q.quarter, q.fte, q.neutralised, q.volume, q.required,
             "yes" if q.maintained else "no") for r in forms.maintien for q in r.quarters]


def reidentify(secret: bytes, raw_ids: Iterable[str]) -> dict[str, str]:
    """Pseudonym → the organisation's own id, for the ids the operator supplied (in memory)."""
    pseudo = Pseudonymiser(secret)
    return {pseudo.pseudonym("person", raw): raw for raw in
            (r.strip() for r in raw_ids) if raw and len(raw) <= 128}


def read_id_list(path: Path, column: str = "person_id") -> list[str]:
    """The organisation's ids from ``path``: a CSV whose header has ``column`` (the HR
    export's workers file, any delimiter), or a text file with one id per line."""
    source = open_csv(path)
    try:
        if column in source.header:
            at = source.header.index(column)
            return [cells[at] for _, cells in source.rows if at < len(cells) and cells[at]]
        if len(source.header) != 1:
            raise SourceError(f"{path.name}: no {column} column; give a CSV with a {column} "
                              "column or a list of ids, one per line")
        return [source.header[0], *(cells[0] for _, cells in source.rows if cells)]
    finally:
        source.close()


def _info(forms: EiForms) -> list[tuple[str, str]]:
    return [
        ("organisation", forms.organisation), ("node", forms.node_id),
        ("year", str(forms.year)),
        ("annexe 1", "TD/TGD target workers' contracts overlapping the year, category from the "
                     "attestation at hiring (FTE: min(hours, full-time week)/full-time week × "
                     "days in the year / days of the year)"),
        ("annexe 2", "global FTE per quarter (everyone under contract, per person capped at 1)"
                     " against the reference: the average of the 4 quarters before the year"),
        ("reference quarters", ", ".join(f"{q}: {v:.2f}" for q, v in forms.reference_quarters)),
        ("reference FTE", f"{forms.reference_fte:.2f}"),
        ("maintien per hire", f"{len(forms.maintien)} subsidised hire(s); rows below the "
                              "quarterly table of Annexe 2 and in maintien-<year>.csv"),
        ("share of disadvantaged workers", _share_text(forms.share)),
        ("flags", "; ".join(forms.flags) or "none"),
        *((f"[forms] {key}", value) for key, value in forms.rules.describe()),
        ("contains", "PERSONAL DATA: keep it on the organisation's systems; never send it "
                     "through the federation"),
    ]


def _share_text(share: ShareCheck | None) -> str:
    if share is None:
        return ""
    return (f"{share.share:.1%} TD/TGD at hiring ({share.disadvantaged:g} of {share.workers:g}"
            f" {share.basis}), minimum {share.min_share:.0%}; TGD {share.severe_share:.1%}, "
            f"minimum {share.min_severe_share:.0%}")


def forms_csv(forms: EiForms) -> dict[str, bytes]:
    """The two annexes and the per-hire maintien as CSV files (UTF-8 with a BOM, so
    spreadsheets read the accents)."""
    out: dict[str, bytes] = {}
    for name, header, rows in (
            (f"annexe1-{forms.year}.csv", ANNEX1_COLUMNS, [r.cells() for r in forms.annex1]),
            (f"annexe2-{forms.year}.csv", ANNEX2_COLUMNS, [r.cells() for r in forms.annex2]),
            (f"maintien-{forms.year}.csv", MAINTIEN_COLUMNS, maintien_cells(forms))):
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
        out[name] = buffer.getvalue().encode("utf-8-sig")
    return out


def forms_xlsx(forms: EiForms) -> bytes:
    """One workbook: an information sheet and the two annexes (built in memory)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook()
    info = workbook.active
    info.title = "Information"
    for row in _info(forms):
        info.append(row)
    info.column_dimensions["A"].width = 20
    info.column_dimensions["B"].width = 100
    for title, header, rows in (
            ("Annexe 1", ANNEX1_COLUMNS, [r.cells() for r in forms.annex1]),
            ("Annexe 2", ANNEX2_COLUMNS, [r.cells() for r in forms.annex2])):
        sheet = workbook.create_sheet(title)
        sheet.append(header)
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in rows:
            sheet.append(list(row))
        if title == "Annexe 2":  # the per-hire maintien, below the quarterly table
            sheet.append([])
            sheet.append(list(MAINTIEN_COLUMNS))
            for row in maintien_cells(forms):
                sheet.append(list(row))
        sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
