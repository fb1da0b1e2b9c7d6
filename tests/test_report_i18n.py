"""The sector report in French and Dutch: every msgid of the ``reports`` domain (the report's
code, the indicators' titles, the node's side-by-side page) is translated in both catalogues,
not fuzzy, with the same placeholders, and compiled into the shipped ``.mo``."""

from __future__ import annotations

import re

from babel.messages.mofile import read_mo

from aggregator.indicators import REPORTS, SECTIONS
from cli.sector_report import text_for
from cli.sector_report.labels import ATTRIBUTES, CODE_LABELS, OUTCOMES
from i18n import DOMAINS
from i18n.catalogues import TRANSLATED, compile_mo, extract, read_catalogue
from privacy import default_catalogue

DOMAIN = DOMAINS["reports"]
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")


def _id(message_id: str | tuple[str, ...]) -> str:
    return message_id if isinstance(message_id, str) else message_id[0]


def _strings(value: object) -> tuple[str, ...]:
    return tuple(value) if isinstance(value, list | tuple) else (str(value),)


def test_every_msgid_in_the_code_is_translated_in_french_and_dutch() -> None:
    used = {_id(m.id): m for m in extract(DOMAIN) if m.id}
    assert len(used) > 150  # the extraction really read the report, the labels, the indicators
    for indicator in REPORTS["sector"]:
        assert indicator.title in used and indicator.explanation in used
    assert set(SECTIONS.values()) <= set(used)
    assert {m for codes in CODE_LABELS.values() for m in codes.values()} <= set(used)
    assert set(OUTCOMES.values()) | set(ATTRIBUTES.values()) <= set(used)
    for language in TRANSLATED:
        known = {_id(m.id): m for m in read_catalogue(DOMAIN, language) if m.id}
        missing = sorted(set(used) - set(known))
        assert not missing, f"{language}: msgids missing from the catalogue: {missing[:10]}"
        stale = sorted(set(known) - set(used))
        assert not stale, f"{language}: msgids no longer used: {stale[:10]}"
        for key, message in known.items():
            strings = _strings(message.string)
            assert all(strings), f"{language}: untranslated: {key!r}"
            assert not message.fuzzy, f"{language}: fuzzy: {key!r}"
            ids = _strings(message.id)
            for text in strings:
                assert sorted(set(PLACEHOLDER.findall(text))) == sorted(
                    set(PLACEHOLDER.findall(" ".join(ids)))), (
                    f"{language}: placeholders differ in {key!r}")


def test_the_shipped_mo_files_are_compiled_from_the_po_files() -> None:
    for language in TRANSLATED:
        catalog = read_catalogue(DOMAIN, language)
        with DOMAIN.mo_path(language).open("rb") as handle:
            shipped = read_mo(handle)

        def pairs(messages: object) -> dict[object, object]:
            return {_strings(m.id): _strings(m.string)  # type: ignore[attr-defined]
                    for m in messages if m.id}  # type: ignore[attr-defined]

        assert pairs(shipped) == pairs(catalog), (
            f"{DOMAIN.mo_path(language)} is stale: run python -m i18n.catalogues reports")
        assert compile_mo(catalog)


def test_every_code_of_the_catalogue_has_a_label() -> None:
    catalogue = default_catalogue()
    for dimension in catalogue.dimensions.values():
        assert set(CODE_LABELS[dimension.name]) == set(dimension.cells), dimension.name


def test_numbers_and_words_follow_the_language() -> None:
    fr, nl, en = text_for("fr"), text_for("nl"), text_for("en")
    assert fr("Who we employ") == "Qui nous employons"
    assert nl("Who we employ") == "Wie we tewerkstellen"
    assert en("Who we employ") == "Who we employ"
    assert fr.label("target_group", "TG_DISADV") == "travailleurs défavorisés"
    assert nl.label("target_group", "TG_DISADV") == "kansengroep"
    assert fr.fixed(1195.25, 1).replace("\u202f", " ") == "1 195,2"  # half to even
    assert nl.fixed(1195.25, 1) == "1.195,2" and en.fixed(1195.25, 1) == "1,195.2"
    assert fr.epsilon(750_000) == "0,75" and en.epsilon(3_000_000) == "3"
    assert fr.timestamp("2026-01-15T10:00:00+00:00") == "15/01/2026 10:00 UTC"
    assert fr.ngettext("%(n)s figure for %(period)s.", "%(n)s figures for %(period)s.", 2,
                       period="2025") == "2 chiffres pour 2025."
