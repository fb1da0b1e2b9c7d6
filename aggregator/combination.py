"""Combining the nodes' answers into one sector result.

Each answer is checked before it is combined (the right node, query id, catalogue version,
cells and vectors); an answer that fails is reported as an error by name and left out, and its
receipt is still kept, because the node charged for it. Nodes that did not answer are listed
with their reason and contribute nothing: the sector figure is the sum over the nodes that
answered, and the quorum says whether that may stand for the sector. Nothing is imputed.

Per statistic a *cell combiner* turns the checked answers into cells. Counts and sums add up
(``privacy.combine_vectors``); means and rates are ratios of the added-up sums and counts
(``privacy.ratio``). Quantiles from summed histograms will be one more combiner in
:data:`COMBINERS`; nothing else here needs to change for them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from aggregator.fanout import NodeOutcome, NodeReply
from aggregator.quorum import QuorumPolicy, evaluate_quorum
from aggregator.results import CellResult, NodeReceipt, NodeReport, SectorResult
from privacy import (
    Estimate,
    Feasible,
    NodeVector,
    NoiseShape,
    Statistic,
    ValidatedQuery,
    combine_vectors,
    ratio,
    ratio_reliable,
    reliability_note,
)
from protos import pb2

__all__ = ["COMBINERS", "CellCombiner", "combine_replies", "feasible_range", "node_vector"]

CellCombiner = Callable[[ValidatedQuery, Sequence[pb2.QueryResponse]], list[CellResult]]

_SHAPES = {
    pb2.NOISE_KIND_DISCRETE_LAPLACE: NoiseShape.LAPLACE,
    pb2.NOISE_KIND_DISCRETE_GAUSSIAN: NoiseShape.GAUSSIAN,
}
_VECTORS = {
    Statistic.COUNT: ("count",),
    Statistic.SUM: ("sum",),
    Statistic.MEAN: ("sum", "count"),
}


def node_vector(message: pb2.NoisyVector) -> NodeVector:
    """A released vector as ``privacy`` combines it (an unknown noise kind: normal interval)."""
    shape = _SHAPES.get(message.noise)
    return NodeVector(list(message.values), message.noise_variance,
                      message.fixed_point_scale or 1, shape,
                      message.noise_scale if shape is not None else 0.0)


def feasible_range(query: ValidatedQuery) -> Feasible:
    """What a true value can be: counts ≥ 0, sums of the bounds' sign, means within the bounds."""
    lower, upper = float(query.measure.lower), float(query.measure.upper)
    statistic = query.spec.statistic
    if statistic is Statistic.COUNT:
        return Feasible(0.0, math.inf)
    if statistic is Statistic.SUM:
        return Feasible(0.0 if lower >= 0 else -math.inf, 0.0 if upper <= 0 else math.inf)
    return Feasible(lower, upper)


def _cell(key: tuple[str, ...], estimate: Estimate, feasible: Feasible, reliable: bool,
          note: str, sum_estimate: float = math.nan,
          count_estimate: float = math.nan) -> CellResult:
    low, high = estimate.interval
    shown, shown_low, shown_high = feasible.clip_estimate(estimate.value, low, high)
    return CellResult(key, shown, estimate.standard_error, shown_low, shown_high, reliable,
                      note, estimate.value, low, high, sum_estimate, count_estimate)


def _vectors(responses: Sequence[pb2.QueryResponse], name: str) -> list[NodeVector]:
    return [node_vector(getattr(response, name)) for response in responses]


def _combine_total(query: ValidatedQuery,
                   responses: Sequence[pb2.QueryResponse]) -> list[CellResult]:
    name = "count" if query.spec.statistic is Statistic.COUNT else "sum"
    feasible = feasible_range(query)
    totals = combine_vectors(_vectors(responses, name), len(query.cells))
    return [_cell(key, e, feasible, e.reliable, reliability_note(e))
            for key, e in zip(query.cells, totals, strict=True)]


def _combine_mean(query: ValidatedQuery,
                  responses: Sequence[pb2.QueryResponse]) -> list[CellResult]:
    n = len(query.cells)
    feasible = feasible_range(query)
    sums = combine_vectors(_vectors(responses, "sum"), n)
    counts = combine_vectors(_vectors(responses, "count"), n)
    cells = []
    for key, s, c in zip(query.cells, sums, counts, strict=True):
        r = ratio(s, c)
        cells.append(_cell(key, r, feasible, ratio_reliable(s, c, r), reliability_note(r, c),
                           s.value, c.value))
    return cells


COMBINERS: dict[Statistic, CellCombiner] = {
    Statistic.COUNT: _combine_total,
    Statistic.SUM: _combine_total,
    Statistic.MEAN: _combine_mean,
}


def _problem(response: pb2.QueryResponse, node_id: str, query_id: str,
             query: ValidatedQuery) -> str:
    """Why an answer cannot be combined ("" when it can)."""
    if response.node_id != node_id:
        return f"answered as node {response.node_id[:64]!r}; check its address in federation.toml"
    if response.query_id != query_id:
        return "answered another query id"
    if response.catalogue_version != query.spec.catalogue_version:
        return f"answered with catalogue version {response.catalogue_version[:32]!r}"
    if [tuple(c.key) for c in response.cells] != list(query.cells):
        return "answer does not have the query's cells"
    for name in _VECTORS[query.spec.statistic]:
        if not response.HasField(name):
            return f"answer lacks its {name} vector"
        vector: pb2.NoisyVector = getattr(response, name)
        if len(vector.values) != len(query.cells):
            return f"answer's {name} vector does not have the query's number of cells"
        if not (math.isfinite(vector.noise_variance) and vector.noise_variance >= 0
                and math.isfinite(vector.noise_scale) and vector.noise_scale >= 0):
            return f"answer's {name} vector has no valid noise description"
        expected_scale = 1 if name == "count" else query.catalogue.fixed_point_scale
        if (vector.fixed_point_scale or 1) != expected_scale:
            return f"answer's {name} vector uses another fixed-point scale"
    return ""


def combine_replies(*, result_id: str, query_id: str, query: ValidatedQuery,
                    replies: Sequence[NodeReply], policy: QuorumPolicy, created_at: str,
                    federation: str = "") -> SectorResult:
    """Check and combine the answering nodes' releases cell by cell; report every node."""
    reports: list[NodeReport] = []
    receipts: list[NodeReceipt] = []
    combined: list[pb2.QueryResponse] = []
    seen: set[str] = set()
    for reply in replies:
        node_id = reply.node.node_id
        response = reply.response
        if reply.outcome is not NodeOutcome.ANSWERED or response is None:
            reports.append(NodeReport(node_id, reply.outcome, reply.reason, 0, reply.attempts,
                                      elapsed_seconds=reply.elapsed_seconds))
            continue
        receipts.append(NodeReceipt(node_id, query_id, created_at,
                                    response.SerializeToString(deterministic=True)))
        problem = "listed twice in the replies" if node_id in seen else _problem(
            response, node_id, query_id, query)
        seen.add(node_id)
        outcome = NodeOutcome.ERROR if problem else NodeOutcome.ANSWERED
        if not problem:
            combined.append(response)
        reports.append(NodeReport(
            node_id, outcome, problem or ("replayed its stored answer (no new charge)"
                                          if response.replayed else ""),
            response.cost_micro_epsilon, reply.attempts, response.replayed,
            response.catalogue_version[:32], reply.elapsed_seconds))
    cells = COMBINERS[query.spec.statistic](query, combined)
    status = evaluate_quorum(policy, [reply.node for reply in replies],
                             [r.node_id for r in reports if r.outcome is NodeOutcome.ANSWERED])
    return SectorResult(
        result_id=result_id,
        created_at=created_at,
        spec=query.spec,
        group_by=query.spec.group_by,
        cells=tuple(cells),
        nodes=tuple(reports),
        complete=status.complete,
        query_id=query_id,
        incomplete_reasons=status.reasons,
        answered_node_share=status.node_share,
        answered_size_share=status.size_share,
        federation=federation,
        receipts=tuple(receipts),
    )
