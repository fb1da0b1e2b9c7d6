"""Per-person facts, kept up to date inside every write transaction (schema version 8).

A catalogue query over the people under contract asks, per person and period, the same few
things: were they under contract at some time in it, on its first day, on its last day; what
FTE did their contracts give over it; how many minutes of support did they get in it. Computed
from the raw rows on every query, that is 90–97 % of an answer (one walk per person through
their support actions). ``person_periods`` keeps them instead, one narrow row per person under
contract and period, keyed by ``(period, pid)`` so that a query reads one index range; the row
also carries the person's worker attributes (the catalogue's dimensions), so that a query reads
this table alone (a join to ``workers`` cost as much as the rest of the query, measured).

Periods: the catalogue asks for calendar years and quarters only (``privacy.parse_period``),
so facts are kept per period label (``2025``, ``2025-Q3``), each row holding that period's
final per-person values — no sum over sub-periods at query time, no ``GROUP BY pid``. Open-ended
contracts would make every future period non-empty, so the covered periods are a window,
listed in ``facts_periods``: the ten calendar years up to this one and the next, with their
quarters. The window grows as the years go by (at the first write of a new year, or at
``koepel node check --rebuild-facts``); a query for a period outside it is answered from the
raw rows, correct and slower (``node.engine.compiler``).

Upkeep: triggers mark a person in ``facts_dirty`` whenever their worker row or one of their
contracts or support actions is inserted, updated or deleted (by the importer, the
organisation's tool or anyone); ``refresh`` recomputes exactly those people's facts and is
run by ``Store.transaction`` before every commit, so facts and rows commit together or not at
all. A query that finds a marked
person (a write outside ``Store.transaction``) reads the raw rows instead.

The values are the compiled SQL's own expressions (same operations, same order), so a person's
fact equals what the raw-row SQL computes; tests/test_compiler_property.py checks it for random
stores and random edits. Everything stays in the encrypted file; the marks and the window live
in it too (no temporary table, no plaintext).
"""

from __future__ import annotations

from datetime import date
from typing import Any

__all__ = ["FACTS_YEARS_BACK", "REFRESH_SQL", "covered", "ensure_window", "pending", "rebuild",
           "refresh", "window"]

FACTS_YEARS_BACK = 9  # the window: this year, the nine before it and the next one

# Per person under contract in a covered period: the flags, FTE and support minutes. The FTE
# and support expressions are those of node/engine/compiler.py's raw-row values.
_FILL = (
    "INSERT INTO person_periods (period, pid, active_start, active_end, fte, support_min, "
    "birth_year, gender, education_level, target_group, region) "
    "SELECT p.period, c.pid, "
    "MAX(c.start_date <= p.start_date AND (c.end_date IS NULL OR c.end_date > p.start_date)), "
    "MAX(c.start_date <= p.last_day AND (c.end_date IS NULL OR c.end_date > p.last_day)), "
    "SUM(MIN(c.weekly_hours, 38.0) / 38.0 * "
    "(julianday(MIN(COALESCE(c.end_date, p.end_date), p.end_date)) "
    "- julianday(MAX(c.start_date, p.start_date))) / p.days), "
    "COALESCE((SELECT SUM(s.duration_min) FROM support_actions s WHERE s.pid = c.pid "
    "AND s.action_date >= p.start_date AND s.action_date < p.end_date), 0), "
    "w.birth_year, w.gender, w.education_level, w.target_group, w.region "
    "FROM {source} JOIN workers w ON w.pid = c.pid "
    "WHERE c.start_date < p.end_date AND (c.end_date IS NULL OR c.end_date > p.start_date) "
    "{where} GROUP BY p.period, c.pid"
)


# Recomputing the marked people only (see ``refresh``).
REFRESH_SQL = _FILL.format(
    source="facts_dirty d CROSS JOIN contracts c ON c.pid = d.pid CROSS JOIN facts_periods p",
    where="")


def window(today: date) -> list[tuple[str, str, str, str, float]]:
    """The covered periods for ``today``: ``(label, start, end, last day, days)``."""
    spans: list[tuple[str, date, date]] = []
    for year in range(today.year - FACTS_YEARS_BACK, today.year + 2):
        spans.append((str(year), date(year, 1, 1), date(year + 1, 1, 1)))
        for quarter in range(1, 5):
            start = date(year, 3 * quarter - 2, 1)
            end = date(year + 1, 1, 1) if quarter == 4 else date(year, 3 * quarter + 1, 1)
            spans.append((f"{year}-Q{quarter}", start, end))
    return [(label, start.isoformat(), end.isoformat(),
             date.fromordinal(end.toordinal() - 1).isoformat(), float((end - start).days))
            for label, start, end in spans]


def ensure_window(conn: Any, today: date) -> int:
    """Add the periods of ``today``'s window not covered yet, with every person's facts in
    them; returns how many periods were added. Call inside a write transaction."""
    have = {r[0] for r in conn.execute("SELECT period FROM facts_periods")}
    missing = [p for p in window(today) if p[0] not in have]
    if not missing:
        return 0
    conn.executemany("INSERT INTO facts_periods (period, start_date, end_date, last_day, days) "
                     "VALUES (?, ?, ?, ?, ?)", missing)
    labels = ", ".join("?" for _ in missing)
    conn.execute(_FILL.format(source="facts_periods p JOIN contracts c",
                              where=f"AND p.period IN ({labels})"),
                 [p[0] for p in missing])
    return len(missing)


def pending(conn: Any, today: date) -> bool:
    """Whether marked people await recomputation or ``today``'s window is not covered yet
    (a read: lets an opening store skip a write transaction when nothing is due)."""
    if conn.execute("SELECT 1 FROM facts_dirty LIMIT 1").fetchone() is not None:
        return True
    labels = [p[0] for p in window(today)]
    found = conn.execute(f"SELECT count(*) FROM facts_periods WHERE period IN "
                         f"({', '.join('?' for _ in labels)})", labels).fetchone()[0]
    return int(found) < len(labels)


def refresh(conn: Any) -> int:
    """Recompute the facts of every marked person and clear the marks; returns how many.

    Call inside a write transaction (``Store.transaction`` does, before it commits).
    """
    if conn.execute("SELECT 1 FROM facts_dirty LIMIT 1").fetchone() is None:
        return 0
    marked = int(conn.execute("SELECT count(*) FROM facts_dirty").fetchone()[0])
    conn.execute("DELETE FROM person_periods WHERE pid IN (SELECT pid FROM facts_dirty)")
    # Driven by the marked people (CROSS JOIN fixes SQLite's join order): their contracts
    # through contracts_by_pid_period, then each covered period (a few dozen rows). Left to
    # the planner, it scanned every contract once per period (measured in bench/).
    conn.execute(REFRESH_SQL)
    conn.execute("DELETE FROM facts_dirty")
    return marked


def rebuild(conn: Any, today: date) -> int:
    """Forget every fact and compute them all again for ``today``'s window (``koepel node
    check --rebuild-facts``); returns the number of person-period rows. Inside a write
    transaction."""
    conn.execute("DELETE FROM person_periods")
    conn.execute("DELETE FROM facts_periods")
    conn.execute("DELETE FROM facts_dirty")
    ensure_window(conn, today)
    return int(conn.execute("SELECT count(*) FROM person_periods").fetchone()[0])


def covered(conn: Any, period: str) -> bool:
    """Whether the facts answer for ``period`` now: it is in the window and no person is
    waiting to be recomputed."""
    try:
        row = conn.execute(
            "SELECT EXISTS (SELECT 1 FROM facts_periods WHERE period = ?) "
            "AND NOT EXISTS (SELECT 1 FROM facts_dirty)", (period,)).fetchone()
    except Exception as exc:  # a store opened without migrating, older than version 8
        if "no such table" in str(exc):
            return False
        raise
    return bool(row[0])
