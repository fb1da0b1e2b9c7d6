"""A figure over the years, from the history, keyed by catalogue version.

Each stored result names the catalogue version it was asked under. A trend takes, per period,
the newest stored result of the same question (measure, statistic, breakdown, filters: any ε)
and cuts the series wherever the measure's *definition* changes between the catalogue versions
of two neighbouring points — its population, per-person value, bounds, parameters or bins, or
the cells of a breakdown. A measure renamed or re-bounded therefore shows as a break, never as
one line joined across two definitions. Catalogue versions that define the measure identically
(2025.1 → 2026.2 for headcount) join.

Only stored results are read: a trend costs no budget.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from aggregator.results import SectorResult
from privacy import Catalogue, Statistic

__all__ = ["Segment", "definition_of", "series"]


@dataclass(frozen=True)
class Segment:
    """Consecutive points asked under catalogue versions that define the figure identically."""

    catalogue_versions: tuple[str, ...]
    points: tuple[SectorResult, ...]  # one per period, in period order


def definition_of(catalogue: Catalogue | None, measure: str,
                  group_by: Sequence[str]) -> tuple[object, ...] | None:
    """What must stay equal for two points to be joined (None: the version is unknown here)."""
    if catalogue is None or measure not in catalogue.measures:
        return None
    m = catalogue.measures[measure]
    dimensions = tuple((d, catalogue.dimensions[d].cells,
                        tuple(sorted((k, v) for k, v in catalogue.dimensions[d].groups.items())),
                        catalogue.dimensions[d].age_edges)
                       if d in catalogue.dimensions else (d,) for d in group_by)
    return (m.population, m.value, m.lower, m.upper,
            tuple(sorted(m.params.items())), m.bins, dimensions)


def series(results: Iterable[SectorResult], *, measure: str, statistic: Statistic,
           group_by: Sequence[str], periods: Sequence[str],
           catalogues: Mapping[str, Catalogue]) -> tuple[list[Segment], list[str]]:
    """(segments, periods without a stored result) of the question over ``periods``.

    ``results`` may come in any order; the newest result per period wins (by creation time).
    """
    newest: dict[str, SectorResult] = {}
    for result in results:
        s = result.spec
        if (s.measure, s.statistic, tuple(s.group_by), s.filters) != (
                measure, statistic, tuple(group_by), ()) or s.period not in periods:
            continue
        if s.period not in newest or result.created_at > newest[s.period].created_at:
            newest[s.period] = result
    segments: list[Segment] = []
    current: list[SectorResult] = []
    versions: list[str] = []
    previous: tuple[object, ...] | None = None
    missing = []
    for period in periods:
        point = newest.get(period)
        if point is None:
            missing.append(period)
            continue
        version = point.spec.catalogue_version
        definition = definition_of(catalogues.get(version), measure, group_by)
        if current and (definition is None or definition != previous):
            segments.append(Segment(tuple(versions), tuple(current)))
            current, versions = [], []
        current.append(point)
        if version not in versions:
            versions.append(version)
        previous = definition
    if current:
        segments.append(Segment(tuple(versions), tuple(current)))
    return segments, missing
