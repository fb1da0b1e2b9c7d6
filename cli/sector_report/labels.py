"""What the report calls the catalogue's codes and the kinds of organisation (msgids).

The catalogue's dimensions have closed public domains, so every code a sector result can hold
is listed here; a code not listed (a newer catalogue's) is shown as it is. The kinds of
organisation are federation.toml's ``kind`` attribute (DOMAIN.md's ``org_type``), used to split
the report.
"""

from __future__ import annotations

from collections.abc import Mapping

from aggregator import NodeOutcome
from i18n import N_

__all__ = ["ATTRIBUTES", "CODE_LABELS", "OUTCOMES", "label_of"]

# What became of an organisation's part in a figure, as the report says it.
OUTCOMES: Mapping[NodeOutcome, str] = {
    NodeOutcome.ANSWERED: N_("answered"),
    NodeOutcome.UNAVAILABLE: N_("down"),
    NodeOutcome.DEADLINE_EXCEEDED: N_("too slow"),
    NodeOutcome.BUDGET_EXHAUSTED: N_("out of budget"),
    NodeOutcome.CATALOGUE_VERSION: N_("other catalogue"),
    NodeOutcome.REFUSED: N_("refused"),
    NodeOutcome.NOT_SHARED: N_("not shared by this organisation"),
    NodeOutcome.INVALID: N_("invalid"),
    NodeOutcome.ERROR: N_("error"),
}

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
    "kind": {
        "MAATWERKBEDRIJF": N_("custom work company (maatwerkbedrijf)"),
        "MAATWERKAFDELING": N_("custom work department (maatwerkafdeling)"),
        "LDE": N_("local services economy (LDE)"),
        "ARBEIDSMATIGE_ACT": N_("work-like activities"),
        "IMW_EMPLOYER": N_("employer with individual custom work"),
        "ETA_WAL": N_("adapted work enterprise, Wallonia (ETA)"),
        "ETA_BXL": N_("adapted work enterprise, Brussels (ETA)"),
        "ETA_DG": N_("adapted work enterprise, German-speaking Community"),
        "EI_WAL": N_("insertion enterprise, Wallonia (EI)"),
        "EI_BXL": N_("insertion enterprise, Brussels"),
        "IDESS": N_("local social economy initiative (IDESS)"),
        "CISP_EFT": N_("socio-professional integration centre (CISP, EFT)"),
        "CISP_DEFI": N_("socio-professional integration centre (CISP, DéFI)"),
        "CISP_MIXED": N_("socio-professional integration centre (CISP)"),
        "SIS": N_("social integration service (SIS)"),
        "ILDE_BXL": N_("local development initiative, Brussels (ILDE)"),
        "CPAS": N_("public social welfare centre (CPAS/OCMW)"),
    },
}
# The node attributes of federation.toml a report can be split by, and what each is called.
ATTRIBUTES: Mapping[str, str] = {"kind": N_("kind of organisation"),
                                 "region": N_("region of the organisation")}


def label_of(dimension: str, code: str) -> str:
    """The msgid for ``code`` of ``dimension`` (a node's region reads as the region's)."""
    return CODE_LABELS.get(dimension, {}).get(code, code or N_("not registered"))
