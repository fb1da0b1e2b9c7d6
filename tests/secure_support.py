"""Helpers for secure-aggregation tests: a zCDP catalogue and nodes that serve it."""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

ZCDP_VERSION = "2026.2-zcdp"


def write_zcdp_catalogue(path: Path) -> Path:
    """The shipped 2026.2 catalogue under zCDP accounting (secure rounds need Gaussian noise)."""
    text = resources.files("privacy").joinpath("catalogues/koepel-2026.2.toml").read_text()
    text = re.sub(r'(?m)^version = "[^"]*"', f'version = "{ZCDP_VERSION}"', text, count=1)
    text = text.replace('accounting = "pure"', 'accounting = "zcdp"\ndelta = "1e-6"', 1)
    path.write_text(text)
    return path


def serve_zcdp(node_toml: Path, catalogue: Path) -> None:
    """Point a node.toml at the zCDP catalogue and approve only it."""
    text = node_toml.read_text()
    text = re.sub(r'(?m)^approved = \[.*\]$',
                  f'path = "{catalogue}"\napproved = ["{ZCDP_VERSION}"]', text, count=1)
    node_toml.write_text(text)
