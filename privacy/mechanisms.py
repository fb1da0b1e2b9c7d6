"""Differentially private release of a query's cell vectors, every draw through OpenDP.

Why this is private (the notes an auditor reads beside the code; docs/privacy.md has more):

* **Unit and neighbouring relation.** Two databases are neighbours when they differ by adding or
  removing all records of one person. The node's SQL aggregates per person first, so each
  person contributes to exactly one cell of the public group-by domain (and, for a histogram,
  to exactly one public bin of that cell), once, with one value clamped to ``[lower, upper]``.
* **Mechanisms.** Released vectors hold integers (counts, or sums in fixed point), so only
  integer mechanisms are used, exact and free of floating-point attacks:

  - pure ε (``accounting = "pure"``): OpenDP ``make_laplace`` over
    ``vector_domain(atom_domain(T=i64))`` with ``l1_distance(T=i64)`` — the discrete Laplace
    (geometric) mechanism; its privacy map gives ε = sensitivity / scale.
  - zCDP (``accounting = "zcdp"``): OpenDP ``make_gaussian`` over the same domain with
    ``l2_distance(T=i64)`` — the discrete Gaussian of Canonne, Kamath & Steinke; its privacy
    map gives ρ = (sensitivity / scale)² / 2.

  A scale is calibrated by ``binary_search_param`` against the vector's budget share, and the
  charge is OpenDP's own privacy map of the calibrated measurement at the vector's sensitivity,
  rounded up to a micro-unit; it never exceeds the share.
* **Composition inside one query.** Each statistic's plan below states its vectors, their
  sensitivities and how the query's budget is split between them; the shares add up to the
  query's budget (basic composition of pure DP, or additivity of ρ under zCDP).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from functools import lru_cache
from typing import Any

import opendp.prelude as dp

from privacy.accounting import LossRule
from privacy.budget import float_at_most, micro_from_float_ceil
from privacy.catalogue import Accounting, Statistic
from privacy.errors import InvalidQueryError
from privacy.query import ValidatedQuery

__all__ = [
    "NoiseKind",
    "NoisyVector",
    "Release",
    "ReleasePlan",
    "VectorPlan",
    "VectorRole",
    "discrete_gaussian_variance",
    "discrete_laplace_variance",
    "plan_release",
    "release",
    "release_vector",
]

dp.enable_features("contrib")

_SPACE_LOCK = threading.Lock()


class NoiseKind(Enum):
    """The noise distribution of a released vector (tells the aggregator its variance)."""

    DISCRETE_LAPLACE = "discrete_laplace"
    DISCRETE_GAUSSIAN = "discrete_gaussian"


class VectorRole(Enum):
    """What a released vector holds, per cell (histogram: per cell and bin, bins fastest)."""

    COUNT = "count"
    SUM = "sum"
    HISTOGRAM = "histogram"
    CLAMPED = "clamped"  # persons whose value lay beyond the measure's bounds, per cell


@dataclass(frozen=True)
class NoisyVector:
    """One released vector of integers with its noise description.

    ``cost_micro`` is in the catalogue's unit (µε under pure accounting, µρ under zCDP).
    """

    values: tuple[int, ...]
    noise: NoiseKind
    scale: float
    variance: float
    cost_micro: int
    sensitivity: int = 1


def discrete_laplace_variance(scale: float) -> float:
    """Variance of the discrete Laplace with P(k) ∝ exp(-|k|/scale): 2a/(1-a)², a = e^{-1/scale}."""
    a = math.exp(-1.0 / scale)
    return 2.0 * a / (1.0 - a) ** 2


def discrete_gaussian_variance(scale: float) -> float:
    """Variance of the discrete Gaussian with P(k) ∝ exp(-k²/2σ²), σ = ``scale``.

    Below σ² for small σ; by Poisson summation the gap is about 4π²σ⁴·e^{-2π²σ²}, under 1e-7 σ²
    from σ = 1.5 on. Summed exactly (terms beyond 40σ are below e^{-800}) while σ ≤ 50.
    """
    if scale > 50:
        return scale * scale
    bound = math.ceil(40 * scale) + 1
    weights = [math.exp(-(k * k) / (2.0 * scale * scale)) for k in range(bound + 1)]
    total = weights[0] + 2.0 * math.fsum(weights[1:])
    second = 2.0 * math.fsum(k * k * w for k, w in enumerate(weights))
    return second / total


def _noise_of(accounting: Accounting) -> NoiseKind:
    if accounting is Accounting.PURE:
        return NoiseKind.DISCRETE_LAPLACE
    return NoiseKind.DISCRETE_GAUSSIAN


def _variance(noise: NoiseKind, scale: float) -> float:
    if noise is NoiseKind.DISCRETE_LAPLACE:
        return discrete_laplace_variance(scale)
    return discrete_gaussian_variance(scale)


def _constructor(noise: NoiseKind) -> Any:
    """The OpenDP measurement constructor over integer vectors for ``noise``."""
    domain = dp.vector_domain(dp.atom_domain(T="i64"))
    if noise is NoiseKind.DISCRETE_LAPLACE:
        metric = dp.l1_distance(T="i64")
        return lambda s: dp.m.make_laplace(domain, metric, scale=s)
    metric = dp.l2_distance(T="i64")
    return lambda s: dp.m.make_gaussian(domain, metric, scale=s)


@lru_cache(maxsize=4096)
def _calibrated(noise: NoiseKind, sensitivity: int, budget_micro: int) -> tuple[Any, float]:
    """The measurement spending at most ``budget_micro`` (µε or µρ) at ``sensitivity``.

    Calibration is a binary search (~10 ms), so results are cached: queries repeat their ε.
    """
    with _SPACE_LOCK:
        make = _constructor(noise)
        scale = dp.binary_search_param(make, d_in=sensitivity, d_out=float_at_most(budget_micro))
        return make(scale), float(scale)


def release_vector(
    true_values: Sequence[int], *, sensitivity: int, budget_micro: int,
    accounting: Accounting = Accounting.PURE,
) -> NoisyVector:
    """Release ``true_values`` costing at most ``budget_micro`` in ``accounting``'s unit."""
    if sensitivity <= 0:
        raise ValueError("sensitivity must be positive")
    if budget_micro <= 0:
        raise ValueError("budget must be positive")
    noise = _noise_of(accounting)
    measurement, scale = _calibrated(noise, sensitivity, budget_micro)
    cost = micro_from_float_ceil(float(measurement.map(sensitivity)))
    if cost > budget_micro:  # calibration guarantees otherwise; never release over budget
        raise RuntimeError("calibrated mechanism exceeds its budget share")
    noisy = measurement([int(v) for v in true_values])
    return NoisyVector(
        values=tuple(int(v) for v in noisy),
        noise=noise,
        scale=scale,
        variance=_variance(noise, scale),
        cost_micro=cost,
        sensitivity=sensitivity,
    )


@dataclass(frozen=True)
class VectorPlan:
    """One vector to release: its role, its sensitivity and its share of the query's budget."""

    role: VectorRole
    sensitivity: int
    budget_micro: int


@dataclass(frozen=True)
class ReleasePlan:
    """How a query's budget is split between its released vectors, and at which sensitivities.

    Budgets are in the catalogue's unit (µε or µρ); ``vectors`` is in release order.
    """

    statistic: Statistic
    accounting: Accounting
    vectors: tuple[VectorPlan, ...]
    fixed_point_scale: int
    n_bins: int = 0

    @property
    def total_micro(self) -> int:
        return sum(v.budget_micro for v in self.vectors)

    @property
    def noise(self) -> NoiseKind:
        return _noise_of(self.accounting)

    @property
    def mechanism(self) -> str:
        """A short name for the ledger, e.g. ``discrete_laplace:mean``."""
        return f"{self.noise.value}:{self.statistic.value}"

    def share(self, role: VectorRole) -> VectorPlan | None:
        return next((v for v in self.vectors if v.role is role), None)

    @property
    def count_budget_micro(self) -> int:
        plan = self.share(VectorRole.COUNT)
        return plan.budget_micro if plan else 0

    @property
    def sum_budget_micro(self) -> int:
        plan = self.share(VectorRole.SUM)
        return plan.budget_micro if plan else 0


def _plan_count(budget: int) -> tuple[VectorPlan, ...]:
    """COUNT — persons per cell.

    Sensitivity: adding or removing one person changes one cell by 1, so the vector's L1 and L2
    sensitivities are both 1. No clamping is needed (a person counts once, by SQL's per-person
    population). Over one dimension this *is* the histogram of that dimension's public domain:
    every category is released, zeros included. Cost: the whole budget, OpenDP's map at d_in=1.
    """
    return (VectorPlan(VectorRole.COUNT, 1, budget),)


def _plan_sum(budget: int, magnitude: int) -> tuple[VectorPlan, ...]:
    """SUM — the sum of clamped per-person values per cell, in fixed point.

    Clamping: each person's value is aggregated over their records, clamped to
    ``[lower, upper]`` and rounded to fixed point in SQL, before the per-cell sum. Sensitivity:
    one person moves one cell by at most ``max(|lower|, |upper|)`` fixed-point units, which is
    both the L1 and the L2 sensitivity. Cost: the whole budget, OpenDP's map at that d_in.
    """
    return (VectorPlan(VectorRole.SUM, magnitude, budget),)


def _plan_mean(budget: int, magnitude: int, sum_share: Decimal) -> tuple[VectorPlan, ...]:
    """MEAN — released as a noisy SUM and a noisy COUNT (the aggregator forms the ratio).

    The two vectors are two measurements on the same person: they compose, so the query's
    budget is split explicitly — ``floor(budget · mean_sum_share)`` to the sum, the rest to the
    count — and the shares add up exactly to the budget. Sensitivities as for SUM and COUNT.
    """
    sum_budget = int(Decimal(budget) * sum_share)
    count_budget = budget - sum_budget
    if sum_budget <= 0 or count_budget <= 0:
        raise InvalidQueryError("epsilon is too small to split between a sum and a count")
    return (VectorPlan(VectorRole.SUM, magnitude, sum_budget),
            VectorPlan(VectorRole.COUNT, 1, count_budget))


def _plan_histogram(budget: int) -> tuple[VectorPlan, ...]:
    """HISTOGRAM — persons per cell and per public bin of the measure's clamped value.

    Clamping and binning: the per-person value is clamped to ``[lower, upper]`` in SQL and put in
    one of the catalogue's public bins (the last bin includes ``upper``), so each person falls in
    exactly one (cell, bin). Sensitivity: one person changes one entry by 1 — L1 and L2
    sensitivity 1 over the whole cells × bins vector. Every bin of every cell is released, zeros
    included. Cost: the whole budget, OpenDP's map at d_in=1. Quantiles are post-processing of
    the released counts (by the aggregator) and cost nothing more.
    """
    return (VectorPlan(VectorRole.HISTOGRAM, 1, budget),)


def _plan_clamped(budget: int, share: Decimal) -> tuple[int, tuple[VectorPlan, ...]]:
    """CLAMPED — persons per cell whose value lay beyond ``[lower, upper]`` before clamping.

    Released beside a SUM, MEAN or HISTOGRAM of a measure whose catalogue entry declares a
    ``clamped_share``, so that a mean pulled down by the bound says so. Sensitivity: one person
    is in one cell and is clamped or not: L1 and L2 sensitivity 1. Cost: ``floor(budget ·
    clamped_share)`` of the query's budget (composition; the rest goes to the statistic's own
    vectors, so the shares still add up exactly to the budget). Returns (rest, vectors).
    """
    clamped = int(Decimal(budget) * share)
    if share <= 0:
        return budget, ()
    if clamped <= 0 or clamped >= budget:
        raise InvalidQueryError("epsilon is too small to also count the clamped values")
    return budget - clamped, (VectorPlan(VectorRole.CLAMPED, 1, clamped),)


def plan_release(query: ValidatedQuery) -> ReleasePlan:
    """The query's budget in the catalogue's unit, split explicitly between its vectors."""
    catalogue = query.catalogue
    rule = LossRule.of(catalogue)
    budget = rule.budget_from_epsilon(query.spec.epsilon_micro)
    if budget <= 0:
        raise InvalidQueryError(
            f"epsilon is too small to release anything under {rule.unit.value} accounting "
            f"at δ={catalogue.delta}; ask for a larger epsilon"
        )
    magnitude = catalogue.fixed_point(query.measure.magnitude)
    statistic = query.spec.statistic
    n_bins = 0
    clamped: tuple[VectorPlan, ...] = ()
    if statistic is not Statistic.COUNT:
        budget, clamped = _plan_clamped(budget, query.measure.clamped_share)
    if statistic is Statistic.COUNT:
        vectors = _plan_count(budget)
    elif statistic is Statistic.SUM:
        vectors = _plan_sum(budget, magnitude)
    elif statistic is Statistic.MEAN:
        vectors = _plan_mean(budget, magnitude, catalogue.mean_sum_share)
    else:
        vectors = _plan_histogram(budget)
        n_bins = len(query.measure.bins) - 1
    return ReleasePlan(statistic, catalogue.accounting, vectors + clamped,
                       catalogue.fixed_point_scale, n_bins)


@dataclass(frozen=True)
class Release:
    """Everything a node sends back for one query (all of it differentially private)."""

    count: NoisyVector | None
    sum: NoisyVector | None
    fixed_point_scale: int
    histogram: NoisyVector | None = None
    clamped: NoisyVector | None = None  # persons per cell whose value was clamped

    @property
    def vectors(self) -> tuple[NoisyVector, ...]:
        return tuple(v for v in (self.count, self.sum, self.histogram, self.clamped)
                     if v is not None)

    @property
    def cost_micro(self) -> int:
        return sum(v.cost_micro for v in self.vectors)


def release(plan: ReleasePlan, true_counts: Sequence[int], true_sums: Sequence[int],
            true_histogram: Sequence[int] = (), true_clamped: Sequence[int] | None = None
            ) -> Release:
    """Draw the noise for one query according to ``plan`` (one OpenDP draw per vector).

    ``true_clamped`` (persons per cell whose value was clamped) is required exactly when the
    plan releases it: a node that cannot count them must not answer as if it had.
    """
    inputs = {VectorRole.COUNT: true_counts, VectorRole.SUM: true_sums,
              VectorRole.HISTOGRAM: true_histogram, VectorRole.CLAMPED: true_clamped or ()}
    if (plan.share(VectorRole.CLAMPED) is not None) != (true_clamped is not None):
        raise ValueError("the clamped counts are given exactly when the plan releases them")
    released: dict[VectorRole, NoisyVector] = {}
    for vector in plan.vectors:
        released[vector.role] = release_vector(
            inputs[vector.role], sensitivity=vector.sensitivity,
            budget_micro=vector.budget_micro, accounting=plan.accounting,
        )
    return Release(
        count=released.get(VectorRole.COUNT),
        sum=released.get(VectorRole.SUM),
        fixed_point_scale=plan.fixed_point_scale,
        histogram=released.get(VectorRole.HISTOGRAM),
        clamped=released.get(VectorRole.CLAMPED),
    )
