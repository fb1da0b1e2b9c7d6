"""federation.toml: the federation's registry of nodes and the aggregator's settings.

Loaded explicitly into frozen objects; unknown keys and wrong types are refused with a message
that names the file, the entry and the key. Node metadata (organisation, region, kind, expected
size, certificate identity) is public: the organisations' membership of the federation is no
secret, and the expected size is the kind of figure an approval file states.

Example::

    [federation]
    name = "Atout EI"
    querier_identity = "federation"    # who the nodes see asking: the aggregator certificate's name
    deadline_seconds = 10              # per node, for a whole query including retries
    retries = 2                        # extra attempts, same query id, on transient failures
    quorum = 0.5                       # minimum share of registered nodes that must answer
    quorum_size = 0.8                  # minimum share of the sector's expected size (optional)
    history = "history.db"

    [[nodes]]
    id = "ei-liege-01"
    address = "10.0.0.7:7701"
    organisation = "Insertion Liège"
    certificate_identity = "ei-liege-01.atout-ei.be"  # the certificate name the node must
                                                      # present (default: its id)
    region = "BE-WAL"
    kind = "EI_WAL"
    expected_size = 140                # people, for the size quorum
    deadline_seconds = 20              # optional: this node's own deadline

    [tls]                              # mutual TLS (the default); paths relative to this file
    cert = "tls/aggregator.crt"
    key = "tls/aggregator.key"
    ca = "tls/ca.crt"

    [limits]                           # per operator, on the aggregator's own port
    requests_per_minute = 60
    burst = 20
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aggregator.quorum import QuorumPolicy
from privacy import Catalogue, CatalogueError, default_catalogue, load_catalogue, shipped_catalogue
from privacy.catalogue import available_catalogues
from wire.ratelimit import RateLimit
from wire.tls import TlsFiles

__all__ = ["AGGREGATION_MODES", "AggregationMode", "FederationConfig", "FederationError",
           "NodeEntry", "load_federation", "render_federation"]

MAX_DEADLINE_SECONDS = 600.0
MAX_RETRIES = 10


class FederationError(Exception):
    """federation.toml is missing, malformed or inconsistent."""

    exit_code = 2


@dataclass(frozen=True)
class NodeEntry:
    """One registered node; everything here is public metadata."""

    node_id: str
    address: str
    organisation: str
    region: str = ""
    kind: str = ""
    certificate_identity: str = ""
    expected_size: int | None = None  # people; used by the size quorum
    deadline_seconds: float | None = None  # overrides the federation's default


@dataclass(frozen=True)
class FederationConfig:
    path: Path
    name: str
    querier_identity: str
    catalogue: Catalogue
    deadline_seconds: float
    retries: int
    quorum: QuorumPolicy
    history: Path
    listen: str
    nodes: tuple[NodeEntry, ...]
    tls: TlsFiles | None = None  # None: plaintext only (loaded configs always name files)
    operator_rate: RateLimit = field(default_factory=lambda: RateLimit(60, 20))
    aggregation: AggregationMode = field(default_factory=lambda: AggregationMode())

    def deadline_for(self, node: NodeEntry, override: float | None = None) -> float:
        """A node's deadline: the query's override, else the node's own, else the default."""
        if override is not None:
            return override
        return node.deadline_seconds or self.deadline_seconds


_TOP = {"federation", "nodes", "tls", "limits", "aggregation"}
_AGGREGATION = {"mode", "threshold", "colluders"}
AGGREGATION_MODES = ("per_node", "secure")


@dataclass(frozen=True)
class AggregationMode:
    """``[aggregation]``: per-node noise, or secure aggregation with distributed noise.

    ``threshold`` (t) is how many honest nodes' noise shares the release counts on, and
    ``colluders`` (c) how many nodes may collude with the aggregator; a secure round needs at
    least t + c survivors. 0 for t means "every registered node but c and two that may drop".
    """

    mode: str = "per_node"
    threshold: int = 0
    colluders: int = 0

    def honest_shares(self, nodes: int) -> int:
        return self.threshold or max(1, nodes - self.colluders - 2)
_TLS = {"cert", "key", "ca"}
_LIMITS = {"requests_per_minute", "burst"}
_FED = {"name", "querier_identity", "catalogue", "deadline_seconds", "retries", "quorum",
        "quorum_size", "history", "listen"}
_NODE = {"id", "address", "organisation", "region", "kind", "certificate_identity",
         "expected_size", "deadline_seconds"}


def _check(where: str, table: Mapping[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise FederationError(f"{where}: unknown key(s) {', '.join(unknown)}; "
                              f"allowed: {', '.join(sorted(allowed))}")


def _text(where: str, table: Mapping[str, Any], key: str, default: str = "") -> str:
    value = table.get(key, default)
    if not isinstance(value, str):
        raise FederationError(f"{where}: {key} must be a string")
    return value


def _number(where: str, table: Mapping[str, Any], key: str, default: float, *,
            low: float, high: float, low_open: bool = False) -> float:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise FederationError(f"{where}: {key} must be a number")
    if value < low or value > high or (low_open and value == low):
        bracket = "(" if low_open else "["
        raise FederationError(f"{where}: {key} must be in {bracket}{low:g}, {high:g}], "
                              f"got {value}")
    return float(value)


def _node(where: str, entry: Mapping[str, Any]) -> NodeEntry:
    _check(where, entry, _NODE)
    node_id = _text(where, entry, "id")
    address = _text(where, entry, "address")
    if not node_id or not address:
        raise FederationError(f"{where}: id and address are required")
    expected = entry.get("expected_size")
    if expected is not None and (isinstance(expected, bool) or not isinstance(expected, int)
                                 or expected <= 0):
        raise FederationError(f"{where}: expected_size must be a positive whole number of "
                              "people")
    deadline = None
    if "deadline_seconds" in entry:
        deadline = _number(where, entry, "deadline_seconds", 0, low=0,
                           high=MAX_DEADLINE_SECONDS, low_open=True)
    return NodeEntry(
        node_id=node_id,
        address=address,
        organisation=_text(where, entry, "organisation", node_id) or node_id,
        region=_text(where, entry, "region"),
        kind=_text(where, entry, "kind"),
        certificate_identity=_text(where, entry, "certificate_identity"),
        expected_size=expected,
        deadline_seconds=deadline,
    )


def load_federation(path: Path) -> FederationConfig:
    try:
        raw = tomllib.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise FederationError(f"no federation configuration at {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise FederationError(f"{path} is not valid TOML: {exc}") from None
    _check(str(path), raw, _TOP)
    fed = raw.get("federation", {})
    where = f"{path} [federation]"
    _check(where, fed, _FED)
    base = path.parent
    try:
        catalogue = (_catalogue(base, _text(where, fed, "catalogue"))
                     if "catalogue" in fed else default_catalogue())
    except CatalogueError as exc:
        raise FederationError(str(exc)) from None
    deadline = _number(where, fed, "deadline_seconds", 10.0, low=0, high=MAX_DEADLINE_SECONDS,
                       low_open=True)
    retries = fed.get("retries", 2)
    if isinstance(retries, bool) or not isinstance(retries, int) or not (
            0 <= retries <= MAX_RETRIES):
        raise FederationError(f"{where}: retries must be a whole number from 0 to {MAX_RETRIES}")
    quorum = QuorumPolicy(
        min_node_share=_number(where, fed, "quorum", 0.5, low=0, high=1),
        min_size_share=_number(where, fed, "quorum_size", 0.0, low=0, high=1),
    )
    nodes: list[NodeEntry] = []
    seen: set[str] = set()
    for index, entry in enumerate(raw.get("nodes", [])):
        node_where = f"{path} [[nodes]] #{index + 1}"
        if not isinstance(entry, dict):
            raise FederationError(f"{node_where}: must be a table")
        node = _node(node_where, entry)
        if node.node_id in seen:
            raise FederationError(f"{node_where}: node id {node.node_id!r} is listed twice")
        seen.add(node.node_id)
        nodes.append(node)
    if quorum.min_size_share > 0:
        missing = [n.node_id for n in nodes if n.expected_size is None]
        if missing:
            raise FederationError(
                f"{where}: quorum_size needs expected_size on every node; missing on "
                f"{', '.join(missing[:5])}{' …' if len(missing) > 5 else ''}")
    return FederationConfig(
        path=path,
        name=_text(where, fed, "name", "federation") or "federation",
        querier_identity=_text(where, fed, "querier_identity", "federation") or "federation",
        catalogue=catalogue,
        deadline_seconds=deadline,
        retries=retries,
        quorum=quorum,
        history=base / _text(where, fed, "history", "history.db"),
        listen=_text(where, fed, "listen", "127.0.0.1:0"),
        nodes=tuple(nodes),
        tls=_tls(path, raw.get("tls", {})),
        operator_rate=_rate(path, raw.get("limits", {})),
        aggregation=_aggregation(path, raw.get("aggregation", {}), len(nodes)),
    )


def _catalogue(base: Path, named: str) -> Catalogue:
    """``catalogue = "2026.2-zcdp"`` names a shipped version; anything else is a file path
    (relative to federation.toml)."""
    if named in available_catalogues():
        return shipped_catalogue(named)
    return load_catalogue(base / named)


def _aggregation(path: Path, table: Mapping[str, Any], nodes: int) -> AggregationMode:
    where = f"{path} [aggregation]"
    _check(where, table, _AGGREGATION)
    mode = table.get("mode", "per_node")
    if mode not in AGGREGATION_MODES:
        raise FederationError(f"{where}: mode must be one of {', '.join(AGGREGATION_MODES)}")
    numbers = {}
    for key in ("threshold", "colluders"):
        value = table.get(key, 0)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise FederationError(f"{where}: {key} must be a whole number ≥ 0")
        numbers[key] = value
    if nodes and numbers["threshold"] + numbers["colluders"] > nodes:
        raise FederationError(f"{where}: threshold + colluders ({numbers['threshold']} + "
                              f"{numbers['colluders']}) exceeds the {nodes} registered nodes")
    return AggregationMode(mode, numbers["threshold"], numbers["colluders"])


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


def _quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render_federation(*, name: str, querier_identity: str, nodes: list[NodeEntry],
                      deadline_seconds: float = 10.0, quorum: float = 0.5,
                      quorum_size: float = 0.0, retries: int = 2, catalogue: str = "",
                      aggregation: AggregationMode | None = None,
                      operator_rate: RateLimit | None = None) -> str:
    """The text of a federation.toml (used by the demo and `koepel` set-up helpers).

    ``catalogue`` is a shipped version or a file path (default: the default catalogue);
    ``aggregation`` adds an ``[aggregation]`` table (default: per-node noise)."""
    lines = [
        "[federation]",
        f"name = {_quoted(name)}",
        f"querier_identity = {_quoted(querier_identity)}",
        *([f"catalogue = {_quoted(catalogue)}"] if catalogue else []),
        f"deadline_seconds = {deadline_seconds}",
        f"retries = {retries}",
        f"quorum = {quorum}",
        f"quorum_size = {quorum_size}",
        'history = "history.db"',
        "",
        "# Mutual TLS: the aggregator's certificate (role aggregator, named after the querier",
        "# identity) serves operators and identifies the federation to every node.",
        "[tls]",
        'cert = "tls/aggregator.crt"',
        'key = "tls/aggregator.key"',
        'ca = "tls/ca.crt"',
    ]
    if aggregation is not None:
        lines += ["", "# Secure aggregation: the aggregator learns only the nodes' sum (t honest",
                  "# shares of noise, c tolerated colluders; 0 for t: every node but c + 2).",
                  "[aggregation]", f"mode = {_quoted(aggregation.mode)}",
                  f"threshold = {aggregation.threshold}", f"colluders = {aggregation.colluders}"]
    if operator_rate is not None:
        lines += ["", "[limits]", f"requests_per_minute = {operator_rate.per_minute:g}",
                  f"burst = {operator_rate.burst}"]
    for node in nodes:
        lines += ["", "[[nodes]]", f"id = {_quoted(node.node_id)}",
                  f"address = {_quoted(node.address)}",
                  f"organisation = {_quoted(node.organisation)}",
                  f"certificate_identity = {_quoted(node.certificate_identity)}",
                  f"region = {_quoted(node.region)}", f"kind = {_quoted(node.kind)}"]
        if node.expected_size is not None:
            lines.append(f"expected_size = {node.expected_size}")
        if node.deadline_seconds is not None:
            lines.append(f"deadline_seconds = {node.deadline_seconds}")
    return "\n".join(lines) + "\n"
