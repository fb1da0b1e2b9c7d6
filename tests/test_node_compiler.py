"""Per-person aggregation in SQL, checked against figures computed by hand on a small fixture.

The fixture (tests/fixtures/small) has people with concurrent contracts, several support actions,
repeated assessments, two exits in one year and records outside the period, so each property the
sensitivity proof relies on (one row per person, clamping before the sum) is exercised.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from conftest import FIXTURES

from node import NodeRuntime, import_files
from privacy import QuerySpec, Statistic, default_catalogue, validate

CAT = default_catalogue()


@pytest.fixture
def small(node_factory: Callable[..., NodeRuntime]) -> NodeRuntime:
    runtime = node_factory("small")
    import_files(runtime.store, runtime.secret, sorted((FIXTURES / "small").glob("*.csv")))
    return runtime


def exact(runtime: NodeRuntime, measure: str, group_by: tuple[str, ...] = (),
          filters: tuple[tuple[str, tuple[str, ...]], ...] = (),
          period: str = "2025") -> dict[tuple[str, ...], tuple[int, int]]:
    spec = QuerySpec(CAT.version, measure, Statistic.COUNT, group_by, filters, period, 1_000_000)
    query = validate(spec, CAT)
    counts, sums = runtime.engine.exact_cells(query)
    return {cell: (c, s) for cell, c, s in zip(query.cells, counts, sums, strict=True)}


def test_headcount_counts_people_active_on_the_last_day(small: NodeRuntime) -> None:
    cells = exact(small, "headcount", ("target_group",))
    assert cells[("TG_DISABILITY",)] == (1, 100)  # P1 (P5 left in 2024)
    assert cells[("NON_TARGET",)] == (1, 100)  # P3
    assert cells[("TG_SEVERELY_DISADV",)] == (1, 100)  # P4 re-entered in September
    assert cells[("TG_DISADV",)] == (0, 0)  # P2 left in July
    assert sum(c for c, _ in cells.values()) == 3
    assert len(cells) == len(CAT.dimensions["target_group"].cells)  # every cell, zeros too


def test_people_with_two_contracts_count_once(small: NodeRuntime) -> None:
    assert exact(small, "reached")[()] == (4, 400)  # P1 has two concurrent contracts


def test_fte_sums_contracts_per_person_and_caps_at_one(small: NodeRuntime) -> None:
    # P1: 1 + 0.5·181/365, capped at 1 → 100; P2: 0.5·182/365 → 25; P3: 1 → 100;
    # P4: (90 + 122)/365 → 58.
    assert exact(small, "fte")[()] == (4, 100 + 25 + 100 + 58)


def test_support_hours_are_clamped_per_person(small: NodeRuntime) -> None:
    # P1 6 h (one action in 2024 excluded), P2 1.5 h, P3 0 h, P4 200 h clamped to 150 h.
    assert exact(small, "support_hours")[()] == (4, 600 + 150 + 0 + 15000)


def test_competence_gain_is_last_minus_first_averaged_over_competences(small: NodeRuntime) -> None:
    # P1: (0.3 + -0.2) / 2 = 0.05; P2: 0.9 - 0.1 = 0.8; P3 assessed only in 2024.
    assert exact(small, "competence_gain")[()] == (2, 5 + 80)


def test_exits_use_the_last_exit_of_the_period(small: NodeRuntime) -> None:
    assert exact(small, "exited_to_regular_job")[()] == (2, 100)  # P2 regular, P4 job seeker
    by_destination = exact(small, "exited_to_regular_job", ("exit_destination",))
    assert by_destination[("REGULAR_JOB",)] == (1, 100)
    assert by_destination[("UNEMPLOYMENT",)] == (1, 0)
    assert by_destination[("TRAINING",)] == (0, 0)  # P2's earlier exit is not the last one


def test_dimensions_and_filters(small: NodeRuntime) -> None:
    by_age = exact(small, "reached", ("age_band",))
    assert by_age[("45_54",)][0] == 1 and by_age[("LT25",)][0] == 1
    assert by_age[("55_PLUS",)][0] == 1 and by_age[("35_44",)][0] == 1
    by_gender = exact(small, "reached", ("gender",))
    assert by_gender[("X_OR_UNKNOWN",)][0] == 1 and by_gender[("M",)][0] == 2
    filtered = exact(small, "reached", ("gender",), (("region", ("BE-WAL",)),))
    assert filtered[("F",)][0] == 1 and filtered[("M",)][0] == 1
    assert filtered[("X_OR_UNKNOWN",)][0] == 0


def test_quarter_periods(small: NodeRuntime) -> None:
    # Q3 2025: P1, P2 (until 2 July), P3, P4 (from September).
    assert exact(small, "reached", period="2025-Q3")[()][0] == 4
    assert exact(small, "headcount", period="2025-Q2")[()][0] == 3  # P1, P2, P3 on 30 June
