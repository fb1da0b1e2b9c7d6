"""Keeping a domain's gettext catalogues in step with its code: extract, merge, compile.

``python -m i18n.catalogues DOMAIN`` extracts every msgid from the domain's Python modules
(``_``, ``gettext``, ``ngettext``, ``N_``) and templates (Jinja2's Babel extractor), merges them
into ``<translations>/{fr,nl}/LC_MESSAGES/<name>.po`` (new msgids come in untranslated,
vanished ones are dropped) and compiles each ``.po`` into its ``.mo``. A translator then fills
the empty entries; the domain's i18n test fails while any is left.
"""

from __future__ import annotations

import io
import sys

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

from i18n.domains import DOMAINS, Domain

__all__ = ["KEYWORDS", "TRANSLATED", "compile_mo", "extract", "read_catalogue", "update"]

TRANSLATED = ("fr", "nl")
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}


def extract(domain: Domain) -> Catalog:
    """Every msgid the domain's code and templates use, with where each is used."""
    catalog = Catalog(project="koepel", domain=domain.name)
    options = {pattern: dict(values) for pattern, values in domain.options.items()}
    for source in domain.sources:
        for filename, lineno, message, comments, _context in extract_from_dir(
                str(source), domain.methods, keywords=KEYWORDS, options_map=options,
                comment_tags=(), strip_comment_tags=True):
            if any(filename.startswith(skip) for skip in domain.skip):
                continue
            catalog.add(message, None, [(filename, lineno)], auto_comments=comments)
    return catalog


def read_catalogue(domain: Domain, language: str) -> Catalog:
    with domain.po_path(language).open("rb") as handle:
        return read_po(handle, locale=language)


def compile_mo(catalog: Catalog) -> bytes:
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    return buffer.getvalue()


def update(domain: Domain) -> None:
    template = extract(domain)
    for language in TRANSLATED:
        path = domain.po_path(language)
        if path.exists():
            catalog = read_catalogue(domain, language)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            catalog = Catalog(locale=language, project="koepel", domain=domain.name)
        catalog.update(template, no_fuzzy_matching=True)
        catalog.obsolete.clear()
        with path.open("wb") as handle:
            write_po(handle, catalog, width=100, sort_output=True, omit_header=False)
        path.with_suffix(".mo").write_bytes(compile_mo(catalog))


def main(argv: list[str]) -> int:
    names = argv or sorted(DOMAINS)
    unknown = [name for name in names if name not in DOMAINS]
    if unknown:
        print(f"unknown domain(s) {', '.join(unknown)}; known: {', '.join(sorted(DOMAINS))}",
              file=sys.stderr)
        return 2
    for name in names:
        update(DOMAINS[name])
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
