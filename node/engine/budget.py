"""The node's budget policy: the caps every charge must fit, in the catalogue's unit.

Three caps apply to every charge, each checked inside the ledger's write transaction:

* the querier's own cap for the current period (node.toml ``[[queriers]] cap_epsilon``);
* the node-wide cap over all queriers together for the period (``[budget] node_cap_epsilon``),
  because queriers may collude and the people in the records bear the sum;
* the long-horizon cap over all periods (``[budget] lifetime_cap_epsilon``), because
  long-tenured workers appear in the records year after year.

A fourth applies when the querier's policy gives its operators caps of their own
(``[queriers.operators]``, see ``node.policy``): the signing operator's spend for the querier
in the period, so that two operators of one federation no longer share one cap unseen.

Caps are configured as ε. Under zCDP each becomes the largest ρ whose (ε, δ) at the catalogue's δ
stays within it (rounded down), and charges are compared in ρ.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from node.config import NodeConfig
from privacy import Cap, LossRule, PermissionDeniedError

__all__ = ["BudgetCaps", "BudgetPolicy", "period_label"]


def period_label(kind: str, when: datetime) -> str:
    """The budget period containing ``when``: ``"2026"`` or ``"2026-Q3"``."""
    if kind == "quarter":
        return f"{when.year}-Q{(when.month - 1) // 3 + 1}"
    return str(when.year)


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class BudgetCaps:
    """The caps a charge must fit (``lifetime`` is None when the node has none; ``operator``
    when the signing operator has no cap of its own, or no operator signed)."""

    period: str
    querier: Cap
    node: Cap
    lifetime: Cap | None
    operator: Cap | None = None
    operator_name: str = ""  # who signed the query ("" if nobody did)

    @property
    def all(self) -> tuple[Cap, ...]:
        return tuple(c for c in (self.querier, self.node, self.lifetime, self.operator)
                     if c is not None)


class BudgetPolicy:
    """Caps from node.toml, converted once to the catalogue's unit."""

    def __init__(self, config: NodeConfig, clock: Callable[[], datetime] = _now) -> None:
        self.rule = LossRule.of(config.catalogue)
        self.period_kind = config.budget.period
        self._clock = clock
        self.querier_caps_epsilon = {q: p.cap_micro for q, p in config.queriers.items()}
        node_epsilon = config.budget.node_cap_micro
        if node_epsilon is None:
            node_epsilon = sum(self.querier_caps_epsilon.values())
        self.node_cap_epsilon = node_epsilon
        self.lifetime_cap_epsilon = config.budget.lifetime_cap_micro
        to_units = self.rule.budget_from_epsilon
        self.querier_caps = {q: to_units(c) for q, c in self.querier_caps_epsilon.items()}
        self.node_cap = to_units(node_epsilon)
        self.lifetime_cap = (None if self.lifetime_cap_epsilon is None
                             else to_units(self.lifetime_cap_epsilon))
        # querier → operator → cap (ε as configured, and in the catalogue's unit)
        self.operator_caps_epsilon = {q: dict(p.access.operator_caps_epsilon)
                                      for q, p in config.queriers.items()
                                      if p.access.operator_caps_epsilon is not None}
        self.operator_caps = {q: {o: to_units(c) for o, c in caps.items()}
                              for q, caps in self.operator_caps_epsilon.items()}

    def current_period(self) -> str:
        return period_label(self.period_kind, self._clock())

    def knows(self, querier: str) -> bool:
        return querier in self.querier_caps

    def caps(self, querier: str, period: str | None = None, *,
             operator: str | None = None) -> BudgetCaps:
        """The caps for ``querier`` in ``period`` (default: now) when ``operator`` signed the
        query (None: nobody did); unknown queriers are refused. Whether that operator may ask
        at all is the access policy's (``AccessPolicy.check_operator``)."""
        if querier not in self.querier_caps:
            raise PermissionDeniedError(f"querier {querier!r} is not authorised on this node")
        period = period or self.current_period()
        symbol = self.rule.unit.symbol
        own = self.operator_caps.get(querier, {}).get(operator or "")
        return BudgetCaps(
            period=period,
            querier=Cap(f"querier {querier} in {period}", self.querier_caps[querier], symbol,
                        "querier"),
            node=Cap(f"all queriers together in {period}", self.node_cap, symbol, "node"),
            lifetime=None if self.lifetime_cap is None else Cap(
                "all periods together (long-horizon cap)", self.lifetime_cap, symbol,
                "lifetime"),
            operator=None if own is None else Cap(
                f"operator {operator} of querier {querier} in {period}", own, symbol,
                "operator"),
            operator_name=operator or "",
        )
