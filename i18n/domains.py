"""Where each part of koepel keeps its catalogues and where its msgids are read from.

A domain is data, not code: the i18n package never imports the packages it names, it only
knows where their files are (relative to the installed packages, which sit side by side both
in a clone and in site-packages).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["DOMAINS", "Domain"]

_ROOT = Path(__file__).resolve().parent.parent
_PYTHON = ("**.py", "python")
_TEMPLATES = ("templates/**.html", "jinja2.ext:babel_extract")
_TEMPLATE_OPTIONS = {"templates/**.html": {"extensions": "jinja2.ext.i18n", "trimmed": "true"}}


@dataclass(frozen=True)
class Domain:
    """One gettext domain: its name, its ``.po``/``.mo`` folder and its source folders."""

    name: str
    translations: Path
    sources: Sequence[Path]
    methods: Sequence[tuple[str, str]] = (_PYTHON,)
    options: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    # Files under a source folder that are not read for msgids (the tooling itself, tests).
    skip: Sequence[str] = ("catalogues",)

    def po_path(self, language: str) -> Path:
        return self.translations / language / "LC_MESSAGES" / f"{self.name}.po"

    def mo_path(self, language: str) -> Path:
        return self.po_path(language).with_suffix(".mo")


_WEB = _ROOT / "node" / "organisation" / "web"
_CLI = _ROOT / "cli"
# The CLI's msgids: the ``_``/``N_`` calls, and the docstrings click shows as commands' help.
_CLI_PYTHON = ("**.py", "cli.help_texts:extract")
_REPORTS = _ROOT / "cli" / "sector_report"

DOMAINS: Mapping[str, Domain] = {
    # The web app keeps its historical domain name "messages" and folder.
    "web": Domain("messages", _WEB / "translations", (_WEB,), (_PYTHON, _TEMPLATES),
                  _TEMPLATE_OPTIONS),
    # The sector report's modules are the "reports" domain's (another part of #14).
    "cli": Domain("cli", _CLI / "translations", (_CLI,), (_CLI_PYTHON,),
                  skip=("report_cmds.py", "report_html.py", "render_federation.py",
                        "sector_report")),
    # The sector report (`koepel report`) and each organisation beside its sector (the node's
    # organisation report): the indicators' titles (aggregator/indicators.py marks them N_),
    # the report's text, and the node's side-by-side figures.
    "reports": Domain("reports", _REPORTS / "translations",
                      (_ROOT / "aggregator", _REPORTS, _ROOT / "node" / "organisation" / "sector"),
                      skip=("catalogues", "translations")),
}
