"""Every code a person reads has a French, Dutch and English label (privacy/catalogues/labels.toml).

One labels file serves every shipped catalogue version: each version's measures, dimensions
and dimension cells must be in it, and so must the codes of the organisations' own records
that the person view and the transfer file show.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

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
from privacy import shipped_catalogues
from privacy.catalogue import LABEL_LANGUAGES, catalogue_labels, code_label


def _labelled(kind: str, code: str) -> bool:
    entry = catalogue_labels().get(kind, {}).get(code)
    return entry is not None and all(entry.get(lang) for lang in LABEL_LANGUAGES)


@pytest.mark.parametrize("version", sorted(shipped_catalogues()))
def test_every_measure_dimension_and_cell_of_every_shipped_version_is_labelled(
        version: str) -> None:
    catalogue = shipped_catalogues()[version]
    missing = [f"measure {m}" for m in catalogue.measures if not _labelled("measure", m)]
    missing += [f"dimension {d}" for d in catalogue.dimensions if not _labelled("dimension", d)]
    missing += [f"{name} {cell}" for name, dimension in catalogue.dimensions.items()
                for cell in dimension.cells if not _labelled(name, cell)]
    assert not missing, f"catalogue {version}: no fr/nl/en label for {missing}"


def test_every_record_code_is_labelled() -> None:
    kinds = {"gender": GENDERS, "education_level": EDUCATION, "target_group": TARGET_GROUPS,
             "region": REGIONS, "role": ROLES, "contract_type": CONTRACT_TYPES,
             "assessor": ASSESSORS, "context": ASSESSMENT_CONTEXTS,
             "goal_domain": GOAL_DOMAINS, "goal_status": GOAL_STATUSES,
             "support_action": tuple(FED_SUPPORT_ACTIONS),
             "competence": tuple(FED_COMPETENCES),
             "self_evaluation": tuple(SELF_EVALUATION_ITEMS), "destination": DESTINATIONS}
    missing = [f"{kind} {code}" for kind, codes in kinds.items() for code in codes
               if not _labelled(kind, code)]
    assert not missing, missing


def test_labels_read_in_each_language_and_fall_back_to_the_code() -> None:
    assert code_label("target_group", "TG_DISADV", "fr") == "travailleur défavorisé"
    assert code_label("target_group", "TG_DISADV", "nl") == "kansengroep"
    assert code_label("target_group", "TG_DISADV", "en") == "disadvantaged"
    assert code_label("target_group", "TG_DISADV", "de") == "disadvantaged"
    assert code_label("target_group", "TG_NEW", "fr") == "TG_NEW"  # shown, not lost
    french = {e["fr"] for codes in catalogue_labels().values() for e in codes.values()}
    dutch = {e["nl"] for codes in catalogue_labels().values() for e in codes.values()}
    assert len(french) > 100 and len(dutch) > 100  # really translated, not copied over
    assert not french & {"disadvantaged", "number of people under contract"}


def test_the_documented_self_evaluation_labels_are_the_catalogues() -> None:
    text = (Path(__file__).resolve().parent.parent / "docs" / "transfer-format.md").read_text()
    rows = re.findall(r"^\| (SE\d\d) \| ([^|]+) \| ([^|]+) \| ([^|]+) \|$", text, re.M)
    assert len(rows) == 8
    for code, en, fr, nl in rows:
        assert [en.strip(), fr.strip(), nl.strip()] == [
            code_label("self_evaluation", code, language) for language in ("en", "fr", "nl")]
