"""Keeping the gettext catalogues in step with the code: extract, merge, compile.

``python -m node.organisation.web.catalogues`` extracts every msgid from the web app's Python
modules (``_``, ``gettext``, ``ngettext``, ``N_``) and templates (Jinja2's own Babel
extractor), merges them into ``translations/{fr,nl}/LC_MESSAGES/messages.po`` (new msgids come
in untranslated, vanished ones are dropped) and compiles each ``.po`` into its ``.mo``. A
translator then fills the empty entries; tests/test_web_i18n.py fails while any is left.
"""

from __future__ import annotations

import io
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

__all__ = ["compile_mo", "extract", "po_path", "update"]

HERE = Path(__file__).parent
TRANSLATED = ("fr", "nl")
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}
METHODS = [("**.py", "python"), ("templates/**.html", "jinja2.ext:babel_extract")]
OPTIONS = {"templates/**.html": {"extensions": "jinja2.ext.i18n", "trimmed": "true"}}


def extract() -> Catalog:
    """Every msgid the web app uses, with where it is used."""
    catalog = Catalog(project="koepel", domain="messages")
    for filename, lineno, message, comments, _context in extract_from_dir(
            str(HERE), METHODS, keywords=KEYWORDS, options_map=OPTIONS, comment_tags=(),
            strip_comment_tags=True):
        if filename.startswith("catalogues"):
            continue
        catalog.add(message, None, [(filename, lineno)], auto_comments=comments)
    return catalog


def po_path(language: str) -> Path:
    return HERE / "translations" / language / "LC_MESSAGES" / "messages.po"


def compile_mo(catalog: Catalog) -> bytes:
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    return buffer.getvalue()


def update() -> None:
    template = extract()
    for language in TRANSLATED:
        path = po_path(language)
        if path.exists():
            with path.open("rb") as handle:
                catalog = read_po(handle, locale=language)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            catalog = Catalog(locale=language, project="koepel", domain="messages")
        catalog.update(template, no_fuzzy_matching=True)
        catalog.obsolete.clear()
        with path.open("wb") as handle:
            write_po(handle, catalog, width=100, sort_output=True, omit_header=False)
        path.with_suffix(".mo").write_bytes(compile_mo(catalog))


if __name__ == "__main__":
    update()
