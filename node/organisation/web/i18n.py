"""The web app's language: the shared i18n machinery over the web's own gettext domain.

Every human text of the web app is a msgid in English, translated through
``translations/<lang>/LC_MESSAGES/messages.mo`` (compiled from the ``.po`` beside it with
Babel; tests/test_web_i18n.py fails on a msgid missing from a catalogue, an untranslated or
fuzzy entry, or a ``.mo`` older than its ``.po``). Dates and numbers follow the user's locale
(Belgian French and Dutch: 31/12/2025, 12,5 h).
"""

from __future__ import annotations

from functools import cache

from i18n import LANGUAGES, LOCALES, N_, Locale

__all__ = ["LANGUAGES", "LOCALES", "N_", "Locale", "locale_for"]


@cache
def locale_for(language: str) -> Locale:
    return Locale(language, "web")
