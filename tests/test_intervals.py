"""The interval machinery of privacy.intervals and privacy.combine, checked against closed forms
and an independent brute-force convolution. Deterministic: no random draws."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from privacy import (
    Estimate,
    Feasible,
    NodeVector,
    NoiseShape,
    NoiseTerm,
    combine_vectors,
    noise_half_width,
    noise_interval,
    ratio,
    reliability_note,
)

LAPLACE = NoiseShape.LAPLACE
GAUSSIAN = NoiseShape.GAUSSIAN


def discrete_laplace_pmf(scale: float) -> np.ndarray:
    """P(k) = (1-a)/(1+a)·a^|k| for |k| ≤ 80·scale + 20 (the rest is below 1e-30)."""
    a = math.exp(-1.0 / scale)
    k = np.arange(-int(80 * scale) - 20, int(80 * scale) + 21)
    return (1 - a) / (1 + a) * a ** np.abs(k)


def convolved(scales: list[float]) -> tuple[np.ndarray, int]:
    """The pmf of a sum of discrete Laplace draws and the index of 0 in it."""
    pmf = np.array([1.0])
    for scale in scales:
        pmf = np.convolve(pmf, discrete_laplace_pmf(scale))
    return pmf, len(pmf) // 2


def mass(pmf: np.ndarray, zero: int, low: int, high: int) -> float:
    return float(pmf[zero + low: zero + high + 1].sum())


@pytest.mark.parametrize("scale", [0.3, 1.0, 2.0, 4.0, 10.0, 37.5])
def test_single_discrete_laplace_matches_the_closed_form(scale: float) -> None:
    a = math.exp(-1.0 / scale)
    # P(|L| ≤ m) = 1 - 2a^(m+1)/(1+a); P(-m ≤ L ≤ m+1) adds P(L = m+1).
    levels = []
    for m in range(0, 2000):
        symmetric = 1 - 2 * a ** (m + 1) / (1 + a)
        levels.append((symmetric, m, m))
        levels.append((symmetric + (1 - a) / (1 + a) * a ** (m + 1), m, m + 1))
    expected = next((m_low, m_high) for level, m_low, m_high in levels if level >= 0.95)
    assert noise_interval([NoiseTerm(LAPLACE, scale)], lattice=1.0) == expected


@pytest.mark.parametrize("scales", [
    [2.0], [1.0], [2.0, 2.0], [2.0] * 3, [1.0] * 10, [0.5, 1.0, 2.0, 4.0], [4.0, 4.0, 0.7],
    [12.0] * 5,
])
def test_lattice_intervals_are_exact_and_minimal(scales: list[float]) -> None:
    """Coverage ≥ 95% by brute-force convolution, and the next narrower candidate is below."""
    pmf, zero = convolved(scales)
    below, above = noise_interval([NoiseTerm(LAPLACE, s) for s in scales], lattice=1.0)
    low, high = int(below), int(above)
    assert (low, high) == (below, above)
    assert high - low in (0, 1)
    assert mass(pmf, zero, -low, high) >= 0.95
    narrower = (low - 1, low) if high == low else (low, low)
    assert mass(pmf, zero, -narrower[0], narrower[1]) < 0.95


def test_lattice_units_scale_the_interval() -> None:
    """A sum in hundredths: the same noise in fixed-point units, expressed in measure units."""
    in_units = noise_interval([NoiseTerm(LAPLACE, 3.0)], lattice=1.0)
    in_hundredths = noise_interval([NoiseTerm(LAPLACE, 0.03)], lattice=0.01)
    assert in_hundredths == pytest.approx((in_units[0] / 100, in_units[1] / 100))


def test_continuous_limit_single_laplace() -> None:
    """P(|L| ≤ w) = 1 - exp(-w/b): w = b·ln 20."""
    assert noise_half_width([NoiseTerm(LAPLACE, 3.0)]) == pytest.approx(3 * math.log(20),
                                                                        rel=1e-4)


def discrete_gaussian_pmf(scale: float) -> np.ndarray:
    """P(k) ∝ exp(-k²/2σ²) for |k| ≤ 40·σ + 20 (the rest is below 1e-300), normalised here."""
    k = np.arange(-int(40 * scale) - 20, int(40 * scale) + 21)
    weights = np.exp(-(k.astype(float) ** 2) / (2 * scale * scale))
    return weights / weights.sum()


@pytest.mark.parametrize("scales", [[0.8], [3.0], [5.36], [10.6] * 4, [2.0, 7.0]])
def test_discrete_gaussian_sums_match_brute_force(scales: list[float]) -> None:
    """zCDP nodes release discrete Gaussian noise: the lattice interval is the same narrowest
    whole-unit interval a brute-force convolution of the pmfs gives."""
    pmf = np.array([1.0])
    for scale in scales:
        pmf = np.convolve(pmf, discrete_gaussian_pmf(scale))
    zero = len(pmf) // 2
    levels = []
    for m in range(zero):
        symmetric = mass(pmf, zero, -m, m)
        levels.append((symmetric, m, m))
        levels.append((symmetric + float(pmf[zero + m + 1]), m, m + 1))
    expected = next((m_low, m_high) for level, m_low, m_high in levels if level >= 0.95)
    terms = [NoiseTerm(GAUSSIAN, scale) for scale in scales]
    assert noise_interval(terms, lattice=1.0) == expected


def test_continuous_limit_two_laplace() -> None:
    """For L1 + L2 iid Laplace(b): P(|S| > x) = exp(-x/b)(1 + x/2b)."""
    low, high = 0.0, 20.0
    for _ in range(200):
        mid = (low + high) / 2
        low, high = (mid, high) if math.exp(-mid) * (1 + mid / 2) > 0.05 else (low, mid)
    assert noise_half_width([NoiseTerm(LAPLACE, 1.0)] * 2) == pytest.approx(low, rel=1e-4)


def test_gaussian_terms_give_the_normal_quantile() -> None:
    assert noise_half_width([NoiseTerm(GAUSSIAN, 2.0)]) == pytest.approx(2 * 1.959964,
                                                                         rel=1e-4)
    both = [NoiseTerm(GAUSSIAN, 3.0), NoiseTerm(GAUSSIAN, 4.0)]
    assert noise_half_width(both) == pytest.approx(5 * 1.959964, rel=1e-4)


def test_wide_lattice_noise_uses_the_continuous_limit() -> None:
    """Fixed-point sums with large scales: computed on a coarser grid, same answer."""
    wide = noise_half_width([NoiseTerm(LAPLACE, 300.0)], lattice=0.01)
    assert wide == pytest.approx(300 * math.log(20), rel=1e-4)


def test_many_nodes_approach_the_normal_quantile() -> None:
    multipliers = [noise_half_width([NoiseTerm(LAPLACE, 1.0)] * k) / math.sqrt(2 * k)
                   for k in (1, 2, 5, 100)]
    assert multipliers == sorted(multipliers, reverse=True)
    assert multipliers[0] == pytest.approx(math.log(20) / math.sqrt(2), rel=1e-4)
    assert multipliers[-1] == pytest.approx(1.96, abs=0.01)


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="level"):
        noise_interval([NoiseTerm(LAPLACE, 1.0)], level=1.0)
    with pytest.raises(ValueError, match="scale"):
        NoiseTerm(LAPLACE, -1.0)
    with pytest.raises(ValueError, match="lattice"):
        noise_interval([NoiseTerm(LAPLACE, 1.0)], lattice=-1.0)
    assert noise_interval([]) == (0.0, 0.0)


def test_combined_vectors_carry_their_noise_and_lattice() -> None:
    vectors = [NodeVector([100, 250], 7.8, 100, NoiseShape.LAPLACE, 2.0),
               NodeVector([50, -5], 7.8, 100, NoiseShape.LAPLACE, 2.0)]
    first, second = combine_vectors(vectors, 2)
    assert (first.value, second.value) == (1.5, 2.45)
    assert first.variance == pytest.approx(2 * 7.8 / 100**2)
    assert first.lattice == 0.01
    assert first.noise == (NoiseTerm(LAPLACE, 0.02),) * 2
    low, high = first.interval
    assert (round((first.value - low) * 100), round((high - first.value) * 100)) == \
        noise_interval([NoiseTerm(LAPLACE, 2.0)] * 2, lattice=1.0)


def test_unknown_noise_falls_back_to_a_normal_interval() -> None:
    vectors = [NodeVector([10], 4.0, 1, None, 0.0)]
    (estimate,) = combine_vectors(vectors, 1)
    assert estimate.lattice == 0.0
    low, high = estimate.interval
    assert high - estimate.value == pytest.approx(1.959964 * 2.0, rel=1e-4)
    assert estimate.value - low == pytest.approx(high - estimate.value)


def test_no_vectors_means_no_estimate() -> None:
    (estimate,) = combine_vectors([], 1)
    assert math.isnan(estimate.value)
    assert estimate.interval == (-math.inf, math.inf)
    assert not estimate.reliable
    assert reliability_note(estimate) == "no estimate: no node answered"


def test_ratio_linearises_noise_into_scaled_terms() -> None:
    s = Estimate(600.0, 2 * 40.0**2, (NoiseTerm(LAPLACE, 40.0),))
    c = Estimate(150.0, 2 * 4.0**2, (NoiseTerm(LAPLACE, 4.0),), 1.0)
    r = ratio(s, c)
    assert r.value == 4.0
    assert r.noise == (NoiseTerm(LAPLACE, 40.0 / 150), NoiseTerm(LAPLACE, 4.0 * 4.0 / 150))
    assert r.variance == pytest.approx(s.variance / 150**2 + 16 * c.variance / 150**2)
    assert r.lattice == 0.0
    _, high = r.interval
    assert high - r.value == pytest.approx(noise_half_width(r.noise))


def test_ratio_without_a_positive_denominator_is_no_estimate() -> None:
    s = Estimate(5.0, 1.0, (NoiseTerm(LAPLACE, 1.0),))
    c = Estimate(-2.0, 1.0, (NoiseTerm(LAPLACE, 1.0),))
    r = ratio(s, c)
    assert math.isnan(r.value) and not r.reliable
    assert reliability_note(r, c) == "no estimate: the noisy denominator is not positive"


def test_reliability_notes() -> None:
    # Issue 17: judged on the 95% interval, not on the noisy estimate, and rounded up.
    small = Estimate(25.0, 25.0, (NoiseTerm(GAUSSIAN, 5.0),))  # [15.2, 34.8]: 5/15.2 = 33%
    assert reliability_note(small) == (
        "relative standard error may be above 25% (up to 33% within the 95% interval)")
    assert not small.reliable  # its noisy RSE, 5/25 = 20%, passed the old rule
    assert reliability_note(Estimate(100.0, 25.0)) == ""
    # 4·SE + 1.96·SE is the smallest publishable value: just below it is flagged, and the
    # note never reads "25% above 25%".
    edge = Estimate(5.96 * 5.0 - 0.001, 25.0)
    assert reliability_note(edge) == (
        "relative standard error may be above 25% (up to 26% within the 95% interval)")
    assert reliability_note(Estimate(5.96 * 5.0 + 0.01, 25.0)) == ""
    assert reliability_note(Estimate(3.0, 25.0)) == (
        "the 95% interval includes 0: relative standard error unbounded")
    few = Estimate(12.0, 1.0)
    assert reliability_note(Estimate(0.5, 0.0001), few) == (
        "fewer than 30 people behind the ratio cannot be ruled out")


@given(
    truth=st.floats(0, 1),
    low_offset=st.floats(0, 3),
    high_offset=st.floats(0, 3),
    shift=st.floats(-2, 2),
)
def test_clipping_keeps_every_feasible_truth_that_the_raw_interval_held(
        truth: float, low_offset: float, high_offset: float, shift: float) -> None:
    """Clipping is monotone and fixes feasible values: it can never lose a covered truth."""
    feasible = Feasible(0.0, 1.0)
    low, high = truth - low_offset, truth + high_offset
    estimate = min(max(truth + shift, low), high)
    shown, shown_low, shown_high = feasible.clip_estimate(estimate, low, high)
    assert shown_low <= truth <= shown_high
    assert 0.0 <= shown_low <= shown <= shown_high <= 1.0


def test_clipping_counts_at_zero() -> None:
    assert Feasible(0.0).clip_estimate(-3.0, -9.0, 4.0) == (0.0, 0.0, 4.0)
    assert math.isnan(Feasible(0.0).clip(math.nan))
    with pytest.raises(ValueError):
        Feasible(1.0, 0.0)
