"""Distributed discrete Gaussian shares: the central accounting and the noise they really add.

The accounting (KLS Proposition 14) is checked against an independent computation: the exact
Rényi divergence between the sum of n discrete Gaussians and its shift by Δ, from their pmfs
convolved numerically. The noise is checked by Monte Carlo on OpenDP's own draws.
"""

from __future__ import annotations

import math
import tomllib
from importlib import resources

import numpy as np
import numpy.typing as npt
import pytest

from privacy import Accounting, QuerySpec, Statistic, ValidatedQuery, parse_catalogue, validate
from privacy.distributed import (
    MIN_SHARE_SCALE,
    central_rho,
    draw_share,
    expected_standard_errors,
    plan_shares,
    survivor_vectors,
)
from privacy.mechanisms import discrete_gaussian_variance, plan_release

CATALOGUE_TEXT = resources.files("privacy").joinpath("catalogues/koepel-2026.1.toml").read_text()


def _pmf(scale: float, shares: int) -> tuple[np.ndarray, int]:
    """The pmf of the sum of ``shares`` N_Z(0, scale²), and the offset of 0 in it."""
    half = math.ceil(14 * scale)
    support = np.arange(-half, half + 1)
    one = np.exp(-(support.astype(float) ** 2) / (2 * scale * scale))
    one /= one.sum()
    total = one
    for _ in range(shares - 1):
        total = np.convolve(total, one)
    return total, (len(total) - 1) // 2


def _renyi(pmf: np.ndarray, shift: int, alpha: float) -> float:
    p = pmf[shift:]
    q = pmf[: len(pmf) - shift]
    mask = (p > 1e-250) & (q > 1e-250)  # beyond, terms are negligible (log space below)
    terms = alpha * np.log(p[mask]) + (1 - alpha) * np.log(q[mask])
    top = terms.max()
    return float((top + np.log(np.sum(np.exp(terms - top)))) / (alpha - 1))


@pytest.mark.parametrize(("scale", "shares", "shift"), [(0.5, 2, 1), (1.0, 3, 1), (2.0, 5, 2),
                                                        (0.7, 8, 1), (3.0, 4, 5)])
def test_proposition_14_bounds_the_exact_renyi_divergence(scale: float, shares: int,
                                                          shift: int) -> None:
    """ρ·α is never below the exact divergence, and is close to it once τ is negligible."""
    rho = central_rho(shift, scale, shares, 1)
    pmf, _ = _pmf(scale, shares)
    for alpha in (1.5, 2.0, 4.0, 8.0):
        exact = _renyi(pmf, shift, alpha)
        assert exact <= alpha * rho * (1 + 1e-9), (alpha, exact, alpha * rho)
        if scale >= MIN_SHARE_SCALE:
            assert exact >= 0.98 * alpha * rho  # no slack where koepel calibrates


ZCDP = parse_catalogue(tomllib.loads(CATALOGUE_TEXT.replace(
    'accounting = "pure"', 'accounting = "zcdp"\ndelta = "1e-6"', 1)))


def _query(statistic: Statistic, epsilon_micro: int = 1_000_000) -> ValidatedQuery:
    catalogue = ZCDP
    measure = "support_hours" if statistic is not Statistic.COUNT else "headcount"
    spec = QuerySpec(catalogue.version, measure, statistic, ("region",), (), "2025",
                     epsilon_micro)
    return validate(spec, catalogue)


@pytest.mark.parametrize("statistic", [Statistic.COUNT, Statistic.SUM, Statistic.MEAN,
                                       Statistic.HISTOGRAM])
@pytest.mark.parametrize("honest", [1, 8, 98, 480])
def test_calibration_spends_at_most_the_budget_and_is_central_sized(
        statistic: Statistic, honest: int) -> None:
    release = plan_release(_query(statistic))
    shares = plan_shares(release, honest_shares=honest,
                         dimensions=[6] * len(release.vectors))
    for vector, share in zip(release.vectors, shares, strict=True):
        assert share.rho_micro <= vector.budget_micro
        assert share.share_scale >= MIN_SHARE_SCALE
        central = vector.sensitivity / math.sqrt(2 * vector.budget_micro / 1e6)
        total = share.share_scale * math.sqrt(honest) / share.refinement
        assert central <= total <= central * 1.001  # t shares make one central noise
        assert share.local_rho_micro >= share.rho_micro * honest * 0.99


def test_a_pure_epsilon_catalogue_is_refused() -> None:
    catalogue = parse_catalogue(tomllib.loads(CATALOGUE_TEXT))
    spec = QuerySpec(catalogue.version, "headcount", Statistic.COUNT, ("region",), (), "2025",
                     1_000_000)
    with pytest.raises(Exception, match="zCDP"):
        plan_shares(plan_release(validate(spec, catalogue)), honest_shares=3, dimensions=[3])


def test_one_share_has_the_variance_the_plan_states() -> None:
    """200,000 OpenDP draws; the sample variance's relative SD is √(2/N) = 0.32%, so a 2%
    tolerance is 6.3 SDs: a correct sampler fails with probability below 1e-9."""
    [share] = plan_shares(plan_release(_query(Statistic.COUNT)), honest_shares=98,
                          dimensions=[6])
    draws = np.array(draw_share([0] * 200_000, share), dtype=float)
    assert abs(draws.mean()) < 6.3 * math.sqrt(share.share_variance / len(draws))
    assert abs(draws.var() / share.share_variance - 1) < 0.02


def _discrete_gaussian_log_pmf(sigma: float, half: int) -> npt.NDArray[np.float64]:
    k = np.arange(-half, half + 1, dtype=np.float64)
    log_weight = -(k**2) / (2 * sigma**2)
    top = log_weight.max()
    return log_weight - (top + math.log(float(np.exp(log_weight - top).sum())))


def _draws_needed(sigma: float, tolerance: float, failure: float) -> int:
    """Draws M so that the mean of M squared N_Z(0, σ²) draws misses their variance by more
    than ``tolerance`` (relative) with probability below ``failure``: the exact Chernoff bound
    of the discrete Gaussian's X², sup over a grid of λ (any λ gives a valid bound)."""
    log_p = _discrete_gaussian_log_pmf(sigma, math.ceil(40 * sigma) + 2)
    half = (len(log_p) - 1) // 2
    squares = np.arange(-half, half + 1, dtype=np.float64) ** 2
    variance = float(np.exp(log_p) @ squares)

    def rate(lambdas: npt.NDArray[np.float64], level: float) -> float:
        terms = log_p[None, :] + lambdas[:, None] * squares[None, :]
        top = terms.max(axis=1)
        log_mgf = top + np.log(np.exp(terms - top[:, None]).sum(axis=1))
        return float(np.max(lambdas * level - log_mgf))

    up = rate(np.linspace(1e-4, 0.45, 900) / sigma**2, (1 + tolerance) * variance)
    down = rate(-np.linspace(1e-4, 2.0, 900) / sigma**2, (1 - tolerance) * variance)
    return math.ceil(math.log(2 / failure) / min(up, down))


def _chi2_tolerance(samples: int, failure: float) -> float:
    """Relative t with P(|χ²_n/n − 1| > t) < failure, by the χ² Chernoff bounds (bisection)."""
    target = 2 * math.log(2 / failure) / samples
    low, high = 1e-6, 5.0
    for _ in range(100):  # both rates grow with t; the smaller one decides
        mid = (low + high) / 2
        rate = min(mid - math.log1p(mid), -mid - math.log1p(-mid) if mid < 1 else math.inf)
        low, high = (low, mid) if rate >= target else (mid, high)
    return high


@pytest.mark.parametrize("shares", [10, 100])
def test_the_sum_of_k_shares_has_the_target_variance_within_2_percent(shares: int) -> None:
    """The sum of K OpenDP shares has variance within 2 % of the target K·Var(share).

    Two estimators over N replicate cells of K shares each (mean exactly 0 by symmetry):
    - pooled, Σ_k mean_j(x_kj²): unbiased for Var(Σ_k x_k) because separate OpenDP draws are
      independent, and it uses all M = K·N draws; M comes from the exact Chernoff bound of the
      discrete Gaussian's X², so a correct sampler misses 2 % with probability < 5e-10;
    - direct, mean_j((Σ_k x_kj)²): tests the independence itself (a correlation between shares
      would move it, not the pooled one), at the tolerance the χ² Chernoff bound gives for N at
      4e-10 (≈ 6 % at K = 10, ≈ 20 % at K = 100: N sums of 10⁸ draws would be needed for 2 %).
    Failure probability under a correct implementation: < 1e-9 per K.
    """
    [share] = plan_shares(plan_release(_query(Statistic.COUNT)), honest_shares=shares - 2,
                          dimensions=[6])
    replicates = math.ceil(_draws_needed(share.share_scale, 0.02, 5e-10) / shares)
    draws = np.array([draw_share([0] * replicates, share) for _ in range(shares)],
                     dtype=np.float64)
    target = share.variance_of_sum(shares)
    pooled = float((draws**2).mean(axis=1).sum())
    assert abs(pooled / target - 1) < 0.02
    direct = float((draws.sum(axis=0) ** 2).mean())
    assert abs(direct / target - 1) < _chi2_tolerance(replicates, 4e-10)


def test_survivor_vectors_carry_one_noise_term_per_share() -> None:
    [share] = plan_shares(plan_release(_query(Statistic.COUNT)), honest_shares=8,
                          dimensions=[3])
    vectors = survivor_vectors([40 * share.refinement, 0, 9], share, 1, 9)
    assert len(vectors) == 9 and vectors[0].values[0] == 40 * share.refinement
    assert sum(v.variance for v in vectors) == pytest.approx(share.variance_of_sum(9))


def test_secure_error_is_close_to_central_and_far_below_per_node_noise() -> None:
    for nodes, honest in ((10, 8), (100, 98)):
        errors = expected_standard_errors(1, 17_200, accounting=Accounting.ZCDP, nodes=nodes,
                                          honest_shares=honest)
        assert errors["secure"] <= 1.15 * errors["central"]
        assert errors["per_node"] == pytest.approx(
            math.sqrt(nodes * discrete_gaussian_variance(errors["central"])), rel=1e-9)
