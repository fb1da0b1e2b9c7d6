"""node.toml: the node's configuration, loaded explicitly into frozen, validated objects.

Unknown keys are refused (a typo must not silently widen what is shared). Paths are relative
to the folder holding node.toml. Secrets live in their own files; node.toml only names them.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from node.policy import POLICY_KEYS, AccessPolicy, parse_access
from privacy import Catalogue, CatalogueError, default_catalogue, load_catalogue, parse_epsilon
from protos.ratelimit import RateLimit
from protos.tls import TlsFiles

__all__ = ["ConfigError", "NodeConfig", "NodeLimits", "QuerierPolicy", "load_node_config",
           "render_node_config"]


class ConfigError(Exception):
    """node.toml is missing, malformed or inconsistent."""

    exit_code = 2


@dataclass(frozen=True)
class QuerierPolicy:
    """What one querier identity may spend per budget period (calendar year)."""

    identity: str
    cap_micro: int
    access: AccessPolicy = field(default_factory=AccessPolicy)


@dataclass(frozen=True)
class NodeLimits:
    """Server limits ([limits] in node.toml): a per-querier request rate, concurrent calls."""

    rate: RateLimit = field(default_factory=lambda: RateLimit(per_minute=120, burst=30))
    max_concurrent_rpcs: int = 32


@dataclass(frozen=True)
class NodeConfig:
    path: Path
    node_id: str
    organisation: str
    database: Path
    key_file: Path
    secret_file: Path
    listen: str
    approved_versions: tuple[str, ...]
    catalogue: Catalogue
    queriers: Mapping[str, QuerierPolicy]
    tls: TlsFiles | None = None  # None: plaintext only (loaded configs always name files)
    limits: NodeLimits = field(default_factory=NodeLimits)


_SECTIONS = {"node", "catalogue", "queriers", "tls", "limits"}
_NODE_KEYS = {"id", "organisation", "database", "key_file", "secret_file", "listen"}
_CATALOGUE_KEYS = {"path", "approved"}
_QUERIER_KEYS = {"identity", "cap_epsilon"} | POLICY_KEYS
_TLS_KEYS = {"cert", "key", "ca"}
_LIMIT_KEYS = {"requests_per_minute", "burst", "max_concurrent_rpcs"}


def _check_keys(where: str, table: Mapping[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}")


def load_node_config(path: Path) -> NodeConfig:
    """Load and validate node.toml."""
    try:
        raw = tomllib.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"no node configuration at {path}; run `koepel node init`") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None
    _check_keys(str(path), raw, _SECTIONS)
    node = raw.get("node", {})
    _check_keys(f"{path} [node]", node, _NODE_KEYS)
    for key in ("id", "database", "key_file", "secret_file"):
        if not isinstance(node.get(key), str) or not node[key]:
            raise ConfigError(f"{path} [node]: {key} is required")
    base = path.parent
    cat = raw.get("catalogue", {})
    _check_keys(f"{path} [catalogue]", cat, _CATALOGUE_KEYS)
    try:
        catalogue = load_catalogue(base / cat["path"]) if "path" in cat else default_catalogue()
    except CatalogueError as exc:
        raise ConfigError(str(exc)) from None
    approved = tuple(cat.get("approved", []))
    if not approved:
        raise ConfigError(f"{path} [catalogue]: approve at least one catalogue version")
    queriers: dict[str, QuerierPolicy] = {}
    for index, entry in enumerate(raw.get("queriers", [])):
        where = f"{path} [[queriers]] #{index + 1}"
        _check_keys(where, entry, _QUERIER_KEYS)
        identity = entry.get("identity")
        if not isinstance(identity, str) or not identity:
            raise ConfigError(f"{where}: identity is required")
        if identity in queriers:
            raise ConfigError(f"{where}: querier {identity!r} is listed twice")
        try:
            cap = parse_epsilon(str(entry.get("cap_epsilon", "")), field="cap_epsilon")
        except Exception as exc:
            raise ConfigError(f"{where}: {exc}") from None
        try:
            access = parse_access(where, entry, catalogue)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        queriers[identity] = QuerierPolicy(identity, cap, access)
    return NodeConfig(
        path=path,
        node_id=node["id"],
        organisation=str(node.get("organisation", node["id"])),
        database=base / node["database"],
        key_file=base / node["key_file"],
        secret_file=base / node["secret_file"],
        listen=str(node.get("listen", "127.0.0.1:0")),
        approved_versions=approved,
        catalogue=catalogue,
        queriers=queriers,
        tls=_tls(path, raw.get("tls", {})),
        limits=_limits(path, raw.get("limits", {})),
    )


def _tls(path: Path, table: Mapping[str, Any]) -> TlsFiles:
    """[tls]: the node's certificate, key and the federation CA (default: the tls/ folder)."""
    _check_keys(f"{path} [tls]", table, _TLS_KEYS)
    base = path.parent
    for key in _TLS_KEYS:
        if key in table and (not isinstance(table[key], str) or not table[key]):
            raise ConfigError(f"{path} [tls]: {key} must be a file path")
    return TlsFiles(cert=base / table.get("cert", "tls/node.crt"),
                    key=base / table.get("key", "tls/node.key"),
                    ca=base / table.get("ca", "tls/ca.crt"))


def _limits(path: Path, table: Mapping[str, Any]) -> NodeLimits:
    _check_keys(f"{path} [limits]", table, _LIMIT_KEYS)
    default = NodeLimits()
    per_minute = table.get("requests_per_minute", default.rate.per_minute)
    burst = table.get("burst", default.rate.burst)
    if isinstance(per_minute, bool) or not isinstance(per_minute, int | float) \
            or isinstance(burst, bool) or not isinstance(burst, int):
        raise ConfigError(f"{path} [limits]: requests_per_minute and burst must be numbers")
    try:
        rate = RateLimit(per_minute=float(per_minute), burst=burst)
    except ValueError as exc:
        raise ConfigError(f"{path} [limits]: {exc}") from None
    concurrent = table.get("max_concurrent_rpcs", default.max_concurrent_rpcs)
    if isinstance(concurrent, bool) or not isinstance(concurrent, int) \
            or not 1 <= concurrent <= 1024:
        raise ConfigError(f"{path} [limits]: max_concurrent_rpcs must be from 1 to 1024")
    return NodeLimits(rate, concurrent)


def render_node_config(
    *, node_id: str, organisation: str, listen: str, queriers: Mapping[str, str],
    approved: tuple[str, ...],
) -> str:
    """The text of a fresh node.toml (written by `koepel node init`)."""
    lines = [
        "# koepel node configuration. Paths are relative to this file.",
        "[node]",
        f'id = "{node_id}"',
        f'organisation = "{organisation}"',
        'database = "koepel.db"',
        'key_file = "keys/db.key"',
        'secret_file = "keys/pseudonym.key"',
        f'listen = "{listen}"',
        "",
        "# Mutual TLS: this node's certificate and key, and the federation CA that signed the",
        "# certificates of those allowed to connect (`koepel certs issue --role node ...`).",
        "[tls]",
        'cert = "tls/node.crt"',
        'key = "tls/node.key"',
        'ca = "tls/ca.crt"',
        "",
        "[catalogue]",
        "# Catalogue versions this organisation has reviewed and approved.",
        "approved = [" + ", ".join(f'"{v}"' for v in approved) + "]",
    ]
    for identity, cap in queriers.items():
        lines += ["", "[[queriers]]", f'identity = "{identity}"', f'cap_epsilon = "{cap}"']
    return "\n".join(lines) + "\n"
