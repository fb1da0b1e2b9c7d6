"""A generated person's episode and the reference year's calendar: what every draw builds on.

Shared by the person and contract draws (``generator``) and the high-volume activity draws
(``activities``), so that neither imports the other.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

__all__: list[str] = []


@dataclass(slots=True)
class _Person:
    serial: int
    role: str
    target_group: str
    start: int  # date ordinal
    end: int | None  # exit date ordinal (exclusive end of the episode); None = ongoing
    birth_year: int
    gender: str
    education: str
    region: str
    destination: str  # "" when the person has not left
    person_id: str = ""


@dataclass(frozen=True)
class _Calendar:
    """Day ordinals of the reference year and the observation window (year before + year)."""

    year: int
    year_start: int
    year_end: int  # exclusive
    window_start: int  # 1 January of the year before
    day_str: tuple[str, ...]  # ISO strings for window_start .. year_end - 1

    @staticmethod
    def of(year: int) -> _Calendar:
        window_start = date(year - 1, 1, 1).toordinal()
        year_end = date(year + 1, 1, 1).toordinal()
        return _Calendar(
            year=year,
            year_start=date(year, 1, 1).toordinal(),
            year_end=year_end,
            window_start=window_start,
            day_str=tuple(date.fromordinal(o).isoformat() for o in range(window_start, year_end)),
        )

    def iso(self, ordinal: int) -> str:
        if self.window_start <= ordinal < self.year_end:
            return self.day_str[ordinal - self.window_start]
        return date.fromordinal(ordinal).isoformat()
