"""The one-pass (pivoted) facts aggregate, and histograms grouped by one integer, give exactly
the rows ``GROUP BY`` on the cells' names gives.

``node.engine.pivot`` numbers each person's cell; a value that no cell holds gets a cell of its
own whose name is NULL, as ``GROUP BY`` on the cell's CASE gives it. The property test
(tests/test_compiler_property.py) covers catalogue codes; this one puts codes no catalogue
group holds into the store, alone and across two dimensions.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from conftest import FIXTURES

from node import NodeRuntime, import_files
from node.engine import compiler
from node.store.facts import covered
from privacy import QuerySpec, Statistic, default_catalogue, validate

CAT = default_catalogue()


@pytest.fixture
def odd(node_factory: Callable[..., NodeRuntime]) -> NodeRuntime:
    """The small fixture with one worker's gender and another's region outside every group
    (both under contract all of 2025)."""
    runtime = node_factory("small")
    import_files(runtime.store, runtime.secret, sorted((FIXTURES / "small").glob("*.csv")))
    with runtime.store.transaction() as conn:  # the facts follow in the same transaction
        pids = [r[0] for r in conn.execute(  # people under contract on 31 December
            "SELECT pid FROM person_periods WHERE period = '2025' AND active_end = 1 "
            "ORDER BY pid")]
        conn.execute("UPDATE workers SET gender = 'Q' WHERE pid = ?", (pids[0],))
        conn.execute("UPDATE workers SET region = 'BE-ZZ' WHERE pid = ?", (pids[1],))
    return runtime


def _rows(runtime: NodeRuntime, measure: str, statistic: Statistic,
          group_by: tuple[str, ...], pivot: bool) -> list[tuple[object, ...]]:
    """The facts SQL's rows; without ``pivot``, as ``GROUP BY`` on the cells' names gives them."""
    query = validate(QuerySpec(CAT.version, measure, statistic, group_by, (), "2025",
                               1_000_000), CAT)
    originals = compiler.pivoted, compiler.numbered
    if not pivot:
        compiler.pivoted = compiler.numbered = lambda *args, **kwargs: None
    try:
        compiled = compiler.compile_query(query, facts=True)
    finally:
        compiler.pivoted, compiler.numbered = originals
    marker = "AS di" if statistic is Statistic.HISTOGRAM else "FILTER"
    small = len(query.cells) <= 20  # these group-bys: 4 to 20 cells, or 35 (and NULLs: 48)
    assert (marker in compiled.sql) == (pivot and (small or marker == "AS di"))
    with runtime.store.reading() as conn:
        assert covered(conn, "2025")
        return sorted(conn.execute(compiled.sql, compiled.params).fetchall(), key=repr)


@pytest.mark.parametrize(("measure", "statistic"), [
    ("headcount", Statistic.COUNT), ("reached", Statistic.COUNT),
    ("support_hours", Statistic.MEAN), ("fte", Statistic.SUM),
    ("support_hours", Statistic.HISTOGRAM), ("fte", Statistic.HISTOGRAM)])
@pytest.mark.parametrize("group_by", [("gender",), ("region",), ("gender", "region"),
                                      ("gender", "age_band"), ("target_group",),
                                      ("target_group", "education")])
def test_pivoted_rows_equal_the_grouped_rows(odd: NodeRuntime, measure: str,
                                             statistic: Statistic,
                                             group_by: tuple[str, ...]) -> None:
    grouped = _rows(odd, measure, statistic, group_by, pivot=False)
    assert _rows(odd, measure, statistic, group_by, pivot=True) == grouped
    if group_by in (("gender",), ("region",)):
        assert any(row[0] is None for row in grouped), "the odd code has a NULL-named cell"


def test_many_cells_keep_group_by(odd: NodeRuntime) -> None:
    """Above the pivot's cell limit the SQL still groups (by the cells' names)."""
    query = validate(QuerySpec(CAT.version, "support_hours", Statistic.COUNT,
                               ("target_group", "education"), (), "2025", 1_000_000), CAT)
    sql = compiler.compile_query(query, facts=True).sql
    assert "FILTER" not in sql and "GROUP BY" in sql
