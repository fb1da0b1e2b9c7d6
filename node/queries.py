"""Answering a federated query: authorise, validate, aggregate in SQL, add noise, charge, reply.

The order matters for privacy. Everything that can refuse a query (identity, catalogue version,
validation, budget pre-check) runs before the data is touched, so a refused query costs nothing
and reveals nothing. The charge and the stored answer are committed together before the answer
is returned, so a crash after the charge loses no charge, and a retried query id gets the very
same answer at no further cost.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from node.compiler import compile_query
from node.config import NodeConfig
from node.ledger import Charge, Ledger
from node.store import Store
from privacy import (
    Cap,
    CatalogueVersionError,
    InvalidQueryError,
    LossRule,
    NoiseKind,
    NoisyVector,
    PermissionDeniedError,
    QueryConflictError,
    QuerySpec,
    Release,
    Statistic,
    ValidatedQuery,
    plan_release,
    release,
    validate,
)

__all__ = ["Answer", "BudgetLine", "QueryEngine"]

_QUERY_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


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
                          vector(raw.get("histogram")))
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
    querier: str
    period: str
    cap_micro: int
    spent_micro: int

    @property
    def remaining_micro(self) -> int:
        return max(0, self.cap_micro - self.spent_micro)


def _calendar_year() -> str:
    return str(datetime.now(UTC).year)


class QueryEngine:
    """The node's query logic, free of gRPC so that it can be tested directly."""

    def __init__(self, config: NodeConfig, store: Store,
                 budget_period: Callable[[], str] = _calendar_year) -> None:
        self._config = config
        self._store = store
        self._ledger = Ledger(store)
        self._budget_period = budget_period

    @property
    def ledger(self) -> Ledger:
        return self._ledger

    @property
    def loss_rule(self) -> LossRule:
        """The accounting rule of the node's catalogue (its unit, ε conversions)."""
        return LossRule.of(self._config.catalogue)

    def _cap_for(self, querier: str) -> Cap:
        policy = self._config.queriers.get(querier)
        if policy is None:
            raise PermissionDeniedError(f"querier {querier!r} is not authorised on this node")
        return Cap(f"querier {querier} in {self._budget_period()}", policy.cap_micro)

    def _validate(self, spec: QuerySpec) -> ValidatedQuery:
        if spec.catalogue_version not in self._config.approved_versions:
            raise CatalogueVersionError(
                f"catalogue version {spec.catalogue_version!r} is not approved on this node; "
                f"approved: {', '.join(self._config.approved_versions)}"
            )
        return validate(spec, self._config.catalogue)

    def cost(self, querier: str, spec: QuerySpec) -> int:
        """What ``spec`` would cost in µε, without touching data or budget (a dry run)."""
        self._cap_for(querier)
        return plan_release(self._validate(spec)).total_micro

    def answer(self, querier: str, query_id: str, spec: QuerySpec) -> Answer:
        """Answer ``spec`` for ``querier``, charging its budget exactly once per query id."""
        if not _QUERY_ID.match(query_id):
            raise InvalidQueryError("query_id must be 1–64 characters of letters, digits, . _ : -")
        cap = self._cap_for(querier)
        query = self._validate(spec)
        digest = spec.digest()
        stored = self._ledger.stored_answer(querier, query_id)
        if stored is not None:
            if stored.query_digest != digest:
                raise QueryConflictError(
                    "this query id was already used for a different query; use a new id"
                )
            return Answer.from_json(stored.answer, replayed=True)
        plan = plan_release(query)
        period = self._budget_period()
        cap.check(self._ledger.spent(querier, period), plan.total_micro)

        counts, sums = self.exact_cells(query)
        histogram = (self.exact_histogram(query) if spec.statistic is Statistic.HISTOGRAM
                     else [])
        released = release(plan, counts, sums, histogram)
        rule = LossRule.of(query.catalogue)
        histogram_query = spec.statistic is Statistic.HISTOGRAM
        answer = Answer(
            query_id=query_id,
            node_id=self._config.node_id,
            cells=query.cells,
            release=released,
            clamp_lower=float(query.measure.lower),
            clamp_upper=float(query.measure.upper),
            catalogue_version=query.catalogue.version,
            bins=query.measure.bin_labels if histogram_query else (),
            bin_edges=tuple(float(e) for e in query.measure.bins) if histogram_query else (),
            accounting=query.catalogue.accounting.value,
            delta=str(query.catalogue.delta or ""),
            cost_epsilon_micro=rule.epsilon_of(released.cost_micro),
        )
        stored = self._ledger.commit(
            Charge(
                querier=querier, query_id=query_id, query_digest=digest,
                mechanism=plan.mechanism,
                cost_micro=released.cost_micro, budget_period=period,
                catalogue_version=query.catalogue.version, answer=answer.to_json(),
            ),
            cap,
        )
        return Answer.from_json(stored.answer, replayed=stored.answer != answer.to_json())

    def exact_cells(self, query: ValidatedQuery) -> tuple[list[int], list[int]]:
        """Exact per-cell person counts and fixed-point sums (zeros included), in cell order.

        Never sent anywhere: the DP path adds noise to these, and the organisation's own local
        reports show them as they are.
        """
        compiled = compile_query(query)
        with self._store.reading() as conn:
            rows = conn.execute(compiled.sql, compiled.params).fetchall()
        width = len(query.dimensions)
        offset = width + (1 if query.spec.statistic is Statistic.HISTOGRAM else 0)  # bin column
        index = {cell: i for i, cell in enumerate(query.cells)}
        counts = [0] * len(query.cells)
        sums = [0] * len(query.cells)
        for row in rows:
            i = index.get(tuple(row[:width]))
            if i is not None:
                counts[i] += int(row[offset])
                sums[i] += int(row[offset + 1])
        return counts, sums

    def exact_histogram(self, query: ValidatedQuery) -> list[int]:
        """Exact persons per cell and public bin (cells in order, bins fastest), zeros included.

        Never sent anywhere: the DP path adds noise to these.
        """
        compiled = compile_query(query)
        with self._store.reading() as conn:
            rows = conn.execute(compiled.sql, compiled.params).fetchall()
        width = len(query.dimensions)
        n_bins = len(query.measure.bins) - 1
        index = {cell: i for i, cell in enumerate(query.cells)}
        counts = [0] * (len(query.cells) * n_bins)
        for row in rows:
            i = index.get(tuple(row[:width]))
            if i is not None:
                counts[i * n_bins + int(row[width])] = int(row[width + 1])
        return counts

    def budget(self, querier: str) -> list[BudgetLine]:
        """The caller's own budget for the current period."""
        cap = self._cap_for(querier)
        period = self._budget_period()
        return [BudgetLine(querier, period, cap.micro, self._ledger.spent(querier, period))]

    def all_budgets(self) -> list[BudgetLine]:
        """Every querier's budget (for the node's own operator, never over the wire)."""
        return [line for identity in self._config.queriers for line in self.budget(identity)]
