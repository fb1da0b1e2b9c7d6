"""The error catalogue at the node's gRPC boundary.

Each domain error maps to one status code and a machine-readable reason (a ``google.rpc.
ErrorInfo`` detail, domain ``koepel``). Public messages come from the domain error, which is
built from the request and the catalogue only. Anything unexpected becomes INTERNAL with a
generic text; its details go nowhere near the client.
"""

from __future__ import annotations

import grpc
from google.protobuf import any_pb2
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

from node.engine.secure import SecureRefused
from node.service.identity import UnauthenticatedError
from privacy import (
    BudgetExhaustedError,
    CatalogueVersionError,
    InvalidQueryError,
    KoepelError,
    NotSharedError,
    PermissionDeniedError,
    QueryConflictError,
)
from wire.attribution import OperatorAttributionError

__all__ = ["ERROR_DOMAIN", "status_for"]

ERROR_DOMAIN = "koepel"

_CODES: tuple[tuple[type[KoepelError], grpc.StatusCode], ...] = (
    (InvalidQueryError, grpc.StatusCode.INVALID_ARGUMENT),
    (PermissionDeniedError, grpc.StatusCode.PERMISSION_DENIED),
    (UnauthenticatedError, grpc.StatusCode.UNAUTHENTICATED),
    (OperatorAttributionError, grpc.StatusCode.UNAUTHENTICATED),
    (CatalogueVersionError, grpc.StatusCode.FAILED_PRECONDITION),
    (BudgetExhaustedError, grpc.StatusCode.FAILED_PRECONDITION),
    (QueryConflictError, grpc.StatusCode.ALREADY_EXISTS),
    (SecureRefused, grpc.StatusCode.FAILED_PRECONDITION),
)


def status_for(error: BaseException) -> grpc.Status:
    """The rich status to abort with for ``error``."""
    code = grpc.StatusCode.INTERNAL
    message = "internal error on the node; its operator can find details in the node's log"
    reason = "INTERNAL"
    metadata: dict[str, str] = {}
    if isinstance(error, KoepelError):
        for cls, status_code in _CODES:
            if isinstance(error, cls):
                code, message, reason = status_code, str(error), error.code
                break
    if isinstance(error, BudgetExhaustedError):
        metadata = {
            "remaining_micro_epsilon": str(error.remaining_micro),
            "requested_micro_epsilon": str(error.requested_micro),
        }
    if isinstance(error, NotSharedError):  # which of the organisation's rules applied
        metadata = {"rule": error.rule}
    info = error_details_pb2.ErrorInfo(reason=reason, domain=ERROR_DOMAIN, metadata=metadata)
    detail = any_pb2.Any()
    detail.Pack(info)
    status = status_pb2.Status(code=code.value[0], message=message, details=[detail])
    return rpc_status.to_status(status)
