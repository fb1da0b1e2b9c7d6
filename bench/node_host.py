"""A worker process hosting many real node servers for the federation benchmark.

Two hundred node processes would not fit on a 2-core machine, so each host process opens its
share of the node folders and serves every one of them with ``node.create_server`` on its own
loopback port (port 0, read back): real SQLCipher stores, real gRPC servers, real servicers.

Protocol, one JSON object per line: the parent writes ``{"year": …, "reply_quantum_ms": …,
"nodes": [folder, …]}`` and reads ``{"ports": {node_id: port}}``. ``year`` is the run's budget
year (``bench.clock``); ``reply_quantum_ms`` null keeps node.toml's reply quantum, a number
serves as if node.toml said that number instead. Then ``{"cmd": "work", "nodes": [id, …],
"runs": n}`` answers the benchmark query on each named node in turn, in process, and replies
with the seconds per round (the node-side work the federation spends, without gRPC);
``{"cmd": "stop"}`` or end of input stops the servers gracefully and closes the stores.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from bench.clock import clock_in
from bench.stores import BENCH_QUERIER
from node import NodeRuntime, QueryEngine, create_server, load_node_config, open_node


def _reply(message: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def main() -> None:
    from bench.node_query import QUERIES

    setup = json.loads(sys.stdin.readline())
    clock = clock_in(int(setup["year"]))
    quantum = setup.get("reply_quantum_ms")
    runtimes: dict[str, NodeRuntime] = {}
    servers = []
    ports: dict[str, int] = {}
    for folder in setup["nodes"]:
        runtime = open_node(load_node_config(Path(folder) / "node.toml"))
        if quantum is not None:
            runtime.config = dataclasses.replace(runtime.config, reply_quantum_ms=int(quantum))
        runtime.engine = QueryEngine(runtime.config, runtime.store, signer=runtime.signer,
                                     clock=clock)
        server, port = create_server(runtime, "127.0.0.1:0", insecure=True)
        server.start()
        node_id = runtime.config.node_id
        runtimes[node_id] = runtime
        servers.append(server)
        ports[node_id] = port
    _reply({"ports": ports})
    spec = QUERIES[0].spec()
    try:
        for line in sys.stdin:
            command = json.loads(line)
            if command.get("cmd") == "stop":
                break
            if command.get("cmd") == "work":
                rounds = []
                for _ in range(int(command["runs"])):
                    started = time.perf_counter()
                    for node_id in command["nodes"]:
                        runtimes[node_id].engine.answer(
                            BENCH_QUERIER, f"bench-{uuid.uuid4().hex}", spec)
                    rounds.append(time.perf_counter() - started)
                _reply({"seconds": rounds})
    finally:
        for server in servers:
            server.stop(2.0)
        for server in servers:
            server.wait_for_termination(5.0)
        for runtime in runtimes.values():
            runtime.close()
        _reply({"stopped": True})


if __name__ == "__main__":
    main()
