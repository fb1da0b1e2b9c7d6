"""Sector results: what the aggregator publishes, stores and re-shows.

A result holds every cell's figure with its standard error, its 95% interval and a reliability
flag (a histogram: every cell and bin, and the quartiles read off the summed bins); every
registered node with what became of its part (answered, or why not); whether the quorum was
reached and, if not, why; and the receipts — each answering node's response exactly
as received, so that an auditor can later check it against the node's signed ledger.

The published ``estimate`` and interval are clipped to what the data allow (no negative count,
shares in [0, 1]); the unclipped ``raw_*`` values stay with them because only the raw estimate
is unbiased (see ``privacy.combine`` and docs/aggregation.md).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from aggregator.fanout import NodeOutcome
from privacy import QuerySpec, Statistic
from protos import pb2

__all__ = ["CellResult", "NodeReceipt", "NodeReport", "QuantileResult", "SectorResult",
           "spec_from_json", "spec_to_json"]


@dataclass(frozen=True)
class CellResult:
    key: tuple[str, ...]
    estimate: float  # published: clipped to the feasible range
    standard_error: float
    ci_lower: float  # published 95% interval, clipped
    ci_upper: float
    reliable: bool
    note: str = ""  # why the cell is not publishable
    raw_estimate: float = math.nan  # before clipping (unbiased)
    raw_ci_lower: float = math.nan
    raw_ci_upper: float = math.nan
    sum_estimate: float = math.nan  # for means: the combined numerator …
    count_estimate: float = math.nan  # … and denominator
    # The share of the cell's people whose value was clamped at the measure's bounds, with its
    # 95% interval (NaN when the catalogue releases no clamped count, or for a sum, which has
    # no denominator), and the note shown when clamping is large enough to move the figure.
    clamped_share: float = math.nan
    clamped_share_lower: float = math.nan
    clamped_share_upper: float = math.nan
    clamp_note: str = ""

    @property
    def clipped(self) -> bool:
        """True when the published figure differs from the raw one (a constraint applied)."""
        pairs = ((self.estimate, self.raw_estimate), (self.ci_lower, self.raw_ci_lower),
                 (self.ci_upper, self.raw_ci_upper))
        return any(a != b and not (math.isnan(a) and math.isnan(b)) for a, b in pairs)


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
    """What became of one registered node's part in a query."""

    node_id: str
    outcome: NodeOutcome
    reason: str
    cost_micro: int = 0
    attempts: int = 0
    replayed: bool = False
    catalogue_version: str = ""
    elapsed_seconds: float = 0.0


@dataclass(frozen=True)
class NodeReceipt:
    """A node's response exactly as the aggregator received it (kept for audits).

    Every node that sent back an answer has one — also when the answer was not combined
    (e.g. it did not match the query, or its signed receipt failed), because the node charged
    for it all the same. The response carries the node's signed receipt; the receipts that
    verified are also kept apart, per node, by ``aggregator.receipts.ReceiptBook`` (the same
    history file), which ``koepel audit verify --history`` reads.
    """

    node_id: str
    query_id: str
    received_at: str
    response: bytes  # the serialised pb2.QueryResponse

    def message(self) -> pb2.QueryResponse:
        return pb2.QueryResponse.FromString(self.response)


@dataclass(frozen=True)
class SectorResult:
    result_id: str
    created_at: str
    spec: QuerySpec
    group_by: tuple[str, ...]
    cells: tuple[CellResult, ...]
    nodes: tuple[NodeReport, ...]
    complete: bool
    query_id: str = ""
    incomplete_reasons: tuple[str, ...] = ()
    answered_node_share: float = math.nan
    answered_size_share: float = math.nan
    federation: str = ""
    receipts: tuple[NodeReceipt, ...] = field(default=(), compare=False)
    bin_edges: tuple[float, ...] = ()  # HISTOGRAM: the public bin edges
    quantiles: tuple[QuantileResult, ...] = ()  # HISTOGRAM: quartiles per group-by cell
    aggregation: str = "per_node"  # or "secure": the aggregator saw only the sum
    transcript: str = ""  # secure: the round's signed transcript (JSON), kept for auditors

    @property
    def answered(self) -> list[str]:
        return [n.node_id for n in self.nodes if n.outcome is NodeOutcome.ANSWERED]

    @property
    def cost_micro(self) -> int:
        """The ε charged over all nodes for this result (replays cost nothing)."""
        return sum(n.cost_micro for n in self.nodes if not n.replayed)

    def without_receipts(self) -> SectorResult:
        return replace(self, receipts=())

    def to_json(self) -> str:
        """The result without its receipts (the history stores those on their own)."""
        raw: dict[str, Any] = asdict(self.without_receipts())
        raw.pop("receipts")
        raw["spec"] = spec_to_json(self.spec)
        for node in raw["nodes"]:
            node["outcome"] = node["outcome"].value
        return json.dumps(raw)

    @classmethod
    def from_json(cls, text: str, receipts: tuple[NodeReceipt, ...] = ()) -> SectorResult:
        raw = json.loads(text)
        return cls(
            result_id=raw["result_id"],
            created_at=raw["created_at"],
            spec=spec_from_json(raw["spec"]),
            group_by=tuple(raw["group_by"]),
            cells=tuple(CellResult(**{**c, "key": tuple(c["key"])}) for c in raw["cells"]),
            nodes=tuple(NodeReport(**{**n, "outcome": NodeOutcome(n["outcome"])})
                        for n in raw["nodes"]),
            complete=raw["complete"],
            query_id=raw.get("query_id") or raw["result_id"],
            incomplete_reasons=tuple(raw.get("incomplete_reasons", ())),
            answered_node_share=raw.get("answered_node_share", math.nan),
            answered_size_share=raw.get("answered_size_share", math.nan),
            federation=raw.get("federation", ""),
            receipts=receipts,
            bin_edges=tuple(raw.get("bin_edges", ())),
            quantiles=tuple(QuantileResult(**{**q, "key": tuple(q["key"])})
                            for q in raw.get("quantiles", ())),
            aggregation=raw.get("aggregation", "per_node"),
            transcript=raw.get("transcript", ""),
        )


def spec_to_json(spec: QuerySpec) -> dict[str, Any]:
    raw = asdict(spec)
    raw["statistic"] = spec.statistic.value
    return raw


def spec_from_json(raw: dict[str, Any]) -> QuerySpec:
    return QuerySpec(
        catalogue_version=raw["catalogue_version"], measure=raw["measure"],
        statistic=Statistic(raw["statistic"]), group_by=tuple(raw["group_by"]),
        filters=tuple((d, tuple(v)) for d, v in raw["filters"]),
        period=raw["period"], epsilon_micro=raw["epsilon_micro"],
    )
