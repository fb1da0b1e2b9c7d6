"""node.toml: the node's configuration, loaded explicitly into frozen, validated objects.

Unknown keys are refused (a typo must not silently widen what is shared). Paths are relative
to the folder holding node.toml. Secrets live in their own files; node.toml only names them.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from node.form_rules import FormRules, FormRulesError, parse_form_rules
from node.imports.vocabulary import Vocabulary, VocabularyError, parse_vocabulary
from node.policy import POLICY_KEYS, AccessPolicy, parse_access
from node.store.dbkey import KEY_SOURCES
from node.store.sealing import SealingError, parse_recipients
from privacy import (
    MICRO,
    Catalogue,
    CatalogueError,
    available_catalogues,
    load_catalogue,
    parse_epsilon,
)
from wire.ratelimit import RateLimit
from wire.tls import TlsFiles

__all__ = ["BudgetConfig", "ConfigError", "NodeConfig", "NodeLimits", "QuerierPolicy",
           "load_node_config", "render_node_config"]


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
class BudgetConfig:
    """Caps beyond each querier's own, all stated as ε (at the catalogue's δ under zCDP).

    ``node_cap_micro`` bounds all queriers together in one period (queriers may collude: the
    people in the records bear the sum); ``lifetime_cap_micro`` bounds all periods together
    (long-tenured workers appear year after year). A node.toml that leaves them out gets the
    defaults ``koepel node init`` writes (the sum of the queriers' caps; five times the node
    cap), so every loaded node has both; ``None`` survives only in hand-built test configs.
    """

    period: str = "year"
    node_cap_micro: int | None = None  # None: the sum of the queriers' caps
    lifetime_cap_micro: int | None = None
    # Secure aggregation: the most one noise share may expose if every other node and the
    # aggregator colluded (its own OpenDP map, as ε); None: no cap beyond the central charge.
    local_exposure_cap_micro: int | None = None


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
    budget: BudgetConfig = field(default_factory=BudgetConfig)
    signing_key_file: Path | None = None
    # The CA's certificate for the signing key (`koepel certs certify-signing-key`); it travels
    # with ledger exports so that auditors check the key against the CA, not on first use.
    signing_certificate: Path | None = None
    reply_quantum_ms: int = 50
    auditors: tuple[str, ...] = ()
    key_source: str = "file"  # "file" (raw key file / KOEPEL_DB_KEY) or "passphrase"
    vocabulary: Vocabulary = field(default_factory=Vocabulary)
    # Every approved version this node can serve, by version (``catalogue`` is the newest of
    # them: the one its reports, policy checks and catalogue diffs are read against).
    catalogues: Mapping[str, Catalogue] = field(default_factory=dict)
    # age public keys every export is sealed to unless told otherwise (``[exports]``).
    export_recipients: tuple[str, ...] = ()
    # The Walloon EI forms' assumptions (``[forms]``, node/form_rules.py).
    forms: FormRules = field(default_factory=FormRules)

    def catalogue_for(self, version: str) -> Catalogue | None:
        """The approved catalogue ``version``, or None if it is not approved or not known."""
        if version not in self.approved_versions:
            return None
        return self.catalogues.get(version) or (
            self.catalogue if self.catalogue.version == version else None)


_SECTIONS = {"node", "catalogue", "queriers", "tls", "limits", "budget", "vocabulary", "exports",
             "forms"}
_NODE_KEYS = {"id", "organisation", "database", "key_file", "secret_file", "listen",
              "signing_key_file", "signing_certificate", "reply_quantum_ms", "auditors",
              "key_source"}
_BUDGET_KEYS = {"period", "node_cap_epsilon", "lifetime_cap_epsilon",
                "local_exposure_cap_epsilon"}
LIFETIME_DEFAULT_PERIODS = 5  # a lifetime cap left out is five periods' node cap
BUDGET_PERIODS = ("year", "quarter")
MAX_REPLY_QUANTUM_MS = 120_000
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
        catalogue = load_catalogue(base / cat["path"]) if "path" in cat else None
    except CatalogueError as exc:
        raise ConfigError(str(exc)) from None
    approved = tuple(cat.get("approved", []))
    if not approved:
        raise ConfigError(f"{path} [catalogue]: approve at least one catalogue version")
    catalogue, catalogues = _served(f"{path} [catalogue]", catalogue, approved)
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
    quantum = node.get("reply_quantum_ms", 50)
    if not isinstance(quantum, int) or not 0 <= quantum <= MAX_REPLY_QUANTUM_MS:
        raise ConfigError(f"{path} [node]: reply_quantum_ms must be an integer from 0 to "
                          f"{MAX_REPLY_QUANTUM_MS}")
    auditors = node.get("auditors", [])
    if not isinstance(auditors, list) or not all(isinstance(a, str) and a for a in auditors):
        raise ConfigError(f"{path} [node]: auditors must be a list of identities")
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
        budget=_with_default_caps(_budget(path, raw.get("budget", {})), queriers),
        signing_key_file=base / str(node.get("signing_key_file", "keys/signing.key")),
        signing_certificate=base / str(node.get("signing_certificate", "tls/signing.crt")),
        reply_quantum_ms=quantum,
        auditors=tuple(auditors),
        key_source=key_source,
        vocabulary=vocabulary,
        catalogues=catalogues,
        export_recipients=_export_recipients(path, raw.get("exports", {})),
        forms=_form_rules(path, raw.get("forms", {})),
    )


def _form_rules(path: Path, table: Mapping[str, Any]) -> FormRules:
    try:
        return parse_form_rules(f"{path} [forms]", table)
    except FormRulesError as exc:
        raise ConfigError(str(exc)) from None


def _export_recipients(path: Path, table: Mapping[str, Any]) -> tuple[str, ...]:
    """``[exports] recipients``: age public keys that every export is sealed to by default."""
    _check_keys(f"{path} [exports]", table, {"recipients"})
    recipients = table.get("recipients", [])
    if not isinstance(recipients, list) or not all(isinstance(r, str) for r in recipients):
        raise ConfigError(f"{path} [exports]: recipients must be a list of age public keys")
    try:
        return parse_recipients(recipients, where=f"{path} [exports] recipients")
    except SealingError as exc:
        raise ConfigError(str(exc)) from None


def _served(where: str, from_file: Catalogue | None, approved: tuple[str, ...]
            ) -> tuple[Catalogue, Mapping[str, Catalogue]]:
    """The catalogue a node reads its own views against, and every approved one it can serve.

    The shipped catalogues (2025.1, 2026.1, …) are always available; ``[catalogue] path`` adds
    (or replaces) one. Without a path the primary catalogue is the newest approved shipped one.
    One ledger has one unit, so every served catalogue must share the primary's accounting.
    """
    available = dict(available_catalogues())  # shipped, then opt-in (privacy.catalogue)
    if from_file is not None:
        available[from_file.version] = from_file
    unknown = [v for v in approved if v not in available]
    if unknown:
        raise ConfigError(
            f"{where}: approved catalogue {unknown[0]!r} is neither shipped with koepel "
            f"({', '.join(available_catalogues())}) nor the one [catalogue] path names; fix the "
            "version, or point path at its file")
    served = {v: available[v] for v in approved}
    if from_file is not None:
        primary = from_file
    else:
        primary = [available[v] for v in available if v in served][-1]  # the newest shipped
    for version, other in served.items():
        if (other.accounting, other.delta) != (primary.accounting, primary.delta):
            raise ConfigError(
                f"{where}: approved catalogue {version} accounts privacy loss as "
                f"{other.accounting.value}, {primary.version} as {primary.accounting.value}; a "
                "node's ledger has one unit, so approve catalogues of one accounting only")
    return primary, served


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


def _budget(path: Path, table: Mapping[str, Any]) -> BudgetConfig:
    where = f"{path} [budget]"
    _check_keys(where, table, _BUDGET_KEYS)
    period = table.get("period", "year")
    if period not in BUDGET_PERIODS:
        raise ConfigError(f"{where}: period must be one of {', '.join(BUDGET_PERIODS)}")
    caps: dict[str, int | None] = {}
    for key in ("node_cap_epsilon", "lifetime_cap_epsilon", "local_exposure_cap_epsilon"):
        if key not in table:
            caps[key] = None
            continue
        try:
            # No upper limit here: a high cap is the organisation's decision, and every audit
            # flags it (privacy.audit.CAP_THRESHOLDS_EPSILON) for someone to question.
            caps[key] = parse_epsilon(str(table[key]), field=key, limit=None)
        except Exception as exc:
            raise ConfigError(f"{where}: {exc}") from None
    return BudgetConfig(period, caps["node_cap_epsilon"], caps["lifetime_cap_epsilon"],
                        caps["local_exposure_cap_epsilon"])


def _with_default_caps(budget: BudgetConfig,
                       queriers: Mapping[str, QuerierPolicy]) -> BudgetConfig:
    """Fill in the node-wide and lifetime caps a node.toml leaves out (as `node init` would)."""
    node_cap = budget.node_cap_micro
    if node_cap is None:
        node_cap = sum(q.cap_micro for q in queriers.values()) or MICRO
    lifetime = budget.lifetime_cap_micro
    if lifetime is None:
        lifetime = node_cap * LIFETIME_DEFAULT_PERIODS
    return BudgetConfig(budget.period, node_cap, lifetime, budget.local_exposure_cap_micro)


def render_node_config(
    *, node_id: str, organisation: str, listen: str, queriers: Mapping[str, str],
    approved: tuple[str, ...], node_cap: str | None = None, lifetime_cap: str | None = None,
    key_source: str = "file",
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
        'signing_key_file = "keys/signing.key"',
        f'listen = "{listen}"',
        "# Every query reply is padded to a multiple of this many milliseconds, so that its",
        "# timing does not reveal how long the records took to aggregate or the noise to draw.",
        "reply_quantum_ms = 50",
        "",
        "# Mutual TLS: this node's certificate and key, and the federation CA that signed the",
        "# certificates of those allowed to connect (`koepel certs issue --role node ...`).",
        "[tls]",
        'cert = "tls/node.crt"',
        'key = "tls/node.key"',
        'ca = "tls/ca.crt"',
        "",
        "[catalogue]",
        "# Catalogue versions this organisation has reviewed and approved; the node serves each",
        "# (2026.1 is 2025.1 plus the accompaniment measures). Review a new one first with",
        "# `koepel node catalogue diff`.",
        "approved = [" + ", ".join(f'"{v}"' for v in approved) + "]",
    ]
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
    total = sum((Decimal(cap) for cap in queriers.values()), Decimal(0))
    node_cap = node_cap or (format(total.normalize(), "f") if total else "1")
    lifetime_cap = lifetime_cap or format((Decimal(node_cap) * 5).normalize(), "f")
    lines += [
        "",
        "[budget]",
        '# Caps are per calendar "year" (or "quarter"). Each querier has its own cap below;',
        "# all queriers together may not exceed node_cap_epsilon in one period (they may",
        "# collude), and all periods together may not exceed lifetime_cap_epsilon (long-tenured",
        "# workers appear year after year).",
        'period = "year"',
        f'node_cap_epsilon = "{node_cap}"',
        f'lifetime_cap_epsilon = "{lifetime_cap}"',
    ]
    for identity, cap in queriers.items():
        lines += ["", "[[queriers]]", f'identity = "{identity}"', f'cap_epsilon = "{cap}"']
    return "\n".join(lines) + "\n"
