"""The accompaniment measures of catalogue 2026.1, against figures computed by hand.

The fixture is tests/fixtures/small (people, contracts, actions, assessments, exits) plus
tests/fixtures/accompaniment (plans, goals, reviews, self-evaluations), imported into a real
SQLCipher node. It holds the edge cases each definition must get right: a plan that ended the
day before the year, a review of an ended plan, a plan still open for someone who left, a person
who left and came back (retention), questionnaire items answered once only, and records outside
the period.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from conftest import FIXTURES

from node import NodeRuntime, import_files
from privacy import (
    InvalidQueryError,
    QuerySpec,
    Statistic,
    shipped_catalogue,
    validate,
)

CAT = shipped_catalogue("2026.1")  # the catalogue these measures came in


def accompaniment_files() -> list:
    return (sorted((FIXTURES / "small").glob("*.csv"))
            + sorted((FIXTURES / "accompaniment").glob("*.csv")))


@pytest.fixture
def org(node_factory: Callable[..., NodeRuntime]) -> NodeRuntime:
    runtime = node_factory("org")
    import_files(runtime.store, runtime.secret, accompaniment_files())
    return runtime


def exact(runtime: NodeRuntime, measure: str, group_by: tuple[str, ...] = (),
          period: str = "2025") -> dict[tuple[str, ...], tuple[int, int]]:
    spec = QuerySpec(CAT.version, measure, Statistic.COUNT, group_by, (), period, 1_000_000)
    query = validate(spec, CAT)
    counts, sums = runtime.engine.exact_cells(query)
    return {cell: (c, s) for cell, c, s in zip(query.cells, counts, sums, strict=True)}


def test_2026_1_is_2025_1_plus_the_new_measures() -> None:
    old = shipped_catalogue("2025.1")
    assert CAT.version == "2026.1"
    assert CAT.dimensions == old.dimensions
    assert {n: m for n, m in CAT.measures.items() if n in old.measures} == dict(old.measures)
    assert set(CAT.measures) - set(old.measures) == {
        "plan_coverage", "plan_reviewed", "retention_12m", "self_evaluation_change"}
    bounds = {n: (str(m.lower), str(m.upper)) for n, m in CAT.measures.items()
              if n not in old.measures}
    assert bounds == {"plan_coverage": ("0", "1"), "plan_reviewed": ("0", "1"),
                      "retention_12m": ("0", "1"), "self_evaluation_change": ("-1", "1")}


def test_plan_coverage_among_people_active_in_the_period(org: NodeRuntime) -> None:
    # Active in 2025: P1 (PL1 open since 2024), P2 (PL2), P3 (no plan), P4 (PL4 from October;
    # PL3 ended on 31 December 2024, exclusive). P5 has an open plan but no contract: not counted.
    assert exact(org, "plan_coverage")[()] == (4, 300)
    by_group = exact(org, "plan_coverage", ("target_group",))
    assert by_group[("TG_DISABILITY",)] == (1, 100)
    assert by_group[("NON_TARGET",)] == (1, 0)
    assert by_group[("TG_SEVERELY_DISADV",)] == (1, 100)
    # First quarter: P4's only plan then had ended, PL4 had not begun.
    assert exact(org, "plan_coverage", period="2025-Q1")[()] == (4, 200)


def test_plan_reviewed_among_people_with_a_plan_in_the_period(org: NodeRuntime) -> None:
    # Planned in 2025: P1, P2, P4 (PL4), P5 (PL5 still open). Reviews in 2025: P1 (R2),
    # P4 (R3, of the plan that ended, and R4: one value per person), P5 (R5); P2 none.
    assert exact(org, "plan_reviewed")[()] == (4, 300)
    by_group = exact(org, "plan_reviewed", ("target_group",))
    assert by_group[("TG_DISABILITY",)] == (2, 200)  # P1 and P5
    assert by_group[("TG_DISADV",)] == (1, 0)
    assert by_group[("TG_SEVERELY_DISADV",)] == (1, 100)
    # 2024: P1 (PL1 from March, reviewed R1), P4 (PL3), P5 (PL5): one review.
    assert exact(org, "plan_reviewed", period="2024")[()] == (3, 100)


def test_retention_after_twelve_months(org: NodeRuntime) -> None:
    # Under contract on 1 January 2025: P1, P2, P3, P4. Still on 31 December 2025: P1, P3 and
    # P4 (who left in April and came back in September); P2 left in July.
    assert exact(org, "retention_12m")[()] == (4, 300)
    by_group = exact(org, "retention_12m", ("target_group",))
    assert by_group[("TG_DISADV",)] == (1, 0)
    assert by_group[("TG_SEVERELY_DISADV",)] == (1, 100)
    # 1 January 2024: P1, P3, P5 (P4 only started in June); P5 retired on 30 June.
    assert exact(org, "retention_12m", period="2024")[()] == (3, 200)


def test_retention_is_refused_for_a_period_shorter_than_a_year(org: NodeRuntime) -> None:
    spec = QuerySpec(CAT.version, "retention_12m", Statistic.COUNT, (), (), "2025-Q2",
                     1_000_000)
    query = validate(spec, CAT)
    with pytest.raises(InvalidQueryError, match="calendar year"):
        org.engine.exact_cells(query)
    with pytest.raises(InvalidQueryError, match="calendar year"):
        org.engine.dry_run("federation", spec)  # refused before any cost is quoted
    assert org.engine.ledger.entries() == []


def test_retention_reads_nothing_after_the_period(org: NodeRuntime) -> None:
    """A contract starting on 1 January 2026 (the day after the period) changes nothing."""
    before = exact(org, "retention_12m")[()]
    with org.store.transaction() as conn:
        pid = conn.execute("SELECT pid FROM contracts WHERE end_date = '2025-07-02'").fetchone()[0]
        conn.execute("INSERT INTO contracts (contract_key, pid, role, contract_type, "
                     "weekly_hours, start_date, end_date) VALUES ('later', ?, "
                     "'TARGET_WORKER', 'FIXED_TERM', 38, '2026-01-01', NULL)", (pid,))
    assert exact(org, "retention_12m")[()] == before == (4, 300)


def test_self_evaluation_change_is_last_minus_first_averaged_over_items(
        org: NodeRuntime) -> None:
    # P1: SE01 +0.5, SE02 -0.2 (SE03 answered once) -> 0.15; P2: SE01 0.2 -> 0.8 = +0.6;
    # P4: SE04 -0.5. P3 answered in 2024 only, P5 once.
    assert exact(org, "self_evaluation_change")[()] == (3, 15 + 60 - 50)
    by_group = exact(org, "self_evaluation_change", ("target_group",))
    assert by_group[("TG_DISABILITY",)] == (1, 15)
    assert by_group[("TG_SEVERELY_DISADV",)] == (1, -50)
    assert exact(org, "self_evaluation_change", period="2024")[()] == (1, 80)


def test_self_evaluation_histogram_puts_each_person_in_one_bin(org: NodeRuntime) -> None:
    query = validate(QuerySpec(CAT.version, "self_evaluation_change", Statistic.HISTOGRAM, (),
                               (), "2025", 1_000_000), CAT)
    bins = org.engine.exact_histogram(query)
    # Bins: [-1,-.5) [-.5,-.25) [-.25,-.1) [-.1,0) [0,.1) [.1,.25) [.25,.5) [.5,1]
    assert bins == [0, 1, 0, 0, 0, 1, 0, 1]


def test_the_2025_1_catalogue_is_still_served(org: NodeRuntime) -> None:
    old = shipped_catalogue("2025.1")
    query = validate(QuerySpec("2025.1", "headcount", Statistic.COUNT, (), (), "2025", 1), old)
    assert org.engine.exact_cells(query) == ([3], [300])
    answer = org.engine.answer("federation", "q-old", QuerySpec(
        "2025.1", "headcount", Statistic.COUNT, (), (), "2025", 100_000))
    assert answer.catalogue_version == "2025.1"
    new = org.engine.answer("federation", "q-new", QuerySpec(
        "2026.1", "plan_coverage", Statistic.MEAN, (), (), "2025", 100_000))
    assert new.catalogue_version == "2026.1"
    assert len(org.engine.ledger.entries()) == 2
