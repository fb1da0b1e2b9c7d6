"""The organisation's own words for its kinds of support and competences, per language.

node.toml [vocabulary] maps each local code to a federation code (what the federation counts);
the words staff read for a code are kept in the store (``vocabulary_labels``, schema v7) and
edited by managers in the app, in French, Dutch and English. A code without a label in the
user's language is shown with the federation's label. The page also lists the codes the store
holds rows under but node.toml no longer maps ("not mapped": shown as such; the rows stay).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from node.imports.vocabulary import (
    FED_COMPETENCES,
    FED_SUPPORT_ACTIONS,
    LOCAL_CODE,
    Vocabulary,
)
from node.store.database import Store

__all__ = ["KINDS", "MAX_LABEL", "VocabularyTerm", "labels", "set_labels", "terms"]

KINDS = ("support_action", "competence")
MAX_LABEL = 80


@dataclass(frozen=True)
class VocabularyTerm:
    kind: str
    local_code: str
    federation_code: str | None  # None: no mapping in node.toml
    labels: Mapping[str, str]  # language -> the organisation's label


def labels(store: Store, language: str) -> dict[tuple[str, str], str]:
    """(kind, local code) -> the organisation's label in ``language``."""
    with store.reading() as conn:
        rows = conn.execute("SELECT kind, local_code, label FROM vocabulary_labels "
                            "WHERE language = ?", (language,)).fetchall()
    return {(str(k), str(c)): str(label) for k, c, label in rows}


def terms(store: Store, vocabulary: Vocabulary) -> list[VocabularyTerm]:
    """Every local code of node.toml, of the stored rows and of the labels, with its mapping."""
    with store.reading() as conn:
        used = {(str(k), str(c)) for k, c in conn.execute(
            "SELECT DISTINCT kind, local_code FROM vocabulary_map")}
        stored: dict[tuple[str, str], dict[str, str]] = {}
        for kind, code, language, label in conn.execute(
                "SELECT kind, local_code, language, label FROM vocabulary_labels"):
            stored.setdefault((str(kind), str(code)), {})[str(language)] = str(label)
    codes = {("support_action", c) for c in vocabulary.support_actions}
    codes |= {("competence", c) for c in vocabulary.competences}
    codes |= used | set(stored)
    out = []
    for kind, code in sorted(codes, key=lambda kc: (KINDS.index(kc[0]), kc[1])):
        federation = (vocabulary.support_action(code) if kind == "support_action"
                      else vocabulary.competence(code))
        out.append(VocabularyTerm(kind, code, federation, stored.get((kind, code), {})))
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
