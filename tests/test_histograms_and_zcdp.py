"""Histograms of measures and zCDP accounting: plans, costs, SQL binning and combination."""

from __future__ import annotations

import asyncio
import math
import re
import tomllib
from collections.abc import Callable
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

import opendp.prelude as dp
import pytest
from conftest import FIXTURES, create_node

from aggregator import Aggregator, FederationConfig, NodeEntry, QuorumPolicy, SqliteHistory
from node import NodeRuntime, import_files, load_node_config, open_node
from node.service.serde import answer_to_proto
from privacy import (
    Accounting,
    CatalogueError,
    Estimate,
    InvalidQueryError,
    LossRule,
    NoiseKind,
    QuerySpec,
    Statistic,
    VectorRole,
    default_catalogue,
    parse_catalogue,
    plan_release,
    quantile,
    release_vector,
    validate,
)
from privacy.budget import micro_from_float_ceil
from protos import pb2

CAT = default_catalogue()
ZCDP_VERSION = "2025.1-zcdp"


def raw_catalogue() -> dict[str, Any]:
    text = resources.files("privacy").joinpath("catalogues/koepel-2025.1.toml").read_text()
    return tomllib.loads(text)


def zcdp_raw(delta: str = "1e-6") -> dict[str, Any]:
    return {**raw_catalogue(), "version": ZCDP_VERSION, "accounting": "zcdp", "delta": delta}


ZCAT = parse_catalogue(zcdp_raw())


def spec(measure: str = "support_hours", statistic: Statistic = Statistic.HISTOGRAM,
         group_by: tuple[str, ...] = (), epsilon_micro: int = 1_000_000,
         version: str = CAT.version) -> QuerySpec:
    return QuerySpec(version, measure, statistic, group_by, (), "2025", epsilon_micro)


def write_zcdp_catalogue(directory: Path) -> Path:
    lines = (resources.files("privacy").joinpath("catalogues/koepel-2025.1.toml")
             .read_text().splitlines())
    out = []
    for line in lines:
        if line.startswith("version = "):
            line = f'version = "{ZCDP_VERSION}"'
        elif line.startswith("accounting = "):
            line = 'accounting = "zcdp"\ndelta = "1e-6"'
        out.append(line)
    path = directory / "zcdp.toml"
    path.write_text("\n".join(out) + "\n")
    return path


@pytest.fixture
def small(node_factory: Callable[..., NodeRuntime]) -> NodeRuntime:
    runtime = node_factory("small")
    import_files(runtime.store, runtime.secret, sorted((FIXTURES / "small").glob("*.csv")))
    return runtime


@pytest.fixture
def zsmall(tmp_path: Path) -> Any:
    config_path = create_node(tmp_path / "z", queriers={"federation": "2"})
    catalogue = write_zcdp_catalogue(tmp_path / "z")
    text = re.sub(r'approved = \[.*\]', f'path = "{catalogue.name}"\napproved = ["{ZCDP_VERSION}"]',
                  config_path.read_text())
    config_path.write_text(text)
    runtime = open_node(load_node_config(config_path))
    import_files(runtime.store, runtime.secret, sorted((FIXTURES / "small").glob("*.csv")))
    yield runtime
    runtime.close()


# ------------------------------------------------------------------ catalogue


def test_histogram_measures_declare_public_bins_from_lower_to_upper() -> None:
    hours = CAT.measures["support_hours"]
    assert hours.bins[0] == hours.lower and hours.bins[-1] == hours.upper
    assert hours.bin_labels[0] == "[0, 5)" and hours.bin_labels[-1] == "[100, 150]"


@pytest.mark.parametrize("bins,message", [
    (["0", "5"], "at least 3"),
    (["0", "10", "5", "150"], "strictly increasing"),
    (["1", "10", "150"], "start at lower"),
    (["0", "10.001", "150"], "not a multiple"),
])
def test_bad_bins_are_refused(bins: list[str], message: str) -> None:
    raw = raw_catalogue()
    raw["measures"]["support_hours"]["bins"] = bins
    with pytest.raises(CatalogueError, match=message):
        parse_catalogue(raw)


def test_histogram_without_bins_and_zcdp_without_delta_are_refused() -> None:
    raw = raw_catalogue()
    raw["measures"]["headcount"]["statistics"] = ["count", "histogram"]
    with pytest.raises(CatalogueError, match="needs bins"):
        parse_catalogue(raw)
    with pytest.raises(CatalogueError, match="delta is required"):
        parse_catalogue({**raw_catalogue(), "accounting": "zcdp"})
    with pytest.raises(CatalogueError, match="delta must be in"):
        parse_catalogue(zcdp_raw(delta="0.01"))
    with pytest.raises(CatalogueError, match="zcdp accounting only"):
        parse_catalogue({**raw_catalogue(), "delta": "1e-6"})


def test_histogram_cells_count_every_bin_against_the_cell_limit() -> None:
    small = parse_catalogue({**raw_catalogue(), "max_cells": 50})
    validate(QuerySpec(small.version, "support_hours", Statistic.HISTOGRAM, ("gender",), (),
                       "2025", 1), small)  # 3 cells · 8 bins = 24
    with pytest.raises(InvalidQueryError, match="bins included"):
        validate(QuerySpec(small.version, "support_hours", Statistic.HISTOGRAM,
                           ("target_group",), (), "2025", 1), small)  # 7 · 8 = 56


# ------------------------------------------------------------------ pure-ε plans


def test_each_statistic_has_an_explicit_split_that_adds_up_to_the_query_budget() -> None:
    for statistic, roles in [
        # Issue 17: support hours (catalogue 2026.2) spend 10% on the clamped count.
        (Statistic.COUNT, [(VectorRole.COUNT, 1, 700_000)]),
        (Statistic.SUM, [(VectorRole.SUM, 15_000, 630_000), (VectorRole.CLAMPED, 1, 70_000)]),
        (Statistic.MEAN, [(VectorRole.SUM, 15_000, 315_000), (VectorRole.COUNT, 1, 315_000),
                          (VectorRole.CLAMPED, 1, 70_000)]),
        (Statistic.HISTOGRAM, [(VectorRole.HISTOGRAM, 1, 630_000),
                               (VectorRole.CLAMPED, 1, 70_000)]),
    ]:
        plan = plan_release(validate(spec(statistic=statistic, epsilon_micro=700_000), CAT))
        assert [(v.role, v.sensitivity, v.budget_micro) for v in plan.vectors] == roles
        assert plan.total_micro == 700_000
        assert plan.mechanism == f"discrete_laplace:{statistic.value}"
    # A measure whose bounds are its natural range counts nothing: the split is as before.
    plan = plan_release(validate(spec("fte", Statistic.MEAN, epsilon_micro=700_000), CAT))
    assert [(v.role, v.budget_micro) for v in plan.vectors] == [
        (VectorRole.SUM, 350_000), (VectorRole.COUNT, 350_000)]


def test_mean_split_follows_the_catalogue_share_and_never_loses_a_micro_unit() -> None:
    skewed = parse_catalogue({**raw_catalogue(), "mean_sum_share": "0.7"})
    plan = plan_release(validate(QuerySpec(skewed.version, "fte", Statistic.MEAN, (), (), "2025",
                                           333_333), skewed))
    assert plan.sum_budget_micro == 233_333 and plan.count_budget_micro == 100_000
    assert plan.total_micro == 333_333


# ------------------------------------------------------------------ histograms on a node


def test_histogram_bins_clamped_per_person_values_in_sql(small: NodeRuntime) -> None:
    # P1 6 h → [5, 10); P2 1.5 h and P3 0 h → [0, 5); P4 200 h, clamped to 150 → [100, 150].
    query = validate(spec(), CAT)
    assert small.engine.exact_histogram(query) == [2, 1, 0, 0, 0, 0, 0, 1]
    # … and P4 alone lay beyond the bounds: the clamped count, from the same SQL.
    assert small.engine.exact_histogram_and_clamped(query)[1] == [1]
    assert small.engine.exact_cells_and_clamped(validate(spec(statistic=Statistic.SUM), CAT)
                                                ) == ([4], [15_750], [1])  # 157.5 h
    # FTE: P1 1.0 and P3 1.0 → [0.75, 1]; P2 0.25 → [0.25, 0.5); P4 0.58 → [0.5, 0.75).
    fte = validate(spec("fte"), CAT)
    assert small.engine.exact_histogram(fte) == [0, 1, 1, 2]


def test_histogram_by_dimension_has_every_cell_and_bin(small: NodeRuntime) -> None:
    query = validate(spec(group_by=("region",)), CAT)
    histogram = small.engine.exact_histogram(query)
    assert len(histogram) == 3 * 8  # every region × every bin, zeros included
    counts, _ = small.engine.exact_cells(query)
    per_cell = [sum(histogram[i * 8:(i + 1) * 8]) for i in range(3)]
    assert per_cell == counts  # each person in exactly one bin of their cell


def test_histogram_answer_releases_all_cells_and_bins_at_the_asked_cost(
        small: NodeRuntime) -> None:
    answer = small.engine.answer("federation", "h1", spec(group_by=("gender",),
                                                          epsilon_micro=400_000))
    histogram = answer.release.histogram
    assert histogram is not None and answer.release.count is None and answer.release.sum is None
    # Issue 17: 10% of the budget counts the people clamped at 150 h, per cell.
    clamped = answer.release.clamped
    assert len(histogram.values) == 3 * 8 and histogram.cost_micro == 360_000
    assert clamped is not None and len(clamped.values) == 3 and clamped.cost_micro == 40_000
    assert answer.bins == CAT.measures["support_hours"].bin_labels
    wire = answer_to_proto(answer)
    assert list(wire.histogram.values) == list(histogram.values)
    assert list(wire.bin_edges) == [0, 5, 10, 20, 40, 60, 80, 100, 150]
    assert wire.accounting == "pure" and wire.cost_micro_units == wire.cost_micro_epsilon
    entry = small.engine.ledger.entries()[-1]
    assert entry.mechanism == "discrete_laplace:histogram" and entry.cost_micro == 400_000


# ------------------------------------------------------------------ zCDP


def test_zcdp_conversion_is_opendps_and_conservative() -> None:
    rule = LossRule.of(ZCAT)
    # An independent OpenDP Gaussian at scale 5 and d_in 1: ρ = 1/50 = 0.02.
    gaussian = dp.m.make_gaussian(dp.atom_domain(T=float, nan=False),
                                  dp.absolute_distance(T=float), scale=5.0)
    expected = dp.c.make_zCDP_to_approxDP(gaussian).map(1.0).epsilon(1e-6)
    assert rule.epsilon_of(20_000) == micro_from_float_ceil(expected)
    for epsilon in (50_000, 500_000, 1_000_000, 3_000_000):
        rho = rule.budget_from_epsilon(epsilon)
        assert 0 < rho < epsilon
        assert rule.epsilon_of(rho) <= epsilon < rule.epsilon_of(rho + 1)
    assert rule.describe(20_000).startswith("ρ=0.02 (ε≤")


def test_zcdp_release_is_a_discrete_gaussian_charged_in_rho_by_the_privacy_map() -> None:
    vector = release_vector([0] * 4, sensitivity=15_000, budget_micro=20_000,
                            accounting=Accounting.ZCDP)
    assert vector.noise is NoiseKind.DISCRETE_GAUSSIAN
    # ρ = (Δ/σ)²/2, so σ ≈ Δ/√(2ρ) = 15000/0.2.
    assert vector.scale == pytest.approx(15_000 / math.sqrt(2 * 0.02), rel=1e-6)
    measurement = dp.m.make_gaussian(dp.vector_domain(dp.atom_domain(T="i64")),
                                     dp.l2_distance(T="i64"), scale=vector.scale)
    assert vector.cost_micro == micro_from_float_ceil(measurement.map(15_000)) <= 20_000
    assert vector.variance == pytest.approx(vector.scale**2, rel=1e-9)


def test_zcdp_mean_splits_rho_and_reports_epsilon_within_the_request() -> None:
    query = validate(spec("support_hours", Statistic.MEAN, version=ZCDP_VERSION), ZCAT)
    plan = plan_release(query)
    rule = LossRule.of(ZCAT)
    rho = rule.budget_from_epsilon(1_000_000)
    assert plan.total_micro == rho
    assert plan.sum_budget_micro == rho // 2 and plan.count_budget_micro == rho - rho // 2
    assert plan.mechanism == "discrete_gaussian:mean"
    assert rule.epsilon_of(plan.total_micro) <= 1_000_000


def test_zcdp_epsilon_too_small_is_refused() -> None:
    with pytest.raises(InvalidQueryError, match="too small"):
        plan_release(validate(spec("headcount", Statistic.COUNT, epsilon_micro=1,
                                   version=ZCDP_VERSION), ZCAT))


def test_zcdp_node_charges_rho_and_composes_by_adding_it(zsmall: NodeRuntime) -> None:
    rule = LossRule(Accounting.ZCDP, Decimal("1e-6"))
    first = zsmall.engine.answer("federation", "z1", spec(
        "support_hours", Statistic.MEAN, ("region",), 500_000, ZCDP_VERSION))
    second = zsmall.engine.answer("federation", "z2", spec(
        "headcount", Statistic.COUNT, ("gender",), 500_000, ZCDP_VERSION))
    assert first.release.sum is not None and first.release.count is not None
    assert first.release.sum.noise is NoiseKind.DISCRETE_GAUSSIAN
    spent = first.release.cost_micro + second.release.cost_micro
    assert spent <= 2 * rule.budget_from_epsilon(500_000)
    assert [e.cost_micro for e in zsmall.engine.ledger.entries()] == [
        first.release.cost_micro, second.release.cost_micro]
    assert first.cost_epsilon_micro == rule.epsilon_of(first.release.cost_micro) <= 500_000
    # zCDP composes in ρ: two ε=0.5 answers cost far less than ε=1 together.
    assert rule.epsilon_of(spent) < 900_000
    wire = answer_to_proto(first, rule.epsilon_of)
    assert wire.accounting == "zcdp" and wire.delta == "0.000001"
    assert wire.cost_micro_units == first.release.cost_micro
    assert wire.sum.noise == pb2.NOISE_KIND_DISCRETE_GAUSSIAN


# ------------------------------------------------------------------ quantiles and combination


def test_quantile_interpolates_within_the_bin_and_is_exact_without_noise() -> None:
    bins = [Estimate(10, 0.0), Estimate(30, 0.0), Estimate(60, 0.0)]
    median = quantile(bins, [0.0, 10.0, 20.0, 40.0], 0.5)
    # 100 persons; the 50th is the 10th of the 60 in [20, 40]: read 10/60 of the way in.
    assert median.value == pytest.approx(20 + 20 * (50 - 40) / 60)
    # Issue 17: without noise the interval is that bin, not a point: a histogram does not say
    # where inside its bin the median lies.
    assert (median.lower, median.upper) == (20.0, 40.0)
    assert quantile(bins, [0.0, 10.0, 20.0, 40.0], 0.05).value == pytest.approx(5.0)


def test_quantile_interval_widens_with_noise_and_ignores_negative_counts() -> None:
    edges = [0.0, 1.0, 2.0, 3.0, 4.0]
    quiet = quantile([Estimate(100, 1.0), Estimate(150, 1.0), Estimate(100, 1.0),
                      Estimate(50, 1.0)], edges, 0.5)
    noisy = quantile([Estimate(100, 4000.0), Estimate(150, 4000.0), Estimate(100, 4000.0),
                      Estimate(50, 4000.0)], edges, 0.5)
    assert (quiet.lower, quiet.upper) == (1.0, 2.0)  # the 200th of 400 lies in [1, 2)
    assert quiet.lower < quiet.value < quiet.upper
    assert noisy.lower <= 1.0 and noisy.upper >= 2.0
    assert noisy.upper - noisy.lower > quiet.upper - quiet.lower
    ignored = quantile([Estimate(100, 1.0), Estimate(100, 1.0), Estimate(-5, 1.0)],
                       [0.0, 1.0, 2.0, 3.0], 0.5)
    assert ignored.value == pytest.approx(1.0)
    empty = quantile([Estimate(-3, 1.0), Estimate(0, 1.0)], [0.0, 1.0, 2.0], 0.5)
    assert math.isnan(empty.value)
    with pytest.raises(ValueError):
        quantile([Estimate(1, 1.0)], [0.0, 1.0, 2.0], 0.5)


class HistogramTransport:
    """Two nodes answering a histogram query by region with fixed released counts."""

    def __init__(self, bins: tuple[str, ...]) -> None:
        self.bins = bins

    async def query(self, node: NodeEntry, request: pb2.QueryRequest,
                    timeout: float) -> pb2.QueryResponse:
        response = pb2.QueryResponse(query_id=request.query_id, node_id=node.node_id,
                                     bins=list(self.bins),
                                     catalogue_version=request.spec.catalogue_version)
        for cell in CAT.dimensions["region"].cells:
            response.cells.add(key=[cell])
        response.histogram.values.extend([5] * (3 * len(self.bins)))
        response.histogram.noise_variance = 2.0
        response.histogram.fixed_point_scale = 1
        return response

    async def describe(self, node: NodeEntry, timeout: float) -> pb2.DescribeResponse:
        return pb2.DescribeResponse(node_id=node.node_id)

    async def budget(self, node: NodeEntry, timeout: float) -> pb2.BudgetResponse:
        return pb2.BudgetResponse()

    async def close(self) -> None:
        return None


def test_aggregator_sums_histograms_and_reads_quartiles(tmp_path: Path) -> None:
    bins = CAT.measures["fte"].bin_labels
    entries = (NodeEntry("a", "127.0.0.1:1", "a"), NodeEntry("b", "127.0.0.1:2", "b"))
    config = FederationConfig(path=tmp_path / "f.toml", name="t", querier_identity="federation",
                              catalogue=CAT, deadline_seconds=2, retries=2,
                              quorum=QuorumPolicy(0.5), history=tmp_path / "h.db",
                              listen="127.0.0.1:0", nodes=entries)
    aggregator = Aggregator(config, HistogramTransport(bins), SqliteHistory(":memory:"))
    result = asyncio.run(aggregator.submit(spec("fte", group_by=("region",))))
    assert result.group_by == ("region", "bin")
    assert len(result.cells) == 3 * 4
    assert {c.estimate for c in result.cells} == {10.0}
    assert result.cells[0].key == ("BE-VLG", "[0, 0.25)")
    assert result.cells[0].standard_error == pytest.approx(2.0)
    assert result.bin_edges == (0.0, 0.25, 0.5, 0.75, 1.0)
    medians = [q for q in result.quantiles if q.probability == 0.5]
    assert [q.key for q in medians] == [("BE-VLG",), ("BE-WAL",), ("BE-BRU",)]
    assert all(q.estimate == pytest.approx(0.5) for q in medians)
    assert all(q.ci_lower < 0.5 < q.ci_upper for q in medians)
    wrong = Aggregator(config, HistogramTransport(bins[:-1]), SqliteHistory(":memory:"))
    refused = asyncio.run(wrong.submit(spec("fte", group_by=("region",))))
    assert [n.reason for n in refused.nodes] == ["answer does not have the query's cells"] * 2
