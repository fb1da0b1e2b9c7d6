"""Synthetic accompaniment records (plans, goals, reviews, self-evaluations) for a synthetic
organisation, for the demo, the tests and the benchmarks.

Kept apart from node/synthetic/generator.py so that the organisation's own tables stay byte-for-byte
what they were for a given seed: this module only *reads* a
:class:`~node.synthetic.generator.SyntheticOrg` and draws from its own random stream (seeded from
the seed, the organisation and the year), so the same inputs always give the same plans.

The shape follows DOMAIN.md §1.2 and §3.3 where it says anything, and is a plausible default
[M] where it does not: most target workers have a support plan drawn up at the start of their
trajectory (the Flemish rule) or at the start of the observation window for those already
there; plans are reviewed about twice a year (a plan review often goes with the second yearly
assessment); goals sit mostly in the work domains, with housing, debt and health barriers more
frequent in insertion and training segments; about half the people with a plan answer a short
self-evaluation questionnaire at the start and at each review, their answers drifting up by
about one step on a five-point scale a year, with noise.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from node.synthetic.federation import write_tables
from node.synthetic.generator import SyntheticOrg

__all__ = ["ACCOMPANIMENT_COLUMNS", "SyntheticAccompaniment", "generate_accompaniment"]

ACCOMPANIMENT_COLUMNS: dict[str, tuple[str, ...]] = {
    "support_plans": ("plan_id", "person_id", "start_date", "end_date"),
    "plan_goals": ("goal_id", "plan_id", "domain", "status"),
    "plan_reviews": ("review_id", "plan_id", "review_date"),
    "self_evaluations": ("evaluation_id", "person_id", "evaluation_date", "item_code",
                         "score_norm"),
}

_WORK_DOMAINS = (("WORK_SKILLS", 5.0), ("ATTITUDE", 3.0), ("TRANSITION", 1.5),
                 ("LANGUAGE", 1.0), ("MOBILITY", 1.0), ("HEALTH", 1.0), ("ADMIN_RIGHTS", 0.7),
                 ("HOUSING", 0.3), ("FINANCE_DEBT", 0.4), ("FAMILY_CHILDCARE", 0.4),
                 ("JUSTICE", 0.1))
_BARRIER_DOMAINS = (("WORK_SKILLS", 4.0), ("ATTITUDE", 2.0), ("TRANSITION", 2.5),
                    ("LANGUAGE", 1.2), ("MOBILITY", 1.2), ("HEALTH", 1.0), ("ADMIN_RIGHTS", 1.2),
                    ("HOUSING", 1.0), ("FINANCE_DEBT", 1.2), ("FAMILY_CHILDCARE", 0.8),
                    ("JUSTICE", 0.3))
_SHELTERED = frozenset({"MAATWERKBEDRIJF", "ETA_WAL", "ETA_BXL"})
_ITEMS = tuple(f"SE0{i}" for i in range(1, 9))
_LEVELS = ("0.00", "0.25", "0.50", "0.75", "1.00")  # a five-point scale, normalised


@dataclass
class SyntheticAccompaniment:
    """The accompaniment tables of one synthetic organisation, as CSV rows of text."""

    org_id: str
    tables: dict[str, list[dict[str, str]]] = field(default_factory=dict)

    def write_csvs(self, directory: Path) -> dict[str, Path]:
        """Write one ``<table>.csv`` per accompaniment table into ``directory``."""
        return write_tables(directory, ACCOMPANIMENT_COLUMNS, self.tables)


def _pick(rng: random.Random, weights: tuple[tuple[str, float], ...]) -> str:
    total = sum(w for _, w in weights)
    u = rng.random() * total
    for value, weight in weights:
        u -= weight
        if u < 0:
            return value
    return weights[-1][0]


def generate_accompaniment(org: SyntheticOrg, seed: int,
                           reference_year: int) -> SyntheticAccompaniment:
    """Plans, goals, reviews and self-evaluations for ``org``'s target workers, over the
    reference year and the year before it (the window its other tables cover)."""
    profile = org.profile
    rng = random.Random(f"koepel-plans:{seed}:{profile.org_id}:{profile.org_type}:"
                        f"{reference_year}")
    window_start = date(reference_year - 1, 1, 1)
    window_end = date(reference_year + 1, 1, 1)  # exclusive
    sheltered = profile.org_type in _SHELTERED
    domains = _WORK_DOMAINS if sheltered else _BARRIER_DOMAINS
    plan_share = 0.80 if sheltered else 0.90
    target = {w["person_id"] for w in org.tables["workers"] if w["target_group"] != "NON_TARGET"}
    starts: dict[str, date] = {}
    for c in org.tables["contracts"]:
        pid, start = c["person_id"], date.fromisoformat(c["start_date"])
        if pid in target and (pid not in starts or start < starts[pid]):
            starts[pid] = start
    exits = defaultdict(list)
    for x in org.tables["exits"]:
        exits[x["person_id"]].append(date.fromisoformat(x["exit_date"]))
    plans: list[dict[str, str]] = []
    goals: list[dict[str, str]] = []
    reviews: list[dict[str, str]] = []
    answers: list[dict[str, str]] = []
    for pid in sorted(starts):
        left = max(exits[pid]) if exits[pid] else None
        if rng.random() >= plan_share or (left is not None and left <= window_start):
            continue
        start = max(starts[pid], window_start - timedelta(days=int(rng.random() * 365)))
        start += timedelta(days=int(rng.random() * 30))
        horizon = min(left, window_end) if left is not None else window_end
        if start >= horizon:
            continue
        plan_id = f"PL{len(plans) + 1:06d}"
        plans.append({"plan_id": plan_id, "person_id": pid, "start_date": start.isoformat(),
                      "end_date": left.isoformat() if left is not None else ""})
        review_dates = []
        day = start + timedelta(days=150 + int(rng.random() * 60))
        while day < horizon:
            if rng.random() < 0.8:
                review_dates.append(day)
            day += timedelta(days=150 + int(rng.random() * 60))
        for review_day in review_dates:
            reviews.append({"review_id": f"RV{len(reviews) + 1:06d}", "plan_id": plan_id,
                            "review_date": review_day.isoformat()})
        chosen: list[str] = []
        for _ in range(rng.randint(1, 4)):
            domain = _pick(rng, domains)
            if domain not in chosen:
                chosen.append(domain)
        years = ((horizon - start).days / 365.25)
        for domain in chosen:
            u = rng.random()
            status = ("DROPPED" if u < 0.08 else
                      "ACHIEVED" if u < 0.08 + min(0.7, 0.25 * years + 0.1) else "OPEN")
            goals.append({"goal_id": f"GO{len(goals) + 1:06d}", "plan_id": plan_id,
                          "domain": domain, "status": status})
        if rng.random() < 0.5:
            items = sorted(rng.sample(_ITEMS, rng.randint(4, 6)))
            base = {item: rng.gauss(1.8, 0.8) for item in items}
            pace = rng.gauss(1.0, 0.6)  # steps on the five-point scale per year
            for when in (start, *review_dates):
                progress = pace * (when - start).days / 365.25
                for item in items:
                    level = round(base[item] + progress + rng.gauss(0.0, 0.4))
                    answers.append({
                        "evaluation_id": f"SV{len(answers) + 1:07d}", "person_id": pid,
                        "evaluation_date": when.isoformat(), "item_code": item,
                        "score_norm": _LEVELS[min(4, max(0, level))]})
    return SyntheticAccompaniment(profile.org_id, {
        "support_plans": plans, "plan_goals": goals, "plan_reviews": reviews,
        "self_evaluations": answers})
