"""The Walloon insertion-enterprise forms: identity-level figures, computed locally and exactly.

An EI receives its TD/TGD subsidy on two conditions the administration (SPW) checks from the
yearly activity report and its annexes (DOMAIN.md §2.3; the annex layout itself is not public,
so the structure below is the nearest rule found):

* **Annexe 1** — the subsidised disadvantaged (TD) and severely disadvantaged (TGD) workers
  with their contract data: one row per contract of a target worker whose target group is
  ``TG_DISADV`` / ``TG_SEVERELY_DISADV`` (or whose contract is financed by ``WAL_EI_TD`` /
  ``WAL_EI_TGD``), overlapping the year, with its full-time equivalent over the year.
* **Annexe 2** — "maintien de l'effectif": the global employment volume (FTE of everyone under
  contract, staff included) per quarter of the year, against the reference level, the average
  of the four quarters before the year. A quarter is maintained when its FTE is at least the
  reference.

FTE follows the catalogue's definition (DOMAIN.md §2 indicator 3): per person, the sum over
their contracts of min(weekly hours, 38)/38 times the share of the period covered, capped at 1;
here in full precision, rounded only for display.

These are identity-level documents for the administration: they never go through the
federation. The node never stores the organisation's own ids, so Annexe 1 lists people by
pseudonym; an operator who supplies the list of the organisation's ids (e.g. the HR export's
workers file) gets them matched back in a column, in memory, by HMAC under the node secret.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from node.imports.pseudonyms import Pseudonymiser
from node.imports.sources import SourceError, open_csv
from node.store.database import Store
from privacy import InvalidQueryError, Period, parse_period

__all__ = [
    "ANNEX1_COLUMNS",
    "ANNEX2_COLUMNS",
    "Annex1Row",
    "Annex2Row",
    "EiForms",
    "build_forms",
    "forms_csv",
    "forms_xlsx",
    "read_id_list",
    "reidentify",
]

FULL_TIME_HOURS = 38.0
TD_GROUPS = {"TG_DISADV": "TD", "TG_SEVERELY_DISADV": "TGD"}
TD_SUBSIDIES = {"WAL_EI_TD": "TD", "WAL_EI_TGD": "TGD"}

ANNEX1_COLUMNS = ("pseudonym", "organisation_id", "category", "birth_year", "gender",
                  "education_level", "contract_type", "weekly_hours", "fte_fraction",
                  "start_date", "end_date", "subsidy_scheme", "days_in_year", "fte_in_year")
ANNEX2_COLUMNS = ("quarter", "fte", "reference_fte", "difference", "maintained")


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


_QUARTER_FTE = (
    "SELECT COALESCE(SUM(MIN(1.0, v)), 0.0) FROM ("
    "SELECT pid, SUM(MIN(weekly_hours, :full) / :full * "
    "(julianday(MIN(COALESCE(end_date, :end), :end)) - julianday(MAX(start_date, :start)))"
    " / :days) AS v FROM contracts "
    "WHERE start_date < :end AND (end_date IS NULL OR end_date > :start) GROUP BY pid)"
)

_ANNEX1 = (
    "SELECT c.pid, w.target_group, w.birth_year, w.gender, w.education_level, c.contract_type,"
    " c.weekly_hours, c.start_date, c.end_date, c.subsidy_scheme FROM contracts c "
    "JOIN workers w ON w.pid = c.pid "
    "WHERE c.role = 'TARGET_WORKER' AND c.start_date < :end "
    "AND (c.end_date IS NULL OR c.end_date > :start) "
    "AND (w.target_group IN ('TG_DISADV', 'TG_SEVERELY_DISADV') "
    "OR c.subsidy_scheme IN ('WAL_EI_TD', 'WAL_EI_TGD')) "
    "ORDER BY c.pid, c.start_date, c.contract_key"
)


def _fte(conn: Any, period: Period) -> float:
    days = float((period.end - period.start).days)
    row = conn.execute(_QUARTER_FTE, {"full": FULL_TIME_HOURS, "start": period.start.isoformat(),
                                      "end": period.end.isoformat(), "days": days}).fetchone()
    return float(row[0])


def build_forms(store: Store, *, period: str, organisation: str, node_id: str,
                ids: dict[str, str] | None = None) -> EiForms:
    """Both annexes for the calendar year ``period``; ``ids`` maps pseudonyms to the
    organisation's own ids (from :func:`reidentify`), in memory only."""
    year = _year(period)
    start, end = date(year, 1, 1), date(year + 1, 1, 1)
    year_days = (end - start).days
    ids = ids or {}
    with store.reading() as conn:
        rows = conn.execute(_ANNEX1, {"start": start.isoformat(),
                                      "end": end.isoformat()}).fetchall()
        quarters = [(p.label, _fte(conn, p)) for p in _quarters(year)]
        before = [(p.label, _fte(conn, p)) for p in _quarters(year - 1)]
    annex1 = []
    for pid, group, birth, gender, education, ctype, hours, c_start, c_end, subsidy in rows:
        category = TD_SUBSIDIES.get(subsidy or "") or TD_GROUPS.get(group, "")
        first = max(date.fromisoformat(c_start), start)
        last = min(date.fromisoformat(c_end), end) if c_end else end
        days = (last - first).days
        fraction = min(float(hours), FULL_TIME_HOURS) / FULL_TIME_HOURS
        annex1.append(Annex1Row(pid, ids.get(pid, ""), category, int(birth), gender, education,
                                ctype, float(hours), round(fraction, 4), c_start, c_end or "",
                                subsidy or "", days, round(fraction * days / year_days, 4)))
    reference = sum(v for _, v in before) / 4
    annex2 = tuple(Annex2Row(label, round(fte, 2), round(reference, 2),
                             round(fte - reference, 2), fte >= reference - 1e-9)
                   for label, fte in quarters)
    unmatched = len({r.pseudonym for r in annex1 if not r.organisation_id}) if ids else 0
    return EiForms(organisation, node_id, year, tuple(annex1), annex2,
                   tuple((label, round(v, 2)) for label, v in before), round(reference, 2),
                   unmatched)


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
        ("annexe 1", "TD/TGD target workers' contracts overlapping the year (FTE: min(hours, "
                     "38)/38 × days in the year / days of the year)"),
        ("annexe 2", "global FTE per quarter (everyone under contract, per person capped at 1)"
                     " against the reference: the average of the 4 quarters before the year"),
        ("reference quarters", ", ".join(f"{q}: {v:.2f}" for q, v in forms.reference_quarters)),
        ("reference FTE", f"{forms.reference_fte:.2f}"),
        ("contains", "PERSONAL DATA: keep it on the organisation's systems; never send it "
                     "through the federation"),
    ]


def forms_csv(forms: EiForms) -> dict[str, bytes]:
    """The two annexes as CSV files (UTF-8 with a BOM, so spreadsheets read the accents)."""
    out: dict[str, bytes] = {}
    for name, header, rows in (
            (f"annexe1-{forms.year}.csv", ANNEX1_COLUMNS, [r.cells() for r in forms.annex1]),
            (f"annexe2-{forms.year}.csv", ANNEX2_COLUMNS, [r.cells() for r in forms.annex2])):
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
        sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
