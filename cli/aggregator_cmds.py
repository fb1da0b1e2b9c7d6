"""`koepel aggregator …`: the federation's aggregator service."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import click

from aggregator import load_federation, serve
from cli.errors import handle_errors

__all__ = ["aggregator"]


@click.group()
def aggregator() -> None:
    """Run the federation's aggregator."""


@aggregator.command(name="serve")
@click.option("--federation", "federation_path", type=click.Path(path_type=Path),
              default=Path("federation.toml"), show_default=True)
@click.option("--insecure", is_flag=True, help="Plaintext gRPC on loopback only (demos, tests).")
@click.option("--listen", default=None, help="Address to listen on (default from the file).")
@click.option("--port-file", type=click.Path(path_type=Path), default=None)
@handle_errors
def serve_(federation_path: Path, insecure: bool, listen: str | None,
           port_file: Path | None) -> None:
    """Serve operators' queries, fanning out to every registered node."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    config = load_federation(federation_path)
    asyncio.run(serve(config, listen or config.listen, insecure=insecure, port_file=port_file))
