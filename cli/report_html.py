"""A self-contained HTML report a federation can hand to a policy maker.

One file, no scripts, no fonts or stylesheets from elsewhere: inline CSS and inline SVG charts
(horizontal bars with 95% error bars) generated here. Figures flagged as too uncertain are drawn
hatched and grey and say why; a figure whose quorum was not reached carries a warning; the
last section says which organisations answered, how the figures were protected and how to read
the intervals. Every piece of text is HTML-escaped.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from aggregator import Indicator, NodeOutcome, SectorResult
from cli.render import Display, display_of, fmt, status_name
from privacy import format_micro

__all__ = ["ReportFigure", "render_report", "svg_chart"]

_WIDTH = 720
_LABEL = 190
_RIGHT = 150
_ROW = 26
_TOP = 10
_AXIS = 28


@dataclass(frozen=True)
class ReportFigure:
    indicator: Indicator
    result: SectorResult


def _nice_step(span: float) -> float:
    raw = span / 5 if span > 0 else 1.0
    power = 10 ** math.floor(math.log10(raw))
    for multiple in (1, 2, 2.5, 5, 10):
        if raw <= multiple * power:
            return multiple * power
    return 10 * power


def _axis(result: SectorResult, display: Display) -> tuple[float, float, float]:
    values = [v * display.factor for c in result.cells
              for v in (c.estimate, c.ci_lower, c.ci_upper) if math.isfinite(v)]
    low = min([0.0, *values])
    high = max([0.0, *values])
    if high == low:
        high = low + 1.0
    step = _nice_step(high - low)
    return math.floor(low / step) * step, math.ceil(high / step) * step, step


def svg_chart(result: SectorResult, *, title: str) -> str:
    """Horizontal bars from 0 to the estimate, whiskers over the 95% interval."""
    display = display_of(result.spec)
    low, high, step = _axis(result, display)
    plot = _WIDTH - _LABEL - _RIGHT
    height = _TOP + _ROW * max(1, len(result.cells)) + _AXIS

    def x(value: float) -> float:
        return _LABEL + (value - low) / (high - low) * plot

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_WIDTH} {height}" '
        f'width="100%" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        '<defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)"><rect width="6" height="6" fill="#e5e7eb"/>'
        '<line x1="0" y1="0" x2="0" y2="6" stroke="#9ca3af" stroke-width="2"/></pattern>'
        "</defs>",
    ]
    bottom = _TOP + _ROW * max(1, len(result.cells))
    tick = low
    while tick <= high + step / 2:
        tx = x(tick)
        parts.append(f'<line x1="{tx:.1f}" y1="{_TOP}" x2="{tx:.1f}" y2="{bottom}" '
                     'stroke="#e5e7eb"/>')
        label = fmt(tick / display.factor, Display(display.factor, 0 if step >= 1 else 2,
                                                   display.unit.strip()))
        parts.append(f'<text x="{tx:.1f}" y="{bottom + 16}" font-size="11" '
                     f'text-anchor="middle" fill="#4b5563">{escape(label)}</text>')
        tick += step
    zero = x(0.0)
    parts.append(f'<line x1="{zero:.1f}" y1="{_TOP}" x2="{zero:.1f}" y2="{bottom}" '
                 'stroke="#6b7280"/>')
    for row, cell in enumerate(result.cells):
        y = _TOP + row * _ROW
        mid = y + _ROW / 2
        name = " · ".join(cell.key) or "all"
        parts.append(f'<text x="{_LABEL - 8}" y="{mid + 4:.1f}" font-size="12" '
                     f'text-anchor="end" fill="#111827">{escape(name)}</text>')
        if not math.isfinite(cell.estimate):
            parts.append(f'<text x="{_LABEL + 4}" y="{mid + 4:.1f}" font-size="11" '
                         'fill="#6b7280">no estimate</text>')
            continue
        value = cell.estimate * display.factor
        left, right = sorted((x(0.0), x(value)))
        fill = "#2563eb" if cell.reliable else "url(#hatch)"
        parts.append(f'<rect x="{left:.1f}" y="{y + 6}" width="{max(right - left, 1):.1f}" '
                     f'height="{_ROW - 12}" fill="{fill}" rx="2">'
                     f"<title>{escape(name)}: {escape(fmt(cell.estimate, display))} "
                     f"(95% interval {escape(fmt(cell.ci_lower, display))} to "
                     f"{escape(fmt(cell.ci_upper, display))})</title></rect>")
        if math.isfinite(cell.ci_lower) and math.isfinite(cell.ci_upper):
            lo, hi = x(cell.ci_lower * display.factor), x(cell.ci_upper * display.factor)
            parts.append(f'<line x1="{lo:.1f}" y1="{mid:.1f}" x2="{hi:.1f}" y2="{mid:.1f}" '
                         'stroke="#111827" stroke-width="1.5"/>')
            for end in (lo, hi):
                parts.append(f'<line x1="{end:.1f}" y1="{mid - 6:.1f}" x2="{end:.1f}" '
                             f'y2="{mid + 6:.1f}" stroke="#111827" stroke-width="1.5"/>')
        parts.append(f'<text x="{_WIDTH - _RIGHT + 8}" y="{mid + 4:.1f}" font-size="12" '
                     f'fill="{"#111827" if cell.reliable else "#6b7280"}">'
                     f"{escape(fmt(cell.estimate, display))}"
                     + ("" if cell.reliable else
                        '<tspan font-size="10"> (too uncertain)</tspan>') + "</text>")
    parts.append("</svg>")
    return "".join(parts)


def _table(result: SectorResult) -> str:
    display = display_of(result.spec)
    head = "".join(f"<th>{escape(name)}</th>" for name in (result.group_by or ("total",)))
    rows = []
    for cell in result.cells:
        keys = "".join(f"<td>{escape(k)}</td>" for k in (cell.key or ("all",)))
        status = "yes" if cell.reliable else f"no: {escape(cell.note)}"
        rows.append(f"<tr>{keys}<td class=num>{escape(fmt(cell.estimate, display))}</td>"
                    f"<td class=num>{escape(fmt(cell.ci_lower, display))} – "
                    f"{escape(fmt(cell.ci_upper, display))}</td><td>{status}</td></tr>")
    return (f"<table><thead><tr>{head}<th>estimate</th><th>95% interval</th>"
            f"<th>publishable</th></tr></thead><tbody>{''.join(rows)}</tbody></table>")


def _nodes_note(result: SectorResult) -> str:
    missing = [n for n in result.nodes if n.outcome is not NodeOutcome.ANSWERED]
    text = f"{len(result.answered)} of {len(result.nodes)} organisations answered."
    if missing:
        text += " Not included: " + "; ".join(
            f"{n.node_id} ({status_name(n.outcome)})" for n in missing) + "."
    return escape(text)


def _figure(number: int, figure: ReportFigure) -> str:
    indicator, result = figure.indicator, figure.result
    warning = ""
    if not result.complete:
        warning = ("<p class=warn><strong>Incomplete:</strong> "
                   + escape("; ".join(result.incomplete_reasons))
                   + ". This figure covers only the organisations that answered and is not a "
                     "sector total.</p>")
    width = len(result.group_by) - (1 if result.bin_edges else 0)  # one note per cell, not bin
    notes = {c.key[:width]: c.clamp_note for c in result.cells if c.clamp_note}
    if notes:  # clamping at the measure's bounds moved these figures: say so (issue 17)
        warning += ("<p class=warn><strong>Clamped:</strong> "
                    + "; ".join(escape(" · ".join(k) + ": " + n) for k, n in notes.items())
                    + "</p>")
    return (f'<section class=figure id="{escape(indicator.key)}">'
            f"<h2>{number}. {escape(indicator.title)}</h2>"
            f"<p>{escape(indicator.explanation)}</p>{warning}"
            f"{svg_chart(result, title=indicator.title)}"
            f"<details><summary>Figures</summary>{_table(result)}</details>"
            f"<p class=small>{_nodes_note(result)} Privacy loss ε = "
            f"{escape(format_micro(result.spec.epsilon_micro))} per organisation for this "
            f"figure. Indicator {escape(indicator.domain_ref)} of the sector's list; result "
            f"id {escape(result.result_id)}.</p></section>")


_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;max-width:800px;margin:2em auto;
padding:0 1em;color:#111827;line-height:1.45}
h1{font-size:1.7em;margin-bottom:.2em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid
#e5e7eb;padding-bottom:.2em}.sub{color:#4b5563;margin-top:0}.small{font-size:.85em;
color:#4b5563}.warn{background:#fef3c7;border-left:4px solid #d97706;padding:.5em .8em}
table{border-collapse:collapse;margin:.6em 0;font-size:.9em}th,td{border-bottom:1px solid
#e5e7eb;padding:.25em .6em;text-align:left}td.num{text-align:right;white-space:nowrap}
.legend span{display:inline-block;width:1.2em;height:.8em;margin:0 .3em 0 1em;
vertical-align:middle}summary{cursor:pointer;color:#1d4ed8}
@media print{details{display:block}summary{display:none}}
"""


def render_report(*, title: str, federation: str, period: str, epsilon_micro: int,
                  generated_at: str, figures: Sequence[ReportFigure]) -> str:
    """The whole report as one HTML document."""
    nodes = sorted({n.node_id for f in figures for n in f.result.nodes})
    answered_all = [node for node in nodes
                    if all(node in f.result.answered for f in figures)]
    incomplete = sum(1 for f in figures if not f.result.complete)
    uncertain = sum(1 for f in figures for c in f.result.cells if not c.reliable)
    missing = sum(1 for f in figures for c in f.result.cells if not math.isfinite(c.estimate))
    catalogue = figures[0].result.spec.catalogue_version if figures else ""
    summary = (f"{len(figures)} figures for {escape(period)} from {len(nodes)} organisations "
               f"({len(answered_all)} answered every question). Each organisation spent at "
               f"most ε = {escape(format_micro(epsilon_micro))} of its privacy budget on this "
               "report.")
    if incomplete:
        summary += f" <strong>{incomplete} figure(s) are incomplete</strong> (see the warnings)."
    body = "".join(_figure(i + 1, f) for i, f in enumerate(figures))
    method = (
        "<h2>How these figures were made</h2>"
        "<p>No worker record left any organisation. Each organisation computed its own "
        "figures on its own encrypted records and added random noise before sending them "
        "(differential privacy, with the privacy loss ε stated for every figure). The "
        "federation added up the organisations' noisy figures; averages and shares are ratios "
        "of added-up sums and counts.</p>"
        "<p><strong>The 95% interval</strong> (the black line on each bar) is the range that "
        "contains the true value 95 times out of 100: it is computed from the exact "
        "distribution of the added noise. It only accounts for that noise: the records are a "
        "census of the answering organisations, not a sample. Counts are never shown below "
        "zero and shares never outside 0–100%; where the noise would push an interval past "
        "those limits, it is cut at the limit, which keeps its 95% meaning.</p>"
        '<p class=legend>Bars:<span style="background:#2563eb"></span>precise enough to '
        'publish<span style="background:repeating-linear-gradient(45deg,#e5e7eb 0 3px,'
        '#9ca3af 3px 5px)"></span>too uncertain to publish (somewhere within the 95% '
        "interval the relative standard error would be above 25%, or fewer than 30 people may "
        "be behind an average or a share; the rule looks at the interval, not the noisy "
        "estimate, so that lucky noise does not get a figure published) — shown for "
        "transparency, not for use.</p>"
        "<p>Organisations that did not answer a question (unreachable, too slow, out of "
        "privacy budget, or not yet on this catalogue version) are named under each figure; "
        "nothing is estimated in their place. A figure is marked incomplete when fewer "
        "organisations answered than the federation's quorum.</p>"
    )
    return (
        "<!DOCTYPE html><html lang=en><head><meta charset=utf-8>"
        '<meta name=viewport content="width=device-width,initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>"
        f"<h1>{escape(title)}</h1>"
        f"<p class=sub>{escape(federation)} · reference period {escape(period)} · "
        f"generated {escape(generated_at[:16].replace('T', ' '))} UTC · catalogue "
        f"{escape(catalogue)}</p><p>{summary}</p>"
        f"<p class=small>{uncertain} figure cell(s) are flagged as too uncertain"
        + (f", {missing} of them without any estimate (no answer, or a noisy denominator "
           "that is not positive)" if missing else "") + ".</p>"
        f"{body}{method}</body></html>\n"
    )
