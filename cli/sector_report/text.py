"""The report's words and numbers in the reader's language (gettext domain ``reports``).

Every sentence is an English msgid translated through :class:`Text`, with ``%(name)s``
placeholders filled after translation, so a translator may move them. Numbers follow the
locale (12,5 % in French, 12,5% in Dutch, 12.5% in English; 1 195 / 1.195 / 1,195) and so do
dates (31/12/2025). The codes of the catalogue's dimensions and the kinds of organisation are
shown with their labels (``labels``).
"""

from __future__ import annotations

import math
from datetime import datetime
from functools import cache

from babel.dates import format_datetime

from aggregator import SectorResult
from cli.render import Display, display_of
from cli.sector_report.labels import label_of
from cli.sector_report.notes import translate_note
from i18n import Locale, locale_for

__all__ = ["Text", "text_for"]

_PERCENT = {"fr": "\u202f%", "nl": "%", "en": "%"}


class Text:
    """One language's translations of the report and its number formats."""

    def __init__(self, language: str) -> None:
        self.locale: Locale = locale_for(language, "reports")
        self.language = self.locale.language

    def gettext(self, message: str, **values: object) -> str:
        text = self.locale.gettext(message)
        return text % values if values else text

    __call__ = gettext

    def ngettext(self, singular: str, plural: str, n: int, **values: object) -> str:
        return self.locale.ngettext(singular, plural, n) % {"n": self.whole(n), **values}

    def note(self, note: str) -> str:
        """An aggregator's reason (not publishable, quorum) in this language when known."""
        return translate_note(self.locale.gettext, note)

    def whole(self, value: float) -> str:
        return self.locale.number(round(value), 0)

    def fixed(self, value: float, digits: int) -> str:
        if digits == 0:
            return self.whole(value)
        return self.locale.fixed(value, digits)

    def epsilon(self, micro: int) -> str:
        """A privacy loss in ε (kept in micro-ε: exact), e.g. 0,75."""
        return self.locale.number(micro / 1_000_000, 6)

    def value(self, value: float, display: Display) -> str:
        """A figure as the reader's locale writes it; "–" when there is none."""
        if not math.isfinite(value):
            return "–"
        shown = round(value * display.factor, display.digits) + 0.0  # never "-0"
        text = self.fixed(shown if shown else 0.0, display.digits)
        if display.unit.strip() == "%":
            return text + _PERCENT[self.language]
        return text + (display.unit if display.unit else "")

    def figure(self, result: SectorResult, value: float) -> str:
        return self.value(value, display_of(result.spec))

    def interval(self, result: SectorResult, low: float, high: float) -> str:
        return self.gettext("%(low)s to %(high)s", low=self.figure(result, low),
                    high=self.figure(result, high))

    def label(self, dimension: str, code: str) -> str:
        return self.gettext(label_of(dimension, code))

    def cell(self, result: SectorResult, key: tuple[str, ...]) -> str:
        """A cell's name: each code's label (a histogram's bin as it is)."""
        names = []
        for dimension, code in zip(result.group_by, key, strict=False):
            names.append(code if dimension == "bin" else self.label(dimension, code))
        return " · ".join(names) or self.gettext("all")

    def timestamp(self, iso: str) -> str:
        """An ISO 8601 UTC time as 15/01/2026 10:00 UTC."""
        try:
            when = datetime.fromisoformat(iso)
        except ValueError:
            return iso
        return format_datetime(when, "dd/MM/y HH:mm", locale=self.locale.locale) + " UTC"


@cache
def text_for(language: str) -> Text:
    return Text(language)
