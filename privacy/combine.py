"""Combining per-node noisy releases into sector figures with honest uncertainty.

The records themselves are a census, not a sample: the only randomness in a released figure is
the DP noise, which each node describes (its shape, scale and variance). So:

* **Sums** (counts, sums of a measure) add the nodes' values cell by cell; their noise is the sum
  of the nodes' independent draws, and its variance the sum of theirs.
* **Ratios** (means and rates) are ``S/C`` of the summed numerator and denominator, with the
  delta-method variance ``Var(S)/C² + r²·Var(C)/C²``; the linearised error ``(e_S − r·e_C)/C``
  is again a sum of independent draws.
* **Intervals** at 95% come from the distribution of that sum of draws
  (:func:`privacy.intervals.noise_half_width`), not from ``±1.96·SE``, which under-covers for a
  single node's Laplace noise (93.7% instead of 95%).
* **Known constraints** (a count is never negative, a share lies in [0, 1]) are applied after
  the interval is built, by clipping the point estimate *and* both interval ends to the feasible
  range (:meth:`Feasible.clip_estimate`). Clipping is monotone and leaves feasible values
  unchanged, so whenever the raw interval contains the true value — which is always feasible —
  the clipped one does too: coverage is kept. The raw estimate stays available because only it
  is unbiased (for re-aggregation).
* **Quantiles** are read off summed noisy histograms over public bins (post-processing: no
  further privacy loss): :func:`combine_vectors` sums a histogram's bins with their noise and
  :func:`quantile` inverts the cumulative counts. Its interval is still a normal approximation
  (``±z`` standard errors of the crossing), not the exact one used for sums and ratios.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from privacy.intervals import NoiseShape, NoiseTerm, noise_interval

__all__ = [
    "MIN_DENOMINATOR",
    "RELIABLE_RSE",
    "Z95",
    "Estimate",
    "Feasible",
    "NodeVector",
    "QuantileEstimate",
    "combine_vectors",
    "quantile",
    "ratio",
    "ratio_reliable",
    "reliability_note",
]

Z95 = 1.959963984540054
LEVEL = 0.95
RELIABLE_RSE = 0.25  # relative standard error above which a figure is flagged unreliable
MIN_DENOMINATOR = 30.0  # a ratio whose noisy denominator is below this is flagged


@dataclass(frozen=True)
class Estimate:
    """A combined estimate, the variance of its noise and the noise draws it is made of.

    ``noise`` lists the independent draws (in the estimate's unit); ``lattice`` is the spacing
    of the values they take (0 when they do not share one). Without ``noise``, the interval
    falls back to a normal distribution with the stated variance.
    """

    value: float
    variance: float
    noise: tuple[NoiseTerm, ...] = ()
    lattice: float = 0.0

    @property
    def standard_error(self) -> float:
        return math.sqrt(self.variance)

    def interval_at(self, level: float) -> tuple[float, float]:
        """The interval covering the true value with probability at least ``level``."""
        if not (math.isfinite(self.value) and math.isfinite(self.variance)):
            return -math.inf, math.inf
        if self.variance == 0:
            return self.value, self.value
        terms = self.noise or (NoiseTerm(NoiseShape.GAUSSIAN, self.standard_error),)
        below, above = noise_interval(terms, level=level, lattice=self.lattice)
        return self.value - below, self.value + above

    @property
    def interval(self) -> tuple[float, float]:
        """The 95% interval (exact for the nodes' noise; see :mod:`privacy.intervals`)."""
        return self.interval_at(LEVEL)

    @property
    def reliable(self) -> bool:
        """True when the estimate is precise enough to publish (RSE at most 25%)."""
        if not math.isfinite(self.value):
            return False
        if self.value == 0:
            return self.variance == 0
        return self.standard_error / abs(self.value) <= RELIABLE_RSE


@dataclass(frozen=True)
class Feasible:
    """The range a true value can take (a count is ≥ 0, a share lies in [0, 1])."""

    lower: float = -math.inf
    upper: float = math.inf

    def __post_init__(self) -> None:
        if not self.lower <= self.upper:
            raise ValueError("a feasible range needs lower ≤ upper")

    def clip(self, value: float) -> float:
        if math.isnan(value):
            return value
        return min(max(value, self.lower), self.upper)

    def clip_estimate(self, value: float, low: float, high: float) -> tuple[float, float, float]:
        """Clip the point estimate and both interval ends; coverage of feasible truths is kept.

        Without an estimate (NaN) there is nothing to show: the interval is NaN too.
        """
        if math.isnan(value):
            return math.nan, math.nan, math.nan
        return self.clip(value), self.clip(low), self.clip(high)


@dataclass(frozen=True)
class NodeVector:
    """One node's released vector, as the aggregator received it.

    ``noise_scale`` is the distribution's scale parameter in fixed-point units; ``noise`` is
    None for a distribution the aggregator does not know, whose interval is then normal.
    """

    values: Sequence[int]
    variance: float  # per cell, in fixed-point units squared
    fixed_point_scale: int
    noise: NoiseShape | None = None
    noise_scale: float = 0.0

    def term(self) -> NoiseTerm:
        """This vector's noise draw per cell, in the measure's unit."""
        unit = float(self.fixed_point_scale)
        if self.noise is None:
            return NoiseTerm(NoiseShape.GAUSSIAN, math.sqrt(self.variance) / unit)
        return NoiseTerm(self.noise, self.noise_scale / unit)


def combine_vectors(vectors: Sequence[NodeVector], n_cells: int) -> list[Estimate]:
    """Sum the nodes' vectors cell by cell, converting fixed point back to the measure's unit.

    With no vector at all there is no estimate: every cell is NaN with infinite variance.
    """
    if not vectors:
        return [Estimate(math.nan, math.inf) for _ in range(n_cells)]
    totals = [0.0] * n_cells
    variance = 0.0
    for vector in vectors:
        if len(vector.values) != n_cells:
            raise ValueError("a node's vector does not have the query's number of cells")
        unit = float(vector.fixed_point_scale)
        for i, value in enumerate(vector.values):
            totals[i] += value / unit
        variance += vector.variance / unit**2
    units = {vector.fixed_point_scale for vector in vectors}
    exact = len(units) == 1 and all(v.noise is not None for v in vectors)
    lattice = 1.0 / units.pop() if exact else 0.0
    noise = tuple(vector.term() for vector in vectors)
    return [Estimate(total, variance, noise, lattice) for total in totals]


def ratio(numerator: Estimate, denominator: Estimate) -> Estimate:
    """S/C with delta-method variance Var(S)/C² + S²·Var(C)/C⁴ (independent noises).

    A denominator whose noisy value is not positive gives NaN: there is no honest ratio there.
    """
    if not (math.isfinite(denominator.value) and math.isfinite(numerator.value)):
        return Estimate(math.nan, math.inf)
    if denominator.value <= 0:
        return Estimate(math.nan, math.inf)
    c = denominator.value
    r = numerator.value / c
    variance = numerator.variance / c**2 + (r**2) * denominator.variance / c**2

    def scaled(estimate: Estimate, factor: float) -> tuple[NoiseTerm, ...]:
        terms = estimate.noise or (NoiseTerm(NoiseShape.GAUSSIAN, estimate.standard_error),)
        return tuple(NoiseTerm(t.shape, t.scale * factor) for t in terms)

    noise = scaled(numerator, 1.0 / c) + scaled(denominator, abs(r) / c)
    return Estimate(r, variance, noise, 0.0)


def ratio_reliable(numerator: Estimate, denominator: Estimate, result: Estimate) -> bool:
    """A ratio is publishable when its denominator is large enough and its RSE is small."""
    return denominator.value >= MIN_DENOMINATOR and result.reliable


def reliability_note(estimate: Estimate, denominator: Estimate | None = None) -> str:
    """Why a figure is flagged as too uncertain to publish ("" when it is publishable)."""
    if not math.isfinite(estimate.value):
        if denominator is not None and math.isfinite(denominator.value):
            return "no estimate: the noisy denominator is not positive"
        return "no estimate: no node answered"
    if denominator is not None and denominator.value < MIN_DENOMINATOR:
        return f"fewer than {MIN_DENOMINATOR:.0f} people behind the ratio"
    if not estimate.reliable:
        if estimate.value == 0:
            return "estimate is zero with non-zero noise"
        rse = estimate.standard_error / abs(estimate.value)
        return f"relative standard error {rse:.0%} above {RELIABLE_RSE:.0%}"
    return ""


@dataclass(frozen=True)
class QuantileEstimate:
    """A quantile read from a noisy histogram, with a 95% interval for the noise's effect."""

    probability: float
    value: float
    lower: float
    upper: float


def _first_crossing(edges: Sequence[float], g: Sequence[float]) -> float:
    """The first x where the piecewise-linear g (given at the edges) reaches 0."""
    for k, value in enumerate(g):
        if value >= 0:
            if k == 0:
                return edges[0]
            before = g[k - 1]
            return edges[k - 1] + (edges[k] - edges[k - 1]) * (-before) / (value - before)
    return edges[-1]


def quantile(bins: Sequence[Estimate], edges: Sequence[float], probability: float,
             *, z: float = Z95) -> QuantileEstimate:
    """The ``probability`` quantile of a histogram of noisy bin counts over public ``edges``.

    Negative noisy counts are read as 0. With C(x) the (interpolated) number of persons below x
    and N the total, the quantile solves D(x) = C(x) − p·N = 0, linearly within a bin (persons
    spread evenly over it). The interval is the set of x where D(x) is within ``z`` standard
    errors of 0: C(x) and N − C(x) sum disjoint bins, so Var D(x) = (1−p)²·Var C(x) +
    p²·Var(N − C(x)). It accounts for the noise only; the bins' width bounds the resolution.
    """
    if len(edges) != len(bins) + 1 or len(bins) < 1:
        raise ValueError("a histogram needs one more edge than bins")
    if not 0.0 < probability < 1.0:
        raise ValueError("the quantile's probability must be strictly between 0 and 1")
    counts = [max(0.0, b.value) for b in bins]
    total = math.fsum(counts)
    if total <= 0:
        return QuantileEstimate(probability, math.nan, edges[0], edges[-1])
    below = [0.0]
    var_below = [0.0]
    for count, estimate in zip(counts, bins, strict=True):
        below.append(below[-1] + count)
        var_below.append(var_below[-1] + estimate.variance)
    var_total = var_below[-1]
    p = probability
    d = [c - p * total for c in below]
    sd = [math.sqrt((1 - p) ** 2 * v + p**2 * (var_total - v)) for v in var_below]
    value = _first_crossing(edges, d)
    lower = _first_crossing(edges, [di + z * si for di, si in zip(d, sd, strict=True)])
    upper = _first_crossing(edges, [di - z * si for di, si in zip(d, sd, strict=True)])
    return QuantileEstimate(probability, value, min(lower, value), max(upper, value))
