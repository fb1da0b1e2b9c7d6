"""Sector results the federation published to this node, kept to show the organisation beside
its sector.

A published result is the federation's differentially private output (`koepel publish ID`):
public within the federation, safe to keep and show. The node stores it in its encrypted store
(the ``meta`` table, one row per result, key ``published_result:<id>``, so no schema change is
needed) and its organisation report reads it back to put the organisation's exact figure next
to the sector's estimate and interval, computed locally. Receiving a result reads no record and
sends nothing back: the reply is empty.

Only what the side-by-side view needs is kept (the query, each cell's estimate, interval and
publishable flag, how many organisations answered), checked on arrival: a malformed result is
refused as a whole and nothing is written.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, dataclass
from typing import Any

from node.store.database import Store
from privacy import InvalidQueryError
from protos import pb2

__all__ = ["PublishedCell", "PublishedResult", "published_from_proto", "published_results",
           "store_published"]

_KEY = "published_result:"
_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
_MAX_CELLS = 5000
_STATISTICS = {pb2.STATISTIC_COUNT: "count", pb2.STATISTIC_SUM: "sum",
               pb2.STATISTIC_MEAN: "mean", pb2.STATISTIC_HISTOGRAM: "histogram"}


@dataclass(frozen=True)
class PublishedCell:
    key: tuple[str, ...]
    estimate: float
    ci_lower: float
    ci_upper: float
    reliable: bool
    note: str = ""


@dataclass(frozen=True)
class PublishedResult:
    """One published sector figure: the query it answers and its cells."""

    result_id: str
    created_at: str
    federation: str
    catalogue_version: str
    measure: str
    statistic: str
    group_by: tuple[str, ...]  # a histogram's ends with "bin"
    period: str
    cells: tuple[PublishedCell, ...]
    answered: int
    registered: int
    complete: bool
    filters: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def to_json(self) -> str:
        raw = asdict(self)
        raw["cells"] = [{**c, "key": list(c["key"])} for c in raw["cells"]]
        raw["filters"] = [[d, list(v)] for d, v in self.filters]
        return json.dumps(raw, allow_nan=True)

    @classmethod
    def from_json(cls, text: str) -> PublishedResult:
        raw: dict[str, Any] = json.loads(text)
        cells = tuple(PublishedCell(**{**c, "key": tuple(c["key"])}) for c in raw.pop("cells"))
        filters = tuple((d, tuple(v)) for d, v in raw.pop("filters", ()))
        return cls(**{**raw, "group_by": tuple(raw["group_by"]), "cells": cells,
                      "filters": filters})


def _text(value: str, what: str, limit: int = 128) -> str:
    if len(value) > limit or any(ord(ch) < 32 for ch in value):
        raise InvalidQueryError(f"published result: {what} is malformed")
    return value


def published_from_proto(message: pb2.SectorResult) -> PublishedResult:
    """The published result, checked; :class:`InvalidQueryError` (nothing stored) if malformed."""
    if not _ID.match(message.result_id):
        raise InvalidQueryError("published result: result_id must be 1–64 letters, digits, "
                                ". _ : -")
    spec = message.spec
    statistic = _STATISTICS.get(spec.statistic)
    if statistic is None or not spec.measure or not spec.period:
        raise InvalidQueryError("published result: it names no measure, statistic or period")
    if len(message.cells) > _MAX_CELLS:
        raise InvalidQueryError(f"published result: more than {_MAX_CELLS} cells")
    width = len(message.group_by)
    cells = []
    for cell in message.cells:
        if len(cell.key) != width:
            raise InvalidQueryError("published result: a cell does not match the group-by")
        values = (cell.estimate, cell.ci_lower, cell.ci_upper)
        if any(math.isinf(v) for v in values):
            raise InvalidQueryError("published result: a cell holds an infinite value")
        cells.append(PublishedCell(tuple(_text(k, "a cell key", 64) for k in cell.key),
                                   *values, cell.reliable, _text(cell.note, "a note", 500)))
    answered = sum(1 for n in message.nodes if n.outcome == pb2.NODE_OUTCOME_ANSWERED)
    filters = tuple((_text(f.dimension, "a filter", 64),
                     tuple(_text(v, "a filter value", 64) for v in f.values))
                    for f in spec.filters)
    return PublishedResult(
        result_id=message.result_id, created_at=_text(message.created_at, "created_at", 40),
        federation=_text(message.federation, "the federation's name"),
        catalogue_version=_text(spec.catalogue_version, "the catalogue version", 32),
        measure=_text(spec.measure, "the measure", 64), statistic=statistic,
        group_by=tuple(_text(d, "a dimension", 64) for d in message.group_by),
        period=_text(spec.period, "the period", 32), cells=tuple(cells), answered=answered,
        registered=len(message.nodes), complete=message.complete, filters=filters)


def store_published(store: Store, result: PublishedResult) -> None:
    """Keep ``result`` (a result published again replaces the earlier copy of itself)."""
    with store.transaction() as conn:
        conn.execute("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) "
                     "DO UPDATE SET value = excluded.value",
                     (_KEY + result.result_id, result.to_json()))


def published_results(store: Store) -> list[PublishedResult]:
    """Every published result this node keeps, newest first."""
    with store.reading() as conn:
        rows = conn.execute("SELECT value FROM meta WHERE key >= ? AND key < ?",
                            (_KEY, _KEY[:-1] + chr(ord(":") + 1))).fetchall()
    results = [PublishedResult.from_json(value) for (value,) in rows]
    return sorted(results, key=lambda r: (r.created_at, r.result_id), reverse=True)
