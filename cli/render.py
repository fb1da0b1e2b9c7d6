"""Rendering results for people (rich tables) and for scripts (JSON)."""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.table import Table

from protos import pb2

__all__ = ["console", "quantile_table", "result_json", "result_table", "status_name"]

_OUTCOME_NAMES = {v: k.removeprefix("NODE_OUTCOME_").lower()
                  for k, v in pb2.NodeOutcome.items()}


def console() -> Console:
    """A console that stays readable when stdout is a pipe or a file."""
    return Console(width=None if sys.stdout.isatty() else 110, highlight=False)


NOT_SHARED = "NOT_SHARED_BY_ORGANISATION"  # the node's reason for its organisation's choice


def status_name(outcome: int, reason: str = "") -> str:
    if reason.startswith(NOT_SHARED):  # a decision of the organisation, not a failure
        return "not_shared"
    return _OUTCOME_NAMES.get(outcome, "unknown")


def _node_note(n: pb2.NodeStatus) -> str:
    if n.reason.startswith(NOT_SHARED):
        return n.reason.removeprefix(NOT_SHARED).lstrip(": ") or "not shared by this organisation"
    return f"{status_name(n.outcome)}{': ' + n.reason if n.reason else ''}"


def _fmt(value: float, digits: int) -> str:
    if not math.isfinite(value):
        return "–"
    return f"{value:,.{digits}f}"


def result_table(result: pb2.SectorResult, *, title: str, percent: bool = False,
                 digits: int = 1) -> Table:
    """One row per cell: estimate, standard error, 95% interval, reliability."""
    table = Table(title=title, title_justify="left", show_lines=False)
    for name in result.group_by or ["total"]:
        table.add_column(name)
    for name in ("estimate", "std. error", "95% interval"):
        table.add_column(name, justify="right")
    table.add_column("publishable")
    scale = 100.0 if percent else 1.0
    unit = " %" if percent else ""
    for cell in result.cells:
        key = list(cell.key) or ["all"]
        interval = f"[{_fmt(cell.ci_lower * scale, digits)}, {_fmt(cell.ci_upper * scale, digits)}]"
        table.add_row(*key, _fmt(cell.estimate * scale, digits) + unit,
                      _fmt(cell.standard_error * scale, digits), interval,
                      "yes" if cell.reliable else "[yellow]no: too uncertain[/yellow]")
    return table


def quantile_table(result: pb2.SectorResult, *, title: str, digits: int = 2) -> Table:
    """One row per group-by cell and quantile, with the 95% interval from the noise."""
    table = Table(title=title, title_justify="left")
    for name in [g for g in result.group_by if g != "bin"] or ["total"]:
        table.add_column(name)
    for name in ("quantile", "estimate", "95% interval"):
        table.add_column(name, justify="right")
    for q in result.quantiles:
        interval = f"[{_fmt(q.ci_lower, digits)}, {_fmt(q.ci_upper, digits)}]"
        table.add_row(*(list(q.key) or ["all"]), f"{q.probability:g}",
                      _fmt(q.estimate, digits), interval)
    return table


def nodes_line(result: pb2.SectorResult) -> str:
    answered = [n.node_id for n in result.nodes if n.outcome == pb2.NODE_OUTCOME_ANSWERED]
    missing = [f"{n.node_id} ({_node_note(n)})"
               for n in result.nodes if n.outcome != pb2.NODE_OUTCOME_ANSWERED]
    text = f"{len(answered)} of {len(result.nodes)} nodes answered"
    if missing:
        text += "; not included: " + ", ".join(missing)
    if not result.complete:
        text += " — INCOMPLETE (below quorum)"
    return text


def result_json(result: pb2.SectorResult) -> dict[str, Any]:
    def num(value: float) -> float | None:
        return value if math.isfinite(value) else None

    return {
        "result_id": result.result_id,
        "created_at": result.created_at,
        "measure": result.spec.measure,
        "statistic": pb2.Statistic.Name(result.spec.statistic).removeprefix("STATISTIC_").lower(),
        "period": result.spec.period,
        "epsilon": result.spec.epsilon,
        "group_by": list(result.group_by),
        "complete": result.complete,
        "cells": [
            {"key": list(c.key), "estimate": num(c.estimate),
             "standard_error": num(c.standard_error), "ci95": [num(c.ci_lower), num(c.ci_upper)],
             "reliable": c.reliable}
            for c in result.cells
        ],
        **({"bin_edges": list(result.bin_edges),
            "quantiles": [{"key": list(q.key), "probability": q.probability,
                           "estimate": num(q.estimate), "ci95": [num(q.ci_lower),
                                                                 num(q.ci_upper)]}
                          for q in result.quantiles]} if result.quantiles else {}),
        "nodes": [
            {"node_id": n.node_id, "outcome": status_name(n.outcome, n.reason),
             "reason": n.reason,
             "cost_epsilon": n.cost_micro_epsilon / 1e6}
            for n in result.nodes
        ],
    }


def dump_json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2)
    sys.stdout.write("\n")


def budget_table(rows: Sequence[tuple[str, str, str, float, float]], *, title: str) -> Table:
    """Rows of (node, querier, period, spent ε, remaining ε)."""
    table = Table(title=title, title_justify="left")
    for name in ("node", "querier", "period"):
        table.add_column(name)
    table.add_column("spent ε", justify="right")
    table.add_column("remaining ε", justify="right")
    for node_id, querier, period, spent, remaining in rows:
        table.add_row(node_id, querier, period, f"{spent:g}", f"{remaining:g}")
    return table
