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
  :func:`quantile` inverts the cumulative counts. Its interval is a union of whole bins, from
  the exact noise distribution with a union bound over the bin edges: it holds the true
  quantile (wherever it lies inside its bin) with probability at least 95%.
* **Publishable** is decided on the interval, not on the noisy estimate
  (:func:`publishable`, :func:`ratio_publishable`): ``SE/|noisy estimate|`` is smallest exactly
  when the noise pushed the estimate up, so a rule on it publishes overestimates.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from privacy.intervals import NoiseShape, NoiseTerm, noise_half_width, noise_interval

__all__ = [
    "MIN_DENOMINATOR",
    "RELIABLE_RSE",
    "Z95",
    "Estimate",
    "Feasible",
    "NodeVector",
    "QuantileEstimate",
    "combine_vectors",
    "publishable",
    "quantile",
    "ratio",
    "ratio_publishable",
    "ratio_reliable",
    "reliability_note",
]

Z95 = 1.959963984540054
LEVEL = 0.95
RELIABLE_RSE = 0.25  # a figure whose relative standard error may exceed this is not published
MIN_DENOMINATOR = 30.0  # nor a ratio whose denominator may be below this many people
RATIO_PART_LEVEL = 0.975  # the level of the sum's and count's intervals a ratio is judged on


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
        """True when the figure may be published (:func:`publishable`)."""
        return publishable(self)[0]


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


def _nearest_to_zero(low: float, high: float) -> float:
    """The smallest |x| over the interval [low, high] (0 when it holds 0)."""
    if low <= 0.0 <= high:
        return 0.0
    return min(abs(low), abs(high))


def _rse_text(rse: float) -> str:
    """A relative standard error as a whole percentage rounded *up* (never "25% above 25%")."""
    if not math.isfinite(rse):
        return "unbounded"
    return f"{math.ceil(rse * 100 - 1e-9)}%"


def publishable(estimate: Estimate) -> tuple[bool, str]:
    """Whether a sum or count may be published, and why not ("" when it may).

    The rule must not favour lucky noise: ``SE/|noisy estimate|`` is small exactly when the
    noise pushed the estimate away from zero, so it selects overestimates. Instead a figure is
    published only when **every value in its 95% interval would have a relative standard error
    of at most** ``RELIABLE_RSE``, i.e. ``SE ≤ 25% · min{|x| : x in the interval}``. The noise's
    SE does not depend on the truth, so if the true relative standard error is above 25%
    (``|θ| < 4·SE``), publishing needs the interval to miss θ: the false-publish rate is at
    most 5% for every cell, whatever its size (about 2.5% in practice: only the side away
    from zero counts). Measured in docs/aggregation.md.
    """
    if not math.isfinite(estimate.value):
        return False, "no estimate: no node answered"
    if estimate.variance == 0:
        return True, ""
    low, high = estimate.interval
    nearest = _nearest_to_zero(low, high)
    if estimate.standard_error <= RELIABLE_RSE * nearest:
        return True, ""
    if nearest == 0:
        return False, "the 95% interval includes 0: relative standard error unbounded"
    return False, (f"relative standard error may be above {RELIABLE_RSE:.0%} "
                   f"(up to {_rse_text(estimate.standard_error / nearest)} within the 95% "
                   "interval)")


def ratio_publishable(numerator: Estimate, denominator: Estimate,
                      result: Estimate) -> tuple[bool, str]:
    """Whether a mean or rate ``S/C`` may be published, and why not ("" when it may).

    Decided on the numerator and denominator, not on the noisy ratio: the true relative
    standard error of ``S/C`` (delta method) is ``√(Var S/S² + Var C/C²)``, so with ``S_lo`` the
    end of S's interval nearest 0 and ``C_lo`` the lower end of C's, both at level
    ``RATIO_PART_LEVEL`` (97.5%), the figure is published only when

    * ``C_lo ≥ MIN_DENOMINATOR`` (30 people), and
    * ``√(Var S/S_lo² + Var C/C_lo²) ≤ RELIABLE_RSE`` (25%).

    If the true denominator is below 30 or the true RSE above 25%, then S or C lies outside its
    interval on the side that matters: the false-publish rate is at most 2.5% + 1.25% = 3.75%
    for every cell. Measured in docs/aggregation.md.
    """
    if not math.isfinite(result.value):
        if math.isfinite(denominator.value):
            return False, "no estimate: the noisy denominator is not positive"
        return False, "no estimate: no node answered"
    c_low = denominator.interval_at(RATIO_PART_LEVEL)[0]
    if c_low < MIN_DENOMINATOR:
        return False, (f"fewer than {MIN_DENOMINATOR:.0f} people behind the ratio cannot be "
                       "ruled out")
    s_near = _nearest_to_zero(*numerator.interval_at(RATIO_PART_LEVEL))
    if numerator.variance == 0:
        s_part = 0.0
    elif s_near == 0:
        return False, "the numerator's interval includes 0: relative standard error unbounded"
    else:
        s_part = numerator.variance / s_near**2
    rse = math.sqrt(s_part + denominator.variance / c_low**2)
    if rse <= RELIABLE_RSE:
        return True, ""
    return False, (f"relative standard error may be above {RELIABLE_RSE:.0%} "
                   f"(up to {_rse_text(rse)} within the intervals of sum and count)")


def ratio_reliable(numerator: Estimate, denominator: Estimate, result: Estimate) -> bool:
    """A ratio is publishable by :func:`ratio_publishable`."""
    return ratio_publishable(numerator, denominator, result)[0]


def reliability_note(estimate: Estimate, denominator: Estimate | None = None,
                     numerator: Estimate | None = None) -> str:
    """Why a figure is flagged as too uncertain to publish ("" when it is publishable).

    For a ratio pass its ``denominator`` and ``numerator`` (:func:`ratio_publishable`).
    """
    if denominator is None:
        return publishable(estimate)[1]
    if numerator is None:
        numerator = Estimate(math.nan, math.inf)
        if math.isfinite(estimate.value) and math.isfinite(denominator.value):
            numerator = Estimate(estimate.value * denominator.value, 0.0)
    return ratio_publishable(numerator, denominator, estimate)[1]


@dataclass(frozen=True)
class QuantileEstimate:
    """A quantile read from a noisy histogram, with a 95% interval for the true quantile.

    ``lower`` and ``upper`` are bin edges: the interval is the union of the bins the noisy
    cumulative counts allow (see :func:`quantile`), so it holds the true quantile of the
    persons' (clamped) values, wherever it lies inside its bin. ``value`` is a point estimate
    interpolated within a bin: its resolution is the bin, not the digits shown.
    """

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


def _bin_terms(estimate: Estimate) -> tuple[NoiseTerm, ...]:
    return estimate.noise or (NoiseTerm(NoiseShape.GAUSSIAN, estimate.standard_error),)


def _crossing_margins(bins: Sequence[Estimate], probability: float,
                      level: float) -> tuple[float, ...]:
    """``c_k`` for k = 1 … B−1: P(e_k ≥ c_k) ≤ (1 − level)/(B − 1) for the noise ``e_k``.

    ``e_k = (1−p)·Σ_{j≤k} η_j − p·Σ_{j>k} η_j`` is the noise of the cumulative statistic
    ``D_k = T_k − p·N`` (``T_k`` persons in the first k bins, ``N`` in all): a sum of the nodes'
    independent, symmetric draws, scaled, whose exact quantile :func:`noise_half_width` gives.
    """
    return _margins(tuple(_bin_terms(b) for b in bins), probability, level)


@lru_cache(maxsize=1024)
def _margins(terms: tuple[tuple[NoiseTerm, ...], ...], p: float,
             level: float) -> tuple[float, ...]:
    """:func:`_crossing_margins` by the bins' noise terms (all cells of a query share them)."""
    one_sided = (1.0 - level) / (len(terms) - 1)
    margins = []
    for k in range(1, len(terms)):
        noise = tuple(NoiseTerm(t.shape, t.scale * (1 - p)) for ts in terms[:k] for t in ts)
        noise += tuple(NoiseTerm(t.shape, t.scale * p) for ts in terms[k:] for t in ts)
        margins.append(noise_half_width(noise, level=1.0 - 2.0 * one_sided))
    return tuple(margins)


def quantile(bins: Sequence[Estimate], edges: Sequence[float], probability: float,
             *, level: float = LEVEL) -> QuantileEstimate:
    """The ``probability`` quantile of a histogram of noisy bin counts over public ``edges``.

    **The true quantile** is that of the persons' own (clamped) values: the smallest x with at
    least a share ``p`` of them at or below x. With ``T_k`` the persons in the first k bins and
    ``N`` the total, it lies in bin ``k*``, the first with ``D_k = T_k − p·N ≥ 0`` — anywhere
    inside it: a histogram does not say where.

    **Interval: a union of whole bins.** The noisy ``D̃_k`` differs from ``D_k`` by a sum of the
    nodes' draws ``e_k`` with a known distribution. With ``c_k`` its one-sided ``1 − α/(B−1)``
    quantile (``α = 1 − level``, B bins; :func:`_crossing_margins`):

    * ``a`` = the first k with ``D̃_k + c_k ≥ 0``. If ``e_{k*} ≥ −c_{k*}``, then ``D̃_{k*} + c_{k*}
      ≥ D_{k*} ≥ 0``, so ``a ≤ k*``;
    * ``b`` = the first k with ``D̃_k − c_k ≥ 0``. If ``e_k < c_k`` for every ``k < k*``, then
      ``D̃_k − c_k < D_k < 0`` there, so ``b ≥ k*``;

    and ``[edge_{a−1}, edge_b]`` holds the true quantile. At most B − 1 one-sided events are
    involved (``D_B ≥ 0`` always), so by the union bound coverage is **at least** ``level`` for
    any data and any number of nodes: no normal approximation and no assumption on how the
    persons spread inside a bin. Raw noisy counts are used (negative ones included), which keeps
    ``e_k`` exactly a sum of the nodes' draws.

    **Point estimate**: the first crossing of the piecewise-linear cumulative count (negative
    noisy counts read as 0, persons spread evenly over a bin), kept inside the interval. It is a
    reading at bin resolution, not a finer one.
    """
    if len(edges) != len(bins) + 1 or len(bins) < 1:
        raise ValueError("a histogram needs one more edge than bins")
    if not 0.0 < probability < 1.0:
        raise ValueError("the quantile's probability must be strictly between 0 and 1")
    p = probability
    if not all(math.isfinite(b.value) and math.isfinite(b.variance) for b in bins):
        return QuantileEstimate(probability, math.nan, float(edges[0]), float(edges[-1]))
    margins = _crossing_margins(bins, p, level) if len(bins) > 1 else ()
    raw_below = [0.0]
    for estimate in bins:
        raw_below.append(raw_below[-1] + estimate.value)
    raw_total = raw_below[-1]
    d = [raw_below[k] - p * raw_total for k in range(1, len(bins))]
    a = next((k for k, (dk, ck) in enumerate(zip(d, margins, strict=True), 1) if dk + ck >= 0),
             len(bins))
    b = next((k for k, (dk, ck) in enumerate(zip(d, margins, strict=True), 1) if dk - ck >= 0),
             len(bins))
    lower, upper = float(edges[a - 1]), float(edges[b])
    counts = [max(0.0, e.value) for e in bins]
    total = math.fsum(counts)
    if not (total > 0 and math.isfinite(total)):
        return QuantileEstimate(probability, math.nan, lower, upper)
    below = [0.0]
    for count in counts:
        below.append(below[-1] + count)
    value = _first_crossing(edges, [c - p * total for c in below])
    return QuantileEstimate(probability, min(max(value, lower), upper), lower, upper)
