"""What a sector report holds, whatever it is written as (HTML, PDF, XLSX)."""

from __future__ import annotations

from dataclasses import dataclass

from aggregator import Indicator, NodeOutcome, SectorResult
from aggregator.trends import Segment
from cli.sector_report.splits import Split

__all__ = ["Figure", "SectorReport", "Trend"]


@dataclass(frozen=True)
class Figure:
    indicator: Indicator
    result: SectorResult
    splits: tuple[Split, ...] = ()


@dataclass(frozen=True)
class Trend:
    indicator: Indicator
    segments: tuple[Segment, ...]
    missing: tuple[str, ...]  # periods without a stored result


@dataclass(frozen=True)
class SectorReport:
    title: str
    federation: str
    period: str  # the reference period of the figures (the last one of a trend)
    generated_at: str  # ISO 8601 UTC
    figures: tuple[Figure, ...]
    trends: tuple[Trend, ...] = ()
    periods: tuple[str, ...] = ()  # a trend's periods, oldest first

    @property
    def epsilon_micro(self) -> int:
        """The most any one organisation spent on the report's figures."""
        return sum(f.result.spec.epsilon_micro for f in self.figures)

    @property
    def catalogue_version(self) -> str:
        return self.figures[0].result.spec.catalogue_version if self.figures else ""

    def organisations(self) -> list[tuple[str, int, int]]:
        """(node id, figures it answered, figures asked) for every organisation named."""
        seen: dict[str, list[int]] = {}
        for figure in self.figures:
            for node in figure.result.nodes:
                counts = seen.setdefault(node.node_id, [0, 0])
                counts[1] += 1
                counts[0] += node.outcome is NodeOutcome.ANSWERED
        return [(node_id, a, n) for node_id, (a, n) in seen.items()]
