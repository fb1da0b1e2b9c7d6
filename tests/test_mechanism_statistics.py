"""Statistical tests of every mechanism: the noise has the variance the node reports, no bias,
and clamping holds (per-person values outside the bounds count as the bound, never more).

Each mechanism is exercised through the plan a real query gets (the split of its budget, the
sensitivities) and ``release``, the same path a node answers with, for pure ε (discrete
Laplace) and zCDP (discrete Gaussian).

How a variance check can fail falsely: with n = 40,000 independent draws, the sample variance
is approximately normal with standard error √((μ₄ − σ⁴)/n), where σ² and μ₄ are the noise's
exact second and fourth moments, computed here from its probability mass function. Each check
allows 7 standard errors, so by the normal approximation a false failure has probability about
2.6·10⁻¹² per check; this module makes fewer than 40 such checks (variance and mean), so the
whole module fails falsely with probability below 10⁻¹⁰.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Callable
from importlib import resources

import numpy as np
import pytest
from conftest import FIXTURES

from node import NodeRuntime, import_files
from node.synthetic.generator import OrgProfile, generate_organisation
from privacy import (
    Catalogue,
    NoiseKind,
    NoisyVector,
    QuerySpec,
    Release,
    Statistic,
    VectorRole,
    default_catalogue,
    parse_catalogue,
    plan_release,
    release,
    validate,
)

CAT = default_catalogue()
_RAW = tomllib.loads(resources.files("privacy").joinpath("catalogues/koepel-2025.1.toml")
                     .read_text())
ZCAT = parse_catalogue({**_RAW, "version": "z", "accounting": "zcdp", "delta": "1e-6"})
DRAWS = 40_000
BATCH = 2_000
SIGMAS = 7.0


def moments(noise: NoiseKind, scale: float) -> tuple[float, float]:
    """Exact variance and fourth moment of the integer noise with this scale.

    Summed over its mass function while that is cheap (tails beyond the bounds are below
    e^{-60}); for large scales the discrete laws equal their continuous limits to ~1/scale².
    """
    if scale > 2_000:
        variance = 2 * scale**2 if noise is NoiseKind.DISCRETE_LAPLACE else scale**2
        kurtosis = 6.0 if noise is NoiseKind.DISCRETE_LAPLACE else 3.0
        return variance, kurtosis * variance**2
    if noise is NoiseKind.DISCRETE_LAPLACE:
        bound = math.ceil(60 * scale) + 1
        k = np.arange(-bound, bound + 1, dtype=np.float64)
        weights = np.exp(-np.abs(k) / scale)
    else:
        bound = math.ceil(12 * scale) + 1
        k = np.arange(-bound, bound + 1, dtype=np.float64)
        weights = np.exp(-(k**2) / (2 * scale**2))
    weights /= weights.sum()
    return float((weights * k**2).sum()), float((weights * k**4).sum())


def draws(draw: Callable[[], Release], role: VectorRole,
          truth: list[int]) -> tuple[np.ndarray, NoisyVector]:
    """DRAWS noise values (released minus true) of one vector, and one release's description."""
    noise: list[int] = []
    vector: NoisyVector | None = None
    while len(noise) < DRAWS:
        released = draw()
        vector = getattr(released, role.value)
        assert vector is not None
        noise.extend(v - t for v, t in zip(vector.values, truth, strict=True))
    assert vector is not None
    return np.asarray(noise[:DRAWS], dtype=np.float64), vector


def check_noise(noise: np.ndarray, vector: NoisyVector, expected_kind: NoiseKind) -> None:
    """The sample variance is within 7 SE of the exact variance, which the node reported; the
    sample mean is within 7 SE of zero."""
    assert vector.noise is expected_kind
    variance, fourth = moments(vector.noise, vector.scale)
    assert vector.variance == pytest.approx(variance, rel=1e-6)  # the reported variance
    se_variance = math.sqrt((fourth - variance**2) / len(noise))
    assert abs(float(noise.var()) - variance) <= SIGMAS * se_variance, (
        float(noise.var()), variance, se_variance)
    assert abs(float(noise.mean())) <= SIGMAS * math.sqrt(variance / len(noise))


CASES = [
    # (catalogue, measure, statistic, ε in µε)
    (CAT, "headcount", Statistic.COUNT, 1_000_000),
    (CAT, "support_hours", Statistic.SUM, 2_000_000),
    (CAT, "fte", Statistic.MEAN, 500_000),
    (CAT, "support_hours", Statistic.HISTOGRAM, 700_000),
    (ZCAT, "headcount", Statistic.COUNT, 1_000_000),
    (ZCAT, "support_hours", Statistic.SUM, 2_000_000),
    (ZCAT, "competence_gain", Statistic.MEAN, 1_000_000),
    (ZCAT, "fte", Statistic.HISTOGRAM, 300_000),
]


@pytest.mark.parametrize("catalogue,measure,statistic,epsilon", CASES,
                         ids=[f"{c.accounting.value}-{m}-{s.value}" for c, m, s, _ in CASES])
def test_empirical_variance_matches_the_reported_variance(
        catalogue: Catalogue, measure: str, statistic: Statistic, epsilon: int) -> None:
    """Every vector of the statistic, with the catalogue's mechanism: variance and mean within
    7 standard errors (false failure ≈ 2.6·10⁻¹² per check, see the module docstring)."""
    spec = QuerySpec(catalogue.version, measure, statistic, ("region",), (), "2025", epsilon)
    plan = plan_release(validate(spec, catalogue))
    kind = (NoiseKind.DISCRETE_LAPLACE if catalogue is CAT else NoiseKind.DISCRETE_GAUSSIAN)
    per_draw = BATCH if statistic is not Statistic.HISTOGRAM else BATCH - BATCH % plan.n_bins
    counts = [7] * per_draw
    sums = [123] * per_draw
    histogram = [3] * per_draw
    clamped = [2] * per_draw if plan.share(VectorRole.CLAMPED) else None  # issue 17
    truths = {VectorRole.COUNT: counts, VectorRole.SUM: sums, VectorRole.HISTOGRAM: histogram,
              VectorRole.CLAMPED: clamped or []}
    total_cost = 0
    for vector_plan in plan.vectors:
        noise, vector = draws(lambda: release(plan, counts, sums, histogram, clamped),
                              vector_plan.role, truths[vector_plan.role])
        check_noise(noise, vector, kind)
        assert vector.sensitivity == vector_plan.sensitivity
        assert vector.cost_micro <= vector_plan.budget_micro
        total_cost += vector.cost_micro
    assert total_cost <= plan.total_micro  # the split never overspends the query's budget


@pytest.fixture
def small(node_factory: Callable[..., NodeRuntime]) -> NodeRuntime:
    runtime = node_factory("small")
    import_files(runtime.store, runtime.secret, sorted((FIXTURES / "small").glob("*.csv")))
    return runtime


@pytest.mark.parametrize("catalogue", [CAT, ZCAT], ids=["pure", "zcdp"])
def test_released_sums_centre_on_the_clamped_sum(small: NodeRuntime,
                                                 catalogue: Catalogue) -> None:
    """P4 has 200 support hours, clamped to 150: the noisy sums centre on 600+150+0+15000
    hundredths, within 7 SE (false failure ≈ 2.6·10⁻¹²), and the unclamped 20,750 is more than
    14 SE away, so a node that did not clamp would fail this test."""
    spec = QuerySpec(catalogue.version, "support_hours", Statistic.SUM, (), (), "2025",
                     3_000_000)
    query = validate(spec, catalogue)  # the SQL is the same under both catalogues
    counts, sums, clamped = small.engine.exact_cells_and_clamped(query)
    assert sums == [15_750] and clamped == [1]  # P4 is the one clamped person
    plan = plan_release(query)
    wants = plan.share(VectorRole.CLAMPED) is not None  # 2026.2 (pure) counts the clamped
    noise, vector = draws(lambda: release(plan, counts * BATCH, sums * BATCH, (),
                                          clamped * BATCH if wants else None),
                          VectorRole.SUM, [0] * BATCH)
    released_mean = float(noise.mean())  # released values minus 0: the released sums
    se = math.sqrt(vector.variance / DRAWS)
    assert abs(released_mean - 15_750) <= SIGMAS * se
    assert abs(released_mean - 20_750) > 2 * SIGMAS * se
    if wants:  # and the released clamped counts centre on that one person, within 7 SE
        noise, vector = draws(lambda: release(plan, counts * BATCH, sums * BATCH, (),
                                              clamped * BATCH), VectorRole.CLAMPED, [0] * BATCH)
        assert abs(float(noise.mean()) - 1) <= SIGMAS * math.sqrt(vector.variance / DRAWS)


def test_released_histograms_put_clamped_values_in_the_end_bins(small: NodeRuntime) -> None:
    """The clamped 150 h lands in the last bin [100, 150]: its noisy count centres on 1 within
    7 SE (false failure ≈ 2.6·10⁻¹² per bin); every bin's mean matches the exact histogram."""
    spec = QuerySpec(CAT.version, "support_hours", Statistic.HISTOGRAM, (), (), "2025",
                     1_000_000)
    query = validate(spec, CAT)
    truth, clamped = small.engine.exact_histogram_and_clamped(query)
    assert truth == [2, 1, 0, 0, 0, 0, 0, 1] and clamped == [1]
    plan = plan_release(query)
    repeats = BATCH // len(truth)
    noise, vector = draws(lambda: release(plan, [], [], truth * repeats, clamped * repeats),
                          VectorRole.HISTOGRAM, [0] * (len(truth) * repeats))
    per_bin = noise.reshape(-1, len(truth)).mean(axis=0)
    se = math.sqrt(vector.variance / (DRAWS / len(truth)))
    assert np.all(np.abs(per_bin - np.asarray(truth)) <= SIGMAS * se)


def test_clamping_holds_in_every_cell_of_a_synthetic_organisation(
        node_factory: Callable[..., NodeRuntime], tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Deterministic: per cell, lower·persons ≤ fixed-point sum ≤ upper·persons for every
    bounded measure, and a histogram puts each person in exactly one bin."""
    runtime = node_factory("synthetic")
    profile = OrgProfile("org-s", "Synthetic", "ETA_WAL", "BE-WAL", 300)
    paths = generate_organisation(profile, 7, 2025).write_csvs(tmp_path_factory.mktemp("csv"))
    import_files(runtime.store, runtime.secret, paths.values())
    for measure in CAT.measures.values():
        spec = QuerySpec(CAT.version, measure.name, Statistic.COUNT, ("gender", "age_band"), (),
                         "2025", 1)
        query = validate(spec, CAT)
        counts, sums = runtime.engine.exact_cells(query)
        low, high = CAT.fixed_point(measure.lower), CAT.fixed_point(measure.upper)
        assert all(low * c <= s <= high * c for c, s in zip(counts, sums, strict=True))
        if measure.bins:
            histogram = runtime.engine.exact_histogram(validate(
                QuerySpec(CAT.version, measure.name, Statistic.HISTOGRAM, ("gender", "age_band"),
                          (), "2025", 1), CAT))
            n_bins = len(measure.bins) - 1
            assert [sum(histogram[i * n_bins:(i + 1) * n_bins])
                    for i in range(len(counts))] == counts
    assert sum(runtime.engine.exact_cells(validate(QuerySpec(
        CAT.version, "reached", Statistic.COUNT, (), (), "2025", 1), CAT))[0]) > 100
