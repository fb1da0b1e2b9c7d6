"""The side-by-side figures as HTML: a section the organisation's printable report includes.

Per published figure, a table — the organisation's exact figure, the sector's estimate and its
95% interval — and a small chart per cell: the sector's interval as a grey band, its estimate
as a blue tick, the organisation as a dark dot. Text in the reader's language (gettext domain
``reports``), numbers in the locale's format, everything escaped, no script.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

from i18n import Locale, locale_for
from node.organisation.sector.beside import BesideCell, BesideFigure
from node.organisation.sector.labels import MEASURE_TITLES, STATISTIC_NAMES, label_of

__all__ = ["beside_html"]

_SHARE_MEASURES = {"exited_to_regular_job", "plan_coverage", "plan_reviewed", "retention_12m"}


def _value(locale: Locale, figure: BesideFigure, value: float) -> str:
    if not math.isfinite(value):
        return "–"
    p = figure.published
    if p.statistic == "mean" and p.measure in _SHARE_MEASURES:
        return locale.percent(value)
    if p.statistic in ("count", "histogram"):
        return locale.number(round(value), 0)
    return locale.fixed(value, 2)


def _cell_name(locale: Locale, figure: BesideFigure, key: tuple[str, ...]) -> str:
    names = [code if dimension == "bin" else locale.gettext(label_of(dimension, code))
             for dimension, code in zip(figure.published.group_by, key, strict=False)]
    return " · ".join(names) or locale.gettext("all")


def _bar(cell: BesideCell) -> str:
    """The sector's interval (grey), its estimate (blue) and the organisation (dark dot)."""
    values = [v for v in (cell.own, cell.sector, cell.sector_lower, cell.sector_upper)
              if math.isfinite(v)]
    if not values:
        return ""
    low, high = min(0.0, *values), max(0.0, *values)
    span = (high - low) or 1.0

    def x(value: float) -> float:
        return 4 + (value - low) / span * 152

    parts = ['<svg xmlns="http://www.w3.org/2000/svg" width="160" height="16" '
             'viewBox="0 0 160 16" aria-hidden="true">']
    if math.isfinite(cell.sector_lower) and math.isfinite(cell.sector_upper):
        left, right = x(cell.sector_lower), x(cell.sector_upper)
        parts.append(f'<rect x="{left:.1f}" y="4" width="{max(right - left, 1):.1f}" '
                     'height="8" fill="#d1d5db"/>')
    if math.isfinite(cell.sector):
        parts.append(f'<rect x="{x(cell.sector) - 1:.1f}" y="2" width="2" height="12" '
                     'fill="#1d4ed8"/>')
    if math.isfinite(cell.own):
        parts.append(f'<circle cx="{x(cell.own):.1f}" cy="8" r="4" fill="#111827"/>')
    parts.append("</svg>")
    return "".join(parts)


def _figure(locale: Locale, figure: BesideFigure) -> str:
    _ = locale.gettext
    p = figure.published
    title = _(MEASURE_TITLES.get(p.measure, p.measure))
    statistic = _(STATISTIC_NAMES.get(p.statistic, p.statistic))
    out = [f'<section class="beside"><h3>{escape(title)} — {escape(statistic)}</h3>']
    if figure.skipped:
        out.append(f'<p class="note warn">{escape(_(figure.skipped))}</p></section>')
        return "".join(out)
    head = (_("our organisation"), _("sector estimate"), _("sector 95% interval"), "")
    rows = ["<table><thead><tr><th></th>"
            + "".join(f"<th>{escape(h)}</th>" for h in head) + "</tr></thead><tbody>"]
    for cell in figure.cells:
        interval = _("%(low)s to %(high)s") % {
            "low": _value(locale, figure, cell.sector_lower),
            "high": _value(locale, figure, cell.sector_upper)}
        sector = _value(locale, figure, cell.sector) + (
            "" if cell.sector_reliable else " (" + _("too uncertain") + ")")
        rows.append(f"<tr><td>{escape(_cell_name(locale, figure, cell.key))}</td>"
                    f'<td class="n">{escape(_value(locale, figure, cell.own))}</td>'
                    f'<td class="n">{escape(sector)}</td><td class="n">{escape(interval)}</td>'
                    f"<td>{_bar(cell)}</td></tr>")
    rows.append("</tbody></table>")
    source = _("Sector result %(id)s of %(federation)s, catalogue %(version)s: "
               "%(answered)s of %(registered)s organisations answered.") % {
        "id": p.result_id, "federation": p.federation or "–", "version": p.catalogue_version,
        "answered": p.answered, "registered": p.registered}
    out.extend(rows)
    out.append(f'<p class="note">{escape(source)}</p></section>')
    return "".join(out)


def beside_html(figures: Sequence[BesideFigure], language: str) -> str:
    """The "beside the sector" part of the organisation's report ("" with nothing published)."""
    if not figures:
        return ""
    locale = locale_for(language, "reports")
    _ = locale.gettext
    intro = _("Your organisation's exact figures beside the sector's, as the federation "
              "published them. Your figures are computed here, with the same definitions; "
              "nothing about your organisation left this computer for this comparison. The "
              "sector's figures carry the noise of differential privacy: the grey band is "
              "their 95% interval, the blue tick their estimate, the dark dot your "
              "organisation.")
    heading = _("Beside the sector")
    return (f'<section class="beside-sector" lang="{locale.language}">'
            f"<h2>{escape(heading)}</h2>"
            f'<p class="note">{escape(intro)}</p>'
            + "".join(_figure(locale, f) for f in figures) + "</section>")
