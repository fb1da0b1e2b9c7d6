"""The organisation's own management view: its exact figures, computed and shown locally.

The same compiled, per-person SQL that feeds the federation's DP answers (so the figures an
organisation sees for itself are defined exactly as the sector's), but exact: no noise, no
budget, nothing charged, nothing sent. It never leaves the machine; the node's gRPC service has
no way to ask for it.

Per-person clamping still applies (support hours count at most the catalogue's bound per person,
FTE at most 1), and the report says so, so that the organisation's figure and the sector's
definition cannot drift apart unnoticed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from node.queries import QueryEngine
from privacy import Catalogue, QuerySpec, Statistic, parse_period, validate

__all__ = ["LocalReport", "ReportSection", "build_report"]

_NOT_CHARGED = 1_000_000  # QuerySpec needs an ε; a local exact report spends none


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

    def to_json(self) -> dict[str, Any]:
        return {"title": self.title, "unit": self.unit, "by": self.dimension,
                "cells": {cell: value for cell, value in self.rows}, "total": self.total,
                "persons": self.persons, "note": self.note}


@dataclass(frozen=True)
class LocalReport:
    node_id: str
    organisation: str
    period: str
    catalogue_version: str
    sections: tuple[ReportSection, ...]
    skipped: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {"node_id": self.node_id, "organisation": self.organisation,
                "period": self.period, "catalogue_version": self.catalogue_version,
                "exact": True, "local_only": True,
                "sections": {s.name: s.to_json() for s in self.sections},
                "skipped": list(self.skipped)}


@dataclass(frozen=True)
class _Figure:
    name: str
    title: str
    measure: str
    use_sum: bool  # the per-person value summed (FTE, hours), or persons counted
    unit: str
    dimension: str


_FIGURES: Sequence[_Figure] = (
    _Figure("headcount", "People under contract on the last day", "headcount", False,
            "people", "target_group"),
    _Figure("fte", "Full-time equivalent over the period", "fte", True, "FTE", "target_group"),
    _Figure("reached", "People with a contract or activity during the period", "reached", False,
            "people", "target_group"),
    _Figure("exits", "People who left (last exit of the period), by destination",
            "exited_to_regular_job", False, "people", "exit_destination"),
    _Figure("support_hours", "Hours of support received", "support_hours", True, "hours",
            "target_group"),
)


def _statistic(catalogue: Catalogue, measure: str) -> Statistic:
    offered = catalogue.measures[measure].statistics
    return next(s for s in (Statistic.COUNT, Statistic.SUM, Statistic.MEAN) if s in offered)


def _section(engine: QueryEngine, catalogue: Catalogue, figure: _Figure,
             period: str) -> ReportSection:
    measure = catalogue.measures[figure.measure]
    dimension = catalogue.dimensions.get(figure.dimension)
    group_by: tuple[str, ...] = ()
    if dimension is not None and (not dimension.applies_to
                                  or measure.population in dimension.applies_to):
        group_by = (figure.dimension,)
    spec = QuerySpec(catalogue.version, figure.measure, _statistic(catalogue, figure.measure),
                     group_by, (), period, _NOT_CHARGED)
    query = validate(spec, catalogue)
    counts, sums = engine.exact_cells(query)
    scale = catalogue.fixed_point_scale
    values = [s / scale for s in sums] if figure.use_sum else [float(c) for c in counts]
    rows = tuple(("/".join(cell) or "all", value)
                 for cell, value in zip(query.cells, values, strict=True))
    note = ""
    if figure.use_sum:
        note = f"each person counts for at most {Decimal(measure.upper).normalize():f} " \
               f"{figure.unit}, as in the federation's figures"
        if figure.name == "support_hours":
            persons = sum(counts)
            mean = sum(values) / persons if persons else 0.0
            note += f"; {mean:.1f} hours per person reached"
    return ReportSection(figure.name, figure.title, figure.unit,
                         figure.dimension if group_by else None, rows, sum(values),
                         sum(counts), note)


def build_report(engine: QueryEngine, catalogue: Catalogue, *, node_id: str,
                 organisation: str, period: str) -> LocalReport:
    """Headcount, FTE, people reached, exits by destination and support hours for ``period``."""
    parse_period(period)  # a clear message for a malformed period before any work
    sections: list[ReportSection] = []
    skipped: list[str] = []
    for figure in _FIGURES:
        if figure.measure not in catalogue.measures:
            skipped.append(f"{figure.name}: catalogue {catalogue.version} has no measure "
                           f"{figure.measure!r}")
            continue
        sections.append(_section(engine, catalogue, figure, period))
    return LocalReport(node_id, organisation, period, catalogue.version, tuple(sections),
                       tuple(skipped))
