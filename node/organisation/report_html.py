"""The manager's report as one self-contained, printable HTML page with inline SVG charts.

No script, no web font, no stylesheet or image from elsewhere: the file opens the same on a
machine without network, prints on A4 (one figure never split over two pages), and holds
nothing but the figures of the report. Every text is HTML-escaped, so a label can never become
markup.
"""

from __future__ import annotations

from html import escape

from i18n import Locale, choose_language, locale_for
from node.organisation.report import LocalReport
from node.organisation.sections import ReportSection
from node.organisation.sector import beside_html
from node.organisation.sector.labels import (
    CODE_LABELS,
    PAGE_TEXT,
    SECTION_TITLES,
    UNITS,
    label_of,
)

__all__ = ["PRINT_CSS", "format_value", "render_html"]

_CSS = """
body { font-family: "DejaVu Sans", Arial, sans-serif; color: #1b1b1b; margin: 2em auto;
       max-width: 58em; line-height: 1.35; }
h1 { font-size: 1.5em; margin-bottom: 0.1em; }
h2 { font-size: 1.1em; margin: 0 0 0.3em 0; }
p.meta { color: #555; margin-top: 0; }
section { break-inside: avoid; page-break-inside: avoid; margin: 1.4em 0;
          border-top: 1px solid #ccc; padding-top: 0.8em; }
table { border-collapse: collapse; margin: 0.4em 0; font-size: 0.9em; }
th, td { padding: 0.15em 0.8em 0.15em 0; text-align: left; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
tr.total td { font-weight: bold; border-top: 1px solid #999; }
p.note { color: #555; font-size: 0.85em; margin: 0.2em 0; }
section.beside-sector section { border-top: none; margin: 0.8em 0; padding-top: 0; }
.warn { color: #8a4b00; }
@media print { body { margin: 0; max-width: none; } a { color: inherit; } }
@page { size: A4; margin: 15mm; }
"""

PRINT_CSS = _CSS  # the web app's printable report (in the user's language) uses it too

_BAR = "#3b6ea5"
_NEGATIVE = "#b5533c"


def format_value(locale: Locale, section: ReportSection, value: float) -> str:
    """A figure as the reader's locale writes it: shares in %, changes signed, counts whole."""
    if section.unit == "share":
        return locale.percent(value)
    if section.unit == "mean change":
        return ("+" if value > 0 else "") + locale.fixed(value, 3)
    if section.unit in ("people", "goals"):
        return locale.number(value, 0)
    return locale.number(value, 1)


def _label(locale: Locale, section: ReportSection, label: str) -> str:
    """A row's name: the catalogue code's label; the organisation's own rows as they are."""
    if section.dimension is not None and section.dimension in CODE_LABELS:
        return locale.gettext(label_of(section.dimension, label))
    return locale.gettext(PAGE_TEXT["all"]) if label == "all" else label


def _chart(locale: Locale, section: ReportSection) -> str:
    """A horizontal bar per row; bars grow from zero (left for negative values)."""
    rows = section.rows
    if not rows:
        return ""
    label_w, bar_w, value_w, row_h = 250, 330, 90, 22
    width, height = label_w + bar_w + value_w, row_h * len(rows) + 8
    values = [v for _, v in rows]
    low, high = min(0.0, *values), max(0.0, *values)
    if section.unit == "share":
        low, high = 0.0, 1.0
    span = (high - low) or 1.0
    zero = label_w + bar_w * (0.0 - low) / span
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" '
             'font-family="DejaVu Sans, Arial, sans-serif" '
             f'aria-label="{escape(_title(locale, section))}">']
    for i, (label, value) in enumerate(rows):
        y = 4 + i * row_h
        x0 = label_w + bar_w * (min(value, 0.0) - low) / span
        w = bar_w * abs(value) / span
        colour = _NEGATIVE if value < 0 else _BAR
        label = _label(locale, section, label)
        text = escape(label if len(label) <= 34 else label[:33] + "…")
        parts.append(f'<text x="{label_w - 6}" y="{y + 15}" font-size="12" '
                     f'text-anchor="end">{text}</text>')
        parts.append(f'<rect x="{x0:.1f}" y="{y + 3}" width="{max(w, 0.5):.1f}" '
                     f'height="{row_h - 8}" fill="{colour}"/>')
        shown = "—" if section.empty(i) else format_value(locale, section, value)
        parts.append(f'<text x="{label_w + bar_w + 6}" y="{y + 15}" font-size="12">'
                     f'{escape(shown)}</text>')
    parts.append(f'<line x1="{zero:.1f}" y1="2" x2="{zero:.1f}" y2="{height - 2}" '
                 'stroke="#555" stroke-width="1"/>')
    parts.append("</svg>")
    return "".join(parts)


def _title(locale: Locale, section: ReportSection) -> str:
    return locale.gettext(SECTION_TITLES.get(section.name, section.title))


def _table(locale: Locale, section: ReportSection) -> str:
    _ = locale.gettext
    head = ["", escape(_(UNITS.get(section.unit, section.unit)))]
    if section.row_persons:
        head.append(escape(_(PAGE_TEXT["people"])))
    lines = ["<table><thead><tr>" + "".join(f"<th>{h}</th>" for h in head)
             + "</tr></thead><tbody>"]
    persons = section.row_persons or (None,) * len(section.rows)
    for i, ((label, value), n) in enumerate(zip(section.rows, persons, strict=True)):
        extra = f'<td class="n">{locale.number(n, 0)}</td>' if n is not None else ""
        shown = "—" if section.empty(i) else format_value(locale, section, value)
        lines.append(f'<tr><td>{escape(_label(locale, section, label))}</td>'
                     f'<td class="n">{escape(shown)}</td>{extra}</tr>')
    total_label = _(PAGE_TEXT["overall"] if section.row_persons else PAGE_TEXT["total"])
    extra = (f'<td class="n">{locale.number(section.persons, 0)}</td>' if section.row_persons
             else "")
    lines.append(f'<tr class="total"><td>{escape(total_label)}</td><td class="n">'
                 f'{escape(format_value(locale, section, section.total))}</td>{extra}</tr>')
    lines.append("</tbody></table>")
    return "".join(lines)


def render_html(report: LocalReport, *, generated_at: str, language: str | None = None) -> str:
    """The whole page for ``report`` in ``language`` (default: ``KOEPEL_LANG``, then the
    locale). The notes under each figure stay in English (they are built with its numbers)."""
    locale = locale_for(choose_language(language), "reports")
    _ = locale.gettext
    title = _(PAGE_TEXT["title"]) % {
        "organisation": report.organisation, "period": report.period}
    meta = _(PAGE_TEXT["meta"]) % {
        "node": report.node_id, "when": generated_at, "version": report.catalogue_version}
    out = [
        "<!DOCTYPE html>",
        f'<html lang="{locale.language}"><head><meta charset="utf-8">',
        f"<title>{escape(report.organisation)} — {escape(report.period)}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
        f'<p class="meta">{escape(meta)}</p>',
        beside_html(report.beside, locale.language),
    ]
    for section in report.sections:
        out.append("<section>")
        out.append(f"<h2>{escape(_title(locale, section))}</h2>")
        out.append(_chart(locale, section))
        out.append(_table(locale, section))
        if section.note:
            out.append(f'<p class="note" lang="en">{escape(section.note)}</p>')
        out.append("</section>")
    for skipped in report.skipped:
        shown = _(PAGE_TEXT["not_shown"]) % {"what": skipped}
        out.append(f'<p class="note warn">{escape(shown)}</p>')
    out.append("</body></html>")
    return "\n".join(out) + "\n"
