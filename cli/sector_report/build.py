"""Gathering a sector report's figures: asked now, or read back from the history (free).

Asking spends each organisation's ε once per figure (the report's total, split by the
indicators' weights); reading back, trends and splits spend nothing: a trend reads the stored
results of earlier years, a split re-combines the answers the aggregator already holds.
"""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Callable, Sequence
from typing import TypeVar

import grpc

from aggregator import Indicator, NodeEntry, SectorResult, spec_to_proto
from aggregator.trends import series
from cli.client import AggregatorClient
from cli.sector_report.model import Figure, Trend
from cli.sector_report.splits import Split, SplitRefused, split_result
from cli.sector_report.text import text_for
from privacy import QuerySpec, shipped_catalogues

__all__ = ["HISTORY_SCAN", "ask", "default_title", "matching", "patiently", "split_figures",
           "trends", "year_range"]

HISTORY_SCAN = 1000  # the aggregator's largest history page
MAX_YEARS = 20
T = TypeVar("T")
_RETRY_IN = re.compile(r"retry in ([0-9.]+) s")
_PATIENCE_SECONDS = 300.0


def patiently(call: Callable[[], T], *, sleep: Callable[[float], None] = time.sleep) -> T:
    """``call``, waited out when the aggregator's rate limit refuses it.

    A report asks many figures in a row and a federation's operator limit (60 a minute, bursts
    of 20, by default) would stop it half-way; the limit is enforced before the aggregator does
    anything, so asking again after the wait it names spends nothing twice.
    """
    waited = 0.0
    while True:
        try:
            return call()
        except grpc.RpcError as error:
            if error.code() != grpc.StatusCode.RESOURCE_EXHAUSTED:
                raise
            found = _RETRY_IN.search(error.details() or "")
            if found is None or waited > _PATIENCE_SECONDS:  # too large, or too long
                raise
            wait = float(found.group(1)) + 0.05
            sleep(wait)
            waited += wait


def default_title(language: str, period: str, periods: Sequence[str]) -> str:
    """The report's title when the operator gives none."""
    _ = text_for(language)
    if periods:
        return _("Sector figures %(first)s–%(last)s", first=periods[0], last=periods[-1])
    return _("Sector figures %(period)s", period=period)


def year_range(first: str, last: str) -> tuple[str, ...]:
    """``--from 2023 --to 2025`` as ("2023", "2024", "2025"); ValueError with the reason."""
    if not (first.isdigit() and last.isdigit() and len(first) == len(last) == 4):
        raise ValueError("--from and --to take calendar years, e.g. --from 2023 --to 2025")
    start, end = int(first), int(last)
    if not start <= end < start + MAX_YEARS:
        raise ValueError(f"--from must not come after --to, and a trend spans at most "
                         f"{MAX_YEARS} years")
    return tuple(str(year) for year in range(start, end + 1))


def _same_question(result: SectorResult, spec: QuerySpec) -> bool:
    s = result.spec
    return (s.catalogue_version, s.measure, s.statistic, s.group_by, s.filters, s.period) == (
        spec.catalogue_version, spec.measure, spec.statistic, spec.group_by, spec.filters,
        spec.period)


def matching(stored: Sequence[SectorResult], queries: Sequence[tuple[Indicator, QuerySpec]]
             ) -> tuple[list[Figure], list[str]]:
    """(the newest stored result of each query, the indicators without one)."""
    figures, missing = [], []
    for indicator, spec in queries:
        found = next((r for r in stored if _same_question(r, spec)), None)  # newest first
        if found is None:
            missing.append(indicator.key)
        else:
            figures.append(Figure(indicator, found))
    return figures, missing


def ask(client: AggregatorClient, queries: Sequence[tuple[Indicator, QuerySpec]],
        deadline: float, aggregation: str = "",
        advance: Callable[[], None] = lambda: None) -> list[Figure]:
    """Ask the federation every figure, one query each."""
    figures = []
    for indicator, spec in queries:
        figures.append(Figure(indicator, patiently(functools.partial(
            client.submit, spec_to_proto(spec), deadline, aggregation=aggregation))))
        advance()
    return figures


def split_figures(client: AggregatorClient, figures: Sequence[Figure],
                  attributes: Sequence[str], nodes: Sequence[NodeEntry]) -> list[Figure]:
    """Each figure with its splits by the given node attributes (no new query)."""
    if not attributes:
        return list(figures)
    out = []
    for figure in figures:
        full = patiently(functools.partial(client.history, figure.result.result_id,
                                           include_receipts=True))[0]
        splits = []
        for attribute in attributes:
            try:
                splits.append(split_result(full, nodes, attribute))
            except SplitRefused as refused:
                splits.append(Split(attribute, (), refused=str(refused)))
        out.append(Figure(figure.indicator, figure.result, tuple(splits)))
    return out


def trends(stored: Sequence[SectorResult], indicators: Sequence[Indicator],
           periods: Sequence[str]) -> list[Trend]:
    """Each indicator over ``periods`` from the stored results, cut where its definition
    changed between catalogue versions."""
    catalogues = shipped_catalogues()
    out = []
    for indicator in indicators:
        segments, missing = series(stored, measure=indicator.measure,
                                   statistic=indicator.statistic, group_by=indicator.group_by,
                                   periods=periods, catalogues=catalogues)
        out.append(Trend(indicator, tuple(segments), tuple(missing)))
    return out
