"""Combining per-node noisy releases into sector figures with honest uncertainty.

The records themselves are a census, not a sample: the only randomness in a released figure is
the DP noise, whose variance each node reports. Sums of independent node releases add their
variances; ratios (means, rates) use the delta method on the summed numerator and denominator.
Intervals are normal approximations at 95%, which are close to exact once a few nodes' noise is
summed; ``privacy`` docs and the coverage test say how close.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Z95", "Estimate", "NodeVector", "combine_vectors", "ratio", "ratio_reliable"]

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
