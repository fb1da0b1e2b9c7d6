"""Each published sector figure with the organisation's own exact figure beside it.

For every sector result the federation published to this node (``node.published``) for the
period asked, the organisation's figure is computed here, exactly, with the same compiled
per-person SQL and the same catalogue version as the sector's question (same population,
bounds, breakdown and filters), so the two are defined alike; the sector's estimate and 95%
interval are shown as published. Nothing is noised, charged or sent: this reads the node's own
records and the results it was given.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from i18n import N_
from node.engine.queries import QueryEngine
from node.published import PublishedResult, published_results
from node.store.database import Store
from privacy import Catalogue, InvalidQueryError, QuerySpec, Statistic, validate

__all__ = ["BesideCell", "BesideFigure", "beside_sector"]

_NOT_CHARGED = 1_000_000  # QuerySpec needs an ε; a local exact figure spends none


@dataclass(frozen=True)
class BesideCell:
    key: tuple[str, ...]
    own: float  # the organisation's exact figure (NaN: a mean over nobody)
    own_persons: int
    sector: float  # the sector's published estimate
    sector_lower: float
    sector_upper: float
    sector_reliable: bool


@dataclass(frozen=True)
class BesideFigure:
    published: PublishedResult
    cells: tuple[BesideCell, ...]
    skipped: str = ""  # why the organisation's figure could not be computed here (a msgid)

    def to_json(self) -> dict[str, Any]:
        p = self.published

        def number(value: float) -> float | None:
            return value if math.isfinite(value) else None

        return {"result_id": p.result_id, "measure": p.measure, "statistic": p.statistic,
                "group_by": list(p.group_by), "period": p.period,
                "catalogue_version": p.catalogue_version, "skipped": self.skipped or None,
                "cells": [{"key": list(c.key), "own": number(c.own), "own_persons": c.own_persons,
                           "sector_estimate": number(c.sector),
                           "sector_ci": [number(c.sector_lower), number(c.sector_upper)],
                           "sector_publishable": c.sector_reliable} for c in self.cells]}


def _own_values(engine: QueryEngine, catalogue: Catalogue, published: PublishedResult
                ) -> dict[tuple[str, ...], tuple[float, int]]:
    statistic = Statistic(published.statistic)
    group_by = published.group_by[:-1] if statistic is Statistic.HISTOGRAM else (
        published.group_by)  # a histogram's last key is its bin
    spec = QuerySpec(catalogue.version, published.measure, statistic, group_by,
                     published.filters, published.period, _NOT_CHARGED)
    query = validate(spec, catalogue)
    scale = catalogue.fixed_point_scale
    if query.spec.statistic is Statistic.HISTOGRAM:
        counts = engine.exact_histogram(query)
        labels = query.measure.bin_labels
        keys = [(*cell, label) for cell in query.cells for label in labels]
        return {key: (float(n), n) for key, n in zip(keys, counts, strict=True)}
    counts, sums = engine.exact_cells(query)
    values: dict[tuple[str, ...], tuple[float, int]] = {}
    for cell, n, total in zip(query.cells, counts, sums, strict=True):
        if query.spec.statistic is Statistic.COUNT:
            values[cell] = (float(n), n)
        elif query.spec.statistic is Statistic.SUM:
            values[cell] = (total / scale, n)
        else:
            values[cell] = (total / scale / n if n else math.nan, n)
    return values


_NO_CATALOGUE = N_("This node does not serve the catalogue version of this result.")
_REFUSED = N_("This node cannot compute this figure locally.")


def beside_sector(engine: QueryEngine, store: Store, catalogues: Mapping[str, Catalogue],
                  period: str) -> list[BesideFigure]:
    """Every result published for ``period`` (the newest of each question), each cell with
    the organisation's own exact figure beside the sector's."""
    newest: dict[tuple[object, ...], PublishedResult] = {}
    for published in published_results(store):  # newest first
        if published.period != period:
            continue
        question = (published.measure, published.statistic, published.group_by,
                    published.filters)
        newest.setdefault(question, published)
    figures = []
    for published in newest.values():
        catalogue = catalogues.get(published.catalogue_version)
        if catalogue is None:
            figures.append(BesideFigure(published, (), _NO_CATALOGUE))
            continue
        try:
            own = _own_values(engine, catalogue, published)
        except (InvalidQueryError, ValueError):
            figures.append(BesideFigure(published, (), _REFUSED))
            continue
        cells: Sequence[BesideCell] = [
            BesideCell(c.key, *own.get(c.key, (math.nan, 0)), c.estimate, c.ci_lower,
                       c.ci_upper, c.reliable) for c in published.cells]
        figures.append(BesideFigure(published, tuple(cells)))
    return sorted(figures, key=lambda f: (f.published.measure, f.published.statistic,
                                          f.published.group_by))
