"""Structural checks of every field of every request, before anything else looks at it.

These checks know the wire contract, not the catalogue: lengths, character sets, counts,
duplicates, number shapes. They run at the server's gate, before identity-dependent work,
parsing into domain types, validation against the catalogue, the data or the budget, so that
hostile input is refused cheaply, costs nothing, and never reaches code that might echo it.
Every message says which field is wrong and what is allowed, and never repeats the value (it may
be megabytes long, or built to inject into a log line).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

from protos import pb2
from wire.attribution import MAX_CERTIFICATE, MAX_PAYLOAD, MAX_SIGNATURE

__all__ = ["MAX_FILTERS", "MAX_FILTER_VALUES", "MAX_GROUP_BY_WIRE", "request_problem"]

_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:+-]{0,63}")
_QUERY_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
_EPSILON = re.compile(r"(?:[0-9]{1,9}(?:\.[0-9]{0,12})?|\.[0-9]{1,12})")
MAX_GROUP_BY_WIRE = 8
MAX_FILTERS = 16
MAX_FILTER_VALUES = 256
MAX_DEADLINE_SECONDS = 600.0
MAX_HISTORY_LIMIT = 1000
_TOKEN_RULE = "1–64 characters: letters, digits and . _ : + - (starting with a letter or digit)"


def _token(value: str, field: str) -> str | None:
    if not value:
        return f"{field} is required"
    if not _TOKEN.fullmatch(value):
        return f"{field} must be {_TOKEN_RULE}"
    return None


def _spec_problem(spec: pb2.QuerySpec, prefix: str = "spec.") -> str | None:
    for field in ("catalogue_version", "measure", "period"):
        problem = _token(getattr(spec, field), prefix + field)
        if problem:
            return problem
    if not spec.epsilon:
        return f"{prefix}epsilon is required (a decimal such as 0.5)"
    if not _EPSILON.fullmatch(spec.epsilon):
        return (f"{prefix}epsilon must be a plain positive decimal such as 0.5: ASCII digits "
                "and at most one point, no sign, exponent, spaces, NaN or infinity")
    if spec.statistic not in (pb2.STATISTIC_COUNT, pb2.STATISTIC_SUM, pb2.STATISTIC_MEAN,
                              pb2.STATISTIC_HISTOGRAM):
        return f"{prefix}statistic must be COUNT, SUM, MEAN or HISTOGRAM"
    if len(spec.group_by) > MAX_GROUP_BY_WIRE:
        return f"{prefix}group_by lists more than {MAX_GROUP_BY_WIRE} dimensions"
    for name in spec.group_by:
        problem = _token(name, f"{prefix}group_by entries")
        if problem:
            return problem
    if len(set(spec.group_by)) != len(spec.group_by):
        return f"{prefix}group_by names a dimension twice"
    if len(spec.filters) > MAX_FILTERS:
        return f"{prefix}filters has more than {MAX_FILTERS} entries"
    seen: set[str] = set()
    for item in spec.filters:
        problem = _token(item.dimension, f"{prefix}filters.dimension")
        if problem:
            return problem
        if item.dimension in seen:
            return f"{prefix}filters names a dimension twice"
        seen.add(item.dimension)
        if not item.values:
            return f"{prefix}filters entries must list at least one value"
        if len(item.values) > MAX_FILTER_VALUES:
            return f"{prefix}filters entries list more than {MAX_FILTER_VALUES} values"
        for value in item.values:
            problem = _token(value, f"{prefix}filters.values")
            if problem:
                return problem
        if len(set(item.values)) != len(item.values):
            return f"{prefix}filters entries list a value twice"
    return None


def _attribution(request: Any) -> str | None:
    """An operator attribution's sizes (wire.attribution checks the rest, cryptographically)."""
    if not request.HasField("attribution"):
        return None
    found = request.attribution
    if (len(found.payload) > MAX_PAYLOAD or len(found.signature) > MAX_SIGNATURE
            or len(found.certificate) > MAX_CERTIFICATE):
        return (f"attribution is too large (payload ≤ {MAX_PAYLOAD}, signature ≤ "
                f"{MAX_SIGNATURE}, certificate ≤ {MAX_CERTIFICATE} bytes)")
    return None


def _query(request: pb2.QueryRequest) -> str | None:
    if not _QUERY_ID.fullmatch(request.query_id):
        return "query_id must be 1–64 characters of letters, digits, . _ : -"
    if not request.HasField("spec"):
        return "spec is required"
    return _attribution(request) or _spec_problem(request.spec)


def _export(request: pb2.ExportLedgerRequest) -> str | None:
    if request.after_sequence < 0:
        return "after_sequence must be 0 or more"
    return None


def _submit(request: pb2.SubmitQueryRequest) -> str | None:
    if not request.HasField("spec"):
        return "spec is required"
    deadline = request.deadline_seconds
    if not math.isfinite(deadline) or not 0 <= deadline <= MAX_DEADLINE_SECONDS:
        return f"deadline_seconds must be between 0 (the default) and {MAX_DEADLINE_SECONDS:g}"
    if request.query_id and not _QUERY_ID.fullmatch(request.query_id):
        return "query_id must be empty or 1–64 characters of letters, digits, . _ : -"
    return _attribution(request) or _spec_problem(request.spec)


def _plan(request: pb2.PlanQueryRequest) -> str | None:
    if not request.HasField("spec"):
        return "spec is required"
    return _spec_problem(request.spec)


def _history(request: pb2.HistoryRequest) -> str | None:
    if request.result_id and not _QUERY_ID.fullmatch(request.result_id):
        return "result_id must be 1–64 characters of letters, digits, . _ : -"
    if not 0 <= request.limit <= MAX_HISTORY_LIMIT:
        return f"limit must be between 0 (the default) and {MAX_HISTORY_LIMIT}"
    if request.offset < 0:
        return "offset must be 0 (the newest first) or more"
    return None


def _none(request: Any) -> str | None:
    return None


def _round_id(request: Any) -> str | None:
    if not _QUERY_ID.fullmatch(request.query_id):
        return "query_id must be 1–64 characters of letters, digits, . _ : -"
    return None


def _secure_round(round_: pb2.SecureRoundSpec) -> str | None:
    if not round_.HasField("spec"):
        return "round.spec is required"
    if not (round_.params and round_.roster and round_.roster_signature
            and round_.aggregator_certificate):
        return "params, roster, roster_signature and aggregator_certificate are required"
    return _round_id(round_) or _attribution(round_) or _spec_problem(round_.spec)


def _secure_share_keys(request: pb2.SecureShareKeysRequest | pb2.SecureMaskRequest
                       ) -> str | None:
    if not request.HasField("round"):
        return "round is required"
    return _secure_round(request.round)


def _secure_mask(request: pb2.SecureMaskRequest) -> str | None:
    if not request.key_holders:
        return "key_holders is required"
    return _secure_share_keys(request)


def _survivors(request: Any) -> str | None:
    for name in ("survivors", "key_holders"):
        nodes = getattr(request, name)
        if len(nodes) > 1000 or len(set(nodes)) != len(nodes):
            return f"{name} must be at most 1000 distinct node ids"
    return _round_id(request)


def _publish(request: pb2.PublishResultRequest) -> str | None:
    problem = _history(pb2.HistoryRequest(result_id=request.result_id))
    if not request.result_id or problem:
        return problem or "result_id is required"
    if len(request.node_ids) > 1000 or len(set(request.node_ids)) != len(request.node_ids):
        return "node_ids must be at most 1000 distinct node ids"
    for node_id in request.node_ids:
        problem = _token(node_id, "node_ids entries")
        if problem:
            return problem
    deadline = request.deadline_seconds
    if not math.isfinite(deadline) or not 0 <= deadline <= MAX_DEADLINE_SECONDS:
        return f"deadline_seconds must be between 0 (the default) and {MAX_DEADLINE_SECONDS:g}"
    return None


def _published(request: pb2.ReceiveSectorResultRequest) -> str | None:
    if not request.HasField("result"):
        return "result is required"
    result = request.result
    if not _QUERY_ID.fullmatch(result.result_id):
        return "result.result_id must be 1–64 characters of letters, digits, . _ : -"
    return _spec_problem(result.spec, "result.spec.")


_CHECKS: dict[str, Callable[[Any], str | None]] = {
    "/koepel.v1.NodeService/ReceiveSectorResult": _published,
    "/koepel.v1.AggregatorService/PublishResult": _publish,
    "/koepel.v1.NodeService/Describe": _none,
    "/koepel.v1.NodeService/Query": _query,
    "/koepel.v1.NodeService/Budget": _none,
    "/koepel.v1.NodeService/ExportLedger": _export,
    "/koepel.v1.NodeService/SecureEnrol": _none,
    "/koepel.v1.NodeService/SecureShareKeys": _secure_share_keys,
    "/koepel.v1.NodeService/SecureMask": _secure_mask,
    "/koepel.v1.NodeService/SecureConsistency": _survivors,
    "/koepel.v1.NodeService/SecureUnmask": _survivors,
    "/koepel.v1.AggregatorService/SubmitQuery": _submit,
    "/koepel.v1.AggregatorService/ListNodes": _none,
    "/koepel.v1.AggregatorService/History": _history,
    "/koepel.v1.AggregatorService/PlanQuery": _plan,
}


def request_problem(method: str, request: Any) -> str | None:
    """What is structurally wrong with ``request`` for ``method``, or None if nothing is.

    An RPC this table does not know is refused: a method added to the contract must get its
    checks here before a gate lets it through.
    """
    check = _CHECKS.get(method)
    if check is None:
        return f"{method} has no request checks; refusing it"
    return check(request)
