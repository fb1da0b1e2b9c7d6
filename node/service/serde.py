"""Conversions between wire messages and the node's domain types (and nothing else)."""

from __future__ import annotations

from collections.abc import Callable

from node.engine.answers import Answer, BudgetLine
from privacy import NoiseKind, NoisyVector
from privacy.audit import LedgerExport
from protos import pb2
from wire.spec import spec_from_proto  # the one wire reading, shared with the aggregator

__all__ = [
    "answer_to_proto",
    "budget_to_proto",
    "export_to_proto",
    "spec_from_proto",
]

_NOISE = {NoiseKind.DISCRETE_LAPLACE: pb2.NOISE_KIND_DISCRETE_LAPLACE,
          NoiseKind.DISCRETE_GAUSSIAN: pb2.NOISE_KIND_DISCRETE_GAUSSIAN}




def _vector(vector: NoisyVector | None, scale: int,
            epsilon_of: Callable[[int], int]) -> pb2.NoisyVector | None:
    if vector is None:
        return None
    return pb2.NoisyVector(
        values=list(vector.values),
        fixed_point_scale=scale,
        noise=_NOISE[vector.noise],
        noise_scale=vector.scale,
        noise_variance=vector.variance,
        cost_micro_epsilon=epsilon_of(vector.cost_micro),
        sensitivity=vector.sensitivity,
        cost_micro_units=vector.cost_micro,
    )


def answer_to_proto(answer: Answer, epsilon_of: Callable[[int], int] = lambda u: u,
                    signing_certificate: bytes = b"") -> pb2.QueryResponse:
    """The wire answer; ``epsilon_of`` states a cost in the accounting's unit as ε, and
    ``signing_certificate`` (the CA's certificate for the signing key) rides with the receipt."""
    release = answer.release
    return pb2.QueryResponse(
        query_id=answer.query_id,
        node_id=answer.node_id,
        cells=[pb2.Cell(key=list(cell)) for cell in answer.cells],
        sum=_vector(release.sum, release.fixed_point_scale, epsilon_of),
        count=_vector(release.count, 1, epsilon_of),
        histogram=_vector(release.histogram, 1, epsilon_of),
        clamped=_vector(release.clamped, 1, epsilon_of),
        bins=list(answer.bins),
        bin_edges=list(answer.bin_edges),
        clamp_lower=answer.clamp_lower,
        clamp_upper=answer.clamp_upper,
        cost_micro_epsilon=answer.cost_epsilon_micro,
        cost_micro_units=release.cost_micro,
        accounting=answer.accounting,
        delta=answer.delta,
        replayed=answer.replayed,
        catalogue_version=answer.catalogue_version,
        receipt=None if answer.receipt is None else pb2.Receipt(
            payload=answer.receipt.payload, signature=answer.receipt.signature,
            public_key=answer.receipt.public_key, signing_certificate=signing_certificate),
    )


def budget_to_proto(lines: list[BudgetLine]) -> pb2.BudgetResponse:
    return pb2.BudgetResponse(lines=[
        pb2.BudgetLine(querier=line.querier, period=line.period,
                       cap_micro_epsilon=line.cap_epsilon_micro,
                       spent_micro_epsilon=line.spent_epsilon_micro, scope=line.scope,
                       unit=line.unit, cap_micro_units=line.cap_micro,
                       spent_micro_units=line.spent_micro,
                       remaining_micro_epsilon=line.remaining_epsilon_micro)
        for line in lines
    ])


def export_to_proto(export: LedgerExport, after_sequence: int = 0) -> pb2.ExportLedgerResponse:
    """The signed export; ``after_sequence`` leaves out earlier entries (the statement's head
    still covers them through the hash chain)."""
    return pb2.ExportLedgerResponse(
        node_id=export.node_id, public_key=export.public_key,
        statement=export.statement_payload, signature=export.signature,
        signing_certificate=export.signing_certificate,
        entries=[
            pb2.LedgerEntry(
                sequence=e.sequence, created_at=e.created_at, querier=e.querier,
                query_id=e.query_id, query_digest=e.query_digest, mechanism=e.mechanism,
                cost_micro_epsilon=e.cost_micro, budget_period=e.budget_period,
                catalogue_version=e.catalogue_version, previous_hash=e.prev_hash,
                entry_hash=e.entry_hash, unit=e.unit, noise=e.noise, operator=e.operator,
                operator_request=e.operator_request,
            )
            for e in export.records if e.sequence > after_sequence
        ],
    )
