"""Rendering the federation's nodes and dry-run plans (tables, JSON, CSV)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from rich.console import Group
from rich.markup import escape
from rich.table import Table

from aggregator import NodeOutcome, NodeState, QueryPlan
from cli.render import status_name
from privacy import format_micro

__all__ = [
    "NODES_CSV_HEADER",
    "PLAN_CSV_HEADER",
    "nodes_csv",
    "nodes_json",
    "nodes_table",
    "plan_csv",
    "plan_json",
    "plan_table",
]


def _eps(micro: int | None) -> str:
    return "?" if micro is None else format_micro(micro)


def _optional(micro: int | None) -> str | None:
    return None if micro is None else format_micro(micro)


_SCOPE_NAMES = {"node": "all queriers", "lifetime": "all periods"}


def binding_budget(state: NodeState, querier: str | None = None) -> tuple[str, str, str]:
    """(remaining, cap, period) of the cap that binds first for this federation.

    A node reports this federation's own cap and its node-wide and lifetime caps; the next
    query must fit all of them, so the one with the least left is what the operator needs.
    """
    lines = [b for b in state.budget
             if querier is None or b.querier in (querier, "*")]
    if not lines:
        return "", "", ""
    line = min(lines, key=lambda b: (b.remaining_micro, b.scope != "querier"))
    period = line.period if line.scope == "querier" else (
        f"{line.period}, {_SCOPE_NAMES.get(line.scope, line.scope)}")
    return format_micro(line.remaining_micro), format_micro(line.cap_micro), period


def _status(state: NodeState, catalogue_version: str) -> tuple[str, str]:
    """A short status for the table and, when something is wrong, the full reason."""
    if not state.reachable:
        return "[red]down[/red]", f"unreachable ({state.reason})"
    if not state.approves(catalogue_version):
        approved = ", ".join(state.catalogue_versions) or "none"
        return ("[yellow]other catalogue[/yellow]",
                f"has not approved catalogue {catalogue_version} (approved: {approved})")
    if state.budget_reason:
        return "[yellow]no budget[/yellow]", f"budget unknown: {state.budget_reason}"
    return "up", ""


def nodes_table(states: Sequence[NodeState], *, federation: str,
                catalogue_version: str) -> Group:
    """The nodes as a table, followed by one line per node whose status needs a reason."""
    table = Table(title=f"Nodes of {federation} (catalogue {catalogue_version})",
                  title_justify="left")
    table.add_column("node", no_wrap=True)
    table.add_column("organisation")
    table.add_column("certificate identity")
    table.add_column("status", no_wrap=True)
    table.add_column("catalogues")
    table.add_column("ε left", justify="right", no_wrap=True)
    table.add_column("last contact", no_wrap=True)
    problems = []
    for s in states:
        remaining, cap, period = binding_budget(s)
        status, problem = _status(s, catalogue_version)
        if problem:
            problems.append(f"{escape(s.node.node_id)}: {escape(problem)}")
        where = " · ".join(x for x in (s.node.region, s.node.kind) if x)
        table.add_row(
            escape(s.node.node_id),
            escape(s.node.organisation) + (f"\n[dim]{escape(where)}[/dim]" if where else ""),
            escape(s.node.certificate_identity) or "–", status,
            escape(", ".join(s.catalogue_versions)) or "–",
            f"{remaining} of {cap} ({period})" if remaining else "–",
            s.last_contact[:16].replace("T", " ") or "never")
    return Group(table, *problems)


def nodes_json(states: Sequence[NodeState], *, federation: str,
               catalogue_version: str) -> dict[str, Any]:
    return {
        "federation": federation,
        "catalogue_version": catalogue_version,
        "nodes": [
            {"node_id": s.node.node_id, "address": s.node.address,
             "organisation": s.node.organisation, "region": s.node.region,
             "kind": s.node.kind, "certificate_identity": s.node.certificate_identity,
             "expected_size": s.node.expected_size, "reachable": s.reachable,
             "reason": s.reason or s.budget_reason, "software_version": s.software_version,
             "catalogue_versions": list(s.catalogue_versions),
             "approves_catalogue": s.approves(catalogue_version),
             "budget": [{"querier": b.querier, "period": b.period, "scope": b.scope,
                         "cap_epsilon": format_micro(b.cap_micro),
                         "spent_epsilon": format_micro(b.spent_micro),
                         "remaining_epsilon": format_micro(b.remaining_micro)}
                        for b in s.budget],
             "last_contact": s.last_contact or None}
            for s in states
        ],
    }


NODES_CSV_HEADER = ("node_id", "organisation", "region", "kind", "certificate_identity",
                    "expected_size", "reachable", "reason", "catalogue_versions",
                    "approves_catalogue", "remaining_epsilon", "cap_epsilon", "period",
                    "last_contact")


def nodes_csv(states: Sequence[NodeState], *, catalogue_version: str) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    for s in states:
        remaining, cap, period = binding_budget(s)
        rows.append((s.node.node_id, s.node.organisation, s.node.region, s.node.kind,
                     s.node.certificate_identity, str(s.node.expected_size or ""),
                     str(s.reachable).lower(), s.reason or s.budget_reason,
                     "|".join(s.catalogue_versions),
                     str(s.approves(catalogue_version)).lower(), remaining, cap, period,
                     s.last_contact))
    return rows


def _expected(outcome: NodeOutcome) -> str:
    return "would answer" if outcome is NodeOutcome.ANSWERED else status_name(outcome)


def plan_table(plan: QueryPlan, *, title: str) -> Table:
    """Per node: what it should do, the most it may charge and the ε it has left before and
    after (under zCDP the ε at the catalogue's δ of the ρ amounts the nodes charge)."""
    table = Table(title=title, title_justify="left")
    for name in ("node", "expected", "cost ε", "ε left now", "ε left after", "period",
                 "reason"):
        table.add_column(name, justify="right" if "ε" in name else "left")
    for n in plan.nodes:
        style = "" if n.expected is NodeOutcome.ANSWERED else "[yellow]"
        end = "[/yellow]" if style else ""
        table.add_row(n.node_id, f"{style}{_expected(n.expected)}{end}",
                      _eps(plan.epsilon(n.cost_micro)), _eps(plan.epsilon(n.remaining_micro)),
                      _eps(plan.epsilon(n.remaining_after_micro)), n.period or "–",
                      escape(n.reason))
    return table


def plan_json(plan: QueryPlan) -> dict[str, Any]:
    return {
        "dry_run": True,
        "accounting": plan.rule.accounting.value,
        "cost_epsilon_per_node": _eps(plan.epsilon(plan.cost_micro)),
        "total_epsilon": format_micro(plan.total_epsilon_micro),
        "cells": plan.cells,
        "complete_expected": plan.complete_expected,
        "incomplete_reasons": list(plan.incomplete_reasons),
        "expected_standard_error": {mode: (value if math.isfinite(value) else None)
                                    for mode, value in plan.expected_se.items()},
        "nodes": [
            {"node_id": n.node_id, "expected": n.expected.value, "reason": n.reason,
             "cost_epsilon": _eps(plan.epsilon(n.cost_micro)),
             "remaining_epsilon": _optional(plan.epsilon(n.remaining_micro)),
             "remaining_after_epsilon": _optional(plan.epsilon(n.remaining_after_micro)),
             "period": n.period or None}
            for n in plan.nodes
        ],
    }


PLAN_CSV_HEADER = ("node_id", "expected", "cost_epsilon", "remaining_epsilon",
                   "remaining_after_epsilon", "period", "reason")


def plan_csv(plan: QueryPlan) -> list[tuple[str, ...]]:
    return [(n.node_id, n.expected.value, _eps(plan.epsilon(n.cost_micro)),
             _optional(plan.epsilon(n.remaining_micro)) or "",
             _optional(plan.epsilon(n.remaining_after_micro)) or "",
             n.period, n.reason) for n in plan.nodes]
