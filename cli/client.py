"""A small synchronous client of the aggregator's operator service."""

from __future__ import annotations

import grpc

from protos import pb2, pb2_grpc
from protos.wire import check_loopback

__all__ = ["AggregatorClient"]


class AggregatorClient:
    def __init__(self, address: str, *, insecure: bool = True, timeout: float = 120.0) -> None:
        if not insecure:
            raise ValueError("mutual TLS is not available yet in this version; use --insecure")
        check_loopback(address)
        self._channel = grpc.insecure_channel(address)
        self._stub = pb2_grpc.AggregatorServiceStub(self._channel)
        self._timeout = timeout

    def submit(self, spec: pb2.QuerySpec, deadline_seconds: float = 0.0) -> pb2.SectorResult:
        request = pb2.SubmitQueryRequest(spec=spec, deadline_seconds=deadline_seconds)
        return self._stub.SubmitQuery(request, timeout=self._timeout).result

    def nodes(self) -> list[pb2.NodeInfo]:
        return list(self._stub.ListNodes(pb2.ListNodesRequest(), timeout=self._timeout).nodes)

    def history(self, result_id: str = "", limit: int = 20) -> list[pb2.SectorResult]:
        request = pb2.HistoryRequest(result_id=result_id, limit=limit)
        return list(self._stub.History(request, timeout=self._timeout).results)

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> AggregatorClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
