"""The aggregator's notes on a cell read French and Dutch in the CLI.

Every template is produced by the real function that writes it (privacy/combine.py,
aggregator/combination.py), so a change of wording there fails here instead of reaching a
French reader in English.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from decimal import Decimal
from types import SimpleNamespace

import pytest

from aggregator.combination import _clamped
from cli import lang
from cli.notes import translate_note
from privacy.combine import Estimate, publishable, ratio_publishable


def _notes() -> list[str]:
    flat = Estimate(math.nan, math.inf)
    notes = [
        publishable(flat)[1],
        publishable(Estimate(1.0, 100.0))[1],
        publishable(Estimate(50.0, 100.0))[1],
        ratio_publishable(Estimate(5.0, 1.0), Estimate(10.0, 1.0), Estimate(0.5, 0.1))[1],
        ratio_publishable(Estimate(1.0, 100.0), Estimate(1000.0, 1.0), Estimate(0.001, 1.0))[1],
        ratio_publishable(Estimate(100.0, 400.0), Estimate(1000.0, 1.0), Estimate(0.1, 1.0))[1],
        ratio_publishable(Estimate(5.0, 1.0), Estimate(-5.0, 1.0), flat)[1],
    ]
    assert ratio_publishable(flat, flat, flat)[1] == notes[0]
    query = SimpleNamespace(measure=SimpleNamespace(lower=Decimal(0), upper=Decimal(150)))
    for denominator in (None, Estimate(100.0, 1.0)):
        notes.append(_clamped(query, Estimate(40.0, 4.0), denominator).note)  # type: ignore[arg-type]
    return notes


@pytest.fixture
def french() -> Iterator[None]:
    lang.choose("fr")
    yield
    lang.choose(None)


def test_every_note_template_is_known(french: None) -> None:
    notes = _notes()
    assert all(notes) and len(set(notes)) == len(notes)
    untranslated = [note for note in notes if translate_note(note) == note]
    assert not untranslated, untranslated


def test_a_note_keeps_its_figures(french: None) -> None:
    note = publishable(Estimate(50.0, 100.0))[1]
    assert note == ("relative standard error may be above 25% (up to 33% within the 95% "
                    "interval)")
    assert translate_note(note) == ("erreur type relative peut-être supérieure à 25% (jusqu'à "
                                    "33% dans l'intervalle à 95 %)")
    assert translate_note("no estimate: no node answered") == (
        "pas d'estimation : aucun nœud n'a répondu")
    assert translate_note("something new") == "something new"  # shown, if in English
    lang.choose("nl")
    assert translate_note(note).startswith("relatieve standaardfout mogelijk boven 25%")
