"""Named sets of sector indicators: what ``koepel report`` asks for.

The ``sector`` set (the default) holds every measure of the current catalogue, grouped as the
sector thinks of it (``SECTIONS``): who we employ, what support they get, where they go and how
they progress in their own words. Titles and explanations are English msgids marked with
``N_``: the report translates them (gettext domain ``reports``). The older ``yearly`` set
holds the yearly indicators of DOMAIN.md §2 that catalogue 2025.1 supports. The numbers in
brackets (``domain_ref``) are DOMAIN.md §2's. A report spends one ε per node in total, split
between its figures by their weights (exactly, in micro-ε), so that an operator decides the
cost of a whole report at once and a dry run can show it.

Indicators of §2 no catalogue serves yet, and so in no set: hours worked (4), hires and the
turnover rate (5: no hires measure), tenure (8), training (12), subsidy mix (14), absence days
(16) and the support intensity ratio (17: no role dimension).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from i18n import N_
from privacy import Catalogue, InvalidQueryError, QuerySpec, Statistic, validate

__all__ = ["REPORTS", "SECTIONS", "Indicator", "report_queries"]

# The sector's own way of looking at its figures, in the order a report shows them.
SECTIONS: Mapping[str, str] = MappingProxyType({
    "employ": N_("Who we employ"),
    "support": N_("What support they get"),
    "destinations": N_("Where they go"),
    "progress": N_("How they progress, in their own words"),
})


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
    section: str = ""  # a key of SECTIONS


_C, _S, _M, _H = Statistic.COUNT, Statistic.SUM, Statistic.MEAN, Statistic.HISTOGRAM

SECTOR = (
    Indicator("headcount_target_group", N_("People employed on 31 December, by target group"),
              "1", "headcount", _C, ("target_group",), 2,
              N_("Workers with a contract on the last day of the year, in the harmonised target "
                 "groups shared by all regions."), "employ"),
    Indicator("headcount_gender", N_("People employed on 31 December, by gender"), "13",
              "headcount", _C, ("gender",), 1,
              N_("The same headcount, by gender (X and unknown are shown together)."), "employ"),
    Indicator("headcount_age", N_("People employed on 31 December, by age band"), "13",
              "headcount", _C, ("age_band",), 1,
              N_("The same headcount, by age at the end of the year."), "employ"),
    Indicator("headcount_education", N_("People employed on 31 December, by education"), "13",
              "headcount", _C, ("education",), 1,
              N_("The same headcount, by the highest level of education completed."), "employ"),
    Indicator("reached_region", N_("People reached during the year, by region"), "2",
              "reached", _C, ("region",), 1,
              N_("Everyone with a contract or an activity at some point in the year, by region "
                 "of residence."), "employ"),
    Indicator("fte_region", N_("Full-time equivalents over the year, by region"), "3",
              "fte", _S, ("region",), 1,
              N_("Each person's working time over the year (all contracts together, at most one "
                 "full-time equivalent), added up."), "employ"),
    Indicator("support_hours", N_("Hours of support per person, by target group"), "9",
              "support_hours", _M, ("target_group",), 2,
              N_("Average hours of individual and group support received in the year (at most "
                 "150 hours counted per person)."), "support"),
    Indicator("support_hours_spread", N_("How many hours of support people received"), "9",
              "support_hours", _H, (), 1,
              N_("The number of people in each band of support hours over the year, and the "
                 "quartiles read from them."), "support"),
    Indicator("plan_coverage", N_("Share of people with a support plan"), "10",
              "plan_coverage", _M, (), 1,
              N_("Among the people active in the year, the share who had a support plan running "
                 "at some point in it."), "support"),
    Indicator("plan_reviewed", N_("Share of support plans reviewed in the year"), "10",
              "plan_reviewed", _M, (), 1,
              N_("Among the people with a support plan in the year, the share whose plan was "
                 "reviewed with them in the year."), "support"),
    Indicator("exits_destination", N_("People who left, by destination"), "5, 15",
              "exited_to_regular_job", _C, ("exit_destination",), 1,
              N_("Everyone whose last exit in the year fell in it, by where they went."),
              "destinations"),
    Indicator("transition_rate", N_("Share of leavers who went to a regular job"), "6",
              "exited_to_regular_job", _M, (), 2,
              N_("Among the people who left in the year, the share who went to a regular "
                 "employer (with or without supported employment) or became self-employed."),
              "destinations"),
    Indicator("retention_12m", N_("Share still employed twelve months later"), "7",
              "retention_12m", _M, (), 1,
              N_("Among the people under contract on 1 January, the share still under contract "
                 "on 31 December."), "destinations"),
    Indicator("competence_gain", N_("Average change in assessed competences"), "11",
              "competence_gain", _M, (), 1,
              N_("For people assessed at least twice, the change between their first and last "
                 "assessment on a 0–1 scale, averaged (−1 to +1)."), "progress"),
    Indicator("self_evaluation_change", N_("Average change in how people rate themselves"),
              "11", "self_evaluation_change", _M, (), 1,
              N_("For people who filled in the self-evaluation at least twice, the change "
                 "between their first and last answers on a 0–1 scale, averaged (−1 to +1): "
                 "their progress in their own words."), "progress"),
)

# The 2025.1 set, kept for federations whose nodes are not on 2026.1 yet.
_BY_KEY = {indicator.key: indicator for indicator in SECTOR}
YEARLY = tuple(_BY_KEY[key] for key in (
    "headcount_target_group", "headcount_gender", "headcount_age", "reached_region",
    "fte_region", "exits_destination", "transition_rate", "support_hours", "competence_gain"))

REPORTS: Mapping[str, tuple[Indicator, ...]] = MappingProxyType({"sector": SECTOR,
                                                                 "yearly": YEARLY})


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
