"""A sector figure split by an attribute of the organisations (kind, region): no new query.

Under per-node noise every organisation's answer is a differentially private release in its
own right, kept by the aggregator as received. A split re-combines, per group of organisations
(those federation.toml registers with the same ``kind`` or ``region``), the answers of that
group's nodes — the same combination as the sector figure, over fewer nodes: post-processing,
no further privacy loss, nothing asked again. A group's interval is wider, since it carries its
nodes' noise over fewer people; a group of one organisation shows that organisation's noisy
answer, which is exactly as protected as every answer it sent.

Under secure aggregation the aggregator learns only the sum over all nodes, so there is nothing
to split: a split would need one secure round per group. That is not built; the report says so
for such a figure instead of showing a split.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aggregator import NodeEntry, NodeOutcome, NodeReply, QuorumPolicy, SectorResult
from aggregator.combination import combine_replies
from i18n import N_
from privacy import shipped_catalogues, validate

__all__ = ["SECURE_REFUSAL", "GroupResult", "Split", "SplitRefused", "split_result"]

SECURE_REFUSAL = N_("Not split: this figure was made by secure aggregation, so the federation "
                    "learnt only the sum over all organisations; a split would need one secure "
                    "round per group, which this version of koepel does not run.")
UNKNOWN_CATALOGUE = N_("Not split: the figure's catalogue version is not known to this koepel.")

# A group stands for its kind or region only when every one of its organisations answered.
_GROUP_QUORUM = QuorumPolicy(min_node_share=1.0)


class SplitRefused(Exception):
    """The result cannot be split (secure aggregation, or its answers are not kept)."""


@dataclass(frozen=True)
class GroupResult:
    value: str  # the attribute's value, e.g. "EI_WAL" or "BE-WAL" ("" when not registered)
    result: SectorResult  # combined over the group's answering organisations
    registered: int  # organisations registered with this value


@dataclass(frozen=True)
class Split:
    attribute: str  # "kind" or "region"
    groups: tuple[GroupResult, ...]
    refused: str = ""  # why the figure has no split, a msgid (then ``groups`` is empty)


def _attribute(node: NodeEntry, attribute: str) -> str:
    return str(getattr(node, attribute))


def split_result(result: SectorResult, nodes: Sequence[NodeEntry], attribute: str) -> Split:
    """``result`` (with its receipts) per value of ``attribute`` over the registered nodes."""
    if result.aggregation == "secure":
        raise SplitRefused(SECURE_REFUSAL)
    catalogue = shipped_catalogues().get(result.spec.catalogue_version)
    if catalogue is None:
        raise SplitRefused(UNKNOWN_CATALOGUE)
    query = validate(result.spec, catalogue)
    responses = {r.node_id: r.message() for r in result.receipts}
    reports = {n.node_id: n for n in result.nodes}
    registered = {n.node_id: n for n in nodes}
    values = sorted({_attribute(n, attribute) for n in nodes})
    groups = []
    for value in values:
        replies = []
        for node_id, node in registered.items():
            if _attribute(node, attribute) != value:
                continue
            report = reports.get(node_id)
            response = responses.get(node_id)
            if report is not None and report.outcome is NodeOutcome.ANSWERED and response:
                replies.append(NodeReply(node, NodeOutcome.ANSWERED, "", response))
            elif report is not None:
                replies.append(NodeReply(node, report.outcome, report.reason))
            else:
                replies.append(NodeReply(node, NodeOutcome.ERROR, "registered after this result"))
        combined = combine_replies(
            result_id=f"{result.result_id}:{attribute}={value}", query_id=result.query_id,
            query=query, replies=replies, policy=_GROUP_QUORUM, created_at=result.created_at,
            federation=result.federation)
        groups.append(GroupResult(value, combined.without_receipts(), len(replies)))
    return Split(attribute, tuple(groups))
