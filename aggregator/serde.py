"""Conversions between wire messages and the aggregator's domain types (and nothing else).

Every ``x_to_proto`` has its ``x_from_proto`` (round-trip tests in tests/test_aggregator_serde.py)
so that the command line renders domain objects, never generated messages. The query spec's parsing
mirrors ``node.service.serde`` on purpose: node and aggregator meet only through ``protos/``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import Decimal

from aggregator.budgets import BudgetInfo, budget_info
from aggregator.fanout import NodeOutcome
from aggregator.federated import NodeState
from aggregator.federation import NodeEntry
from aggregator.planning import NodePlan, QueryPlan
from aggregator.results import (
    CellResult,
    NodeReceipt,
    NodeReport,
    QuantileResult,
    SectorResult,
)
from privacy import Accounting, LossRule
from protos import pb2
from wire.spec import spec_from_proto, spec_to_proto

__all__ = [
    "node_report_from_proto",
    "node_report_to_proto",
    "node_states_from_proto",
    "node_states_to_proto",
    "plan_from_proto",
    "plan_to_proto",
    "result_from_proto",
    "result_to_proto",
    "spec_from_proto",
    "spec_to_proto",
]

_OUTCOMES = {
    NodeOutcome.ANSWERED: pb2.NODE_OUTCOME_ANSWERED,
    NodeOutcome.UNAVAILABLE: pb2.NODE_OUTCOME_UNAVAILABLE,
    NodeOutcome.DEADLINE_EXCEEDED: pb2.NODE_OUTCOME_DEADLINE_EXCEEDED,
    NodeOutcome.BUDGET_EXHAUSTED: pb2.NODE_OUTCOME_BUDGET_EXHAUSTED,
    NodeOutcome.CATALOGUE_VERSION: pb2.NODE_OUTCOME_CATALOGUE_VERSION,
    NodeOutcome.NOT_SHARED: pb2.NODE_OUTCOME_NOT_SHARED,
    NodeOutcome.REFUSED: pb2.NODE_OUTCOME_REFUSED,
    NodeOutcome.INVALID: pb2.NODE_OUTCOME_INVALID,
    NodeOutcome.ERROR: pb2.NODE_OUTCOME_ERROR,
}
_FROM_OUTCOMES: dict[int, NodeOutcome] = {int(v): k for k, v in _OUTCOMES.items()}


def _outcome(value: int) -> NodeOutcome:
    return _FROM_OUTCOMES.get(value, NodeOutcome.ERROR)


def _cell_to_proto(c: CellResult) -> pb2.SectorCell:
    return pb2.SectorCell(
        key=list(c.key), estimate=c.estimate, standard_error=c.standard_error,
        ci_lower=c.ci_lower, ci_upper=c.ci_upper, reliable=c.reliable,
        sum_estimate=c.sum_estimate, count_estimate=c.count_estimate, note=c.note,
        raw_estimate=c.raw_estimate, raw_ci_lower=c.raw_ci_lower, raw_ci_upper=c.raw_ci_upper,
        clamped_share=c.clamped_share, clamped_share_lower=c.clamped_share_lower,
        clamped_share_upper=c.clamped_share_upper, clamp_note=c.clamp_note,
    )


def _cell_from_proto(c: pb2.SectorCell) -> CellResult:
    return CellResult(
        key=tuple(c.key), estimate=c.estimate, standard_error=c.standard_error,
        ci_lower=c.ci_lower, ci_upper=c.ci_upper, reliable=c.reliable, note=c.note,
        raw_estimate=c.raw_estimate, raw_ci_lower=c.raw_ci_lower, raw_ci_upper=c.raw_ci_upper,
        sum_estimate=c.sum_estimate, count_estimate=c.count_estimate,
        clamped_share=c.clamped_share, clamped_share_lower=c.clamped_share_lower,
        clamped_share_upper=c.clamped_share_upper, clamp_note=c.clamp_note,
    )


def node_report_to_proto(n: NodeReport, receipt: bytes = b"") -> pb2.NodeStatus:
    return pb2.NodeStatus(node_id=n.node_id, outcome=_OUTCOMES[n.outcome], reason=n.reason,
                          cost_micro_epsilon=n.cost_micro, attempts=n.attempts,
                          replayed=n.replayed, catalogue_version=n.catalogue_version,
                          elapsed_seconds=n.elapsed_seconds, receipt=receipt)


def node_report_from_proto(n: pb2.NodeStatus) -> NodeReport:
    return NodeReport(n.node_id, _outcome(n.outcome), n.reason, n.cost_micro_epsilon,
                      n.attempts, n.replayed, n.catalogue_version, n.elapsed_seconds)


def result_to_proto(result: SectorResult, *, include_receipts: bool = False) -> pb2.SectorResult:
    receipts = {r.node_id: r.response for r in result.receipts} if include_receipts else {}
    return pb2.SectorResult(
        result_id=result.result_id,
        created_at=result.created_at,
        spec=spec_to_proto(result.spec),
        group_by=list(result.group_by),
        cells=[_cell_to_proto(c) for c in result.cells],
        nodes=[node_report_to_proto(n, receipts.get(n.node_id, b"")) for n in result.nodes],
        complete=result.complete,
        query_id=result.query_id,
        incomplete_reasons=list(result.incomplete_reasons),
        answered_node_share=result.answered_node_share,
        answered_size_share=result.answered_size_share,
        federation=result.federation,
        aggregation=result.aggregation,
        bin_edges=list(result.bin_edges),
        quantiles=[
            pb2.QuantileEstimate(key=list(q.key), probability=q.probability,
                                 estimate=q.estimate, ci_lower=q.ci_lower, ci_upper=q.ci_upper)
            for q in result.quantiles
        ],
    )


def result_from_proto(message: pb2.SectorResult) -> SectorResult:
    query_id = message.query_id or message.result_id
    return SectorResult(
        result_id=message.result_id,
        created_at=message.created_at,
        spec=spec_from_proto(message.spec),
        group_by=tuple(message.group_by),
        cells=tuple(_cell_from_proto(c) for c in message.cells),
        nodes=tuple(node_report_from_proto(n) for n in message.nodes),
        complete=message.complete,
        query_id=query_id,
        incomplete_reasons=tuple(message.incomplete_reasons),
        answered_node_share=message.answered_node_share,
        answered_size_share=message.answered_size_share,
        federation=message.federation,
        aggregation=message.aggregation or "per_node",
        receipts=tuple(NodeReceipt(n.node_id, query_id, message.created_at, n.receipt)
                       for n in message.nodes if n.receipt),
        bin_edges=tuple(message.bin_edges),
        quantiles=tuple(QuantileResult(tuple(q.key), q.probability, q.estimate, q.ci_lower,
                                       q.ci_upper) for q in message.quantiles),
    )


def plan_to_proto(plan: QueryPlan) -> pb2.PlanQueryResponse:
    return pb2.PlanQueryResponse(
        nodes=[
            pb2.NodePlan(
                node_id=n.node_id, expected=_OUTCOMES[n.expected], reason=n.reason,
                cost_micro_units=n.cost_micro, budget_known=n.remaining_micro is not None,
                remaining_micro_units=n.remaining_micro or 0,
                remaining_after_micro_units=n.remaining_after_micro or 0, period=n.period)
            for n in plan.nodes
        ],
        cost_micro_units=plan.cost_micro,
        cells=plan.cells,
        complete_expected=plan.complete_expected,
        incomplete_reasons=list(plan.incomplete_reasons),
        expected_se_per_node=plan.expected_se.get("per_node", math.nan),
        expected_se_secure=plan.expected_se.get("secure", math.nan),
        expected_se_central=plan.expected_se.get("central", math.nan),
        accounting=plan.rule.accounting.value,
        delta="" if plan.rule.delta is None else str(plan.rule.delta),
    )


def _rule(accounting: str, delta: str) -> LossRule:
    try:
        return LossRule(Accounting(accounting or Accounting.PURE.value),
                        Decimal(delta) if delta else None)
    except (ValueError, ArithmeticError):
        raise ValueError(f"the dry run names an unknown accounting {accounting[:16]!r} "
                         f"(δ {delta[:16]!r})") from None


def plan_from_proto(message: pb2.PlanQueryResponse) -> QueryPlan:
    return QueryPlan(
        cost_micro=message.cost_micro_units,
        cells=message.cells,
        nodes=tuple(
            NodePlan(n.node_id, _outcome(n.expected), n.reason, n.cost_micro_units,
                     n.remaining_micro_units if n.budget_known else None, n.period)
            for n in message.nodes
        ),
        complete_expected=message.complete_expected,
        incomplete_reasons=tuple(message.incomplete_reasons),
        rule=_rule(message.accounting, message.delta),
        expected_se={mode: value for mode, value in (
            ("per_node", message.expected_se_per_node), ("secure", message.expected_se_secure),
            ("central", message.expected_se_central)) if math.isfinite(value) and value > 0},
    )


def _budget_to_proto(b: BudgetInfo) -> pb2.BudgetLine:
    return pb2.BudgetLine(
        querier=b.querier, period=b.period, cap_micro_epsilon=b.cap_micro,
        spent_micro_epsilon=b.spent_micro, scope=b.scope, unit=b.unit,
        cap_micro_units=b.cap_micro if b.cap_units is None else b.cap_units,
        spent_micro_units=b.spent_micro if b.spent_units is None else b.spent_units,
        remaining_micro_epsilon=b.remaining_micro,
    )


def node_states_to_proto(states: Sequence[NodeState], *, federation: str,
                         catalogue_version: str) -> pb2.ListNodesResponse:
    return pb2.ListNodesResponse(
        nodes=[
            pb2.NodeInfo(
                node_id=s.node.node_id, address=s.node.address,
                organisation=s.node.organisation, reachable=s.reachable,
                catalogue_versions=list(s.catalogue_versions),
                reason=s.reason if not s.reachable else s.budget_reason,
                budget=[_budget_to_proto(b) for b in s.budget],
                certificate_identity=s.node.certificate_identity, region=s.node.region,
                kind=s.node.kind, expected_size=s.node.expected_size or 0,
                last_contact=s.last_contact, software_version=s.software_version,
            )
            for s in states
        ],
        federation=federation,
        catalogue_version=catalogue_version,
    )


def node_states_from_proto(message: pb2.ListNodesResponse) -> list[NodeState]:
    return [
        NodeState(
            node=NodeEntry(n.node_id, n.address, n.organisation, n.region, n.kind,
                           n.certificate_identity, n.expected_size or None),
            reachable=n.reachable,
            reason="" if n.reachable else n.reason,
            catalogue_versions=tuple(n.catalogue_versions),
            software_version=n.software_version,
            budget=tuple(budget_info(b) for b in n.budget),
            budget_reason=n.reason if n.reachable else "",
            last_contact=n.last_contact,
        )
        for n in message.nodes
    ]
