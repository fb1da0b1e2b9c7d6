"""Domain errors with stable codes.

Every error that may reach a querier carries a stable machine-readable ``code`` and a public message
built only from the request and the catalogue, never from records. The gRPC boundary maps each class
to a status code in one place (``node.service.errors``); anything else becomes INTERNAL with a
generic text.
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "BudgetExhaustedError",
    "CatalogueError",
    "CatalogueVersionError",
    "InvalidQueryError",
    "KoepelError",
    "NotSharedError",
    "PermissionDeniedError",
    "QueryConflictError",
]


class KoepelError(Exception):
    """Base of every koepel domain error; ``str(err)`` is safe to show to the caller."""

    code: ClassVar[str] = "KOEPEL_ERROR"


class InvalidQueryError(KoepelError):
    """The query does not fit the catalogue or the query model (INVALID_ARGUMENT)."""

    code = "INVALID_QUERY"


class CatalogueError(KoepelError):
    """A catalogue file is malformed or uses something the node cannot compile."""

    code = "INVALID_CATALOGUE"


class CatalogueVersionError(KoepelError):
    """The query names a catalogue version the node's operator has not approved."""

    code = "CATALOGUE_VERSION_NOT_APPROVED"


class PermissionDeniedError(KoepelError):
    """The querier may not ask this (PERMISSION_DENIED)."""

    code = "PERMISSION_DENIED"


class NotSharedError(PermissionDeniedError):
    """The organisation chose not to share this with this querier (node.toml ``[[queriers]]``).

    Not an error of the querier's nor a fault of the node: a decision, reported as such with its
    own machine-readable reason so that a federation shows "not shared by this organisation"
    rather than a failure. ``rule`` names which of the organisation's rules applied.
    """

    code = "NOT_SHARED_BY_ORGANISATION"

    def __init__(self, message: str, *, rule: str) -> None:
        self.rule = rule  # "measure", "dimension", "min_epsilon", "max_epsilon", "max_cells"
        super().__init__(message)


class QueryConflictError(KoepelError):
    """A query id was reused with different content (ALREADY_EXISTS)."""

    code = "QUERY_ID_REUSED"


class BudgetExhaustedError(KoepelError):
    """The charge would exceed a cap; carries its numbers so callers can act on them.

    Becomes FAILED_PRECONDITION with reason ``PRIVACY_BUDGET_EXHAUSTED`` at the gRPC boundary
    (RESOURCE_EXHAUSTED is kept for rate and size limits, which clients retry).
    """

    code = "PRIVACY_BUDGET_EXHAUSTED"

    def __init__(self, *, cap: str, remaining_micro: int, requested_micro: int,
                 unit: str = "ε", scope: str = "querier") -> None:
        self.cap = cap
        self.remaining_micro = remaining_micro
        self.requested_micro = requested_micro
        self.unit = unit  # "ε" or "ρ": the unit of the two amounts
        self.scope = scope  # "querier", "node" (all queriers, one period) or "lifetime"
        advice = ("ask for a smaller ε or wait for the next period" if scope != "lifetime"
                  else "this node's long-horizon budget is spent; its operator must decide")
        super().__init__(
            f"privacy budget exhausted for {cap}: requested {unit}={requested_micro / 1e6:g}, "
            f"remaining {unit}={remaining_micro / 1e6:g}; {advice}"
        )
