"""The query model: what a querier asks, and its validation against a catalogue.

Validation happens before anything touches data or budget, so a bad query costs nothing. Every
message names the offending field and what is allowed, from the request and the public
catalogue only.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from types import MappingProxyType

from privacy.budget import format_micro
from privacy.catalogue import Catalogue, Dimension, Measure, Statistic
from privacy.errors import CatalogueVersionError, InvalidQueryError

__all__ = ["MAX_GROUP_BY", "Period", "QuerySpec", "ValidatedQuery", "parse_period", "validate"]

MAX_GROUP_BY = 4
_PERIOD = re.compile(r"^(?P<year>\d{4})(?:-Q(?P<quarter>[1-4]))?$")


@dataclass(frozen=True)
class Period:
    """A half-open reference period ``[start, end)``."""

    label: str
    start: date
    end: date


def parse_period(text: str) -> Period:
    """Parse ``"2025"`` (a calendar year) or ``"2025-Q3"`` (a quarter)."""
    match = _PERIOD.match(text)
    if not match:
        raise InvalidQueryError("period must be a year such as 2025 or a quarter such as 2025-Q3")
    year = int(match["year"])
    if not 1990 <= year <= 2100:
        raise InvalidQueryError("period year must be between 1990 and 2100")
    if match["quarter"] is None:
        return Period(text, date(year, 1, 1), date(year + 1, 1, 1))
    quarter = int(match["quarter"])
    start = date(year, 3 * quarter - 2, 1)
    end = date(year + 1, 1, 1) if quarter == 4 else date(year, 3 * quarter + 1, 1)
    return Period(text, start, end)


@dataclass(frozen=True)
class QuerySpec:
    """A query as the querier states it (already parsed from the wire)."""

    catalogue_version: str
    measure: str
    statistic: Statistic
    group_by: tuple[str, ...]
    filters: tuple[tuple[str, tuple[str, ...]], ...]
    period: str
    epsilon_micro: int

    def digest(self) -> str:
        """A stable SHA-256 of the query's content, so a reused query id can be recognised."""
        canonical = json.dumps(
            {
                "catalogue_version": self.catalogue_version,
                "measure": self.measure,
                "statistic": self.statistic.value,
                "group_by": list(self.group_by),
                "filters": sorted([d, sorted(v)] for d, v in self.filters),
                "period": self.period,
                "epsilon": format_micro(self.epsilon_micro),
            },
            sort_keys=True,
            separators=(",", ":"),
        )
        return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class ValidatedQuery:
    """A query checked against a catalogue, with everything the node needs to compute it."""

    spec: QuerySpec
    catalogue: Catalogue
    measure: Measure
    dimensions: tuple[Dimension, ...]
    filters: Mapping[str, tuple[str, ...]]
    period: Period
    cells: tuple[tuple[str, ...], ...]


def _check_dimension(catalogue: Catalogue, measure: Measure, name: str, role: str) -> Dimension:
    dimension = catalogue.dimensions.get(name)
    if dimension is None:
        known = ", ".join(sorted(catalogue.dimensions))
        raise InvalidQueryError(f"unknown {role} dimension {name!r}; known: {known}")
    if dimension.applies_to and measure.population not in dimension.applies_to:
        raise InvalidQueryError(f"dimension {name!r} does not apply to measure {measure.name!r}")
    return dimension


def validate(spec: QuerySpec, catalogue: Catalogue) -> ValidatedQuery:
    """Check ``spec`` against ``catalogue``; raise :class:`InvalidQueryError` on the first fault."""
    if spec.catalogue_version != catalogue.version:
        raise CatalogueVersionError(
            f"catalogue version {spec.catalogue_version!r} is not the one this query is checked "
            f"against ({catalogue.version!r})"
        )
    measure = catalogue.measures.get(spec.measure)
    if measure is None:
        known = ", ".join(sorted(catalogue.measures))
        raise InvalidQueryError(f"unknown measure {spec.measure!r}; known: {known}")
    if spec.statistic not in measure.statistics:
        allowed = ", ".join(sorted(s.value for s in measure.statistics))
        raise InvalidQueryError(
            f"statistic {spec.statistic.value!r} is not offered for {measure.name!r}; use {allowed}"
        )
    if len(spec.group_by) > MAX_GROUP_BY:
        raise InvalidQueryError(f"at most {MAX_GROUP_BY} group-by dimensions are allowed")
    if len(set(spec.group_by)) != len(spec.group_by):
        raise InvalidQueryError("a dimension appears twice in group_by")
    dimensions = tuple(_check_dimension(catalogue, measure, n, "group-by") for n in spec.group_by)
    filters: dict[str, tuple[str, ...]] = {}
    for name, values in spec.filters:
        dimension = _check_dimension(catalogue, measure, name, "filter")
        if name in filters:
            raise InvalidQueryError(f"dimension {name!r} is filtered twice")
        if not values:
            raise InvalidQueryError(f"filter on {name!r} lists no values")
        unknown = sorted(set(values) - set(dimension.cells))
        if unknown:
            raise InvalidQueryError(
                f"filter on {name!r}: {len(unknown)} value(s) outside its public domain; "
                f"allowed: {', '.join(dimension.cells)}"
            )
        filters[name] = tuple(c for c in dimension.cells if c in set(values))
    period = parse_period(spec.period)
    axes = [filters.get(d.name, d.cells) for d in dimensions]
    n_cells = 1
    for axis in axes:
        n_cells *= len(axis)
    if spec.statistic is Statistic.HISTOGRAM:
        n_cells *= len(measure.bins) - 1  # every bin of every cell is released
    if n_cells > catalogue.max_cells:
        raise InvalidQueryError(
            f"the group-by has {n_cells} cells (bins included); the catalogue allows at most "
            f"{catalogue.max_cells}"
        )
    cells = tuple(itertools.product(*axes))
    return ValidatedQuery(
        spec=spec,
        catalogue=catalogue,
        measure=measure,
        dimensions=dimensions,
        filters=MappingProxyType(filters),
        period=period,
        cells=cells,
    )
