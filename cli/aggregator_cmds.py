"""`koepel aggregator …`: the federation's aggregator service."""

from __future__ import annotations

import asyncio
from pathlib import Path

import click

from aggregator import load_federation, serve
from cli.errors import handle_errors
from cli.lang import N_
from cli.logs import setup_logging
from cli.service_options import metrics_address, service_options

__all__ = ["aggregator"]


@click.group()
def aggregator() -> None:
    """Run the federation's aggregator."""


@aggregator.command(name="serve")
@click.option("--federation", "federation_path", type=click.Path(path_type=Path),
              default=Path("federation.toml"), show_default=True)
@click.option("--insecure", is_flag=True,
              help=N_("Plaintext gRPC on loopback only (demos, tests)."))
@click.option("--listen", default=None, help=N_("Address to listen on (default from the file)."))
@click.option("--port-file", type=click.Path(path_type=Path), default=None)
@click.option("--probe-interval", type=click.FloatRange(0.5, 3600), default=15.0,
              show_default=True,
              help=N_("With metrics on: seconds between health probes of every node."))
@service_options
@handle_errors
def serve_(federation_path: Path, insecure: bool, listen: str | None, port_file: Path | None,
           probe_interval: float, log_format: str, log_level: str, metrics_port: int | None,
           metrics_host: str, metrics_port_file: Path | None, grace_seconds: float) -> None:
    """Serve operators' queries, fanning out to every registered node."""
    config = load_federation(federation_path)
    setup_logging(log_format, log_level, static={"service": "aggregator"})
    asyncio.run(serve(config, listen or config.listen, insecure=insecure, port_file=port_file,
                      grace_seconds=grace_seconds,
                      metrics_address=metrics_address(metrics_host, metrics_port),
                      metrics_port_file=metrics_port_file, probe_interval=probe_interval))
