"""The aggregator's own gRPC service for operators: convert, call :class:`Aggregator`, convert.

A submitted query may carry the operator's own signature (``wire.attribution``). The service
binds it to the operator on the TLS connection — the certificate it forwards to the nodes is
the verified TLS peer's, never one the request names — checks it, and hands it on untouched, so
every node can check who asked against the federation CA itself.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import grpc

from aggregator.federated import Aggregator
from aggregator.history import HistoryConflictError
from aggregator.metrics import SubmitObservation
from aggregator.publishing import public_part
from aggregator.results import SectorResult
from aggregator.serde import (
    node_report_to_proto,
    node_states_to_proto,
    plan_to_proto,
    result_to_proto,
    spec_from_proto,
)
from privacy import (
    CatalogueVersionError,
    InvalidQueryError,
    KoepelError,
    QueryConflictError,
    QuerySpec,
)
from protos import pb2, pb2_grpc
from wire.attribution import OperatorAttributionError, verify_attribution
from wire.tls import peer_identity

__all__ = ["AggregatorServicer"]

log = logging.getLogger("koepel.aggregator")
T = TypeVar("T")

MAX_HISTORY_LIMIT = 1000


async def _guarded(context: Any, method: str, call: Callable[[], Awaitable[T]],
                   observed: SubmitObservation | None = None) -> T:
    """Run ``call``; domain errors become their status, anything else INTERNAL (generic text).

    ``observed`` (SubmitQuery only) learns how the call ended, for the metrics.
    """
    observed = observed or SubmitObservation()
    try:
        return await call()
    except grpc.aio.AbortError:
        raise  # the call already chose its status
    except (InvalidQueryError, CatalogueVersionError) as error:
        observed.outcome = "invalid"
        await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(error))
    except OperatorAttributionError as error:
        observed.outcome = "refused"
        await context.abort(grpc.StatusCode.UNAUTHENTICATED, str(error))
    except (QueryConflictError, HistoryConflictError) as error:
        observed.outcome = "invalid"
        await context.abort(grpc.StatusCode.ALREADY_EXISTS, str(error))
    except KoepelError as error:
        observed.outcome = "refused"
        await context.abort(grpc.StatusCode.FAILED_PRECONDITION, str(error))
    except Exception as error:
        log.error("internal error in %s: %s", method, type(error).__name__,
                  extra={"error_type": type(error).__name__})
        await context.abort(grpc.StatusCode.INTERNAL, "internal error in the aggregator; its "
                            "operator can find details in the aggregator's log")
    raise AssertionError("unreachable")  # context.abort raises


def forwarded_attribution(request: pb2.SubmitQueryRequest, spec: QuerySpec, context: Any,
                          ca_pem: bytes | None) -> tuple[pb2.OperatorAttribution | None, str]:
    """The attribution to forward to the nodes and the query id it binds ("" for none).

    The certificate is the TLS peer's, so the operator the nodes see is the one connected
    here; its signature must hold over this very query (and ``request.query_id``, if given).
    """
    if not request.HasField("attribution"):
        return None, request.query_id
    auth: dict[str, list[bytes]] = dict(context.auth_context() or {})
    peer = peer_identity(auth)
    pems = auth.get("x509_pem_cert") or []
    if ca_pem is None or peer is None or len(pems) != 1:
        raise OperatorAttributionError("an operator attribution needs mutual TLS: the "
                                       "aggregator binds it to the certificate you connect with")
    attribution = pb2.OperatorAttribution(payload=request.attribution.payload,
                                          signature=request.attribution.signature,
                                          certificate=bytes(pems[0]))
    claim = verify_attribution(attribution, ca_pem, spec_digest=spec.digest(),
                               query_id=request.query_id or None)
    if claim.operator != peer.name:  # the certificate is the peer's: cannot differ; belt and braces
        raise OperatorAttributionError("the attribution is not signed by the connected operator")
    return attribution, claim.request_id


class AggregatorServicer(pb2_grpc.AggregatorServiceServicer):
    def __init__(self, aggregator: Aggregator) -> None:
        self._aggregator = aggregator
        tls = aggregator.config.tls
        self._ca_pem = tls.ca.read_bytes() if tls is not None and tls.ca.is_file() else None

    async def SubmitQuery(self, request: pb2.SubmitQueryRequest,
                          context: Any) -> pb2.SubmitQueryResponse:
        with self._aggregator.metrics.observe_submit() as observed:
            async def call() -> pb2.SubmitQueryResponse:
                spec = spec_from_proto(request.spec)
                deadline = request.deadline_seconds if request.deadline_seconds > 0 else None
                if request.aggregation not in ("", "secure", "per_node"):
                    raise InvalidQueryError("aggregation must be secure or per_node")
                secure = {"": None, "secure": True, "per_node": False}[request.aggregation]
                attribution, query_id = forwarded_attribution(request, spec, context,
                                                              self._ca_pem)
                result = await self._aggregator.submit(spec, deadline_seconds=deadline,
                                                       query_id=query_id or None,
                                                       secure=secure, attribution=attribution)
                observed.result(result)
                log.info("result %s: %d of %d nodes answered", result.result_id,
                         len(result.answered), len(result.nodes),
                         extra={"query_id": result.query_id, "answered": len(result.answered)})
                return pb2.SubmitQueryResponse(result=result_to_proto(result))

            return await _guarded(context, "SubmitQuery", call, observed)

    async def PlanQuery(self, request: pb2.PlanQueryRequest,
                        context: Any) -> pb2.PlanQueryResponse:
        async def call() -> pb2.PlanQueryResponse:
            return plan_to_proto(await self._aggregator.plan(spec_from_proto(request.spec)))

        return await _guarded(context, "PlanQuery", call)

    async def ListNodes(self, request: pb2.ListNodesRequest,
                        context: Any) -> pb2.ListNodesResponse:
        async def call() -> pb2.ListNodesResponse:
            config = self._aggregator.config
            listing = node_states_to_proto(await self._aggregator.node_states(),
                                           federation=config.name,
                                           catalogue_version=config.catalogue.version)
            listing.aggregation = config.aggregation.mode
            return listing

        return await _guarded(context, "ListNodes", call)

    async def _stored(self, context: Any, result_id: str) -> SectorResult:
        found = self._aggregator.result(result_id)
        if found is None:
            await context.abort(grpc.StatusCode.NOT_FOUND,
                                f"no result with id {result_id[:64]!r}; "
                                "`koepel history` lists the stored ones")
            raise AssertionError("unreachable")
        return found

    async def PublishResult(self, request: pb2.PublishResultRequest,
                            context: Any) -> pb2.PublishResultResponse:
        async def call() -> pb2.PublishResultResponse:
            deadline = request.deadline_seconds if request.deadline_seconds > 0 else None
            found = await self._stored(context, request.result_id)
            reports = await self._aggregator.publish(result_to_proto(public_part(found)),
                                                     node_ids=list(request.node_ids),
                                                     deadline_seconds=deadline)
            log.info("result %s published to %d of %d nodes", request.result_id[:64],
                     sum(r.outcome.value == "answered" for r in reports), len(reports))
            return pb2.PublishResultResponse(result_id=request.result_id,
                                             nodes=[node_report_to_proto(r) for r in reports])

        return await _guarded(context, "PublishResult", call)

    async def History(self, request: pb2.HistoryRequest, context: Any) -> pb2.HistoryResponse:
        async def call() -> pb2.HistoryResponse:
            if request.result_id:
                found = await self._stored(context, request.result_id)
                return pb2.HistoryResponse(results=[
                    result_to_proto(found, include_receipts=request.include_receipts)])
            if not 0 <= request.limit <= MAX_HISTORY_LIMIT:
                raise InvalidQueryError(f"limit must be between 1 and {MAX_HISTORY_LIMIT}")
            results = self._aggregator.recent(request.limit or 20, request.offset)
            return pb2.HistoryResponse(results=[result_to_proto(r) for r in results])

        return await _guarded(context, "History", call)
