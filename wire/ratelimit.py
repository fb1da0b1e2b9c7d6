"""A per-caller token bucket: how many requests each identity may make, and how fast.

Both the node (per querier) and the aggregator (per operator) refuse a caller that goes over its
rate with RESOURCE_EXHAUSTED, the status clients treat as "slow down and retry". Refused and
invalid requests spend tokens too, so flooding a server with bad input is throttled like any
other flood. Thread-safe: the node's server runs handlers on a thread pool.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["RateLimit", "RateLimiter"]


@dataclass(frozen=True)
class RateLimit:
    """``per_minute`` requests per minute on average, in bursts of at most ``burst``."""

    per_minute: float
    burst: int

    def __post_init__(self) -> None:
        if not 0 < self.per_minute <= 1_000_000:
            raise ValueError("requests_per_minute must be between 0 (excluded) and 1000000")
        if not 1 <= self.burst <= 1_000_000:
            raise ValueError("burst must be between 1 and 1000000")


class RateLimiter:
    """Token buckets keyed by caller identity, with a bounded number of buckets."""

    def __init__(self, limit: RateLimit, *, clock: Callable[[], float] = time.monotonic,
                 max_callers: int = 10_000) -> None:
        self.limit = limit
        self._clock = clock
        self._max_callers = max_callers
        self._rate = limit.per_minute / 60.0
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def acquire(self, caller: str) -> float:
        """Take one token for ``caller``: 0.0 if granted, else the seconds until one is free."""
        now = self._clock()
        with self._lock:
            tokens, last = self._buckets.pop(caller, (float(self.limit.burst), now))
            tokens = min(float(self.limit.burst), tokens + (now - last) * self._rate)
            if tokens >= 1.0:
                tokens -= 1.0
                wait = 0.0
            else:
                wait = (1.0 - tokens) / self._rate
            self._buckets[caller] = (tokens, now)
            while len(self._buckets) > self._max_callers:
                self._buckets.popitem(last=False)  # forget the least recently seen caller
        return wait
