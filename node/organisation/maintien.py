"""The Walloon EI checks that follow each subsidised hire: "maintien de l'effectif" per hire,
eligibility at hiring, and the approval's minimum share of disadvantaged workers.

Décret wallon du 20 octobre 2016 (agrément des initiatives d'économie sociale et des
entreprises d'insertion) and its execution order; docs/organisation.md states the reading taken
and every assumption, each a ``[forms]`` setting (node/form_rules.py):

* **FTE** of a contract is min(weekly hours, its joint committee's full-time week) divided by
  that week (``contracts.fulltime_ref_hours``; the setting ``fulltime_hours`` when not
  imported), per person summed over their contracts and capped at 1, times the share of the
  period covered.
* **Maintien, per subsidised hire**: the reference is the average global FTE (everyone under
  contract) of the ``reference_quarters`` quarters before the quarter of the hire; in each
  quarter from the hire's on, for ``maintenance_years``, the volume — the global FTE plus the
  FTE of people who left for a *neutralised* reason (resignation, retirement, dismissal for
  serious fault by default), counted as still there from their exit on — must reach the
  reference, plus the hire's own FTE when ``net_increase``.
* **Eligibility at hiring**: the attestation (scheme, criteria, date) dated on or before the
  person's hire, the latest such one; it holds even when the person's current target group has
  changed since.
* **Share of disadvantaged workers**: TD or TGD at hiring over all workers, in FTE over the year
  or in headcount on 31 December, against the approval's minimum; a share below it is flagged.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from node.form_rules import FormRules
from privacy import Period, parse_period

__all__ = ["Eligibility", "MaintienQuarter", "MaintienRow", "ShareCheck", "eligibility_at_hiring",
           "global_fte", "maintien_rows", "share_check"]

# Per person (capped at 1): min(hours, own full-time week) / that week × share of the period.
_FTE_BY_PERSON = (
    "SELECT pid, MIN(1.0, SUM(MIN(weekly_hours, COALESCE(fulltime_ref_hours, :full)) / "
    "COALESCE(fulltime_ref_hours, :full) * "
    "(julianday(MIN(COALESCE(end_date, :end), :end)) - julianday(MAX(start_date, :start)))"
    " / :days)) AS v FROM contracts "
    "WHERE start_date < :end AND (end_date IS NULL OR end_date > :start) GROUP BY pid"
)


@dataclass(frozen=True)
class Eligibility:
    scheme: str
    criteria: str  # ``A;B``, sorted
    attestation_date: str


@dataclass(frozen=True)
class MaintienQuarter:
    quarter: str
    fte: float  # global FTE
    neutralised: float  # FTE of neutralised departures, counted as still there
    volume: float  # fte + neutralised
    required: float
    maintained: bool


@dataclass(frozen=True)
class MaintienRow:
    pseudonym: str
    hire_date: str
    scheme: str
    hire_fte: float
    reference_quarters: tuple[str, ...]
    reference_fte: float
    quarters: tuple[MaintienQuarter, ...]  # from the hire's quarter, up to the forms' year

    @property
    def maintained(self) -> bool:
        return all(q.maintained for q in self.quarters)


@dataclass(frozen=True)
class ShareCheck:
    basis: str  # fte or headcount
    workers: float
    disadvantaged: float  # TD or TGD at hiring
    severely_disadvantaged: float  # TGD at hiring
    min_share: float
    min_severe_share: float

    @property
    def share(self) -> float:
        return self.disadvantaged / self.workers if self.workers else 0.0

    @property
    def severe_share(self) -> float:
        return self.severely_disadvantaged / self.workers if self.workers else 0.0

    @property
    def flags(self) -> tuple[str, ...]:
        """What the administration would object to (empty: the approval's shares are met)."""
        out = []
        if self.min_share and self.share < self.min_share:
            out.append(f"disadvantaged workers {self.share:.1%} < {self.min_share:.0%}")
        if self.min_severe_share and self.severe_share < self.min_severe_share:
            out.append(f"severely disadvantaged workers {self.severe_share:.1%} < "
                       f"{self.min_severe_share:.0%}")
        return tuple(out)


def _fte_by_person(conn: Any, start: date, end: date, full: float) -> dict[str, float]:
    return {pid: float(v) for pid, v in conn.execute(_FTE_BY_PERSON, {
        "full": full, "start": start.isoformat(), "end": end.isoformat(),
        "days": float((end - start).days)})}


def global_fte(conn: Any, period: Period, full: float) -> float:
    """Everyone's FTE over ``period`` (each person capped at 1)."""
    return sum(_fte_by_person(conn, period.start, period.end, full).values())


def _quarter_of(day: date) -> Period:
    return parse_period(f"{day.year}-Q{(day.month - 1) // 3 + 1}")


def _shift(quarter: Period, by: int) -> Period:
    index = quarter.start.year * 4 + (quarter.start.month - 1) // 3 + by
    return parse_period(f"{index // 4}-Q{index % 4 + 1}")


def eligibility_at_hiring(conn: Any, rules: FormRules) -> dict[str, Eligibility]:
    """Per person, the latest attestation dated on or before their first hire (the hires
    table's, else their first contract's start)."""
    hired: dict[str, str] = {}
    for pid, day in conn.execute("SELECT pid, MIN(hire_date) FROM hires GROUP BY pid"):
        hired[pid] = day
    for pid, day in conn.execute("SELECT pid, MIN(start_date) FROM contracts GROUP BY pid"):
        hired.setdefault(pid, day)
    found: dict[str, Eligibility] = {}
    for pid, day, scheme, criteria in conn.execute(
            "SELECT pid, attestation_date, scheme, criteria FROM hiring_eligibility "
            "ORDER BY pid, attestation_date, eligibility_key"):
        if pid in hired and day <= hired[pid]:
            found[pid] = Eligibility(scheme, criteria, day)
    return found


def _neutralised_exits(conn: Any, rules: FormRules) -> list[tuple[str, date]]:
    reasons = rules.neutralised_exit_reasons
    if not reasons:
        return []
    marks = ", ".join("?" for _ in reasons)
    return [(pid, date.fromisoformat(day)) for pid, day in conn.execute(
        f"SELECT pid, exit_date FROM exits WHERE exit_reason IN ({marks})", reasons)]


def _fte_on(conn: Any, pid: str, day: date, full: float) -> float:
    """The person's FTE fraction on ``day`` (contracts in force that day, capped at 1)."""
    fractions = _fte_by_person(conn, day, day + timedelta(days=1), full)
    return fractions.get(pid, 0.0)


def _subsidised_hires(conn: Any, rules: FormRules, eligible: dict[str, Eligibility]
                      ) -> list[tuple[str, date, str]]:
    """(pid, hire date, scheme) of every hire a subsidy scheme of ``rules`` finances: a hire
    of the hires table (else a first contract) of a person attested under such a scheme at
    hiring, or whose contract starting that day is financed by one."""
    schemes = set(rules.subsidised_schemes)
    hires = [(pid, day) for pid, day in conn.execute("SELECT pid, hire_date FROM hires")]
    if not hires:
        hires = list(conn.execute("SELECT pid, MIN(start_date) FROM contracts GROUP BY pid"))
    funded = {(pid, day): scheme for pid, day, scheme in conn.execute(
        "SELECT pid, start_date, subsidy_scheme FROM contracts "
        "WHERE subsidy_scheme IS NOT NULL")}
    out = []
    for pid, day in sorted(hires):
        scheme = funded.get((pid, day), "")
        if scheme not in schemes and pid in eligible and eligible[pid].scheme in schemes:
            scheme = eligible[pid].scheme
        if scheme in schemes:
            out.append((pid, date.fromisoformat(day), scheme))
    return out


def maintien_rows(conn: Any, year: int, rules: FormRules,
                  eligible: dict[str, Eligibility]) -> tuple[MaintienRow, ...]:
    """One row per subsidised hire whose maintenance window overlaps ``year``: its reference
    and, quarter by quarter from the hire's up to the end of ``year``, the volume with
    neutralised departures, against what is required."""
    full = rules.fulltime_hours
    end_of_year = date(year + 1, 1, 1)
    exits = _neutralised_exits(conn, rules)
    cache: dict[str, float] = {}

    def quarter_fte(q: Period) -> float:
        if q.label not in cache:
            cache[q.label] = global_fte(conn, q, full)
        return cache[q.label]

    rows = []
    for pid, day, scheme in _subsidised_hires(conn, rules, eligible):
        first = _quarter_of(day)
        window_end = _shift(first, 4 * rules.maintenance_years).start
        if window_end <= date(year, 1, 1) or day >= end_of_year:
            continue
        reference = [_shift(first, -k) for k in range(rules.reference_quarters, 0, -1)]
        reference_fte = sum(quarter_fte(q) for q in reference) / len(reference)
        hire_fte = _fte_on(conn, pid, day, full)
        required = reference_fte + (hire_fte if rules.net_increase else 0.0)
        quarters = []
        q = first
        while q.start < min(window_end, end_of_year):
            days = float((q.end - q.start).days)
            neutralised = 0.0
            for left, exit_day in exits:
                if reference[0].start <= exit_day < q.end:
                    share = (q.end - max(exit_day, q.start)).days / days
                    neutralised += _fte_on(conn, left, exit_day - timedelta(days=1), full) * share
            volume = quarter_fte(q) + neutralised
            quarters.append(MaintienQuarter(q.label, round(quarter_fte(q), 4),
                                            round(neutralised, 4), round(volume, 4),
                                            round(required, 4), volume >= required - 1e-9))
            q = _shift(q, 1)
        rows.append(MaintienRow(pid, day.isoformat(), scheme, round(hire_fte, 4),
                                tuple(r.label for r in reference), round(reference_fte, 4),
                                tuple(quarters)))
    return tuple(rows)


def share_check(conn: Any, year: int, rules: FormRules,
                eligible: dict[str, Eligibility]) -> ShareCheck:
    """The share of workers disadvantaged at hiring (TD or TGD), in FTE over ``year`` or in
    headcount on its last day, against the approval's minimums."""
    start, end = date(year, 1, 1), date(year + 1, 1, 1)
    if rules.share_basis == "fte":
        weights = _fte_by_person(conn, start, end, rules.fulltime_hours)
    else:
        last = end - timedelta(days=1)
        weights = {pid: 1.0 for pid in _fte_by_person(conn, last, end, rules.fulltime_hours)}
    td = {pid for pid, e in eligible.items() if e.scheme in ("WAL_EI_TD", "WAL_EI_TGD")}
    tgd = {pid for pid, e in eligible.items() if e.scheme == "WAL_EI_TGD"}
    return ShareCheck(rules.share_basis, round(sum(weights.values()), 4),
                      round(sum(v for p, v in weights.items() if p in td), 4),
                      round(sum(v for p, v in weights.items() if p in tgd), 4),
                      rules.min_disadvantaged_share, rules.min_severely_disadvantaged_share)
