"""Padding reply times to a fixed quantum, so that timing does not reveal the records.

How long a query takes depends on the data (the SQL scans more rows for a larger population)
and on the noise (OpenDP's exact samplers take longer for larger draws). A querier who times
replies could learn from either. The node therefore holds every Query reply — answers and
refusals alike — until the elapsed time reaches the next multiple of a quantum (node.toml
``reply_quantum_ms``, default 50 ms). Only the number of quanta can still leak, and only when a
query runs longer than one quantum; choose the quantum above the slowest query's time
(``bench/`` measures them).

The clock and the sleep are injected so the rule is tested without timing anything.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

__all__ = ["ReplyPacer"]


class ReplyPacer:
    """Hold replies until a multiple of ``quantum_seconds`` has elapsed since the request."""

    def __init__(self, quantum_seconds: float, *,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if quantum_seconds < 0:
            raise ValueError("the reply quantum must not be negative")
        self.quantum = quantum_seconds
        self._clock = clock
        self._sleep = sleep

    def release_time(self, started: float, now: float) -> float:
        """The first multiple of the quantum after ``started`` that is not before ``now``."""
        if self.quantum == 0:
            return now
        # A billionth of a quantum of slack keeps float rounding from adding a whole quantum.
        quanta = max(1, math.ceil((now - started) / self.quantum - 1e-9))
        return started + quanta * self.quantum

    @contextmanager
    def paced(self) -> Iterator[None]:
        """Run the body, then wait out the quantum — also when the body raises."""
        started = self._clock()
        try:
            yield
        finally:
            now = self._clock()
            wait = self.release_time(started, now) - now
            if wait > 0:
                self._sleep(wait)
