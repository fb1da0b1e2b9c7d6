"""The aggregator's logic: validate, fan out, combine, remember. Free of the gRPC server.

Why no Describe round before each query. A node refuses a catalogue version it has not
approved *before* it touches data or budget, with the machine-readable reason
``CATALOGUE_VERSION_NOT_APPROVED``, which the fan-out reports as ``catalogue_version`` by name.
Asking Describe first would add a round trip to every query and a second way for a node to
fail, and it could not be trusted anyway (an operator may change the approval between the two
calls), so the node's own answer stays the authority. The dry run (:meth:`Aggregator.plan`)
and ``koepel nodes`` do ask Describe, because their purpose is to show the state beforehand.
"""

from __future__ import annotations

import asyncio
import logging
import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import grpc

from aggregator.combination import combine_replies
from aggregator.fanout import NodeOutcome, RetryPolicy, fan_out
from aggregator.federation import MAX_DEADLINE_SECONDS, FederationConfig, NodeEntry
from aggregator.history import HistoryStore
from aggregator.planning import NodePlan, QueryPlan
from aggregator.quorum import evaluate_quorum
from aggregator.results import SectorResult
from aggregator.spec import spec_to_proto
from aggregator.transport import NodeQueryError, NodeTransport
from privacy import (
    InvalidQueryError,
    QueryConflictError,
    QuerySpec,
    format_micro,
    plan_release,
    validate,
)
from protos import pb2

__all__ = ["Aggregator", "BudgetInfo", "NodeState"]

log = logging.getLogger("koepel.aggregator")

_QUERY_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")  # what nodes accept
_STATE_TIMEOUT = 5.0


def _utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class BudgetInfo:
    """One line of a node's budget for this federation's identity."""

    querier: str
    period: str
    cap_micro: int
    spent_micro: int

    @property
    def remaining_micro(self) -> int:
        return max(0, self.cap_micro - self.spent_micro)


@dataclass(frozen=True)
class NodeState:
    """A registered node as seen just now (Describe + Budget) and remembered (last contact)."""

    node: NodeEntry
    reachable: bool
    reason: str = ""
    catalogue_versions: tuple[str, ...] = ()
    software_version: str = ""
    budget: tuple[BudgetInfo, ...] = ()
    budget_reason: str = ""  # why the budget is unknown, when it is
    last_contact: str = ""

    def approves(self, catalogue_version: str) -> bool:
        return catalogue_version in self.catalogue_versions


class Aggregator:
    def __init__(self, config: FederationConfig, transport: NodeTransport,
                 history: HistoryStore, *, clock: Callable[[], str] = _utc_now,
                 backoff_seconds: float = RetryPolicy.backoff_seconds) -> None:
        self.config = config
        self._transport = transport
        self.history = history
        self._clock = clock
        self._retry = RetryPolicy(retries=config.retries, backoff_seconds=backoff_seconds)

    # ------------------------------------------------------------------ queries

    def _query_ids(self, spec: QuerySpec, query_id: str | None) -> tuple[str, str]:
        """(result id, query id): a fresh pair, or a re-ask of a stored query id."""
        if query_id is None:
            fresh = uuid.uuid4().hex
            return fresh, fresh
        if not _QUERY_ID.match(query_id):
            raise InvalidQueryError("query_id must be 1–64 characters of letters, digits, . _ : -")
        earlier = self.history.by_query(query_id)
        if any(result.spec.digest() != spec.digest() for result in earlier):
            raise QueryConflictError("this query id was already used for a different query; "
                                     "leave it out to ask a new query")
        return (uuid.uuid4().hex if earlier else query_id), query_id

    async def submit(self, spec: QuerySpec, *, deadline_seconds: float | None = None,
                     query_id: str | None = None) -> SectorResult:
        """Ask every node; a query the catalogue refuses is refused here and costs nothing.

        With the ``query_id`` of a stored result, every node is asked again with that id: the
        nodes that charged it replay their answer at no extra cost, the others answer anew.
        """
        validated = validate(spec, self.config.catalogue)
        plan_release(validated)  # an ε too small to split is refused before anyone is asked
        if deadline_seconds is not None and not 0 < deadline_seconds <= MAX_DEADLINE_SECONDS:
            raise InvalidQueryError(
                f"deadline_seconds must be in (0, {MAX_DEADLINE_SECONDS:g}]")
        result_id, query_id = self._query_ids(spec, query_id)
        request = pb2.QueryRequest(query_id=query_id, spec=spec_to_proto(spec))
        # Logged before anything is charged: should storing the result fail, asking again with
        # this id (`koepel query --query-id`) recovers every node's answer at no extra cost.
        log.info("asking %d nodes, query id %s", len(self.config.nodes), query_id)
        deadlines = {node.node_id: self.config.deadline_for(node, deadline_seconds)
                     for node in self.config.nodes}
        replies = await fan_out(self._transport, self.config.nodes, request,
                                deadlines=deadlines,
                                retry=self._retry)
        now = self._clock()
        for reply in replies:
            if reply.responded:
                self.history.record_contact(reply.node.node_id, now)
        result = combine_replies(result_id=result_id, query_id=query_id, query=validated,
                                 replies=replies, policy=self.config.quorum, created_at=now,
                                 federation=self.config.name)
        self.history.save(result)
        return result

    # ------------------------------------------------------------------ node states

    async def _state(self, node: NodeEntry, timeout: float) -> NodeState:
        described, budget = await asyncio.gather(
            self._transport.describe(node, timeout), self._transport.budget(node, timeout),
            return_exceptions=True,
        )
        replied = False
        if isinstance(described, NodeQueryError):
            replied = described.code not in (grpc.StatusCode.UNAVAILABLE,
                                             grpc.StatusCode.DEADLINE_EXCEEDED)
            state = NodeState(node, False, f"{described.code.name}: {described.message}"[:300])
        elif isinstance(described, Exception):  # a broken node must not break the listing
            state = NodeState(node, False, f"unexpected {type(described).__name__}")
        elif isinstance(described, BaseException):
            raise described
        else:
            replied = True
            lines: tuple[BudgetInfo, ...] = ()
            budget_reason = ""
            if isinstance(budget, NodeQueryError):
                budget_reason = f"{budget.code.name}: {budget.message}"[:300]
            elif isinstance(budget, Exception):
                budget_reason = f"unexpected {type(budget).__name__}"
            elif isinstance(budget, BaseException):
                raise budget
            else:
                lines = tuple(BudgetInfo(b.querier, b.period, b.cap_micro_epsilon,
                                         b.spent_micro_epsilon) for b in budget.lines)
            state = NodeState(node, True, "", tuple(described.catalogue_versions),
                              described.software_version, lines, budget_reason)
        if replied:
            self.history.record_contact(node.node_id, self._clock())
        return state

    async def node_states(self, timeout: float | None = None) -> list[NodeState]:
        """Every registered node's status, catalogue versions, budget and last contact."""
        wait = timeout or min(self.config.deadline_seconds, _STATE_TIMEOUT)
        states = await asyncio.gather(*(self._state(n, wait) for n in self.config.nodes))
        contacts = self.history.last_contacts()
        return [NodeState(s.node, s.reachable, s.reason, s.catalogue_versions,
                          s.software_version, s.budget, s.budget_reason,
                          contacts.get(s.node.node_id, ""))
                for s in states]

    # ------------------------------------------------------------------ dry runs

    def _node_plan(self, state: NodeState, spec: QuerySpec, cost: int) -> NodePlan:
        node_id = state.node.node_id
        if not state.reachable:
            return NodePlan(node_id, NodeOutcome.UNAVAILABLE, state.reason, 0)
        lines = [b for b in state.budget if b.querier == self.config.querier_identity]
        remaining, period = (lines[0].remaining_micro, lines[0].period) if lines else (None, "")
        if not state.approves(spec.catalogue_version):
            approved = ", ".join(state.catalogue_versions) or "none"
            return NodePlan(node_id, NodeOutcome.CATALOGUE_VERSION,
                            f"has not approved catalogue {spec.catalogue_version}; "
                            f"approved: {approved}", 0, remaining, period)
        if state.budget_reason:
            return NodePlan(node_id, NodeOutcome.REFUSED, state.budget_reason, 0)
        if remaining is None:
            return NodePlan(node_id, NodeOutcome.REFUSED,
                            "the node lists no budget for this federation", 0)
        if remaining < cost:
            return NodePlan(node_id, NodeOutcome.BUDGET_EXHAUSTED,
                            f"needs ε={format_micro(cost)} but has ε="
                            f"{format_micro(remaining)} left for {period}", 0, remaining, period)
        return NodePlan(node_id, NodeOutcome.ANSWERED, "", cost, remaining, period)

    async def plan(self, spec: QuerySpec, *, timeout: float | None = None) -> QueryPlan:
        """A dry run of ``spec``: per node, the cost and what it would have left. Spends nothing."""
        validated = validate(spec, self.config.catalogue)
        cost = plan_release(validated).total_micro
        states = await self.node_states(timeout)
        nodes = tuple(self._node_plan(state, spec, cost) for state in states)
        status = evaluate_quorum(self.config.quorum, self.config.nodes,
                                 [n.node_id for n in nodes
                                  if n.expected is NodeOutcome.ANSWERED])
        return QueryPlan(cost, len(validated.cells), nodes, status.complete, status.reasons)

    # ------------------------------------------------------------------ history

    def result(self, result_id: str) -> SectorResult | None:
        return self.history.get(result_id)

    def recent(self, limit: int, offset: int = 0) -> Sequence[SectorResult]:
        return self.history.recent(limit, offset)

    async def close(self) -> None:
        await self._transport.close()
        self.history.close()
