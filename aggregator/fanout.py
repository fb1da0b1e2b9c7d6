"""Asking every node at once, within a deadline, retrying transient failures safely.

A retry reuses the same query id, which nodes answer idempotently (the stored answer, no new
charge), so retrying can never double-charge. The aggregator never waits for a slow node beyond
the deadline; such a node is reported by name, never silently dropped or imputed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

import grpc

from aggregator.federation import NodeEntry
from aggregator.transport import NodeQueryError, NodeTransport
from protos import pb2

__all__ = ["NodeOutcome", "NodeReply", "fan_out", "outcome_of"]

_RETRYABLE = {grpc.StatusCode.UNAVAILABLE}


class NodeOutcome(Enum):
    ANSWERED = "answered"
    UNAVAILABLE = "unavailable"
    DEADLINE_EXCEEDED = "deadline_exceeded"
    BUDGET_EXHAUSTED = "budget_exhausted"
    REFUSED = "refused"
    NOT_SHARED = "not_shared"  # the organisation chose not to share this: a decision, not a fault
    INVALID = "invalid"
    ERROR = "error"


@dataclass(frozen=True)
class NodeReply:
    node: NodeEntry
    outcome: NodeOutcome
    reason: str
    response: pb2.QueryResponse | None = None
    attempts: int = 1


def outcome_of(error: NodeQueryError) -> NodeOutcome:
    """Classify a node's failure for the report."""
    if error.code == grpc.StatusCode.UNAVAILABLE:
        return NodeOutcome.UNAVAILABLE
    if error.code == grpc.StatusCode.DEADLINE_EXCEEDED:
        return NodeOutcome.DEADLINE_EXCEEDED
    if error.reason == "PRIVACY_BUDGET_EXHAUSTED":
        return NodeOutcome.BUDGET_EXHAUSTED
    if error.reason == "NOT_SHARED_BY_ORGANISATION":
        return NodeOutcome.NOT_SHARED
    if error.code in (grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.FAILED_PRECONDITION,
                      grpc.StatusCode.UNAUTHENTICATED):
        return NodeOutcome.REFUSED
    if error.code == grpc.StatusCode.INVALID_ARGUMENT:
        return NodeOutcome.INVALID
    return NodeOutcome.ERROR


async def _ask(transport: NodeTransport, node: NodeEntry, request: pb2.QueryRequest,
               deadline: float, retries: int) -> NodeReply:
    attempt = 0
    while True:
        attempt += 1
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return NodeReply(node, NodeOutcome.DEADLINE_EXCEEDED, "no answer before the deadline",
                             attempts=attempt - 1)
        try:
            # The transport's own timeout should fire first; wait_for makes the deadline hold
            # even for a transport that ignores it.
            response = await asyncio.wait_for(transport.query(node, request, remaining),
                                              remaining)
            return NodeReply(node, NodeOutcome.ANSWERED, "", response, attempt)
        except TimeoutError:
            return NodeReply(node, NodeOutcome.DEADLINE_EXCEEDED,
                             "no answer before the deadline", attempts=attempt)
        except NodeQueryError as error:
            if error.code in _RETRYABLE and attempt <= retries:
                await asyncio.sleep(min(0.1 * 2**attempt, max(0.0, remaining / 4)))
                continue
            reason = error.reason if error.reason != error.code.name else error.code.name
            return NodeReply(node, outcome_of(error), f"{reason}: {error.message}"[:300],
                             attempts=attempt)
        except Exception as error:  # a broken node must not break the fan-out
            return NodeReply(node, NodeOutcome.ERROR, type(error).__name__, attempts=attempt)


async def fan_out(transport: NodeTransport, nodes: Sequence[NodeEntry],
                  request: pb2.QueryRequest, *, deadline_seconds: float,
                  retries: int = 2) -> list[NodeReply]:
    """Send ``request`` to every node concurrently; one reply per node, in registry order."""
    deadline = time.monotonic() + deadline_seconds
    return list(await asyncio.gather(
        *(_ask(transport, node, request, deadline, retries) for node in nodes)
    ))
