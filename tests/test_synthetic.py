"""Tests for the synthetic-organisation generator (node/synthetic/generator.py).

The allowed values below are written out from DOMAIN.md §1.2 on purpose instead of being
imported from the module: if the generator's vocabularies drift from the domain notes, these
tests must notice. Aggregate checks use generous bounds around DOMAIN.md §3 so they catch a
broken calibration (wrong segment, swapped weights, no exits) without pinning random noise.
"""

from __future__ import annotations

import csv
import re
from collections import Counter, defaultdict
from datetime import date
from functools import cache
from pathlib import Path

import pytest

from node.synthetic.generator import (
    ORG_TYPES,
    OrgProfile,
    SyntheticOrg,
    generate_organisation,
    sample_federation,
)

YEAR = 2024
YEAR_START = date(YEAR, 1, 1)
YEAR_END = date(YEAR + 1, 1, 1)  # exclusive
WINDOW_START = date(YEAR - 1, 1, 1)

COLUMNS = {
    "workers": [
        "person_id",
        "birth_year",
        "gender",
        "education_level",
        "target_group",
        "region",
    ],
    "contracts": [
        "contract_id",
        "person_id",
        "role",
        "contract_type",
        "weekly_hours",
        "start_date",
        "end_date",
    ],
    "support_actions": ["action_id", "person_id", "action_date", "duration_min", "action_code"],
    "competence_assessments": [
        "assessment_id",
        "person_id",
        "assessment_date",
        "competence_code",
        "score_norm",
    ],
    "exits": ["exit_id", "person_id", "exit_date", "destination"],
}
ID_COLUMN = {
    "workers": "person_id",
    "contracts": "contract_id",
    "support_actions": "action_id",
    "competence_assessments": "assessment_id",
    "exits": "exit_id",
}
ENUMS = {
    ("workers", "gender"): {"F", "M", "X", "UNKNOWN"},
    ("workers", "education_level"): {
        "NONE_OR_PRIMARY",
        "LOWER_SEC",
        "UPPER_SEC",
        "POST_SEC_NON_TERTIARY",
        "TERTIARY",
        "FOREIGN_UNRECOGNISED",
        "UNKNOWN",
    },
    ("workers", "target_group"): {
        "TG_DISABILITY",
        "TG_PSYCHOSOCIAL",
        "TG_SEVERELY_DISADV",
        "TG_DISADV",
        "TG_SOCIAL_ASSIST",
        "TG_TRAINEE",
        "NON_TARGET",
    },
    ("workers", "region"): {"BE-VLG", "BE-WAL", "BE-BRU"},
    ("contracts", "role"): {"TARGET_WORKER", "SUPERVISORY_STAFF", "TRAINEE", "PARTICIPANT"},
    ("contracts", "contract_type"): {
        "OPEN_ENDED",
        "FIXED_TERM",
        "ART60_7",
        "TRANSITION_CONTRACT",
        "TRAINING_CONTRACT_CISP",
        "NO_CONTRACT_ACTIVITY",
        "OTHER",
    },
    ("support_actions", "action_code"): {f"SA{i:02d}" for i in range(1, 14)} | {"SA99"},
    ("competence_assessments", "competence_code"): {f"C{i:02d}" for i in range(1, 12)}
    | {f"B{i:02d}" for i in range(1, 5)},
    ("exits", "destination"): {
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
    },
}
REGULAR = {"REGULAR_EMPLOYEE", "REGULAR_SELF_EMPLOYED", "REGULAR_INTERIM"}
REGION = {
    "MAATWERKBEDRIJF": "BE-VLG",
    "LDE": "BE-VLG",
    "ETA_WAL": "BE-WAL",
    "EI_WAL": "BE-WAL",
    "CISP_EFT": "BE-WAL",
    "SIS": "BE-WAL",
    "ETA_BXL": "BE-BRU",
    "ILDE_BXL": "BE-BRU",
}
TARGET_ROLE = {
    "CISP_EFT": "TRAINEE",
    "SIS": "PARTICIPANT",
}


def _profile(org_type: str, n_people: int, org_id: str = "org-01") -> OrgProfile:
    return OrgProfile(
        org_id=org_id,
        name=f"Test {org_type}",
        org_type=org_type,
        region=REGION[org_type],
        n_people=n_people,
    )


@cache
def _org(org_type: str, n_people: int, seed: int = 7) -> SyntheticOrg:
    """Generated once per test session: the aggregate tests share the large organisations."""
    return generate_organisation(_profile(org_type, n_people), seed=seed, reference_year=YEAR)


def _d(text: str) -> date:
    return date.fromisoformat(text)


def _contracts_by_person(org: SyntheticOrg) -> dict[str, list[dict[str, str]]]:
    by_person: dict[str, list[dict[str, str]]] = defaultdict(list)
    for c in org.tables["contracts"]:
        by_person[c["person_id"]].append(c)
    return by_person


def _active_in_year(contracts: list[dict[str, str]]) -> bool:
    return any(
        _d(c["start_date"]) < YEAR_END and (c["end_date"] == "" or _d(c["end_date"]) > YEAR_START)
        for c in contracts
    )


def _target_ids(org: SyntheticOrg) -> set[str]:
    return {w["person_id"] for w in org.tables["workers"] if w["target_group"] != "NON_TARGET"}


def _exits_in_year(org: SyntheticOrg, people: set[str]) -> list[dict[str, str]]:
    return [
        e
        for e in org.tables["exits"]
        if e["person_id"] in people and YEAR_START <= _d(e["exit_date"]) < YEAR_END
    ]


# ------------------------------------------------------------------------------------------
# Determinism
# ------------------------------------------------------------------------------------------


def test_same_seed_gives_identical_tables_and_other_seeds_differ() -> None:
    profile = _profile("EI_WAL", 80)
    a = generate_organisation(profile, seed=3, reference_year=YEAR)
    b = generate_organisation(profile, seed=3, reference_year=YEAR)
    c = generate_organisation(profile, seed=4, reference_year=YEAR)
    assert a.tables == b.tables
    assert a.tables != c.tables
    # Two organisations of one federation generated with the same seed must not be clones.
    other = generate_organisation(_profile("EI_WAL", 80, "org-02"), seed=3, reference_year=YEAR)
    assert other.tables["workers"] != a.tables["workers"]


def test_sample_federation_is_deterministic() -> None:
    assert sample_federation(12, 5) == sample_federation(12, 5)
    assert sample_federation(12, 5) != sample_federation(12, 6)


# ------------------------------------------------------------------------------------------
# Shape: columns, vocabularies, formats, ids, dates
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("org_type", ORG_TYPES)
def test_columns_and_values_are_valid(org_type: str) -> None:
    org = _org(org_type, 150)
    assert set(org.tables) == set(COLUMNS)
    for table, columns in COLUMNS.items():
        for row in org.tables[table]:
            assert list(row) == columns, table
            assert all(isinstance(v, str) for v in row.values())
    for (table, column), allowed in ENUMS.items():
        seen = {row[column] for row in org.tables[table]}
        assert seen <= allowed, (table, column, seen - allowed)

    for w in org.tables["workers"]:
        assert re.fullmatch(r"P\d{6}", w["person_id"])
        assert 1940 <= int(w["birth_year"]) <= YEAR - 17
    for c in org.tables["contracts"]:
        assert re.fullmatch(r"\d{1,2}\.\d", c["weekly_hours"])
        assert 0.0 < float(c["weekly_hours"]) <= 50.0
    for a in org.tables["support_actions"]:
        assert re.fullmatch(r"\d+", a["duration_min"])
        assert 15 <= int(a["duration_min"]) <= 240
    for s in org.tables["competence_assessments"]:
        assert re.fullmatch(r"[01]\.\d{3}", s["score_norm"])
        assert 0.0 <= float(s["score_norm"]) <= 1.0

    # Segment-specific roles and target groups.
    roles = Counter(c["role"] for c in org.tables["contracts"])
    assert set(roles) == {TARGET_ROLE.get(org_type, "TARGET_WORKER"), "SUPERVISORY_STAFF"}
    if org_type in ("CISP_EFT", "SIS"):
        assert {w["target_group"] for w in org.tables["workers"]} == {"TG_TRAINEE", "NON_TARGET"}


@pytest.mark.parametrize("org_type", ORG_TYPES)
def test_ids_are_unique_and_references_resolve(org_type: str) -> None:
    org = _org(org_type, 150)
    for table, id_column in ID_COLUMN.items():
        ids = [row[id_column] for row in org.tables[table]]
        assert len(ids) == len(set(ids)), table
    people = {w["person_id"] for w in org.tables["workers"]}
    for table in ("contracts", "support_actions", "competence_assessments", "exits"):
        assert {row["person_id"] for row in org.tables[table]} <= people, table
    assert set(_contracts_by_person(org)) == people  # everyone has at least one contract
    exiting = [e["person_id"] for e in org.tables["exits"]]
    assert len(exiting) == len(set(exiting))


@pytest.mark.parametrize("org_type", ORG_TYPES)
def test_dates_parse_and_lie_where_they_should(org_type: str) -> None:
    org = _org(org_type, 150)
    workers = {w["person_id"]: w for w in org.tables["workers"]}
    for c in org.tables["contracts"]:
        start = _d(c["start_date"])
        assert start < YEAR_END
        assert start.year - int(workers[c["person_id"]]["birth_year"]) >= 17
        if c["end_date"]:
            assert start < _d(c["end_date"]) <= YEAR_END
    for a in org.tables["support_actions"]:
        assert WINDOW_START <= _d(a["action_date"]) < YEAR_END
    for s in org.tables["competence_assessments"]:
        assert WINDOW_START <= _d(s["assessment_date"]) < YEAR_END
    for e in org.tables["exits"]:
        assert WINDOW_START <= _d(e["exit_date"]) < YEAR_END


@pytest.mark.parametrize("org_type", ORG_TYPES)
def test_exits_exactly_for_people_whose_contracts_all_ended(org_type: str) -> None:
    org = _org(org_type, 150)
    exits = {e["person_id"]: _d(e["exit_date"]) for e in org.tables["exits"]}
    for person, contracts in _contracts_by_person(org).items():
        ended = all(c["end_date"] for c in contracts)
        assert ended == (person in exits), person
        if ended:
            ends = [_d(c["end_date"]) for c in contracts]
            assert max(ends) == exits[person]  # the last contract ends on the exit date
            assert all(_d(c["start_date"]) < exits[person] for c in contracts)


def test_population_active_left_before_and_new_starters() -> None:
    org = _org("EI_WAL", 600)
    by_person = _contracts_by_person(org)
    active = [p for p, cs in by_person.items() if _active_in_year(cs)]
    inactive = [p for p, cs in by_person.items() if not _active_in_year(cs)]
    assert len(active) == 600
    assert 1 <= len(inactive) <= 0.03 * 600
    # The ones inactive in the reference year left during the year before it.
    exits = {e["person_id"]: _d(e["exit_date"]) for e in org.tables["exits"]}
    assert all(exits[p].year == YEAR - 1 for p in inactive)
    starters = [
        p for p, cs in by_person.items() if min(_d(c["start_date"]) for c in cs).year == YEAR
    ]
    assert 0.05 * 600 <= len(starters) <= 0.5 * 600
    # Long-tenure people started years ago.
    assert min(_d(c["start_date"]) for c in org.tables["contracts"]).year <= YEAR - 5


def test_some_people_have_two_contracts_both_sequential_and_concurrent() -> None:
    org = _org("MAATWERKBEDRIJF", 1500)
    sequential = concurrent = 0
    multi = 0
    for contracts in _contracts_by_person(org).values():
        if len(contracts) < 2:
            continue
        multi += 1
        a, b = sorted(contracts, key=lambda c: c["start_date"])
        if a["end_date"] and a["end_date"] <= b["start_date"]:
            sequential += 1
        else:
            concurrent += 1
            assert float(a["weekly_hours"]) + float(b["weekly_hours"]) <= 50.0
    n = len(org.tables["workers"])
    assert 0.05 * n <= multi <= 0.4 * n
    assert sequential > 0 and concurrent > 0


# ------------------------------------------------------------------------------------------
# Federation sampling
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(6))
def test_federation_sizes_types_and_names(seed: int) -> None:
    fed = sample_federation(12, seed)
    assert len(fed) == 12
    sizes = [p.n_people for p in fed]
    assert sum(15 <= s <= 300 for s in sizes) > 6  # most organisations
    assert max(sizes) > 1000
    assert max(sizes) <= 2500
    assert len({p.org_id for p in fed}) == 12
    assert len({p.name for p in fed}) == 12
    for p in fed:
        assert p.org_type in ORG_TYPES
        assert p.region == REGION[p.org_type]
        assert re.fullmatch(r"org-\d{2}", p.org_id)
    assert len({p.org_type for p in fed}) >= 5  # a real mix, not one segment


@pytest.mark.parametrize("seed", range(20))
def test_federation_of_ten_always_has_a_large_organisation(seed: int) -> None:
    assert max(p.n_people for p in sample_federation(10, seed)) > 1000


def test_invalid_inputs_are_refused() -> None:
    with pytest.raises(ValueError):
        sample_federation(0, 1)
    with pytest.raises(ValueError):
        OrgProfile("org-01", "x", "ETA_WAL", "BE-VLG", 10)  # region does not match type
    with pytest.raises(ValueError):
        OrgProfile("org-01", "x", "NOT_A_TYPE", "BE-VLG", 10)
    with pytest.raises(ValueError):
        OrgProfile("org-01", "x", "LDE", "BE-VLG", 0)


# ------------------------------------------------------------------------------------------
# CSV output
# ------------------------------------------------------------------------------------------


def test_write_csvs_round_trips(tmp_path: Path) -> None:
    org = _org("ILDE_BXL", 60)
    paths = org.write_csvs(tmp_path / "out")
    assert set(paths) == set(COLUMNS)
    for table, path in paths.items():
        assert path == tmp_path / "out" / f"{table}.csv"
        with path.open(newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            assert reader.fieldnames == COLUMNS[table]
            assert list(reader) == org.tables[table]


def test_write_csvs_writes_headers_for_empty_tables(tmp_path: Path) -> None:
    org = SyntheticOrg(profile=_profile("SIS", 10), tables={})
    paths = org.write_csvs(tmp_path)
    with paths["exits"].open(encoding="utf-8") as fh:
        assert fh.read().strip() == ",".join(COLUMNS["exits"])


# ------------------------------------------------------------------------------------------
# Realism per segment (DOMAIN.md §3.2–3.3), generous bounds
# ------------------------------------------------------------------------------------------


def test_ei_exits_and_doorstroom() -> None:
    org = _org("EI_WAL", 1000)
    targets = _target_ids(org)
    exits = _exits_in_year(org, targets)
    assert 0.12 <= len(exits) / len(targets) <= 0.40
    regular = sum(e["destination"] in REGULAR for e in exits) / len(exits)
    assert 0.1 <= regular <= 0.6
    tg = Counter(w["target_group"] for w in org.tables["workers"] if w["person_id"] in targets)
    assert 1.1 <= tg["TG_DISADV"] / tg["TG_SEVERELY_DISADV"] <= 2.0  # ≈ 60/40
    assert 0.03 <= tg["TG_SOCIAL_ASSIST"] / len(targets) <= 0.15
    low = sum(
        w["education_level"] in ("NONE_OR_PRIMARY", "LOWER_SEC", "FOREIGN_UNRECOGNISED")
        for w in org.tables["workers"]
        if w["person_id"] in targets
    )
    assert low / len(targets) >= 0.75  # TD status requires no CESS
    art60 = {c["person_id"] for c in org.tables["contracts"] if c["contract_type"] == "ART60_7"}
    assert art60 and all(
        w["target_group"] == "TG_SOCIAL_ASSIST"
        for w in org.tables["workers"]
        if w["person_id"] in art60
    )


@pytest.mark.parametrize("org_type", ["ETA_WAL", "ETA_BXL"])
def test_eta_is_stable_older_full_time_and_mostly_men(org_type: str) -> None:
    org = _org(org_type, 1000)
    targets = _target_ids(org)
    exits = _exits_in_year(org, targets)
    assert 0.02 <= len(exits) / len(targets) < 0.15
    sheltered_ends = sum(e["destination"] in ("RETIREMENT", "ILLNESS_INVALIDITY") for e in exits)
    assert sheltered_ends / len(exits) >= 0.4
    assert sum(e["destination"] in REGULAR for e in exits) / len(exits) <= 0.2
    workers = [w for w in org.tables["workers"] if w["person_id"] in targets]
    women = sum(w["gender"] == "F" for w in workers) / len(workers)
    assert 0.2 <= women <= 0.4
    over_45 = sum(YEAR - int(w["birth_year"]) >= 45 for w in workers) / len(workers)
    assert 0.45 <= over_45 <= 0.75
    assert sum(w["target_group"] == "TG_DISABILITY" for w in workers) / len(workers) >= 0.85
    current = [
        c for c in org.tables["contracts"] if c["person_id"] in targets and not c["end_date"]
    ]
    full_time = sum(c["weekly_hours"] == "38.0" for c in current) / len(current)
    assert 0.7 <= full_time <= 0.95


def test_maatwerk_mix_staff_and_support_hours() -> None:
    org = _org("MAATWERKBEDRIJF", 1500)
    workers = org.tables["workers"]
    tg = Counter(w["target_group"] for w in workers)
    staff_share = tg["NON_TARGET"] / len(workers)
    assert 0.08 <= staff_share <= 0.2
    assert 0.6 <= tg["TG_DISABILITY"] / (tg["TG_DISABILITY"] + tg["TG_PSYCHOSOCIAL"]) <= 0.8
    staff = {c["person_id"] for c in org.tables["contracts"] if c["role"] == "SUPERVISORY_STAFF"}
    assert staff == {w["person_id"] for w in workers if w["target_group"] == "NON_TARGET"}
    targets = _target_ids(org)
    men = sum(w["gender"] == "M" for w in workers if w["person_id"] in targets) / len(targets)
    assert 0.55 <= men <= 0.75
    exits = _exits_in_year(org, targets)
    assert 0.03 <= len(exits) / len(targets) <= 0.15
    residents = sum(w["region"] == "BE-VLG" for w in workers) / len(workers)
    assert 0.9 <= residents < 1.0

    # Support hours in the reference year, for target workers present all year.
    full_year = {
        p
        for p, cs in _contracts_by_person(org).items()
        if p in targets
        and min(_d(c["start_date"]) for c in cs) < YEAR_START
        and all(not c["end_date"] for c in cs[-1:])
    }
    minutes: Counter[str] = Counter()
    for a in org.tables["support_actions"]:
        if a["person_id"] in full_year and a["action_date"].startswith(str(YEAR)):
            minutes[a["person_id"]] += int(a["duration_min"])
    mean_hours = sum(minutes.values()) / 60 / len(full_year)
    assert 45 <= mean_hours <= 90  # LAAG 35 h / MIDDEN 60 h / HOOG 100 h
    assert not any(a["person_id"] in staff for a in org.tables["support_actions"])


@pytest.mark.parametrize(
    ("org_type", "lo", "hi"), [("ETA_WAL", 18, 52), ("EI_WAL", 35, 72), ("LDE", 35, 82)]
)
def test_support_hours_by_segment(org_type: str, lo: float, hi: float) -> None:
    org = _org(org_type, 1000)
    targets = _target_ids(org)
    by_person = _contracts_by_person(org)
    full_year = {
        p
        for p in targets
        if min(_d(c["start_date"]) for c in by_person[p]) < WINDOW_START
        and all(not c["end_date"] or _d(c["end_date"]) >= YEAR_END for c in by_person[p][-1:])
    }
    assert len(full_year) >= 20
    minutes: Counter[str] = Counter()
    for a in org.tables["support_actions"]:
        if a["person_id"] in full_year and a["action_date"].startswith(str(YEAR)):
            minutes[a["person_id"]] += int(a["duration_min"])
    assert lo <= sum(minutes.values()) / 60 / len(full_year) <= hi


def test_cisp_trainees_leave_quickly_towards_training() -> None:
    org = _org("CISP_EFT", 1000)
    trainees = _target_ids(org)
    exits = _exits_in_year(org, trainees)
    assert len(exits) / len(trainees) >= 0.4
    by_person = _contracts_by_person(org)
    for e in exits:  # nobody stays longer than 18 months or so
        start = min(_d(c["start_date"]) for c in by_person[e["person_id"]])
        assert (_d(e["exit_date"]) - start).days <= 2 * 365
    known = [e for e in exits if e["destination"] not in ("UNKNOWN", "MOVED_OR_LOST")]
    training = sum(e["destination"] == "TRAINING_EDUCATION" for e in known) / len(known)
    employed = sum(
        e["destination"] in REGULAR | {"OTHER_SOCIAL_ECONOMY", "SUPPORTED_REGULAR"} for e in known
    ) / len(known)
    assert 0.3 <= training <= 0.6
    assert 0.12 <= employed <= 0.4
    types = {c["contract_type"] for c in org.tables["contracts"] if c["role"] == "TRAINEE"}
    assert types == {"TRAINING_CONTRACT_CISP"}


def test_competence_assessments_frequency_size_and_progress() -> None:
    org = _org("EI_WAL", 1000)
    sessions: dict[tuple[str, str], list[float]] = defaultdict(list)
    for s in org.tables["competence_assessments"]:
        sessions[(s["person_id"], s["assessment_date"])].append(float(s["score_norm"]))
    assert all(8 <= len(scores) <= 15 for scores in sessions.values())
    per_year = Counter((p, d[:4]) for p, d in sessions)
    assert max(per_year.values()) <= 2
    assert 1.1 <= sum(per_year.values()) / len(per_year) <= 1.9

    # Annual gain of a person's mean score between first and last assessment: about +0.10 a
    # year early in the trajectory, about +0.05 later (DOMAIN.md §3.3).
    first_start = {
        p: min(_d(c["start_date"]) for c in cs) for p, cs in _contracts_by_person(org).items()
    }
    by_person: dict[str, list[tuple[date, float]]] = defaultdict(list)
    for (p, d), scores in sessions.items():
        by_person[p].append((_d(d), sum(scores) / len(scores)))
    early: list[float] = []
    late: list[float] = []
    for p, points in by_person.items():
        points.sort()
        (d0, s0), (d1, s1) = points[0], points[-1]
        if (d1 - d0).days < 180:
            continue
        slope = (s1 - s0) / ((d1 - d0).days / 365.25)
        tenure = (d0 - first_start[p]).days / 365.25
        if tenure < 1:
            early.append(slope)
        elif tenure >= 2:
            late.append(slope)
    assert len(early) >= 50 and len(late) >= 50
    early_gain, late_gain = sum(early) / len(early), sum(late) / len(late)
    assert 0.06 <= early_gain <= 0.15
    assert 0.025 <= late_gain <= 0.08
    assert early_gain > late_gain

