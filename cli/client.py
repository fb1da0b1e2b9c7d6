"""A small synchronous client of the aggregator's operator service, over mutual TLS.

It returns the aggregator's domain objects (converted by ``aggregator.serde``), so that the
commands render results the same way whether they come fresh or from the history.

Operators present their own certificate (role ``operator``, or ``auditor`` for read-only use)
issued by the federation CA. The files are named with ``--cert/--key/--ca`` or the
``KOEPEL_TLS_CERT/KEY/CA`` environment variables (paths, never key material); plaintext needs an
explicit ``--insecure`` and a loopback address.

Under mutual TLS every query is signed with the operator's certificate key
(``wire.attribution``) over its query id — chosen here, a fresh one unless given — its digest
and the time. The aggregator forwards that signature to every node, whose ledger then records
which operator asked, on the node's own check against the federation CA.
"""

from __future__ import annotations

import uuid

import grpc

from aggregator import (
    NodeState,
    QueryPlan,
    SectorResult,
    node_states_from_proto,
    plan_from_proto,
    result_from_proto,
)
from cli.connection import Connection, connection_options, tls_options
from privacy import InvalidQueryError
from protos import pb2, pb2_grpc
from wire.attribution import sign_request
from wire.limits import channel_options, check_loopback
from wire.spec import spec_from_proto
from wire.tls import channel_credentials

__all__ = ["AggregatorClient", "Connection", "NodeListing", "connection_options", "tls_options"]

NodeListing = tuple[str, str, list[NodeState]]  # (federation, catalogue version, states)


class AggregatorClient:
    def __init__(self, conn: Connection, *, timeout: float = 120.0) -> None:
        options = channel_options(max_receive_bytes=64 << 20)
        if conn.insecure:
            check_loopback(conn.address)
            self._channel = grpc.insecure_channel(conn.address, options=options)
        elif conn.tls is not None:
            self._channel = grpc.secure_channel(conn.address, channel_credentials(conn.tls),
                                                options=options)
        else:
            raise ValueError("no TLS files and not --insecure: cannot connect")
        self._stub = pb2_grpc.AggregatorServiceStub(self._channel)
        self._timeout = timeout
        self._conn = conn

    def _attribution(self, spec: pb2.QuerySpec, query_id: str) -> pb2.OperatorAttribution | None:
        """The operator's signature over this query (None without TLS, or for a query the
        aggregator will refuse anyway: it then says what is wrong with it)."""
        if self._conn.tls is None:
            return None
        try:
            digest = spec_from_proto(spec).digest()
        except InvalidQueryError:
            return None
        return sign_request(self._conn.tls, query_id=query_id, spec_digest=digest)

    def submit(self, spec: pb2.QuerySpec, deadline_seconds: float = 0.0,
               query_id: str = "", aggregation: str = "") -> SectorResult:
        attribution = None
        if self._conn.tls is not None:
            query_id = query_id or uuid.uuid4().hex
            attribution = self._attribution(spec, query_id)
        request = pb2.SubmitQueryRequest(spec=spec, deadline_seconds=deadline_seconds,
                                         query_id=query_id, aggregation=aggregation,
                                         attribution=attribution)
        return result_from_proto(self._stub.SubmitQuery(request, timeout=self._timeout).result)

    def plan(self, spec: pb2.QuerySpec) -> QueryPlan:
        return plan_from_proto(self._stub.PlanQuery(pb2.PlanQueryRequest(spec=spec),
                                                    timeout=self._timeout))

    def nodes(self) -> NodeListing:
        return self.nodes_and_mode()[0]

    def nodes_and_mode(self) -> tuple[NodeListing, str]:
        """The node listing and the federation's default aggregation mode."""
        response = self._stub.ListNodes(pb2.ListNodesRequest(), timeout=self._timeout)
        return ((response.federation, response.catalogue_version,
                 node_states_from_proto(response)), response.aggregation or "per_node")

    def history(self, result_id: str = "", limit: int = 20,
                include_receipts: bool = False, offset: int = 0) -> list[SectorResult]:
        request = pb2.HistoryRequest(result_id=result_id, limit=limit,
                                     include_receipts=include_receipts, offset=offset)
        return [result_from_proto(r)
                for r in self._stub.History(request, timeout=self._timeout).results]

    def publish(self, request: pb2.PublishResultRequest) -> pb2.PublishResultResponse:
        """`koepel publish`: the aggregator sends a stored result to the nodes."""
        return self._stub.PublishResult(request, timeout=self._timeout)

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> AggregatorClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
