"""The figures the synthetic organisations are drawn from, per segment (DOMAIN.md §3).

This module is one piece on purpose: it is a single table of calibration figures (sizes,
composition, tenure, exits, accompaniment, names), each with its source or its "[M]" mark for an
order-of-magnitude default. Split, a reader checking one segment against the sector's figures
would have to read several files; it holds data and two small helper classes, not logic.
"""

from __future__ import annotations

import bisect
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic

from node.synthetic.vocabulary import _T

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
