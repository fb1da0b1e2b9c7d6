"""What the catalogue's codes are called in a report (msgids of the gettext domain ``reports``).

The catalogue's dimensions have closed public domains, so every code a sector result can hold
is listed here; a code not listed (a newer catalogue's) is shown as it is. Both the sector
report (cli/sector_report) and the organisation's side-by-side page use them.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from i18n import N_

__all__ = ["CODE_LABELS", "MEASURE_TITLES", "PAGE_TEXT", "SECTION_TITLES", "STATISTIC_NAMES",
           "UNITS", "label_of"]

CODE_LABELS: Mapping[str, Mapping[str, str]] = {
    "target_group": {
        "TG_DISABILITY": N_("people with a disability"),
        "TG_PSYCHOSOCIAL": N_("people with psychosocial problems"),
        "TG_SEVERELY_DISADV": N_("severely disadvantaged job seekers"),
        "TG_DISADV": N_("disadvantaged job seekers"),
        "TG_SOCIAL_ASSIST": N_("people on social assistance"),
        "TG_TRAINEE": N_("trainees"),
        "NON_TARGET": N_("not in a target group"),
    },
    "gender": {"F": N_("women"), "M": N_("men"), "X_OR_UNKNOWN": N_("X or unknown")},
    "age_band": {"LT25": N_("under 25"), "25_34": N_("25 to 34"), "35_44": N_("35 to 44"),
                 "45_54": N_("45 to 54"), "55_PLUS": N_("55 and over")},
    "education": {"LOW": N_("at most lower secondary"), "MID": N_("upper secondary"),
                  "HIGH": N_("higher education"), "UNKNOWN": N_("unknown or not recognised")},
    "region": {"BE-VLG": N_("Flanders"), "BE-WAL": N_("Wallonia"), "BE-BRU": N_("Brussels")},
    "exit_destination": {
        "REGULAR_JOB": N_("a regular job"),
        "OTHER_SOCIAL_ECONOMY": N_("elsewhere in the social economy"),
        "TRAINING": N_("training or education"), "UNEMPLOYMENT": N_("job seeking"),
        "RETIREMENT": N_("retirement"), "ILLNESS": N_("illness or invalidity"),
        "OTHER": N_("other or unknown"),
    },
}


# What each measure of the catalogue counts, as a heading (the node's side-by-side page).
MEASURE_TITLES: Mapping[str, str] = {
    "headcount": N_("People under contract on the last day of the period"),
    "reached": N_("People with a contract or activity during the period"),
    "fte": N_("Full-time equivalents over the period"),
    "support_hours": N_("Hours of support received in the period"),
    "competence_gain": N_("Change in assessed competences"),
    "exited_to_regular_job": N_("Leavers who went to a regular job"),
    "plan_coverage": N_("People with a support plan"),
    "plan_reviewed": N_("Support plans reviewed in the period"),
    "retention_12m": N_("Still under contract twelve months later"),
    "self_evaluation_change": N_("Change in how people rate themselves"),
}
STATISTIC_NAMES: Mapping[str, str] = {"count": N_("number of people"), "sum": N_("total"),
                                      "mean": N_("average or share"),
                                      "histogram": N_("people per band")}

# The organisation's own report (node/organisation/report.py, org_report.py), printed.
SECTION_TITLES: Mapping[str, str] = {
    "headcount": N_("People under contract on the last day"),
    "fte": N_("Full-time equivalent over the period"),
    "reached": N_("People with a contract or activity during the period"),
    "exits": N_("People who left (last exit of the period), by destination"),
    "support_hours": N_("Hours of support received"),
    "support_hours_per_person": N_("Hours of support per person reached"),
    "competence_progression": N_("Competence progression (people assessed twice)"),
    "plan_coverage": N_("Share of people reached who have a support plan"),
    "plan_review_rate": N_("Share of plans reviewed in the period (people with a plan)"),
    "retention_12m": N_("Still under contract 12 months on (people under contract on the "
                        "first day)"),
    "self_evaluation_change": N_("Change in self-evaluation (people who answered twice)"),
    "transition_regular_economy": N_("Share of leavers who left for a regular job"),
    "competence_by_support_kind": N_("Competence progression by kind of support received in "
                                     "the period"),
    "support_hours_by_kind": N_("Hours of support by kind (all hours, not capped)"),
    "plan_goals": N_("Goals of the support plans active in the period, by domain and status"),
    "exits_by_tenure": N_("People who left (last exit of the period), by destination and "
                          "tenure at exit"),
}
UNITS: Mapping[str, str] = {"people": N_("people"), "FTE": N_("FTE"), "hours": N_("hours"),
                            "hours per person": N_("hours per person"),
                            "mean change": N_("mean change"), "share": N_("share"),
                            "goals": N_("goals")}

# The printed organisation report's own sentences (node/organisation/report_html.py).
PAGE_TEXT: Mapping[str, str] = {
    "title": N_("%(organisation)s: accompaniment and employment, %(period)s"),
    "meta": N_("Exact figures computed on node %(node)s on %(when)s, with the definitions of "
               "the federation catalogue %(version)s. Local only: nothing was noised, charged "
               "or sent. Keep this page within the organisation."),
    "overall": N_("overall"), "total": N_("total"), "people": N_("people"), "all": N_("all"),
    "not_shown": N_("Not shown: %(what)s"),
}

_NONE: Mapping[str, Mapping[str, str]] = MappingProxyType({})


def label_of(dimension: str, code: str, extra: Mapping[str, Mapping[str, str]] = _NONE) -> str:
    """The msgid for ``code`` of ``dimension`` (``extra``: more dimensions, e.g. node kinds)."""
    labels = extra.get(dimension) or CODE_LABELS.get(dimension, {})
    return labels.get(code, code or N_("not registered"))
