"""French and Dutch from the first page: every msgid the web app uses is in both catalogues,
translated, not fuzzy, with the same placeholders, and compiled into the shipped ``.mo``."""

from __future__ import annotations

import re

from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from node.imports.records import (
    ASSESSMENT_CONTEXTS,
    ASSESSORS,
    CONTRACT_TYPES,
    DESTINATIONS,
    EDUCATION,
    GENDERS,
    GOAL_DOMAINS,
    GOAL_STATUSES,
    REGIONS,
    ROLES,
    SELF_EVALUATION_ITEMS,
    TARGET_GROUPS,
)
from node.imports.vocabulary import FED_COMPETENCES, FED_SUPPORT_ACTIONS
from node.organisation.web.catalogues import TRANSLATED, compile_mo, extract, po_path
from node.organisation.web.i18n import locale_for
from node.organisation.web.labels import LABELS

PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|\{\w+\}")


def _key(value: object) -> object:
    return tuple(value) if isinstance(value, list | tuple) else value


def _ids(message_id: str | tuple[str, ...]) -> str:
    return message_id if isinstance(message_id, str) else message_id[0]


def test_every_msgid_in_code_and_templates_is_translated_in_french_and_dutch() -> None:
    used = {_ids(m.id): m for m in extract() if m.id}
    assert len(used) > 250  # the extraction really read the templates and the code
    assert "Add a support action" in used and "woman" in used
    for language in TRANSLATED:
        with po_path(language).open("rb") as handle:
            catalog = read_po(handle, locale=language)
        known = {_ids(m.id): m for m in catalog if m.id}
        missing = sorted(set(used) - set(known))
        assert not missing, f"{language}: msgids missing from the catalogue: {missing[:10]}"
        stale = sorted(set(known) - set(used))
        assert not stale, f"{language}: msgids no longer used: {stale[:10]}"
        for key, message in known.items():
            strings = tuple(message.string) if isinstance(message.string, list | tuple) else (
                message.string,)
            assert all(strings), f"{language}: untranslated: {key!r}"
            assert not message.fuzzy, f"{language}: fuzzy: {key!r}"
            for text in strings:
                assert sorted(PLACEHOLDER.findall(text)) == sorted(
                    set(PLACEHOLDER.findall(key))) or "%(num)d" in key, (
                    f"{language}: placeholders differ in {key!r}")


def test_the_shipped_mo_files_are_compiled_from_the_po_files() -> None:
    for language in TRANSLATED:
        path = po_path(language)
        with path.open("rb") as handle:
            catalog = read_po(handle, locale=language)
        with path.with_suffix(".mo").open("rb") as handle:
            shipped = read_mo(handle)
        def pairs(messages: object) -> dict[object, object]:
            return {_key(m.id): _key(m.string) for m in messages if m.id}  # type: ignore[attr-defined]

        assert pairs(shipped) == pairs(catalog), (
            f"{path.with_suffix('.mo')} is stale: run python -m node.organisation.web.catalogues")
        assert compile_mo(catalog)


def test_every_code_has_a_label() -> None:
    expected = {"gender": GENDERS, "education_level": EDUCATION, "target_group": TARGET_GROUPS,
                "region": REGIONS, "role": ROLES, "contract_type": CONTRACT_TYPES,
                "assessor": ASSESSORS, "context": ASSESSMENT_CONTEXTS,
                "goal_domain": GOAL_DOMAINS, "goal_status": GOAL_STATUSES,
                "support_action": tuple(FED_SUPPORT_ACTIONS),
                "competence": tuple(FED_COMPETENCES),
                "self_evaluation": tuple(SELF_EVALUATION_ITEMS), "destination": DESTINATIONS}
    for kind, codes in expected.items():
        assert set(LABELS[kind]) == set(codes), kind
    from node.organisation.audit_log import ACCESS_ACTIONS, ACTIONS
    from node.organisation.web.routes_manage import ACTION_LABELS

    assert set(ACTION_LABELS) == {*ACCESS_ACTIONS, *ACTIONS}


def test_dates_and_numbers_follow_the_users_locale() -> None:
    fr, nl, en = locale_for("fr"), locale_for("nl"), locale_for("en")
    assert fr.date("2025-12-31") == nl.date("2025-12-31") == "31/12/2025"
    assert fr.number(12.5) == "12,5" and nl.number(12.5) == "12,5" and en.number(12.5) == "12.5"
    assert fr.number(1195.0, 0).replace("\u202f", " ") == "1 195"
    assert nl.number(1195.0, 0) == "1.195"
    assert fr.gettext("Add a person") == "Ajouter une personne"
    assert nl.gettext("Add a person") == "Een persoon toevoegen"
