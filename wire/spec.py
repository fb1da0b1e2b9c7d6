"""A query spec on the wire: one reading and one writing of ``pb2.QuerySpec``, for both ends.

The node parses what the aggregator writes; both must agree to the letter, so there is one copy
(it used to be written twice, once in each package, when they had nowhere to share it).
"""

from __future__ import annotations

from privacy import InvalidQueryError, QuerySpec, Statistic, format_micro, parse_epsilon
from protos import pb2

__all__ = ["spec_from_proto", "spec_to_proto"]

_TO_WIRE = {
    Statistic.COUNT: pb2.STATISTIC_COUNT,
    Statistic.SUM: pb2.STATISTIC_SUM,
    Statistic.MEAN: pb2.STATISTIC_MEAN,
    Statistic.HISTOGRAM: pb2.STATISTIC_HISTOGRAM,
}
_FROM_WIRE = {v: k for k, v in _TO_WIRE.items()}


def spec_from_proto(message: pb2.QuerySpec) -> QuerySpec:
    """Parse a wire query; malformed fields raise :class:`InvalidQueryError`."""
    statistic = _FROM_WIRE.get(message.statistic)
    if statistic is None:
        raise InvalidQueryError("statistic must be COUNT, SUM, MEAN or HISTOGRAM")
    return QuerySpec(
        catalogue_version=message.catalogue_version,
        measure=message.measure,
        statistic=statistic,
        group_by=tuple(message.group_by),
        filters=tuple((f.dimension, tuple(f.values)) for f in message.filters),
        period=message.period,
        epsilon_micro=parse_epsilon(message.epsilon),
    )


def spec_to_proto(spec: QuerySpec) -> pb2.QuerySpec:
    return pb2.QuerySpec(
        catalogue_version=spec.catalogue_version,
        measure=spec.measure,
        statistic=_TO_WIRE[spec.statistic],
        group_by=list(spec.group_by),
        filters=[pb2.Filter(dimension=d, values=list(v)) for d, v in spec.filters],
        period=spec.period,
        epsilon=format_micro(spec.epsilon_micro),
    )
