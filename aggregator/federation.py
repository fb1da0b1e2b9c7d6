"""federation.toml: the federation's registry of nodes and the aggregator's settings.

Loaded explicitly into frozen objects; unknown keys are refused. Node metadata (organisation,
region, kind) is public: the organisations' membership of the federation is no secret.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from privacy import Catalogue, CatalogueError, default_catalogue, load_catalogue

__all__ = ["FederationConfig", "FederationError", "NodeEntry", "load_federation",
           "render_federation"]


class FederationError(Exception):
    """federation.toml is missing, malformed or inconsistent."""

    exit_code = 2


@dataclass(frozen=True)
class NodeEntry:
    node_id: str
    address: str
    organisation: str
    region: str = ""
    kind: str = ""


@dataclass(frozen=True)
class FederationConfig:
    path: Path
    name: str
    querier_identity: str
    catalogue: Catalogue
    deadline_seconds: float
    quorum: float  # minimum share of registered nodes that must answer
    history: Path
    listen: str
    nodes: tuple[NodeEntry, ...]


_TOP = {"federation", "nodes"}
_FED = {"name", "querier_identity", "catalogue", "deadline_seconds", "quorum", "history",
        "listen"}
_NODE = {"id", "address", "organisation", "region", "kind"}


def _check(where: str, table: Mapping[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise FederationError(f"{where}: unknown key(s) {', '.join(unknown)}")


def load_federation(path: Path) -> FederationConfig:
    try:
        raw = tomllib.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise FederationError(f"no federation configuration at {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise FederationError(f"{path} is not valid TOML: {exc}") from None
    _check(str(path), raw, _TOP)
    fed = raw.get("federation", {})
    _check(f"{path} [federation]", fed, _FED)
    base = path.parent
    try:
        catalogue = (load_catalogue(base / fed["catalogue"]) if "catalogue" in fed
                     else default_catalogue())
    except CatalogueError as exc:
        raise FederationError(str(exc)) from None
    deadline = float(fed.get("deadline_seconds", 10.0))
    quorum = float(fed.get("quorum", 0.5))
    if not 0 < deadline <= 600:
        raise FederationError(f"{path}: deadline_seconds must be in (0, 600]")
    if not 0 <= quorum <= 1:
        raise FederationError(f"{path}: quorum must be a share between 0 and 1")
    nodes: list[NodeEntry] = []
    seen: set[str] = set()
    for index, entry in enumerate(raw.get("nodes", [])):
        where = f"{path} [[nodes]] #{index + 1}"
        _check(where, entry, _NODE)
        if not entry.get("id") or not entry.get("address"):
            raise FederationError(f"{where}: id and address are required")
        if entry["id"] in seen:
            raise FederationError(f"{where}: node id {entry['id']!r} is listed twice")
        seen.add(entry["id"])
        nodes.append(NodeEntry(entry["id"], entry["address"],
                               entry.get("organisation", entry["id"]),
                               entry.get("region", ""), entry.get("kind", "")))
    return FederationConfig(
        path=path,
        name=str(fed.get("name", "federation")),
        querier_identity=str(fed.get("querier_identity", "federation")),
        catalogue=catalogue,
        deadline_seconds=deadline,
        quorum=quorum,
        history=base / str(fed.get("history", "history.db")),
        listen=str(fed.get("listen", "127.0.0.1:0")),
        nodes=tuple(nodes),
    )


def render_federation(*, name: str, querier_identity: str, nodes: list[NodeEntry],
                      deadline_seconds: float = 10.0, quorum: float = 0.5) -> str:
    """The text of a federation.toml (used by the demo and `koepel` set-up helpers)."""
    lines = [
        "[federation]",
        f'name = "{name}"',
        f'querier_identity = "{querier_identity}"',
        f"deadline_seconds = {deadline_seconds}",
        f"quorum = {quorum}",
        'history = "history.db"',
    ]
    for node in nodes:
        lines += ["", "[[nodes]]", f'id = "{node.node_id}"', f'address = "{node.address}"',
                  f'organisation = "{node.organisation}"', f'region = "{node.region}"',
                  f'kind = "{node.kind}"']
    return "\n".join(lines) + "\n"
