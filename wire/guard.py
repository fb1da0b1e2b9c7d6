"""The gate every koepel RPC passes before its servicer runs: who, how often, and what shape.

A server interceptor wraps each method handler so that, in this order:

1. the caller is identified — from its verified client certificate under mutual TLS, or (only
   in ``--insecure`` loopback mode) from what the server's ``insecure_identity`` hook accepts —
   else ``UNAUTHENTICATED``;
2. its certificate's role may call the method (a node's certificate cannot query another node,
   an operator cannot bypass the aggregator) — else ``PERMISSION_DENIED``;
3. it is within its rate — else ``RESOURCE_EXHAUSTED``;
4. the request parsed as the declared message — else ``INVALID_ARGUMENT`` (gRPC's own answer
   to undecodable bytes would be INTERNAL) — and every field passes ``wire.checks`` — else
   ``INVALID_ARGUMENT``.

Only then does the servicer see the request; a refusal here touches no data and no budget.
Refusal messages name the rule, never echo the request. Health checks pass untouched (the TLS
handshake has already admitted the caller by then).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import grpc
from google.protobuf import any_pb2
from google.protobuf.message import DecodeError
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

from wire.checks import request_problem
from wire.ratelimit import RateLimiter
from wire.tls import PeerIdentity, peer_identity

__all__ = ["ERROR_DOMAIN", "AioGateInterceptor", "Gate", "GateInterceptor", "Refusal",
           "rich_status"]

log = logging.getLogger("koepel.gate")

ERROR_DOMAIN = "koepel"
_EXEMPT_PREFIX = "/grpc.health.v1.Health/"


def rich_status(code: grpc.StatusCode, message: str, reason: str,
                metadata: Mapping[str, str] | None = None) -> grpc.Status:
    """A status carrying a ``google.rpc.ErrorInfo`` detail with a machine-readable reason."""
    info = error_details_pb2.ErrorInfo(reason=reason, domain=ERROR_DOMAIN,
                                       metadata=dict(metadata or {}))
    detail = any_pb2.Any()
    detail.Pack(info)
    return rpc_status.to_status(status_pb2.Status(code=code.value[0], message=message,
                                                  details=[detail]))


@dataclass(frozen=True)
class Refusal:
    code: grpc.StatusCode
    reason: str
    message: str
    metadata: Mapping[str, str] | None = None

    def status(self) -> grpc.Status:
        return rich_status(self.code, self.message, self.reason, self.metadata)


class _Undecodable:
    """Stands in for a request whose bytes are not the declared message."""


_UNDECODABLE = _Undecodable()


class Gate:
    """The admission rules of one server.

    ``roles`` maps each full method name to the certificate roles allowed to call it; a method
    missing from it is refused. ``insecure_identity`` is set only for a plaintext loopback server
    and turns the call's metadata into an identity (or None); under TLS it is None and identity
    comes from the certificate alone, whatever the metadata says. ``revoked`` (under TLS) tells
    whether the caller's certificate is on the federation CA's revocation list
    (``wire.lifecycle``): checked first, on every call.
    """

    def __init__(self, roles: Mapping[str, frozenset[str]], *, limiter: RateLimiter | None,
                 insecure_identity: Callable[[Sequence[tuple[str, Any]]],
                                             PeerIdentity | None] | None = None,
                 on_refusal: Callable[[str, str, Refusal], None] | None = None,
                 revoked: Callable[[Any], bool] | None = None) -> None:
        self._roles = roles
        self._revoked = revoked  # (auth context) -> whether the peer's certificate is revoked
        self._limiter = limiter
        self._insecure_identity = insecure_identity
        self._on_refusal = on_refusal  # (method, identity name or "", refusal): for metrics

    def identify(self, context: Any) -> PeerIdentity | None:
        if self._insecure_identity is not None:
            return self._insecure_identity(tuple(context.invocation_metadata() or ()))
        return peer_identity(context.auth_context())

    def admit(self, method: str, request: Any, context: Any) -> Refusal | None:
        """The refusal for this call, or None to let the servicer have it."""
        identity = self.identify(context)
        if identity is not None and self._revoked is not None \
                and self._revoked(context.auth_context()):
            refusal: Refusal | None = Refusal(
                grpc.StatusCode.UNAUTHENTICATED, "CERTIFICATE_REVOKED",
                f"the certificate of {identity} was revoked by the federation CA; ask the "
                "federation for a new one")
        else:
            refusal = self._decide(method, request, identity)
        if refusal is not None and self._on_refusal is not None:
            self._on_refusal(method, identity.name if identity else "", refusal)
        return refusal

    def _decide(self, method: str, request: Any, identity: PeerIdentity | None) -> Refusal | None:
        if identity is None:
            return Refusal(grpc.StatusCode.UNAUTHENTICATED, "UNAUTHENTICATED",
                           "no verified koepel identity: present a client certificate issued "
                           "by the federation CA (SAN URI koepel://ROLE/NAME)")
        allowed = self._roles.get(method)
        if allowed is None or identity.role not in allowed:
            roles = ", ".join(sorted(allowed or ())) or "nobody"
            return Refusal(grpc.StatusCode.PERMISSION_DENIED, "ROLE_NOT_ALLOWED",
                           f"a {identity.role} certificate may not call "
                           f"{method.rsplit('/', 1)[-1]}; allowed roles: {roles}")
        if self._limiter is not None:
            wait = self._limiter.acquire(f"{identity.role}/{identity.name}")
            if wait > 0:
                return Refusal(grpc.StatusCode.RESOURCE_EXHAUSTED, "RATE_LIMITED",
                               f"rate limit of {self._limiter.limit.per_minute:g} requests per "
                               f"minute exceeded for {identity}; retry in {wait:.1f} s",
                               {"retry_after_seconds": f"{wait:.3f}"})
        if request is _UNDECODABLE:
            return Refusal(grpc.StatusCode.INVALID_ARGUMENT, "MALFORMED_REQUEST",
                           "the request is not a valid koepel.v1 message for this method")
        problem = request_problem(method, request)
        if problem is not None:
            return Refusal(grpc.StatusCode.INVALID_ARGUMENT, "INVALID_REQUEST", problem)
        return None


def _tolerant(deserializer: Callable[[bytes], Any] | None) -> Callable[[bytes], Any] | None:
    if deserializer is None:
        return None

    def parse(data: bytes) -> Any:
        try:
            return deserializer(data)
        except (DecodeError, ValueError, RuntimeError):
            return _UNDECODABLE

    return parse


def _log_refusal(method: str, refusal: Refusal) -> None:
    log.info("refused %s: %s %s", method.rsplit("/", 1)[-1], refusal.code.name, refusal.reason)


class GateInterceptor(grpc.ServerInterceptor):
    """The gate for a synchronous (thread-pool) server."""

    def __init__(self, gate: Gate) -> None:
        self._gate = gate

    def intercept_service(self, continuation: Callable[[Any], Any],
                          handler_call_details: Any) -> Any:
        handler = continuation(handler_call_details)
        method = handler_call_details.method
        if handler is None or method.startswith(_EXEMPT_PREFIX) or handler.unary_unary is None:
            return handler
        behaviour = handler.unary_unary
        gate = self._gate

        def guarded(request: Any, context: Any) -> Any:
            refusal = gate.admit(method, request, context)
            if refusal is not None:
                _log_refusal(method, refusal)
                context.abort_with_status(refusal.status())
            return behaviour(request, context)

        return grpc.unary_unary_rpc_method_handler(
            guarded, request_deserializer=_tolerant(handler.request_deserializer),
            response_serializer=handler.response_serializer)


class AioGateInterceptor(grpc.aio.ServerInterceptor):
    """The gate for a grpc.aio server."""

    def __init__(self, gate: Gate) -> None:
        self._gate = gate

    async def intercept_service(self, continuation: Callable[[Any], Any],
                                handler_call_details: Any) -> Any:
        handler = await continuation(handler_call_details)
        method = handler_call_details.method
        if handler is None or method.startswith(_EXEMPT_PREFIX) or handler.unary_unary is None:
            return handler
        behaviour = handler.unary_unary
        gate = self._gate

        async def guarded(request: Any, context: Any) -> Any:
            refusal = gate.admit(method, request, context)
            if refusal is not None:
                _log_refusal(method, refusal)
                await context.abort_with_status(refusal.status())
            return await behaviour(request, context)

        return grpc.unary_unary_rpc_method_handler(
            guarded, request_deserializer=_tolerant(handler.request_deserializer),
            response_serializer=handler.response_serializer)
