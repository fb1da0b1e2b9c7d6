"""What a new catalogue version would change, for the operator deciding whether to approve it.

Approving a catalogue version (node.toml [catalogue] approved) decides what the federation may
ask this organisation's records. Before adding a version, an operator should see exactly what it
adds, removes or changes against the catalogue the node serves now: new measures (what would be
computed from the records), widened clamping bounds (how much one person can weigh), new
dimensions or cells (how finely people would be broken down), and whether this node can compile
it at all.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from privacy import Catalogue, CatalogueError, Dimension, Measure

__all__ = ["CatalogueChange", "CatalogueDiff", "diff_catalogues"]


@dataclass(frozen=True)
class CatalogueChange:
    """One entry added, removed or changed, with what changed in it."""

    kind: str  # "catalogue", "measure" or "dimension"
    name: str
    change: str  # "added", "removed" or "changed"
    details: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "change": self.change,
                "details": list(self.details)}


@dataclass(frozen=True)
class CatalogueDiff:
    old_version: str
    new_version: str
    changes: tuple[CatalogueChange, ...]
    compilable: bool  # can this node compile every entry of the new catalogue?
    compile_problem: str
    approved: bool  # is the new version already approved in node.toml?

    def to_json(self) -> dict[str, Any]:
        return {"old_version": self.old_version, "new_version": self.new_version,
                "compilable": self.compilable, "compile_problem": self.compile_problem,
                "approved": self.approved, "changes": [c.to_json() for c in self.changes]}


def _fmt(value: Any) -> str:
    if isinstance(value, Decimal):
        return f"{value.normalize():f}"
    if isinstance(value, frozenset | set):
        return "[" + ", ".join(sorted(str(v) for v in value)) + "]" if value else "[]"
    if isinstance(value, tuple):
        return "[" + ", ".join(str(v) for v in value) + "]"
    return str(value)


def _members(label: str, old: Iterable[str], new: Iterable[str]) -> list[str]:
    old_set, new_set = set(old), set(new)
    details = []
    if added := sorted(new_set - old_set):
        details.append(f"{label} added: {', '.join(added)}")
    if removed := sorted(old_set - new_set):
        details.append(f"{label} removed: {', '.join(removed)}")
    return details


def _measure(measure: Measure) -> list[str]:
    return [f"population {measure.population}", f"value {measure.value}",
            f"bounds [{_fmt(measure.lower)}, {_fmt(measure.upper)}]",
            "statistics " + _fmt(frozenset(s.value for s in measure.statistics))]


def _measure_changes(old: Measure, new: Measure) -> list[str]:
    details = []
    for field in ("label", "population", "value"):
        a, b = getattr(old, field), getattr(new, field)
        if a != b:
            details.append(f"{field}: {a} → {b}")
    if (old.lower, old.upper) != (new.lower, new.upper):
        wider = new.magnitude > old.magnitude
        details.append(f"bounds: [{_fmt(old.lower)}, {_fmt(old.upper)}] → "
                       f"[{_fmt(new.lower)}, {_fmt(new.upper)}]"
                       + (" (one person can weigh more)" if wider else ""))
    details += _members("statistics", (s.value for s in old.statistics),
                        (s.value for s in new.statistics))
    if old.bins != new.bins:  # histogram bins are public: new edges release new cells
        details.append(f"bins: {_fmt(tuple(old.bins))} → {_fmt(tuple(new.bins))}")
    for key in sorted(set(old.params) | set(new.params)):
        a, b = old.params.get(key, ()), new.params.get(key, ())
        if a != b:
            details += _members(f"params.{key}", a, b) or [f"params.{key} reordered"]
    return details


def _dimension(dimension: Dimension) -> list[str]:
    details = [f"source {dimension.source}", f"cells {_fmt(dimension.cells)}"]
    if dimension.age_edges:
        details.append(f"age edges {_fmt(dimension.age_edges)}")
    if dimension.applies_to:
        details.append(f"applies to {_fmt(dimension.applies_to)}")
    return details


def _dimension_changes(old: Dimension, new: Dimension) -> list[str]:
    details = []
    for field in ("label", "source"):
        a, b = getattr(old, field), getattr(new, field)
        if a != b:
            details.append(f"{field}: {a} → {b}")
    details += _members("cells", old.cells, new.cells)
    if old.cells != new.cells and set(old.cells) == set(new.cells):
        details.append("cells reordered")
    for cell in sorted(set(old.groups) & set(new.groups)):
        details += _members(f"codes in cell {cell}", old.groups[cell], new.groups[cell])
    if old.age_edges != new.age_edges:
        details.append(f"age edges: {_fmt(old.age_edges)} → {_fmt(new.age_edges)}")
    if old.applies_to != new.applies_to:
        details.append(f"applies to: {_fmt(old.applies_to)} → {_fmt(new.applies_to)}")
    return details


def _entries(kind: str, old: Mapping[str, Any], new: Mapping[str, Any], describe: Any,
             compare: Any) -> list[CatalogueChange]:
    changes = []
    for name in sorted(set(old) | set(new)):
        if name not in old:
            changes.append(CatalogueChange(kind, name, "added", tuple(describe(new[name]))))
        elif name not in new:
            changes.append(CatalogueChange(kind, name, "removed", ()))
        elif details := compare(old[name], new[name]):
            changes.append(CatalogueChange(kind, name, "changed", tuple(details)))
    return changes


def diff_catalogues(old: Catalogue, new: Catalogue, *,
                    approved: Iterable[str] = ()) -> CatalogueDiff:
    """Everything ``new`` adds, removes or changes against ``old``."""
    from node.engine.compiler import check_catalogue

    settings = []
    for field in ("version", "accounting", "fixed_point_scale", "mean_sum_share", "max_cells"):
        a, b = getattr(old, field), getattr(new, field)
        if a != b:
            settings.append(f"{field}: {_fmt(getattr(a, 'value', a))} → "
                            f"{_fmt(getattr(b, 'value', b))}")
    changes = [CatalogueChange("catalogue", new.version, "changed", tuple(settings))] \
        if settings else []
    changes += _entries("measure", old.measures, new.measures, _measure, _measure_changes)
    changes += _entries("dimension", old.dimensions, new.dimensions, _dimension,
                        _dimension_changes)
    problem = ""
    try:
        check_catalogue(new)
    except CatalogueError as exc:
        problem = str(exc)
    return CatalogueDiff(old.version, new.version, tuple(changes), not problem, problem,
                         new.version in set(approved))
