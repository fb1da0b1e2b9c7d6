"""What each querier may ask of this node, beyond its budget cap: the organisation's own rules.

A node's operator decides, per querier identity (the name in its verified certificate), which
catalogue measures and dimensions it may use, the smallest and largest ε it accepts per query,
and the most cells one query may release. The defaults allow the whole approved catalogue; the
smallest ε defaults to 0.001 so that a cap cannot be spent in millions of ledger rows.

A refusal is a :class:`PermissionDeniedError` whose message names the rule that refused, from
the request and node.toml only (never from the data), and runs before the data or the budget
are touched.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from privacy import (
    Catalogue,
    InvalidQueryError,
    PermissionDeniedError,
    ValidatedQuery,
    format_micro,
    parse_epsilon,
)

__all__ = ["DEFAULT_MIN_EPSILON_MICRO", "POLICY_KEYS", "AccessPolicy", "parse_access"]

DEFAULT_MIN_EPSILON_MICRO = 1_000  # ε = 0.001
POLICY_KEYS = frozenset({"measures", "dimensions", "min_epsilon", "max_epsilon", "max_cells"})


@dataclass(frozen=True)
class AccessPolicy:
    """One querier's rules; ``None`` for measures/dimensions means the whole catalogue."""

    measures: frozenset[str] | None = None
    dimensions: frozenset[str] | None = None
    min_epsilon_micro: int = DEFAULT_MIN_EPSILON_MICRO
    max_epsilon_micro: int | None = None
    max_cells: int | None = None

    def check(self, querier: str, query: ValidatedQuery) -> None:
        """Raise :class:`PermissionDeniedError` naming the first rule ``query`` breaks."""
        rule = f"node policy for querier {querier!r}"
        if self.measures is not None and query.measure.name not in self.measures:
            allowed = ", ".join(sorted(self.measures)) or "none"
            raise PermissionDeniedError(
                f"{rule}: measure {query.measure.name!r} is not allowed (allowed: {allowed})")
        if self.dimensions is not None:
            used = [d.name for d in query.dimensions] + sorted(query.filters)
            for name in used:
                if name not in self.dimensions:
                    allowed = ", ".join(sorted(self.dimensions)) or "none"
                    raise PermissionDeniedError(
                        f"{rule}: dimension {name!r} is not allowed (allowed: {allowed})")
        epsilon = query.spec.epsilon_micro
        if epsilon < self.min_epsilon_micro:
            raise PermissionDeniedError(
                f"{rule}: ε={format_micro(epsilon)} is below the smallest ε this node accepts "
                f"per query ({format_micro(self.min_epsilon_micro)})")
        if self.max_epsilon_micro is not None and epsilon > self.max_epsilon_micro:
            raise PermissionDeniedError(
                f"{rule}: ε={format_micro(epsilon)} is above the largest ε this node accepts "
                f"per query ({format_micro(self.max_epsilon_micro)})")
        if self.max_cells is not None and len(query.cells) > self.max_cells:
            raise PermissionDeniedError(
                f"{rule}: the query releases {len(query.cells)} cells; this node allows at "
                f"most {self.max_cells} per query")


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
    return AccessPolicy(
        measures=measures, dimensions=dimensions,
        min_epsilon_micro=smallest,
        max_epsilon_micro=high, max_cells=max_cells,
    )
