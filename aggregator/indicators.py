"""Named sets of sector indicators: what ``koepel report`` asks for.

The ``yearly`` set holds the yearly indicators of DOMAIN.md §2 that the catalogue supports; the
numbers in brackets are that table's. A report spends one ε per node in total, split between
its figures by their weights (exactly, in micro-ε), so that an operator decides the cost of a
whole report at once and a dry run can show it.

Indicators of §2 the 2025.1 catalogue cannot serve yet, and so are not here: hours worked (4),
hires and the turnover rate (5: no hires measure), retention at +12 months (7), tenure (8),
support plans (10), training (12), subsidy mix (14), absence days (16) and the support
intensity ratio (17: no role dimension).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from privacy import Catalogue, InvalidQueryError, QuerySpec, Statistic, validate

__all__ = ["REPORTS", "Indicator", "report_queries"]


@dataclass(frozen=True)
class Indicator:
    key: str
    title: str
    domain_ref: str  # the indicator's number in DOMAIN.md §2
    measure: str
    statistic: Statistic
    group_by: tuple[str, ...]
    weight: int  # share of the report's ε
    explanation: str  # one or two sentences for a policy maker


YEARLY = (
    Indicator("headcount_target_group", "People employed on 31 December, by target group", "1",
              "headcount", Statistic.COUNT, ("target_group",), 2,
              "Workers with a contract on the last day of the year, in the harmonised target "
              "groups shared by all regions."),
    Indicator("headcount_gender", "People employed on 31 December, by gender", "13",
              "headcount", Statistic.COUNT, ("gender",), 1,
              "The same headcount, by gender (X and unknown are shown together)."),
    Indicator("headcount_age", "People employed on 31 December, by age band", "13",
              "headcount", Statistic.COUNT, ("age_band",), 1,
              "The same headcount, by age at the end of the year."),
    Indicator("reached_region", "People reached during the year, by region", "2",
              "reached", Statistic.COUNT, ("region",), 1,
              "Everyone with a contract or an activity at some point in the year, by region of "
              "residence."),
    Indicator("fte_region", "Full-time equivalents over the year, by region", "3",
              "fte", Statistic.SUM, ("region",), 1,
              "Each person's working time over the year (all contracts together, at most one "
              "full-time equivalent), added up."),
    Indicator("exits_destination", "People who left, by destination", "5, 15",
              "exited_to_regular_job", Statistic.COUNT, ("exit_destination",), 1,
              "Everyone whose last exit in the year fell in it, by where they went."),
    Indicator("transition_rate", "Share of leavers who went to a regular job", "6",
              "exited_to_regular_job", Statistic.MEAN, (), 2,
              "Among the people who left in the year, the share who went to a regular employer "
              "(with or without supported employment) or became self-employed."),
    Indicator("support_hours", "Hours of support per person, by target group", "9",
              "support_hours", Statistic.MEAN, ("target_group",), 2,
              "Average hours of individual and group support received in the year (at most "
              "150 hours counted per person)."),
    Indicator("competence_gain", "Average change in assessed competences", "11",
              "competence_gain", Statistic.MEAN, (), 1,
              "For people assessed at least twice, the change between their first and last "
              "assessment on a 0–1 scale, averaged (−1 to +1)."),
)

REPORTS: Mapping[str, tuple[Indicator, ...]] = MappingProxyType({"yearly": YEARLY})


def report_queries(name: str, *, period: str, epsilon_micro: int,
                   catalogue: Catalogue) -> list[tuple[Indicator, QuerySpec]]:
    """The report's queries with their ε shares; refuses a report the catalogue cannot serve."""
    indicators = REPORTS.get(name)
    if indicators is None:
        raise InvalidQueryError(f"unknown report {name!r}; known: {', '.join(sorted(REPORTS))}")
    total_weight = sum(i.weight for i in indicators)
    shares = [epsilon_micro * i.weight // total_weight for i in indicators]
    shares[0] += epsilon_micro - sum(shares)  # exact: the shares add up to the report's ε
    if min(shares) <= 0:
        raise InvalidQueryError(f"ε={epsilon_micro / 1e6:g} is too small to split over "
                                f"{len(indicators)} figures")
    queries = []
    for indicator, share in zip(indicators, shares, strict=True):
        spec = QuerySpec(catalogue.version, indicator.measure, indicator.statistic,
                         indicator.group_by, (), period, share)
        try:
            validate(spec, catalogue)
        except InvalidQueryError as error:
            raise InvalidQueryError(
                f"report {name!r}, figure {indicator.key!r}: {error}") from None
        queries.append((indicator, spec))
    return queries
