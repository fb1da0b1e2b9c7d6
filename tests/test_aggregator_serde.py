"""Every aggregator x_to_proto has its x_from_proto: round trips (STYLE §2)."""

from __future__ import annotations

import math
from dataclasses import replace

from aggregator import (
    BudgetInfo,
    NodeOutcome,
    NodePlan,
    NodeState,
    QuantileResult,
    QueryPlan,
    SectorResult,
    node_states_from_proto,
    node_states_to_proto,
    plan_from_proto,
    plan_to_proto,
    result_from_proto,
    result_to_proto,
    spec_from_proto,
    spec_to_proto,
)
from protos import pb2
from tests.fake_nodes import entry, sample_result


def test_a_result_round_trips_with_or_without_receipts() -> None:
    result = sample_result("r1")
    bare = result_from_proto(pb2.SectorResult.FromString(
        result_to_proto(result).SerializeToString()))
    assert bare.to_json() == result.to_json() and bare.receipts == ()
    full = result_from_proto(result_to_proto(result, include_receipts=True))
    assert full.to_json() == result.to_json()
    assert [(r.node_id, r.response) for r in full.receipts] == [
        (r.node_id, r.response) for r in result.receipts]


def test_every_outcome_survives_the_wire() -> None:
    result = sample_result("r1")
    for outcome in NodeOutcome:
        node = result.nodes[0].__class__(result.nodes[0].node_id, outcome, "why")
        changed = result.__class__(**{**result.__dict__, "nodes": (node,)})
        assert result_from_proto(result_to_proto(changed)).nodes[0].outcome is outcome


def test_a_spec_round_trips() -> None:
    spec = sample_result("r1").spec
    assert spec_from_proto(spec_to_proto(spec)) == spec


def test_a_plan_round_trips() -> None:
    plan = QueryPlan(500_000, 21, (
        NodePlan("a", NodeOutcome.ANSWERED, "", 500_000, 2_500_000, "2025"),
        NodePlan("b", NodeOutcome.UNAVAILABLE, "UNAVAILABLE: refused", 0),
        NodePlan("c", NodeOutcome.BUDGET_EXHAUSTED, "needs more", 0, 100_000, "2025"),
    ), False, ("1 of 3 nodes answered (33%), below the quorum of 50% of nodes",))
    again = plan_from_proto(pb2.PlanQueryResponse.FromString(
        plan_to_proto(plan).SerializeToString()))
    assert again == plan
    assert [n.remaining_after_micro for n in again.nodes] == [2_000_000, None, 100_000]


def test_node_states_round_trip() -> None:
    states = [
        NodeState(entry("a", expected_size=120), True, "", ("2025.1",), "koepel 0.1.0",
                  (BudgetInfo("federation", "2025", 3_000_000, 500_000),), "",
                  "2025-06-01T10:00:00.000+00:00"),
        NodeState(entry("b"), True, "", ("2025.1",), "koepel 0.1.0", (),
                  "PERMISSION_DENIED: not authorised"),
        NodeState(entry("c"), False, "UNAVAILABLE: connection refused"),
    ]
    message = node_states_to_proto(states, federation="f", catalogue_version="2025.1")
    assert (message.federation, message.catalogue_version) == ("f", "2025.1")
    assert node_states_from_proto(message) == states


def test_zcdp_budget_lines_keep_their_rho_through_the_listing() -> None:
    """A zCDP node's lines carry ρ (what it charges) beside the ε they amount to."""
    rho = BudgetInfo("*", "2025", 3_000_000, 1_200_000, scope="node", unit="rho",
                     cap_units=170_000, spent_units=40_000, remaining_epsilon_micro=2_100_000)
    state = NodeState(entry("z"), True, "", ("2025.1",), "koepel 0.1.0", (rho,))
    message = node_states_to_proto([state], federation="f", catalogue_version="2025.1")
    (again,) = node_states_from_proto(message)
    assert again == state
    assert again.budget[0].remaining_units == 130_000
    assert again.budget[0].remaining_micro == 2_100_000  # not cap − spent in ε
    assert again.budget[0].applies_to("federation")


def test_a_histogram_result_keeps_its_bins_and_quartiles() -> None:
    result = replace(sample_result("h1"), bin_edges=(0.0, 10.0, 20.0),
                     quantiles=(QuantileResult(("BE-VLG",), 0.5, 9.5, 7.0, 12.5),
                                QuantileResult(("BE-BRU",), 0.5, math.nan, math.nan,
                                               math.nan)))
    again = result_from_proto(pb2.SectorResult.FromString(
        result_to_proto(result).SerializeToString()))
    assert again.bin_edges == result.bin_edges
    assert again.quantiles[0] == result.quantiles[0]
    assert math.isnan(again.quantiles[1].estimate)
    assert again.to_json() == result.to_json()
    assert SectorResult.from_json(result.to_json()).quantiles[0] == result.quantiles[0]
