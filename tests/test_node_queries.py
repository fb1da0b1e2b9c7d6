"""The query engine: budget caps, idempotent query ids, refusals that cost nothing."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from conftest import FIXTURES

from node import NodeRuntime, import_files, verify_chain
from privacy import (
    BudgetExhaustedError,
    CatalogueVersionError,
    InvalidQueryError,
    PermissionDeniedError,
    QueryConflictError,
    QuerySpec,
    Statistic,
    default_catalogue,
)

CAT = default_catalogue()


def spec(epsilon_micro: int = 500_000, measure: str = "headcount",
         statistic: Statistic = Statistic.COUNT, group_by: tuple[str, ...] = ("target_group",),
         version: str = CAT.version) -> QuerySpec:
    return QuerySpec(version, measure, statistic, group_by, (), "2025", epsilon_micro)


@pytest.fixture
def node(node_factory: Callable[..., NodeRuntime]) -> NodeRuntime:
    runtime = node_factory("n", queriers={"federation": "1", "researcher": "0.2"})
    import_files(runtime.store, runtime.secret, sorted((FIXTURES / "small").glob("*.csv")))
    return runtime


def spent(node: NodeRuntime, querier: str = "federation") -> int:
    return node.engine.budget(querier)[0].spent_micro


def test_answer_charges_exactly_the_requested_epsilon(node: NodeRuntime) -> None:
    answer = node.engine.answer("federation", "q1", spec(300_000))
    assert answer.release.cost_micro == 300_000
    assert spent(node) == 300_000
    assert len(answer.cells) == len(CAT.dimensions["target_group"].cells)
    assert answer.release.count is not None and len(answer.release.count.values) == 7


def test_mean_splits_epsilon_between_sum_and_count(node: NodeRuntime) -> None:
    answer = node.engine.answer("federation", "q1",
                                spec(400_000, "support_hours", Statistic.MEAN, ("region",)))
    assert answer.release.sum is not None and answer.release.count is not None
    # Issue 17: catalogue 2026.2 spends 10% of a support-hours query on the clamped count.
    assert answer.release.sum.cost_micro == 180_000
    assert answer.release.count.cost_micro == 180_000
    assert answer.release.clamped is not None and answer.release.clamped.cost_micro == 40_000
    assert spent(node) == 400_000


def test_retried_query_id_returns_the_stored_answer_at_no_cost(node: NodeRuntime) -> None:
    first = node.engine.answer("federation", "q1", spec())
    again = node.engine.answer("federation", "q1", spec())
    assert again.replayed and not first.replayed
    assert again.release == first.release
    assert spent(node) == 500_000
    assert len(node.engine.ledger.entries()) == 1


def test_reused_query_id_with_other_content_is_refused(node: NodeRuntime) -> None:
    node.engine.answer("federation", "q1", spec())
    with pytest.raises(QueryConflictError):
        node.engine.answer("federation", "q1", spec(group_by=("gender",)))
    assert spent(node) == 500_000


def test_query_over_the_cap_is_refused_and_costs_nothing(node: NodeRuntime) -> None:
    node.engine.answer("federation", "q1", spec(800_000))
    with pytest.raises(BudgetExhaustedError) as refused:
        node.engine.answer("federation", "q2", spec(300_000))
    assert refused.value.remaining_micro == 200_000
    assert refused.value.requested_micro == 300_000
    assert "ε=0.2" in str(refused.value)
    assert spent(node) == 800_000
    node.engine.answer("federation", "q3", spec(200_000))  # exactly the rest still fits
    assert spent(node) == 1_000_000


def test_caps_are_per_querier(node: NodeRuntime) -> None:
    node.engine.answer("federation", "q1", spec(900_000))
    node.engine.answer("researcher", "q1", spec(200_000))  # same id, other querier: no clash
    assert spent(node, "researcher") == 200_000
    with pytest.raises(BudgetExhaustedError):
        node.engine.answer("researcher", "q2", spec(10_000))  # any allowed ε is over the cap


@pytest.mark.parametrize("bad", [
    lambda s: QuerySpec(s.catalogue_version, "salary", s.statistic, (), (), "2025", 1),
    lambda s: QuerySpec(s.catalogue_version, "headcount", Statistic.SUM, (), (), "2025", 1),
    lambda s: QuerySpec(s.catalogue_version, "headcount", s.statistic, ("name",), (), "2025", 1),
    lambda s: QuerySpec(s.catalogue_version, "headcount", s.statistic, (),
                        (("region", ("BE-XX",)),), "2025", 1),
    lambda s: QuerySpec(s.catalogue_version, "headcount", s.statistic, ("exit_destination",),
                        (), "2025", 1),
    lambda s: QuerySpec(s.catalogue_version, "headcount", s.statistic, (), (), "last year", 1),
])
def test_invalid_queries_cost_nothing(node: NodeRuntime, bad: Callable[[QuerySpec], QuerySpec]
                                      ) -> None:
    with pytest.raises(InvalidQueryError):
        node.engine.answer("federation", "q1", bad(spec()))
    assert spent(node) == 0 and node.engine.ledger.entries() == []


def test_unknown_querier_and_unapproved_catalogue_are_refused(node: NodeRuntime) -> None:
    with pytest.raises(PermissionDeniedError):
        node.engine.answer("stranger", "q1", spec())
    with pytest.raises(CatalogueVersionError):
        node.engine.answer("federation", "q1", spec(version="2099.1"))
    with pytest.raises(InvalidQueryError):
        node.engine.answer("federation", "bad id with spaces", spec())
    assert spent(node) == 0


def test_ledger_is_hash_chained_and_append_only(node: NodeRuntime) -> None:
    for i in range(3):
        node.engine.answer("federation", f"q{i}", spec(100_000))
    entries = node.engine.ledger.entries()
    assert [e.sequence for e in entries] == [1, 2, 3]
    assert verify_chain(entries) == []
    tampered = [entries[0], entries[1].__class__(**{**entries[1].__dict__, "cost_micro": 1}),
                entries[2]]
    assert verify_chain(tampered) == ["entry 2: content does not match its hash"]
    with node.store.reading() as conn, pytest.raises(Exception, match="append-only"):
        conn.execute("UPDATE ledger SET cost_micro = 0")
    with node.store.reading() as conn, pytest.raises(Exception, match="append-only"):
        conn.execute("DELETE FROM ledger")
