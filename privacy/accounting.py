"""How privacy losses are measured, composed and reported: the rule a catalogue chooses.

* ``pure`` — losses are ε (pure differential privacy). Charges add up: the basic composition
  theorem of pure DP. Reported as ε.
* ``zcdp`` — losses are ρ (zero-concentrated DP, Bun & Steinke 2016). Charges add up: the
  composition theorem of zCDP, much tighter than adding ε for many releases. A total ρ is
  reported as (ε, δ) at the catalogue's δ through OpenDP's ``make_zCDP_to_approxDP``.

Amounts are integers of micro-units (µε or µρ): a ledger an auditor re-adds gives the same total
to the unit. Every conversion is conservative: a charge or a reported ε is rounded *up*, a budget
derived from an ε is rounded *down*, so the books never understate a loss.

A querier always states its willingness as an ε (at the catalogue's δ under zCDP); node caps are
stated as ε as well. Under zCDP each is turned into the largest ρ whose (ε, δ) does not exceed
it, and everything is then charged and compared in ρ.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from fractions import Fraction
from functools import lru_cache
from typing import Any

import opendp.prelude as dp

from privacy.budget import MICRO, format_micro, micro_from_float_ceil
from privacy.catalogue import Accounting, Catalogue

__all__ = ["LossRule", "LossUnit"]

dp.enable_features("contrib")


class LossUnit(Enum):
    """The unit of the integers in budgets, charges and the ledger."""

    EPSILON = "epsilon"
    RHO = "rho"

    @property
    def symbol(self) -> str:
        return "ε" if self is LossUnit.EPSILON else "ρ"


def _float_at_most(value: Decimal) -> float:
    """The largest float not above ``value`` (so a δ never grows in conversion)."""
    result = float(value)
    while Fraction(result) > Fraction(value):
        result = math.nextafter(result, 0.0)
    return result


@lru_cache(maxsize=1)
def _unit_gaussian() -> tuple[Any, Any]:
    """A Gaussian measurement of scale 1 (ρ = d_in²/2) and its (ε, δ) cast, both from OpenDP.

    It is used only for its privacy map: evaluating it at ``d_in = √(2ρ)`` hands OpenDP's
    zCDP → (ε, δ) conversion a loss of (at least) ρ. Nothing is ever sampled from it.
    """
    gaussian = dp.m.make_gaussian(
        dp.atom_domain(T=float, nan=False), dp.absolute_distance(T=float), scale=1.0
    )
    return gaussian, dp.c.make_zCDP_to_approxDP(gaussian)


@lru_cache(maxsize=65536)
def _zcdp_epsilon(rho_micro: int, delta: float) -> float:
    """OpenDP's ε at ``delta`` for a total of ``rho_micro`` µρ (never below the exact value)."""
    if rho_micro == 0:
        return 0.0
    gaussian, approx = _unit_gaussian()
    rho = Fraction(rho_micro, MICRO)
    d_in = math.sqrt(2 * rho_micro / MICRO)
    while Fraction(gaussian.map(d_in)) < rho:  # the map must see at least ρ
        d_in = math.nextafter(d_in, math.inf)
    return float(approx.map(d_in).epsilon(delta))


@dataclass(frozen=True)
class LossRule:
    """The catalogue's accounting rule: its unit, how ε converts to it and back."""

    accounting: Accounting
    delta: Decimal | None = None

    def __post_init__(self) -> None:
        if (self.accounting is Accounting.ZCDP) != (self.delta is not None):
            raise ValueError("zCDP accounting needs a δ; pure ε accounting takes none")

    @classmethod
    def of(cls, catalogue: Catalogue) -> LossRule:
        return cls(catalogue.accounting, catalogue.delta)

    @property
    def unit(self) -> LossUnit:
        return LossUnit.EPSILON if self.accounting is Accounting.PURE else LossUnit.RHO

    def epsilon_of(self, units_micro: int) -> int:
        """The ε (µε, rounded up) that a total of ``units_micro`` amounts to."""
        if units_micro < 0:
            raise ValueError("a privacy loss is never negative")
        if self.accounting is Accounting.PURE:
            return units_micro
        assert self.delta is not None
        return micro_from_float_ceil(_zcdp_epsilon(units_micro, _float_at_most(self.delta)))

    def budget_from_epsilon(self, epsilon_micro: int) -> int:
        """The largest loss (µ-units) whose ε does not exceed ``epsilon_micro``."""
        if epsilon_micro < 0:
            raise ValueError("an ε is never negative")
        if self.accounting is Accounting.PURE:
            return epsilon_micro
        return _rho_budget(epsilon_micro, self.delta)

    def describe(self, units_micro: int) -> str:
        """``ε=0.5``, or ``ρ=0.0172 (ε≤0.830243 at δ=1e-6)`` for people and messages."""
        if self.accounting is Accounting.PURE:
            return f"ε={format_micro(units_micro)}"
        return (f"ρ={format_micro(units_micro)} "
                f"(ε≤{format_micro(self.epsilon_of(units_micro))} at δ={self.delta})")


@lru_cache(maxsize=4096)
def _rho_budget(epsilon_micro: int, delta: Decimal | None) -> int:
    """Binary search over integer µρ for the largest ρ with ε(ρ, δ) ≤ ε (ε is monotone in ρ)."""
    rule = LossRule(Accounting.ZCDP, delta)
    if epsilon_micro == 0:
        return 0
    low, high = 0, max(1, epsilon_micro)
    while rule.epsilon_of(high) <= epsilon_micro:  # ε ≥ ρ in practice; guard anyway
        low, high = high, high * 2
    while high - low > 1:
        middle = (low + high) // 2
        if rule.epsilon_of(middle) <= epsilon_micro:
            low = middle
        else:
            high = middle
    return low
