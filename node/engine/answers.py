"""A node's answer to one query and the budget views it reports, as domain objects.

An answer is serialised once, stored with its ledger entry, and replayed verbatim for a retried
query id; its receipt (signature over the answer and the ledger head) is made per reply.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from privacy import NoiseKind, NoisyVector, Release
from privacy.receipts import SignedReceipt, answer_digest

__all__ = ["Answer", "BudgetLine", "DryRun"]


@dataclass(frozen=True)
class Answer:
    """A node's differentially private answer to one query."""

    query_id: str
    node_id: str
    cells: tuple[tuple[str, ...], ...]
    release: Release
    clamp_lower: float
    clamp_upper: float
    catalogue_version: str
    replayed: bool = False
    bins: tuple[str, ...] = ()  # histogram bin labels
    bin_edges: tuple[float, ...] = ()
    accounting: str = "pure"
    delta: str = ""  # zcdp: the δ at which ε-equivalents are stated
    cost_epsilon_micro: int = 0  # the charge as ε (equal to the charge under pure accounting)
    receipt: SignedReceipt | None = None  # signed per reply; never stored with the answer

    def vectors(self) -> dict[str, tuple[int, ...]]:
        """The released integers by role (what the receipt's answer digest covers)."""
        return {name: v.values for name, v in self._named().items() if v is not None}

    def _named(self) -> dict[str, NoisyVector | None]:
        release = self.release
        return {"count": release.count, "sum": release.sum, "histogram": release.histogram,
                "clamped": release.clamped}

    def digest(self) -> str:
        return answer_digest(query_id=self.query_id, node_id=self.node_id, cells=self.cells,
                             vectors=self.vectors(), catalogue_version=self.catalogue_version)

    def noise_description(self) -> str:
        """Per released vector: noise kind, scale and sensitivity (for the ledger entry)."""
        return json.dumps([
            {"vector": name, "noise": v.noise.value, "scale": v.scale,
             "sensitivity": v.sensitivity, "cost_micro": v.cost_micro}
            for name, v in self._named().items() if v is not None
        ], separators=(",", ":"))

    def to_json(self) -> str:
        def vector(v: NoisyVector | None) -> dict[str, Any] | None:
            if v is None:
                return None
            return {"values": list(v.values), "noise": v.noise.value, "scale": v.scale,
                    "variance": v.variance, "cost_micro": v.cost_micro,
                    "sensitivity": v.sensitivity}

        return json.dumps({
            "query_id": self.query_id, "node_id": self.node_id,
            "cells": [list(c) for c in self.cells],
            "count": vector(self.release.count), "sum": vector(self.release.sum),
            "histogram": vector(self.release.histogram),
            **({"clamped": vector(self.release.clamped)} if self.release.clamped else {}),
            "fixed_point_scale": self.release.fixed_point_scale,
            "clamp_lower": self.clamp_lower, "clamp_upper": self.clamp_upper,
            "catalogue_version": self.catalogue_version,
            "bins": list(self.bins), "bin_edges": list(self.bin_edges),
            "accounting": self.accounting, "delta": self.delta,
            "cost_epsilon_micro": self.cost_epsilon_micro,
        })

    @classmethod
    def from_json(cls, text: str, *, replayed: bool) -> Answer:
        raw = json.loads(text)

        def vector(v: dict[str, Any] | None) -> NoisyVector | None:
            if v is None:
                return None
            return NoisyVector(tuple(v["values"]), NoiseKind(v["noise"]), v["scale"],
                               v["variance"], v["cost_micro"], v.get("sensitivity", 1))

        release = Release(vector(raw["count"]), vector(raw["sum"]), raw["fixed_point_scale"],
                          vector(raw.get("histogram")), vector(raw.get("clamped")))
        return cls(
            query_id=raw["query_id"], node_id=raw["node_id"],
            cells=tuple(tuple(c) for c in raw["cells"]),
            release=release,
            clamp_lower=raw["clamp_lower"], clamp_upper=raw["clamp_upper"],
            catalogue_version=raw["catalogue_version"], replayed=replayed,
            bins=tuple(raw.get("bins", ())), bin_edges=tuple(raw.get("bin_edges", ())),
            accounting=raw.get("accounting", "pure"), delta=raw.get("delta", ""),
            cost_epsilon_micro=raw.get("cost_epsilon_micro", release.cost_micro),
        )


@dataclass(frozen=True)
class BudgetLine:
    """Spent and remaining budget for one scope and period, in the ledger's unit.

    ``scope`` is ``querier`` (one querier, one period), ``node`` (all queriers, one period;
    ``querier`` is ``*``) or ``lifetime`` (all queriers, all periods; ``period`` is ``all``).
    The ``*_epsilon_micro`` fields state the same amounts as ε (equal under pure accounting).
    """

    querier: str
    period: str
    cap_micro: int
    spent_micro: int
    scope: str = "querier"
    unit: str = "epsilon"
    cap_epsilon_micro: int = 0
    spent_epsilon_micro: int = 0
    remaining_epsilon_micro: int = 0

    @property
    def remaining_micro(self) -> int:
        return max(0, self.cap_micro - self.spent_micro)


@dataclass(frozen=True)
class DryRun:
    """What a query would cost and whether it fits, computed without touching any record."""

    cost_micro: int  # in ``unit``
    cost_epsilon_micro: int
    unit: str
    mechanism: str
    vectors: tuple[tuple[str, int, int], ...]  # (role, sensitivity, budget share)
    lines: tuple[BudgetLine, ...] = field(default_factory=tuple)

    @property
    def fits(self) -> bool:
        return all(self.cost_micro <= line.remaining_micro for line in self.lines)
