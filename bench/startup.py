"""CLI start-up: ``koepel --help`` and ``koepel query --help`` against ``python -c pass``.

Each is a fresh interpreter (``python -m cli …`` with this checkout on ``PYTHONPATH``), runs
taking turns. The floor is the bare interpreter start in the same run. Target: ≤ 3× the floor
(the commands and their heavy modules load only when a command runs: cli/main.py).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from bench.measure import Row, interleaved, median

__all__ = ["run_startup"]

TARGET_RATIO = 3.0
ROOT = Path(__file__).resolve().parent.parent


def _spawn(*args: str) -> Callable[[], None]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}

    def call() -> None:
        subprocess.run([sys.executable, *args], cwd=ROOT, env=env, check=True,
                       stdout=subprocess.DEVNULL)
    return call


def run_startup(runs: int, log: Callable[[str], None]) -> list[Row]:
    timed = interleaved({"floor": _spawn("-c", "pass"),
                         "help": _spawn("-m", "cli", "--help"),
                         "query": _spawn("-m", "cli", "query", "--help")}, runs)
    floor_ms = median(timed["floor"]) * 1000
    rows = []
    for key, name in (("help", "koepel --help"), ("query", "koepel query --help")):
        ms = median(timed[key]) * 1000
        log(f"  {name}: {ms:.0f} ms (python -c pass {floor_ms:.0f} ms)")
        rows.append(Row("CLI start-up", name, "fresh interpreter", ms, "ms", floor=floor_ms,
                        floor_name="python -c pass", target=f"≤ {TARGET_RATIO:.0f}× floor",
                        meets=ms <= TARGET_RATIO * floor_ms,
                        samples=[s * 1000 for s in timed[key]],
                        extra={"floor_samples_ms": [s * 1000 for s in timed["floor"]]}))
    return rows
