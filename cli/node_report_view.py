"""`koepel node report`'s words and numbers in the reader's language.

The organisation's report (node/organisation/report.py, org_report.py) names its figures,
units and cells in English codes and titles; their labels per language are in the catalogue's
labels file (``report_section``, ``report_unit``, ``report_dimension``, and the codes' own
kinds), and figures are written as the reader writes numbers. The sections' explanatory notes
are the node's own English sentences, shown as they are.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cli.lang import locale
from cli.render import code_label

if TYPE_CHECKING:
    from node.organisation.sections import ReportSection

__all__ = ["cell_label", "dimension_label", "section_title", "unit_label", "value_text"]

# The parts of a compound cell ("WORK_SKILLS/ACHIEVED", "REGULAR_JOB/<1y") by its dimension.
_PARTS = {"domain/status": ("goal_domain", "goal_status"),
          "destination/tenure": ("exit_destination", "tenure")}


def section_title(section: ReportSection) -> str:
    title = code_label("report_section", section.name)
    return section.title if title == section.name else title


def unit_label(section: ReportSection) -> str:
    return code_label("report_unit", section.unit)


def dimension_label(section: ReportSection) -> str:
    dimension = section.dimension or ""
    label = code_label("dimension", dimension)
    return label if label != dimension else code_label("report_dimension", dimension)


def cell_label(section: ReportSection, cell: str) -> str:
    """A cell as the reader names it, its code beside: a catalogue cell's label, a support
    kind's code with its label, a compound cell part by part."""
    dimension = section.dimension or ""
    if dimension == "support kind":
        code = cell.split(" ", 1)[0]
        return f"{code} {code_label('support_action', code)}"
    if dimension in _PARTS:
        label = "/".join(code_label(kind, part) for kind, part in zip(
            _PARTS[dimension], cell.split("/"), strict=False))
    else:
        label = code_label(dimension, cell)
    return label if label == cell else f"{label} ({cell})"


def value_text(section: ReportSection, value: float) -> str:
    """A figure as people read it: shares in %, changes signed, counts whole (the node's
    ``format_value``, in the reader's number format)."""
    loc = locale()
    if section.unit == "share":
        text = loc.percent(value)
    elif section.unit == "mean change":
        text = ("+" if value >= 0 else "") + loc.fixed(value, 3)
    elif section.unit in ("people", "goals"):
        text = loc.number(value, 0)
    else:
        text = loc.fixed(value, 1)
    return text.replace("\u202f", " ").replace("\xa0", " ")
