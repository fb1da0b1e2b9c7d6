"""French, Dutch and English for every text a person reads: one gettext machinery, many domains.

Every human text in koepel is an English msgid, translated through a gettext *domain*: the web
app (``web``), the command line (``cli``), the reports (``reports``), the federation's codes
(``labels``) … Each domain keeps its own ``.po``/``.mo`` files beside the code that uses it, so
that two people translating two parts never edit one file. This package holds what they share:
the languages, the Belgian locale formats (31/12/2025, 12,5 h), how the language is chosen
(``--lang``, then ``KOEPEL_LANG``, then the system locale), and the catalogue tooling
(``python -m i18n.catalogues DOMAIN`` extracts, merges and compiles).

It imports no other koepel package, so node/, aggregator/ and cli/ may all use it.
"""

from i18n.domains import DOMAINS, Domain
from i18n.locale import LANGUAGES, LOCALES, N_, Locale, choose_language, locale_for

__all__ = ["DOMAINS", "LANGUAGES", "LOCALES", "N_", "Domain", "Locale", "choose_language",
           "locale_for"]
