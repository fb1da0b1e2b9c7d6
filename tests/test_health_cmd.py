"""`koepel health` against a real node server: the probe used by containers and Kubernetes."""

from __future__ import annotations

import socket
from collections.abc import Callable

from click.testing import CliRunner

from cli.errors import EXIT
from cli.main import cli
from node import NodeRuntime, create_server


def test_health_reports_serving_unknown_service_and_unreachable(
        node_factory: Callable[..., NodeRuntime]) -> None:
    runtime = node_factory("n")
    server, port = create_server(runtime, "127.0.0.1:0", insecure=True)
    server.start()
    runner = CliRunner()
    try:
        ok = runner.invoke(cli, ["health", "--address", f"127.0.0.1:{port}",
                                 "--service", "koepel.v1.NodeService"])
        assert ok.exit_code == 0 and "SERVING" in ok.output
        whole = runner.invoke(cli, ["health", "--address", f"127.0.0.1:{port}"])
        assert whole.exit_code == 0
        unknown = runner.invoke(cli, ["health", "--address", f"127.0.0.1:{port}",
                                      "--service", "koepel.v1.Nothing"])
        assert unknown.exit_code == EXIT["usage"] and "does not know" in unknown.output
    finally:
        server.stop(None).wait()
    with socket.socket() as probe:  # a port nobody listens on any more
        probe.bind(("127.0.0.1", 0))
        dead = probe.getsockname()[1]
    down = runner.invoke(cli, ["health", "--address", f"127.0.0.1:{dead}", "--timeout", "2"])
    assert down.exit_code == EXIT["unavailable"]
    remote = runner.invoke(cli, ["health", "--address", "koepel-node.invalid:50051"])
    assert remote.exit_code == EXIT["usage"]  # plaintext only on loopback; nothing was sent
