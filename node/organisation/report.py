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

from node.engine.queries import QueryEngine
from node.organisation.org_report import organisational_sections
from node.organisation.sections import ReportSection, format_value
from node.organisation.sector import BesideFigure, beside_sector
from node.store.database import Store
from privacy import (
    Catalogue,
    InvalidQueryError,
    Measure,
    QuerySpec,
    Statistic,
    parse_period,
    shipped_catalogues,
    validate,
)

__all__ = ["LocalReport", "ReportSection", "build_report", "format_value"]

_NOT_CHARGED = 1_000_000  # QuerySpec needs an ε; a local exact report spends none


@dataclass(frozen=True)
class LocalReport:
    node_id: str
    organisation: str
    period: str
    catalogue_version: str
    sections: tuple[ReportSection, ...]
    skipped: tuple[str, ...]
    # The sector results published to this node for the period, with the organisation's own
    # exact figure beside each (node.organisation.sector): only with the node's store.
    beside: tuple[BesideFigure, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"node_id": self.node_id, "organisation": self.organisation,
                "period": self.period, "catalogue_version": self.catalogue_version,
                "exact": True, "local_only": True,
                "sections": {s.name: s.to_json() for s in self.sections},
                "skipped": list(self.skipped),
                "beside_sector": [b.to_json() for b in self.beside]}


@dataclass(frozen=True)
class _Figure:
    name: str
    title: str
    measure: str
    use_sum: bool  # the per-person value summed (FTE, hours), or persons counted
    unit: str
    dimension: str
    mean: bool = False  # the per-person mean (a share, for 0/1 values) per cell



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
    # The accompaniment figures (catalogue 2026.1), per person as the federation defines them.
    _Figure("support_hours_per_person", "Hours of support per person reached",
            "support_hours", True, "hours per person", "target_group", mean=True),
    _Figure("competence_progression", "Competence progression (people assessed twice)",
            "competence_gain", True, "mean change", "target_group", mean=True),
    _Figure("plan_coverage", "Share of people reached who have a support plan",
            "plan_coverage", True, "share", "target_group", mean=True),
    _Figure("plan_review_rate", "Share of plans reviewed in the period (people with a plan)",
            "plan_reviewed", True, "share", "target_group", mean=True),
    _Figure("retention_12m", "Still under contract 12 months on (people under contract on "
            "the first day)", "retention_12m", True, "share", "target_group", mean=True),
    _Figure("self_evaluation_change", "Change in self-evaluation (people who answered twice)",
            "self_evaluation_change", True, "mean change", "target_group", mean=True),
    _Figure("transition_regular_economy", "Share of leavers who left for a regular job",
            "exited_to_regular_job", True, "share", "target_group", mean=True),
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
    if figure.mean:
        return _mean_section(figure, measure, query.cells, counts, sums, scale, group_by)
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


def _mean_section(figure: _Figure, measure: Measure, cells: Sequence[tuple[str, ...]],
                  counts: Sequence[int], sums: Sequence[int], scale: int,
                  group_by: tuple[str, ...]) -> ReportSection:
    """Per cell the mean of the clamped per-person values (a share for 0/1 values)."""
    rows = tuple(("/".join(cell) or "all", s / scale / c if c else 0.0)
                 for cell, c, s in zip(cells, counts, sums, strict=True))
    persons = sum(counts)
    total = sum(sums) / scale / persons if persons else 0.0
    bounds = f"[{Decimal(measure.lower).normalize():f}, {Decimal(measure.upper).normalize():f}]"
    note = f"mean of one value per person in {bounds}, as in the federation's figures"
    return ReportSection(figure.name, figure.title, figure.unit,
                         figure.dimension if group_by else None, rows, total, persons, note,
                         tuple(counts))


def build_report(engine: QueryEngine, catalogue: Catalogue, *, node_id: str,
                 organisation: str, period: str, store: Store | None = None) -> LocalReport:
    """Headcount, FTE, people reached, exits by destination and support hours for ``period``,
    the accompaniment figures the catalogue defines, and — given the ``store`` — the
    organisational figures (competence progression by kind of support, hours by kind, plan
    goals, exits by destination and tenure) and the organisation beside each sector result
    published to it for the period."""
    parsed = parse_period(period)  # a clear message for a malformed period before any work
    sections: list[ReportSection] = []
    skipped: list[str] = []
    for figure in _FIGURES:
        if figure.measure not in catalogue.measures:
            skipped.append(f"{figure.name}: catalogue {catalogue.version} has no measure "
                           f"{figure.measure!r}")
            continue
        try:
            sections.append(_section(engine, catalogue, figure, period))
        except InvalidQueryError as exc:  # e.g. 12-month retention asked for a quarter
            skipped.append(f"{figure.name}: {exc}")
    beside: list[BesideFigure] = []
    if store is not None:
        destinations = catalogue.dimensions.get("exit_destination")
        sections += organisational_sections(
            store, parsed, destinations.groups if destinations is not None else {})
        beside = beside_sector(engine, store, {**shipped_catalogues(), catalogue.version:
                                               catalogue}, period)
    return LocalReport(node_id, organisation, period, catalogue.version, tuple(sections),
                       tuple(skipped), tuple(beside))
