"""Synthetic social-economy organisations for the demo, the tests and the benchmarks.

Real records of people with a disability or on social assistance can never be shipped with the
code, yet every part of koepel (import, indicators, DP release, federation) needs data that
*looks* like the sector's: the same tables a node imports, the same vocabularies, and plausible
proportions per segment so that a demo dashboard shows numbers a federation would recognise.
The figures come from DOMAIN.md §3 (sizes §3.1, composition §3.2, dynamics §3.3); most of them
are order-of-magnitude defaults, so the generator aims for "right shape", not exact calibration.

Everything is driven by ``random.Random`` seeded from the caller's seed, so the same inputs give
byte-identical tables on every machine and Python run (string seeds are hashed with SHA-512,
independent of ``PYTHONHASHSEED``).

How the population is drawn: a person "active during the reference year" is a person whose
episode ``[start, exit)`` overlaps that year. With a constant intake and a tenure distribution
``f(d)``, the episodes overlapping a one-year window have density proportional to
``f(d) * (d + 1)`` (an episode of ``d`` years can start anywhere in ``d + 1`` years), with the
start uniform in that range. Sampling exactly that makes exit rates, tenure and intake
consistent with each other: exits per average headcount come out near ``1 / mean tenure``.
"""

from __future__ import annotations

import bisect
import csv
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Generic, TypeVar

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
    "OrgProfile",
    "SyntheticOrg",
    "generate_organisation",
    "sample_federation",
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


# --------------------------------------------------------------------------------------------
# Weighted choice
# --------------------------------------------------------------------------------------------


class _Picker(Generic[_T]):
    """A weighted categorical draw with a precomputed cumulative table.

    ``random.choices`` rebuilds its cumulative weights on every call; the generator draws
    hundreds of thousands of codes for a big organisation, so the table is built once.
    """

    __slots__ = ("_cum", "_total", "_values")

    def __init__(self, weights: Sequence[tuple[_T, float]]) -> None:
        if not weights or any(w < 0 for _, w in weights):
            raise ValueError("a picker needs at least one value and non-negative weights")
        self._values = tuple(v for v, _ in weights)
        cum: list[float] = []
        acc = 0.0
        for _, w in weights:
            acc += w
            cum.append(acc)
        if acc <= 0:
            raise ValueError("a picker needs a positive total weight")
        self._cum = cum
        self._total = acc

    def pick(self, rng: random.Random) -> _T:
        i = bisect.bisect_right(self._cum, rng.random() * self._total)
        return self._values[min(i, len(self._values) - 1)]

    def lookup_table(self, size: int = 1000) -> tuple[_T, ...]:
        """The values repeated in proportion to their weights (to 1/size), for hot loops where
        indexing with ``int(random() * size)`` is several times cheaper than ``pick``."""
        table: list[_T] = []
        prev = 0
        for value, c in zip(self._values, self._cum, strict=True):
            upto = round(c / self._total * size)
            table.extend([value] * (upto - prev))
            prev = upto
        return tuple(table)


def _hours_band(rng: random.Random, bands: _Picker[tuple[float, float]]) -> float:
    """Support hours: a weighted band (maatwerk has LAAG/MIDDEN/HOOG), then uniform in it."""
    lo, hi = bands.pick(rng)
    return rng.uniform(lo, hi)


# --------------------------------------------------------------------------------------------
# Segment calibration (DOMAIN.md §3). [M]-figures are defaults, not truth.
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Tenure:
    """Lognormal episode length in years, truncated at ``cap`` (a programme's maximum length)."""

    median: float
    sigma: float
    cap: float


@dataclass(frozen=True)
class _Size:
    """DOMAIN.md §3.1 lognormal of *target workers* (or trainees per year), truncated to
    ``[lo, hi]``, and the factor turning it into people active in a year (staff on top, plus
    the people who leave and are replaced during the year)."""

    median: float
    sigma: float
    lo: float
    hi: float
    uplift: float


@dataclass(frozen=True)
class _Segment:
    """Everything that differs between organisation types, in one place for review."""

    role: str
    target_mix: _Picker[str]
    staff_share: float
    female_share: float
    age: tuple[float, float, int, int]  # mean, sd, min, max age in the reference year
    education: _Picker[str]
    tenure: dict[str, _Tenure]  # by target group; "*" is the default
    destinations: _Picker[str]
    contract_types: _Picker[str]
    fulltime_share: float
    parttime_hours: tuple[float, ...]
    support_hours: _Picker[tuple[float, float]]  # yearly hours per person: band, weight
    action_codes: _Picker[str]
    renewal_prob: float
    concurrent_prob: float
    size: _Size
    name_prefixes: tuple[str, ...]
    dutch: bool


_PARTTIME: tuple[float, ...] = (19.0, 22.8, 24.0, 28.5, 30.4, 32.0, 15.2)

_EDU_LOW_FL = _Picker(
    [
        ("NONE_OR_PRIMARY", 0.30),
        ("LOWER_SEC", 0.50),
        ("UPPER_SEC", 0.12),
        ("POST_SEC_NON_TERTIARY", 0.02),
        ("TERTIARY", 0.01),
        ("FOREIGN_UNRECOGNISED", 0.02),
        ("UNKNOWN", 0.03),
    ]
)
_EDU_ETA = _Picker(
    [
        ("NONE_OR_PRIMARY", 0.36),
        ("LOWER_SEC", 0.44),
        ("UPPER_SEC", 0.12),
        ("POST_SEC_NON_TERTIARY", 0.02),
        ("TERTIARY", 0.01),
        ("FOREIGN_UNRECOGNISED", 0.01),
        ("UNKNOWN", 0.04),
    ]
)
# TD status requires no CESS, so 85–95 % have no upper-secondary diploma (DOMAIN.md §3.2).
_EDU_EI = _Picker(
    [
        ("NONE_OR_PRIMARY", 0.30),
        ("LOWER_SEC", 0.52),
        ("UPPER_SEC", 0.06),
        ("POST_SEC_NON_TERTIARY", 0.01),
        ("TERTIARY", 0.01),
        ("FOREIGN_UNRECOGNISED", 0.07),
        ("UNKNOWN", 0.03),
    ]
)
_EDU_BXL = _Picker(
    [
        ("NONE_OR_PRIMARY", 0.25),
        ("LOWER_SEC", 0.40),
        ("UPPER_SEC", 0.10),
        ("POST_SEC_NON_TERTIARY", 0.02),
        ("TERTIARY", 0.02),
        ("FOREIGN_UNRECOGNISED", 0.16),
        ("UNKNOWN", 0.05),
    ]
)
# CISP: more than two thirds of stagiaires have no secondary diploma.
_EDU_CISP = _Picker(
    [
        ("NONE_OR_PRIMARY", 0.30),
        ("LOWER_SEC", 0.40),
        ("UPPER_SEC", 0.12),
        ("POST_SEC_NON_TERTIARY", 0.02),
        ("TERTIARY", 0.02),
        ("FOREIGN_UNRECOGNISED", 0.10),
        ("UNKNOWN", 0.04),
    ]
)
_EDU_STAFF = _Picker(
    [
        ("LOWER_SEC", 0.05),
        ("UPPER_SEC", 0.35),
        ("POST_SEC_NON_TERTIARY", 0.10),
        ("TERTIARY", 0.48),
        ("UNKNOWN", 0.02),
    ]
)

# Exits: sheltered segments lose people mostly to retirement and illness; integration segments
# to jobs, training and unemployment (DOMAIN.md §3.3).
_DEST_MAATWERK = _Picker(  # 11 % of exits to the regular economy
    [
        ("REGULAR_EMPLOYEE", 0.08),
        ("REGULAR_INTERIM", 0.03),
        ("SUPPORTED_REGULAR", 0.04),
        ("OTHER_SOCIAL_ECONOMY", 0.06),
        ("INTERNAL_TO_STAFF", 0.02),
        ("TRAINING_EDUCATION", 0.01),
        ("JOB_SEEKER", 0.12),
        ("CARE_OR_DAY_ACTIVITY", 0.08),
        ("ILLNESS_INVALIDITY", 0.20),
        ("RETIREMENT", 0.25),
        ("DECEASED", 0.02),
        ("MOVED_OR_LOST", 0.04),
        ("UNKNOWN", 0.05),
    ]
)
_DEST_ETA = _Picker(  # the "tremplin" role was never really fulfilled: 5 % regular
    [
        ("REGULAR_EMPLOYEE", 0.04),
        ("REGULAR_INTERIM", 0.01),
        ("SUPPORTED_REGULAR", 0.02),
        ("OTHER_SOCIAL_ECONOMY", 0.03),
        ("INTERNAL_TO_STAFF", 0.01),
        ("TRAINING_EDUCATION", 0.01),
        ("JOB_SEEKER", 0.08),
        ("CARE_OR_DAY_ACTIVITY", 0.05),
        ("ILLNESS_INVALIDITY", 0.28),
        ("RETIREMENT", 0.35),
        ("DECEASED", 0.03),
        ("MOVED_OR_LOST", 0.03),
        ("UNKNOWN", 0.06),
    ]
)
_DEST_EI = _Picker(  # 29 % regular (DOMAIN: 20–40 %)
    [
        ("REGULAR_EMPLOYEE", 0.22),
        ("REGULAR_SELF_EMPLOYED", 0.01),
        ("REGULAR_INTERIM", 0.06),
        ("SUPPORTED_REGULAR", 0.01),
        ("OTHER_SOCIAL_ECONOMY", 0.07),
        ("INTERNAL_TO_STAFF", 0.02),
        ("TRAINING_EDUCATION", 0.07),
        ("JOB_SEEKER", 0.30),
        ("CARE_OR_DAY_ACTIVITY", 0.01),
        ("ILLNESS_INVALIDITY", 0.07),
        ("RETIREMENT", 0.03),
        ("DECEASED", 0.005),
        ("MOVED_OR_LOST", 0.045),
        ("UNKNOWN", 0.08),
    ]
)
_DEST_TRANSITION = _Picker(  # LDE / ILDE: 33 % regular (DOMAIN: 25–45 %)
    [
        ("REGULAR_EMPLOYEE", 0.24),
        ("REGULAR_SELF_EMPLOYED", 0.01),
        ("REGULAR_INTERIM", 0.08),
        ("SUPPORTED_REGULAR", 0.02),
        ("OTHER_SOCIAL_ECONOMY", 0.10),
        ("INTERNAL_TO_STAFF", 0.01),
        ("TRAINING_EDUCATION", 0.10),
        ("JOB_SEEKER", 0.28),
        ("CARE_OR_DAY_ACTIVITY", 0.02),
        ("ILLNESS_INVALIDITY", 0.04),
        ("RETIREMENT", 0.01),
        ("MOVED_OR_LOST", 0.04),
        ("UNKNOWN", 0.05),
    ]
)
# CISP: among known outcomes ~24 % employment (regular + social economy), ~45 % further training.
_DEST_CISP = _Picker(
    [
        ("REGULAR_EMPLOYEE", 0.12),
        ("REGULAR_SELF_EMPLOYED", 0.005),
        ("REGULAR_INTERIM", 0.04),
        ("OTHER_SOCIAL_ECONOMY", 0.04),
        ("TRAINING_EDUCATION", 0.38),
        ("JOB_SEEKER", 0.22),
        ("CARE_OR_DAY_ACTIVITY", 0.01),
        ("ILLNESS_INVALIDITY", 0.03),
        ("MOVED_OR_LOST", 0.04),
        ("UNKNOWN", 0.115),
    ]
)
# SIS: social insertion is a step before socio-professional insertion (often on to a CISP).
_DEST_SIS = _Picker(
    [
        ("REGULAR_EMPLOYEE", 0.04),
        ("OTHER_SOCIAL_ECONOMY", 0.08),
        ("TRAINING_EDUCATION", 0.25),
        ("JOB_SEEKER", 0.20),
        ("CARE_OR_DAY_ACTIVITY", 0.15),
        ("ILLNESS_INVALIDITY", 0.08),
        ("MOVED_OR_LOST", 0.08),
        ("UNKNOWN", 0.12),
    ]
)
_DEST_STAFF = _Picker(
    [
        ("REGULAR_EMPLOYEE", 0.45),
        ("OTHER_SOCIAL_ECONOMY", 0.15),
        ("TRAINING_EDUCATION", 0.02),
        ("JOB_SEEKER", 0.08),
        ("ILLNESS_INVALIDITY", 0.05),
        ("RETIREMENT", 0.15),
        ("UNKNOWN", 0.10),
    ]
)

_ACTIONS_SHELTERED = _Picker(  # maatwerk / ETA: mostly work-floor coaching
    [
        ("SA02", 0.22),
        ("SA03", 0.30),
        ("SA04", 0.06),
        ("SA05", 0.10),
        ("SA06", 0.08),
        ("SA07", 0.03),
        ("SA08", 0.03),
        ("SA09", 0.03),
        ("SA10", 0.06),
        ("SA11", 0.04),
        ("SA13", 0.03),
        ("SA99", 0.02),
    ]
)
_ACTIONS_INSERTION = _Picker(  # EI / LDE / ILDE: more non-work barriers and job search
    [
        ("SA02", 0.25),
        ("SA03", 0.18),
        ("SA04", 0.05),
        ("SA05", 0.12),
        ("SA06", 0.12),
        ("SA07", 0.10),
        ("SA08", 0.05),
        ("SA09", 0.05),
        ("SA10", 0.04),
        ("SA11", 0.01),
        ("SA13", 0.02),
        ("SA99", 0.01),
    ]
)
_ACTIONS_TRAINING = _Picker(  # CISP / SIS: psychosocial support around the training
    [
        ("SA02", 0.25),
        ("SA03", 0.10),
        ("SA04", 0.05),
        ("SA05", 0.15),
        ("SA06", 0.12),
        ("SA07", 0.10),
        ("SA08", 0.05),
        ("SA09", 0.06),
        ("SA10", 0.08),
        ("SA13", 0.03),
        ("SA99", 0.01),
    ]
)

# Minutes per action type, in steps of 5; all within 15–240 min.
_ACTION_MINUTES: dict[str, tuple[int, ...]] = {
    code: tuple(range(lo, hi + 1, 5))
    for code, (lo, hi) in {
        "SA01": (45, 120),
        "SA02": (20, 90),
        "SA03": (15, 120),
        "SA04": (30, 90),
        "SA05": (30, 120),
        "SA06": (15, 90),
        "SA07": (30, 120),
        "SA08": (30, 120),
        "SA09": (15, 60),
        "SA10": (60, 240),
        "SA11": (30, 180),
        "SA12": (15, 60),
        "SA13": (45, 120),
        "SA99": (15, 90),
    }.items()
}

_FL_PREFIXES = ("Maatwerkbedrijf", "Werkplaats", "Atelier")
_SEGMENTS: dict[str, _Segment] = {
    # FL maatwerk: PMAH ≈ 70 %, PMP ≈ 30 %; 64 % men; long tenure (ex-BW 10–15 y, ex-SW 5–8 y).
    "MAATWERKBEDRIJF": _Segment(
        role="TARGET_WORKER",
        target_mix=_Picker([("TG_DISABILITY", 0.70), ("TG_PSYCHOSOCIAL", 0.30)]),
        staff_share=0.15,
        female_share=0.36,
        age=(44.0, 11.5, 19, 64),
        education=_EDU_LOW_FL,
        tenure={
            "*": _Tenure(10.0, 0.7, 45.0),
            "TG_PSYCHOSOCIAL": _Tenure(6.0, 0.7, 40.0),
        },
        destinations=_DEST_MAATWERK,
        contract_types=_Picker([("OPEN_ENDED", 0.88), ("FIXED_TERM", 0.10), ("OTHER", 0.02)]),
        fulltime_share=0.60,
        parttime_hours=_PARTTIME,
        # WOP support levels LAAG ≈ 35 h, MIDDEN ≈ 60 h, HOOG ≈ 100 h a year.
        support_hours=_Picker([((30.0, 40.0), 0.15), ((50.0, 70.0), 0.50), ((85.0, 100.0), 0.35)]),
        action_codes=_ACTIONS_SHELTERED,
        renewal_prob=0.15,
        concurrent_prob=0.04,
        size=_Size(110.0, 0.9, 20.0, 1500.0, 1.28),
        name_prefixes=_FL_PREFIXES,
        dutch=True,
    ),
    # WAL ETA: ~93 % AViQ quota; 25–35 % women; 58 % aged 45+; ~85 % full-time; tenure 12–18 y.
    "ETA_WAL": _Segment(
        role="TARGET_WORKER",
        target_mix=_Picker(
            [("TG_DISABILITY", 0.95), ("TG_PSYCHOSOCIAL", 0.04), ("TG_SOCIAL_ASSIST", 0.01)]
        ),
        staff_share=0.13,
        female_share=0.30,
        age=(47.5, 10.5, 19, 64),
        education=_EDU_ETA,
        tenure={"*": _Tenure(13.0, 0.65, 45.0), "TG_SOCIAL_ASSIST": _Tenure(1.3, 0.3, 2.5)},
        destinations=_DEST_ETA,
        contract_types=_Picker([("OPEN_ENDED", 0.90), ("FIXED_TERM", 0.09), ("OTHER", 0.01)]),
        fulltime_share=0.85,
        parttime_hours=_PARTTIME,
        support_hours=_Picker([((20.0, 50.0), 1.0)]),
        action_codes=_ACTIONS_SHELTERED,
        renewal_prob=0.12,
        concurrent_prob=0.02,
        size=_Size(140.0, 0.6, 30.0, 600.0, 1.23),
        name_prefixes=("ETA", "Atelier", "Entreprise de travail adapté"),
        dutch=False,
    ),
    # BXL ETA: PHARE decisions, >70 % psychic or cognitive (still TG_DISABILITY).
    "ETA_BXL": _Segment(
        role="TARGET_WORKER",
        target_mix=_Picker([("TG_DISABILITY", 0.95), ("TG_PSYCHOSOCIAL", 0.05)]),
        staff_share=0.14,
        female_share=0.33,
        age=(46.0, 10.5, 19, 64),
        education=_EDU_ETA,
        tenure={"*": _Tenure(12.0, 0.65, 45.0)},
        destinations=_DEST_ETA,
        contract_types=_Picker([("OPEN_ENDED", 0.90), ("FIXED_TERM", 0.09), ("OTHER", 0.01)]),
        fulltime_share=0.80,
        parttime_hours=_PARTTIME,
        support_hours=_Picker([((20.0, 50.0), 1.0)]),
        action_codes=_ACTIONS_SHELTERED,
        renewal_prob=0.12,
        concurrent_prob=0.02,
        size=_Size(110.0, 0.5, 30.0, 400.0, 1.23),
        name_prefixes=("ETA", "Atelier", "Entreprise de travail adapté"),
        dutch=False,
    ),
    # WAL EI: TD/TGD ≈ 60/40, art. 60 ≈ 5–10 %; exits 20–30 % a year; median tenure 2–4 y.
    "EI_WAL": _Segment(
        role="TARGET_WORKER",
        target_mix=_Picker(
            [
                ("TG_DISADV", 0.54),
                ("TG_SEVERELY_DISADV", 0.36),
                ("TG_SOCIAL_ASSIST", 0.075),
                ("TG_DISABILITY", 0.025),
            ]
        ),
        staff_share=0.12,
        female_share=0.45,  # replaced per organisation by its activity, see _EI_ACTIVITIES
        age=(37.0, 11.0, 19, 64),
        education=_EDU_EI,
        tenure={"*": _Tenure(3.0, 0.8, 20.0), "TG_SOCIAL_ASSIST": _Tenure(1.3, 0.3, 2.5)},
        destinations=_DEST_EI,
        contract_types=_Picker([("OPEN_ENDED", 0.55), ("FIXED_TERM", 0.43), ("OTHER", 0.02)]),
        fulltime_share=0.55,
        parttime_hours=_PARTTIME,
        support_hours=_Picker([((40.0, 70.0), 1.0)]),
        action_codes=_ACTIONS_INSERTION,
        renewal_prob=0.25,
        concurrent_prob=0.03,
        size=_Size(25.0, 1.2, 3.0, 800.0, 1.42),
        name_prefixes=("Entreprise d'insertion", "Coopérative", "Ressourcerie"),
        dutch=False,
    ),
    # WAL CISP: stagiaires on a Forem training contract, most leave within 12–18 months.
    "CISP_EFT": _Segment(
        role="TRAINEE",
        target_mix=_Picker([("TG_TRAINEE", 1.0)]),
        staff_share=0.11,
        female_share=0.45,
        age=(30.0, 10.0, 18, 64),
        education=_EDU_CISP,
        tenure={"*": _Tenure(0.75, 0.45, 1.5)},
        destinations=_DEST_CISP,
        contract_types=_Picker([("TRAINING_CONTRACT_CISP", 1.0)]),
        fulltime_share=0.0,
        parttime_hours=(12.0, 16.0, 20.0, 24.0, 28.0, 30.0),
        support_hours=_Picker([((15.0, 40.0), 1.0)]),
        action_codes=_ACTIONS_TRAINING,
        renewal_prob=0.10,
        concurrent_prob=0.0,
        size=_Size(70.0, 0.8, 12.0, 600.0, 1.12),
        name_prefixes=("CISP", "Centre de formation", "EFT"),
        dutch=False,
    ),
    # FL LDE: programme-limited competence trajectories of 1–3 years; 66 % men.
    "LDE": _Segment(
        role="TARGET_WORKER",
        target_mix=_Picker(
            [
                ("TG_SEVERELY_DISADV", 0.55),
                ("TG_PSYCHOSOCIAL", 0.25),
                ("TG_DISADV", 0.15),
                ("TG_DISABILITY", 0.05),
            ]
        ),
        staff_share=0.10,
        female_share=0.34,
        age=(42.0, 11.0, 19, 64),
        education=_EDU_LOW_FL,
        tenure={"*": _Tenure(1.8, 0.45, 3.5)},
        destinations=_DEST_TRANSITION,
        contract_types=_Picker(
            [("TRANSITION_CONTRACT", 0.80), ("FIXED_TERM", 0.18), ("OTHER", 0.02)]
        ),
        fulltime_share=0.45,
        parttime_hours=_PARTTIME,
        support_hours=_Picker([((40.0, 80.0), 1.0)]),
        action_codes=_ACTIONS_INSERTION,
        renewal_prob=0.20,
        concurrent_prob=0.02,
        size=_Size(10.0, 0.8, 3.0, 80.0, 1.65),
        name_prefixes=("Buurtwerk", "Wijkatelier", "Dienstencentrum"),
        dutch=True,
    ),
    # BXL ESI/ILDE: transition contracts for low-qualified Brussels job seekers; many art. 60.
    "ILDE_BXL": _Segment(
        role="TARGET_WORKER",
        target_mix=_Picker(
            [("TG_DISADV", 0.45), ("TG_SEVERELY_DISADV", 0.30), ("TG_SOCIAL_ASSIST", 0.25)]
        ),
        staff_share=0.12,
        female_share=0.40,
        age=(33.0, 10.0, 19, 64),
        education=_EDU_BXL,
        tenure={"*": _Tenure(1.4, 0.4, 2.5), "TG_SOCIAL_ASSIST": _Tenure(1.3, 0.3, 2.5)},
        destinations=_DEST_TRANSITION,
        contract_types=_Picker(
            [("TRANSITION_CONTRACT", 0.90), ("FIXED_TERM", 0.08), ("OTHER", 0.02)]
        ),
        fulltime_share=0.55,
        parttime_hours=_PARTTIME,
        support_hours=_Picker([((40.0, 80.0), 1.0)]),
        action_codes=_ACTIONS_INSERTION,
        renewal_prob=0.20,
        concurrent_prob=0.02,
        size=_Size(10.0, 0.8, 3.0, 80.0, 1.65),
        name_prefixes=("ILDE", "Atelier", "Entreprise sociale"),
        dutch=False,
    ),
    # WAL SIS: small groups (10–60) in a non-contractual activity, a few hours a week.
    "SIS": _Segment(
        role="PARTICIPANT",
        target_mix=_Picker([("TG_TRAINEE", 1.0)]),
        staff_share=0.12,
        female_share=0.55,
        age=(40.0, 13.0, 18, 64),
        education=_EDU_CISP,
        tenure={"*": _Tenure(1.5, 0.7, 6.0)},
        destinations=_DEST_SIS,
        contract_types=_Picker([("NO_CONTRACT_ACTIVITY", 1.0)]),
        fulltime_share=0.0,
        parttime_hours=(3.0, 4.0, 6.0, 8.0, 10.0, 12.0),
        support_hours=_Picker([((20.0, 50.0), 1.0)]),
        action_codes=_ACTIONS_TRAINING,
        renewal_prob=0.05,
        concurrent_prob=0.0,
        size=_Size(25.0, 0.5, 8.0, 60.0, 1.12),
        name_prefixes=("SIS", "Service d'insertion", "Espace"),
        dutch=False,
    ),
}

# Staff (omkadering / encadrement) look alike in every segment: more educated, mostly full-time.
_STAFF_FEMALE_SHARE = 0.45
_STAFF_AGE = (43.0, 10.0, 22, 64)
_STAFF_TENURE = _Tenure(8.0, 0.9, 40.0)
_STAFF_CONTRACTS = _Picker([("OPEN_ENDED", 0.85), ("FIXED_TERM", 0.14), ("OTHER", 0.01)])
_STAFF_FULLTIME_SHARE = 0.70

# Walloon EI: gender and working time follow the activity (titres-services EIs are large,
# part-time and mostly women; construction and green maintenance mostly men).
# name -> (weight, female share, full-time share)
_EI_ACTIVITIES: dict[str, tuple[float, float, float]] = {
    "TITRES_SERVICES": (0.30, 0.90, 0.15),
    "CLEANING": (0.15, 0.60, 0.40),
    "HORECA": (0.10, 0.50, 0.50),
    "CONSTRUCTION_GREEN": (0.25, 0.08, 0.80),
    "RECYCLING": (0.20, 0.20, 0.75),
}

# Type shares in a sampled federation: roughly the number of organisations per segment
# (DOMAIN.md §3.1), tilted towards employing organisations so a demo shows their indicators.
_FEDERATION_MIX: tuple[tuple[str, float], ...] = (
    ("MAATWERKBEDRIJF", 0.25),
    ("ETA_WAL", 0.15),
    ("ETA_BXL", 0.07),
    ("EI_WAL", 0.18),
    ("CISP_EFT", 0.15),
    ("LDE", 0.08),
    ("ILDE_BXL", 0.07),
    ("SIS", 0.05),
)

_FL_NOUNS = (
    "De Linde",
    "Den Akker",
    "De Brug",
    "Het Anker",
    "Ter Heide",
    "De Wissel",
    "Het Veer",
    "De Sleutel",
    "Molenberg",
    "De Vlier",
    "Ter Leie",
    "De Kaai",
)
_FR_NOUNS = (
    "Les Tilleuls",
    "Le Trèfle",
    "La Ruche",
    "Les Hirondelles",
    "Le Moulin",
    "La Passerelle",
    "Les Peupliers",
    "L'Escale",
    "La Source",
    "Le Chêne",
    "Les Genêts",
    "La Fourmilière",
)
_TOWNS: dict[str, tuple[str, ...]] = {
    "BE-VLG": ("Gent", "Brugge", "Hasselt", "Leuven", "Kortrijk", "Aalst", "Mechelen", "Geel"),
    "BE-WAL": ("Namur", "Liège", "Charleroi", "Mons", "Arlon", "Tournai", "Verviers", "Wavre"),
    "BE-BRU": ("Anderlecht", "Schaerbeek", "Molenbeek", "Forest", "Ixelles", "Jette", "Uccle"),
}


# --------------------------------------------------------------------------------------------
# Public data types
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OrgProfile:
    """Who an organisation is, before any person is generated.

    Kept separate from the tables so a federation can be sampled (and shown, or split over
    nodes) cheaply, and each node then generates only its own records.
    """

    org_id: str
    name: str
    org_type: str
    region: str
    n_people: int

    def __post_init__(self) -> None:
        # An inconsistent profile would silently produce a Walloon ETA in Flanders; fail early.
        if self.org_type not in ORG_TYPES:
            raise ValueError(f"unknown org_type {self.org_type!r}; expected one of {ORG_TYPES}")
        if self.region != REGION_OF_ORG_TYPE[self.org_type]:
            raise ValueError(
                f"region {self.region!r} does not match org_type {self.org_type!r} "
                f"(expected {REGION_OF_ORG_TYPE[self.org_type]!r})"
            )
        if self.n_people < 1:
            raise ValueError("n_people must be at least 1")
        if not self.org_id:
            raise ValueError("org_id must not be empty")


@dataclass
class SyntheticOrg:
    """One organisation's records, as the CSV files a node would import.

    Every value is already a string so the rows can be written, diffed and compared exactly;
    parsing belongs to the importer, which is what the synthetic data is meant to exercise.
    """

    profile: OrgProfile
    tables: dict[str, list[dict[str, str]]] = field(default_factory=dict)

    def write_csvs(self, directory: Path) -> dict[str, Path]:
        """Write one ``<table>.csv`` per table (header row first, UTF-8) into ``directory``.

        The directory is created if needed. Tables without rows still get their header, so an
        importer sees the same files for every organisation. Returns table name -> path.
        """
        directory.mkdir(parents=True, exist_ok=True)
        paths: dict[str, Path] = {}
        for table, columns in TABLE_COLUMNS.items():
            path = directory / f"{table}.csv"
            with path.open("w", encoding="utf-8", newline="") as fh:
                writer = csv.DictWriter(fh, fieldnames=list(columns), extrasaction="raise")
                writer.writeheader()
                writer.writerows(self.tables.get(table, []))
            paths[table] = path
        return paths


# --------------------------------------------------------------------------------------------
# Federation sampling
# --------------------------------------------------------------------------------------------


def _truncated_lognormal(
    rng: random.Random, median: float, sigma: float, lo: float, hi: float
) -> float:
    """A lognormal draw conditioned on ``[lo, hi]`` by rejection (DOMAIN.md §3.1 truncations)."""
    mu = math.log(median)
    for _ in range(100_000):
        x = rng.lognormvariate(mu, sigma)
        if lo <= x <= hi:
            return x
    return rng.uniform(lo, hi)  # unreachable for the calibrated segments; keeps this total


def _org_size(rng: random.Random, size: _Size, min_people: float = MIN_ORG_PEOPLE) -> int:
    """People active in a year: the §3.1 lognormal of target workers, conditioned so that the
    organisation has at least ``min_people`` and at most ``MAX_ORG_PEOPLE`` people."""
    lo = max(size.lo, min_people / size.uplift)
    hi = min(size.hi, MAX_ORG_PEOPLE / size.uplift)
    target = _truncated_lognormal(rng, size.median, size.sigma, lo, hi)
    return max(1, min(MAX_ORG_PEOPLE, round(target * size.uplift)))


def _allocate_types(n_orgs: int) -> list[str]:
    """Largest-remainder allocation of the federation mix, so a small federation still gets the
    proportions (and the segments) a demo needs instead of whatever i.i.d. draws give."""
    total = sum(w for _, w in _FEDERATION_MIX)
    quotas = [(t, n_orgs * w / total) for t, w in _FEDERATION_MIX]
    counts = {t: math.floor(q) for t, q in quotas}
    remaining = n_orgs - sum(counts.values())
    by_remainder = sorted(
        range(len(quotas)), key=lambda i: (-(quotas[i][1] - math.floor(quotas[i][1])), i)
    )
    for i in by_remainder[:remaining]:
        counts[quotas[i][0]] += 1
    return [t for t, _ in _FEDERATION_MIX for _ in range(counts[t])]


def _org_name(rng: random.Random, org_type: str, used: set[str]) -> str:
    seg = _SEGMENTS[org_type]
    nouns = _FL_NOUNS if seg.dutch else _FR_NOUNS
    towns = _TOWNS[REGION_OF_ORG_TYPE[org_type]]
    for attempt in range(200):
        name = f"{rng.choice(seg.name_prefixes)} {rng.choice(nouns)}"
        if attempt >= 20:  # common names are taken: qualify with the town, as the sector does
            name = f"{name} {rng.choice(towns)}"
        if name not in used:
            used.add(name)
            return name
    name = f"{seg.name_prefixes[0]} {len(used) + 1}"
    used.add(name)
    return name


def sample_federation(n_orgs: int, seed: int) -> list[OrgProfile]:
    """Sample the organisations of a demo federation: a mix of types, sizes from §3.1.

    Sizes follow DOMAIN.md §3.1's lognormals (of target workers or trainees per year), scaled to
    people active in a year (supervisory staff and the year's turnover on top), with at least
    ``MIN_ORG_PEOPLE``. Most organisations then have 15–300 people. A federation of 10 or more
    always contains at least one organisation above 1,000 people, because the heavy tail (large
    maatwerkbedrijven) is what makes per-node contribution bounds and small-cell suppression
    interesting; the largest stays at most ``MAX_ORG_PEOPLE`` so a demo stays fast.
    """
    if n_orgs < 1:
        raise ValueError("n_orgs must be at least 1")
    rng = random.Random(f"koepel-federation:{seed}:{n_orgs}")
    types = _allocate_types(n_orgs)
    rng.shuffle(types)
    sizes = [_org_size(rng, _SEGMENTS[t].size) for t in types]
    if n_orgs >= 10 and max(sizes) <= 1000:
        # Promote one maatwerkbedrijf into the tail (there are always >= 2 for n_orgs >= 10;
        # if the mix ever changes, the largest organisation becomes one).
        maatwerk = [i for i, t in enumerate(types) if t == "MAATWERKBEDRIJF"]
        idx = max(maatwerk or range(n_orgs), key=lambda i: sizes[i])
        types[idx] = "MAATWERKBEDRIJF"
        sizes[idx] = _org_size(rng, _SEGMENTS["MAATWERKBEDRIJF"].size, min_people=1001.0)
    width = max(2, len(str(n_orgs)))
    used: set[str] = set()
    return [
        OrgProfile(
            org_id=f"org-{i + 1:0{width}d}",
            name=_org_name(rng, t, used),
            org_type=t,
            region=REGION_OF_ORG_TYPE[t],
            n_people=n,
        )
        for i, (t, n) in enumerate(zip(types, sizes, strict=True))
    ]


# --------------------------------------------------------------------------------------------
# Organisation generation
# --------------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Person:
    serial: int
    role: str
    target_group: str
    start: int  # date ordinal
    end: int | None  # exit date ordinal (exclusive end of the episode); None = ongoing
    birth_year: int
    gender: str
    education: str
    region: str
    destination: str  # "" when the person has not left
    person_id: str = ""


@dataclass(frozen=True)
class _Calendar:
    """Day ordinals of the reference year and the observation window (year before + year)."""

    year: int
    year_start: int
    year_end: int  # exclusive
    window_start: int  # 1 January of the year before
    day_str: tuple[str, ...]  # ISO strings for window_start .. year_end - 1

    @staticmethod
    def of(year: int) -> _Calendar:
        window_start = date(year - 1, 1, 1).toordinal()
        year_end = date(year + 1, 1, 1).toordinal()
        return _Calendar(
            year=year,
            year_start=date(year, 1, 1).toordinal(),
            year_end=year_end,
            window_start=window_start,
            day_str=tuple(date.fromordinal(o).isoformat() for o in range(window_start, year_end)),
        )

    def iso(self, ordinal: int) -> str:
        if self.window_start <= ordinal < self.year_end:
            return self.day_str[ordinal - self.window_start]
        return date.fromordinal(ordinal).isoformat()


def _length_biased_years(rng: random.Random, tenure: _Tenure) -> float:
    """Episode length of someone present in a one-year window: density ∝ f(d)·(d + 1)."""
    mu = math.log(tenure.median)
    bound = tenure.cap + 1.0
    for _ in range(10_000):
        d = rng.lognormvariate(mu, tenure.sigma)
        if d <= tenure.cap and rng.random() * bound < d + 1.0:
            return d
    return tenure.median


def _plain_years(rng: random.Random, tenure: _Tenure) -> float:
    mu = math.log(tenure.median)
    for _ in range(1000):
        d = rng.lognormvariate(mu, tenure.sigma)
        if d <= tenure.cap:
            return d
    return tenure.median


def _age(rng: random.Random, spec: tuple[float, float, int, int]) -> int:
    mean, sd, lo, hi = spec
    for _ in range(20):
        a = round(rng.gauss(mean, sd))
        if lo <= a <= hi:
            return a
    return min(hi, max(lo, round(mean)))


def _gender(rng: random.Random, female_share: float) -> str:
    u = rng.random()
    if u < 0.003:
        return "X"
    if u < 0.008:
        return "UNKNOWN"
    return "F" if rng.random() < female_share else "M"


def _residence(rng: random.Random, org_region: str) -> str:
    """Mostly the organisation's region; Brussels organisations recruit more across borders,
    and commuting from Brussels outweighs commuting from the far region elsewhere."""
    away = 0.10 if org_region == "BE-BRU" else 0.04
    if rng.random() >= away:
        return org_region
    if org_region == "BE-BRU":
        return "BE-VLG" if rng.random() < 0.5 else "BE-WAL"
    far = "BE-WAL" if org_region == "BE-VLG" else "BE-VLG"
    return "BE-BRU" if rng.random() < 0.7 else far


def _make_person(
    rng: random.Random,
    serial: int,
    *,
    staff: bool,
    seg: _Segment,
    female_share: float,
    org_region: str,
    cal: _Calendar,
    left_before: bool,
) -> _Person:
    """One person whose episode overlaps the reference year (or, if ``left_before``, who left
    during the year before it)."""
    if staff:
        role, tg, tenure = "SUPERVISORY_STAFF", "NON_TARGET", _STAFF_TENURE
        age_spec, edu, dest_picker = _STAFF_AGE, _EDU_STAFF, _DEST_STAFF
        f_share = _STAFF_FEMALE_SHARE
    else:
        role = seg.role
        tg = seg.target_mix.pick(rng)
        tenure = seg.tenure.get(tg, seg.tenure["*"])
        age_spec, edu, dest_picker, f_share = seg.age, seg.education, seg.destinations, female_share

    end: int | None
    if left_before:
        exit_day = cal.window_start + int(rng.random() * (cal.year_start - cal.window_start))
        start = exit_day - max(30, int(_plain_years(rng, tenure) * _DAYS_PER_YEAR))
        end = exit_day
    else:
        d_days = max(14, int(_length_biased_years(rng, tenure) * _DAYS_PER_YEAR))
        # Uniform over the starts for which [start, start + d) overlaps the reference year.
        n_days = cal.year_end - cal.year_start
        start = cal.year_start - d_days + 1 + int(rng.random() * (d_days + n_days - 1))
        start = min(start, cal.year_end - 15)
        end = start + d_days if start + d_days < cal.year_end else None

    destination = ""
    birth_year = cal.year - _age(rng, age_spec)
    if end is not None:
        destination = dest_picker.pick(rng)
        if destination == "RETIREMENT":  # retirement happens at 60–65, whatever the age draw
            birth_year = date.fromordinal(end).year - rng.randint(60, 65)
    # Nobody starts before leaving school: shift early starts later, keep the exit date.
    earliest = date(birth_year + 18, 1, 1).toordinal() + int(rng.random() * 540)
    if start < earliest:
        start = min(earliest, (end if end is not None else cal.year_end) - 14)
    return _Person(
        serial=serial,
        role=role,
        target_group=tg,
        start=start,
        end=end,
        birth_year=birth_year,
        gender=_gender(rng, f_share),
        education=edu.pick(rng),
        region=_residence(rng, org_region),
        destination=destination,
    )


def _hours(rng: random.Random, fulltime_share: float, parttime: Sequence[float]) -> float:
    if rng.random() < fulltime_share:
        return _FULL_TIME_HOURS
    return parttime[int(rng.random() * len(parttime))]


def _contracts_for(
    rng: random.Random,
    p: _Person,
    seg: _Segment,
    fulltime_share: float,
    cal: _Calendar,
) -> list[tuple[str, float, int, int | None]]:
    """(contract_type, weekly_hours, start, end) for one person.

    Most people have one contract; some had a renewal (e.g. a CDD followed by a CDI, or a
    prolonged transition contract) and a few hold two part-time contracts at once. Every
    contract ends on or before the exit date and the last one on it, so "has left" and "all
    contracts ended" mean the same thing in the data.
    """
    staff = p.role == "SUPERVISORY_STAFF"
    if staff:
        main = _STAFF_CONTRACTS.pick(rng)
        ft_share, parttime = _STAFF_FULLTIME_SHARE, _PARTTIME
        renewal_prob, concurrent_prob = 0.12, 0.02
    else:
        main = "ART60_7" if p.target_group == "TG_SOCIAL_ASSIST" else seg.contract_types.pick(rng)
        ft_share, parttime = fulltime_share, seg.parttime_hours
        renewal_prob, concurrent_prob = seg.renewal_prob, seg.concurrent_prob
    hours = _hours(rng, ft_share, parttime)
    horizon = p.end if p.end is not None else cal.year_end
    span = horizon - p.start
    u = rng.random()
    # A renewal splits the episode; the first contract lasts >= 60 days and has ended by the
    # end of the reference year, the second lasts >= 60 days (or is still running).
    lo_split, hi_split = p.start + 60, min(horizon - 60, cal.year_end - 30)
    if u < renewal_prob and hi_split > lo_split:
        split = lo_split + int(rng.random() * (hi_split - lo_split))
        if main in ("OPEN_ENDED", "FIXED_TERM", "OTHER"):
            first = "FIXED_TERM"  # a CDD / bepaalde duur, often followed by an open-ended one
            second = "OPEN_ENDED" if rng.random() < 0.7 else "FIXED_TERM"
        else:  # programme contracts are prolonged as the same type
            first = second = main
        hours2 = hours if rng.random() < 0.7 else _hours(rng, ft_share, parttime)
        return [(first, hours, p.start, split), (second, hours2, split, p.end)]
    if u > 1.0 - concurrent_prob and span >= 60:
        h1, h2 = ((19.0, 19.0), (22.8, 7.6), (24.0, 11.4), (30.4, 3.8))[int(rng.random() * 4)]
        second_start = p.start + int(rng.random() * min(span - 30, 730))
        return [(main, h1, p.start, p.end), ("FIXED_TERM", h2, second_start, p.end)]
    return [(main, hours, p.start, p.end)]


def _competence_score_strings(levels: int) -> tuple[str, ...]:
    return tuple(f"{i / (levels - 1):.3f}" for i in range(levels))


def _gain(tenure_years: float) -> float:
    """Cumulative expected gain: +0.10 a year in the first two years, +0.05 a year after."""
    if tenure_years <= 0.0:
        return 0.0
    if tenure_years <= 2.0:
        return 0.10 * tenure_years
    return 0.20 + 0.05 * (tenure_years - 2.0)


_PERIODIC_ASSESSMENT_STEP = (150, 210)  # second assessment in a year: a plan review ~6 months on
_POSITIVE_DESTINATIONS = frozenset(
    {*REGULAR_DESTINATIONS, "SUPPORTED_REGULAR", "OTHER_SOCIAL_ECONOMY", "TRAINING_EDUCATION"}
)


def generate_organisation(profile: OrgProfile, seed: int, reference_year: int) -> SyntheticOrg:
    """Generate one organisation's records for ``reference_year`` (DOMAIN.md §1.2 tables).

    About ``profile.n_people`` people are active during the year, plus ~1 % who left during the
    year before. Support actions and competence assessments cover the reference year and the
    year before it. The random stream is seeded from ``seed`` *and* the profile, so organisations
    of one federation generated with the same seed still differ, and the result is identical
    for identical inputs.
    """
    if not 1950 <= reference_year <= 2100:
        raise ValueError("reference_year must be between 1950 and 2100")
    if profile.n_people > 100_000:
        raise ValueError("n_people above 100,000 is not a plausible single organisation")
    rng = random.Random(
        f"koepel-org:{seed}:{profile.org_id}:{profile.org_type}:{profile.n_people}:{reference_year}"
    )
    seg = _SEGMENTS[profile.org_type]
    cal = _Calendar.of(reference_year)

    female_share, fulltime_share = seg.female_share, seg.fulltime_share
    if profile.org_type == "EI_WAL":
        # The large EIs are the titres-services ones.
        boost = 4.0 if profile.n_people > 150 else 1.0
        weights = [
            (k, w * (boost if k == "TITRES_SERVICES" else 1.0))
            for k, (w, _, _) in _EI_ACTIVITIES.items()
        ]
        activity = _Picker(weights).pick(rng)
        _, female_share, fulltime_share = _EI_ACTIVITIES[activity]

    n_active = profile.n_people
    n_staff = round(seg.staff_share * n_active)
    if n_active >= 5:
        n_staff = max(1, n_staff)
    expected_left = 0.01 * n_active
    n_left = int(expected_left) + (1 if rng.random() < expected_left - int(expected_left) else 0)

    people: list[_Person] = []
    for i in range(n_active + n_left):
        people.append(
            _make_person(
                rng,
                i,
                staff=i < n_staff,
                seg=seg,
                female_share=female_share,
                org_region=profile.region,
                cal=cal,
                left_before=i >= n_active,
            )
        )
    # The organisation numbers people in order of intake, with gaps (deleted files, tests).
    people.sort(key=lambda p: (p.start, p.serial))
    next_id = 1 + int(rng.random() * 400)
    for p in people:
        p.person_id = f"P{next_id:06d}"
        next_id += 1 + (1 if rng.random() < 0.1 else 0)

    workers = [
        {
            "person_id": p.person_id,
            "birth_year": str(p.birth_year),
            "gender": p.gender,
            "education_level": p.education,
            "target_group": p.target_group,
            "region": p.region,
        }
        for p in people
    ]

    contracts: list[dict[str, str]] = []
    for p in people:
        for ctype, hours, start, end in _contracts_for(rng, p, seg, fulltime_share, cal):
            contracts.append(
                {
                    "contract_id": f"C{len(contracts) + 1:07d}",
                    "person_id": p.person_id,
                    "role": p.role,
                    "contract_type": ctype,
                    "weekly_hours": f"{hours:.1f}",
                    "start_date": cal.iso(start),
                    "end_date": "" if end is None else cal.iso(end),
                }
            )

    leavers = sorted((p for p in people if p.end is not None), key=lambda p: (p.end, p.person_id))
    exits = [
        {
            "exit_id": f"X{i + 1:06d}",
            "person_id": p.person_id,
            "exit_date": cal.iso(p.end),
            "destination": p.destination,
        }
        for i, p in enumerate(leavers)
        if p.end is not None
    ]

    supported = [p for p in people if p.role != "SUPERVISORY_STAFF"]
    return SyntheticOrg(
        profile=profile,
        tables={
            "workers": workers,
            "contracts": contracts,
            "support_actions": _support_actions(rng, supported, seg, cal),
            "competence_assessments": _assessments(rng, supported, cal),
            "exits": exits,
        },
    )


def _support_actions(
    rng: random.Random, people: Sequence[_Person], seg: _Segment, cal: _Calendar
) -> list[dict[str, str]]:
    """A HERMAN-like log: each person's yearly support hours spread over individual actions.

    An intake (SA01) opens each trajectory started in the window; people leaving for a job or
    training get transition coaching (SA07) in their last months and sometimes post-exit
    follow-up (SA12), which is dated after the exit by nature.
    """
    rand = rng.random
    day_str = cal.day_str
    w0, w1 = cal.window_start, cal.year_end
    minutes = _ACTION_MINUTES
    # (code, its durations, how many) looked up by index: this loop makes ~10^5 draws.
    draws = tuple((c, minutes[c], len(minutes[c])) for c in seg.action_codes.lookup_table())
    n_draws = len(draws)
    dur_str = {m: str(m) for m in range(5, 481, 5)}
    rows: list[dict[str, str]] = []
    n = 0
    for p in people:
        lo = max(p.start, w0)
        hi = min(p.end if p.end is not None else w1, w1)
        if hi <= lo:
            continue
        span = hi - lo
        budget = _hours_band(rng, seg.support_hours) * 60.0 * span / _DAYS_PER_YEAR
        items: list[tuple[int, str, int]] = []
        used = 0
        if p.start >= w0:
            m = minutes["SA01"][int(rand() * len(minutes["SA01"]))]
            items.append((min(p.start + int(rand() * 7), hi - 1), "SA01", m))
            used += m
        leaving_well = p.end is not None and p.end <= w1 and p.destination in _POSITIVE_DESTINATIONS
        if leaving_well:
            for _ in range(rng.randint(2, 4)):
                m = minutes["SA07"][int(rand() * len(minutes["SA07"]))]
                items.append((max(lo, hi - 1 - int(rand() * 90)), "SA07", m))
                used += m
        while used < budget:
            code, opts, n_opts = draws[int(rand() * n_draws)]
            m = opts[int(rand() * n_opts)]
            items.append((lo + int(rand() * span), code, m))
            used += m
        if leaving_well and p.end is not None and rand() < 0.5:
            day = p.end + 30 + int(rand() * 90)
            if day < w1:
                items.append((day, "SA12", minutes["SA12"][int(rand() * len(minutes["SA12"]))]))
        items.sort()
        pid = p.person_id
        for day, code, m in items:
            n += 1
            rows.append(
                {
                    "action_id": f"SA{n:07d}",
                    "person_id": pid,
                    "action_date": day_str[day - w0],
                    "duration_min": dur_str[m],
                    "action_code": code,
                }
            )
    return rows


def _assessments(
    rng: random.Random, people: Sequence[_Person], cal: _Calendar
) -> list[dict[str, str]]:
    """Competence assessments: 1–2 per person and calendar year, on the organisation's catalogue.

    Each organisation assesses a fixed set of 8–15 federation competences on its own scale
    (1–4, 1–5 or 0–10), so normalised scores are discrete, as real ones are. A person's level
    rises by about +0.10 a year in the first two years of the trajectory and +0.05 later
    (DOMAIN.md §3.3), around a personal ability and a personal learning pace.
    """
    catalogue = sorted(rng.sample(COMPETENCE_CODES, rng.randint(8, 15)))
    levels = (4, 5, 5, 11)[int(rng.random() * 4)]
    score_str = _competence_score_strings(levels)
    top = levels - 1
    rand, gauss = rng.random, rng.gauss
    day_str = cal.day_str
    w0, w1 = cal.window_start, cal.year_end
    years = (cal.year - 1, cal.year)
    year_bounds = [(date(y, 1, 1).toordinal(), date(y + 1, 1, 1).toordinal()) for y in years]
    rows: list[dict[str, str]] = []
    session = 0
    for p in people:
        lo = max(p.start, w0)
        hi = min(p.end if p.end is not None else w1, w1)
        if hi - lo < 21:
            continue
        ability = gauss(0.42, 0.12)
        offsets = [gauss(0.0, 0.07) - (0.05 if c[0] == "B" else 0.0) for c in catalogue]
        if p.education == "FOREIGN_UNRECOGNISED" and "B01" in catalogue:
            offsets[catalogue.index("B01")] -= 0.15
        pace = 0.5 + rand()  # mean 1.0
        tenure0 = max(0.0, (lo - p.start) / _DAYS_PER_YEAR)
        base = ability + 0.25 * (1.0 - math.exp(-tenure0 / 4.0))
        gain0 = _gain(tenure0)
        anchor = int(rand() * 365)
        dates: list[int] = []
        for ys, ye in year_bounds:
            a, b = max(lo, ys), min(hi, ye)
            if b - a < 21:
                continue
            if a <= p.start < b:  # intake assessment a few weeks after the start
                first = min(p.start + 14 + int(rand() * 28), b - 1)
            else:
                first = ys + anchor
                if not a <= first < b:
                    first = a + int(rand() * (b - a))
            dates.append(first)
            if rand() < (0.6 if a <= p.start < b else 0.4):
                step = rng.randint(*_PERIODIC_ASSESSMENT_STEP)
                if first + step < b:
                    dates.append(first + step)
                elif first - step >= a:
                    dates.append(first - step)
        dates.sort()
        pid = p.person_id
        for day in dates:
            session += 1
            level = base + pace * (_gain((day - p.start) / _DAYS_PER_YEAR) - gain0)
            sid = f"AS{session:06d}-"
            dstr = day_str[day - w0]
            for code, off in zip(catalogue, offsets, strict=True):
                x = level + off + gauss(0.0, 0.05)
                q = round(x * top)
                q = 0 if q < 0 else (top if q > top else q)
                rows.append(
                    {
                        "assessment_id": sid + code,
                        "person_id": pid,
                        "assessment_date": dstr,
                        "competence_code": code,
                        "score_norm": score_str[q],
                    }
                )
    return rows
