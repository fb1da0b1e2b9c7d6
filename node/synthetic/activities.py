"""A generated person's support actions and competence assessments over the reference year.

Kept apart from the person and contract draws in ``generator``: these are the high-volume tables
(tens of rows per person), drawn from the segment's accompaniment mix.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from datetime import date

from node.synthetic.calibration import _ACTION_MINUTES, _hours_band, _Segment
from node.synthetic.people import _Calendar, _Person
from node.synthetic.vocabulary import _DAYS_PER_YEAR, COMPETENCE_CODES, REGULAR_DESTINATIONS


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
