"""Rendering sector results for people (rich tables) and for scripts (JSON, CSV).

Every renderer takes the aggregator's domain objects (``aggregator.SectorResult``), converted
from the wire by ``aggregator.result_from_proto``; none of them touches generated messages.
Published figures are the clipped ones (no negative count, shares in [0, 1]); JSON and CSV also
carry the raw, unbiased estimate for scripts that add cells up.
"""

from __future__ import annotations

import csv
import json
import math
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from aggregator import NodeOutcome, SectorResult
from cli.lang import N_, _, language, locale, micro
from cli.notes import translate_note
from privacy import QuerySpec, Statistic, available_catalogues, format_micro

__all__ = [
    "Display",
    "budget_table",
    "clamp_notes",
    "code_label",
    "console",
    "display_of",
    "dump_json",
    "fmt",
    "history_table",
    "node_reports_table",
    "nodes_line",
    "publishable_summary",
    "quantile_table",
    "result_csv",
    "result_json",
    "result_table",
    "significant",
    "status_name",
    "when",
    "write_csv",
    "yes_no",
]

_STATUS = {
    NodeOutcome.ANSWERED: N_("answered"),
    NodeOutcome.UNAVAILABLE: N_("down"),
    NodeOutcome.DEADLINE_EXCEEDED: N_("too slow"),
    NodeOutcome.BUDGET_EXHAUSTED: N_("out of budget"),
    NodeOutcome.CATALOGUE_VERSION: N_("other catalogue"),
    NodeOutcome.REFUSED: N_("refused"),
    NodeOutcome.NOT_SHARED: N_("not shared by this organisation"),
    NodeOutcome.INVALID: N_("invalid"),
    NodeOutcome.ERROR: N_("error"),
}


def console() -> Console:
    """A console that stays readable when stdout is a pipe or a file."""
    return Console(width=None if sys.stdout.isatty() else 110, highlight=False)


def status_name(outcome: NodeOutcome) -> str:
    return _(_STATUS[outcome])


@dataclass(frozen=True)
class Display:
    """How a statistic's figures are shown: a factor, decimals and a unit."""

    factor: float = 1.0
    digits: int = 1
    unit: str = ""


def display_of(spec: QuerySpec) -> Display:
    """Counts (and histogram bins) as whole numbers, rates (means of a 0/1 measure) in %, other
    means to 2 decimals."""
    if spec.statistic in (Statistic.COUNT, Statistic.HISTOGRAM):
        return Display(digits=0)
    catalogues = available_catalogues()  # opt-in versions (2027.1) included
    catalogue = catalogues.get(spec.catalogue_version)
    measure = catalogue.measures.get(spec.measure) if catalogue is not None else None
    if spec.statistic is Statistic.MEAN:
        if measure is not None and (measure.lower, measure.upper) == (0, 1):
            return Display(100.0, 1, " %")
        return Display(digits=2)
    return Display(digits=1)


def fmt(value: float, display: Display = Display()) -> str:
    """``value`` in the chosen language's number format (1,195.5 · 1 195,5 · 1.195,5)."""
    if not math.isfinite(value):
        return "–"
    shown = round(value * display.factor, display.digits)
    shown = shown + 0.0 if shown else 0.0  # never "-0"
    number = (locale().fixed(shown, display.digits) if display.digits
              else locale().number(shown, 0))
    return number.replace("\u202f", " ") + display.unit


def significant(value: float, digits: int = 3) -> str:
    """``value`` to ``digits`` significant digits (like ``:.3g``) in the chosen language."""
    from babel.numbers import format_decimal

    pattern = "@" + "#" * (digits - 1)
    return format_decimal(value, format=pattern, locale=locale().locale).replace("\u202f", " ")


def _labels(dimensions: Sequence[str], key: Sequence[str]) -> list[str]:
    """A cell's codes with their labels: the operator reads the label and copies the code
    into ``--filter``."""
    shown = []
    for dimension, code in zip(dimensions, key, strict=False):
        label = code_label(dimension, code)
        shown.append(code if label == code else f"{label} ({code})")
    return shown


def code_label(kind: str, code: str) -> str:
    """``code`` of ``kind`` (a dimension, ``measure``, a record field) as the chosen language
    names it, from the catalogue's labels (privacy/catalogues/labels.toml)."""
    from privacy.catalogue import code_label as label

    return label(kind, code, language())


def styled(style: str, text: str) -> str:
    """``text`` in a rich ``style`` (markup in ``text`` itself is escaped)."""
    return f"[{style}]{escape(text)}[/{style}]"


def yes_no(value: bool) -> str:
    return _("yes") if value else _("no")


def result_table(result: SectorResult, *, title: str | None = None) -> Table:
    """One row per cell: estimate, standard error, 95% interval, publishable or why not."""
    spec = result.spec
    display = display_of(spec)
    table = Table(title=title or _(
        "{label} — {measure} · {statistic} · {period} · ε={epsilon} per node").format(
            label=code_label("measure", spec.measure), measure=spec.measure,
            statistic=spec.statistic.value, period=spec.period,
            epsilon=micro(spec.epsilon_micro)),
                  title_justify="left")
    for name in result.group_by or [_("total")]:
        table.add_column(code_label("dimension", name))
    for name in (_("estimate"), _("std. error"), _("95% interval")):
        table.add_column(name, justify="right")
    table.add_column(_("publishable"))
    for cell in result.cells:
        interval = f"[{fmt(cell.ci_lower, display)}, {fmt(cell.ci_upper, display)}]"
        # A share's standard error is in percentage points, not a percentage of itself.
        plain = Display(display.factor, max(display.digits, 1),
                        " pp" if display.unit.strip() == "%" else "")
        table.add_row(*(_labels(result.group_by, cell.key) or [_("all")]),
                      fmt(cell.estimate, display),
                      fmt(cell.standard_error, plain), interval,
                      _("yes") if cell.reliable else "[yellow]{}[/yellow]".format(
                          _("no: {note}").format(note=escape(translate_note(cell.note)))))
    return table


QUANTILE_METHOD = N_("bin resolution: each 95% interval is a union of whole bins and holds the "
                   "true quartile wherever it lies inside its bin (open above, ∞, where people "
                   "beyond the top bound were counted in the top bin); the estimate is read "
                     "off within a bin (persons spread evenly), not finer")


def quantile_table(result: SectorResult, *, title: str, digits: int = 2) -> Table:
    """One row per group-by cell and quantile, with its 95% interval over whole bins."""
    table = Table(title=title, title_justify="left", caption=_(QUANTILE_METHOD),
                  caption_justify="left")
    for name in [g for g in result.group_by if g != "bin"] or [_("total")]:
        table.add_column(code_label("dimension", name))
    for name in (_("quantile"), _("estimate (bin resolution)"),
                 _("95% interval (whole bins)")):
        table.add_column(name, justify="right")
    display = Display(digits=digits)
    for q in result.quantiles:
        high = "∞)" if q.ci_upper == math.inf else f"{fmt(q.ci_upper, display)}]"
        interval = f"[{fmt(q.ci_lower, display)}, {high}"
        table.add_row(*(_labels([g for g in result.group_by if g != "bin"], q.key)
                        or [_("all")]),
                      locale().number(q.probability, 3),
                      fmt(q.estimate, display), interval)
    return table


def clamp_notes(result: SectorResult) -> list[str]:
    """One line per group-by cell whose figure is moved by clamping (histogram bins share one)."""
    seen: dict[tuple[str, ...], str] = {}
    histogram = bool(result.bin_edges)
    for c in result.cells:
        key = c.key[:-1] if histogram else c.key
        if c.clamp_note and key not in seen:
            seen[key] = translate_note(c.clamp_note)
    everything = _("all")
    return [f"{' · '.join(key) or everything}: {note}" for key, note in seen.items()]


def publishable_summary(result: SectorResult) -> str:
    """One line counting the cells not published, and those without any estimate and why.

    A ratio whose noisy denominator is not positive has no estimate at all; it is counted here
    so that it is never lost from sight ("" when every cell is publishable).
    """
    flagged = [c for c in result.cells if not c.reliable]
    if not flagged:
        return ""
    missing = [c for c in flagged if not math.isfinite(c.estimate)]
    text = _("{flagged} of {cells} cells too uncertain to publish").format(
        flagged=len(flagged), cells=len(result.cells))
    if missing:
        reasons = sorted({translate_note(c.note.removeprefix("no estimate: ")) for c in missing})
        text += _("; {missing} without an estimate ({reasons})").format(
            missing=len(missing), reasons="; ".join(reasons))
    return text


def nodes_line(result: SectorResult) -> str:
    """One line: how many answered, who did not and why (short), and the quorum verdict."""
    missing = [f"{n.node_id} ({status_name(n.outcome)})" for n in result.nodes
               if n.outcome is not NodeOutcome.ANSWERED]
    text = _("{answered} of {nodes} nodes answered").format(answered=len(result.answered),
                                                             nodes=len(result.nodes))
    if missing:
        text += _("; not included: {nodes}").format(nodes=", ".join(missing))
    if not result.complete:
        text += _(" — INCOMPLETE: {reasons}").format(reasons="; ".join(result.incomplete_reasons))
    return text


def node_reports_table(result: SectorResult, *, title: str | None = None) -> Table:
    """Every registered node: what became of its part, why, and what it cost."""
    table = Table(title=title or _("Nodes"), title_justify="left")
    for name, right in ((_("node"), False), (_("status"), False), (_("ε charged"), True),
                        (_("attempts"), True), (_("seconds"), True), (_("reason"), False)):
        table.add_column(name, justify="right" if right else "left")
    for n in result.nodes:
        cost = format_micro(n.cost_micro) if n.cost_micro else "0"
        if n.replayed:
            cost += _(" (replay: free)")
        table.add_row(n.node_id, status_name(n.outcome), cost, str(n.attempts),
                      locale().fixed(n.elapsed_seconds, 2), escape(n.reason))
    return table


def _num(value: float) -> float | None:
    return value if math.isfinite(value) else None


def result_json(result: SectorResult, *, receipts: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {
        "result_id": result.result_id,
        "query_id": result.query_id,
        "created_at": result.created_at,
        "federation": result.federation,
        "aggregation": result.aggregation,
        "catalogue_version": result.spec.catalogue_version,
        "measure": result.spec.measure,
        "statistic": result.spec.statistic.value,
        "group_by": list(result.group_by),
        "filters": {d: list(v) for d, v in result.spec.filters},
        "period": result.spec.period,
        "epsilon": format_micro(result.spec.epsilon_micro),
        "complete": result.complete,
        "incomplete_reasons": list(result.incomplete_reasons),
        "answered_node_share": _num(result.answered_node_share),
        "answered_size_share": _num(result.answered_size_share),
        "cells": [
            {"key": list(c.key), "estimate": _num(c.estimate),
             "standard_error": _num(c.standard_error),
             "ci95": [_num(c.ci_lower), _num(c.ci_upper)], "reliable": c.reliable,
             "note": c.note, "raw_estimate": _num(c.raw_estimate),
             "raw_ci95": [_num(c.raw_ci_lower), _num(c.raw_ci_upper)],
             "sum_estimate": _num(c.sum_estimate), "count_estimate": _num(c.count_estimate),
             "clamped_share": _num(c.clamped_share),
             "clamped_share_ci95": [_num(c.clamped_share_lower), _num(c.clamped_share_upper)],
             "clamp_note": c.clamp_note}
            for c in result.cells
        ],
        **({"bin_edges": list(result.bin_edges),
            "quantile_method": QUANTILE_METHOD,
            "quantiles": [{"key": list(q.key), "probability": q.probability,
                           "estimate": _num(q.estimate),
                           "ci95": [_num(q.ci_lower), _num(q.ci_upper)],
                           "open_above": q.ci_upper == math.inf,
                           "resolution": "bin"}
                          for q in result.quantiles]} if result.quantiles else {}),
        "nodes": [
            {"node_id": n.node_id, "outcome": n.outcome.value, "reason": n.reason,
             "cost_epsilon": format_micro(n.cost_micro) if n.cost_micro else "0",
             "attempts": n.attempts, "replayed": n.replayed,
             "catalogue_version": n.catalogue_version,
             "elapsed_seconds": round(n.elapsed_seconds, 3)}
            for n in result.nodes
        ],
    }
    if receipts:
        data["receipts"] = [
            {"node_id": r.node_id, "query_id": r.query_id, "received_at": r.received_at,
             "response_hex": r.response.hex()}
            for r in result.receipts
        ]
    return data


RESULT_CSV_HEADER = ("result_id", "created_at", "measure", "statistic", "period", "epsilon",
                     "group_by", "key", "estimate", "standard_error", "ci95_lower",
                     "ci95_upper", "reliable", "note", "raw_estimate", "raw_ci95_lower",
                     "raw_ci95_upper", "complete", "clamped_share", "clamp_note")


def _csv_num(value: float) -> str:
    return repr(value) if math.isfinite(value) else ""


def result_csv(results: Iterable[SectorResult]) -> list[tuple[str, ...]]:
    """One row per cell of every result (the key's parts joined with '|')."""
    rows: list[tuple[str, ...]] = []
    for r in results:
        for c in r.cells:
            rows.append((r.result_id, r.created_at, r.spec.measure, r.spec.statistic.value,
                         r.spec.period, format_micro(r.spec.epsilon_micro),
                         "|".join(r.group_by), "|".join(c.key), _csv_num(c.estimate),
                         _csv_num(c.standard_error), _csv_num(c.ci_lower),
                         _csv_num(c.ci_upper), str(c.reliable).lower(), c.note,
                         _csv_num(c.raw_estimate), _csv_num(c.raw_ci_lower),
                         _csv_num(c.raw_ci_upper), str(r.complete).lower(),
                         _csv_num(c.clamped_share), c.clamp_note))
    return rows


def history_table(results: Sequence[SectorResult]) -> Table:
    table = Table(title=_("Stored results (re-showing them costs no budget)"),
                  title_justify="left")
    table.add_column(_("result id"), no_wrap=True)  # whole: it is copied into other commands
    for name in (_("created"), _("measure"), _("statistic"), _("by"), _("period"), "ε",
                 _("nodes"), _("complete")):
        table.add_column(name)
    for r in results:
        table.add_row(r.result_id, when(r.created_at), r.spec.measure,
                      r.spec.statistic.value, ",".join(r.group_by) or "-", r.spec.period,
                      format_micro(r.spec.epsilon_micro),
                      f"{len(r.answered)}/{len(r.nodes)}",
                      _("yes") if r.complete else styled("yellow", _("no")))
    return table


def when(timestamp: str) -> str:
    """An ISO timestamp as the chosen language writes a date, and the time to the second."""
    if not timestamp:
        return ""
    day, _sep, rest = timestamp[:19].partition("T")
    return f"{locale().date(day)} {rest}".strip()


def dump_json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")


def write_csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)


def budget_table(rows: Sequence[tuple[str, str, str, float, float]], *, title: str) -> Table:
    """Rows of (node, querier, period, spent ε, remaining ε)."""
    table = Table(title=title, title_justify="left")
    for name in (_("node"), _("querier"), _("period")):
        table.add_column(name)
    table.add_column(_("spent ε"), justify="right")
    table.add_column(_("remaining ε"), justify="right")
    number = locale().number
    for node_id, querier, period, spent, remaining in rows:  # node-wide "*", lifetime "all"
        table.add_row(node_id, _("all queriers") if querier == "*" else querier,
                      _("all periods") if period == "all" else period, number(spent, 6),
                      number(remaining, 6))
    return table
