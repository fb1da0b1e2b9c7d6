"""Fan-out, retries, quorum, combination and dry runs against in-process fake nodes (no network).

Deterministic except for wall-clock deadlines, which use wide margins (a stalled node sleeps
5 s against a 0.3 s deadline)."""

from __future__ import annotations

import asyncio
import dataclasses
import math
import tomllib
from importlib import resources

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aggregator import (
    Aggregator,
    MemoryHistory,
    NodeEntry,
    NodeOutcome,
    QuorumPolicy,
    RetryPolicy,
    fan_out,
    merge_plans,
    plan_from_proto,
    plan_to_proto,
)
from privacy import (
    CatalogueVersionError,
    InvalidQueryError,
    LossRule,
    QueryConflictError,
    QuerySpec,
    Statistic,
    default_catalogue,
    parse_catalogue,
    plan_release,
    validate,
)
from protos import pb2
from tests.fake_nodes import FakeNode, FakeTransport, Step, entry, federation_config
from wire.spec import spec_to_proto

CATALOGUE = default_catalogue()
COST = 500_000


def spec(statistic: Statistic = Statistic.COUNT, measure: str = "headcount",
         group_by: tuple[str, ...] = ("region",), version: str = CATALOGUE.version) -> QuerySpec:
    return QuerySpec(version, measure, statistic, group_by, (), "2025", COST)


def aggregator(nodes: list[FakeNode], *, down: tuple[str, ...] = (), clock: str = "",
               **kwargs: object) -> Aggregator:
    transport = FakeTransport(n for n in nodes if n.entry.node_id not in down)
    stamp = iter(f"2025-06-0{i}T00:00:00.000+00:00" for i in range(1, 10))
    return Aggregator(federation_config(nodes, **kwargs), transport, MemoryHistory(),  # type: ignore[arg-type]
                      clock=(lambda: clock) if clock else (lambda: next(stamp)),
                      backoff_seconds=0.001)


def request(query_id: str = "q-1", s: QuerySpec | None = None) -> pb2.QueryRequest:
    return pb2.QueryRequest(query_id=query_id, spec=spec_to_proto(s or spec()))


def run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(coro)


# ------------------------------------------------------------------ fan-out


def test_every_node_answers_once_in_registry_order() -> None:
    nodes = [FakeNode(entry(f"n{i}")) for i in range(4)]
    replies = run(fan_out(FakeTransport(reversed(nodes)), [n.entry for n in nodes], request(),
                          deadlines={n.entry.node_id: 2.0 for n in nodes}))
    assert [r.node.node_id for r in replies] == ["n0", "n1", "n2", "n3"]
    assert all(r.outcome is NodeOutcome.ANSWERED and r.attempts == 1 and r.responded
               for r in replies)


def test_transient_failures_are_retried_with_the_same_query_id() -> None:
    node = FakeNode(entry("n0"), steps=[Step("unavailable"), Step("unavailable")])
    (reply,) = run(fan_out(FakeTransport([node]), [node.entry], request("q-7"),
                           deadlines={"n0": 5.0}, retry=RetryPolicy(2, 0.01)))
    assert reply.outcome is NodeOutcome.ANSWERED and reply.attempts == 3
    assert node.calls == ["q-7"] * 3


def test_a_lost_reply_is_fetched_again_without_a_second_charge() -> None:
    node = FakeNode(entry("n0"), steps=[Step("lost_reply")])
    (reply,) = run(fan_out(FakeTransport([node]), [node.entry], request(),
                           deadlines={"n0": 5.0}, retry=RetryPolicy(2, 0.01)))
    assert reply.outcome is NodeOutcome.ANSWERED
    assert reply.response is not None and reply.response.replayed
    assert node.spent_micro == COST


def test_retries_stop_and_the_node_is_reported_unreachable() -> None:
    node = FakeNode(entry("n0"), steps=[Step("unavailable")] * 5)
    (reply,) = run(fan_out(FakeTransport([node]), [node.entry], request(),
                           deadlines={"n0": 5.0}, retry=RetryPolicy(2, 0.01)))
    assert reply.outcome is NodeOutcome.UNAVAILABLE
    assert reply.attempts == 3 and not reply.responded
    assert reply.reason.startswith("unreachable after 3 attempts")


def test_each_node_keeps_its_own_deadline() -> None:
    patient = FakeNode(entry("patient", deadline=3.0), steps=[Step("stall", 0.5)])
    stuck = FakeNode(entry("stuck"), steps=[Step("stall", 5.0)])
    quick = FakeNode(entry("quick"))
    nodes = [patient, stuck, quick]
    cfg = federation_config(nodes, deadline=0.3)
    replies = run(fan_out(FakeTransport(nodes), cfg.nodes, request(),
                          deadlines={n.node_id: cfg.deadline_for(n) for n in cfg.nodes}))
    outcomes = {r.node.node_id: r for r in replies}
    assert outcomes["patient"].outcome is NodeOutcome.ANSWERED
    assert outcomes["quick"].outcome is NodeOutcome.ANSWERED
    slow = outcomes["stuck"]
    assert slow.outcome is NodeOutcome.DEADLINE_EXCEEDED and slow.attempts == 1
    assert 0.25 < slow.elapsed_seconds < 2.0
    assert "no answer within 0.3 s" in slow.reason
    assert cfg.deadline_for(patient.entry, 1.0) == 1.0  # a query's own deadline wins


@pytest.mark.parametrize(("node", "outcome", "words"), [
    (FakeNode(entry("n0"), cap_micro=100_000), NodeOutcome.BUDGET_EXHAUSTED,
     "remaining ε=0.1"),
    (FakeNode(entry("n0"), approved=("2024.1",)), NodeOutcome.CATALOGUE_VERSION,
     "not approved"),
    (FakeNode(entry("n0"), authorised=False), NodeOutcome.REFUSED, "not authorised"),
    (FakeNode(entry("n0"), steps=[Step("error")]), NodeOutcome.ERROR, "internal error"),
])
def test_refusals_are_final_and_reported_with_their_reason(node: FakeNode, outcome: NodeOutcome,
                                                            words: str) -> None:
    (reply,) = run(fan_out(FakeTransport([node]), [node.entry], request(),
                           deadlines={"n0": 2.0}, retry=RetryPolicy(2, 0.01)))
    assert reply.outcome is outcome and words in reply.reason
    assert len(node.calls) == 1 and reply.responded
    assert node.spent_micro == 0


def test_a_broken_transport_does_not_break_the_fan_out() -> None:
    class Broken(FakeTransport):
        async def query(self, node, request, timeout):  # type: ignore[no-untyped-def]
            if node.node_id == "n0":
                raise RuntimeError("bug")
            return await super().query(node, request, timeout)

    nodes = [FakeNode(entry("n0")), FakeNode(entry("n1"))]
    replies = run(fan_out(Broken(nodes), [n.entry for n in nodes], request(),
                          deadlines={"n0": 2.0, "n1": 2.0}))
    assert [r.outcome for r in replies] == [NodeOutcome.ERROR, NodeOutcome.ANSWERED]
    assert replies[0].reason == "unexpected RuntimeError"


STEPS = st.lists(st.sampled_from(["answer", "unavailable", "lost_reply", "error"]),
                 min_size=0, max_size=4)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scripts=st.lists(STEPS, min_size=1, max_size=5), retries=st.integers(0, 3))
def test_nothing_is_counted_twice_and_nothing_charged_twice(scripts: list[list[str]],
                                                            retries: int) -> None:
    """Under any sequence of transient failures and lost replies (Janus-style invariants)."""
    nodes = [FakeNode(entry(f"n{i}"), steps=[Step(k) for k in script])
             for i, script in enumerate(scripts)]
    agg = aggregator(nodes, retries=retries, clock="2025-06-01T00:00:00.000+00:00")
    result = run(agg.submit(spec(group_by=())))
    assert [n.node_id for n in result.nodes] == [n.entry.node_id for n in nodes]
    for node, report in zip(nodes, result.nodes, strict=True):
        assert len(set(node.calls)) <= 1  # one query id per node, whatever the retries
        assert len(node.calls) <= retries + 1
        assert node.spent_micro in (0, COST)  # charged at most once
        if report.outcome is NodeOutcome.ANSWERED:
            assert node.spent_micro == COST
    answered = len(result.answered)
    if answered:
        assert result.cells[0].raw_estimate == 10.0 * answered
    else:
        assert math.isnan(result.cells[0].raw_estimate) and math.isnan(result.cells[0].ci_lower)
    assert len(result.receipts) == answered + sum(
        1 for r in result.nodes if r.outcome is NodeOutcome.ERROR and r.cost_micro)


# ------------------------------------------------------------------ submit


def test_a_federated_query_reports_every_node_and_combines_the_rest() -> None:
    nodes = [FakeNode(entry("ok1"), value=10), FakeNode(entry("ok2"), value=32),
             FakeNode(entry("poor"), cap_micro=200_000),
             FakeNode(entry("old"), approved=("2024.1",)), FakeNode(entry("down"))]
    agg = aggregator(nodes, down=("down",), retries=1)
    result = run(agg.submit(spec()))
    outcomes = {n.node_id: n.outcome for n in result.nodes}
    assert outcomes == {"ok1": NodeOutcome.ANSWERED, "ok2": NodeOutcome.ANSWERED,
                        "poor": NodeOutcome.BUDGET_EXHAUSTED,
                        "old": NodeOutcome.CATALOGUE_VERSION, "down": NodeOutcome.UNAVAILABLE}
    assert [c.key for c in result.cells] == [("BE-VLG",), ("BE-WAL",), ("BE-BRU",)]
    assert all(c.raw_estimate == 42.0 for c in result.cells)
    assert all(c.standard_error == pytest.approx(math.sqrt(2 * 7.8)) for c in result.cells)
    assert not result.complete  # 2 of 5 answered, below half
    assert result.incomplete_reasons == (
        "2 of 5 nodes answered (40%), below the quorum of 50% of nodes",)
    assert result.cost_micro == 2 * COST
    stored = agg.history.get(result.result_id)
    assert stored is not None and stored.to_json() == result.to_json()
    assert {r.node_id for r in stored.receipts} == {"ok1", "ok2"}
    contacts = agg.history.last_contacts()
    assert set(contacts) == {"ok1", "ok2", "poor", "old"}  # "down" never replied


def test_the_size_quorum_weighs_nodes_by_their_expected_size() -> None:
    nodes = [FakeNode(entry("big", expected_size=900)), FakeNode(entry("s1", expected_size=50)),
             FakeNode(entry("s2", expected_size=50))]
    agg = aggregator(nodes, down=("big",), retries=0,
                     quorum=QuorumPolicy(min_node_share=0.5, min_size_share=0.6))
    result = run(agg.submit(spec()))
    assert result.answered_node_share == pytest.approx(2 / 3)
    assert result.answered_size_share == pytest.approx(0.1)
    assert result.incomplete_reasons == ("the answering nodes hold 10% of the sector's "
                                         "expected size, below the quorum of 60%",)


def test_asking_again_with_the_same_query_id_costs_nothing_more() -> None:
    nodes = [FakeNode(entry("n0")), FakeNode(entry("n1")), FakeNode(entry("late"))]
    agg = aggregator(nodes, down=("late",), retries=0)
    first = run(agg.submit(spec()))
    assert first.answered == ["n0", "n1"]
    agg._transport = FakeTransport(nodes)  # the late node is back
    again = run(agg.submit(spec(), query_id=first.query_id))
    assert again.query_id == first.query_id and again.result_id != first.result_id
    assert again.answered == ["n0", "n1", "late"]
    assert [n.replayed for n in again.nodes] == [True, True, False]
    assert again.cost_micro == COST  # only the late node's first charge
    assert [n.spent_micro for n in nodes] == [COST, COST, COST]
    assert [r.result_id for r in agg.history.by_query(first.query_id)] == [first.result_id,
                                                                          again.result_id]
    with pytest.raises(QueryConflictError):
        run(agg.submit(spec(group_by=("gender",)), query_id=first.query_id))


def test_bad_queries_are_refused_before_any_node_is_asked() -> None:
    node = FakeNode(entry("n0"))
    agg = aggregator([node])
    with pytest.raises(InvalidQueryError):
        run(agg.submit(spec(measure="salary")))
    with pytest.raises(CatalogueVersionError):
        run(agg.submit(spec(version="1999.1")))
    with pytest.raises(InvalidQueryError, match="query_id"):
        run(agg.submit(spec(), query_id="not a valid id!"))
    with pytest.raises(InvalidQueryError, match="deadline"):
        run(agg.submit(spec(), deadline_seconds=0.0 - 1))
    assert node.calls == [] and agg.history.recent(10) == []


def test_an_answer_that_does_not_fit_is_reported_and_left_out() -> None:
    class Impostor(FakeNode):
        async def query(self, request: pb2.QueryRequest) -> pb2.QueryResponse:
            response = await super().query(request)
            response.node_id = "someone-else"
            return response

    nodes = [FakeNode(entry("n0"), value=5), Impostor(entry("n1"), value=1000)]
    result = run(aggregator(nodes).submit(spec()))
    assert result.nodes[1].outcome is NodeOutcome.ERROR
    assert "answered as node 'someone-else'" in result.nodes[1].reason
    assert result.nodes[1].cost_micro == COST  # it was charged, and the report says so
    assert all(c.raw_estimate == 5.0 for c in result.cells)
    assert {r.node_id for r in result.receipts} == {"n0", "n1"}


def test_means_are_ratios_of_the_summed_parts_clipped_to_the_measure() -> None:
    nodes = [FakeNode(entry("n0"), value=40), FakeNode(entry("n1"), value=60)]
    result = run(aggregator(nodes).submit(
        spec(Statistic.MEAN, "exited_to_regular_job", group_by=())))
    (cell,) = result.cells
    # Each node releases sum 100·value/100 = value and count value: the ratio is 1.
    assert (cell.sum_estimate, cell.count_estimate, cell.raw_estimate) == (100.0, 100.0, 1.0)
    assert cell.raw_ci_upper > 1.0 and cell.ci_upper == 1.0 and cell.estimate == 1.0
    assert cell.clipped and cell.reliable


# ------------------------------------------------------------------ dry runs and node states


def test_a_dry_run_shows_cost_and_what_each_node_keeps_without_spending() -> None:
    nodes = [FakeNode(entry("ok")), FakeNode(entry("poor"), cap_micro=300_000),
             FakeNode(entry("old"), approved=("2024.1",)), FakeNode(entry("down")),
             FakeNode(entry("stranger"), authorised=False)]
    nodes[0].spent_micro = 1_000_000
    agg = aggregator(nodes, down=("down",))
    plan = run(agg.plan(spec()))
    assert plan.cost_micro == COST and plan.cells == 3
    by_id = {n.node_id: n for n in plan.nodes}
    ok = by_id["ok"]
    assert (ok.expected, ok.remaining_micro, ok.remaining_after_micro) == (
        NodeOutcome.ANSWERED, 9_000_000, 8_500_000)
    assert by_id["poor"].expected is NodeOutcome.BUDGET_EXHAUSTED
    assert by_id["poor"].reason == "needs ε=0.5 but has ε=0.3 left for 2025"
    assert by_id["old"].expected is NodeOutcome.CATALOGUE_VERSION
    assert "approved: 2024.1" in by_id["old"].reason
    assert by_id["down"].expected is NodeOutcome.UNAVAILABLE
    assert by_id["stranger"].expected is NodeOutcome.REFUSED
    assert plan.total_micro == COST and not plan.complete_expected
    assert all(n.calls == [] for n in nodes) and nodes[0].spent_micro == 1_000_000


def test_node_states_show_status_versions_budget_and_last_contact() -> None:
    nodes = [FakeNode(entry("ok")), FakeNode(entry("down"))]
    agg = aggregator(nodes, down=("down",), clock="2025-06-01T10:00:00.000+00:00")
    states = run(agg.node_states())
    ok, down = states
    assert ok.reachable and ok.approves(CATALOGUE.version)
    assert ok.budget[0].remaining_micro == 10_000_000
    assert ok.last_contact == "2025-06-01T10:00:00.000+00:00"
    assert ok.node.certificate_identity == "ok.test"
    assert not down.reachable and "UNAVAILABLE" in down.reason and down.last_contact == ""


def test_a_broken_node_does_not_break_the_listing() -> None:
    class Broken(FakeTransport):
        async def describe(self, node, timeout):  # type: ignore[no-untyped-def]
            if node.node_id == "bad":
                raise RuntimeError("bug")
            return await super().describe(node, timeout)

    nodes = [FakeNode(entry("bad")), FakeNode(entry("good"))]
    agg = aggregator(nodes)
    agg._transport = Broken(nodes)
    bad, good = run(agg.node_states())
    assert (bad.reachable, bad.reason) == (False, "unexpected RuntimeError")
    assert good.reachable


class ZcdpBudgets:
    """Describe and Budget of nodes under zCDP accounting: ρ lines, one of them node-wide."""

    def __init__(self, version: str, lines: dict[str, list[pb2.BudgetLine]]) -> None:
        self.version = version
        self.lines = lines

    async def query(self, node: object, request: pb2.QueryRequest,
                    timeout: float) -> pb2.QueryResponse:
        raise AssertionError("a dry run never asks a node to answer")

    async def describe(self, node: NodeEntry, timeout: float) -> pb2.DescribeResponse:
        return pb2.DescribeResponse(node_id=node.node_id, catalogue_versions=[self.version])

    async def budget(self, node: NodeEntry, timeout: float) -> pb2.BudgetResponse:
        return pb2.BudgetResponse(lines=self.lines[node.node_id])

    async def close(self) -> None:
        return None


def rho_line(querier: str, scope: str, cap: int, spent: int, rule: LossRule) -> pb2.BudgetLine:
    return pb2.BudgetLine(querier=querier, period="2025", scope=scope, unit="rho",
                          cap_micro_units=cap, spent_micro_units=spent,
                          cap_micro_epsilon=rule.epsilon_of(cap),
                          spent_micro_epsilon=rule.epsilon_of(spent),
                          remaining_micro_epsilon=rule.epsilon_of(cap - spent))


def test_a_zcdp_dry_run_counts_in_rho_and_finds_the_binding_cap() -> None:
    """Under zCDP the plan compares and subtracts ρ, as the nodes do (ε does not add up), and
    the least generous of a node's lines for this federation decides."""
    text = resources.files("privacy").joinpath("catalogues/koepel-2025.1.toml").read_text()
    zcat = parse_catalogue({**tomllib.loads(text), "version": "2025.1-zcdp",
                            "accounting": "zcdp", "delta": "1e-6"})
    rule = LossRule.of(zcat)
    zspec = QuerySpec(zcat.version, "headcount", Statistic.COUNT, ("region",), (), "2025",
                      COST)
    cost = plan_release(validate(zspec, zcat)).total_micro  # in µρ
    cap = rule.budget_from_epsilon(3_000_000)
    lines = {
        "roomy": [rho_line("federation", "querier", cap, 0, rule),
                  rho_line("*", "node", cap, cap - cost - cost // 2, rule)],
        "node-capped": [rho_line("federation", "querier", cap, 0, rule),
                        rho_line("*", "node", cap, cap - cost + 1, rule)],
    }
    nodes = [FakeNode(entry("roomy")), FakeNode(entry("node-capped"))]
    config = dataclasses.replace(federation_config(nodes), catalogue=zcat)
    agg = Aggregator(config, ZcdpBudgets(zcat.version, lines), MemoryHistory())  # type: ignore[arg-type]
    plan = run(agg.plan(zspec))
    assert plan.cost_micro == cost and plan.rule == rule
    roomy, capped = plan.nodes
    assert roomy.expected is NodeOutcome.ANSWERED
    assert roomy.remaining_micro == cost + cost // 2  # the node-wide line has less left
    assert roomy.remaining_after_micro == cost // 2
    assert plan.epsilon(roomy.cost_micro) is not None
    assert plan.epsilon(roomy.cost_micro) <= COST  # at most the ε asked, at the catalogue's δ
    assert capped.expected is NodeOutcome.BUDGET_EXHAUSTED
    assert "ρ=" in capped.reason and "node cap" in capped.reason
    again = plan_from_proto(pb2.PlanQueryResponse.FromString(
        plan_to_proto(plan).SerializeToString()))
    assert again == plan
    # Two such queries in a row: the second no longer fits once the first's ρ is subtracted.
    merged = merge_plans([plan, plan])
    assert merged.nodes[0].expected is NodeOutcome.BUDGET_EXHAUSTED
    assert merged.nodes[0].cost_micro == cost  # the first figure would still be charged
    run(agg.close())
