"""One language: a domain's translations and the locale's formats for dates and numbers."""

from __future__ import annotations

import gettext
import os
from datetime import date
from functools import cache, cached_property
from typing import Any

from i18n.domains import DOMAINS, Domain

__all__ = ["LANGUAGES", "LOCALES", "N_", "Locale", "choose_language", "locale_for"]

LANGUAGES = ("fr", "nl", "en")
LOCALES = {"fr": "fr_BE", "nl": "nl_BE", "en": "en_GB"}
_DATE_PATTERN = {"fr": "dd/MM/y", "nl": "dd/MM/y", "en": "dd/MM/y"}


def N_(message: str) -> str:  # gettext's name for "mark for extraction only"
    """Mark a msgid for the catalogues; it is translated where it is shown."""
    return message


def choose_language(explicit: str | None = None) -> str:
    """``--lang``, else ``KOEPEL_LANG``, else the system locale (LC_ALL, LC_MESSAGES, LANG).

    Anything not French or Dutch reads English: a Belgian federation's third language, and the
    language of the msgids, so it never needs a catalogue.
    """
    candidates = [explicit, os.environ.get("KOEPEL_LANG")] + [
        os.environ.get(name) for name in ("LC_ALL", "LC_MESSAGES", "LANG")]
    for candidate in candidates:
        if candidate:
            code = candidate.split(".")[0].split("_")[0].split("-")[0].lower()
            if code in LANGUAGES:
                return code
    return "en"


class Locale:
    """One language's catalogue of one domain, and that language's formats."""

    def __init__(self, language: str, domain: Domain | str = "web") -> None:
        if language not in LANGUAGES:
            language = "en"
        self.language = language
        self.locale = LOCALES[language]
        self.domain = DOMAINS[domain] if isinstance(domain, str) else domain
        if language == "en":
            self._t: gettext.NullTranslations = gettext.NullTranslations()
        else:
            with self.domain.mo_path(language).open("rb") as f:
                self._t = gettext.GNUTranslations(f)

    @cached_property
    def _babel(self) -> Any:
        """Babel's locale, parsed once (parsing it for every number dominated a long page);
        Babel itself loads only when a number or date is first shown, not at start-up."""
        from babel.core import Locale as BabelLocale

        return BabelLocale.parse(self.locale)

    def gettext(self, message: str) -> str:
        return self._t.gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self._t.ngettext(singular, plural, n)

    def date(self, value: str | date | None) -> str:
        if value is None or value == "":
            return ""
        from babel.dates import format_date  # Babel loads when a date is shown, not at start-up

        when = date.fromisoformat(value) if isinstance(value, str) else value
        return format_date(when, _DATE_PATTERN[self.language], locale=self._babel)

    def number(self, value: float | int, digits: int = 1) -> str:
        from babel.numbers import format_decimal

        pattern = "#,##0" + ("." + "#" * digits if digits else "")
        return format_decimal(value, format=pattern, locale=self._babel)

    def fixed(self, value: float, digits: int = 2) -> str:
        from babel.numbers import format_decimal

        return format_decimal(value, format="#,##0." + "0" * digits, locale=self._babel)

    def percent(self, value: float) -> str:
        from babel.numbers import format_percent

        return format_percent(value, format="#,##0.0 %", locale=self._babel)


@cache
def locale_for(language: str, domain: str = "web") -> Locale:
    return Locale(language, domain)
