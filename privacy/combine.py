"""Combining per-node noisy releases into sector figures with honest uncertainty.

The records themselves are a census, not a sample: the only randomness in a released figure is
the DP noise, whose variance each node reports. Sums of independent node releases add their
variances; ratios (means, rates) use the delta method on the summed numerator and denominator.
Intervals are normal approximations at 95%, which are close to exact once a few nodes' noise is
summed; ``privacy`` docs and the coverage test say how close. Quantiles are read off summed noisy
histograms over public bins (post-processing: no further privacy loss).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "Z95",
    "Estimate",
    "NodeVector",
    "QuantileEstimate",
    "combine_vectors",
    "quantile",
    "ratio",
    "ratio_reliable",
]

Z95 = 1.959963984540054
RELIABLE_RSE = 0.25  # relative standard error above which a figure is flagged unreliable
MIN_DENOMINATOR = 30.0  # a ratio whose noisy denominator is below this is flagged


@dataclass(frozen=True)
class Estimate:
    """A combined estimate with the variance of its noise."""

    value: float
    variance: float

    @property
    def standard_error(self) -> float:
        return math.sqrt(self.variance)

    @property
    def interval(self) -> tuple[float, float]:
        half = Z95 * self.standard_error
        return self.value - half, self.value + half

    @property
    def reliable(self) -> bool:
        """True when the estimate is precise enough to publish (RSE at most 25%)."""
        if not math.isfinite(self.value):
            return False
        if self.value == 0:
            return self.variance == 0
        return self.standard_error / abs(self.value) <= RELIABLE_RSE


@dataclass(frozen=True)
class NodeVector:
    """One node's released vector, as the aggregator received it."""

    values: Sequence[int]
    variance: float  # per cell, in fixed-point units squared
    fixed_point_scale: int


def combine_vectors(vectors: Sequence[NodeVector], n_cells: int) -> list[Estimate]:
    """Sum the nodes' vectors cell by cell, converting fixed point back to the measure's unit."""
    totals = [0.0] * n_cells
    variances = [0.0] * n_cells
    for vector in vectors:
        if len(vector.values) != n_cells:
            raise ValueError("a node's vector does not have the query's number of cells")
        unit = float(vector.fixed_point_scale)
        for i, value in enumerate(vector.values):
            totals[i] += value / unit
            variances[i] += vector.variance / unit**2
    return [Estimate(t, v) for t, v in zip(totals, variances, strict=True)]


def ratio(numerator: Estimate, denominator: Estimate) -> Estimate:
    """S/C with delta-method variance Var(S)/C² + S²·Var(C)/C⁴ (independent noises).

    A denominator whose noisy value is not positive gives NaN: there is no honest ratio there.
    """
    if denominator.value <= 0:
        return Estimate(math.nan, math.inf)
    r = numerator.value / denominator.value
    c2 = denominator.value**2
    variance = numerator.variance / c2 + (r**2) * denominator.variance / c2
    return Estimate(r, variance)


def ratio_reliable(numerator: Estimate, denominator: Estimate, result: Estimate) -> bool:
    """A ratio is publishable when its denominator is large enough and its RSE is small."""
    return denominator.value >= MIN_DENOMINATOR and result.reliable


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
