"""Draining a server on SIGTERM: health says NOT_SERVING while in-flight calls finish.

Between SIGTERM and the end of the process, probes and load balancers must learn that the server
is going away (its health turns NOT_SERVING) while the calls it is already answering finish.
gRPC's own ``stop(grace)`` refuses every new call at once, health checks included, so a probe
would see a dead server rather than a draining one. So a server counts its calls in flight
here; once draining, new calls are refused with ``UNAVAILABLE`` (retry later or elsewhere:
nothing was read, charged or written) while health checks still get their NOT_SERVING answer,
and the server is stopped only when the last call in flight has finished or the grace period
is over. Lives in ``protos/`` because node and aggregator both use it.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import Any

import grpc

from wire.guard import rich_status

__all__ = ["AioDrainInterceptor", "Drain", "DrainInterceptor"]

_HEALTH_PREFIX = "/grpc.health.v1.Health/"
_SHUTTING_DOWN = rich_status(grpc.StatusCode.UNAVAILABLE,
                             "the server is shutting down; retry in a moment", "SHUTTING_DOWN")


class Drain:
    """Counts calls in flight and, once draining, turns new ones away (thread-safe)."""

    def __init__(self) -> None:
        self._idle = threading.Condition()
        self._active = 0
        self._draining = False

    @property
    def draining(self) -> bool:
        return self._draining

    @property
    def in_flight(self) -> int:
        with self._idle:
            return self._active

    def enter(self) -> bool:
        """Admit one call (False once draining: the caller must refuse it)."""
        with self._idle:
            if self._draining:
                return False
            self._active += 1
            return True

    def leave(self) -> None:
        with self._idle:
            self._active -= 1
            if self._active == 0:
                self._idle.notify_all()

    def begin(self) -> None:
        """From now on every new call is refused; calls in flight go on."""
        with self._idle:
            self._draining = True

    def wait_idle(self, timeout: float) -> bool:
        """Block until no call is in flight (True) or ``timeout`` seconds passed (False)."""
        with self._idle:
            return self._idle.wait_for(lambda: self._active == 0, timeout)

    async def wait_idle_async(self, timeout: float, poll: float = 0.02) -> bool:
        """``wait_idle`` for an asyncio server, whose calls run on the waiting loop itself."""
        deadline = time.monotonic() + timeout
        while self.in_flight:
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(poll)
        return True


def _passes(handler: Any, method: str) -> bool:
    return handler is None or method.startswith(_HEALTH_PREFIX) or handler.unary_unary is None


class DrainInterceptor(grpc.ServerInterceptor):
    """The drain for a synchronous (thread-pool) server; put it before the gate."""

    def __init__(self, drain: Drain) -> None:
        self._drain = drain

    def intercept_service(self, continuation: Callable[[Any], Any],
                          handler_call_details: Any) -> Any:
        handler = continuation(handler_call_details)
        if _passes(handler, handler_call_details.method):
            return handler
        behaviour, drain = handler.unary_unary, self._drain

        def counted(request: Any, context: Any) -> Any:
            if not drain.enter():
                context.abort_with_status(_SHUTTING_DOWN)
            try:
                return behaviour(request, context)
            finally:
                drain.leave()

        return grpc.unary_unary_rpc_method_handler(
            counted, request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer)


class AioDrainInterceptor(grpc.aio.ServerInterceptor):
    """The drain for a grpc.aio server; put it before the gate."""

    def __init__(self, drain: Drain) -> None:
        self._drain = drain

    async def intercept_service(self, continuation: Callable[[Any], Any],
                                handler_call_details: Any) -> Any:
        handler = await continuation(handler_call_details)
        if _passes(handler, handler_call_details.method):
            return handler
        behaviour, drain = handler.unary_unary, self._drain

        async def counted(request: Any, context: Any) -> Any:
            if not drain.enter():
                await context.abort_with_status(_SHUTTING_DOWN)
            try:
                return await behaviour(request, context)
            finally:
                drain.leave()

        return grpc.unary_unary_rpc_method_handler(
            counted, request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer)
