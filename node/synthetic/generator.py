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

import math
import random
from collections.abc import Sequence
from datetime import date

from node.synthetic.activities import _assessments, _support_actions
from node.synthetic.calibration import (
    _DEST_STAFF,
    _EDU_STAFF,
    _EI_ACTIVITIES,
    _PARTTIME,
    _SEGMENTS,
    _STAFF_AGE,
    _STAFF_CONTRACTS,
    _STAFF_FEMALE_SHARE,
    _STAFF_FULLTIME_SHARE,
    _STAFF_TENURE,
    _Picker,
    _Segment,
    _Tenure,
)
from node.synthetic.federation import OrgProfile, SyntheticOrg, sample_federation
from node.synthetic.people import _Calendar, _Person
from node.synthetic.vocabulary import (
    _DAYS_PER_YEAR,
    _FULL_TIME_HOURS,
    COMPETENCE_CODES,
    CONTRACT_TYPES,
    EDUCATION_LEVELS,
    EXIT_DESTINATIONS,
    GENDERS,
    MAX_ORG_PEOPLE,
    MIN_ORG_PEOPLE,
    ORG_TYPES,
    REGION_OF_ORG_TYPE,
    REGIONS,
    REGULAR_DESTINATIONS,
    ROLES,
    SUPPORT_ACTION_CODES,
    TABLE_COLUMNS,
    TARGET_GROUPS,
)

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
# Organisation generation
# --------------------------------------------------------------------------------------------


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
