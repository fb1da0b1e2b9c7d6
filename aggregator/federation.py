"""federation.toml: the federation's registry of nodes and the aggregator's settings.

Loaded explicitly into frozen objects; unknown keys are refused. Node metadata (organisation,
region, kind) is public: the organisations' membership of the federation is no secret.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from privacy import Catalogue, CatalogueError, default_catalogue, load_catalogue
from protos.ratelimit import RateLimit
from protos.tls import TlsFiles

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
    tls: TlsFiles | None = None  # None: plaintext only (loaded configs always name files)
    operator_rate: RateLimit = field(default_factory=lambda: RateLimit(60, 20))


_TOP = {"federation", "nodes", "tls", "limits"}
_TLS = {"cert", "key", "ca"}
_LIMITS = {"requests_per_minute", "burst"}
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
        tls=_tls(path, raw.get("tls", {})),
        operator_rate=_rate(path, raw.get("limits", {})),
    )


def _tls(path: Path, table: Mapping[str, Any]) -> TlsFiles:
    """[tls]: the aggregator's certificate (server and client), key, and the federation CA."""
    _check(f"{path} [tls]", table, _TLS)
    for key in _TLS:
        if key in table and (not isinstance(table[key], str) or not table[key]):
            raise FederationError(f"{path} [tls]: {key} must be a file path")
    base = path.parent
    return TlsFiles(cert=base / table.get("cert", "tls/aggregator.crt"),
                    key=base / table.get("key", "tls/aggregator.key"),
                    ca=base / table.get("ca", "tls/ca.crt"))


def _rate(path: Path, table: Mapping[str, Any]) -> RateLimit:
    """[limits]: how many requests each operator may make per minute, and in what burst."""
    _check(f"{path} [limits]", table, _LIMITS)
    per_minute = table.get("requests_per_minute", 60)
    burst = table.get("burst", 20)
    if isinstance(per_minute, bool) or not isinstance(per_minute, int | float) \
            or isinstance(burst, bool) or not isinstance(burst, int):
        raise FederationError(f"{path} [limits]: requests_per_minute and burst must be numbers")
    try:
        return RateLimit(float(per_minute), burst)
    except ValueError as exc:
        raise FederationError(f"{path} [limits]: {exc}") from None


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
        "",
        "# Mutual TLS: the aggregator's certificate (role aggregator, named after the querier",
        "# identity) serves operators and identifies the federation to every node.",
        "[tls]",
        'cert = "tls/aggregator.crt"',
        'key = "tls/aggregator.key"',
        'ca = "tls/ca.crt"',
    ]
    for node in nodes:
        lines += ["", "[[nodes]]", f'id = "{node.node_id}"', f'address = "{node.address}"',
                  f'organisation = "{node.organisation}"', f'region = "{node.region}"',
                  f'kind = "{node.kind}"']
    return "\n".join(lines) + "\n"
