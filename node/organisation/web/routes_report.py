"""The organisation's report in the browser, and its printable page, in the user's language.

The figures are the ones `koepel node report` computes (node/organisation/report.py: exact,
local, the federation's per-person definitions); here each title, unit, cell, note and figure
left out is put in the manager's language through the web app's catalogues, and numbers and
dates in their locale. The printable page is one self-contained HTML page (its stylesheet
inline, allowed by its hash in the Content-Security-Policy, no script, charts as inline SVG),
made to print on A4 with no figure split over two pages, like report_html's for the command
line, which stays in English.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from node.organisation.audit_log import record_access
from node.organisation.report import LocalReport, build_report
from node.organisation.report_html import PRINT_CSS, format_value
from node.organisation.sections import ReportSection
from node.organisation.web.app import Page, render
from node.organisation.web.i18n import N_, Locale
from node.organisation.web.labels import LABELS
from privacy import InvalidQueryError

__all__ = ["SECTION_TITLES", "routes", "section_view"]

_PERIOD = re.compile(r"\d{4}(-Q[1-4])?")

SECTION_TITLES = {
    "headcount": N_("People under contract on the last day"),
    "fte": N_("Full-time equivalent over the period"),
    "reached": N_("People with a contract or activity during the period"),
    "exits": N_("People who left, by destination"),
    "support_hours": N_("Hours of support received"),
    "support_hours_per_person": N_("Hours of support per person reached"),
    "competence_progression": N_("Competence progression (people assessed twice)"),
    "plan_coverage": N_("Share of people reached who have a support plan"),
    "plan_review_rate": N_("Share of plans reviewed in the period"),
    "retention_12m": N_("Still under contract 12 months on"),
    "self_evaluation_change": N_("Change in self-evaluation (people who answered twice)"),
    "transition_regular_economy": N_("Share of leavers who left for a regular job"),
    "competence_by_support_kind": N_("Competence progression by kind of support received"),
    "support_hours_by_kind": N_("Hours of support by kind (all hours)"),
    "plan_goals": N_("Goals of the support plans, by domain and status"),
    "exits_by_tenure": N_("People who left, by destination and time with the organisation"),
}
UNITS = {"people": N_("people"), "FTE": N_("FTE"), "hours": N_("hours"),
         "hours per person": N_("hours per person"), "mean change": N_("mean change"),
         "share": N_("share"), "goals": N_("goals")}
EXIT_CELLS = {"REGULAR_JOB": N_("regular job"), "OTHER_SOCIAL_ECONOMY":
              N_("other social-economy job"), "TRAINING": N_("training"),
              "UNEMPLOYMENT": N_("unemployment"), "RETIREMENT": N_("retirement"),
              "ILLNESS": N_("illness"), "OTHER": N_("other")}
TENURE = {"<1y": N_("less than a year"), "1-2y": N_("1 to 2 years"),
          "2-5y": N_("2 to 5 years"), "5-10y": N_("5 to 10 years"),
          "10y+": N_("10 years or more")}
_NO_SUPPORT = "no support action in the period"

# The notes report.py and org_report.py write (English, with figures in them), and the
# sentence shown for each in the user's language; a note not known here is shown as written.
_NOTES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"each person counts for at most (?P<upper>[\d.]+) hours, as in the "
                r"federation's figures; (?P<mean>[\d.]+) hours per person reached"),
     N_("each person counts for at most %(upper)s hours, as in the federation's figures; "
        "%(mean)s hours per person reached")),
    (re.compile(r"each person counts for at most (?P<upper>[\d.]+) (?P<unit>[\w ]+), as in "
                r"the federation's figures"),
     N_("each person counts for at most %(upper)s %(unit)s, as in the federation's figures")),
    (re.compile(r"mean of one value per person in \[(?P<lower>[-\d.]+), (?P<upper>[-\d.]+)\], "
                r"as in the federation's figures"),
     N_("mean of one value per person between %(lower)s and %(upper)s, as in the "
        "federation's figures")),
    (re.compile(r"(?P<mean>[\d.]+) hours per person supported; per kind, the people who "
                r"received it"),
     N_("%(mean)s hours per person supported; per kind, the people who received it")),
    (re.compile(r"per person: last minus first score per competence assessed twice in the "
                r"period"),
     N_("per person: last minus first score per competence assessed twice in the period, "
        "averaged (scores from 0 to 1); a person who received several kinds counts under "
        "each. An association, not an effect: people get the support their situation calls "
        "for")),
    (re.compile(r"persons: people with a plan active in the period"),
     N_("people: those with a plan active in the period")),
    (re.compile(r"tenure: from the person's first contract start"),
     N_("time with the organisation: from the start of the person's first contract to the "
        "exit date")),
)


def _cell_label(locale: Locale, cell: str) -> str:
    code = cell.split(" ", 1)[0]  # "SA02 individual coaching conversation": by its code
    if " " in cell and code in LABELS["support_action"]:
        return locale.gettext(LABELS["support_action"][code])
    parts = []
    for part in cell.split("/"):
        text = EXIT_CELLS.get(part) or TENURE.get(part)
        for kind in ("target_group", "support_action", "goal_domain", "goal_status"):
            text = text or LABELS[kind].get(part)
        if part == "all":
            text = N_("all")
        elif part == _NO_SUPPORT:
            text = N_("no support action in the period")
        parts.append(locale.gettext(text) if text else part)
    return " / ".join(parts)


def _note(locale: Locale, section: ReportSection) -> str:
    for pattern, text in _NOTES:
        found = pattern.search(section.note)
        if found:
            values = {k: locale.number(float(v), 1) if k in ("mean", "upper", "lower") else
                      locale.gettext(UNITS.get(v, v)) for k, v in found.groupdict().items()}
            return locale.gettext(text) % values
    return section.note


def section_view(locale: Locale, section: ReportSection) -> dict[str, Any]:
    """One figure of the report as the templates show it (chart geometry included)."""
    values = [v for _, v in section.rows]
    low = 0.0 if section.unit == "share" else min(0.0, *values) if values else 0.0
    high = 1.0 if section.unit == "share" else max(0.0, *values) if values else 0.0
    span = (high - low) or 1.0
    rows = []
    for i, (cell, value) in enumerate(section.rows):
        empty = section.empty(i)
        rows.append({
            "label": _cell_label(locale, cell),
            "shown": "—" if empty else format_value(locale, section, value),
            "x": round(240 + 300 * (min(value, 0.0) - low) / span, 1),
            "width": round(max(0.5, 300 * abs(value) / span), 1),
            "negative": value < 0,
            "persons": section.row_persons[i] if section.row_persons else None,
        })
    return {"name": section.name,
            "title": locale.gettext(SECTION_TITLES.get(section.name, section.title)),
            "unit": locale.gettext(UNITS.get(section.unit, section.unit)),
            "rows": rows, "total": format_value(locale, section, section.total),
            "persons": section.persons, "has_persons": bool(section.row_persons),
            "zero": round(240 + 300 * (0.0 - low) / span, 1),
            "height": 22 * len(rows) + 8, "note": _note(locale, section)}


def _skipped(locale: Locale, report: LocalReport) -> list[str]:
    """The figures left out, by their title in the user's language (the reason: the catalogue
    has no such measure, or the figure has no meaning for this period)."""
    out = []
    for entry in report.skipped:
        name, _, reason = entry.partition(": ")
        title = locale.gettext(SECTION_TITLES.get(name, name))
        why = (N_("the catalogue %(version)s has no such measure") if "has no measure" in reason
               else N_("it cannot be computed for this period"))
        out.append(locale.gettext(N_("%(figure)s: not shown, %(reason)s")) % {
            "figure": title,
            "reason": locale.gettext(why) % {"version": report.catalogue_version}})
    return out


def _period(request: Request, page: Page) -> str:
    period = request.query_params.get("period", "")
    return period if _PERIOD.fullmatch(period) else str(page.settings.today().year - 1)


def _report(request: Request, page: Page, *, printable: bool) -> LocalReport | None:
    settings = page.settings
    period = _period(request, page)
    try:
        report = build_report(settings.engine, settings.config.catalogue,
                              node_id=settings.config.node_id,
                              organisation=settings.config.organisation, period=period,
                              store=settings.store)
    except InvalidQueryError:
        return None
    detail: dict[str, Any] = {"via": "web", "period": period}
    if printable:
        detail["printable"] = True
    record_access(settings.store, actor=page.user, action="report_view", subject="*",
                  detail=detail)
    return report


async def report_page(request: Request, page: Page) -> Response:
    report = _report(request, page, printable=False)
    if report is None:
        return render(page, "error.html", {"status": 400, "message": "period"}, status=400)
    sections = [section_view(page.locale, s) for s in report.sections]
    return render(page, "report.html", {"period": report.period, "sections": sections,
                                        "catalogue": report.catalogue_version,
                                        "skipped": _skipped(page.locale, report)})


_CSS_HASH = base64.b64encode(hashlib.sha256(PRINT_CSS.encode()).digest()).decode()


async def report_print(request: Request, page: Page) -> Response:
    """The printable page, in the user's language."""
    report = _report(request, page, printable=True)
    if report is None:
        return render(page, "error.html", {"status": 400, "message": "period"}, status=400)
    now = page.settings.today()
    response = render(page, "report_print.html", {
        "report": report, "css": Markup(PRINT_CSS),  # a constant of this module
        "sections": [section_view(page.locale, s) for s in report.sections],
        "skipped": _skipped(page.locale, report),
        "generated": f"{page.locale.date(now)} "
                     f"{datetime.now(UTC).strftime('%H:%M')} UTC"})
    response.headers["Content-Security-Policy"] = (
        f"default-src 'none'; style-src 'sha256-{_CSS_HASH}'; img-src data:; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
    return response


def routes(guarded: Callable[..., Any]) -> list[Route]:
    return [
        Route("/manage/report", guarded(report_page, role="manager"), methods=["GET"]),
        Route("/manage/report/print", guarded(report_print, role="manager"), methods=["GET"]),
    ]
