"""The organisational level of accompaniment: what the manager's report adds to the figures.

The catalogue's measures answer "how much" per target group (report.py computes them exactly,
with the federation's definitions). A manager also asks *which* accompaniment goes with
progress: competence progression by the kind of support people received, hours per kind, the
goals plans work on, and how long people stayed before leaving for each destination. These are
local, exact, descriptive figures — associations, not effects: people receive support because
of their situation — and they never leave the machine; the node's gRPC service cannot ask for
them.

Each figure uses the catalogue's own per-person definitions where one exists (a person's
competence progression is the mean over competences assessed twice in the period of last minus
first; the last exit of the period), so the manager's figures and the sector's cannot drift
apart.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from datetime import date
from typing import Any

from node.engine.compiler import shared_cte
from node.imports.vocabulary import FED_SUPPORT_ACTIONS
from node.organisation.sections import ReportSection
from node.store.database import Store
from privacy import Period

__all__ = ["TENURE_BANDS", "organisational_sections", "tenure_band"]

TENURE_BANDS = ("<1y", "1-2y", "2-5y", "5-10y", "10y+")
_BAND_EDGES = (1.0, 2.0, 5.0, 10.0)
_IN_PERIOD = "start_date < :end AND (end_date IS NULL OR end_date > :start)"


def tenure_band(years: float) -> str:
    """DOMAIN.md §2 indicator 8's bands: <1, 1–2, 2–5, 5–10, 10+ years."""
    for edge, band in zip(_BAND_EDGES, TENURE_BANDS, strict=False):
        if years < edge:
            return band
    return TENURE_BANDS[-1]


def _params(period: Period) -> dict[str, Any]:
    return {"start": period.start.isoformat(), "end": period.end.isoformat()}


def _competence_by_kind(conn: Any, period: Period) -> ReportSection:
    # One statement, so the per-person gains are computed once for the rows and the overall.
    sql = (
        "WITH " + shared_cte("competence_pairs") + ", "
        "gain AS MATERIALIZED (SELECT pid, MAX(-1.0, MIN(1.0, AVG(gain))) AS g "
        "FROM competence_pairs GROUP BY pid), "
        "kinds AS MATERIALIZED (SELECT DISTINCT pid, action_code FROM support_actions "
        "WHERE action_date >= :start AND action_date < :end) "
        "SELECT 0, COALESCE(k.action_code, ''), COUNT(*), AVG(gain.g) FROM gain "
        "LEFT JOIN kinds k ON k.pid = gain.pid GROUP BY k.action_code "
        "UNION ALL SELECT 1, '', COUNT(*), COALESCE(AVG(g), 0) FROM gain ORDER BY 1, 2"
    )
    rows, persons = [], []
    everyone = (0, 0.0)
    for overall, code, n, mean in conn.execute(sql, _params(period)):
        if overall:
            everyone = (int(n), float(mean))
            continue
        label = f"{code} {FED_SUPPORT_ACTIONS.get(code, '')}".strip() if code else \
            "no support action in the period"
        rows.append((label, float(mean)))
        persons.append(int(n))
    return ReportSection(
        "competence_by_support_kind",
        "Competence progression by kind of support received in the period", "mean change",
        "support kind", tuple(rows), everyone[1], everyone[0],
        "per person: last minus first score per competence assessed twice in the period, "
        "averaged (scores on [0, 1]); a person who received several kinds counts under each. "
        "An association, not an effect: people get the support their situation calls for",
        tuple(persons))


def _hours_by_kind(conn: Any, period: Period) -> ReportSection:
    rows, persons = [], []
    for code, n, hours in conn.execute(
            "SELECT action_code, COUNT(DISTINCT pid), SUM(duration_min) / 60.0 "
            "FROM support_actions WHERE action_date >= :start AND action_date < :end "
            "GROUP BY action_code ORDER BY action_code", _params(period)):
        rows.append((f"{code} {FED_SUPPORT_ACTIONS.get(code, '')}".strip(), float(hours)))
        persons.append(int(n))
    total = conn.execute("SELECT COUNT(DISTINCT pid) FROM support_actions "
                         "WHERE action_date >= :start AND action_date < :end",
                         _params(period)).fetchone()[0]
    hours = sum(v for _, v in rows)
    return ReportSection(
        "support_hours_by_kind", "Hours of support by kind (all hours, not capped)", "hours",
        "support kind", tuple(rows), hours, int(total),
        f"{hours / total if total else 0:.1f} hours per person supported; per kind, the "
        "people who received it", tuple(persons))


def _goals(conn: Any, period: Period) -> ReportSection:
    counts = conn.execute(
        "SELECT g.domain, g.status, COUNT(*) FROM plan_goals g "
        "JOIN support_plans p ON p.plan_key = g.plan_key "
        "WHERE p.start_date < :end AND (p.end_date IS NULL OR p.end_date > :start) "
        "GROUP BY g.domain, g.status ORDER BY g.domain, g.status", _params(period)).fetchall()
    rows = tuple((f"{domain}/{status}", float(n)) for domain, status, n in counts)
    return ReportSection(
        "plan_goals", "Goals of the support plans active in the period, by domain and status",
        "goals", "domain/status", rows, sum(v for _, v in rows),
        int(conn.execute(f"SELECT COUNT(DISTINCT pid) FROM support_plans WHERE {_IN_PERIOD}",
                         _params(period)).fetchone()[0]),
        "persons: people with a plan active in the period")


def _exits_by_tenure(conn: Any, period: Period,
                     destinations: Mapping[str, tuple[str, ...]]) -> ReportSection:
    group_of = {code: cell for cell, codes in destinations.items() for code in codes}
    rows = conn.execute(
        "SELECT x.destination, x.exit_date, MIN(c.start_date) FROM ("
        "SELECT pid, destination, exit_date, ROW_NUMBER() OVER (PARTITION BY pid "
        "ORDER BY exit_date DESC, exit_key DESC) AS rn FROM exits "
        "WHERE exit_date >= :start AND exit_date < :end) x "
        "LEFT JOIN contracts c ON c.pid = x.pid AND c.start_date <= x.exit_date "
        "WHERE x.rn = 1 GROUP BY x.pid", _params(period)).fetchall()
    cells: Counter[tuple[str, str]] = Counter()
    for destination, exit_date, first_start in rows:
        years = 0.0 if first_start is None else (
            date.fromisoformat(exit_date) - date.fromisoformat(first_start)).days / 365.25
        cells[(group_of.get(destination, destination), tenure_band(years))] += 1
    order = list(destinations) or sorted({d for d, _ in cells})
    ordered = sorted(cells, key=lambda k: (order.index(k[0]) if k[0] in order else len(order),
                                           TENURE_BANDS.index(k[1])))
    return ReportSection(
        "exits_by_tenure", "People who left (last exit of the period), by destination and "
        "tenure at exit", "people", "destination/tenure",
        tuple((f"{d}/{t}", float(cells[(d, t)])) for d, t in ordered), float(len(rows)),
        len(rows), "tenure: from the person's first contract start to the exit date")


def organisational_sections(store: Store, period: Period,
                            destinations: Mapping[str, tuple[str, ...]]) -> list[ReportSection]:
    """The organisational figures for ``period`` (exit destinations grouped as the catalogue's
    ``exit_destination`` dimension groups them)."""
    with store.reading() as conn:
        return [_competence_by_kind(conn, period), _hours_by_kind(conn, period),
                _goals(conn, period), _exits_by_tenure(conn, period, destinations)]
