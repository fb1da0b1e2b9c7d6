"""OpenDP releases: exact costs, honest variances, and the noise they add (statistical tests)."""

from __future__ import annotations

import math
import statistics

import pytest

from privacy import Estimate, NodeVector, combine_vectors, ratio, release_vector
from privacy.mechanisms import discrete_laplace_variance


@pytest.mark.parametrize("sensitivity,budget", [(1, 500_000), (1, 100_000), (15_000, 250_000)])
def test_cost_is_the_privacy_map_and_never_exceeds_the_share(sensitivity: int,
                                                             budget: int) -> None:
    vector = release_vector([0] * 5, sensitivity=sensitivity, budget_micro=budget)
    assert vector.cost_micro == budget
    # Discrete Laplace: ε = sensitivity / scale, so the calibrated scale is close to that.
    assert vector.scale == pytest.approx(sensitivity / (budget / 1e6), rel=1e-6)
    assert len(vector.values) == 5


def test_variance_formula_matches_the_continuous_limit() -> None:
    assert discrete_laplace_variance(1000.0) == pytest.approx(2 * 1000.0**2, rel=1e-3)
    assert discrete_laplace_variance(0.5) < 2 * 0.5**2  # discreteness shrinks small scales


@pytest.mark.parametrize("budget", [1_000_000, 200_000])
def test_empirical_variance_matches_the_reported_variance(budget: int) -> None:
    """40,000 draws; the variance estimate of a Laplace-like law has relative SE ≈ √(5/n) ≈ 1.1%.

    The test allows ±8%, about 7 standard errors: a false failure has probability < 1e-9.
    The mean is checked within 7 SE of zero as well (unbiased noise).
    """
    draws: list[int] = []
    for _ in range(40):
        draws.extend(release_vector([0] * 1000, sensitivity=1, budget_micro=budget).values)
    reported = release_vector([0], sensitivity=1, budget_micro=budget).variance
    assert statistics.pvariance(draws) == pytest.approx(reported, rel=0.08)
    assert abs(statistics.fmean(draws)) < 7 * math.sqrt(reported / len(draws))


def test_noise_is_added_around_the_true_values() -> None:
    """Scale 1/ε = 0.1 at ε=10: P(|noise| ≥ 5) = 2·e^{-50}/(1+e^{-10}) < 1e-21 per cell."""
    values = release_vector([5, 1000, 0], sensitivity=1, budget_micro=10_000_000).values
    assert [abs(v - t) < 5 for v, t in zip(values, [5, 1000, 0], strict=True)] == [True] * 3


def test_combination_adds_values_and_variances_in_measure_units() -> None:
    estimates = combine_vectors([NodeVector([100, 250], 400.0, 100),
                                 NodeVector([50, -50], 100.0, 100)], 2)
    assert estimates[0].value == pytest.approx(1.5) and estimates[1].value == pytest.approx(2.0)
    assert estimates[0].variance == pytest.approx(0.05)
    with pytest.raises(ValueError):
        combine_vectors([NodeVector([1], 1.0, 1)], 2)


def test_ratio_uses_the_delta_method() -> None:
    r = ratio(Estimate(50.0, 4.0), Estimate(100.0, 9.0))
    assert r.value == pytest.approx(0.5)
    assert r.variance == pytest.approx(4.0 / 100**2 + 0.25 * 9.0 / 100**2)
    assert math.isnan(ratio(Estimate(1.0, 1.0), Estimate(-2.0, 1.0)).value)
    low, high = r.interval
    assert low < 0.5 < high
