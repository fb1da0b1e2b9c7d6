"""End to end: real node processes, a real aggregator process, the CLI as a subprocess.

Each check compares a released figure with the exact figure computed directly from the nodes'
encrypted databases. A cell passes when its error is within 12 reported standard errors: for
Laplace-type noise P(|error| > 12σ) ≤ e^{-12·√2} ≈ 4·10⁻⁸ per cell (sums of several nodes'
noise have lighter tails still), so with a few dozen cells a false failure has probability
below 10⁻⁶.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from cli.federation_runner import LocalFederation, setup_node
from node import load_node_config, open_node
from node.synthetic.generator import OrgProfile
from privacy import QuerySpec, Statistic, default_catalogue, validate

CAT = default_catalogue()
PROFILES = [
    OrgProfile("org-a", "Atelier A", "ETA_WAL", "BE-WAL", 220),
    OrgProfile("org-b", "Insertion B", "EI_WAL", "BE-WAL", 90),
    OrgProfile("org-c", "Maatwerk C", "MAATWERKBEDRIJF", "BE-VLG", 400),
]


def koepel(*args: str, check: bool = False) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cli", *args], capture_output=True, text=True,
                          timeout=120, check=check)


@pytest.fixture(scope="module")
def federation(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalFederation]:
    root = tmp_path_factory.mktemp("federation")
    for index, profile in enumerate(PROFILES):
        setup_node(root / profile.org_id, profile, seed=index, year=2025, cap_epsilon="4")
    with LocalFederation(root) as running:
        for profile in PROFILES:
            running.add_node(profile.org_id)
        running.start(deadline_seconds=20)
        yield running


def exact(root: Path, measure: str, group_by: tuple[str, ...]) -> dict[tuple[str, ...],
                                                                       tuple[int, int]]:
    spec = QuerySpec(CAT.version, measure, Statistic.COUNT, group_by, (), "2025", 1)
    query = validate(spec, CAT)
    totals = {cell: (0, 0) for cell in query.cells}
    for profile in PROFILES:
        runtime = open_node(load_node_config(root / profile.org_id / "node.toml"))
        try:
            counts, sums = runtime.engine.exact_cells(query)
        finally:
            runtime.close()
        for cell, c, s in zip(query.cells, counts, sums, strict=True):
            totals[cell] = (totals[cell][0] + c, totals[cell][1] + s)
    return totals


def exact_clamped(root: Path, measure: str, group_by: tuple[str, ...]
                  ) -> dict[tuple[str, ...], int]:
    """Per cell, the people whose value lay beyond the measure's bounds, over all nodes."""
    query = validate(QuerySpec(CAT.version, measure, Statistic.MEAN, group_by, (), "2025", 1),
                     CAT)
    totals = dict.fromkeys(query.cells, 0)
    for profile in PROFILES:
        runtime = open_node(load_node_config(root / profile.org_id / "node.toml"))
        try:
            _, _, clamped = runtime.engine.exact_cells_and_clamped(query)
        finally:
            runtime.close()
        for cell, c in zip(query.cells, clamped, strict=True):
            totals[cell] += c
    return totals


def query_json(federation: LocalFederation, *args: str) -> dict[str, object]:
    done = koepel("query", *args, "--period", "2025", "--json",
                  *federation.client_args())
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def test_counts_match_the_exact_figures_within_the_reported_error(
        federation: LocalFederation) -> None:
    result = query_json(federation, "headcount", "--by", "target_group", "--epsilon", "1")
    truth = exact(federation.root, "headcount", ("target_group",))
    assert [n["outcome"] for n in result["nodes"]] == ["answered"] * 3  # type: ignore[index]
    assert result["complete"] is True
    for cell in result["cells"]:  # type: ignore[attr-defined]
        true_count = truth[tuple(cell["key"])][0]
        se = cell["standard_error"]
        assert se > 0
        assert abs(cell["estimate"] - true_count) <= 12 * se, (cell, true_count)
        # The interval is the exact one of the three nodes' summed discrete noise (whole
        # people, at most one person wider above than below), close to ±1.96·SE, and the
        # published one is that raw interval clipped at 0 (no negative count).
        raw_low, raw_high = cell["raw_ci95"]
        below, above = cell["raw_estimate"] - raw_low, raw_high - cell["raw_estimate"]
        assert below == int(below) and above - below in (0, 1), cell
        assert abs(below - 1.959964 * se) <= 1 + 0.1 * se, cell
        assert cell["ci95"] == [max(0.0, raw_low), max(0.0, raw_high)]
        assert cell["estimate"] == max(0.0, cell["raw_estimate"])
    assert sum(c for c, _ in truth.values()) > 500  # the test data is not trivially small


def test_means_match_the_exact_ratio(federation: LocalFederation) -> None:
    result = query_json(federation, "support_hours", "--stat", "mean", "--by", "region",
                        "--epsilon", "1")
    truth = exact(federation.root, "support_hours", ("region",))
    checked = 0
    for cell in result["cells"]:  # type: ignore[attr-defined]
        count, fixed_sum = truth[tuple(cell["key"])]
        if count < 50:
            continue
        true_mean = fixed_sum / 100 / count
        assert abs(cell["estimate"] - true_mean) <= 12 * cell["standard_error"], cell
        checked += 1
    assert checked >= 2
    # Issue 17: the nodes count the people above 150 h in their SQL, release that count, and
    # the aggregator publishes its share with an interval (about ±2 SE wide each side; three
    # widths is about 12 SE, as above).
    clamped = exact_clamped(federation.root, "support_hours", ("region",))
    for cell in result["cells"]:  # type: ignore[attr-defined]
        count = truth[tuple(cell["key"])][0]
        low, high = cell["clamped_share_ci95"]
        assert 0 <= low <= cell["clamped_share"] <= high <= 1, cell
        if count >= 50:
            true_share = clamped[tuple(cell["key"])] / count
            assert abs(cell["clamped_share"] - true_share) <= 3 * (high - low), cell


def test_query_over_the_cap_is_refused_and_costs_nothing(federation: LocalFederation) -> None:
    before = json.loads(koepel("nodes", "--json", *federation.client_args(),
                               check=True).stdout)
    done = koepel("query", "headcount", "--period", "2025", "--epsilon", "4.5",
                  *federation.client_args())
    assert done.returncode == 7, done.stdout + done.stderr
    assert "privacy budget exhausted" in done.stdout + done.stderr
    assert "requested ε=4.5" in done.stdout
    after = json.loads(koepel("nodes", "--json", *federation.client_args(),
                              check=True).stdout)
    assert [n["budget"] for n in after["nodes"]] == [n["budget"] for n in before["nodes"]]


def test_invalid_query_is_refused_with_a_clear_message(federation: LocalFederation) -> None:
    done = koepel("query", "headcount", "--by", "salary", "--period", "2025", "--epsilon", "1",
                  *federation.client_args())
    assert done.returncode == 6
    assert "unknown group-by dimension 'salary'" in done.stderr
    assert "Traceback" not in done.stderr


def test_history_reshows_results_without_spending(federation: LocalFederation) -> None:
    listed = json.loads(koepel("history", "--json", *federation.client_args(),
                               check=True).stdout)
    assert listed, "no results in history"
    one = json.loads(koepel("history", listed[0]["result_id"], "--json", *federation.client_args(),
                            check=True).stdout)
    assert one["cells"] == listed[0]["cells"]


def test_histograms_combine_across_nodes_and_give_quartiles(federation: LocalFederation) -> None:
    result = query_json(federation, "support_hours", "--stat", "histogram", "--by", "region",
                        "--epsilon", "1")
    spec = QuerySpec(CAT.version, "support_hours", Statistic.HISTOGRAM, ("region",), (), "2025",
                     1)
    query = validate(spec, CAT)
    truth = [0] * (len(query.cells) * 8)
    for profile in PROFILES:
        runtime = open_node(load_node_config(federation.root / profile.org_id / "node.toml"))
        try:
            for i, count in enumerate(runtime.engine.exact_histogram(query)):
                truth[i] += count
        finally:
            runtime.close()
    cells = result["cells"]  # type: ignore[index]
    assert len(cells) == len(truth) == 3 * 8  # every region × every bin, zeros included
    for cell, true_count in zip(cells, truth, strict=True):  # type: ignore[call-overload]
        assert abs(cell["estimate"] - true_count) <= 12 * cell["standard_error"], cell
    quartiles = result["quantiles"]  # type: ignore[index]
    assert len(quartiles) == 3 * 3
    assert all(0 <= q["estimate"] <= 150 for q in quartiles if q["estimate"] is not None)
