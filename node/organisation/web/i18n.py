"""French, Dutch and English: gettext catalogues compiled in the package, and locale formats.

Every human text of the web app is a msgid in English, translated through
``translations/<lang>/LC_MESSAGES/messages.mo`` (compiled from the ``.po`` beside it with
Babel; tests/test_web_i18n.py fails on a msgid missing from a catalogue, an untranslated or
fuzzy entry, or a ``.mo`` older than its ``.po``). Dates and numbers follow the user's locale
(Belgian French and Dutch: 31/12/2025, 12,5 h).
"""

from __future__ import annotations

import gettext
from datetime import date
from functools import cache
from pathlib import Path

from babel.core import Locale as BabelLocale
from babel.dates import format_date
from babel.numbers import format_decimal, format_percent

__all__ = ["LANGUAGES", "LOCALES", "N_", "Locale", "locale_for"]

LANGUAGES = ("fr", "nl", "en")
LOCALES = {"fr": "fr_BE", "nl": "nl_BE", "en": "en_GB"}
_DATE_PATTERN = {"fr": "dd/MM/y", "nl": "dd/MM/y", "en": "dd/MM/y"}
TRANSLATIONS = Path(__file__).parent / "translations"


def N_(message: str) -> str:  # gettext's name for "mark for extraction only"
    """Mark a msgid for the catalogues; it is translated where it is shown."""
    return message


class Locale:
    """One language's catalogue and formats."""

    def __init__(self, language: str) -> None:
        if language not in LANGUAGES:
            language = "en"
        self.language = language
        self.locale = LOCALES[language]
        self._babel = BabelLocale.parse(self.locale)  # parsed once, not on every number
        if language == "en":
            self._t: gettext.NullTranslations = gettext.NullTranslations()
        else:
            with (TRANSLATIONS / language / "LC_MESSAGES" / "messages.mo").open("rb") as f:
                self._t = gettext.GNUTranslations(f)

    def gettext(self, message: str) -> str:
        return self._t.gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self._t.ngettext(singular, plural, n)

    def date(self, value: str | date | None) -> str:
        if value is None or value == "":
            return ""
        when = date.fromisoformat(value) if isinstance(value, str) else value
        return format_date(when, _DATE_PATTERN[self.language], locale=self._babel)

    def number(self, value: float | int, digits: int = 1) -> str:
        pattern = "#,##0" + ("." + "#" * digits if digits else "")
        return format_decimal(value, format=pattern, locale=self._babel)

    def fixed(self, value: float, digits: int = 2) -> str:
        return format_decimal(value, format="#,##0." + "0" * digits, locale=self._babel)

    def percent(self, value: float) -> str:
        return format_percent(value, format="#,##0.0 %", locale=self._babel)


@cache
def locale_for(language: str) -> Locale:
    return Locale(language)
