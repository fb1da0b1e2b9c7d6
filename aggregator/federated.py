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
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import grpc

from aggregator.budgets import BudgetInfo, budget_info
from aggregator.combination import combine_replies
from aggregator.fanout import NodeOutcome, NodeReply, RetryPolicy, fan_out
from aggregator.federation import MAX_DEADLINE_SECONDS, FederationConfig, NodeEntry
from aggregator.history import HistoryStore
from aggregator.metrics import AggregatorMetrics
from aggregator.planning import NodePlan, QueryPlan
from aggregator.publishing import publish_result
from aggregator.quorum import evaluate_quorum
from aggregator.receipts import ReceiptBook, Verified
from aggregator.results import NodeReport, SectorResult
from aggregator.secure import SecureRound
from aggregator.transport import NodeQueryError, NodeTransport
from privacy import (
    InvalidQueryError,
    LossRule,
    QueryConflictError,
    QuerySpec,
    ValidatedQuery,
    plan_release,
    validate,
)
from privacy.distributed import expected_standard_errors
from protos import pb2
from wire.spec import spec_to_proto

__all__ = ["Aggregator", "NodeState"]

log = logging.getLogger("koepel.aggregator")

_QUERY_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")  # what nodes accept
_STATE_TIMEOUT = 5.0


def _utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


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
    """The aggregator's logic over a node transport, a history and, optionally, a receipt book.

    With ``receipts`` every answer's signed receipt is checked on arrival and kept; an answer
    whose receipt fails is reported as an error and not combined (its response is still kept in
    the history, because the node charged for it). ``metrics`` records every fan-out.
    """

    def __init__(self, config: FederationConfig, transport: NodeTransport,
                 history: HistoryStore, *, metrics: AggregatorMetrics | None = None,
                 receipts: ReceiptBook | None = None, clock: Callable[[], str] = _utc_now,
                 backoff_seconds: float = RetryPolicy.backoff_seconds,
                 secure_round: SecureRound | None = None) -> None:
        self.config = config
        self.secure_round = secure_round  # None: no secure aggregation (plaintext demo mode)
        self._transport = transport
        self.history = history
        self.metrics = metrics or AggregatorMetrics(config)
        self.receipts = receipts  # None: answers are used without checking signed receipts
        self._clock = clock
        self._retry = RetryPolicy(retries=config.retries, backoff_seconds=backoff_seconds)

    def _rejected(self, replies: Sequence[NodeReply],
                  verified: Mapping[str, Verified] | None = None) -> Mapping[str, str]:
        """Check each answer's signed receipt (and keep it); why each failing one is refused.
        ``verified``: the receipts already checked as their answers came in."""
        if self.receipts is None:
            return {}
        rejected: dict[str, str] = {}
        checks = self.receipts.check_many(self.config.querier_identity, [
            (reply.node.node_id, reply.response) for reply in replies
            if reply.outcome is NodeOutcome.ANSWERED and reply.response is not None],
            verified=verified)
        for node_id, check in checks.items():
            if not check.valid:
                log.warning("node %s: answer rejected: %s", node_id, check.problem)
                rejected[node_id] = f"answer rejected: {check.problem}"
        return rejected

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
                     query_id: str | None = None, secure: bool | None = None,
                     attribution: pb2.OperatorAttribution | None = None) -> SectorResult:
        """Ask every node; a query the catalogue refuses is refused here and costs nothing.

        With the ``query_id`` of a stored result, every node is asked again with that id: the
        nodes that charged it replay their answer at no extra cost, the others answer anew.
        ``attribution`` (the operator's signature over this query and id, checked by the
        service) goes to every node untouched.
        """
        validated = validate(spec, self.config.catalogue)
        plan_release(validated)  # an ε too small to split is refused before anyone is asked
        if deadline_seconds is not None and not 0 < deadline_seconds <= MAX_DEADLINE_SECONDS:
            raise InvalidQueryError(
                f"deadline_seconds must be in (0, {MAX_DEADLINE_SECONDS:g}]")
        if secure if secure is not None else self.config.aggregation.mode == "secure":
            if query_id and self.history.by_query(query_id):
                # A secure round's id is fresh and 128-bit by design (nodes refuse a reused
                # one), so asking a stored query again could only be ignored: say so instead.
                raise InvalidQueryError(
                    "a secure query always gets a fresh round id and cannot be resumed or "
                    "replayed; leave out --query-id/--resume, or ask with --per-node")
            return await self._submit_secure(validated, deadline_seconds, attribution)
        result_id, query_id = self._query_ids(spec, query_id)
        request = pb2.QueryRequest(query_id=query_id, spec=spec_to_proto(spec),
                                   attribution=attribution)
        # Logged before anything is charged: should storing the result fail, asking again with
        # this id (`koepel query --query-id`) recovers every node's answer at no extra cost.
        log.info("asking %d nodes, query id %s", len(self.config.nodes), query_id)
        deadlines = {node.node_id: self.config.deadline_for(node, deadline_seconds)
                     for node in self.config.nodes}
        started = time.perf_counter()
        verified: dict[str, Verified] = {}
        receipts = self.receipts

        def check_on_arrival(reply: NodeReply) -> None:  # while slower nodes still answer
            if receipts is not None and reply.response is not None \
                    and reply.outcome is NodeOutcome.ANSWERED:
                verified[reply.node.node_id] = receipts.verify(
                    self.config.querier_identity, reply.node.node_id, reply.response)

        replies = await fan_out(self._transport, self.config.nodes, request,
                                deadlines=deadlines, retry=self._retry,
                                on_reply=check_on_arrival)
        rejected = self._rejected(replies, verified)
        self.metrics.fanned_out(query_id, [_as_rejected(r, rejected) for r in replies],
                                time.perf_counter() - started)
        now = self._clock()
        contacted = [r.node.node_id for r in replies if r.responded]
        saved = False
        try:
            result = combine_replies(result_id=result_id, query_id=query_id, query=validated,
                                     replies=replies, policy=self.config.quorum, created_at=now,
                                     federation=self.config.name, rejected=rejected)
            self.history.save(result, contacts=contacted)  # with the result: one durable write
            saved = True
        finally:
            if not saved:  # the nodes did reply, whatever became of the result
                self.history.record_contacts(contacted, now)
        return result

    async def _submit_secure(self, query: ValidatedQuery, deadline_seconds: float | None,
                             attribution: pb2.OperatorAttribution | None = None
                             ) -> SectorResult:
        """A secure round (``aggregator.secure``): the nodes' sum, never one node's vector."""
        if self.secure_round is None:
            raise InvalidQueryError("secure aggregation needs the aggregator's TLS certificate "
                                    "(it signs the round's roster); it is not available with "
                                    "--insecure")
        deadline = deadline_seconds or self.config.deadline_seconds
        result, _ = await self.secure_round.run(query, result_id=uuid.uuid4().hex,
                                                created_at=self._clock(), deadline=deadline,
                                                attribution=attribution)
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
                lines = tuple(budget_info(b) for b in budget.lines)
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

    def _node_plan(self, state: NodeState, spec: QuerySpec, cost: int,
                   rule: LossRule) -> NodePlan:
        """What ``state``'s node should do with a query costing ``cost`` (in ``rule``'s unit)."""
        node_id = state.node.node_id
        if not state.reachable:
            return NodePlan(node_id, NodeOutcome.UNAVAILABLE, state.reason, 0)
        querier = self.config.querier_identity
        lines = [b for b in state.budget if b.applies_to(querier)]
        # The binding line: the one with the least left (the querier's, or a node-wide cap).
        binding = min(lines, key=lambda b: b.remaining_units, default=None)
        if not any(b.querier == querier for b in lines):
            binding = None
        remaining, period = ((binding.remaining_units, binding.period) if binding
                             else (None, ""))
        if not state.approves(spec.catalogue_version):
            approved = ", ".join(state.catalogue_versions) or "none"
            return NodePlan(node_id, NodeOutcome.CATALOGUE_VERSION,
                            f"has not approved catalogue {spec.catalogue_version}; "
                            f"approved: {approved}", 0, remaining, period)
        if state.budget_reason:
            return NodePlan(node_id, NodeOutcome.REFUSED, state.budget_reason, 0)
        if any(b.unit != rule.unit.value for b in lines):
            return NodePlan(node_id, NodeOutcome.REFUSED,
                            f"the node counts its budget in another unit than the catalogue's "
                            f"{rule.unit.value}", 0)
        if binding is None or remaining is None:
            return NodePlan(node_id, NodeOutcome.REFUSED,
                            "the node lists no budget for this federation", 0)
        if remaining < cost:
            scope = "" if binding.scope == "querier" else f" (the node's {binding.scope} cap)"
            return NodePlan(node_id, NodeOutcome.BUDGET_EXHAUSTED,
                            f"needs {rule.describe(cost)} but has {rule.describe(remaining)} "
                            f"left for {period}{scope}", 0, remaining, period)
        return NodePlan(node_id, NodeOutcome.ANSWERED, "", cost, remaining, period)

    async def plan(self, spec: QuerySpec, *, timeout: float | None = None) -> QueryPlan:
        """A dry run of ``spec``: per node, the cost and what it would have left. Spends nothing.

        Costs and budgets are in the catalogue's unit (µε, or µρ under zCDP, which composes by
        adding ρ): the same comparison the node makes before it charges.
        """
        validated = validate(spec, self.config.catalogue)
        cost = plan_release(validated).total_micro
        rule = LossRule.of(self.config.catalogue)
        states = await self.node_states(timeout)
        nodes = tuple(self._node_plan(state, spec, cost, rule) for state in states)
        status = evaluate_quorum(self.config.quorum, self.config.nodes,
                                 [n.node_id for n in nodes
                                  if n.expected is NodeOutcome.ANSWERED])
        return QueryPlan(cost, len(validated.cells), nodes, status.complete, status.reasons,
                         rule=rule, expected_se=self._expected_se(validated))

    def _expected_se(self, query: ValidatedQuery) -> dict[str, float]:
        """Expected standard error of one summed cell under each mode (first vector)."""
        vector = plan_release(query).vectors[0]
        nodes = max(1, len(self.config.nodes))
        unit = query.catalogue.fixed_point_scale if vector.role.value == "sum" else 1
        return expected_standard_errors(
            vector.sensitivity, vector.budget_micro, accounting=query.catalogue.accounting,
            nodes=nodes, honest_shares=self.config.aggregation.honest_shares(nodes),
            fixed_point_scale=unit)

    # ------------------------------------------------------------------ history

    async def publish(self, result: pb2.SectorResult, *, node_ids: Sequence[str] = (),
                      deadline_seconds: float | None = None) -> list[NodeReport]:
        """Send a stored result to the nodes (`koepel publish`): see aggregator.publishing."""
        return await publish_result(self.config, self._transport,  # type: ignore[arg-type]
                                    result, node_ids=node_ids,
                                    deadline_seconds=deadline_seconds)

    def result(self, result_id: str) -> SectorResult | None:
        return self.history.get(result_id)

    def recent(self, limit: int, offset: int = 0) -> Sequence[SectorResult]:
        return self.history.recent(limit, offset)

    async def close(self) -> None:
        await self._transport.close()
        self.history.close()
        if self.receipts is not None:
            self.receipts.close()


def _as_rejected(reply: NodeReply, rejected: Mapping[str, str]) -> NodeReply:
    """The reply as the report shows it: an answer whose receipt failed counts as an error."""
    reason = rejected.get(reply.node.node_id)
    if reason is None or reply.outcome is not NodeOutcome.ANSWERED:
        return reply
    return NodeReply(reply.node, NodeOutcome.ERROR, reason, None, reply.attempts,
                     reply.elapsed_seconds, reply.responded)
