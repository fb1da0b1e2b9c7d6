"""A figure of the organisation's own report, broken down over one dimension.

Its own module so that the report (``report``) and the organisational figures computed outside
the catalogue (``org_report``) both build on it without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["ReportSection", "format_value"]


@dataclass(frozen=True)
class ReportSection:
    """One figure broken down over a dimension: a value per cell, and the total."""

    name: str
    title: str
    unit: str
    dimension: str | None
    rows: tuple[tuple[str, float], ...]
    total: float
    persons: int  # people contributing to the total
    note: str = ""
    row_persons: tuple[int, ...] = ()  # people behind each row, for means and shares

    def empty(self, index: int) -> bool:
        """A mean or share over nobody: shown as "—", not as zero."""
        return bool(self.row_persons) and self.row_persons[index] == 0 and \
            self.unit in ("share", "mean change", "hours per person")

    def to_json(self) -> dict[str, Any]:
        data = {"title": self.title, "unit": self.unit, "by": self.dimension,
                "cells": {cell: value for cell, value in self.rows}, "total": self.total,
                "persons": self.persons, "note": self.note}
        if self.row_persons:
            data["persons_by_cell"] = {cell: n for (cell, _), n in
                                       zip(self.rows, self.row_persons, strict=True)}
        return data


def format_value(section: ReportSection, value: float) -> str:
    """A figure as people read it: shares in %, changes signed, counts whole."""
    if section.unit == "share":
        return f"{100 * value:.1f} %"
    if section.unit == "mean change":
        return f"{value:+.3f}"
    if section.unit in ("people", "goals"):
        return f"{value:,.0f}"
    return f"{value:,.1f}"
