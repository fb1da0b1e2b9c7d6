"""Asking every node at once, each within its own deadline, retrying transient failures safely.

* **Same query id on every attempt.** Nodes answer a repeated query id idempotently (the stored
  answer, no new charge), so a retry can never double-charge, even when the first attempt was
  charged and only its reply was lost.
* **Transient failures only.** ``UNAVAILABLE`` (connection refused or reset, e.g. a node killed
  mid-query or restarting), ``RESOURCE_EXHAUSTED`` (rate limits) and ``ABORTED`` are retried
  with exponential back-off while the node's deadline allows. A refusal (budget, permission,
  catalogue version, invalid query) is final and never retried.
* **Deadlines are per node and cover all attempts.** The aggregator never waits for a node
  beyond its deadline; such a node is reported by name ("no answer within 2 s"), never
  silently dropped or imputed.
* **Nothing is counted twice.** There is exactly one reply per registered node, in registry
  order; every reply says whether the node responded at all (for its last-contact time).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum

import grpc

from aggregator.federation import NodeEntry
from aggregator.transport import NodeQueryError, NodeTransport
from protos import pb2

__all__ = ["NodeOutcome", "NodeReply", "RetryPolicy", "fan_out", "outcome_of"]

_RETRYABLE = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.RESOURCE_EXHAUSTED,
                        grpc.StatusCode.ABORTED})
# Codes with which a node itself replied (as opposed to the transport failing to reach it).
_NOT_A_REPLY = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED,
                          grpc.StatusCode.CANCELLED, grpc.StatusCode.UNKNOWN})


class NodeOutcome(Enum):
    """What became of one node's part in a query (also: what a dry run expects of it)."""

    ANSWERED = "answered"
    UNAVAILABLE = "unavailable"
    DEADLINE_EXCEEDED = "deadline_exceeded"
    BUDGET_EXHAUSTED = "budget_exhausted"
    CATALOGUE_VERSION = "catalogue_version"
    REFUSED = "refused"
    NOT_SHARED = "not_shared"  # the organisation chose not to share this: a decision, not a fault
    INVALID = "invalid"
    ERROR = "error"


@dataclass(frozen=True)
class RetryPolicy:
    retries: int = 2  # extra attempts after the first
    backoff_seconds: float = 0.2  # before the first retry; doubles each time
    max_backoff_seconds: float = 2.0


@dataclass(frozen=True)
class NodeReply:
    node: NodeEntry
    outcome: NodeOutcome
    reason: str
    response: pb2.QueryResponse | None = None
    attempts: int = 1
    elapsed_seconds: float = 0.0
    responded: bool = False  # the node itself replied (answer or refusal)


def outcome_of(error: NodeQueryError) -> NodeOutcome:
    """Classify a node's failure for the report."""
    if error.code == grpc.StatusCode.UNAVAILABLE:
        return NodeOutcome.UNAVAILABLE
    if error.code == grpc.StatusCode.DEADLINE_EXCEEDED:
        return NodeOutcome.DEADLINE_EXCEEDED
    if error.reason == "PRIVACY_BUDGET_EXHAUSTED":
        return NodeOutcome.BUDGET_EXHAUSTED
    if error.reason == "CATALOGUE_VERSION_NOT_APPROVED":
        return NodeOutcome.CATALOGUE_VERSION
    if error.reason == "NOT_SHARED_BY_ORGANISATION":
        return NodeOutcome.NOT_SHARED
    if error.code in (grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.FAILED_PRECONDITION,
                      grpc.StatusCode.UNAUTHENTICATED):
        return NodeOutcome.REFUSED
    if error.code in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.ALREADY_EXISTS):
        return NodeOutcome.INVALID
    return NodeOutcome.ERROR


def _late(deadline_seconds: float) -> str:
    return (f"no answer within {deadline_seconds:g} s; the node may still charge this query, "
            "and asking again with the same query id returns that answer at no extra cost")


def _describe(error: NodeQueryError, attempts: int, deadline_seconds: float) -> str:
    """A one-line reason for the report, built from the node's public message."""
    if error.code == grpc.StatusCode.DEADLINE_EXCEEDED:
        return _late(deadline_seconds)
    if error.code == grpc.StatusCode.UNAVAILABLE:
        tries = f" after {attempts} attempts" if attempts > 1 else ""
        return f"unreachable{tries}: {error.message}"[:300]
    text = error.message or error.code.name
    return f"{error.reason}: {text}"[:300] if error.reason != error.code.name else text[:300]


async def _ask(transport: NodeTransport, node: NodeEntry, request: pb2.QueryRequest,
               deadline_seconds: float, retry: RetryPolicy) -> NodeReply:
    start = time.monotonic()
    deadline = start + deadline_seconds
    attempt = 0
    while True:
        attempt += 1
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return NodeReply(node, NodeOutcome.DEADLINE_EXCEEDED,
                             f"no answer within {deadline_seconds:g} s "
                             f"({attempt - 1} attempts, the last ones unreachable)",
                             attempts=attempt - 1, elapsed_seconds=time.monotonic() - start)
        try:
            # The transport's own timeout should fire first; wait_for makes the deadline hold
            # even for a transport that ignores it.
            response = await asyncio.wait_for(transport.query(node, request, remaining),
                                              remaining)
        except TimeoutError:
            return NodeReply(node, NodeOutcome.DEADLINE_EXCEEDED, _late(deadline_seconds),
                             attempts=attempt, elapsed_seconds=time.monotonic() - start)
        except NodeQueryError as error:
            if error.code in _RETRYABLE and attempt <= retry.retries:
                pause = min(retry.backoff_seconds * 2 ** (attempt - 1),
                            retry.max_backoff_seconds, max(0.0, remaining / 2))
                await asyncio.sleep(pause)
                continue
            return NodeReply(node, outcome_of(error),
                             _describe(error, attempt, deadline_seconds),
                             attempts=attempt, elapsed_seconds=time.monotonic() - start,
                             responded=error.code not in _NOT_A_REPLY)
        except Exception as error:  # a broken node or transport must not break the fan-out
            return NodeReply(node, NodeOutcome.ERROR, f"unexpected {type(error).__name__}",
                             attempts=attempt, elapsed_seconds=time.monotonic() - start)
        return NodeReply(node, NodeOutcome.ANSWERED, "", response, attempt,
                         time.monotonic() - start, responded=True)


async def fan_out(transport: NodeTransport, nodes: Sequence[NodeEntry],
                  request: pb2.QueryRequest, *, deadlines: Mapping[str, float],
                  retry: RetryPolicy = RetryPolicy(),
                  on_reply: Callable[[NodeReply], object] | None = None) -> list[NodeReply]:
    """Send ``request`` to every node concurrently; one reply per node, in registry order.

    ``deadlines`` gives each node's deadline in seconds (see ``FederationConfig.deadline_for``).
    ``on_reply`` sees each reply as it comes in, while slower nodes are still answering.
    """
    async def ask(node: NodeEntry) -> NodeReply:
        reply = await _ask(transport, node, request, deadlines[node.node_id], retry)
        if on_reply is not None:
            on_reply(reply)
        return reply

    return list(await asyncio.gather(*(ask(node) for node in nodes)))
