"""Exact privacy-loss amounts.

Budgets and charges are integers of micro-ε (1 ε = 1,000,000 µε): sums of floats drift, and a
ledger an auditor re-adds must give the same total to the unit. Costs from OpenDP's privacy maps
(floats) are converted by rounding *up*, so the charge never understates the loss.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction

from privacy.errors import BudgetExhaustedError, InvalidQueryError

__all__ = [
    "MICRO",
    "Cap",
    "float_at_most",
    "format_micro",
    "micro_from_float_ceil",
    "parse_epsilon",
]

MICRO = 1_000_000
MAX_QUERY_EPSILON_MICRO = 20 * MICRO


def parse_epsilon(text: str, *, field: str = "epsilon",
                  limit: int | None = MAX_QUERY_EPSILON_MICRO) -> int:
    """Parse a decimal ε (``"0.5"``) into micro-ε, refusing anything not exact and positive.

    The wire carries ε as a decimal string so that no float rounding happens before accounting.
    """
    try:
        value = Decimal(text.strip())
    except (InvalidOperation, AttributeError):
        raise InvalidQueryError(f"{field} must be a decimal number such as 0.5") from None
    if not value.is_finite():
        raise InvalidQueryError(f"{field} must be a finite decimal number")
    try:
        micro = value * MICRO
    except ArithmeticError:  # e.g. 1e999999999 overflows the decimal context
        raise InvalidQueryError(
            f"{field} must be at most {MAX_QUERY_EPSILON_MICRO // MICRO}") from None
    if micro != micro.to_integral_value():
        raise InvalidQueryError(f"{field} has more than 6 decimals; round it to micro-ε")
    micro_int = int(micro)
    if micro_int <= 0:
        raise InvalidQueryError(f"{field} must be greater than 0")
    if limit is not None and micro_int > limit:
        raise InvalidQueryError(
            f"{field} must be at most {format_micro(limit)}; "
            "larger values give no meaningful privacy"
        )
    return micro_int


def format_micro(micro: int) -> str:
    """Render micro-ε as an exact decimal string (``500000`` → ``"0.5"``)."""
    return format((Decimal(micro) / MICRO).normalize(), "f")


def micro_from_float_ceil(value: float) -> int:
    """Convert a privacy-map result to micro-ε, rounding up over the float's exact value."""
    if not math.isfinite(value) or value < 0:
        raise ValueError("privacy loss must be finite and non-negative")
    return math.ceil(Fraction(value) * MICRO)


def float_at_most(micro: int) -> float:
    """The largest float whose exact value does not exceed ``micro`` µε.

    Calibrating a mechanism against this float guarantees that the rounded-up charge of its
    privacy map never exceeds what the querier asked for.
    """
    target = Fraction(micro, MICRO)
    value = micro / MICRO
    while Fraction(value) > target:
        value = math.nextafter(value, 0.0)
    return value


@dataclass(frozen=True)
class Cap:
    """A budget cap: a name for messages, its size in micro-units, its unit and its scope."""

    name: str
    micro: int
    unit: str = "ε"
    scope: str = "querier"

    def __post_init__(self) -> None:
        if self.micro < 0:
            raise ValueError(f"cap {self.name!r} must not be negative, got {self.micro}")

    def check(self, spent_micro: int, cost_micro: int) -> None:
        """Raise :class:`BudgetExhaustedError` if ``cost`` does not fit next to ``spent``."""
        remaining = max(0, self.micro - spent_micro)
        if cost_micro > remaining:
            raise BudgetExhaustedError(
                cap=self.name, remaining_micro=remaining, requested_micro=cost_micro,
                unit=self.unit, scope=self.scope,
            )
