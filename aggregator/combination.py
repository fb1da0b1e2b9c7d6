"""Combining the nodes' answers into one sector result.

Each answer is checked before it is combined (the right node, query id, catalogue version,
cells and vectors); an answer that fails is reported as an error by name and left out, and its
receipt is still kept, because the node charged for it. Nodes that did not answer are listed
with their reason and contribute nothing: the sector figure is the sum over the nodes that
answered, and the quorum says whether that may stand for the sector. Nothing is imputed.

Per statistic a *cell combiner* turns the checked answers into cells. Counts and sums add up
(``privacy.combine_vectors``); means and rates are ratios of the added-up sums and counts
(``privacy.ratio``); histograms add up bin by bin, and their quartiles are read off the summed
bins of each cell (``privacy.quantile``: post-processing, no further privacy loss).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from aggregator.fanout import NodeOutcome, NodeReply
from aggregator.quorum import QuorumPolicy, evaluate_quorum
from aggregator.results import CellResult, NodeReceipt, NodeReport, QuantileResult, SectorResult
from privacy import (
    Estimate,
    Feasible,
    NodeVector,
    NoiseShape,
    Statistic,
    ValidatedQuery,
    combine_vectors,
    publishable,
    quantile,
    ratio,
    ratio_publishable,
)
from protos import pb2

__all__ = ["CLAMPED_NOTE_SHARE", "COMBINERS", "QUARTILES", "CellCombiner", "Combined",
           "combine_replies", "feasible_range", "node_vector", "releases_clamped"]

QUARTILES = (0.25, 0.5, 0.75)
CLAMPED_NOTE_SHARE = 0.05  # a cell says so when at least this share of its people was clamped


@dataclass(frozen=True)
class Combined:
    """What a cell combiner makes of the checked answers: cells, and quantiles if any."""

    cells: tuple[CellResult, ...]
    quantiles: tuple[QuantileResult, ...] = ()


CellCombiner = Callable[[ValidatedQuery, Sequence[pb2.QueryResponse]], Combined]

_SHAPES = {
    pb2.NOISE_KIND_DISCRETE_LAPLACE: NoiseShape.LAPLACE,
    pb2.NOISE_KIND_DISCRETE_GAUSSIAN: NoiseShape.GAUSSIAN,
}
_VECTORS = {
    Statistic.COUNT: ("count",),
    Statistic.SUM: ("sum",),
    Statistic.MEAN: ("sum", "count"),
    Statistic.HISTOGRAM: ("histogram",),
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
    if statistic in (Statistic.COUNT, Statistic.HISTOGRAM):
        return Feasible(0.0, math.inf)
    if statistic is Statistic.SUM:
        return Feasible(0.0 if lower >= 0 else -math.inf, 0.0 if upper <= 0 else math.inf)
    return Feasible(lower, upper)


def releases_clamped(query: ValidatedQuery) -> bool:
    """Whether the nodes release a clamped count beside this query's statistic."""
    return query.spec.statistic is not Statistic.COUNT and query.measure.clamped_share > 0


@dataclass(frozen=True)
class _Clamped:
    """One cell's clamped share (published, clipped to [0, 1]) and its note."""

    share: float = math.nan
    lower: float = math.nan
    upper: float = math.nan
    note: str = ""


def _clamped(query: ValidatedQuery, clamped: Estimate,
             denominator: Estimate | None) -> _Clamped:
    """The share of people clamped at the bounds, and a note when it may move the figure.

    The share is ``clamped / people`` (:func:`privacy.ratio`, exact-noise interval, clipped to
    [0, 1] like any share). A sum has no released number of people: its note gives the clamped
    count itself, when its interval excludes 0.
    """
    bounds = f"[{query.measure.lower}, {query.measure.upper}]"
    if denominator is None:
        low, high = clamped.interval
        if not (math.isfinite(low) and low > 0):
            return _Clamped()
        return _Clamped(note=(f"about {clamped.value:,.0f} people [{max(low, 0):,.0f}, "
                              f"{high:,.0f}] had a value beyond {bounds}, counted at the "
                              "nearest bound"))
    share = ratio(clamped, denominator)
    low, high = share.interval
    value, low, high = Feasible(0.0, 1.0).clip_estimate(share.value, low, high)
    note = ""
    if math.isfinite(value) and value >= CLAMPED_NOTE_SHARE:
        note = (f"{value:.0%} of the people [{low:.0%}, {high:.0%}] had a value beyond "
                f"{bounds}, counted at the nearest bound: the figure is of the clamped values")
    return _Clamped(value, low, high, note)


def _cell(key: tuple[str, ...], estimate: Estimate, feasible: Feasible, reliable: bool,
          note: str, sum_estimate: float = math.nan,
          count_estimate: float = math.nan, clamped: _Clamped = _Clamped()) -> CellResult:
    low, high = estimate.interval
    shown, shown_low, shown_high = feasible.clip_estimate(estimate.value, low, high)
    return CellResult(key, shown, estimate.standard_error, shown_low, shown_high, reliable,
                      note, estimate.value, low, high, sum_estimate, count_estimate,
                      clamped.share, clamped.lower, clamped.upper, clamped.note)


def _clamped_counts(query: ValidatedQuery,
                    responses: Sequence[pb2.QueryResponse]) -> list[Estimate] | None:
    """The summed clamped counts per cell, or None when the nodes release none."""
    if not releases_clamped(query):
        return None
    return combine_vectors(_vectors(responses, "clamped"), len(query.cells))


def _vectors(responses: Sequence[pb2.QueryResponse], name: str) -> list[NodeVector]:
    return [node_vector(getattr(response, name)) for response in responses]


def _combine_total(query: ValidatedQuery, responses: Sequence[pb2.QueryResponse]) -> Combined:
    name = "count" if query.spec.statistic is Statistic.COUNT else "sum"
    feasible = feasible_range(query)
    totals = combine_vectors(_vectors(responses, name), len(query.cells))
    clamped = _clamped_counts(query, responses)
    return Combined(tuple(
        _cell(key, e, feasible, *publishable(e),
              clamped=_Clamped() if clamped is None else _clamped(query, clamped[i], None))
        for i, (key, e) in enumerate(zip(query.cells, totals, strict=True))))


def _combine_mean(query: ValidatedQuery, responses: Sequence[pb2.QueryResponse]) -> Combined:
    n = len(query.cells)
    feasible = feasible_range(query)
    sums = combine_vectors(_vectors(responses, "sum"), n)
    counts = combine_vectors(_vectors(responses, "count"), n)
    clamped = _clamped_counts(query, responses)
    cells = []
    for i, (key, s, c) in enumerate(zip(query.cells, sums, counts, strict=True)):
        r = ratio(s, c)
        share = _Clamped() if clamped is None else _clamped(query, clamped[i], c)
        cells.append(_cell(key, r, feasible, *ratio_publishable(s, c, r), s.value, c.value,
                           share))
    return Combined(tuple(cells))


def _combine_histogram(query: ValidatedQuery,
                       responses: Sequence[pb2.QueryResponse]) -> Combined:
    """Sum the nodes' histograms bin by bin; read each cell's quartiles off the summed bins.

    Cells are (group-by key…, bin label), bins varying fastest, as the nodes release them. The
    quartiles' intervals are unions of whole bins (``privacy.quantile``), open above when they
    reach the top bin of a measure whose values may lie beyond its upper bound.
    """
    labels = query.measure.bin_labels
    edges = [float(e) for e in query.measure.bins]
    n_bins = len(labels)
    feasible = feasible_range(query)
    totals = combine_vectors(_vectors(responses, "histogram"), len(query.cells) * n_bins)
    clamped = _clamped_counts(query, responses)
    open_above = clamped is not None
    cells: list[CellResult] = []
    quantiles: list[QuantileResult] = []
    for i, key in enumerate(query.cells):
        per_bin = totals[i * n_bins:(i + 1) * n_bins]
        share = _Clamped() if clamped is None else _clamped(query, clamped[i], _total(per_bin))
        cells.extend(_cell((*key, label), e, feasible, *publishable(e), clamped=share)
                     for label, e in zip(labels, per_bin, strict=True))
        for p in QUARTILES:
            if not responses:
                quantiles.append(QuantileResult(key, p, math.nan, math.nan, math.nan))
                continue
            q = quantile(per_bin, edges, p)
            # Where people lie beyond the top bound (the catalogue counts them), a quartile in
            # the top bin may be above it: the interval is then open above.
            upper = math.inf if open_above and q.upper >= edges[-1] else q.upper
            quantiles.append(QuantileResult(key, p, q.value, q.lower, upper))
    return Combined(tuple(cells), tuple(quantiles))


def _total(bins: Sequence[Estimate]) -> Estimate:
    """The people of one cell: the sum of its noisy bins (independent draws add up)."""
    return Estimate(math.fsum(b.value for b in bins), math.fsum(b.variance for b in bins),
                    tuple(t for b in bins for t in b.noise),
                    bins[0].lattice if bins and all(b.noise for b in bins) else 0.0)


COMBINERS: dict[Statistic, CellCombiner] = {
    Statistic.COUNT: _combine_total,
    Statistic.SUM: _combine_total,
    Statistic.MEAN: _combine_mean,
    Statistic.HISTOGRAM: _combine_histogram,
}


def _cells_of(query: ValidatedQuery, name: str) -> int:
    """How many values a node's ``name`` vector holds for ``query``."""
    if name == "histogram":
        return len(query.cells) * len(query.measure.bin_labels)
    return len(query.cells)


def _expected_vectors(query: ValidatedQuery) -> tuple[str, ...]:
    """The vectors an answer to ``query`` must carry."""
    names = _VECTORS[query.spec.statistic]
    return (*names, "clamped") if releases_clamped(query) else names


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
    histogram = query.spec.statistic is Statistic.HISTOGRAM
    if histogram and tuple(response.bins) != query.measure.bin_labels:
        return "answer does not have the query's cells"  # its bins differ
    for name in _expected_vectors(query):
        if not response.HasField(name):
            return f"answer lacks its {name} vector"
        vector: pb2.NoisyVector = getattr(response, name)
        if len(vector.values) != _cells_of(query, name):
            return f"answer's {name} vector does not have the query's number of cells"
        if not (math.isfinite(vector.noise_variance) and vector.noise_variance >= 0
                and math.isfinite(vector.noise_scale) and vector.noise_scale >= 0):
            return f"answer's {name} vector has no valid noise description"
        counts = name in ("count", "histogram", "clamped")
        expected_scale = 1 if counts else query.catalogue.fixed_point_scale
        if (vector.fixed_point_scale or 1) != expected_scale:
            return f"answer's {name} vector uses another fixed-point scale"
    return ""


def combine_replies(*, result_id: str, query_id: str, query: ValidatedQuery,
                    replies: Sequence[NodeReply], policy: QuorumPolicy, created_at: str,
                    federation: str = "",
                    rejected: Mapping[str, str] | None = None) -> SectorResult:
    """Check and combine the answering nodes' releases cell by cell; report every node.

    ``rejected`` names the nodes whose answer was refused before combination (their signed
    receipt did not hold) and why; their responses are kept as received all the same.
    """
    rejected = rejected or {}
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
        problem = ("listed twice in the replies" if node_id in seen
                   else rejected.get(node_id) or _problem(response, node_id, query_id, query))
        seen.add(node_id)
        outcome = NodeOutcome.ERROR if problem else NodeOutcome.ANSWERED
        if not problem:
            combined.append(response)
        reports.append(NodeReport(
            node_id, outcome, problem or ("replayed its stored answer (no new charge)"
                                          if response.replayed else ""),
            response.cost_micro_epsilon, reply.attempts, response.replayed,
            response.catalogue_version[:32], reply.elapsed_seconds))
    figures = COMBINERS[query.spec.statistic](query, combined)
    histogram = query.spec.statistic is Statistic.HISTOGRAM
    status = evaluate_quorum(policy, [reply.node for reply in replies],
                             [r.node_id for r in reports if r.outcome is NodeOutcome.ANSWERED])
    return SectorResult(
        result_id=result_id,
        created_at=created_at,
        spec=query.spec,
        group_by=(*query.spec.group_by, "bin") if histogram else query.spec.group_by,
        cells=figures.cells,
        nodes=tuple(reports),
        complete=status.complete,
        query_id=query_id,
        incomplete_reasons=status.reasons,
        answered_node_share=status.node_share,
        answered_size_share=status.size_share,
        federation=federation,
        receipts=tuple(receipts),
        bin_edges=tuple(float(e) for e in query.measure.bins) if histogram else (),
        quantiles=figures.quantiles,
    )
