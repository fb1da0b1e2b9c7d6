"""A small synchronous client of the aggregator's operator service.

It returns the aggregator's domain objects (converted by ``aggregator.serde``), so that the
commands render results the same way whether they come fresh or from the history.
"""

from __future__ import annotations

import grpc

from aggregator import (
    NodeState,
    QueryPlan,
    SectorResult,
    node_states_from_proto,
    plan_from_proto,
    result_from_proto,
)
from protos import pb2, pb2_grpc
from protos.wire import check_loopback

__all__ = ["AggregatorClient", "NodeListing"]

NodeListing = tuple[str, str, list[NodeState]]  # (federation, catalogue version, states)


class AggregatorClient:
    def __init__(self, address: str, *, insecure: bool = True, timeout: float = 120.0) -> None:
        if not insecure:
            raise ValueError("mutual TLS is not available yet in this version; use --insecure")
        check_loopback(address)
        self._channel = grpc.insecure_channel(address)
        self._stub = pb2_grpc.AggregatorServiceStub(self._channel)
        self._timeout = timeout

    def submit(self, spec: pb2.QuerySpec, deadline_seconds: float = 0.0,
               query_id: str = "") -> SectorResult:
        request = pb2.SubmitQueryRequest(spec=spec, deadline_seconds=deadline_seconds,
                                         query_id=query_id)
        return result_from_proto(self._stub.SubmitQuery(request, timeout=self._timeout).result)

    def plan(self, spec: pb2.QuerySpec) -> QueryPlan:
        return plan_from_proto(self._stub.PlanQuery(pb2.PlanQueryRequest(spec=spec),
                                                    timeout=self._timeout))

    def nodes(self) -> NodeListing:
        response = self._stub.ListNodes(pb2.ListNodesRequest(), timeout=self._timeout)
        return response.federation, response.catalogue_version, node_states_from_proto(response)

    def history(self, result_id: str = "", limit: int = 20,
                include_receipts: bool = False) -> list[SectorResult]:
        request = pb2.HistoryRequest(result_id=result_id, limit=limit,
                                     include_receipts=include_receipts)
        return [result_from_proto(r)
                for r in self._stub.History(request, timeout=self._timeout).results]

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> AggregatorClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
