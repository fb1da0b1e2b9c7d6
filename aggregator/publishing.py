"""`koepel publish`: hand a finished sector result to the nodes, so that each organisation can
see its own exact figure beside the sector's.

What goes out is the result as the history keeps it, minus what only auditors need (the nodes'
receipts and a secure round's transcript): differentially private output, safe to share within
the federation. Each node keeps it and replies with an empty message, so publishing learns
nothing from any node beyond whether it stored the result.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import replace

from aggregator.fanout import NodeOutcome, outcome_of
from aggregator.federation import FederationConfig, NodeEntry
from aggregator.results import NodeReport, SectorResult
from aggregator.transport import NodeQueryError
from privacy import InvalidQueryError
from protos import pb2

__all__ = ["Publisher", "public_part", "publish_result"]

_METHOD = "ReceiveSectorResult"


class Publisher:
    """What publishing needs of the transport: one generic call (``GrpcTransport.secure``)."""

    async def secure(self, node: NodeEntry, method: str, request: object,
                     timeout: float) -> object: ...


async def _one(transport: Publisher, node: NodeEntry, request: pb2.ReceiveSectorResultRequest,
               timeout: float) -> NodeReport:
    started = time.perf_counter()
    try:
        await transport.secure(node, _METHOD, request, timeout)
    except NodeQueryError as error:
        return NodeReport(node.node_id, outcome_of(error), f"{error.reason}: {error.message}",
                          attempts=1, elapsed_seconds=time.perf_counter() - started)
    return NodeReport(node.node_id, NodeOutcome.ANSWERED, "stored", attempts=1,
                      elapsed_seconds=time.perf_counter() - started)


def public_part(result: SectorResult) -> SectorResult:
    """What is published: the result without the nodes' receipts and the round's transcript."""
    return replace(result, receipts=(), transcript="")


async def publish_result(config: FederationConfig, transport: Publisher,
                         result: pb2.SectorResult, *, node_ids: Sequence[str] = (),
                         deadline_seconds: float | None = None) -> list[NodeReport]:
    """Send ``result`` (a stored result's :func:`public_part`, as sent on the wire) to every
    registered node (or those named); per node, whether it stored it. Unknown node ids are
    refused before anything is sent."""
    known = {n.node_id: n for n in config.nodes}
    unknown = [n for n in node_ids if n not in known]
    if unknown:
        raise InvalidQueryError(f"not registered in federation.toml: {', '.join(unknown[:5])}")
    targets = [known[n] for n in node_ids] if node_ids else list(config.nodes)
    request = pb2.ReceiveSectorResultRequest(result=result)
    return list(await asyncio.gather(*(
        _one(transport, node, request, config.deadline_for(node, deadline_seconds))
        for node in targets)))
