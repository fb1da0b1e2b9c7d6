"""A node's budget as the aggregator sees it: the lines a node reports to this federation.

Its own module so that the aggregator's logic (``federated``) and its metrics (``metrics``) both
build on it without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass

from protos import pb2

__all__ = ["BudgetInfo", "budget_info"]


@dataclass(frozen=True)
class BudgetInfo:
    """One line of a node's budget, as the node reports it to this federation's identity.

    ``scope`` is ``querier`` (this federation's identity, one period), ``node`` (all queriers,
    one period; ``querier`` is ``*``) or ``lifetime`` (all queriers, all periods). The
    ``*_micro`` amounts are stated in ε. Under zCDP accounting (``unit`` ``rho``) the node
    charges in ρ, which is not ε and does not subtract like it: the ``*_units`` amounts are
    then the ρ figures and ``remaining_epsilon_micro`` the largest ε a next query could still
    ask; under pure ε accounting they are None (the ε figures say it all).
    """

    querier: str
    period: str
    cap_micro: int
    spent_micro: int
    scope: str = "querier"
    unit: str = "epsilon"
    cap_units: int | None = None
    spent_units: int | None = None
    remaining_epsilon_micro: int | None = None

    @property
    def remaining_micro(self) -> int:
        """The ε a next query could still ask (under zCDP not simply cap minus spent)."""
        if self.remaining_epsilon_micro is not None:
            return self.remaining_epsilon_micro
        return max(0, self.cap_micro - self.spent_micro)

    @property
    def remaining_units(self) -> int:
        """What is left in the node's own unit (µε or µρ): what the node compares a cost with."""
        if self.cap_units is None or self.spent_units is None:
            return max(0, self.cap_micro - self.spent_micro)
        return max(0, self.cap_units - self.spent_units)

    def applies_to(self, querier: str) -> bool:
        """Whether this line limits ``querier``'s queries (its own line or a node-wide one)."""
        return self.querier == querier or (self.scope != "querier" and self.querier == "*")


def budget_info(line: pb2.BudgetLine) -> BudgetInfo:
    """A node's budget line as the aggregator keeps it (an older node states ε only)."""
    rho = line.unit == "rho"
    return BudgetInfo(
        querier=line.querier, period=line.period, cap_micro=line.cap_micro_epsilon,
        spent_micro=line.spent_micro_epsilon, scope=line.scope or "querier",
        unit=line.unit or "epsilon",
        cap_units=line.cap_micro_units if rho else None,
        spent_units=line.spent_micro_units if rho else None,
        remaining_epsilon_micro=line.remaining_micro_epsilon if rho else None,
    )
