"""Dry runs: what a query would cost each node, and what each would have left, before spending.

The cost comes from ``privacy.plan_release`` — the same plan every node computes from the same
catalogue, so it is the most a node can charge (OpenDP's privacy map, rounded up, never exceeds
it). What each node has left comes from its own ``Budget`` answer, and whether it would take
the query at all from its ``Describe`` answer (approved catalogue versions). Nothing here
touches any data or budget; the forecast can still be wrong if a node's state changes before
the real query, which then reports the node's actual answer.
"""

from __future__ import annotations

from dataclasses import dataclass

from aggregator.fanout import NodeOutcome

__all__ = ["NodePlan", "QueryPlan"]


@dataclass(frozen=True)
class NodePlan:
    node_id: str
    expected: NodeOutcome  # ANSWERED when the node should answer
    reason: str
    cost_micro: int  # the most the query can charge this node
    remaining_micro: int | None = None  # before the query; None when unknown
    period: str = ""

    @property
    def remaining_after_micro(self) -> int | None:
        if self.remaining_micro is None:
            return None
        if self.expected is not NodeOutcome.ANSWERED:
            return self.remaining_micro
        return self.remaining_micro - self.cost_micro


@dataclass(frozen=True)
class QueryPlan:
    cost_micro: int  # per answering node
    cells: int
    nodes: tuple[NodePlan, ...]
    complete_expected: bool
    incomplete_reasons: tuple[str, ...] = ()

    @property
    def total_micro(self) -> int:
        """The ε the federation would spend over all nodes expected to answer."""
        return sum(n.cost_micro for n in self.nodes if n.expected is NodeOutcome.ANSWERED)
