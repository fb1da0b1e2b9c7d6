"""Conversions between wire messages and the aggregator's domain types.

The query spec's parsing mirrors ``node.serde`` on purpose: node and aggregator meet only
through ``protos/`` and may not import each other.
"""

from __future__ import annotations

import math

from aggregator.fanout import NodeOutcome
from aggregator.results import SectorResult
from privacy import InvalidQueryError, QuerySpec, Statistic, format_micro, parse_epsilon
from protos import pb2

__all__ = ["result_to_proto", "spec_from_proto", "spec_to_proto"]

_TO_WIRE = {
    Statistic.COUNT: pb2.STATISTIC_COUNT,
    Statistic.SUM: pb2.STATISTIC_SUM,
    Statistic.MEAN: pb2.STATISTIC_MEAN,
    Statistic.HISTOGRAM: pb2.STATISTIC_HISTOGRAM,
}
_FROM_WIRE = {v: k for k, v in _TO_WIRE.items()}
_OUTCOMES = {
    NodeOutcome.ANSWERED: pb2.NODE_OUTCOME_ANSWERED,
    NodeOutcome.UNAVAILABLE: pb2.NODE_OUTCOME_UNAVAILABLE,
    NodeOutcome.DEADLINE_EXCEEDED: pb2.NODE_OUTCOME_DEADLINE_EXCEEDED,
    NodeOutcome.BUDGET_EXHAUSTED: pb2.NODE_OUTCOME_BUDGET_EXHAUSTED,
    # No wire value of its own yet: REFUSED, with the reason NOT_SHARED_BY_ORGANISATION first
    # (listed before REFUSED, so that a reverse mapping reads REFUSED back as REFUSED).
    NodeOutcome.NOT_SHARED: pb2.NODE_OUTCOME_REFUSED,
    NodeOutcome.REFUSED: pb2.NODE_OUTCOME_REFUSED,
    NodeOutcome.INVALID: pb2.NODE_OUTCOME_INVALID,
    NodeOutcome.ERROR: pb2.NODE_OUTCOME_ERROR,
}


def spec_from_proto(message: pb2.QuerySpec) -> QuerySpec:
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


def _finite(value: float) -> float:
    return value if math.isfinite(value) else math.nan


def result_to_proto(result: SectorResult) -> pb2.SectorResult:
    return pb2.SectorResult(
        result_id=result.result_id,
        created_at=result.created_at,
        spec=spec_to_proto(result.spec),
        group_by=list(result.group_by),
        cells=[
            pb2.SectorCell(
                key=list(c.key), estimate=c.estimate, standard_error=_finite(c.standard_error),
                ci_lower=_finite(c.ci_lower), ci_upper=_finite(c.ci_upper), reliable=c.reliable,
                sum_estimate=c.sum_estimate, count_estimate=c.count_estimate,
            )
            for c in result.cells
        ],
        nodes=[
            pb2.NodeStatus(node_id=n.node_id, outcome=_OUTCOMES[n.outcome], reason=n.reason,
                           cost_micro_epsilon=n.cost_micro)
            for n in result.nodes
        ],
        complete=result.complete,
        bin_edges=list(result.bin_edges),
        quantiles=[
            pb2.QuantileEstimate(key=list(q.key), probability=q.probability,
                                 estimate=_finite(q.estimate), ci_lower=_finite(q.ci_lower),
                                 ci_upper=_finite(q.ci_upper))
            for q in result.quantiles
        ],
    )
