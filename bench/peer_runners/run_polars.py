"""OpenDP's polars context answering the benchmark's three queries (its own venv).

The documented use: ``dp.Context.compositor`` over a ``LazyFrame`` of the per-person rows (read
once, outside the timing), one person per row (``unit_of(contributions=1)``), each query's ε
as koepel's, the public domain joined in with ``with_keys`` (koepel releases every cell of a
public domain). A context is made for each call before the clock starts; each timed call is
``query() … .release().collect()``: the plan, the calibration of the noise to the query's
budget (the library's own search), the polars work and the noise.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Callable, Mapping
from importlib import metadata
from typing import Any

import opendp.prelude as dp
import polars as pl
from protocol import Query, Release, Setup, serve

dp.enable_features("contrib")
warnings.filterwarnings("ignore", category=FutureWarning)  # dp.len's coming signed default


def load(setup: Setup) -> Mapping[str, Query]:
    frame = pl.read_csv(setup["data"], schema_overrides={
        "pid": pl.String, "active_end": pl.Int64, "target_group": pl.String,
        "region": pl.String, "support_hours": pl.Float64})
    rows = frame.height
    epsilon = float(setup["epsilon"])
    bounds = (float(setup["lower"]), float(setup["upper"]))
    edges = [float(e) for e in setup["edges"]]
    labels = [str(i) for i in range(len(edges) - 1)]
    groups = list(setup["target_groups"])
    regions = list(setup["regions"])
    group_keys = pl.LazyFrame({"target_group": groups})
    region_keys = pl.LazyFrame({"region": regions})
    bin_keys = pl.LazyFrame({"region": [r for r in regions for _ in labels],
                             "bin": labels * len(regions)}).with_columns(
        pl.col("bin").cast(pl.Categorical))
    data = frame.lazy()

    def context() -> Any:
        return dp.Context.compositor(
            data=data, privacy_unit=dp.unit_of(contributions=1),
            privacy_loss=dp.loss_of(epsilon=epsilon), split_evenly_over=1,
            margins=[dp.polars.Margin(by=["target_group"], invariant="keys", max_length=rows,
                                      max_groups=len(groups)),
                     dp.polars.Margin(by=["region"], invariant="keys", max_length=rows,
                                      max_groups=len(regions)),
                     dp.polars.Margin(by=[], max_length=rows)])

    def count(ctx: Any) -> Any:
        return (ctx.query().filter(pl.col("active_end") == 1).group_by("target_group")
                .agg(dp.len()).with_keys(group_keys))

    def mean(ctx: Any) -> Any:
        return (ctx.query().group_by("region")
                .agg(pl.col("support_hours").dp.mean(bounds=bounds)).with_keys(region_keys))

    def hist(ctx: Any) -> Any:
        binned = pl.col("support_hours").clip(*bounds).cut(edges[1:-1], labels=labels,
                                                           left_closed=True)
        return (ctx.query().with_columns(binned.alias("bin")).group_by("region", "bin")
                .agg(dp.len()).with_keys(bin_keys))

    def timed(build: Callable[[Any], Any]) -> Query:
        def ready() -> Release:
            ctx = context()  # a fresh context with one query's budget, before the clock

            def run() -> int:
                return int(build(ctx).release().collect().height)
            return run
        return ready

    return {"count": timed(count), "mean": timed(mean), "hist": timed(hist)}


if __name__ == "__main__":
    sys.exit(serve(load, {p: metadata.version(p) for p in ("opendp", "polars")}))
