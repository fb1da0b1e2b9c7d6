"""Timing and result records shared by every benchmark.

A benchmark reports the median of several warm runs and, beside it, a floor measured in the
same process on the same data: the ratio is what carries over between machines, the absolute
figure is what a user feels.
"""

from __future__ import annotations

import gc
import math
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["Row", "clocked", "interleaved", "median", "repeat", "turns"]


def repeat(call: Callable[[], object], runs: int, *, warmup: int = 1) -> list[float]:
    """Wall-clock seconds of ``runs`` calls after ``warmup`` untimed ones (GC off meanwhile)."""
    for _ in range(warmup):
        call()
    samples = []
    enabled = gc.isenabled()
    gc.disable()
    try:
        for _ in range(runs):
            started = time.perf_counter()
            call()
            samples.append(time.perf_counter() - started)
    finally:
        if enabled:
            gc.enable()
    return samples


def interleaved(calls: Mapping[str, Callable[[], object]], runs: int, *,
                warmup: int = 1) -> dict[str, list[float]]:
    """Like :func:`repeat` for several calls, taking turns within each run.

    On a shared machine the load changes from one second to the next; alternating the thing
    measured and its floor exposes both to the same conditions, so their ratio holds up.
    """
    return turns({name: clocked(call) for name, call in calls.items()}, runs, warmup=warmup)


def clocked(call: Callable[[], object]) -> Callable[[], float]:
    """``call`` made to return its own wall-clock seconds (for :func:`turns`)."""
    def timed() -> float:
        started = time.perf_counter()
        call()
        return time.perf_counter() - started
    return timed


def turns(calls: Mapping[str, Callable[[], float]], runs: int, *,
          warmup: int = 1) -> dict[str, list[float]]:
    """:func:`interleaved` for calls that time themselves and return their seconds (a process
    of another venv, say, leaving the pipe out of its figure); GC off meanwhile."""
    for _ in range(warmup):
        for call in calls.values():
            call()
    samples: dict[str, list[float]] = {name: [] for name in calls}
    enabled = gc.isenabled()
    gc.disable()
    try:
        for _ in range(runs):
            for name, call in calls.items():
                samples[name].append(call())
    finally:
        if enabled:
            gc.enable()
    return samples


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else math.nan


@dataclass
class Row:
    """One line of the results: a measured value, its floor and the target it is held to."""

    group: str  # node query, cold start, OpenDP, import, federation, accuracy
    name: str
    case: str  # the store size, the number of nodes, the ε …
    value: float
    unit: str  # ms, rows/s, MB, RMSE
    floor: float | None = None
    floor_name: str = ""
    target: str = ""
    meets: bool | None = None  # None: no target for this line
    samples: list[float] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    higher_is_better: bool = False  # rates: the ratio is then floor / value
    checks: dict[str, bool | None] = field(default_factory=dict)  # each part of the target

    @property
    def ratio(self) -> float | None:
        """How many times slower (or worse) than the floor; 1.0 is the floor itself."""
        if self.floor is None or not math.isfinite(self.floor) or self.floor == 0:
            return None
        if self.higher_is_better:
            return self.floor / self.value if self.value else None
        return self.value / self.floor

    def to_json(self) -> dict[str, Any]:
        raw = asdict(self)
        raw["ratio"] = self.ratio
        return raw
