"""A budget period of its own for every bench run.

The node charges every answer to the budget period its clock is in (node.toml ``[budget]
period``: the calendar year). The cached stores outlive a run and keep their ledgers, so runs
charging the real current year would add up and, after a few dozen runs, exhaust the querier's
cap (at most 20 ε per period, as node.toml allows) and refuse the queries being timed.

Instead each run reserves the next year from a counter kept beside the cached stores (the
ledgers it protects live in the same folder, so a year is never used twice on one ledger) and
gives the node's ``QueryEngine`` a clock in that year: the real date and time of day, the
year replaced. Nothing else changes: every charge is checked against the querier's cap, the
node-wide cap and the lifetime cap, and committed to the ledger as in production. The lifetime
cap, which sums every period, is set far above anything the benchmarks spend
(``bench.stores.LIFETIME_CAP``).
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

__all__ = ["FIRST_YEAR", "clock_in", "reserve_year"]

FIRST_YEAR = 3000  # far from any real period, so a bench charge is never mistaken for one
_LAST_YEAR = 9999  # datetime's limit


def reserve_year(directory: Path) -> int:
    """The next unused year for ``directory``'s ledgers (safe against concurrent runs)."""
    directory.mkdir(parents=True, exist_ok=True)
    fd = os.open(directory / "budget-years.json", os.O_RDWR | os.O_CREAT, 0o600)
    with os.fdopen(fd, "r+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        text = handle.read()
        year = int(json.loads(text)["next"]) if text.strip() else FIRST_YEAR
        if year > _LAST_YEAR:
            raise RuntimeError(f"every budget year of the bench cache {directory} is used; "
                               "delete the cache to start again")
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps({"next": year + 1}) + "\n")
    return year


def clock_in(year: int) -> Callable[[], datetime]:
    """A clock showing the current date and time, in ``year`` (day capped at 28: no 29 Feb)."""

    def now() -> datetime:
        current = datetime.now(UTC)
        return current.replace(year=year, day=min(current.day, 28))

    return now
