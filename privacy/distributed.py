"""Distributed discrete Gaussian noise for secure aggregation, and its central accounting.

Under secure aggregation the aggregator learns only the sum of the nodes' vectors. Each node
adds a *share* of noise, an independent discrete Gaussian N_Z(0, σ²) drawn by OpenDP's integer
``make_gaussian``; the sum of ``n`` shares is close to one N_Z(0, nσ²), so the sector figure
carries about one central noise instead of one per node.

**Accounting (Kairouz, Liu & Steinke, "The Distributed Discrete Gaussian Mechanism for
Federated Learning with Secure Aggregation", ICML 2021, arXiv 2102.06387, Proposition 14).**
For σ ≥ 1/2, independent X_i ~ N_Z(0, σ²)^d, Z_n = Σ_{i≤n} X_i, every Δ ∈ Z^d and α ≥ 1:

    D_α(Z_n ‖ Z_n + Δ) ≤ min{ α‖Δ‖₂²/(2nσ²) + τd,
                              α(‖Δ‖₂²/(2nσ²) + τ‖Δ‖₁),
                              (α/2)(‖Δ‖₂/(√n σ) + τ√d)² },
    τ = 10 Σ_{k=1}^{n-1} exp(-2π²σ² k/(k+1)).

The second and third bounds are linear in α: ρ-zCDP with ρ their coefficient; the first,
``αρ₀ + τd``, is at most ``α(ρ₀ + τd)`` for α ≥ 1. So the release is ρ-zCDP with

    ρ = min{ ρ₀ + τd, ρ₀ + τ‖Δ‖₁, ½(√(2ρ₀) + τ√d)² },   ρ₀ = ‖Δ‖₂²/(2nσ²),

where ``n`` is the number of shares we can count on: the ``t`` honest survivors the protocol
guarantees (further shares only add noise, which post-processing cannot undo). koepel's vectors
change in one coordinate when one person is added or removed (one cell, or one bin of one cell),
by at most the clamp bound in fixed point, so ‖Δ‖₁ = ‖Δ‖₂ = the vector's sensitivity.

**Granularity.** τ is negligible only when a share's scale is a few units: at σ = 2, τ ≤
10·n·e^{-39} (≈ 10^-15 for n = 500). When the required share scale is smaller (large ``t``, or a
large ρ), the vector is refined: every value is multiplied by ``k`` (a power of two) before the
share is added, and the aggregator divides by ``k`` after unmasking. Sensitivity and share scale
both grow by ``k``, ρ₀ is unchanged and τ vanishes.

**What each node charges** is this central ρ of the release, never OpenDP's map of its own
share (which says what the node would lose if every other node and the aggregator colluded to
remove the other shares: ``local_rho_micro``, recorded beside the charge and cappable by policy).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import opendp.prelude as dp

from privacy.budget import micro_from_float_ceil
from privacy.catalogue import Accounting
from privacy.combine import NodeVector
from privacy.errors import InvalidQueryError
from privacy.intervals import NoiseShape
from privacy.mechanisms import (
    ReleasePlan,
    VectorRole,
    discrete_gaussian_variance,
    discrete_laplace_variance,
    plan_release,
)
from privacy.query import ValidatedQuery

__all__ = [
    "MIN_SHARE_SCALE",
    "SharePlan",
    "central_rho",
    "draw_share",
    "expected_standard_errors",
    "plan_shares",
    "secure_release",
    "survivor_vectors",
    "tau",
]

dp.enable_features("contrib")

MIN_SHARE_SCALE = 2.0  # refined units: τ ≤ 10·n·exp(-8π²/2·…) is then below 1e-14 for n ≤ 500
_MAX_REFINEMENT = 1 << 20
_LOCK = threading.Lock()


def tau(share_scale: float, shares: int) -> float:
    """KLS Prop. 14's τ = 10 Σ_{k=1}^{n-1} exp(-2π²σ² k/(k+1)) (0 for a single share)."""
    s2 = share_scale * share_scale
    return 10.0 * math.fsum(math.exp(-2.0 * math.pi**2 * s2 * k / (k + 1))
                            for k in range(1, shares))


def central_rho(sensitivity: float, share_scale: float, shares: int, dimension: int) -> float:
    """ρ of the sum of ``shares`` N_Z(0, share_scale²) over a ``dimension``-cell vector whose
    one-person change is ``sensitivity`` in one cell (so ‖Δ‖₁ = ‖Δ‖₂), by KLS Prop. 14."""
    if share_scale < 0.5:
        raise ValueError("Proposition 14 needs a share scale of at least 1/2")
    if shares < 1 or dimension < 1 or sensitivity <= 0:
        raise ValueError("shares, dimension and sensitivity must be positive")
    rho0 = sensitivity**2 / (2.0 * shares * share_scale**2)
    t = tau(share_scale, shares)
    return min(rho0 + t * dimension, rho0 + t * sensitivity,
               0.5 * (math.sqrt(2.0 * rho0) + t * math.sqrt(dimension)) ** 2)


@dataclass(frozen=True)
class SharePlan:
    """One released vector under secure aggregation: what each node adds, and what it costs.

    Values are multiplied by ``refinement`` before the share is added; ``sensitivity`` and
    ``share_scale`` are in those refined units. ``rho_micro`` is the central ρ every node
    charges; ``local_rho_micro`` what one share alone would give away (worst case: everyone
    else colluding).
    """

    role: VectorRole
    sensitivity: int
    refinement: int
    share_scale: float
    honest_shares: int
    rho_micro: int
    local_rho_micro: int

    @property
    def share_variance(self) -> float:
        """Variance of one share, in refined units squared."""
        return discrete_gaussian_variance(self.share_scale)

    def variance_of_sum(self, survivors: int) -> float:
        """Variance of the summed noise of ``survivors`` shares, in refined units squared."""
        return survivors * self.share_variance


def _measurement(share_scale: float) -> Any:
    domain = dp.vector_domain(dp.atom_domain(T="i64"))
    return dp.m.make_gaussian(domain, dp.l2_distance(T="i64"), scale=share_scale)


@lru_cache(maxsize=4096)
def _calibrate(sensitivity: int, budget_micro: int, shares: int, dimension: int
               ) -> tuple[int, float, int]:
    """(refinement, share scale, ρ charged µ) for the smallest share scale within budget."""
    target = budget_micro / 1_000_000
    base = sensitivity / math.sqrt(2.0 * shares * target)  # ρ₀ = target at refinement 1
    refinement = 1
    while refinement * base < MIN_SHARE_SCALE:
        refinement *= 2
        if refinement > _MAX_REFINEMENT:
            raise InvalidQueryError("this ε is too large to split into noise shares; ask "
                                    "for a smaller epsilon")
    delta = sensitivity * refinement
    low, high = refinement * base, refinement * base * 2.0
    while micro_from_float_ceil(central_rho(delta, high, shares, dimension)) > budget_micro:
        high *= 2.0
    for _ in range(60):  # bisection to ~1e-18 relative: the smallest scale within budget
        middle = (low + high) / 2.0
        if micro_from_float_ceil(central_rho(delta, middle, shares, dimension)) > budget_micro:
            low = middle
        else:
            high = middle
    cost = micro_from_float_ceil(central_rho(delta, high, shares, dimension))
    if cost > budget_micro:  # never charge beyond the budget
        raise RuntimeError("share calibration exceeds its budget")
    return refinement, high, cost


def plan_shares(plan: ReleasePlan, *, honest_shares: int, dimensions: Sequence[int]
                ) -> tuple[SharePlan, ...]:
    """The share plan of each vector of ``plan`` (``dimensions``: each vector's length).

    The query's budget split stays the release plan's (µρ per vector); each share is calibrated
    so that ``honest_shares`` of them give that ρ centrally.
    """
    if plan.accounting is not Accounting.ZCDP:
        raise InvalidQueryError(
            "secure aggregation adds Gaussian noise, which is never pure ε-DP: it needs a "
            "catalogue with zCDP accounting (accounting = \"zcdp\")")
    if honest_shares < 1:
        raise InvalidQueryError("secure aggregation needs at least one honest share")
    if len(dimensions) != len(plan.vectors):
        raise ValueError("one dimension per vector")
    shares = []
    for vector, dimension in zip(plan.vectors, dimensions, strict=True):
        with _LOCK:
            refinement, scale, cost = _calibrate(vector.sensitivity, vector.budget_micro,
                                                 honest_shares, max(1, dimension))
            local = micro_from_float_ceil(
                float(_measurement(scale).map(vector.sensitivity * refinement)))
        shares.append(SharePlan(vector.role, vector.sensitivity * refinement, refinement,
                                scale, honest_shares, cost, local))
    return tuple(shares)


def secure_release(query: ValidatedQuery, honest_shares: int
                   ) -> tuple[ReleasePlan, tuple[int, ...], tuple[SharePlan, ...]]:
    """A query's release plan, each vector's length (cells, or cells × bins for a histogram)
    and its share plan for ``honest_shares``: one derivation for the node that draws the shares
    and the aggregator that decodes their sum, so that both always agree."""
    release_plan = plan_release(query)
    bins = max(1, len(query.measure.bins) - 1)
    lengths = tuple(len(query.cells) * (bins if v.role is VectorRole.HISTOGRAM else 1)
                    for v in release_plan.vectors)
    return release_plan, lengths, plan_shares(release_plan, honest_shares=honest_shares,
                                              dimensions=lengths)


def draw_share(values: Sequence[int], plan: SharePlan) -> list[int]:
    """``values`` refined by the plan and with one noise share added, drawn by OpenDP."""
    with _LOCK:
        measurement = _measurement(plan.share_scale)
    return [int(v) for v in measurement([int(v) * plan.refinement for v in values])]


def survivor_vectors(summed: Sequence[int], plan: SharePlan, fixed_point_scale: int,
                     survivors: int) -> list[NodeVector]:
    """The unmasked sum as ``privacy.combine`` adds vectors up: its noise is ``survivors``
    independent shares, so the sum comes first and each further share as a zero vector with its
    own noise term (intervals then use the exact distribution of the summed shares)."""
    if survivors < 1:
        raise ValueError("a secure sum has at least one survivor")
    unit = fixed_point_scale * plan.refinement
    first = NodeVector(list(summed), plan.share_variance, unit, NoiseShape.GAUSSIAN,
                       plan.share_scale)
    zero = NodeVector([0] * len(summed), plan.share_variance, unit, NoiseShape.GAUSSIAN,
                      plan.share_scale)
    return [first, *([zero] * (survivors - 1))]


def expected_standard_errors(sensitivity: int, budget_micro: int, *, accounting: Accounting,
                             nodes: int, honest_shares: int, fixed_point_scale: int = 1
                             ) -> dict[str, float]:
    """Expected standard error of one summed cell, in the measure's unit, under each mode.

    ``per_node``: every node releases its own noise at the full budget and K of them add up;
    ``secure``: K shares calibrated for ``honest_shares`` (NaN under pure ε, where secure
    aggregation is not offered); ``central``: one trusted curator's noise, the floor.
    """
    if accounting is Accounting.PURE:
        scale = sensitivity / (budget_micro / 1_000_000)
        one = math.sqrt(discrete_laplace_variance(scale))
        return {"per_node": math.sqrt(nodes) * one / fixed_point_scale, "secure": math.nan,
                "central": one / fixed_point_scale}
    rho = budget_micro / 1_000_000
    central_scale = sensitivity / math.sqrt(2.0 * rho)
    per_node = math.sqrt(nodes * discrete_gaussian_variance(central_scale))
    refinement, scale, _ = _calibrate(sensitivity, budget_micro, honest_shares, 1)
    secure = math.sqrt(nodes * discrete_gaussian_variance(scale)) / refinement
    central = math.sqrt(discrete_gaussian_variance(central_scale))
    return {name: value / fixed_point_scale for name, value in
            (("per_node", per_node), ("secure", secure), ("central", central))}
