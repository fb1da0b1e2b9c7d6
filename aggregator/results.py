"""Sector results: combining node answers into figures with standard errors and intervals.

Nodes that did not answer are listed with their reason and contribute nothing: a sector figure
is the sum over the nodes that answered, and the result says so (``complete`` is false when
fewer than the quorum answered). Nothing is imputed.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from aggregator.fanout import NodeOutcome, NodeReply
from privacy import (
    Estimate,
    NodeVector,
    QuerySpec,
    Statistic,
    combine_vectors,
    quantile,
    ratio,
)
from privacy.combine import ratio_reliable
from protos import pb2

__all__ = ["CellResult", "NodeReport", "QuantileResult", "SectorResult", "combine_histograms",
           "combine_replies"]


@dataclass(frozen=True)
class CellResult:
    key: tuple[str, ...]
    estimate: float
    standard_error: float
    ci_lower: float
    ci_upper: float
    reliable: bool
    sum_estimate: float = math.nan
    count_estimate: float = math.nan


@dataclass(frozen=True)
class QuantileResult:
    """A quantile of a histogram result for one group-by cell (``key`` without the bin)."""

    key: tuple[str, ...]
    probability: float
    estimate: float
    ci_lower: float
    ci_upper: float


@dataclass(frozen=True)
class NodeReport:
    node_id: str
    outcome: NodeOutcome
    reason: str
    cost_micro: int


@dataclass(frozen=True)
class SectorResult:
    result_id: str
    created_at: str
    spec: QuerySpec
    group_by: tuple[str, ...]
    cells: tuple[CellResult, ...]
    nodes: tuple[NodeReport, ...]
    complete: bool
    bin_edges: tuple[float, ...] = ()
    quantiles: tuple[QuantileResult, ...] = ()

    @property
    def answered(self) -> list[str]:
        return [n.node_id for n in self.nodes if n.outcome is NodeOutcome.ANSWERED]

    def to_json(self) -> str:
        raw: dict[str, Any] = asdict(self)
        raw["spec"]["statistic"] = self.spec.statistic.value
        for node in raw["nodes"]:
            node["outcome"] = node["outcome"].value
        return json.dumps(raw)

    @classmethod
    def from_json(cls, text: str) -> SectorResult:
        raw = json.loads(text)
        spec = raw["spec"]
        return cls(
            result_id=raw["result_id"],
            created_at=raw["created_at"],
            spec=QuerySpec(
                catalogue_version=spec["catalogue_version"], measure=spec["measure"],
                statistic=Statistic(spec["statistic"]), group_by=tuple(spec["group_by"]),
                filters=tuple((d, tuple(v)) for d, v in spec["filters"]),
                period=spec["period"], epsilon_micro=spec["epsilon_micro"],
            ),
            group_by=tuple(raw["group_by"]),
            cells=tuple(CellResult(**{**c, "key": tuple(c["key"])}) for c in raw["cells"]),
            nodes=tuple(NodeReport(n["node_id"], NodeOutcome(n["outcome"]), n["reason"],
                                   n["cost_micro"]) for n in raw["nodes"]),
            complete=raw["complete"],
            bin_edges=tuple(raw.get("bin_edges", ())),
            quantiles=tuple(QuantileResult(**{**q, "key": tuple(q["key"])})
                            for q in raw.get("quantiles", ())),
        )


def _vectors(responses: Sequence[pb2.QueryResponse], field: str) -> list[NodeVector]:
    vectors = []
    for response in responses:
        vector = getattr(response, field)
        vectors.append(NodeVector(list(vector.values), vector.noise_variance,
                                  vector.fixed_point_scale or 1))
    return vectors


def _cell(key: tuple[str, ...], estimate: Estimate, reliable: bool,
          sum_estimate: float = math.nan, count_estimate: float = math.nan) -> CellResult:
    low, high = estimate.interval
    return CellResult(key, estimate.value, estimate.standard_error, low, high, reliable,
                      sum_estimate, count_estimate)


def combine_replies(*, result_id: str, spec: QuerySpec, cells: Sequence[tuple[str, ...]],
                    replies: Sequence[NodeReply], quorum: float,
                    bins: Sequence[str] = (), bin_edges: Sequence[float] = ()) -> SectorResult:
    """Combine the answering nodes' releases cell by cell (and bin by bin for histograms)."""
    reports: list[NodeReport] = []
    answered: list[pb2.QueryResponse] = []
    for reply in replies:
        response = reply.response
        if reply.outcome is NodeOutcome.ANSWERED and response is not None:
            if ([tuple(c.key) for c in response.cells] != list(cells)
                    or list(response.bins) != list(bins)):
                reports.append(NodeReport(reply.node.node_id, NodeOutcome.ERROR,
                                          "answer does not have the query's cells",
                                          response.cost_micro_epsilon))
                continue
            answered.append(response)
            reports.append(NodeReport(reply.node.node_id, NodeOutcome.ANSWERED,
                                      "replayed" if response.replayed else "",
                                      response.cost_micro_epsilon))
        else:
            reports.append(NodeReport(reply.node.node_id, reply.outcome, reply.reason, 0))
    n = len(cells)
    results: list[CellResult] = []
    quantiles: list[QuantileResult] = []
    if spec.statistic is Statistic.HISTOGRAM:
        results, quantiles = combine_histograms(
            cells, bins, bin_edges, _vectors(answered, "histogram"))
    elif spec.statistic is Statistic.MEAN:
        sums = combine_vectors(_vectors(answered, "sum"), n)
        counts = combine_vectors(_vectors(answered, "count"), n)
        for key, s, c in zip(cells, sums, counts, strict=True):
            r = ratio(s, c)
            results.append(_cell(key, r, bool(answered) and ratio_reliable(s, c, r),
                                 s.value, c.value))
    else:
        field = "count" if spec.statistic is Statistic.COUNT else "sum"
        totals = combine_vectors(_vectors(answered, field), n)
        results.extend(_cell(key, e, bool(answered) and e.reliable)
                       for key, e in zip(cells, totals, strict=True))
    complete = bool(replies) and len(answered) >= math.ceil(quorum * len(replies))
    return SectorResult(
        result_id=result_id,
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        spec=spec,
        group_by=(*spec.group_by, "bin") if spec.statistic is Statistic.HISTOGRAM
        else spec.group_by,
        cells=tuple(results),
        nodes=tuple(reports),
        complete=complete and bool(answered),
        bin_edges=tuple(bin_edges),
        quantiles=tuple(quantiles),
    )


QUARTILES = (0.25, 0.5, 0.75)


def combine_histograms(cells: Sequence[tuple[str, ...]], bins: Sequence[str],
                       bin_edges: Sequence[float], vectors: Sequence[NodeVector]
                       ) -> tuple[list[CellResult], list[QuantileResult]]:
    """Sum the nodes' histograms bin by bin; read the quartiles of each cell off the sums.

    Quantiles are post-processing of released counts: they cost no privacy budget.
    """
    n_bins = len(bins)
    totals = combine_vectors(vectors, len(cells) * n_bins)
    results: list[CellResult] = []
    quantiles: list[QuantileResult] = []
    for i, key in enumerate(cells):
        per_bin = totals[i * n_bins:(i + 1) * n_bins]
        results.extend(_cell((*key, label), e, bool(vectors) and e.reliable)
                       for label, e in zip(bins, per_bin, strict=True))
        for p in QUARTILES:
            q = quantile(per_bin, bin_edges, p) if vectors else None
            if q is None:
                quantiles.append(QuantileResult(key, p, math.nan, math.nan, math.nan))
            else:
                quantiles.append(QuantileResult(key, p, q.value, q.lower, q.upper))
    return results, quantiles
