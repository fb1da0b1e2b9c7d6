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

from node.dbkey import KEY_SOURCES
from node.vocabulary import Vocabulary, VocabularyError, parse_vocabulary
from privacy import Catalogue, CatalogueError, default_catalogue, load_catalogue, parse_epsilon

__all__ = ["ConfigError", "NodeConfig", "QuerierPolicy", "load_node_config", "render_node_config"]


class ConfigError(Exception):
    """node.toml is missing, malformed or inconsistent."""

    exit_code = 2


@dataclass(frozen=True)
class QuerierPolicy:
    """What one querier identity may spend per budget period (calendar year)."""

    identity: str
    cap_micro: int


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
    key_source: str = "file"  # "file" (raw key file / KOEPEL_DB_KEY) or "passphrase"
    vocabulary: Vocabulary = field(default_factory=Vocabulary)


_SECTIONS = {"node", "catalogue", "queriers", "vocabulary"}
_NODE_KEYS = {"id", "organisation", "database", "key_file", "secret_file", "listen", "key_source"}
_CATALOGUE_KEYS = {"path", "approved"}
_QUERIER_KEYS = {"identity", "cap_epsilon"}


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
    key_source = node.get("key_source", "file")
    if key_source not in KEY_SOURCES:
        raise ConfigError(f"{path} [node]: key_source must be one of {', '.join(KEY_SOURCES)}")
    try:
        vocabulary = parse_vocabulary(f"{path} [vocabulary]", raw.get("vocabulary", {}))
    except VocabularyError as exc:
        raise ConfigError(str(exc)) from None
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
        queriers[identity] = QuerierPolicy(identity, cap)
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
        key_source=key_source,
        vocabulary=vocabulary,
    )


def render_node_config(
    *, node_id: str, organisation: str, listen: str, queriers: Mapping[str, str],
    approved: tuple[str, ...], key_source: str = "file",
) -> str:
    """The text of a fresh node.toml (written by `koepel node init`)."""
    lines = [
        "# koepel node configuration. Paths are relative to this file.",
        "[node]",
        f'id = "{node_id}"',
        f'organisation = "{organisation}"',
        'database = "koepel.db"',
        'key_file = "keys/db.key"',
        *(['key_source = "passphrase"  # typed at a prompt, or KOEPEL_DB_PASSPHRASE']
          if key_source == "passphrase" else []),
        'secret_file = "keys/pseudonym.key"',
        f'listen = "{listen}"',
        "",
        "[catalogue]",
        "# Catalogue versions this organisation has reviewed and approved.",
        "approved = [" + ", ".join(f'"{v}"' for v in approved) + "]",
    ]
    for identity, cap in queriers.items():
        lines += ["", "[[queriers]]", f'identity = "{identity}"', f'cap_epsilon = "{cap}"']
    lines += [
        "",
        "# Your own support-action kinds and competences, each mapped to a federation code",
        "# (SA01–SA13, SA99; C01–C11, B01–B04, T:<job family>). Federation codes need no entry.",
        "[vocabulary]",
        "[vocabulary.support_actions]",
        '# JOBCOACH = "SA02"',
        "[vocabulary.competences]",
        '# STIPTHEID = "C01"',
    ]
    return "\n".join(lines) + "\n"
