"""Keeping the web app's gettext catalogues in step with the code: extract, merge, compile.

``python -m node.organisation.web.catalogues`` is ``python -m i18n.catalogues web``: it
extracts every msgid from the web app's modules and templates, merges them into
``translations/{fr,nl}/LC_MESSAGES/messages.po`` and compiles each ``.po`` into its ``.mo``.
"""

from __future__ import annotations

from pathlib import Path

from babel.messages.catalog import Catalog

from i18n import DOMAINS
from i18n import catalogues as _tooling
from i18n.catalogues import TRANSLATED, compile_mo

__all__ = ["TRANSLATED", "compile_mo", "extract", "po_path", "update"]

WEB = DOMAINS["web"]


def extract() -> Catalog:
    """Every msgid the web app uses, with where it is used."""
    return _tooling.extract(WEB)


def po_path(language: str) -> Path:
    return WEB.po_path(language)


def update() -> None:
    _tooling.update(WEB)


if __name__ == "__main__":
    update()
