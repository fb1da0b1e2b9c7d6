"""Building and running the aggregator's grpc.aio server (with the standard health service)."""

from __future__ import annotations

import asyncio
import logging
import signal
from pathlib import Path

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from aggregator.federated import Aggregator
from aggregator.federation import FederationConfig
from aggregator.history import SqliteHistory
from aggregator.receipts import ReceiptBook
from aggregator.service import AggregatorServicer
from aggregator.transport import GrpcTransport
from protos import pb2, pb2_grpc
from protos.wire import check_loopback

__all__ = ["build_aggregator", "create_server", "serve"]

log = logging.getLogger("koepel.aggregator")
SERVICE_NAME = pb2.DESCRIPTOR.services_by_name["AggregatorService"].full_name



def build_aggregator(config: FederationConfig) -> Aggregator:
    """The aggregator with its history, and the nodes' signed receipts kept in the same file."""
    return Aggregator(config, GrpcTransport(config.querier_identity), SqliteHistory(config.history),
                      ReceiptBook(config.history))


async def create_server(aggregator: Aggregator, address: str, *,
                        insecure: bool) -> tuple[grpc.aio.Server, int]:
    if not insecure:
        raise ValueError("mutual TLS is not available yet in this version; use --insecure on "
                         "loopback")
    check_loopback(address)
    server = grpc.aio.server(options=[("grpc.max_receive_message_length", 1 << 20)])
    pb2_grpc.add_AggregatorServiceServicer_to_server(AggregatorServicer(aggregator), server)
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    await health_servicer.set(SERVICE_NAME, health_pb2.HealthCheckResponse.SERVING)
    await health_servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    port = server.add_insecure_port(address)
    if port == 0:
        raise OSError(f"cannot listen on {address}")
    return server, port


async def serve(config: FederationConfig, address: str, *, insecure: bool,
                port_file: Path | None = None, grace_seconds: float = 5.0) -> None:
    """Serve until SIGTERM or SIGINT; in-flight queries get ``grace_seconds`` to finish."""
    aggregator = build_aggregator(config)
    server, port = await create_server(aggregator, address, insecure=insecure)
    await server.start()
    log.info("aggregator listening on port %d for %d nodes", port, len(config.nodes))
    if port_file is not None:
        tmp = port_file.with_suffix(".tmp")
        tmp.write_text(f"{port}\n")
        tmp.replace(port_file)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    log.info("aggregator shutting down")
    await server.stop(grace_seconds)
    await aggregator.close()
