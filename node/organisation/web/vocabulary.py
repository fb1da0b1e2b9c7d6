"""The organisation's own kinds of support and competences: their codes, mapping and words.

A local code is mapped to a federation code (what the federation counts) in node.toml
[vocabulary], or defined by a manager in the app (``vocabulary_terms``, schema v10), mapped to a
federation code or to none yet. The web forms record with both (:func:`effective_vocabulary`:
node.toml's mapping, then the app's; its version names the app's part, so the importer's "same
version, changed mapping" rule holds when a manager changes a mapping). A code node.toml maps
is not redefined in the app. The words staff read for a code are kept in the store
(``vocabulary_labels``, schema v7), in French, Dutch and English; a code without a label in the
user's language is shown with the federation's label. An unmapped code — defined in the app
without a federation code, or holding rows that node.toml no longer maps — is shown as "not
mapped" and blocks nothing: it is not offered in the forms until it is mapped (the federation
could not count it), and a record already under it stays, is shown, and can still be changed
or deleted under the mapping it was recorded with.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from node.imports.vocabulary import (
    FED_COMPETENCES,
    FED_SUPPORT_ACTIONS,
    LOCAL_CODE,
    Vocabulary,
    is_fed_competence,
    is_fed_support_action,
)
from node.organisation.web.i18n import N_
from node.store.database import Store

__all__ = ["KINDS", "MAX_LABEL", "TermRefused", "VocabularyTerm", "app_terms", "define_term",
           "effective_vocabulary", "labels", "set_labels", "terms"]

KINDS = ("support_action", "competence")
MAX_LABEL = 80


@dataclass(frozen=True)
class VocabularyTerm:
    kind: str
    local_code: str
    federation_code: str | None  # None: not mapped (neither in node.toml nor in the app)
    labels: Mapping[str, str]  # language -> the organisation's label
    # "node.toml", "app", "federation" (a federation code used as is) or "rows" (only records
    # hold it: node.toml mapped it once)
    defined_in: str = "node.toml"


def labels(store: Store, language: str) -> dict[tuple[str, str], str]:
    """(kind, local code) -> the organisation's label in ``language``."""
    with store.reading() as conn:
        rows = conn.execute("SELECT kind, local_code, label FROM vocabulary_labels "
                            "WHERE language = ?", (language,)).fetchall()
    return {(str(k), str(c)): str(label) for k, c, label in rows}


def app_terms(store: Store) -> dict[tuple[str, str], str | None]:
    """(kind, local code) -> federation code (None: not mapped yet), as defined in the app."""
    with store.reading() as conn:
        return {(str(k), str(c)): (None if f is None else str(f)) for k, c, f in conn.execute(
            "SELECT kind, local_code, fed_code FROM vocabulary_terms")}


def effective_vocabulary(store: Store, base: Vocabulary) -> Vocabulary:
    """node.toml's mapping with the app's mapped codes added (node.toml wins on a code), under
    a version naming the app's part: ``<node.toml's version>+app-<digest>``."""
    mapped = {key: fed for key, fed in app_terms(store).items() if fed is not None}
    actions = {c: f for (k, c), f in mapped.items()
               if k == "support_action" and c not in base.support_actions}
    competences = {c: f for (k, c), f in mapped.items()
                   if k == "competence" and c not in base.competences}
    if not actions and not competences:
        return base
    digest = hashlib.sha256(json.dumps([sorted(actions.items()), sorted(competences.items())]
                                       ).encode()).hexdigest()[:10]
    return Vocabulary(MappingProxyType({**base.support_actions, **actions}),
                      MappingProxyType({**base.competences, **competences}),
                      f"{base.version}+app-{digest}")


class TermRefused(ValueError):
    """A code the app cannot define as asked; the message (a msgid) says why."""


def define_term(store: Store, base: Vocabulary, kind: str, code: str,
                federation_code: str | None) -> None:
    """Define (or re-map) one of the organisation's codes in the app."""
    if kind not in KINDS:
        raise TermRefused(N_("choose one of the proposed values"))
    if not LOCAL_CODE.fullmatch(code):
        raise TermRefused(N_("a code is 1 to 40 letters, digits or _ . : / -, starting with "
                             "a letter or a digit"))
    is_fed = is_fed_support_action if kind == "support_action" else is_fed_competence
    own = base.support_actions if kind == "support_action" else base.competences
    if code in own or is_fed_support_action(code) or is_fed_competence(code):
        raise TermRefused(N_("this code is a federation code or is mapped in node.toml"))
    if federation_code is not None and not is_fed(federation_code):
        raise TermRefused(N_("choose one of the proposed values"))
    with store.transaction() as conn:
        conn.execute("INSERT INTO vocabulary_terms (kind, local_code, fed_code) VALUES (?, ?, ?)"
                     " ON CONFLICT (kind, local_code) DO UPDATE SET fed_code = excluded.fed_code",
                     (kind, code, federation_code))


def terms(store: Store, vocabulary: Vocabulary) -> list[VocabularyTerm]:
    """Every local code of node.toml, of the app, of the stored rows and of the labels, with
    its mapping (``vocabulary`` is node.toml's) and where it is defined."""
    with store.reading() as conn:
        used = {(str(k), str(c)) for k, c in conn.execute(
            "SELECT DISTINCT kind, local_code FROM vocabulary_map")}
        stored: dict[tuple[str, str], dict[str, str]] = {}
        for kind, code, language, label in conn.execute(
                "SELECT kind, local_code, language, label FROM vocabulary_labels"):
            stored.setdefault((str(kind), str(code)), {})[str(language)] = str(label)
    defined = app_terms(store)
    effective = effective_vocabulary(store, vocabulary)
    codes = {("support_action", c) for c in vocabulary.support_actions}
    codes |= {("competence", c) for c in vocabulary.competences}
    codes |= used | set(stored) | set(defined)
    out = []
    for kind, code in sorted(codes, key=lambda kc: (KINDS.index(kc[0]), kc[1])):
        federation = (effective.support_action(code) if kind == "support_action"
                      else effective.competence(code))
        own = vocabulary.support_actions if kind == "support_action" else vocabulary.competences
        is_fed = is_fed_support_action if kind == "support_action" else is_fed_competence
        where = ("node.toml" if code in own else "app" if (kind, code) in defined
                 else "federation" if is_fed(code) else "rows")
        out.append(VocabularyTerm(kind, code, federation, stored.get((kind, code), {}), where))
    return out


def federation_label(kind: str, code: str | None) -> str:
    if code is None:
        return ""
    table = FED_SUPPORT_ACTIONS if kind == "support_action" else FED_COMPETENCES
    return table.get(code, code)


def set_labels(store: Store, kind: str, code: str, values: Mapping[str, str]) -> None:
    """Set (or, with an empty text, remove) the organisation's labels of one code."""
    if kind not in KINDS or not LOCAL_CODE.fullmatch(code):
        raise ValueError("not a vocabulary code")
    cleaned = {}
    for language, text in values.items():
        if language not in ("fr", "nl", "en"):
            raise ValueError("not a language")
        text = " ".join(text.split())
        if len(text) > MAX_LABEL:
            raise ValueError(f"a label has at most {MAX_LABEL} characters")
        cleaned[language] = text
    with store.transaction() as conn:
        for language, text in cleaned.items():
            if text:
                conn.execute("INSERT INTO vocabulary_labels (kind, local_code, language, label)"
                             " VALUES (?, ?, ?, ?) ON CONFLICT (kind, local_code, language) "
                             "DO UPDATE SET label = excluded.label", (kind, code, language, text))
            else:
                conn.execute("DELETE FROM vocabulary_labels WHERE kind = ? AND local_code = ? "
                             "AND language = ?", (kind, code, language))
