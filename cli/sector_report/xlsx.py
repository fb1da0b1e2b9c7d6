"""The report as a workbook (openpyxl): the figures, their splits and trends, and the method.

For people who re-use the figures: one row per cell with the estimate and its 95% interval as
numbers (shares as fractions formatted in %), whether it is publishable and why not, and the
result id to find it again in `koepel history`. Headers are in the reader's language.
"""

from __future__ import annotations

import io
import math

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.worksheet.worksheet import Worksheet

from aggregator import SECTIONS, SectorResult
from cli.render import display_of
from cli.sector_report.labels import ATTRIBUTES
from cli.sector_report.model import SectorReport
from cli.sector_report.text import Text, text_for

__all__ = ["render_xlsx"]


def _number(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _format(result: SectorResult) -> str:
    display = display_of(result.spec)
    if display.unit.strip() == "%":
        return "0.0%"
    return "#,##0" if display.digits == 0 else "#,##0." + "0" * display.digits


def _sheet(book: Workbook, title: str, header: list[str]) -> Worksheet:
    sheet = book.create_sheet(title[:31])
    sheet.append(header)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "A2"
    return sheet


def _row(sheet: Worksheet, _: Text, result: SectorResult, lead: list[str],
         cell_key: tuple[str, ...], estimate: float, low: float, high: float, reliable: bool,
         note: str) -> None:
    status = _("yes") if reliable else _("no: %(why)s", why=_.note(note))
    sheet.append([*lead, _.cell(result, cell_key), _number(estimate), _number(low),
                  _number(high), status, result.result_id])
    number_format = _format(result)
    for cell in sheet[sheet.max_row][len(lead) + 1:len(lead) + 4]:
        cell.number_format = number_format


def render_xlsx(report: SectorReport, language: str) -> bytes:
    _ = text_for(language)
    book = Workbook()
    book.remove(book.active)
    values = [_("estimate"), _("95% interval: from"), _("95% interval: to"),
              _("publishable"), _("result")]
    figures = _sheet(book, _("Figures"), [_("section"), _("figure"), _("cell"),
                                             *values])
    for figure in report.figures:
        lead = [_(SECTIONS.get(figure.indicator.section, "")), _(figure.indicator.title)]
        for c in figure.result.cells:
            _row(figures, _, figure.result, lead, c.key, c.estimate, c.ci_lower,
                 c.ci_upper, c.reliable, c.note)
    if any(f.splits for f in report.figures):
        splits = _sheet(book, _("Splits"), [_("figure"), _("split"), _("group"),
                                               _("cell"), *values])
        for figure in report.figures:
            for split in figure.splits:
                for group in split.groups:
                    lead = [_(figure.indicator.title), _(ATTRIBUTES[split.attribute]),
                            _.label(split.attribute, group.value)]
                    for c in group.result.cells:
                        _row(splits, _, group.result, lead, c.key, c.estimate, c.ci_lower,
                             c.ci_upper, c.reliable, c.note)
    if report.trends:
        trends = _sheet(book, _("Trends"), [_("figure"), _("year"), _("catalogue"),
                                               _("cell"), *values])
        for trend in report.trends:
            for segment in trend.segments:
                for result in segment.points:
                    lead = [_(trend.indicator.title), result.spec.period,
                            result.spec.catalogue_version]
                    for c in result.cells:
                        _row(trends, _, result, lead, c.key, c.estimate, c.ci_lower,
                             c.ci_upper, c.reliable, c.note)
    who = _sheet(book, _("Organisations"), [_("organisation"), _("figures answered"),
                                                _("figures asked")])
    for node_id, answered, asked in report.organisations():
        who.append([node_id, answered, asked])
    for sheet in book.worksheets:
        for column in sheet.columns:
            width = max(len(str(c.value or "")) for c in column)
            sheet.column_dimensions[column[0].column_letter].width = min(60, max(10, width + 2))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
