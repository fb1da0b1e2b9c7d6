"""`python -m bench --smoke` runs every benchmark end to end and writes a complete results file.

Proves the benchmark code works (real stores, real node servers, a real aggregator process),
not how fast anything is: no timing is asserted here (performance is measured in bench/).
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_smoke_run_writes_every_benchmark(tmp_path: Path) -> None:
    out = tmp_path / "results"
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke", "--cache", str(tmp_path / "cache"),
         "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=420, check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    files = list(out.glob("*-smoke.json"))
    assert len(files) == 1
    body = json.loads(files[0].read_text())
    assert body["mode"] == "smoke"
    groups = {row["group"] for row in body["results"]}
    assert groups == {"CLI start-up", "cold start", "node query", "OpenDP", "import", "ledger",
                      "federation", "TLS", "accuracy", "web app", "secure aggregation"}
    # The federation runs with the nodes' own reply quantum and with none, each labelled.
    passes = {row["extra"].get("pass") for row in body["results"]
              if row["group"] == "federation" and row["floor"] is not None}
    assert passes == {"deployed", "quantum0"}
    assert body["budget_year"] >= 3000  # charges go to a budget year of the run's own
    for row in body["results"]:
        assert math.isfinite(row["value"]) and row["value"] > 0, row
    assert body["stores"]["2k"]["rows"]["workers"] > 2000
    assert "federated/central" in done.stdout  # the table was printed
    # Every store the run built stays in the cache it was given, nothing under bench/.
    assert any((tmp_path / "cache").iterdir())
