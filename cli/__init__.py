"""koepel's command line: thin click commands over the node, aggregator and privacy packages."""

from cli.main import cli, main

__all__ = ["cli", "main"]
