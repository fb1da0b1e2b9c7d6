"""Synthetic outcome records (schema version 9) for a synthetic organisation: training
sessions, hires with their referral source, exit reasons, follow-ups after an exit, the coach
behind each support action, the coach's own evaluations, eligibility at hiring, and each
contract's full-time week and subsidy.

Like node/synthetic/plans.py this module only *reads* a
:class:`~node.synthetic.generator.SyntheticOrg` and draws from its own random stream (seeded
from the seed, the organisation and the year), so the organisation's tables stay byte-for-byte
what they were for a seed and the same inputs always give the same outcomes. The exits and the
support actions and the contracts are restated with their new columns (an exit's reason, an
action's staff member, a contract's full-time week and subsidy): written over the
organisation's own files, they carry the same rows plus those columns.

Figures (DOMAIN.md §3.3 where it says anything, a plausible default [M] where it does not):
CISP trainees follow about 400 hours of training a year in sessions of half or whole days;
workers elsewhere a few sessions a year (safety, on-the-job, basic skills). A coach follows
about 20–25 target workers (EI social support caseload ~1:20–30). Among CISP leavers with a
known outcome about a quarter are employed and 45 % in further training; an exit's reason
follows its destination (retirement, illness, a regular job mostly after a resignation, job
seekers mostly after a fixed term or the end of a subsidised trajectory). About 60 % of
leavers are observed about 6 months later and 45 % about 12 months later. Walloon EI target
workers have their eligibility attested just before hiring (TD: no CESS plus one criterion;
TGD: 24 months without regular work), and a few supervisory staff were hired as TD workers
once (eligible at hiring, no longer in a target group).
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from node.synthetic.federation import write_tables
from node.synthetic.generator import SyntheticOrg
from node.synthetic.plans import _pick
from node.synthetic.vocabulary import TABLE_COLUMNS

__all__ = ["OUTCOME_COLUMNS", "SyntheticOutcomes", "generate_outcomes"]

OUTCOME_COLUMNS: dict[str, tuple[str, ...]] = {
    "contracts": (*TABLE_COLUMNS["contracts"], "subsidy_scheme", "fulltime_ref_hours"),
    "exits": (*TABLE_COLUMNS["exits"], "exit_reason"),
    "support_actions": (*TABLE_COLUMNS["support_actions"], "staff_id"),
    "training_sessions": ("session_id", "person_id", "session_date", "hours", "training_type",
                          "qualifying"),
    "hires": ("hire_id", "person_id", "hire_date", "referral_source"),
    "exit_followups": ("followup_id", "person_id", "exit_id", "observation_date", "situation"),
    "coach_evaluations": ("evaluation_id", "person_id", "staff_id", "evaluation_date",
                          "item_code", "score_norm"),
    "hiring_eligibility": ("eligibility_id", "person_id", "attestation_date", "scheme",
                           "criteria"),
}

Weights = tuple[tuple[str, float], ...]

_REFERRALS: dict[str, Weights] = {
    "EI_WAL": (("FOREM", 35), ("CPAS", 20), ("CISP", 18), ("SELF", 10), ("WORD_OF_MOUTH", 10),
               ("OTHER_SOCIAL_ECONOMY", 4), ("OTHER", 3)),
    "ETA_WAL": (("AVIQ", 55), ("FOREM", 12), ("GTB_OR_SPECIALISED", 10), ("SELF", 10),
                ("WORD_OF_MOUTH", 8), ("OTHER", 5)),
    "ETA_BXL": (("PHARE", 55), ("ACTIRIS", 15), ("GTB_OR_SPECIALISED", 10), ("SELF", 12),
                ("OTHER", 8)),
    "MAATWERKBEDRIJF": (("VDAB", 75), ("GTB_OR_SPECIALISED", 12), ("OTHER_SOCIAL_ECONOMY", 5),
                        ("SELF", 5), ("OTHER", 3)),
    "CISP_EFT": (("FOREM", 40), ("CPAS", 20), ("SELF", 25), ("OTHER_TRAINING", 8),
                 ("OTHER", 7)),
}
_DEFAULT_REFERRALS: Weights = (("FOREM", 20), ("VDAB", 15), ("ACTIRIS", 15), ("CPAS", 25),
                               ("SELF", 15), ("OTHER", 10))
_CISP = frozenset({"CISP_EFT", "CISP_DEFI", "CISP_MIXED"})
_REGULAR = frozenset({"REGULAR_EMPLOYEE", "REGULAR_SELF_EMPLOYED", "REGULAR_INTERIM",
                      "SUPPORTED_REGULAR"})
_REASONS: dict[str, Weights] = {
    "regular": (("RESIGNATION", 70), ("MUTUAL_AGREEMENT", 15), ("END_FIXED_TERM", 15)),
    "job_seeker": (("END_FIXED_TERM", 40), ("END_OF_TRAJECTORY_OR_SUBSIDY", 35),
                   ("DISMISSAL", 12), ("DISMISSAL_SERIOUS_FAULT", 3), ("RESIGNATION", 10)),
    "other": (("RESIGNATION", 40), ("END_FIXED_TERM", 25), ("MUTUAL_AGREEMENT", 15),
              ("OTHER", 15), ("UNKNOWN", 5)),
    "cisp": (("TRAINING_COMPLETED", 65), ("TRAINING_ABANDONED", 35)),
}
_SITUATIONS: dict[str, Weights] = {
    "regular": (("REGULAR_EMPLOYMENT", 80), ("JOB_SEEKER", 12), ("SOCIAL_ECONOMY_EMPLOYMENT", 4),
                ("SELF_EMPLOYED", 4)),
    "training": (("QUALIFYING_TRAINING", 55), ("OTHER_TRAINING", 20), ("REGULAR_EMPLOYMENT", 15),
                 ("JOB_SEEKER", 10)),
    "job_seeker": (("JOB_SEEKER", 60), ("REGULAR_EMPLOYMENT", 18), ("QUALIFYING_TRAINING", 10),
                   ("SOCIAL_ECONOMY_EMPLOYMENT", 5), ("INACTIVE", 7)),
    "other": (("INACTIVE", 35), ("ILLNESS_INVALIDITY", 25), ("OTHER", 20), ("UNKNOWN", 20)),
}
_TRAINING_KINDS: Weights = (("ON_THE_JOB", 40), ("SAFETY_CERT", 20), ("INTERNAL_COURSE", 20),
                            ("BASIC_SKILLS", 12), ("DRIVING_LICENCE", 3),
                            ("EXTERNAL_VOCATIONAL", 5))
_CISP_KINDS: Weights = (("CISP_PROFESSIONNALISANTE", 58), ("CISP_BASE", 28),
                        ("CISP_ORIENTATION", 15))
_TD_CRITERIA: Weights = (("DEI_6M", 50), ("AGE_50_PLUS", 12), ("SINGLE_PARENT", 10),
                         ("ART60", 8), ("RIS", 10), ("AVIQ_DECISION", 5), ("AGE_18_24", 5))
_ITEMS = tuple(f"SE0{i}" for i in range(1, 9))
_LEVELS = ("0.00", "0.25", "0.50", "0.75", "1.00")


@dataclass
class SyntheticOutcomes:
    """The outcome tables of one synthetic organisation, as CSV rows of text."""

    org_id: str
    tables: dict[str, list[dict[str, str]]] = field(default_factory=dict)

    def write_csvs(self, directory: Path) -> dict[str, Path]:
        """Write one ``<table>.csv`` per table into ``directory`` (``exits.csv`` and
        ``support_actions.csv`` replace the organisation's own, with one more column)."""
        return write_tables(directory, OUTCOME_COLUMNS, self.tables)


def _exit_kind(destination: str) -> str:
    if destination in _REGULAR:
        return "regular"
    if destination == "TRAINING_EDUCATION":
        return "training"
    return "job_seeker" if destination == "JOB_SEEKER" else "other"


def _reason(rng: random.Random, destination: str, cisp: bool) -> str:
    fixed = {"RETIREMENT": "RETIREMENT", "DECEASED": "DEATH",
             "ILLNESS_INVALIDITY": "MEDICAL_FORCE_MAJEURE"}
    if destination in fixed:
        return fixed[destination]
    if cisp:
        return _pick(rng, _REASONS["cisp"])
    kind = _exit_kind(destination)
    return _pick(rng, _REASONS["other" if kind == "training" else kind])


class _Drawer:
    """Draws one organisation's outcome rows; each table from the same seeded stream, in a
    fixed order, so that the output depends on the inputs only."""

    def __init__(self, org: SyntheticOrg, seed: int, year: int) -> None:
        profile = org.profile
        self.org, self.year = org, year
        self.rng = random.Random(f"koepel-outcomes:{seed}:{profile.org_id}:{profile.org_type}:"
                                 f"{year}")
        self.cisp = profile.org_type in _CISP
        self.window = (date(year - 1, 1, 1), date(year + 1, 1, 1))
        workers = org.tables["workers"]
        self.target = sorted(w["person_id"] for w in workers if w["target_group"] != "NON_TARGET")
        self.staff = sorted(w["person_id"] for w in workers if w["target_group"] == "NON_TARGET")
        self.groups = {w["person_id"]: w["target_group"] for w in workers}
        self.contracts: dict[str, list[tuple[date, date | None]]] = defaultdict(list)
        for c in org.tables["contracts"]:
            self.contracts[c["person_id"]].append((
                date.fromisoformat(c["start_date"]),
                date.fromisoformat(c["end_date"]) if c["end_date"] else None))
        n_coaches = max(1, min(len(self.staff), round(len(self.target) / 22)))
        self.coaches = self.staff[:n_coaches]
        self.main_coach = {pid: self.coaches[self.rng.randrange(len(self.coaches))]
                           for pid in self.target} if self.coaches else {}

    def exits(self) -> list[dict[str, str]]:
        return [{**x, "exit_reason": _reason(self.rng, x["destination"], self.cisp)}
                for x in self.org.tables["exits"]]

    def support_actions(self) -> list[dict[str, str]]:
        rows = []
        for action in self.org.tables["support_actions"]:
            coach = self.main_coach.get(action["person_id"], "")
            u = self.rng.random()
            if coach and u >= 0.8:
                coach = "" if u >= 0.95 else self.coaches[self.rng.randrange(len(self.coaches))]
            rows.append({**action, "staff_id": coach})
        return rows

    def _days_in_window(self, pid: str) -> list[tuple[date, date]]:
        start, end = self.window
        spans = []
        for s, e in self.contracts[pid]:
            low, high = max(s, start), min(e or end, end)
            if low < high:
                spans.append((low, high))
        return spans

    def training_sessions(self) -> list[dict[str, str]]:
        rows: list[dict[str, str]] = []
        for pid in sorted(self.contracts):
            for low, high in self._days_in_window(pid):
                years = (high - low).days / 365.25
                if self.cisp:
                    kind = _pick(self.rng, _CISP_KINDS)
                    hours_per_year = self.rng.lognormvariate(5.9, 0.35)  # median ~365 h
                else:
                    kind = ""
                    hours_per_year = self.rng.expovariate(1 / 18)
                n = int(hours_per_year * years / (6.0 if self.cisp else 5.0))
                for _ in range(n):
                    day = low + timedelta(days=int(self.rng.random() * (high - low).days))
                    session_kind = kind or _pick(self.rng, _TRAINING_KINDS)
                    qualifying = session_kind in ("SAFETY_CERT", "CISP_PROFESSIONNALISANTE",
                                                  "DRIVING_LICENCE")
                    rows.append({"session_id": f"TS{len(rows) + 1:07d}", "person_id": pid,
                                 "session_date": day.isoformat(),
                                 "hours": self.rng.choice(("3.5", "7", "7", "4")),
                                 "training_type": session_kind,
                                 "qualifying": "1" if qualifying else "0"})
        return rows

    def hires(self) -> list[dict[str, str]]:
        """A hire per contract start after at least 90 days without a contract."""
        weights = _REFERRALS.get(self.org.profile.org_type, _DEFAULT_REFERRALS)
        rows: list[dict[str, str]] = []
        for pid in sorted(self.contracts):
            last_end: date | None = None
            for start, end in sorted(self.contracts[pid], key=lambda c: c[0]):
                gap = last_end is None or (start - last_end).days >= 90
                if gap and self.window[0] <= start < self.window[1]:
                    source = (_pick(self.rng, weights) if self.groups.get(pid) != "NON_TARGET"
                              else _pick(self.rng, (("SELF", 60), ("OTHER", 40))))
                    rows.append({"hire_id": f"HI{len(rows) + 1:06d}", "person_id": pid,
                                 "hire_date": start.isoformat(), "referral_source": source})
                last_end = None if end is None else max(end, last_end or end)
        return rows

    def exit_followups(self) -> list[dict[str, str]]:
        horizon = date(self.year + 1, 7, 1)  # observed up to mid-year after the reference year
        rows: list[dict[str, str]] = []
        for x in self.org.tables["exits"]:
            if x["destination"] in ("RETIREMENT", "DECEASED"):
                continue
            left = date.fromisoformat(x["exit_date"])
            kind = _exit_kind(x["destination"])
            for low, high, share in ((150, 210, 0.6), (330, 400, 0.45)):
                when = left + timedelta(days=self.rng.randint(low, high))
                if self.rng.random() < share and when < horizon:
                    rows.append({"followup_id": f"FU{len(rows) + 1:06d}",
                                 "person_id": x["person_id"], "exit_id": x["exit_id"],
                                 "observation_date": when.isoformat(),
                                 "situation": _pick(self.rng, _SITUATIONS[kind])})
        return rows

    def coach_evaluations(self) -> list[dict[str, str]]:
        rows: list[dict[str, str]] = []
        for pid in self.target:
            spans = self._days_in_window(pid)
            if not spans or self.rng.random() >= 0.4:
                continue
            low, high = spans[0]
            items = sorted(self.rng.sample(_ITEMS, self.rng.randint(3, 5)))
            base = {item: self.rng.gauss(1.6, 0.7) for item in items}
            pace = self.rng.gauss(0.8, 0.5)
            when = low + timedelta(days=self.rng.randint(0, 60))
            while when < high:
                progress = pace * (when - low).days / 365.25
                for item in items:
                    level = round(base[item] + progress + self.rng.gauss(0.0, 0.3))
                    rows.append({"evaluation_id": f"CE{len(rows) + 1:07d}", "person_id": pid,
                                 "staff_id": self.main_coach.get(pid, ""),
                                 "evaluation_date": when.isoformat(), "item_code": item,
                                 "score_norm": _LEVELS[min(4, max(0, level))]})
                when += timedelta(days=self.rng.randint(150, 210))
        return rows

    def hiring_eligibility(self) -> list[dict[str, str]]:
        if self.org.profile.org_type != "EI_WAL":
            return []
        rows: list[dict[str, str]] = []
        eligible = [p for p in self.target
                    if self.groups[p] in ("TG_DISADV", "TG_SEVERELY_DISADV")]
        former = [p for p in self.staff if self.rng.random() < 0.05]
        for pid in sorted(eligible + former):
            first = min(s for s, _ in self.contracts[pid]) if self.contracts[pid] else None
            if first is None:
                continue
            severe = self.groups[pid] == "TG_SEVERELY_DISADV"
            criteria = {"NO_CESS"} if self.rng.random() < 0.9 else set()
            criteria.add("DEI_24M" if severe else _pick(self.rng, _TD_CRITERIA))
            rows.append({"eligibility_id": f"EL{len(rows) + 1:06d}", "person_id": pid,
                         "attestation_date": (first - timedelta(
                             days=self.rng.randint(1, 30))).isoformat(),
                         "scheme": "WAL_EI_TGD" if severe else "WAL_EI_TD",
                         "criteria": ";".join(sorted(criteria))})
        return rows


def _contracts(draw: _Drawer, eligibility: list[dict[str, str]]) -> list[dict[str, str]]:
    """The contracts restated with their joint committee's full-time week (one per
    organisation: 38 hours mostly, 37 or 36 in some sectors) and, for Walloon EI target
    workers attested at hiring, the TD/TGD subsidy that finances them."""
    week = _pick(draw.rng, (("38", 6), ("37", 3), ("36", 1)))
    schemes = {e["person_id"]: e["scheme"] for e in eligibility}
    return [{**c, "fulltime_ref_hours": week,
             "subsidy_scheme": schemes.get(c["person_id"], "")
             if c["role"] == "TARGET_WORKER" else ""}
            for c in draw.org.tables["contracts"]]


def generate_outcomes(org: SyntheticOrg, seed: int, reference_year: int) -> SyntheticOutcomes:
    """Outcome records for ``org`` over the reference year and the year before it."""
    draw = _Drawer(org, seed, reference_year)
    tables = {"exits": draw.exits(), "support_actions": draw.support_actions(),
              "training_sessions": draw.training_sessions(), "hires": draw.hires(),
              "exit_followups": draw.exit_followups(),
              "coach_evaluations": draw.coach_evaluations(),
              "hiring_eligibility": draw.hiring_eligibility()}
    tables["contracts"] = _contracts(draw, tables["hiring_eligibility"])
    return SyntheticOutcomes(org.profile.org_id, tables)
