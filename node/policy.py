"""What each querier may ask of this node, beyond its budget cap: the organisation's own rules.

A node's operator decides, per querier identity (the name in its verified certificate), which
catalogue measures and dimensions it may use, the smallest and largest ε it accepts per query,
and the most cells one query may release. The defaults allow the whole approved catalogue; the
smallest ε defaults to 0.001 so that a cap cannot be spent in millions of ledger rows.

Operators (the people behind the querier's certificate, who sign their own queries: see
``wire.attribution``) may get their own caps within the querier's, per period::

    [[queriers]]
    identity = "federation"
    cap_epsilon = "3"
    [queriers.operators]      # each operator's own cap; any operator not listed is refused
    alice = "1"
    bob = "1.5"

With ``operators`` (or ``require_operator = true``), a query no operator signed is refused.

A refusal is a :class:`NotSharedError` (a :class:`PermissionDeniedError` with its own reason,
``NOT_SHARED_BY_ORGANISATION``): the organisation's own decision, reported to the querier as
such rather than as a failure. Its message names the rule that refused, from the request and
node.toml only (never from the data), and it runs before the data or the budget are touched.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from privacy import (
    Catalogue,
    InvalidQueryError,
    NotSharedError,
    PermissionDeniedError,
    ValidatedQuery,
    format_micro,
    parse_epsilon,
)
from wire.tls import PeerIdentity

__all__ = ["DEFAULT_MIN_EPSILON_MICRO", "POLICY_KEYS", "AccessPolicy", "OperatorRequiredError",
           "parse_access"]

DEFAULT_MIN_EPSILON_MICRO = 1_000  # ε = 0.001
POLICY_KEYS = frozenset({"measures", "dimensions", "min_epsilon", "max_epsilon", "max_cells",
                         "operators", "require_operator"})


class OperatorRequiredError(PermissionDeniedError):
    """The querier's policy names operators, and no operator signed the query."""

    code = "OPERATOR_ATTRIBUTION_REQUIRED"


@dataclass(frozen=True)
class AccessPolicy:
    """One querier's rules; ``None`` for measures/dimensions means the whole catalogue."""

    measures: frozenset[str] | None = None
    dimensions: frozenset[str] | None = None
    min_epsilon_micro: int = DEFAULT_MIN_EPSILON_MICRO
    max_epsilon_micro: int | None = None
    max_cells: int | None = None
    # Each operator's own cap per period, as ε (µε); None: operators have no caps of their own.
    operator_caps_epsilon: Mapping[str, int] | None = None
    require_operator: bool = False

    @property
    def requires_operator(self) -> bool:
        """Whether a query must carry an operator's signature to be answered."""
        return self.require_operator or self.operator_caps_epsilon is not None

    def check_operator(self, querier: str, operator: str | None) -> None:
        """Refuse a query no operator signed when one must, or one an unlisted operator did."""
        if operator is None:
            if self.requires_operator:
                raise OperatorRequiredError(
                    f"node policy for querier {querier!r}: every query must be signed by the "
                    "operator who asks (`koepel query` with an operator certificate does)")
            return
        caps = self.operator_caps_epsilon
        if caps is not None and operator not in caps:
            listed = ", ".join(sorted(caps)) or "none"
            raise PermissionDeniedError(
                f"node policy for querier {querier!r}: operator {operator!r} may not ask this "
                f"node (operators with a cap here: {listed})")

    def check(self, querier: str, query: ValidatedQuery) -> None:
        """Raise :class:`NotSharedError` naming the first rule ``query`` breaks."""
        rule = f"not shared by this organisation: node policy for querier {querier!r}"
        if self.measures is not None and query.measure.name not in self.measures:
            allowed = ", ".join(sorted(self.measures)) or "none"
            raise NotSharedError(
                f"{rule}: measure {query.measure.name!r} is not allowed (allowed: {allowed})",
                rule="measure")
        if self.dimensions is not None:
            used = [d.name for d in query.dimensions] + sorted(query.filters)
            for name in used:
                if name not in self.dimensions:
                    allowed = ", ".join(sorted(self.dimensions)) or "none"
                    raise NotSharedError(
                        f"{rule}: dimension {name!r} is not allowed (allowed: {allowed})",
                        rule="dimension")
        epsilon = query.spec.epsilon_micro
        if epsilon < self.min_epsilon_micro:
            raise NotSharedError(
                f"{rule}: ε={format_micro(epsilon)} is below the smallest ε this node accepts "
                f"per query ({format_micro(self.min_epsilon_micro)})", rule="min_epsilon")
        if self.max_epsilon_micro is not None and epsilon > self.max_epsilon_micro:
            raise NotSharedError(
                f"{rule}: ε={format_micro(epsilon)} is above the largest ε this node accepts "
                f"per query ({format_micro(self.max_epsilon_micro)})", rule="max_epsilon")
        if self.max_cells is not None and len(query.cells) > self.max_cells:
            raise NotSharedError(
                f"{rule}: the query releases {len(query.cells)} cells; this node allows at "
                f"most {self.max_cells} per query", rule="max_cells")


def _names(where: str, value: Any, known: Mapping[str, object], what: str) -> frozenset[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{where}: {what}s must be a list of {what} names")
    unknown = sorted(set(value) - set(known))
    if unknown:
        raise ValueError(f"{where}: unknown {what}(s) {', '.join(unknown)}; the catalogue has "
                         f"{', '.join(sorted(known))}")
    return frozenset(value)


def _epsilon(where: str, entry: Mapping[str, Any], key: str) -> int | None:
    if key not in entry:
        return None
    try:
        return parse_epsilon(str(entry[key]), field=key)
    except InvalidQueryError as exc:
        raise ValueError(f"{where}: {exc}") from None


def parse_access(where: str, entry: Mapping[str, Any], catalogue: Catalogue) -> AccessPolicy:
    """The policy keys of one ``[[queriers]]`` entry; ``ValueError`` names what is wrong."""
    measures = (_names(where, entry["measures"], catalogue.measures, "measure")
                if "measures" in entry else None)
    dimensions = (_names(where, entry["dimensions"], catalogue.dimensions, "dimension")
                  if "dimensions" in entry else None)
    low = _epsilon(where, entry, "min_epsilon")
    high = _epsilon(where, entry, "max_epsilon")
    smallest = DEFAULT_MIN_EPSILON_MICRO if low is None else low
    if high is not None and smallest > high:
        raise ValueError(f"{where}: min_epsilon ({format_micro(smallest)}) is larger than "
                         "max_epsilon")
    max_cells = entry.get("max_cells")
    if max_cells is not None and (isinstance(max_cells, bool) or not isinstance(max_cells, int)
                                  or not 1 <= max_cells <= catalogue.max_cells):
        raise ValueError(f"{where}: max_cells must be a whole number from 1 to "
                         f"{catalogue.max_cells} (the catalogue's own limit)")
    require = entry.get("require_operator", False)
    if not isinstance(require, bool):
        raise ValueError(f"{where}: require_operator must be true or false")
    return AccessPolicy(
        measures=measures, dimensions=dimensions,
        min_epsilon_micro=smallest,
        max_epsilon_micro=high, max_cells=max_cells,
        operator_caps_epsilon=_operator_caps(where, entry), require_operator=require,
    )


def _operator_caps(where: str, entry: Mapping[str, Any]) -> dict[str, int] | None:
    """``[queriers.operators]``: operator name → its cap, each within the querier's own."""
    if "operators" not in entry:
        return None
    table = entry["operators"]
    if not isinstance(table, Mapping):
        raise ValueError(f"{where}: operators must be a table of operator = \"cap ε\"")
    querier_cap = _epsilon(where, entry, "cap_epsilon")
    caps: dict[str, int] = {}
    for name, value in table.items():
        if PeerIdentity.from_uri(PeerIdentity("operator", name).uri) is None:
            raise ValueError(f"{where}: operator names are the names in their certificates: "
                             "1–63 letters, digits, '.', '_' or '-'")
        try:
            cap = parse_epsilon(str(value), field=f"operators.{name}")
        except InvalidQueryError as exc:
            raise ValueError(f"{where}: {exc}") from None
        if querier_cap is not None and cap > querier_cap:
            raise ValueError(f"{where}: operator {name!r} has a cap of {format_micro(cap)}, "
                             f"above the querier's own cap of {format_micro(querier_cap)}; an "
                             "operator's cap lies within its querier's")
        caps[name] = cap
    return caps
