"""The sector report as one self-contained HTML page that prints on A4.

No script, no font, stylesheet or image from elsewhere: inline CSS and inline SVG. Figures come
grouped as the sector thinks of them (``aggregator.indicators.SECTIONS``), each with its chart,
its table of estimates and 95% intervals, who answered and, when asked for, its splits by kind
or region of organisation; then the trends over the years; then the method page: what
differential privacy means for the reader, how to read an interval, which organisations
answered and what could not be published, and why. Every text goes through the reader's
language (``Text``) and is HTML-escaped.
"""

from __future__ import annotations

from dataclasses import replace
from html import escape

from aggregator import SECTIONS, NodeOutcome, SectorResult
from cli.sector_report.charts import bar_chart, trend_chart
from cli.sector_report.labels import ATTRIBUTES, OUTCOMES
from cli.sector_report.model import Figure, SectorReport, Trend
from cli.sector_report.splits import Split
from cli.sector_report.text import Text, text_for
from i18n import N_

__all__ = ["render_html"]

_CSS = """
@page{size:A4;margin:16mm 14mm}
body{font-family:"DejaVu Sans",Arial,sans-serif;max-width:800px;margin:2em auto;padding:0 1em;
color:#111827;line-height:1.45;font-size:14px}
h1{font-size:1.7em;margin-bottom:.2em}h2{font-size:1.35em;margin-top:1.6em;
border-bottom:2px solid #1d4ed8;padding-bottom:.2em}h3{font-size:1.1em;margin:.2em 0}
h4{font-size:1em;margin:.8em 0 .2em}.sub{color:#4b5563;margin-top:0}
.small{font-size:.85em;color:#4b5563}.warn{background:#fef3c7;border-left:4px solid #d97706;
padding:.4em .8em}section.figure{break-inside:avoid;page-break-inside:avoid;margin:1.2em 0;
padding-top:.4em;border-top:1px solid #e5e7eb}table{border-collapse:collapse;margin:.4em 0;
font-size:.9em}th,td{padding:.15em .7em .15em 0;text-align:left;vertical-align:top}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
thead th{border-bottom:1px solid #9ca3af}.method{break-before:page;page-break-before:always}
.legend span{display:inline-block;width:1.1em;height:.8em;margin:0 .3em 0 .8em;
vertical-align:middle}
@media print{body{margin:0;max-width:none;font-size:11pt}a{color:inherit}}
"""

_AXIS_NAMES = {"target_group": N_("target group"), "gender": N_("gender"),
               "age_band": N_("age band"), "education": N_("education"),
               "region": N_("region"), "exit_destination": N_("destination"),
               "bin": N_("band"), "kind": N_("kind of organisation")}


def _axis(_: Text, name: str) -> str:
    return _(_AXIS_NAMES.get(name, name))


def _e(text: str) -> str:
    return escape(text)


def _details(_: Text, table: str, *, open_: bool = False) -> str:
    summary = _("Figures")
    return (f"<details{' open' if open_ else ''}><summary>{_e(summary)}</summary>{table}"
            "</details>")


def _th(*names: str) -> str:
    return "".join(f"<th>{escape(n)}</th>" for n in names)


def _status(_: Text, reliable: bool, note: str) -> str:
    return _("yes") if reliable else _("no: %(why)s", why=_.note(note))


def _table(result: SectorResult, _: Text) -> str:
    head = _th(*(_axis(_, d) for d in result.group_by)) or _th(_("figure"))
    rows = []
    for cell in result.cells:
        rows.append(f"<tr><td>{_e(_.cell(result, cell.key))}</td>"
                    f"<td class=num>{_e(_.figure(result, cell.estimate))}</td>"
                    f"<td class=num>{_e(_.interval(result, cell.ci_lower, cell.ci_upper))}"
                    f"</td><td>{_e(_status(_, cell.reliable, cell.note))}</td></tr>")
    names = {0.25: _("first quartile"), 0.5: _("median"), 0.75: _("third quartile")}
    for q in result.quantiles:
        interval = _("%(low)s to %(high)s", low=_.fixed(q.ci_lower, 1),
                     high=_.fixed(q.ci_upper, 1))
        rows.append(f"<tr><td>{_e(names.get(q.probability, f'p{q.probability:g}'))}</td>"
                    f"<td class=num>{_e(_.fixed(q.estimate, 1))}</td>"
                    f"<td class=num>{_e(interval)}</td><td></td></tr>")
    head += _th(_("estimate"), _("95% interval"), _("publishable"))
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _nodes_note(result: SectorResult, _: Text) -> str:
    missing = [n for n in result.nodes if n.outcome is not NodeOutcome.ANSWERED]
    line = _.ngettext("%(n)s of %(total)s organisations answered.",
                      "%(n)s of %(total)s organisations answered.", len(result.answered),
                      total=_.whole(len(result.nodes)))
    if missing:
        line += " " + _("Not included: %(names)s.", names="; ".join(
            f"{n.node_id} ({_(OUTCOMES[n.outcome])})" for n in missing))
    return _e(line)


def _split(figure: Figure, split: Split, _: Text) -> str:
    title = _("By %(attribute)s", attribute=_(ATTRIBUTES[split.attribute]))
    if split.refused:
        return f"<h4>{_e(title)}</h4><p class=small>{_e(_(split.refused))}</p>"
    out = [f"<h4>{_e(title)}</h4>"]
    if len(figure.result.cells) == 1:  # one bar per group
        cells = tuple(replace(g.result.cells[0], key=(g.value,)) for g in split.groups
                      if g.result.cells)
        chart = replace(figure.result, group_by=(split.attribute,), cells=cells, quantiles=())
        out.append(bar_chart(chart, _, title=title))
    rows = []
    for group in split.groups:
        for cell in group.result.cells:
            where = _.label(split.attribute, group.value)
            if figure.result.group_by:
                where += " · " + _.cell(group.result, cell.key)
            rows.append(
                f"<tr><td>{_e(where)}</td><td class=num>"
                f"{_e(_.whole(len(group.result.answered)))}/{_e(_.whole(group.registered))}"
                f"</td><td class=num>{_e(_.figure(group.result, cell.estimate))}</td>"
                f"<td class=num>"
                f"{_e(_.interval(group.result, cell.ci_lower, cell.ci_upper))}</td>"
                f"<td>{_e(_status(_, cell.reliable, cell.note))}</td></tr>")
    head = _th("", _("organisations"), _("estimate"), _("95% interval"), _("publishable"))
    out.append(_details(_, f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}"
                           "</tbody></table>", open_=True))
    return "".join(out)


def _warnings(result: SectorResult, _: Text) -> str:
    warning = ""
    if not result.complete:
        warning = ("<p class=warn><strong>" + _e(_("Incomplete:")) + "</strong> "
                   + _e("; ".join(_.note(r) for r in result.incomplete_reasons)) + ". "
                   + _e(_("This figure covers only the organisations that answered and is "
                          "not a sector total.")) + "</p>")
    width = len(result.group_by) - (1 if result.bin_edges else 0)
    notes = {c.key[:width]: c.clamp_note for c in result.cells if c.clamp_note}
    if notes:
        warning += ("<p class=warn><strong>" + _e(_("Clamped:")) + "</strong> "
                    + "; ".join(_e(_.cell(result, k) + ": " + n) for k, n in notes.items())
                    + "</p>")
    return warning


def _figure(number: int, figure: Figure, _: Text) -> str:
    indicator, result = figure.indicator, figure.result
    title = _(indicator.title)
    splits = "".join(_split(figure, s, _) for s in figure.splits)
    loss = _("Privacy loss ε = %(epsilon)s per organisation for this figure; result %(id)s.",
             epsilon=_.epsilon(result.spec.epsilon_micro), id=result.result_id)
    return (f'<section class=figure id="{_e(indicator.key)}">'
            f"<h3>{number}. {_e(title)}</h3><p>{_e(_(indicator.explanation))}</p>"
            f"{_warnings(result, _)}{bar_chart(result, _, title=title)}"
            f"{_details(_, _table(result, _))}{splits}"
            f"<p class=small>{_nodes_note(result, _)} {_e(loss)}</p>"
            "</section>")


def _trend(trend: Trend, periods: tuple[str, ...], _: Text) -> str:
    title = _(trend.indicator.title)
    segments = [list(s.points) for s in trend.segments]
    out = [f'<section class=figure id="trend-{_e(trend.indicator.key)}"><h3>{_e(title)}</h3>']
    if not segments:
        none = _("No stored result for these years.")
        return "".join(out) + f"<p class=small>{_e(none)}</p></section>"
    out.append(trend_chart(periods, segments, _, title=title))
    rows = []
    for segment in trend.segments:
        for result in segment.points:
            for cell in result.cells:
                rows.append(f"<tr><td>{_e(result.spec.period)}</td>"
                            f"<td>{_e(_.cell(result, cell.key))}</td>"
                            f"<td class=num>{_e(_.figure(result, cell.estimate))}</td>"
                            f"<td class=num>"
                            f"{_e(_.interval(result, cell.ci_lower, cell.ci_upper))}</td>"
                            f"<td>{_e(result.spec.catalogue_version)}</td></tr>")
    head = _th(_("year"), "", _("estimate"), _("95% interval"), _("catalogue"))
    out.append(_details(_, f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}"
                           "</tbody></table>"))
    if len(trend.segments) > 1:
        changes = ", ".join(f"{a.catalogue_versions[-1]} → {b.catalogue_versions[0]}"
                            for a, b in zip(trend.segments, trend.segments[1:], strict=False))
        note = _("Break in the series (%(changes)s): the catalogue changed how this figure is "
                 "defined, so the years before and after are not joined.", changes=changes)
        out.append(f"<p class=warn>{_e(note)}</p>")
    if trend.missing:
        note = _("No stored result for %(years)s.", years=", ".join(trend.missing))
        out.append(f"<p class=small>{_e(note)}</p>")
    out.append("</section>")
    return "".join(out)


_METHOD = (
    N_("No worker record left any organisation. Each organisation computed its own figures on "
       "its own encrypted records and added random noise before sending them: this is "
       "differential privacy. The noise is large enough that no figure reveals whether any one "
       "person is in the records, and small enough that sector figures stay useful. The "
       "privacy loss ε stated for every figure measures that protection: the smaller, the "
       "stronger."),
    N_("The federation added up the organisations' noisy figures; averages and shares are "
       "ratios of added-up sums and counts."),
    N_("The 95% interval (the black line on each bar) is the range that contains the true "
       "value 95 times out of 100: it is computed from the exact distribution of the added "
       "noise. It only accounts for that noise: the records are a census of the answering "
       "organisations, not a sample. Counts are never shown below zero and shares never outside "
       "0–100%; where the noise would push an interval past those limits, it is cut at the "
       "limit, which keeps its 95% meaning."),
    N_("A figure is publishable when every value in its 95% interval would have a relative "
       "standard error of at most 25%, and an average or a share rests on at least 30 people. "
       "The rule looks at the interval, not at the noisy estimate, so that lucky noise does not "
       "get a figure published. Figures that are too uncertain are drawn hatched and grey: "
       "shown for transparency, not for use."),
    N_("Organisations that did not answer a question (unreachable, too slow, out of privacy "
       "budget, or not yet on this catalogue version) are named under each figure; nothing is "
       "estimated in their place. A figure is marked incomplete when fewer organisations "
       "answered than the federation's quorum."),
)
_SPLIT_METHOD = N_("A split by kind or region of organisation adds up, per group, the answers "
                   "the organisations of that group already sent: nothing was asked again and "
                   "no further privacy budget was spent. A group's interval is wider, as it "
                   "rests on fewer people.")


def _method(report: SectorReport, _: Text) -> str:
    out = ["<section class=method id=method><h2>" + _e(_("How these figures were made"))
           + "</h2>"]
    out.extend(f"<p>{_e(_(paragraph))}</p>" for paragraph in _METHOD)
    if any(f.splits for f in report.figures):
        out.append(f"<p>{_e(_(_SPLIT_METHOD))}</p>")
    out.append("<h3>" + _e(_("Which organisations answered")) + "</h3><table><thead><tr>"
               + _th(_("organisation"), _("figures answered")) + "</tr></thead><tbody>")
    for node_id, answered, asked in report.organisations():
        share = _("%(answered)s of %(asked)s", answered=_.whole(answered), asked=_.whole(asked))
        out.append(f"<tr><td>{_e(node_id)}</td><td class=num>{_e(share)}</td></tr>")
    out.append("</tbody></table>")
    out.append("<h3>" + _e(_("What could not be published, and why")) + "</h3>")
    problems = []
    for figure in report.figures:
        result = figure.result
        for cell in result.cells:
            if not cell.reliable:
                why = _.note(cell.note) if cell.note else _("no estimate")
                problems.append(f"<li>{_e(_(figure.indicator.title))} — "
                                f"{_e(_.cell(result, cell.key))}: {_e(why)}</li>")
    everything = _("Every figure of this report is publishable.")
    out.append(f"<ul>{''.join(problems)}</ul>" if problems else f"<p>{_e(everything)}</p>")
    out.append("</section>")
    return "".join(out)


def _summary(report: SectorReport, _: Text) -> str:
    figures = report.figures
    incomplete = sum(1 for f in figures if not f.result.complete)
    uncertain = sum(1 for f in figures for c in f.result.cells if not c.reliable)
    summary = _.ngettext("%(n)s figure for %(period)s.", "%(n)s figures for %(period)s.",
                         len(figures), period=report.period)
    summary += " " + _("Each organisation spent at most ε = %(epsilon)s of its privacy budget "
                       "on this report.", epsilon=_.epsilon(report.epsilon_micro))
    if incomplete:
        summary += " " + _.ngettext("%(n)s figure is incomplete (see the warnings).",
                                    "%(n)s figures are incomplete (see the warnings).",
                                    incomplete)
    summary += " " + _.ngettext("%(n)s cell is flagged as too uncertain to publish.",
                                "%(n)s cells are flagged as too uncertain to publish.",
                                uncertain)
    return summary


def render_html(report: SectorReport, language: str) -> str:
    """The whole page of ``report`` in ``language`` (fr, nl or en)."""
    _ = text_for(language)
    sub = " · ".join((report.federation,
                      _("reference period %(period)s", period=report.period),
                      _("generated %(when)s", when=_.timestamp(report.generated_at)),
                      _("catalogue %(version)s", version=report.catalogue_version)))
    body = []
    number = 0
    for key, name in SECTIONS.items():
        members = [f for f in report.figures if f.indicator.section == key]
        if members:
            body.append(f'<h2 id="section-{key}">{_e(_(name))}</h2>')
        for figure in members:
            number += 1
            body.append(_figure(number, figure, _))
    for figure in report.figures:
        if figure.indicator.section not in SECTIONS:
            number += 1
            body.append(_figure(number, figure, _))
    if report.trends:
        years = _("Over the years, %(first)s to %(last)s", first=report.periods[0],
                  last=report.periods[-1])
        body.append(f'<h2 id="trends">{_e(years)}</h2>')
        body.extend(_trend(t, report.periods, _) for t in report.trends)
    hatch = "repeating-linear-gradient(45deg,#e5e7eb 0 3px,#9ca3af 3px 5px)"
    bars, precise = _("Bars:"), _("precise enough to publish")
    uncertain, line = _("too uncertain to publish"), _("black line: 95% interval")
    legend = (f'<p class="legend small">{_e(bars)}<span style="background:#1d4ed8"></span>'
              f'{_e(precise)}<span style="background:{hatch}"></span>{_e(uncertain)}. '
              f"{_e(line)}</p>")
    return (f'<!DOCTYPE html><html lang="{_.language}"><head><meta charset=utf-8>'
            '<meta name=viewport content="width=device-width,initial-scale=1">'
            f"<title>{_e(report.title)}</title><style>{_CSS}</style></head><body>"
            f"<h1>{_e(report.title)}</h1><p class=sub>{_e(sub)}</p>"
            f"<p>{_e(_summary(report, _))}</p>{legend}{''.join(body)}{_method(report, _)}"
            "</body></html>\n")
