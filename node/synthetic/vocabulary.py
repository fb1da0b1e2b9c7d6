"""The synthetic organisations' vocabularies and file layout: one source for tests and importers.

The codes a generated organisation uses (DOMAIN.md §1.2) and the column order of each CSV file it
writes (the node's importer reads these files, so the order is part of the API).
"""

from __future__ import annotations

from typing import TypeVar

__all__ = [
    "COMPETENCE_CODES",
    "CONTRACT_TYPES",
    "EDUCATION_LEVELS",
    "EXIT_DESTINATIONS",
    "GENDERS",
    "MAX_ORG_PEOPLE",
    "MIN_ORG_PEOPLE",
    "ORG_TYPES",
    "REGIONS",
    "REGION_OF_ORG_TYPE",
    "REGULAR_DESTINATIONS",
    "ROLES",
    "SUPPORT_ACTION_CODES",
    "TABLE_COLUMNS",
    "TARGET_GROUPS",
]

# --------------------------------------------------------------------------------------------
# Vocabularies (DOMAIN.md §1.2). Exported so tests and importers validate against one source.
# --------------------------------------------------------------------------------------------

ORG_TYPES: tuple[str, ...] = (
    "MAATWERKBEDRIJF",
    "ETA_WAL",
    "ETA_BXL",
    "EI_WAL",
    "CISP_EFT",
    "LDE",
    "ILDE_BXL",
    "SIS",
)

REGIONS: tuple[str, ...] = ("BE-VLG", "BE-WAL", "BE-BRU")

# Each organisation type exists under exactly one regional legal framework (DOMAIN.md §0).
REGION_OF_ORG_TYPE: dict[str, str] = {
    "MAATWERKBEDRIJF": "BE-VLG",
    "LDE": "BE-VLG",
    "ETA_WAL": "BE-WAL",
    "EI_WAL": "BE-WAL",
    "CISP_EFT": "BE-WAL",
    "SIS": "BE-WAL",
    "ETA_BXL": "BE-BRU",
    "ILDE_BXL": "BE-BRU",
}

GENDERS: tuple[str, ...] = ("F", "M", "X", "UNKNOWN")

EDUCATION_LEVELS: tuple[str, ...] = (
    "NONE_OR_PRIMARY",
    "LOWER_SEC",
    "UPPER_SEC",
    "POST_SEC_NON_TERTIARY",
    "TERTIARY",
    "FOREIGN_UNRECOGNISED",
    "UNKNOWN",
)

TARGET_GROUPS: tuple[str, ...] = (
    "TG_DISABILITY",
    "TG_PSYCHOSOCIAL",
    "TG_SEVERELY_DISADV",
    "TG_DISADV",
    "TG_SOCIAL_ASSIST",
    "TG_TRAINEE",
    "NON_TARGET",
)

ROLES: tuple[str, ...] = ("TARGET_WORKER", "SUPERVISORY_STAFF", "TRAINEE", "PARTICIPANT")

CONTRACT_TYPES: tuple[str, ...] = (
    "OPEN_ENDED",
    "FIXED_TERM",
    "ART60_7",
    "TRANSITION_CONTRACT",
    "TRAINING_CONTRACT_CISP",
    "NO_CONTRACT_ACTIVITY",
    "OTHER",
)

SUPPORT_ACTION_CODES: tuple[str, ...] = (
    *(f"SA{i:02d}" for i in range(1, 14)),
    "SA99",
)

COMPETENCE_CODES: tuple[str, ...] = (
    *(f"C{i:02d}" for i in range(1, 12)),
    *(f"B{i:02d}" for i in range(1, 5)),
)

EXIT_DESTINATIONS: tuple[str, ...] = (
    "REGULAR_EMPLOYEE",
    "REGULAR_SELF_EMPLOYED",
    "REGULAR_INTERIM",
    "SUPPORTED_REGULAR",
    "OTHER_SOCIAL_ECONOMY",
    "INTERNAL_TO_STAFF",
    "TRAINING_EDUCATION",
    "JOB_SEEKER",
    "CARE_OR_DAY_ACTIVITY",
    "ILLNESS_INVALIDITY",
    "RETIREMENT",
    "DECEASED",
    "MOVED_OR_LOST",
    "UNKNOWN",
)

# The "doorstroom to the regular economy" destinations most federations count (DOMAIN.md §2.2).
REGULAR_DESTINATIONS: frozenset[str] = frozenset(
    {"REGULAR_EMPLOYEE", "REGULAR_SELF_EMPLOYED", "REGULAR_INTERIM"}
)

# Column order of each CSV. The node importer reads these files, so the order is part of the API.
TABLE_COLUMNS: dict[str, tuple[str, ...]] = {
    "workers": ("person_id", "birth_year", "gender", "education_level", "target_group", "region"),
    "contracts": (
        "contract_id",
        "person_id",
        "role",
        "contract_type",
        "weekly_hours",
        "start_date",
        "end_date",
    ),
    "support_actions": ("action_id", "person_id", "action_date", "duration_min", "action_code"),
    "competence_assessments": (
        "assessment_id",
        "person_id",
        "assessment_date",
        "competence_code",
        "score_norm",
    ),
    "exits": ("exit_id", "person_id", "exit_date", "destination"),
}

# Largest organisation a federation sample may contain: big enough to show the heavy tail of
# maatwerkbedrijven, small enough that a demo over a dozen nodes stays fast.
MAX_ORG_PEOPLE = 2500
# Smallest organisation in a sampled federation. Real LDE/ILDE projects can be smaller, but a
# node with fewer people a year than this can release almost nothing after small-cell
# suppression, so a demo federation leaves them out.
MIN_ORG_PEOPLE = 15

_DAYS_PER_YEAR = 365.25
_T = TypeVar("_T")
_FULL_TIME_HOURS = 38.0  # Default full-time reference in the sector's joint committees [M].
