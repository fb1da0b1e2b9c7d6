"""Dry runs: what a query would cost each node, and what each would have left, before spending.

The cost comes from ``privacy.plan_release`` — the same plan every node computes from the same
catalogue, so it is the most a node can charge (OpenDP's privacy map, rounded up, never exceeds
it). What each node has left comes from its own ``Budget`` answer, and whether it would take
the query at all from its ``Describe`` answer (approved catalogue versions). Nothing here
touches any data or budget; the forecast can still be wrong if a node's state changes before
the real query, which then reports the node's actual answer.

Amounts are integers in the catalogue's accounting unit (µε, or µρ under zCDP), because that
is what nodes charge and compare, and only that unit adds up exactly: under zCDP, ρ composes by
addition while the ε it amounts to does not. :attr:`QueryPlan.rule` turns them into ε for
people (:meth:`QueryPlan.epsilon`, :meth:`QueryPlan.describe`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from aggregator.fanout import NodeOutcome
from privacy import Accounting, LossRule

__all__ = ["NodePlan", "QueryPlan", "merge_plans"]


@dataclass(frozen=True)
class NodePlan:
    node_id: str
    expected: NodeOutcome  # ANSWERED when the node should answer
    reason: str
    cost_micro: int  # the most the query can charge this node (catalogue's unit)
    remaining_micro: int | None = None  # before the query; None when unknown
    period: str = ""

    @property
    def remaining_after_micro(self) -> int | None:
        if self.remaining_micro is None:
            return None
        return self.remaining_micro - self.cost_micro  # the cost is 0 unless it would answer


@dataclass(frozen=True)
class QueryPlan:
    cost_micro: int  # per answering node, in the catalogue's unit
    cells: int
    nodes: tuple[NodePlan, ...]
    complete_expected: bool
    incomplete_reasons: tuple[str, ...] = ()
    rule: LossRule = field(default_factory=lambda: LossRule(Accounting.PURE))
    # Expected standard error of one summed cell per mode ("per_node", "secure", "central").
    expected_se: Mapping[str, float] = field(default_factory=dict)

    @property
    def total_micro(self) -> int:
        """The loss the federation would spend over all nodes expected to answer (its unit)."""
        return sum(n.cost_micro for n in self.nodes if n.expected is NodeOutcome.ANSWERED)

    def epsilon(self, units: int | None) -> int | None:
        """An amount of the plan's unit as µε (at the catalogue's δ under zCDP)."""
        return None if units is None else self.rule.epsilon_of(max(0, units))

    @property
    def total_epsilon_micro(self) -> int:
        """The ε over all nodes expected to answer (each node's ε, added up across nodes)."""
        return sum(self.rule.epsilon_of(n.cost_micro) for n in self.nodes
                   if n.expected is NodeOutcome.ANSWERED)

    def describe(self, units: int) -> str:
        """``ε=0.5``, or ``ρ=0.0172 (ε≤0.83 at δ=1e-6)``."""
        return self.rule.describe(max(0, units))


def merge_plans(plans: Sequence[QueryPlan]) -> QueryPlan:
    """Several queries' dry runs as one (a report, asked in order): per node, what it would spend.

    Each node's budget is followed through the queries in order, as the real run would spend
    it: a query the node would answer on its own but can no longer pay for after the earlier
    ones is counted as refused. A node counts as answering only when it would answer every
    query; otherwise the first reason it would not is kept, with what it would still spend.
    """
    if not plans:
        raise ValueError("no plans to merge")
    rule = plans[0].rule
    if any(plan.rule != rule for plan in plans):
        raise ValueError("plans in different accounting units cannot be merged")
    merged: list[NodePlan] = []
    for per_node in zip(*(plan.nodes for plan in plans), strict=True):
        first = per_node[0]
        left = first.remaining_micro
        spent = 0
        failing: NodePlan | None = None
        for step in per_node:
            if step.expected is NodeOutcome.ANSWERED and (left is None or step.cost_micro <= left):
                spent += step.cost_micro
                left = None if left is None else left - step.cost_micro
                continue
            if failing is None:
                failing = step if step.expected is not NodeOutcome.ANSWERED else NodePlan(
                    step.node_id, NodeOutcome.BUDGET_EXHAUSTED,
                    f"needs {rule.describe(step.cost_micro)} for a later figure but would have "
                    f"{rule.describe(left or 0)} left", 0, left, step.period)
        if failing is None:
            merged.append(NodePlan(first.node_id, NodeOutcome.ANSWERED, "", spent,
                                   first.remaining_micro, first.period))
            continue
        reason = failing.reason
        if spent:
            reason += f" (the other figures would still cost {rule.describe(spent)})"
        merged.append(NodePlan(first.node_id, failing.expected, reason, spent,
                               first.remaining_micro, first.period))
    reasons = tuple(dict.fromkeys(r for plan in plans for r in plan.incomplete_reasons))
    return QueryPlan(sum(p.cost_micro for p in plans), sum(p.cells for p in plans),
                     tuple(merged), all(p.complete_expected for p in plans), reasons, rule)
