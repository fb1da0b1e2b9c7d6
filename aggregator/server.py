"""Building and running the aggregator's grpc.aio server (with the standard health service)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from pathlib import Path

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from aggregator.federated import Aggregator
from aggregator.federation import FederationConfig
from aggregator.history import SqliteHistory
from aggregator.metrics import AggregatorMetrics, MeteredTransport
from aggregator.probe import watch_nodes
from aggregator.receipts import ReceiptBook
from aggregator.secure import SecureRound
from aggregator.service import AggregatorServicer
from aggregator.transport import GrpcTransport
from protos import pb2, pb2_grpc
from wire.drain import AioDrainInterceptor, Drain
from wire.guard import AioGateInterceptor, Gate
from wire.lifecycle import revocation_check
from wire.limits import check_loopback, server_options, write_port_file
from wire.ratelimit import RateLimiter
from wire.tls import CertError, PeerIdentity, TlsFiles, channel_credentials, server_credentials

__all__ = ["build_aggregator", "create_server", "serve"]

log = logging.getLogger("koepel.aggregator")
SERVICE_NAME = pb2.DESCRIPTOR.services_by_name["AggregatorService"].full_name
MAX_MESSAGE_BYTES = 64 * 1024
_READERS = frozenset({"operator", "auditor"})
# Only an operator may spend the federation's budget; an auditor may read results and nodes.
METHOD_ROLES = {
    f"/{SERVICE_NAME}/SubmitQuery": frozenset({"operator"}),
    f"/{SERVICE_NAME}/PublishResult": frozenset({"operator"}),  # sends, never spends
    f"/{SERVICE_NAME}/ListNodes": _READERS,
    f"/{SERVICE_NAME}/History": _READERS,
    # A dry run spends nothing and shows what ListNodes shows, per query.
    f"/{SERVICE_NAME}/PlanQuery": _READERS,
}
_LOOPBACK_OPERATOR = PeerIdentity("operator", "loopback")



def _identity(config: FederationConfig) -> PeerIdentity:
    return PeerIdentity("aggregator", config.querier_identity)


def _tls(config: FederationConfig) -> TlsFiles:
    if config.tls is None:
        raise CertError("federation.toml names no [tls] files; add them or use --insecure")
    return config.tls


def build_aggregator(config: FederationConfig, *, insecure: bool = False,
                     metrics: AggregatorMetrics | None = None) -> Aggregator:
    """The aggregator: its node transport (mutual TLS, or plaintext to loopback nodes only),
    its history, and the nodes' signed receipts kept in the same file."""
    if insecure:
        for node in config.nodes:
            check_loopback(node.address)
        credentials = None
    else:
        credentials = channel_credentials(_tls(config), expect=_identity(config))
    metrics = metrics or AggregatorMetrics(config)
    transport = MeteredTransport(GrpcTransport(config.querier_identity, credentials), metrics)
    secure = None if credentials is None else SecureRound(config, transport, _tls(config))
    return Aggregator(config, transport, SqliteHistory(config.history), metrics=metrics,
                      secure_round=secure,
                      receipts=ReceiptBook(config.history, ca_pem=None if credentials is None
                                           else _tls(config).ca.read_bytes()))



async def create_server(aggregator: Aggregator, address: str, *, insecure: bool,
                        drain: Drain | None = None,
                        health_servicer: health.aio.HealthServicer | None = None,
                        ) -> tuple[grpc.aio.Server, int]:
    """A ready server: mutual TLS for operators (plaintext on loopback with ``insecure``).

    With a ``drain``, calls are counted and refused once it drains (on SIGTERM).
    """
    config = aggregator.config
    if insecure:
        check_loopback(address)
        credentials = None
    else:
        credentials = server_credentials(_tls(config), expect=_identity(config))
    gate = Gate(METHOD_ROLES, limiter=RateLimiter(config.operator_rate),
                insecure_identity=(lambda _: _LOOPBACK_OPERATOR) if insecure else None,
                on_refusal=aggregator.metrics.gate_refused,
                revoked=None if insecure else revocation_check(_tls(config).ca))
    interceptors: list[grpc.aio.ServerInterceptor] = [AioGateInterceptor(gate)]
    if drain is not None:
        interceptors.insert(0, AioDrainInterceptor(drain))
    server = grpc.aio.server(
        interceptors=interceptors,
        options=server_options(max_receive_bytes=MAX_MESSAGE_BYTES, max_send_bytes=16 << 20,
                               max_concurrent_streams=16),
        maximum_concurrent_rpcs=32,
    )
    pb2_grpc.add_AggregatorServiceServicer_to_server(AggregatorServicer(aggregator), server)
    health_servicer = health_servicer or health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    await health_servicer.set(SERVICE_NAME, health_pb2.HealthCheckResponse.SERVING)
    await health_servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    if credentials is None:
        port = server.add_insecure_port(address)
    else:
        port = server.add_secure_port(address, credentials)
    if port == 0:
        raise OSError(f"cannot listen on {address}")
    return server, port


async def serve(config: FederationConfig, address: str, *, insecure: bool,
                port_file: Path | None = None, grace_seconds: float = 5.0,
                metrics_address: tuple[str, int] | None = None,
                metrics_port_file: Path | None = None, probe_interval: float = 15.0) -> None:
    """Serve until SIGTERM or SIGINT; in-flight queries get ``grace_seconds`` to finish.

    On SIGTERM health turns NOT_SERVING and new calls are refused (UNAVAILABLE) at once, while
    health checks are still answered until the calls in flight have finished.

    With metrics on, nodes are also probed every ``probe_interval`` seconds so that
    ``koepel_aggregator_node_up`` notices a dead node without waiting for a query.
    """
    aggregator = build_aggregator(config, insecure=insecure)
    drain, health_servicer = Drain(), health.aio.HealthServicer()
    server, port = await create_server(aggregator, address, insecure=insecure, drain=drain,
                                       health_servicer=health_servicer)
    endpoint = aggregator.metrics.serve_http(*metrics_address) if metrics_address else None
    await server.start()
    log.info("aggregator listening on port %d for %d nodes (%s)", port, len(config.nodes),
             "plaintext, loopback only" if insecure else "mutual TLS", extra={"port": port})
    probe = None
    if endpoint is not None:
        log.info("metrics on http://%s:%d/metrics", endpoint.host, endpoint.port,
                 extra={"metrics_port": endpoint.port})
        write_port_file(metrics_port_file, endpoint.port)
        probe = asyncio.create_task(watch_nodes(aggregator, probe_interval))
    write_port_file(port_file, port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    await health_servicer.enter_graceful_shutdown()
    drain.begin()
    log.info("aggregator shutting down: health NOT_SERVING, new calls refused; %d in flight "
             "get %g s", drain.in_flight, grace_seconds)
    started = time.monotonic()
    if probe is not None:
        probe.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await probe
    await drain.wait_idle_async(grace_seconds)
    await server.stop(max(0.0, grace_seconds - (time.monotonic() - started)))
    if endpoint is not None:
        endpoint.close()
    await aggregator.close()
    log.info("aggregator stopped")
