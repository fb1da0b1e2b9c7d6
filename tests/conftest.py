"""Shared fixtures: real node folders with real SQLCipher databases and key files."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

import pytest

from node import (
    NodeRuntime,
    Store,
    create_key_file,
    create_signing_key,
    load_node_config,
    open_node,
    render_node_config,
)
from privacy import Accounting, shipped_versions

FIXTURES = Path(__file__).parent / "fixtures"


def write_csv(path: Path, rows: Sequence[Mapping[str, object]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def create_node(directory: Path, *, node_id: str = "org-test",
                queriers: Mapping[str, str] | None = None, node_cap: str | None = None,
                lifetime_cap: str | None = None) -> Path:
    """A node folder with node.toml, distinct key files (0600) and an empty database."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "node.toml").write_text(render_node_config(
        node_id=node_id, organisation="Test organisation", listen="127.0.0.1:0",
        queriers=dict(queriers or {"federation": "10"}),
        approved=shipped_versions(Accounting.PURE), node_cap=node_cap, lifetime_cap=lifetime_cap,
    ))
    key = create_key_file(directory / "keys" / "db.key")
    create_key_file(directory / "keys" / "pseudonym.key")
    create_signing_key(directory / "keys" / "signing.key")
    config = load_node_config(directory / "node.toml")
    Store.open(config.database, key, create=True).close()
    return directory / "node.toml"


@pytest.fixture
def node_factory(tmp_path: Path) -> Iterator[Callable[..., NodeRuntime]]:
    """Create and open nodes; every runtime is closed at the end of the test."""
    opened: list[NodeRuntime] = []

    def factory(name: str = "node", **kwargs: object) -> NodeRuntime:
        config_path = create_node(tmp_path / name, **kwargs)  # type: ignore[arg-type]
        runtime = open_node(load_node_config(config_path))
        opened.append(runtime)
        return runtime

    yield factory
    for runtime in opened:
        runtime.close()
