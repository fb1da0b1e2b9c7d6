"""The federation vocabularies, and each organisation's mapping of its own codes onto them.

An organisation names its support-action kinds and competences as it likes ("JOBCOACH",
"STIPTHEID"); the federation only ever sees them through its vocabulary codes (DOMAIN.md §1.2:
SA01–SA13 and SA99 for support actions, C01–C11 and B01–B04 for competences, T:<job family>
for technical ones). The mapping lives in node.toml::

    [vocabulary]
    version = "2025-03"            # optional; by default a digest of the mapping itself

    [vocabulary.support_actions]
    JOBCOACH = "SA02"

    [vocabulary.competences]
    STIPTHEID = "C01"

A federation code used as is needs no entry (it maps to itself). A code that is neither mapped
nor a federation code is reported by the importer, never silently dropped.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

__all__ = [
    "FED_COMPETENCES",
    "FED_SUPPORT_ACTIONS",
    "IDENTITY_VERSION",
    "LOCAL_CODE",
    "Vocabulary",
    "VocabularyError",
    "is_fed_competence",
    "is_fed_support_action",
    "parse_vocabulary",
]

FED_SUPPORT_ACTIONS: Mapping[str, str] = MappingProxyType({
    "SA01": "intake / onboarding",
    "SA02": "individual coaching conversation",
    "SA03": "on-the-job instruction / coaching",
    "SA04": "evaluation / appraisal interview",
    "SA05": "psychosocial support on non-work barriers",
    "SA06": "administrative / social-rights support",
    "SA07": "job search / transition preparation",
    "SA08": "external placement / internship / detachment follow-up",
    "SA09": "referral to an external service",
    "SA10": "group workshop",
    "SA11": "workplace adaptation / reasonable accommodation",
    "SA12": "post-exit follow-up",
    "SA13": "multidisciplinary case meeting with partners",
    "SA99": "other",
})

FED_COMPETENCES: Mapping[str, str] = MappingProxyType({
    "C01": "punctuality / attendance",
    "C02": "reliability / following instructions",
    "C03": "cooperation / teamwork",
    "C04": "communication",
    "C05": "autonomy / initiative",
    "C06": "work pace / productivity",
    "C07": "quality / precision",
    "C08": "safety & hygiene",
    "C09": "flexibility",
    "C10": "handling stress / emotions",
    "C11": "customer orientation",
    "B01": "language of work",
    "B02": "literacy",
    "B03": "numeracy",
    "B04": "digital",
})

_TECHNICAL = re.compile(r"T:[0-9A-Z]{1,10}")  # T:<job family code> (ISCO-08, ROME, Competent)
LOCAL_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:/-]{0,39}")
IDENTITY_VERSION = "identity"


class VocabularyError(ValueError):
    """node.toml [vocabulary] is malformed; the message names the entry."""


def is_fed_support_action(code: str) -> bool:
    return code in FED_SUPPORT_ACTIONS


def is_fed_competence(code: str) -> bool:
    return code in FED_COMPETENCES or _TECHNICAL.fullmatch(code) is not None


@dataclass(frozen=True)
class Vocabulary:
    """An organisation's local codes, each mapped to one federation code."""

    support_actions: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    competences: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    explicit_version: str | None = None

    @property
    def version(self) -> str:
        """The mapping version stored with each row: the declared one, or a digest."""
        if self.explicit_version:
            return self.explicit_version
        if not self.support_actions and not self.competences:
            return IDENTITY_VERSION
        canonical = json.dumps([dict(self.support_actions), dict(self.competences)],
                               sort_keys=True)
        return "auto-" + hashlib.sha256(canonical.encode()).hexdigest()[:12]

    def support_action(self, code: str) -> str | None:
        """The federation code for a local support-action code, or None if unmapped."""
        mapped = self.support_actions.get(code)
        if mapped is not None:
            return mapped
        return code if is_fed_support_action(code) else None

    def competence(self, code: str) -> str | None:
        """The federation code for a local competence code, or None if unmapped."""
        mapped = self.competences.get(code)
        if mapped is not None:
            return mapped
        return code if is_fed_competence(code) else None


_KEYS = {"version", "support_actions", "competences"}


def _table(where: str, raw: object, valid: Callable[[str], bool],
           vocabulary: str) -> dict[str, str]:
    if not isinstance(raw, dict):
        raise VocabularyError(f"{where} must be a table of LOCAL_CODE = \"FEDERATION_CODE\"")
    result: dict[str, str] = {}
    for local, fed in raw.items():
        if not LOCAL_CODE.fullmatch(local):
            raise VocabularyError(
                f"{where}: local code {local!r} must be 1–40 letters, digits or _ . : / - "
                "(starting with a letter or digit)"
            )
        if not isinstance(fed, str) or not valid(fed):
            raise VocabularyError(
                f"{where}: {local} maps to {fed!r}, which is not a {vocabulary} code"
            )
        result[local] = fed
    return result


def parse_vocabulary(where: str, raw: Mapping[str, object]) -> Vocabulary:
    """Build the mapping from node.toml's [vocabulary] table, refusing unknown keys and codes."""
    unknown = sorted(set(raw) - _KEYS)
    if unknown:
        raise VocabularyError(f"{where}: unknown key(s) {', '.join(unknown)}")
    version = raw.get("version")
    if version is not None and (not isinstance(version, str) or not LOCAL_CODE.fullmatch(version)
                                or version == IDENTITY_VERSION):
        raise VocabularyError(f"{where}: version must be a short code such as \"2025-03\"")
    actions = _table(f"{where}.support_actions", raw.get("support_actions", {}),
                     is_fed_support_action, "federation support-action (SA01–SA13, SA99)")
    competences = _table(f"{where}.competences", raw.get("competences", {}),
                         is_fed_competence, "federation competence (C01–C11, B01–B04, T:…)")
    return Vocabulary(MappingProxyType(actions), MappingProxyType(competences),
                      version if isinstance(version, str) else None)
