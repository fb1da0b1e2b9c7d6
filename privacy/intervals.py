"""Half-widths of 95% intervals from the exact distribution of summed DP noise.

Why not ``±1.96·SE``: one node's discrete Laplace noise has heavier tails than a normal
distribution, so ``P(|L| > 1.96σ) ≈ 6.3%`` and a normal interval covers only about 93.7%. The
sum over K nodes approaches a normal slowly (its excess kurtosis is 3/K). A released figure's
error is a sum of independent, symmetric noise draws whose distributions the nodes report
(shape and scale), so we compute the quantile of that sum itself.

Method. On a grid of spacing ``h`` the probability mass function of a sum of independent
lattice variables is the inverse discrete Fourier transform of the product of their
characteristic functions (CFs), which are known in closed form:

* discrete Laplace, ``P(k) ∝ exp(-|k|/s)``: ``φ(t) = 1 / (1 + 4a·sin²(t/2) / (1-a)²)``,
  ``a = exp(-1/s)``;
* discrete Gaussian, ``P(k) ∝ exp(-k²/2s²)``: by Poisson summation,
  ``φ(t) = Σₙ exp(-(t+2πn)²s²/2) / Σₙ exp(-(2πn)²s²/2)``.

Two regimes:

* **Exact (lattice).** Counts and fixed-point sums are integers of a known unit, and so is their
  noise. When the summed noise spans at most ``EXACT_MAX_SIGMA`` units per standard deviation,
  the grid is that unit and the interval is the narrowest whole-unit range around the estimate
  with ``P(truth inside) ≥ level``: exact and conservative. Discreteness allows only a few
  coverage levels (with small noise, ``P(|S| ≤ m)`` jumps by several points from one ``m`` to
  the next), so the interval may reach one unit further up than down, which halves the
  overshoot (a single node at ε = 1: 95.0% instead of 97.3%).
* **Fine grid (continuous limit).** Wider noise (large fixed-point sums) and ratio estimates
  (whose linearised noise mixes draws on different lattices) use a grid of
  ``σ / COARSE_POINTS_PER_SIGMA``: each term is represented by its shape sampled on that grid
  (the density's midpoint rule, relative tail error ``≈ 1/(8β²)`` with ``β`` the term's scale in
  grid steps), and the half-width is interpolated between grid points.

The grid spans ``±TAIL_SIGMAS`` standard deviations, so wrap-around (aliasing) of the circular
transform moves less than ``exp(-TAIL_SIGMAS·√2) ≈ 5e-13`` of probability; by Chebyshev's
inequality every 95% bound lies within 4.5 standard deviations, so only that far is summed.
Results are cached: every cell of one released vector shares its noise terms.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from functools import lru_cache

import numpy as np
import numpy.typing as npt

__all__ = [
    "COARSE_POINTS_PER_SIGMA",
    "EXACT_MAX_SIGMA",
    "TAIL_SIGMAS",
    "NoiseShape",
    "NoiseTerm",
    "noise_half_width",
    "noise_interval",
    "noise_sigma",
]

EXACT_MAX_SIGMA = 400.0  # largest noise SD, in lattice units, computed exactly on the lattice
COARSE_POINTS_PER_SIGMA = 50.0  # grid resolution in the continuous limit
TAIL_SIGMAS = 20.0  # half-span of the grid
_CHEBYSHEV_SIGMAS = 4.5  # P(|S| ≥ 4.5σ) ≤ 1/4.5² < 5%: every 95% bound lies within
_MIN_POINTS = 64
_GAUSS_IMAGES = 8  # Poisson-summation images on each side (enough for s ≥ 0.05)


class NoiseShape(Enum):
    """The family of one noise draw; its ``scale`` parameter is stated per family."""

    LAPLACE = "laplace"  # P(k) ∝ exp(-|k|/scale) on a lattice (or its continuous limit)
    GAUSSIAN = "gaussian"  # P(k) ∝ exp(-k²/2scale²) on a lattice (or a normal distribution)


@dataclass(frozen=True, order=True)
class NoiseTerm:
    """One independent, symmetric noise draw, expressed in the estimate's own unit."""

    shape: NoiseShape
    scale: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.scale) and self.scale >= 0):
            raise ValueError(f"noise scale must be finite and non-negative, got {self.scale}")

    @property
    def continuous_variance(self) -> float:
        """The variance of the term's continuous limit (2b² for Laplace, σ² for Gaussian)."""
        if self.shape is NoiseShape.LAPLACE:
            return 2.0 * self.scale**2
        return self.scale**2


def noise_sigma(terms: Sequence[NoiseTerm]) -> float:
    """The standard deviation of the terms' sum in the continuous limit."""
    return math.sqrt(sum(term.continuous_variance for term in terms))


@lru_cache(maxsize=16)
def _frequencies(n_points: int) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """The DFT frequencies ``t`` of an ``n_points`` grid and ``4·sin²(t/2)`` (read-only)."""
    t = 2.0 * math.pi * np.arange(n_points // 2 + 1) / n_points
    sin2 = 4.0 * np.sin(t / 2.0) ** 2
    t.flags.writeable = False
    sin2.flags.writeable = False
    return t, sin2


def _laplace_cf(sin2: npt.NDArray[np.float64], scale: float) -> npt.NDArray[np.float64]:
    one_minus_a = -math.expm1(-1.0 / scale)
    a = 1.0 - one_minus_a
    result: npt.NDArray[np.float64] = 1.0 / (1.0 + (a / one_minus_a**2) * sin2)
    return result


def _gaussian_cf(t: npt.NDArray[np.float64], scale: float) -> npt.NDArray[np.float64]:
    images = 2.0 * math.pi * np.arange(-_GAUSS_IMAGES, _GAUSS_IMAGES + 1)
    numerator = np.exp(-((t[:, None] + images[None, :]) ** 2) * scale**2 / 2.0).sum(axis=1)
    denominator = float(np.exp(-(images**2) * scale**2 / 2.0).sum())
    result: npt.NDArray[np.float64] = numerator / denominator
    return result


def _central_mass(
    terms: tuple[tuple[NoiseShape, float, int], ...], n_points: int, limit: int
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """``(c, p)``: ``c[m] = P(|S| ≤ m)`` and ``p[m] = P(S = m)`` in grid units, ``0 ≤ m < limit``.

    ``terms`` are (shape, scale in grid units, multiplicity).
    """
    t, sin2 = _frequencies(n_points)
    cf = np.ones_like(t)
    for shape, scale, multiplicity in terms:
        one = (_laplace_cf(sin2, scale) if shape is NoiseShape.LAPLACE
               else _gaussian_cf(t, scale))
        cf *= one if multiplicity == 1 else one**multiplicity
    pmf = np.fft.irfft(cf, n=n_points)
    half = pmf[: min(limit, n_points // 2)]
    mass: npt.NDArray[np.float64] = np.minimum(
        1.0, half[0] + 2.0 * np.concatenate(([0.0], np.cumsum(half[1:])))
    )
    return mass, half


def _grid_terms(terms: Sequence[NoiseTerm],
                step: float) -> tuple[tuple[NoiseShape, float, int], ...]:
    counts = Counter((term.shape, term.scale / step) for term in terms)
    # Terms far below one grid step are point masses at 0 on this grid.
    return tuple(sorted((shape, scale, n) for (shape, scale), n in counts.items()
                        if scale >= 0.05))


@lru_cache(maxsize=4096)
def _bounds(terms: tuple[NoiseTerm, ...], lattice: float, level: float) -> tuple[float, float]:
    sigma = noise_sigma(terms)
    exact = lattice > 0 and sigma / lattice <= EXACT_MAX_SIGMA
    step = lattice if exact else sigma / COARSE_POINTS_PER_SIGMA
    grid = _grid_terms(terms, step)
    if not grid:
        return 0.0, 0.0
    span = math.ceil(TAIL_SIGMAS * sigma / step) + 1
    n_points = max(_MIN_POINTS, 1 << (2 * span + 2).bit_length())
    limit = math.ceil(_CHEBYSHEV_SIGMAS * sigma / step) + 2
    mass, pmf = _central_mass(grid, n_points, limit)
    index = int(np.searchsorted(mass, level))  # first m with P(|S| ≤ m) ≥ level
    if index >= len(mass):
        raise ArithmeticError("noise quantile outside the computed grid")
    if exact:
        # Between P(|S| ≤ m-1) and P(|S| ≤ m) lies P(-(m-1) ≤ S ≤ m): one more unit on the
        # upper side only. Taking it when it suffices halves the overshoot that discreteness
        # forces on a symmetric interval.
        if index > 0 and mass[index - 1] + pmf[index] >= level:
            return (index - 1) * step, index * step
        return index * step, index * step
    # Grid point m carries the mass of [m - ½, m + ½]: P(|S| ≤ (m + ½)·step) ≈ mass[m].
    below = 0.0 if index == 0 else float(mass[index - 1])
    above = float(mass[index])
    x_below = 0.0 if index == 0 else (index - 0.5) * step
    x_above = (index + 0.5) * step
    width = x_above if above <= below else (
        x_below + (level - below) / (above - below) * (x_above - x_below))
    return width, width


def noise_interval(terms: Sequence[NoiseTerm], *, level: float = 0.95,
                   lattice: float = 0.0) -> tuple[float, float]:
    """``(below, above)``: ``[value - below, value + above]`` covers the truth w.p. ≥ ``level``.

    ``lattice`` is the spacing of the values every term takes (``1/fixed_point_scale`` for a
    released vector), or 0 when the terms do not share one (ratios). On a lattice the bounds
    are exact whole numbers of units and ``above`` may exceed ``below`` by one unit; otherwise
    they are equal and approximate the exact quantile to about 1e-5 relative.
    """
    if not 0.0 < level < 1.0:
        raise ValueError("level must be strictly between 0 and 1")
    if lattice < 0 or not math.isfinite(lattice):
        raise ValueError("lattice must be finite and non-negative")
    kept = tuple(sorted(term for term in terms if term.scale > 0))
    if not kept:
        return 0.0, 0.0
    return _bounds(kept, float(lattice), float(level))


def noise_half_width(terms: Sequence[NoiseTerm], *, level: float = 0.95,
                     lattice: float = 0.0) -> float:
    """The half-width of the narrowest symmetric interval: ``P(|Σ terms| ≤ w) ≥ level``."""
    below, above = noise_interval(terms, level=level, lattice=lattice)
    return max(below, above)
