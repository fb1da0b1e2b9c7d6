"""Inline SVG charts that print well on A4: bars with 95% intervals, and trends over years.

Hand-drawn SVG rather than a plotting library: the charts are a handful of rectangles and lines,
need no script and no font download, scale to the page width (a viewBox, ``width=100%``) and
print sharp at any resolution; a library (matplotlib, plotly) would add tens of megabytes or a
JavaScript runtime for that. Figures too uncertain to publish are hatched grey; every bar and
point carries its interval. Every text is escaped.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

from aggregator import SectorResult
from cli.render import Display, display_of
from cli.sector_report.text import Text

__all__ = ["bar_chart", "trend_chart"]

_WIDTH = 720
_LABEL = 230
_RIGHT = 130
_ROW = 24
_TOP = 8
_AXIS = 26
_BLUE = "#1d4ed8"
_COLOURS = ("#1d4ed8", "#b45309", "#047857", "#7c3aed", "#be123c", "#0e7490", "#4d7c0f")
_HATCH = ('<defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" '
          'patternTransform="rotate(45)"><rect width="6" height="6" fill="#e5e7eb"/>'
          '<line x1="0" y1="0" x2="0" y2="6" stroke="#9ca3af" stroke-width="2"/></pattern>'
          "</defs>")


def _nice_step(span: float) -> float:
    raw = span / 5 if span > 0 else 1.0
    power = 10 ** math.floor(math.log10(raw))
    for multiple in (1, 2, 2.5, 5, 10):
        if raw <= multiple * power:
            return multiple * power
    return 10 * power


def _range(values: Sequence[float]) -> tuple[float, float, float]:
    finite = [v for v in values if math.isfinite(v)]
    low, high = min([0.0, *finite]), max([0.0, *finite])
    if high == low:
        high = low + 1.0
    step = _nice_step(high - low)
    return math.floor(low / step) * step, math.ceil(high / step) * step, step


def _ticks(low: float, high: float, step: float) -> list[float]:
    count = round((high - low) / step)
    return [low + i * step for i in range(count + 1)]


def _tick_label(_: Text, value: float, display: Display, step: float) -> str:
    digits = 0 if step * display.factor >= 1 else 2
    return _.value(value / display.factor, Display(display.factor, digits, display.unit))


def bar_chart(result: SectorResult, _: Text, *, title: str) -> str:
    """Horizontal bars from 0 to each cell's estimate, whiskers over its 95% interval."""
    display = display_of(result.spec)
    low, high, step = _range([v * display.factor for c in result.cells
                              for v in (c.estimate, c.ci_lower, c.ci_upper)])
    plot = _WIDTH - _LABEL - _RIGHT
    rows = max(1, len(result.cells))
    bottom = _TOP + _ROW * rows
    height = bottom + _AXIS

    def x(value: float) -> float:
        return _LABEL + (value - low) / (high - low) * plot

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_WIDTH} {height}" '
             f'width="100%" role="img" aria-label="{escape(title)}" '
             'font-family="DejaVu Sans, Arial, sans-serif">',
             f"<title>{escape(title)}</title>", _HATCH]
    for tick in _ticks(low, high, step):
        tx = x(tick)
        parts.append(f'<line x1="{tx:.1f}" y1="{_TOP}" x2="{tx:.1f}" y2="{bottom}" '
                     'stroke="#e5e7eb"/>')
        parts.append(f'<text x="{tx:.1f}" y="{bottom + 16}" font-size="11" '
                     f'text-anchor="middle" fill="#4b5563">'
                     f"{escape(_tick_label(_, tick, display, step))}</text>")
    parts.append(f'<line x1="{x(0.0):.1f}" y1="{_TOP}" x2="{x(0.0):.1f}" y2="{bottom}" '
                 'stroke="#6b7280"/>')
    for row, cell in enumerate(result.cells):
        y = _TOP + row * _ROW
        mid = y + _ROW / 2
        name = _.cell(result, cell.key)
        short = name if len(name) <= 32 else name[:31] + "…"  # fits the label column
        parts.append(f'<text x="{_LABEL - 8}" y="{mid + 4:.1f}" font-size="12" '
                     f'text-anchor="end" fill="#111827">{escape(short)}</text>')
        if not math.isfinite(cell.estimate):
            none = escape(_("no estimate"))
            parts.append(f'<text x="{_LABEL + 4}" y="{mid + 4:.1f}" font-size="11" '
                         f'fill="#6b7280">{none}</text>')
            continue
        value = cell.estimate * display.factor
        left, right = sorted((x(0.0), x(value)))
        fill = _BLUE if cell.reliable else "url(#hatch)"
        interval = _("95%% interval %(interval)s",
                     interval=_.interval(result, cell.ci_lower, cell.ci_upper))
        parts.append(f'<rect x="{left:.1f}" y="{y + 6}" width="{max(right - left, 1):.1f}" '
                     f'height="{_ROW - 12}" fill="{fill}" rx="2"><title>'
                     f"{escape(name)}: {escape(_.figure(result, cell.estimate))} "
                     f"({escape(interval)})</title></rect>")
        if math.isfinite(cell.ci_lower) and math.isfinite(cell.ci_upper):
            lo, hi = x(cell.ci_lower * display.factor), x(cell.ci_upper * display.factor)
            parts.append(f'<path d="M{lo:.1f} {mid - 5:.1f}v10M{lo:.1f} {mid:.1f}H{hi:.1f}'
                         f'M{hi:.1f} {mid - 5:.1f}v10" stroke="#111827" stroke-width="1.5" '
                         'fill="none"/>')
        uncertain = escape(_("too uncertain"))
        note = "" if cell.reliable else f'<tspan font-size="10"> ({uncertain})</tspan>'
        parts.append(f'<text x="{_WIDTH - _RIGHT + 8}" y="{mid + 4:.1f}" font-size="12" '
                     f'fill="{"#111827" if cell.reliable else "#6b7280"}">'
                     f"{escape(_.figure(result, cell.estimate))}{note}</text>")
    parts.append("</svg>")
    return "".join(parts)


def trend_chart(periods: Sequence[str], segments: Sequence[Sequence[SectorResult]],
                _: Text, *, title: str) -> str:
    """One line per cell over ``periods``, a whisker for each point's 95% interval; a line is
    never drawn across two segments (a change of definition), which a dashed rule marks."""
    points = [r for segment in segments for r in segment]
    if not points:
        return ""
    display = display_of(points[-1].spec)
    keys = list(dict.fromkeys(c.key for r in points for c in r.cells))[:len(_COLOURS)]
    low, high, step = _range([v * display.factor for r in points for c in r.cells
                              for v in (c.ci_lower, c.ci_upper, c.estimate)])
    left, right, top, plot_h = 70, _WIDTH - 20, 10, 200
    legend_h = 18 * math.ceil(len(keys) / 2) if len(keys) > 1 else 0
    height = top + plot_h + 30 + legend_h
    span = max(1, len(periods) - 1)

    def px(period: str) -> float:
        index = periods.index(period)
        return left + 30 + index / span * (right - left - 60) if len(periods) > 1 else (
            (left + right) / 2)

    def py(value: float) -> float:
        return top + plot_h - (value * display.factor - low) / (high - low) * plot_h

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_WIDTH} {height}" '
             f'width="100%" role="img" aria-label="{escape(title)}" '
             'font-family="DejaVu Sans, Arial, sans-serif">', f"<title>{escape(title)}</title>"]
    for tick in _ticks(low, high, step):
        ty = top + plot_h - (tick - low) / (high - low) * plot_h
        parts.append(f'<line x1="{left}" y1="{ty:.1f}" x2="{right}" y2="{ty:.1f}" '
                     'stroke="#e5e7eb"/>')
        parts.append(f'<text x="{left - 6}" y="{ty + 4:.1f}" font-size="11" text-anchor="end" '
                     f'fill="#4b5563">{escape(_tick_label(_, tick, display, step))}</text>')
    for period in periods:
        parts.append(f'<text x="{px(period):.1f}" y="{top + plot_h + 18}" font-size="12" '
                     f'text-anchor="middle" fill="#111827">{escape(period)}</text>')
    changed = escape(_("definition changed: the series is not joined"))
    for boundary in segments[1:]:
        if boundary:
            bx = px(boundary[0].spec.period) - 0.5 * (right - left - 60) / span
            parts.append(f'<line x1="{bx:.1f}" y1="{top}" x2="{bx:.1f}" y2="{top + plot_h}" '
                         'stroke="#6b7280" stroke-dasharray="4 3"><title>'
                         f"{changed}</title></line>")
    for index, key in enumerate(keys):
        colour = _COLOURS[index]
        for segment in segments:
            line = []
            for result in segment:
                cell = next((c for c in result.cells if c.key == key), None)
                if cell is None or not math.isfinite(cell.estimate):
                    continue
                # Lines side by side by a few pixels, so that their whiskers do not overlap.
                x = px(result.spec.period) + (index - (len(keys) - 1) / 2) * 5
                y = py(cell.estimate)
                line.append(f"{x:.1f},{y:.1f}")
                if math.isfinite(cell.ci_lower) and math.isfinite(cell.ci_upper):
                    parts.append(f'<path d="M{x - 4:.1f} {py(cell.ci_lower):.1f}h8M{x:.1f} '
                                 f'{py(cell.ci_lower):.1f}V{py(cell.ci_upper):.1f}M{x - 4:.1f} '
                                 f'{py(cell.ci_upper):.1f}h8" stroke="{colour}" fill="none"/>')
                fill = colour if cell.reliable else "#ffffff"
                parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{fill}" '
                             f'stroke="{colour}" stroke-width="1.5"><title>'
                             f"{escape(_.cell(result, key))} {escape(result.spec.period)}: "
                             f"{escape(_.figure(result, cell.estimate))} "
                             f"({escape(_.interval(result, cell.ci_lower, cell.ci_upper))})"
                             "</title></circle>")
            if len(line) > 1:
                parts.append(f'<polyline points="{" ".join(line)}" fill="none" '
                             f'stroke="{colour}" stroke-width="2"/>')
        if len(keys) > 1:
            lx = left + (index % 2) * 320
            ly = top + plot_h + 36 + 18 * (index // 2)
            parts.append(f'<rect x="{lx}" y="{ly - 9}" width="12" height="3" fill="{colour}"/>'
                         f'<text x="{lx + 18}" y="{ly - 4}" font-size="11" fill="#111827">'
                         f"{escape(_.cell(points[-1], key)[:48])}</text>")
    parts.append("</svg>")
    return "".join(parts)
