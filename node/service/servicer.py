"""The node's gRPC servicer: convert, call the query engine, convert back. Nothing more."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

import grpc

from node.config import NodeConfig
from node.engine.queries import QueryEngine
from node.engine.secure import RoundRequest, SecureRefused, SecureRounds
from node.published import published_from_proto, store_published
from node.service.errors import status_for
from node.service.identity import OperatorCheck, querier_of
from node.service.metrics import NodeMetrics, QueryObservation
from node.service.pacing import ReplyPacer
from node.service.serde import answer_to_proto, budget_to_proto, export_to_proto, spec_from_proto
from node.store.database import Store
from privacy import KoepelError, PermissionDeniedError, QuerySpec
from protos import pb2, pb2_grpc

__all__ = ["NodeServicer"]

log = logging.getLogger("koepel.node")
T = TypeVar("T")

SOFTWARE_VERSION = "koepel 0.1.0"


class NodeServicer(pb2_grpc.NodeServiceServicer):
    def __init__(self, config: NodeConfig, engine: QueryEngine, *, insecure: bool,
                 metrics: NodeMetrics, pacer: ReplyPacer | None = None,
                 secure: SecureRounds | None = None, store: Store | None = None) -> None:
        self._config = config
        self._store = store  # where published sector results are kept (None: not accepted)
        self._secure = secure  # None: secure aggregation is not served (plaintext demo mode)
        self._engine = engine
        self._insecure = insecure
        self._metrics = metrics
        self._pacer = pacer or ReplyPacer(config.reply_quantum_ms / 1000)
        # Plaintext demo nodes may have no CA at all: they then refuse any attribution.
        ca = config.tls.ca if config.tls is not None else None
        self._operators = OperatorCheck(ca if ca is not None and ca.is_file() else None)
        certificate = config.signing_certificate
        self._signing_certificate = (certificate.read_bytes()
                                     if certificate is not None and certificate.is_file()
                                     else b"")

    def _guard(self, context: grpc.ServicerContext, method: str, call: Callable[[], T],
               observed: QueryObservation | None = None) -> T:
        """Run ``call``; turn domain errors into their status and anything else into INTERNAL."""
        try:
            result = call()
        except KoepelError as error:
            status = status_for(error)
            if observed is not None:
                observed.refused(error.code)
            else:
                log.info("refused %s: %s", method, error.code, extra={"reason": error.code})
        except Exception as error:  # never leak internals to the caller
            status = status_for(error)
            log.error("internal error in %s: %s", method, type(error).__name__,
                      extra={"error_type": type(error).__name__})
        else:
            self._metrics.request(method, "OK")
            return result
        self._metrics.request(method, status.code.name)
        context.abort_with_status(status)
        raise AssertionError("unreachable")  # abort_with_status raises

    def Describe(self, request: pb2.DescribeRequest, context: Any) -> pb2.DescribeResponse:
        def call() -> pb2.DescribeResponse:
            querier_of(context, insecure=self._insecure)
            return pb2.DescribeResponse(
                node_id=self._config.node_id,
                organisation=self._config.organisation,
                catalogue_versions=list(self._config.approved_versions),
                software_version=SOFTWARE_VERSION,
            )

        return self._guard(context, "Describe", call)

    def Query(self, request: pb2.QueryRequest, context: Any) -> pb2.QueryResponse:
        # Answers and refusals alike leave on a quantum boundary (timing side channel).
        with self._pacer.paced(), self._metrics.observe_query(request.query_id) as observed:
            def call() -> pb2.QueryResponse:
                observed.querier = querier = querier_of(context, insecure=self._insecure)
                spec = spec_from_proto(request.spec)
                operator = self._operators.operator(request, spec_digest=spec.digest(),
                                                    query_id=request.query_id)
                answer = self._engine.answer(querier, request.query_id, spec, operator)
                observed.answered(replayed=answer.replayed, cost_micro=answer.release.cost_micro)
                return answer_to_proto(answer, self._engine.loss_rule.epsilon_of,
                                       self._signing_certificate)

            return self._guard(context, "Query", call, observed)

    def Budget(self, request: pb2.BudgetRequest, context: Any) -> pb2.BudgetResponse:
        def call() -> pb2.BudgetResponse:
            querier = querier_of(context, insecure=self._insecure)
            return budget_to_proto(self._engine.budget(querier))

        return self._guard(context, "Budget", call)

    def ExportLedger(
        self, request: pb2.ExportLedgerRequest, context: Any
    ) -> pb2.ExportLedgerResponse:
        def call() -> pb2.ExportLedgerResponse:
            caller = querier_of(context, insecure=self._insecure)
            export = self._engine.export_ledger(caller)  # queriers and auditors only
            return export_to_proto(export, max(0, request.after_sequence))

        return self._guard(context, "ExportLedger", call)

    def _rounds(self) -> SecureRounds:
        if self._secure is None:
            raise SecureRefused("this node serves secure aggregation only over mutual TLS")
        return self._secure

    def SecureEnrol(self, request: pb2.SecureEnrolRequest, context: Any
                    ) -> pb2.SecureEnrolResponse:
        def call() -> pb2.SecureEnrolResponse:
            querier_of(context, insecure=self._insecure)
            return pb2.SecureEnrolResponse(roster_entry=self._rounds().enrol())

        return self._guard(context, "SecureEnrol", call)

    def _round_args(self, round_: pb2.SecureRoundSpec) -> tuple[str, QuerySpec, RoundRequest]:
        """The query id, spec and round of a share-keys or round-1 request, as the engine takes
        them, with the operator's attribution verified."""
        spec = spec_from_proto(round_.spec)
        # The signed query id is the operator's, not the round's: it is kept in the ledger,
        # once per operator, instead of being compared with the round id.
        operator = self._operators.operator(round_, spec_digest=spec.digest(), query_id=None)
        return round_.query_id, spec, RoundRequest(
            params=round_.params, roster=round_.roster, roster_signature=round_.roster_signature,
            aggregator_certificate=round_.aggregator_certificate,
            honest_shares=round_.honest_shares, operator=operator)

    def SecureShareKeys(self, request: pb2.SecureShareKeysRequest, context: Any
                        ) -> pb2.SecureShareKeysResponse:
        def call() -> pb2.SecureShareKeysResponse:
            querier = querier_of(context, insecure=self._insecure)
            return pb2.SecureShareKeysResponse(key_shares=self._rounds().share_keys(
                querier, *self._round_args(request.round)))

        return self._guard(context, "SecureShareKeys", call)

    def SecureMask(self, request: pb2.SecureMaskRequest, context: Any
                   ) -> pb2.SecureMaskResponse:
        # Round 1 reads the records, so it is paced like a query (timing side channel).
        with self._pacer.paced():
            def call() -> pb2.SecureMaskResponse:
                querier = querier_of(context, insecure=self._insecure)
                masked, cost, local, replayed = self._rounds().mask(
                    querier, *self._round_args(request.round), key_holders=request.key_holders)
                return pb2.SecureMaskResponse(
                    masked_input=masked, cost_micro_units=cost,
                    cost_micro_epsilon=self._engine.loss_rule.epsilon_of(cost),
                    local_micro_units=local, replayed=replayed)

            return self._guard(context, "SecureMask", call)

    def SecureConsistency(self, request: pb2.SecureConsistencyRequest, context: Any
                          ) -> pb2.SecureConsistencyResponse:
        def call() -> pb2.SecureConsistencyResponse:
            querier = querier_of(context, insecure=self._insecure)
            return pb2.SecureConsistencyResponse(signature=self._rounds().consistency(
                querier, request.query_id, list(request.key_holders),
                list(request.survivors)))

        return self._guard(context, "SecureConsistency", call)

    def SecureUnmask(self, request: pb2.SecureUnmaskRequest, context: Any
                     ) -> pb2.SecureUnmaskResponse:
        def call() -> pb2.SecureUnmaskResponse:
            querier = querier_of(context, insecure=self._insecure)
            return pb2.SecureUnmaskResponse(unmask_reply=self._rounds().unmask(
                querier, request.query_id, list(request.key_holders), list(request.survivors),
                dict(request.consistency_signatures), dict(request.shares)))

        return self._guard(context, "SecureUnmask", call)

    def ReceiveSectorResult(self, request: pb2.ReceiveSectorResultRequest, context: Any
                            ) -> pb2.ReceiveSectorResultResponse:
        # Keeps a published sector result (DP output); reads no record, and the reply is empty.
        def call() -> pb2.ReceiveSectorResultResponse:
            querier = querier_of(context, insecure=self._insecure)
            if querier not in self._config.queriers or self._store is None:
                raise PermissionDeniedError(f"querier {querier!r} may not publish to this node")
            store_published(self._store, published_from_proto(request.result))
            return pb2.ReceiveSectorResultResponse()

        return self._guard(context, "ReceiveSectorResult", call)
