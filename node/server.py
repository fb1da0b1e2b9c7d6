"""Building and running the node's gRPC server (with the standard health service)."""

from __future__ import annotations

import logging
import signal
import threading
from concurrent import futures
from pathlib import Path

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from node.config import NodeConfig
from node.dbkey import Prompt
from node.keys import read_key_file
from node.queries import QueryEngine
from node.servicer import NodeServicer
from node.store import Store
from protos import pb2, pb2_grpc
from protos.wire import check_loopback

__all__ = ["MAX_MESSAGE_BYTES", "NodeRuntime", "create_server", "open_node", "serve"]

log = logging.getLogger("koepel.node")

MAX_MESSAGE_BYTES = 1 << 20  # queries are tiny; refuse anything larger
SERVICE_NAME = pb2.DESCRIPTOR.services_by_name["NodeService"].full_name



class NodeRuntime:
    """An opened node: its config, store and query engine."""

    def __init__(self, config: NodeConfig, store: Store) -> None:
        self.config = config
        self.store = store
        self.engine = QueryEngine(config, store)
        self.secret = read_key_file(config.secret_file)

    def close(self) -> None:
        self.store.close()


def open_node(config: NodeConfig, *, prompt: Prompt | None = None) -> NodeRuntime:
    """Derive the key once and open the store (the only key handling on the request path)."""
    from node.compiler import check_catalogue
    from node.maintenance import open_store

    check_catalogue(config.catalogue)
    return NodeRuntime(config, open_store(config, prompt=prompt))


def create_server(runtime: NodeRuntime, address: str, *, insecure: bool) -> tuple[grpc.Server, int]:
    """A started-ready (not yet started) server bound to ``address``; returns it and its port."""
    if not insecure:
        raise ValueError("mutual TLS is not available yet in this version; use --insecure on "
                         "loopback")
    check_loopback(address)
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=8, thread_name_prefix="koepel-node"),
        options=[
            ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
            ("grpc.max_send_message_length", 16 * MAX_MESSAGE_BYTES),
            ("grpc.max_concurrent_streams", 64),
        ],
    )
    pb2_grpc.add_NodeServiceServicer_to_server(
        NodeServicer(runtime.config, runtime.engine, insecure=insecure), server
    )
    health_servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    health_servicer.set(SERVICE_NAME, health_pb2.HealthCheckResponse.SERVING)
    health_servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    port = server.add_insecure_port(address)
    if port == 0:
        raise OSError(f"cannot listen on {address}")
    return server, port


def serve(runtime: NodeRuntime, address: str, *, insecure: bool,
          port_file: Path | None = None, grace_seconds: float = 5.0) -> None:
    """Serve until SIGTERM or SIGINT, then let in-flight queries finish before closing."""
    server, port = create_server(runtime, address, insecure=insecure)
    server.start()
    log.info("node %s listening on port %d", runtime.config.node_id, port)
    if port_file is not None:
        tmp = port_file.with_suffix(".tmp")
        tmp.write_text(f"{port}\n")
        tmp.replace(port_file)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    stop.wait()
    log.info("node %s shutting down", runtime.config.node_id)
    server.stop(grace_seconds).wait()
    runtime.close()
