"""The organisation's sharing decisions, read from node.toml, in the form staff review them.

node.toml says per querier which measures and dimensions it may use (absent: all of the
catalogue), the ε it may ask per query and its budget. This module turns that into one
decision per querier and per catalogue entry — what `koepel node policy show` prints — from
the same :class:`~node.policy.AccessPolicy` objects the query engine enforces, so what staff
see is what the node does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from node.config import NodeConfig
from node.policy import AccessPolicy
from privacy import format_micro

__all__ = ["QuerierRules", "SharingDecisions", "sharing_decisions"]


@dataclass(frozen=True)
class QuerierRules:
    identity: str
    cap_epsilon: str
    epsilon_range: str
    max_cells: str


@dataclass(frozen=True)
class SharingDecisions:
    catalogue_version: str
    queriers: tuple[QuerierRules, ...]
    measures: tuple[tuple[str, tuple[bool, ...]], ...]  # name, shared with each querier
    dimensions: tuple[tuple[str, tuple[bool, ...]], ...]

    def to_json(self) -> dict[str, Any]:
        names = [q.identity for q in self.queriers]
        return {
            "catalogue_version": self.catalogue_version,
            "queriers": [{"identity": q.identity, "cap_epsilon": q.cap_epsilon,
                          "epsilon_per_query": q.epsilon_range, "max_cells": q.max_cells}
                         for q in self.queriers],
            "measures": {m: dict(zip(names, shared, strict=True))
                         for m, shared in self.measures},
            "dimensions": {d: dict(zip(names, shared, strict=True))
                           for d, shared in self.dimensions},
        }


def _range(access: AccessPolicy) -> str:
    high = "no limit" if access.max_epsilon_micro is None else format_micro(
        access.max_epsilon_micro)
    return f"{format_micro(access.min_epsilon_micro)} to {high}"


def sharing_decisions(config: NodeConfig) -> SharingDecisions:
    """Every querier's rules, and per measure and dimension of the node's catalogue whether
    each querier may use it."""
    catalogue = config.catalogue
    queriers = list(config.queriers.values())
    rules = tuple(QuerierRules(
        q.identity, format_micro(q.cap_micro), _range(q.access),
        "catalogue's" if q.access.max_cells is None else str(q.access.max_cells))
        for q in queriers)
    measures = tuple(
        (name, tuple(q.access.measures is None or name in q.access.measures for q in queriers))
        for name in catalogue.measures)
    dimensions = tuple(
        (name, tuple(q.access.dimensions is None or name in q.access.dimensions
                     for q in queriers))
        for name in catalogue.dimensions)
    return SharingDecisions(catalogue.version, rules, measures, dimensions)
