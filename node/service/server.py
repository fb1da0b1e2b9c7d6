"""Building and running the node's gRPC server (with the standard health service)."""

from __future__ import annotations

import logging
import signal
import threading
import time
from concurrent import futures
from pathlib import Path

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from node.config import NodeConfig
from node.engine.compiler import check_catalogue
from node.engine.queries import QueryEngine
from node.engine.secure import SecureRounds
from node.engine.signing import Signer
from node.service.identity import insecure_identity
from node.service.metrics import NodeMetrics
from node.service.servicer import NodeServicer
from node.store.database import Store
from node.store.dbkey import Prompt
from node.store.keys import read_key_file
from node.store.maintenance import open_store
from protos import pb2, pb2_grpc
from wire.drain import Drain, DrainInterceptor
from wire.guard import Gate, GateInterceptor
from wire.lifecycle import revocation_check
from wire.limits import check_loopback, server_options, write_port_file
from wire.ratelimit import RateLimiter
from wire.tls import CertError, PeerIdentity, server_credentials

__all__ = ["MAX_MESSAGE_BYTES", "NodeRuntime", "create_server", "open_node", "serve"]

log = logging.getLogger("koepel.node")

MAX_MESSAGE_BYTES = 4 << 20  # a secure round's roster: ~0.8 KB a node, 500 nodes (checks: wire)
SERVICE_NAME = pb2.DESCRIPTOR.services_by_name["NodeService"].full_name
_AGGREGATOR = frozenset({"aggregator"})
_READERS = frozenset({"aggregator", "auditor"})
# Which certificate roles may call what: only an aggregator spends budget; an auditor may read
# the ledger and budgets; a node's, or an operator's, certificate may call nothing here.
METHOD_ROLES = {
    f"/{SERVICE_NAME}/Describe": _READERS,
    f"/{SERVICE_NAME}/Query": _AGGREGATOR,
    f"/{SERVICE_NAME}/Budget": _READERS,
    f"/{SERVICE_NAME}/ExportLedger": _READERS,
    f"/{SERVICE_NAME}/SecureEnrol": _AGGREGATOR,
    f"/{SERVICE_NAME}/SecureShareKeys": _AGGREGATOR,
    f"/{SERVICE_NAME}/SecureMask": _AGGREGATOR,
    f"/{SERVICE_NAME}/SecureConsistency": _AGGREGATOR,
    f"/{SERVICE_NAME}/SecureUnmask": _AGGREGATOR,
    f"/{SERVICE_NAME}/ReceiveSectorResult": _AGGREGATOR,
}



class NodeRuntime:
    """An opened node: its config, store and query engine."""

    def __init__(self, config: NodeConfig, store: Store) -> None:
        self.config = config
        self.store = store
        self.signer = Signer.load(config.signing_key_file)
        self.engine = QueryEngine(config, store, signer=self.signer)
        self.secret = read_key_file(config.secret_file)

    def close(self) -> None:
        self.store.close()


def open_node(config: NodeConfig, *, prompt: Prompt | None = None) -> NodeRuntime:
    """Derive the key once and open the store (the only key handling on the request path)."""
    for served in (config.catalogue, *config.catalogues.values()):
        check_catalogue(served)
    store = open_store(config, prompt=prompt)
    try:
        return NodeRuntime(config, store)
    except BaseException:  # e.g. a missing signing key: never leave the store open
        store.close()
        raise


def create_server(runtime: NodeRuntime, address: str, *, insecure: bool,
                  metrics: NodeMetrics | None = None, drain: Drain | None = None,
                  health_servicer: health.HealthServicer | None = None,
                  ) -> tuple[grpc.Server, int]:
    """A ready (not yet started) server bound to ``address``; returns it and its port.

    Mutual TLS with the certificates node.toml names, unless ``insecure`` (plaintext, loopback
    only). Every call passes the gate (identity, role, rate, request shape) first, and before
    it the ``drain`` (if given), which counts calls in flight and refuses new ones on SIGTERM.
    """
    config = runtime.config
    if insecure:
        check_loopback(address)
        credentials = None
    else:
        if config.tls is None:
            raise CertError("node.toml names no [tls] files; add them or use --insecure")
        credentials = server_credentials(config.tls, expect=PeerIdentity("node", config.node_id))
    metrics = metrics or NodeMetrics(runtime.config, runtime.engine, runtime.store)
    gate = Gate(METHOD_ROLES, limiter=RateLimiter(config.limits.rate),
                insecure_identity=insecure_identity if insecure else None,
                on_refusal=metrics.gate_refused,
                revoked=None if insecure or config.tls is None
                else revocation_check(config.tls.ca))
    interceptors: list[grpc.ServerInterceptor] = [GateInterceptor(gate)]
    if drain is not None:
        interceptors.insert(0, DrainInterceptor(drain))
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=8, thread_name_prefix="koepel-node"),
        interceptors=interceptors,
        options=server_options(max_receive_bytes=MAX_MESSAGE_BYTES,
                               max_send_bytes=16 << 20, max_concurrent_streams=16),
        maximum_concurrent_rpcs=config.limits.max_concurrent_rpcs,
    )
    pb2_grpc.add_NodeServiceServicer_to_server(
        NodeServicer(runtime.config, runtime.engine, insecure=insecure, metrics=metrics,
                     secure=None if insecure or config.tls is None
                     else SecureRounds(runtime.config, runtime.engine, runtime.store),
                     store=runtime.store), server
    )
    health_servicer = health_servicer or health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    health_servicer.set(SERVICE_NAME, health_pb2.HealthCheckResponse.SERVING)
    health_servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    if credentials is None:
        port = server.add_insecure_port(address)
    else:
        port = server.add_secure_port(address, credentials)
    if port == 0:
        raise OSError(f"cannot listen on {address}")
    return server, port



def serve(runtime: NodeRuntime, address: str, *, insecure: bool,
          port_file: Path | None = None, grace_seconds: float = 5.0,
          metrics_address: tuple[str, int] | None = None,
          metrics_port_file: Path | None = None) -> None:
    """Serve until SIGTERM or SIGINT, then let in-flight queries finish before closing.

    Shutdown order: health turns NOT_SERVING and new calls are refused (UNAVAILABLE) while
    health checks are still answered; in-flight calls finish (up to ``grace_seconds``; each
    charge is one transaction, so even a call cut off then leaves nothing half-written); the
    server stops, then the metrics endpoint, and only then is the store closed.
    """
    metrics = NodeMetrics(runtime.config, runtime.engine, runtime.store)
    drain, health_servicer = Drain(), health.HealthServicer()
    server, port = create_server(runtime, address, insecure=insecure, metrics=metrics,
                                 drain=drain, health_servicer=health_servicer)
    endpoint = metrics.serve_http(*metrics_address) if metrics_address else None
    server.start()
    log.info("node %s listening on port %d (%s)", runtime.config.node_id, port,
             "plaintext, loopback only" if insecure else "mutual TLS", extra={"port": port})
    if endpoint is not None:
        log.info("metrics on http://%s:%d/metrics", endpoint.host, endpoint.port,
                 extra={"metrics_port": endpoint.port})
        write_port_file(metrics_port_file, endpoint.port)
    write_port_file(port_file, port)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    stop.wait()
    health_servicer.enter_graceful_shutdown()
    drain.begin()
    log.info("node %s shutting down: health NOT_SERVING, new calls refused; %d in flight get "
             "%g s", runtime.config.node_id, drain.in_flight, grace_seconds)
    started = time.monotonic()
    drain.wait_idle(grace_seconds)
    server.stop(max(0.0, grace_seconds - (time.monotonic() - started))).wait()
    if endpoint is not None:
        endpoint.close()
    runtime.close()
    log.info("node %s stopped", runtime.config.node_id)
