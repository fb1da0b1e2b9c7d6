"""A secure-aggregation round, driven by the aggregator: it learns the sum, never one node's.

The steps (docs/secure-aggregation.md; the protocol itself is ``wire.secagg``, the noise and
its accounting ``privacy.distributed``):

1. **Roster.** Every registered node is asked for its roster entry (certificate, long-term
   X25519 key, binding signature); each is checked against the federation CA and the node's
   registered id, then the roster is signed with the aggregator's certificate key. Nodes check
   every entry themselves, never the aggregator's word alone. U1 is who enrolled. A roster
   that covered every node, and all of whose members then shared keys, is reused for the next
   queries for up to ten minutes (the entries are long-term), sparing one fan-out.
2. **Share keys.** A fresh 128-bit round id (also the nodes' ledger query id), the query, the
   roster, U1, the thresholds and t go to U1. Each node checks the query (nothing read or
   charged) and sends its round's ephemeral key and sealed shares of its round secrets. U1' is
   who did.
3. **Round 1.** The same, with U1' and each member's signed key, goes to U1'. Each node
   charges the central loss, adds a noise share and masks its vector. U2 is who answered.
4. **Consistency, round 2.** (U1', U2) is signed by the survivors and every signature shown to
   all (an aggregator cannot show different sets); each survivor unmasks once.
5. **Result.** The unmasked sum, decoded centred and checked against an a-priori bound, is
   divided by the refinement; its noise is the sum of |U2| shares, which the existing interval
   code handles exactly. Nodes that enrolled but dropped are named, never imputed; below
   t + c survivors nothing is released and every charge made stays.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from aggregator.combination import COMBINERS
from aggregator.fanout import NodeOutcome
from aggregator.federation import FederationConfig, NodeEntry
from aggregator.quorum import evaluate_quorum
from aggregator.results import NodeReport, SectorResult
from aggregator.transport import NodeQueryError
from privacy import InvalidQueryError, Statistic, ValidatedQuery
from privacy.distributed import SharePlan, secure_release
from privacy.mechanisms import VectorRole, discrete_gaussian_variance
from protos import pb2
from wire.secagg import (
    KeyShares,
    MaskedInput,
    Roster,
    RosterEntry,
    RoundParams,
    SecAggError,
    SecAggServer,
    UnmaskReply,
    encode_adverts,
    sign_roster,
    verify_entry,
)
from wire.spec import spec_to_proto
from wire.tls import TlsFiles

__all__ = ["ROSTER_REUSE_SECONDS", "SecureRound"]

log = logging.getLogger("koepel.aggregator")
T = TypeVar("T")
_MAX_PEOPLE_PER_NODE = 10_000_000  # far above any organisation: the decode bound's headroom
ROSTER_REUSE_SECONDS = 600.0  # how long a complete, working roster is reused across queries


_FIELD = {VectorRole.COUNT: "count", VectorRole.SUM: "sum", VectorRole.HISTOGRAM: "histogram"}


def _field(role: VectorRole) -> str:
    return _FIELD.get(role, role.value)


@dataclass
class _Outcome:
    reason: str
    outcome: NodeOutcome


class SecureRound:
    """One federation's secure rounds over its transport, certificate and key."""

    def __init__(self, config: FederationConfig, transport: Any, tls: TlsFiles) -> None:
        self._config = config
        self._transport = transport
        self._ca_pem = tls.ca.read_bytes()
        self._certificate_pem = tls.cert.read_bytes()
        key = load_pem_private_key(tls.key.read_bytes(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise InvalidQueryError("the aggregator's TLS key is not an ECDSA key")
        self._key = key
        self._roster: tuple[float, dict[str, RosterEntry]] | None = None  # (when, entries)

    async def _each(self, nodes: Sequence[NodeEntry],
                    call: Callable[[NodeEntry], Awaitable[T]], timeout: float
                    ) -> tuple[dict[str, T], dict[str, _Outcome]]:
        """Call every node concurrently; what each answered, and why the others did not."""
        async def one(node: NodeEntry) -> T:
            return await asyncio.wait_for(call(node), timeout)

        results = await asyncio.gather(*(one(n) for n in nodes), return_exceptions=True)
        answered: dict[str, T] = {}
        failed: dict[str, _Outcome] = {}
        for node, result in zip(nodes, results, strict=True):
            if isinstance(result, NodeQueryError):
                outcome = (NodeOutcome.UNAVAILABLE if result.code.name == "UNAVAILABLE"
                           else NodeOutcome.REFUSED)
                failed[node.node_id] = _Outcome(f"{result.reason}: {result.message}"[:300],
                                                outcome)
            elif isinstance(result, TimeoutError):
                failed[node.node_id] = _Outcome("no answer within the deadline",
                                                NodeOutcome.DEADLINE_EXCEEDED)
            elif isinstance(result, SecAggError):
                failed[node.node_id] = _Outcome(f"its message was refused: {result}"[:300],
                                                NodeOutcome.ERROR)
            elif isinstance(result, BaseException):
                if not isinstance(result, Exception):
                    raise result
                failed[node.node_id] = _Outcome(f"unexpected {type(result).__name__}",
                                                NodeOutcome.ERROR)
            else:
                answered[node.node_id] = result
        return answered, failed

    async def _enrolled(self, nodes: Sequence[NodeEntry], deadline: float
                        ) -> tuple[dict[str, RosterEntry], dict[str, _Outcome]]:
        """Every node's roster entry, each checked against the CA and its registered id.

        Entries are long-term (certificate, X25519 key), so a roster that covered every node
        and whose every member then shared keys is reused for ``ROSTER_REUSE_SECONDS``, while
        each entry still verifies: one fan-out less per query. Any failure asks afresh.
        """
        ids = {n.node_id for n in nodes}
        kept = self._roster
        if kept is not None and time.monotonic() - kept[0] < ROSTER_REUSE_SECONDS and set(
                kept[1]) == ids:
            try:
                for entry in kept[1].values():
                    verify_entry(entry, self._ca_pem)  # cached; catches an expired certificate
                return dict(kept[1]), {}
            except SecAggError:
                pass

        async def enrol(node: NodeEntry) -> RosterEntry:
            response = await self._transport.secure(node, "SecureEnrol",
                                                    pb2.SecureEnrolRequest(), deadline)
            [entry] = Roster.from_bytes(response.roster_entry).entries
            if entry.node_id != node.node_id:
                raise SecAggError(f"enrolled as {entry.node_id[:64]!r}")
            verify_entry(entry, self._ca_pem)
            return entry

        started = time.monotonic()
        entries, failed = await self._each(nodes, enrol, deadline)
        self._roster = None if failed else (started, dict(entries))
        return entries, failed

    async def run(self, query: ValidatedQuery, *, result_id: str, created_at: str,
                  deadline: float, attribution: pb2.OperatorAttribution | None = None
                  ) -> tuple[SectorResult, dict[str, Any]]:
        """Run one round; the result and the signed transcript (for the history).

        ``attribution`` (the operator's signature, ``wire.attribution``) goes to every node
        with round 1, where the charge is made.
        """
        mode = self._config.aggregation
        nodes = list(self._config.nodes)
        honest = mode.honest_shares(len(nodes))
        needed = honest + mode.colluders
        spec = query.spec
        _, lengths, shares = secure_release(query, honest)

        entries, failed = await self._enrolled(nodes, deadline)
        if len(entries) < needed:
            return self._aborted(query, result_id, created_at, nodes, failed, {},
                                 f"only {len(entries)} nodes enrolled; a secure round needs at "
                                 f"least t + c = {needed}"), {}
        roster = Roster.build(entries.values())
        signature = sign_roster(roster, self._key)
        u1 = roster.node_ids
        bound = _bound(shares, len(u1), lengths)
        params = RoundParams.new(roster_hash=roster.roster_hash, u1=u1,
                                 shamir_threshold=len(u1) // 2 + 1, min_survivors=needed,
                                 vector_length=sum(lengths), bound=bound)
        round_id = params.query_id.hex()
        server = SecAggServer(params, roster, self._ca_pem)
        enrolled = [n for n in nodes if n.node_id in u1]
        the_round = pb2.SecureRoundSpec(
            query_id=round_id, spec=spec_to_proto(spec), params=params.to_bytes(),
            roster=roster.to_bytes(), roster_signature=signature,
            aggregator_certificate=self._certificate_pem, honest_shares=honest,
            attribution=attribution)
        share_keys = pb2.SecureShareKeysRequest(round=the_round)
        log.info("secure round %s: %d nodes enrolled", round_id, len(u1))

        async def keys(node: NodeEntry) -> Any:
            response = await self._transport.secure(node, "SecureShareKeys", share_keys,
                                                    deadline)
            server.receive_keys(node.node_id, KeyShares.from_bytes(response.key_shares))
            return response

        _, unkeyed = await self._each(enrolled, keys, deadline)
        failed.update(unkeyed)
        if unkeyed:  # down, restarted with other keys, or refusing: ask everyone again next time
            self._roster = None
        try:
            adverts = server.key_holders()
        except SecAggError as error:
            return self._aborted(query, result_id, created_at, nodes, failed, {},
                                 str(error)), {**server.transcript(),
                                               "roster": roster.to_bytes().hex()}
        u1p = server.u1_prime
        keyed = [n for n in enrolled if n.node_id in u1p]
        mask = pb2.SecureMaskRequest(round=the_round, key_holders=encode_adverts(adverts))

        async def round1(node: NodeEntry) -> Any:
            response = await self._transport.secure(node, "SecureMask", mask, deadline)
            server.receive_masked(node.node_id, MaskedInput.from_bytes(response.masked_input))
            return response

        masked, dropped = await self._each(keyed, round1, deadline)
        failed.update(dropped)
        costs = {n: int(r.cost_micro_epsilon) for n, r in masked.items()}
        replayed = {n for n, r in masked.items() if r.replayed}
        try:
            u2 = server.survivors()
        except SecAggError as error:
            return self._aborted(query, result_id, created_at, nodes, failed, costs,
                                 str(error)), {**server.transcript(),
                                               "roster": roster.to_bytes().hex()}
        survivors = [n for n in keyed if n.node_id in u2]

        async def consistency(node: NodeEntry) -> Any:
            response = await self._transport.secure(
                node, "SecureConsistency",
                pb2.SecureConsistencyRequest(query_id=round_id, key_holders=list(u1p),
                                             survivors=list(u2)), deadline)
            server.receive_consistency(node.node_id, response.signature)
            return response

        await self._each(survivors, consistency, deadline)
        try:
            signatures = server.consistency_signatures()
        except SecAggError as error:
            return self._aborted(query, result_id, created_at, nodes, failed, costs,
                                 str(error)), server.transcript()

        async def unmask(node: NodeEntry) -> Any:
            response = await self._transport.secure(
                node, "SecureUnmask",
                pb2.SecureUnmaskRequest(query_id=round_id, key_holders=list(u1p),
                                        survivors=list(u2), consistency_signatures=signatures,
                                        shares=server.shares_for(node.node_id)), deadline)
            server.receive_unmask(node.node_id, UnmaskReply.from_bytes(response.unmask_reply))
            return response

        await self._each(survivors, unmask, deadline)
        try:
            total = server.finish()
        except SecAggError as error:
            return self._aborted(query, result_id, created_at, nodes, failed, costs,
                                 str(error)), server.transcript()
        transcript = {**server.transcript(), "roster": roster.to_bytes().hex()}
        responses = _survivor_responses(query, total, shares, lengths, len(u2), round_id)
        figures = COMBINERS[spec.statistic](query, responses)
        reports = [NodeReport(n.node_id, NodeOutcome.ANSWERED,
                              "replayed its stored round-1 message (no new charge)"
                              if n.node_id in replayed else "", costs.get(n.node_id, 0), 1,
                              n.node_id in replayed)
                   for n in survivors]
        for node in nodes:
            if node.node_id in u2:
                continue
            reason = failed.get(node.node_id)
            charged = costs.get(node.node_id, 0)
            text = reason.reason if reason else "dropped between the rounds"
            reports.append(NodeReport(node.node_id, reason.outcome if reason
                                      else NodeOutcome.DEADLINE_EXCEEDED,
                                      text + (" (charged: it took part in round 1)"
                                              if charged else ""), charged, 1))
        status = evaluate_quorum(self._config.quorum, nodes, list(u2))
        histogram = spec.statistic is Statistic.HISTOGRAM
        result = SectorResult(
            result_id=result_id, created_at=created_at, spec=spec,
            group_by=(*spec.group_by, "bin") if histogram else spec.group_by,
            cells=figures.cells, nodes=tuple(reports), complete=status.complete,
            query_id=round_id, incomplete_reasons=status.reasons,
            answered_node_share=status.node_share, answered_size_share=status.size_share,
            federation=self._config.name,
            bin_edges=tuple(float(e) for e in query.measure.bins) if histogram else (),
            quantiles=figures.quantiles, aggregation="secure",
            transcript=json.dumps(transcript, sort_keys=True))
        return result, transcript

    def _aborted(self, query: ValidatedQuery, result_id: str, created_at: str,
                 nodes: Sequence[NodeEntry], failed: dict[str, _Outcome],
                 costs: dict[str, int], why: str) -> SectorResult:
        """No release: every node named, every charge made reported, nothing imputed."""
        reports = []
        for node in nodes:
            reason = failed.get(node.node_id)
            charged = costs.get(node.node_id, 0)
            reports.append(NodeReport(
                node.node_id, reason.outcome if reason else NodeOutcome.ERROR,
                (reason.reason if reason else "round aborted")
                + (" (charged: it took part in round 1)" if charged else ""), charged, 1))
        return SectorResult(result_id=result_id, created_at=created_at, spec=query.spec,
                            group_by=query.spec.group_by, cells=(), nodes=tuple(reports),
                            complete=False, query_id=result_id,
                            incomplete_reasons=(f"secure round aborted: {why}",),
                            federation=self._config.name, aggregation="secure")


def _bound(shares: Sequence[SharePlan], nodes: int, lengths: Sequence[int]) -> int:
    """An a-priori bound on any cell of the sum, in refined units: beyond it a node lied."""
    largest = max(s.sensitivity for s in shares)
    noise = max(math.sqrt(s.variance_of_sum(nodes)) for s in shares)
    return min((1 << 63) - 1, int(nodes * _MAX_PEOPLE_PER_NODE * largest + 60 * noise) + 1)


def _survivor_responses(query: ValidatedQuery, total: Sequence[int], shares: Sequence[SharePlan],
                        lengths: Sequence[int], survivors: int, round_id: str
                        ) -> list[pb2.QueryResponse]:
    """The unmasked sum as the cell combiners read answers: the sum in the first, and one zero
    vector per further share, each with one share's noise description, so that intervals come
    from the exact distribution of the summed shares."""
    unit = query.catalogue.fixed_point_scale
    responses = []
    for index in range(survivors):
        response = pb2.QueryResponse(query_id=round_id, node_id=f"secure-sum-{index}",
                                     cells=[pb2.Cell(key=list(c)) for c in query.cells],
                                     catalogue_version=query.spec.catalogue_version)
        offset = 0
        for share, length in zip(shares, lengths, strict=True):
            values = list(total[offset:offset + length]) if index == 0 else [0] * length
            offset += length
            scale = share.refinement * (unit if share.role is VectorRole.SUM else 1)
            getattr(response, _field(share.role)).CopyFrom(pb2.NoisyVector(
                values=values, noise=pb2.NOISE_KIND_DISCRETE_GAUSSIAN,
                noise_scale=share.share_scale,
                noise_variance=discrete_gaussian_variance(share.share_scale),
                fixed_point_scale=scale))
        responses.append(response)
    return responses
