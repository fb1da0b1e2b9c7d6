"""SmartNoise SQL answering the benchmark's three queries on the per-person rows (its own venv).

Given the peer's best case: the rows are loaded once into SmartNoise's pandas reader (an
in-memory SQLite database, outside the timing), the table is declared row-private (one row per
person, so no per-person subquery or reservoir sampling is needed), and the public domain is
not censored (``censor_dims: false``, as koepel releases every cell of a public domain). Each
timed call is one ``PrivateReader.execute``: parse, rewrite, the SQL, the noise.

* count: people under contract on the last day, by target group;
* mean: support hours by region, clamped to the measure's bounds (a noisy sum and count);
* hist: people per public support-hours bin (the catalogue's edges, clamped), by region.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from importlib import metadata
from typing import Any

import pandas as pd
import snsql
from protocol import Query, Setup, serve


def _bin_case(edges: list[float]) -> str:
    """Bin i holds [edge_i, edge_i+1); values are clamped, so the last bin holds the rest."""
    whens = " ".join(f"WHEN support_hours < {edge!r} THEN {i}"
                     for i, edge in enumerate(edges[1:-1]))
    return f"CASE {whens} ELSE {len(edges) - 2} END"


def load(setup: Setup) -> Mapping[str, Query]:
    frame = pd.read_csv(setup["data"], dtype={"pid": str, "active_end": "int64",
                                              "target_group": str, "region": str,
                                              "support_hours": "float64"})
    meta: dict[str, Any] = {"bench": {"bench": {"people": {
        "row_privacy": True, "censor_dims": False, "rows": len(frame),
        "pid": {"type": "string"},
        "active_end": {"type": "int", "lower": 0, "upper": 1, "nullable": False},
        "target_group": {"type": "string", "nullable": False},
        "region": {"type": "string", "nullable": False},
        "support_hours": {"type": "float", "lower": float(setup["lower"]),
                          "upper": float(setup["upper"]), "nullable": False},
    }}}}
    privacy = snsql.Privacy(epsilon=float(setup["epsilon"]), delta=1e-6)
    reader = snsql.from_df(frame, privacy=privacy, metadata=meta)
    case = _bin_case([float(e) for e in setup["edges"]])
    sql = {
        "count": "SELECT target_group, COUNT(*) AS n FROM bench.people WHERE active_end = 1 "
                 "GROUP BY target_group",
        "mean": "SELECT region, AVG(support_hours) AS m FROM bench.people GROUP BY region",
        "hist": f"SELECT region, {case} AS bin, COUNT(*) AS n FROM bench.people "
                f"GROUP BY region, {case}",
    }

    def query(text: str) -> Query:
        def run() -> int:
            return len(reader.execute(text)) - 1  # the first row names the columns
        return lambda: run

    return {key: query(text) for key, text in sql.items()}


if __name__ == "__main__":
    sys.exit(serve(load, {p: metadata.version(p) for p in ("smartnoise-sql", "opendp",
                                                            "pandas", "SQLAlchemy")}))
