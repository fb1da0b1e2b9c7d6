"""The short table printed at the end of a run, and the JSON results file."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.measure import Row

__all__ = ["render_table", "write_results"]


def _value(value: float, unit: str) -> str:
    if not math.isfinite(value):
        return "—"
    if unit == "rows/s":
        return f"{value:,.0f} rows/s"
    if unit == "ms":
        return f"{value:.1f} ms" if value < 100 else f"{value:,.0f} ms"
    if unit == "MB":
        return f"{value:.0f} MB"
    if unit == "×":
        return f"{value:.2f}×"
    return f"{value:.3g} {unit}"


_MARK = {True: "✓", False: "✗", None: "?"}  # ?: too few runs to tell


def _verdict(row: Row) -> str:
    if row.checks:
        return "  ".join(f"{_MARK[ok]} {name}" for name, ok in row.checks.items())
    if not row.target:
        return ""
    return f"{_MARK[row.meets]} {row.target}"


def render_table(rows: Sequence[Row]) -> str:
    """Aligned text: one line per measurement, accuracy condensed to one line per case."""
    lines: list[list[str]] = [["group", "measurement", "case", "median", "floor", "ratio",
                               "target"]]
    for row in rows:
        if row.group == "accuracy" and row.unit == "×":
            continue  # folded into the RMSE line below
        floor = _value(row.floor, row.unit) if row.floor is not None else ""
        ratio = f"{row.ratio:.2f}×" if row.ratio is not None else ""
        name = row.name
        if row.group == "accuracy":
            name = (f"{row.name}; central DP {row.extra['central_rmse']:.3g}, "
                    f"federated/central {row.extra['federated_over_central']:.1f}×")
        lines.append([row.group, name, row.case, _value(row.value, row.unit), floor, ratio,
                      _verdict(row)])
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    out = []
    for index, line in enumerate(lines):
        out.append("  ".join(cell.ljust(width) for cell, width in zip(line, widths,
                                                                          strict=True)).rstrip())
        if index == 0:
            out.append("  ".join("-" * width for width in widths))
    return "\n".join(out)


def write_results(path: Path, meta: dict[str, Any], rows: Sequence[Row]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    body = {**meta, "results": [row.to_json() for row in rows]}
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(body, indent=1, ensure_ascii=False, allow_nan=True) + "\n")
    tmp.replace(path)
