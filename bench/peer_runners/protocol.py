"""The line protocol every peer runner speaks with ``bench/peers.py`` (standard library only).

A runner is a script run by its peer's own venv (``bench/peer_envs.py``); it never imports
koepel. The parent writes one JSON object per line, the runner answers each with one:

* ``{"data": csv, "epsilon": ε, "target_groups": [...], "regions": [...], "edges": [...],
  "lower": l, "upper": u, "queries": n}`` → ``{"ready": true, "load_seconds": s,
  "versions": {...}}``: load the per-person rows (outside any timing);
* ``{"query": key}`` → ``{"seconds": s, "rows": n}``: one DP release of the query ``key``
  (``count``, ``mean`` or ``hist``), timed by the runner from the call into the library until
  the released figures are in hand, with Python's garbage collector off meanwhile (as
  ``bench.measure`` times koepel);
* ``{"cmd": "stop"}`` or end of input ends the runner.

A failure is answered with ``{"error": "..."}`` and the runner exits.
"""

from __future__ import annotations

import gc
import json
import sys
import time
import traceback
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["Query", "Release", "Setup", "serve"]

Setup = dict[str, Any]
Release = Callable[[], int]  # one release; returns the number of rows released
Query = Callable[[], Release]  # readies one release (untimed: a fresh context, say)


def _reply(message: Mapping[str, Any]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def serve(load: Callable[[Setup], Mapping[str, Query]], versions: Mapping[str, str]) -> int:
    """Answer the parent until it says stop; ``load`` reads the rows and returns the queries."""
    try:
        setup: Setup = json.loads(sys.stdin.readline())
        started = time.perf_counter()
        queries = load(setup)
        _reply({"ready": True, "load_seconds": time.perf_counter() - started,
                "versions": dict(versions)})
        for line in sys.stdin:
            message = json.loads(line)
            if message.get("cmd") == "stop":
                break
            run = queries[message["query"]]()
            gc.collect()
            gc.disable()
            try:
                started = time.perf_counter()
                rows = run()
                seconds = time.perf_counter() - started
            finally:
                gc.enable()
            _reply({"seconds": seconds, "rows": rows})
    except Exception as exc:  # the parent shows it and stops the run
        traceback.print_exc(file=sys.stderr)
        _reply({"error": f"{type(exc).__name__}: {exc}"})
        return 1
    return 0
