"""Helpers for secure-aggregation tests: a zCDP catalogue and nodes that serve it."""

from __future__ import annotations

from pathlib import Path

from cli.federation_runner import ZCDP_VERSION, serve_catalogue, write_zcdp_catalogue

__all__ = ["ZCDP_VERSION", "serve_zcdp", "write_zcdp_catalogue"]


def serve_zcdp(node_toml: Path, catalogue: Path) -> None:
    """Point a node.toml at the zCDP catalogue and approve only it."""
    serve_catalogue(node_toml, catalogue)
