"""The aggregator's own gRPC service for operators: convert, call :class:`Aggregator`, convert."""

from __future__ import annotations

import logging
from typing import Any

import grpc

from aggregator.federated import Aggregator
from aggregator.metrics import SubmitObservation
from aggregator.serde import result_to_proto, spec_from_proto
from privacy import CatalogueVersionError, InvalidQueryError, KoepelError
from protos import pb2, pb2_grpc

__all__ = ["AggregatorServicer"]

log = logging.getLogger("koepel.aggregator")


class AggregatorServicer(pb2_grpc.AggregatorServiceServicer):
    def __init__(self, aggregator: Aggregator) -> None:
        self._aggregator = aggregator

    async def SubmitQuery(self, request: pb2.SubmitQueryRequest,
                          context: Any) -> pb2.SubmitQueryResponse:
        with self._aggregator.metrics.observe_submit() as observed:
            return await self._submit(request, context, observed)

    async def _submit(self, request: pb2.SubmitQueryRequest, context: Any,
                      observed: SubmitObservation) -> pb2.SubmitQueryResponse:
        try:
            spec = spec_from_proto(request.spec)
            deadline = request.deadline_seconds if request.deadline_seconds > 0 else None
            result = await self._aggregator.submit(spec, deadline_seconds=deadline)
        except (InvalidQueryError, CatalogueVersionError) as error:
            observed.outcome = "invalid"
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(error))
        except KoepelError as error:
            observed.outcome = "refused"
            await context.abort(grpc.StatusCode.FAILED_PRECONDITION, str(error))
        except Exception as error:
            log.error("internal error in SubmitQuery: %s", type(error).__name__,
                      extra={"error_type": type(error).__name__})
            await context.abort(grpc.StatusCode.INTERNAL, "internal error in the aggregator")
        observed.result(result)
        log.info("result %s: %d of %d nodes answered", result.result_id, len(result.answered),
                 len(result.nodes), extra={"query_id": result.result_id,
                                           "answered": len(result.answered)})
        return pb2.SubmitQueryResponse(result=result_to_proto(result))

    async def ListNodes(self, request: pb2.ListNodesRequest,
                        context: Any) -> pb2.ListNodesResponse:
        states = await self._aggregator.node_states()
        return pb2.ListNodesResponse(nodes=[
            pb2.NodeInfo(node_id=s.node.node_id, address=s.node.address,
                         organisation=s.node.organisation, reachable=s.reachable,
                         catalogue_versions=list(s.catalogue_versions), reason=s.reason,
                         budget=list(s.budget))
            for s in states
        ])

    async def History(self, request: pb2.HistoryRequest, context: Any) -> pb2.HistoryResponse:
        history = self._aggregator.history
        if request.result_id:
            found = history.get(request.result_id)
            if found is None:
                await context.abort(grpc.StatusCode.NOT_FOUND, "no result with that id")
            results = [found] if found else []
        else:
            results = history.recent(request.limit or 20)
        return pb2.HistoryResponse(results=[result_to_proto(r) for r in results])
