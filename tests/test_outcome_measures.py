"""Catalogue 2027.1's outcome measures: the compiled SQL equals a pure-Python reference.

Seeded random organisations hold training sessions, hires with their referral source, exits with
a reason and follow-up observations, support actions given by staff members (who are people of
the organisation too), self-evaluations and the coaches' own evaluations, inside and outside the
period, with ties on purpose (equal minutes, equal scores, same-day records). For every measure
added in 2027.1, grouped by each dimension that applies (and by the new dimensions under an old
measure), the per-cell person count must equal the reference's exactly and the fixed-point sum
must lie in the reference's rounding interval — from the raw rows and from the per-person facts.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from fractions import Fraction
from pathlib import Path

import pytest
from conftest import create_node
from test_compiler_property import fixed_point_range

from node import NodeRuntime, load_node_config, open_node
from node.engine.compiler import compile_query
from node.imports.records import (
    EXIT_REASONS,
    FOLLOWUP_SITUATIONS,
    REFERRAL_SOURCES,
    SELF_EVALUATION_ITEMS,
)
from node.imports.vocabulary import FED_SUPPORT_ACTIONS
from privacy import (
    Dimension,
    Measure,
    QuerySpec,
    Statistic,
    parse_period,
    shipped_catalogue,
    validate,
)

CAT = shipped_catalogue("2027.1")
OLD = shipped_catalogue("2026.2")
NEW_MEASURES = sorted(set(CAT.measures) - set(OLD.measures))
NEW_DIMENSIONS = sorted(set(CAT.dimensions) - set(OLD.dimensions))
BASE = date(2024, 9, 1)
KINDS = ("SA02", "SA03", "SA05", "SA11")
ITEMS = ("SE01", "SE02", "SE03")
REASONS = ("END_FIXED_TERM", "RESIGNATION", "DISMISSAL_SERIOUS_FAULT", "RETIREMENT", "UNKNOWN")
SITUATIONS = ("REGULAR_EMPLOYMENT", "QUALIFYING_TRAINING", "OTHER_TRAINING", "JOB_SEEKER",
              "UNKNOWN")
SOURCES = ("FOREM", "CPAS", "CISP", "SELF", "AVIQ", "UNKNOWN")


@dataclass
class Person:
    pid: str
    contracts: list[tuple[str, date, date | None]] = field(default_factory=list)
    actions: list[tuple[str, date, int, str, str | None]] = field(default_factory=list)
    trainings: list[tuple[str, date, float]] = field(default_factory=list)
    hires: list[tuple[str, date, str]] = field(default_factory=list)
    exits: list[tuple[str, date, str]] = field(default_factory=list)  # key, date, reason
    followups: list[tuple[str, str, date, str]] = field(default_factory=list)  # key, exit, …
    self_evals: list[tuple[str, date, str, float]] = field(default_factory=list)
    coach_evals: list[tuple[str, date, str, float]] = field(default_factory=list)


def organisation(seed: int) -> list[Person]:
    rng = random.Random(seed)
    people = [Person(f"p{i:02d}") for i in range(28)]
    coaches = [p.pid for p in people[:4]]  # staff; p05, a target worker, is named too

    def day() -> date:
        return BASE + timedelta(days=rng.randrange(0, 540, rng.choice((1, 7, 30))))

    for i, p in enumerate(people):
        for c in range(rng.randrange(0, 3)):
            start = day()
            end = start + timedelta(days=rng.randrange(30, 500)) if rng.random() < 0.6 else None
            p.contracts.append((f"{p.pid}c{c}", start, end))
        for a in range(rng.randrange(0, 7)):
            staff = rng.choice([*coaches, None, "outsider", "p05"]) if i >= 2 else None
            p.actions.append((f"{p.pid}a{a}", day(), rng.choice((30, 60, 90)), rng.choice(KINDS),
                              staff))
        for t in range(rng.randrange(0, 4)):
            p.trainings.append((f"{p.pid}t{t}", day(), rng.choice((0.25, 3.5, 7.0, 300.0))))
        for h in range(rng.randrange(0, 3)):
            p.hires.append((f"{p.pid}h{h}", day(), rng.choice(SOURCES)))
        for e in range(rng.randrange(0, 3)):
            when = day()
            key = f"{p.pid}e{e}"
            p.exits.append((key, when, rng.choice(REASONS)))
            for f in range(rng.randrange(0, 4)):
                after = rng.choice((60, 91, 120, 273, 274, 300, 547, 548, 600))
                p.followups.append((f"{key}f{f}", key, when + timedelta(days=after),
                                    rng.choice(SITUATIONS)))
        for s in range(rng.randrange(0, 5)):
            p.self_evals.append((f"{p.pid}s{s}", day(), rng.choice(ITEMS),
                                 rng.choice((0.0, 0.25, 0.5, 1.0))))
        for s in range(rng.randrange(0, 5)):
            p.coach_evals.append((f"{p.pid}k{s}", day(), rng.choice(ITEMS),
                                  rng.choice((0.0, 0.25, 0.5, 1.0))))
    return people


def load(runtime: NodeRuntime, people: list[Person]) -> None:
    with runtime.store.transaction() as conn:
        for table in ("exit_followups", "exits", "hires", "training_sessions",
                      "coach_evaluations", "self_evaluations", "support_actions", "contracts",
                      "workers"):
            conn.execute(f"DELETE FROM {table}")
        conn.executemany("INSERT INTO workers VALUES (?, 1980, 'F', 'LOWER_SEC', ?, 'BE-WAL')",
                         [(p.pid, "NON_TARGET" if i < 4 else "TG_DISADV")
                          for i, p in enumerate(people)])
        conn.executemany(
            "INSERT INTO contracts (contract_key, pid, role, contract_type, weekly_hours, "
            "start_date, end_date) VALUES (?, ?, 'TARGET_WORKER', 'OPEN_ENDED', 38, ?, ?)",
            [(k, p.pid, s.isoformat(), e and e.isoformat()) for p in people
             for k, s, e in p.contracts])
        conn.executemany(
            "INSERT INTO support_actions (action_key, pid, action_date, duration_min, "
            "action_code, staff_pid) VALUES (?, ?, ?, ?, ?, ?)",
            [(k, p.pid, d.isoformat(), m, code, staff) for p in people
             for k, d, m, code, staff in p.actions])
        conn.executemany("INSERT INTO training_sessions VALUES (?, ?, ?, ?, 'INTERNAL_COURSE', 0)",
                         [(k, p.pid, d.isoformat(), h) for p in people for k, d, h in p.trainings])
        conn.executemany("INSERT INTO hires VALUES (?, ?, ?, ?)",
                         [(k, p.pid, d.isoformat(), s) for p in people for k, d, s in p.hires])
        conn.executemany(
            "INSERT INTO exits (exit_key, pid, exit_date, destination, exit_reason) "
            "VALUES (?, ?, ?, 'UNKNOWN', ?)",
            [(k, p.pid, d.isoformat(), r) for p in people for k, d, r in p.exits])
        conn.executemany("INSERT INTO exit_followups VALUES (?, ?, ?, ?, ?)",
                         [(k, p.pid, e, d.isoformat(), s) for p in people
                          for k, e, d, s in p.followups])
        conn.executemany("INSERT INTO self_evaluations VALUES (?, ?, ?, ?, ?)",
                         [(k, p.pid, d.isoformat(), i, s) for p in people
                          for k, d, i, s in p.self_evals])
        conn.executemany("INSERT INTO coach_evaluations VALUES (?, ?, NULL, ?, ?, ?)",
                         [(k, p.pid, d.isoformat(), i, s) for p in people
                          for k, d, i, s in p.coach_evals])


# ------------------------------------------------------------------------------------------
# The reference: each definition written out over one person's records
# ------------------------------------------------------------------------------------------

def inside(d: date, start: date, end: date) -> bool:
    return start <= d < end


def last_exit(p: Person, start: date, end: date) -> tuple[str, date, str] | None:
    rows = [e for e in p.exits if inside(e[1], start, end)]
    return max(rows, key=lambda e: (e[1], e[0])) if rows else None


def situation(p: Person, start: date, end: date, months: int) -> str | None:
    exit_ = last_exit(p, start, end)
    if exit_ is None:
        return None
    low, high = (91, 274) if months == 6 else (274, 548)
    rows = [f for f in p.followups if f[1] == exit_[0]
            and exit_[1] + timedelta(days=low) <= f[2] < exit_[1] + timedelta(days=high)]
    return max(rows, key=lambda f: (f[2], f[0]))[3] if rows else None


def changes(rows: list[tuple[str, date, str, float]], start: date, end: date) -> list[Fraction]:
    out = []
    for item in sorted({r[2] for r in rows}):
        answers = sorted((r[1], r[0], r[3]) for r in rows
                         if r[2] == item and inside(r[1], start, end))
        if len(answers) >= 2:
            out.append(Fraction(answers[-1][2]) - Fraction(answers[0][2]))
    return out


def main_by_minutes(pairs: list[tuple[str, int]]) -> str | None:
    totals: dict[str, int] = {}
    for key, minutes in pairs:
        totals[key] = totals.get(key, 0) + minutes
    return min(totals, key=lambda k: (-totals[k], k)) if totals else None


def is_staff(p: Person) -> bool:
    return int(p.pid[1:]) < 4  # p00–p03: NON_TARGET, the others TG_DISADV (see load)


def main_coach(p: Person, start: date, end: date) -> str | None:
    """A target worker's main coach (support given to staff is no caseload)."""
    if is_staff(p):
        return None
    return main_by_minutes([(a[4], a[2]) for a in p.actions
                            if a[4] is not None and inside(a[1], start, end)])


def in_population(p: Person, people: list[Person], population: str, start: date,
                  end: date) -> bool:
    if population == "active_during":
        return any(s < end and (e is None or e > start) for _, s, e in p.contracts)
    if population == "exited_during":
        return last_exit(p, start, end) is not None
    if population == "hired_during":
        return any(inside(h[1], start, end) for h in p.hires)
    if population == "coaching_staff":
        return is_staff(p) and any(main_coach(q, start, end) == p.pid for q in people)
    if population == "coach_evaluated_twice":
        return bool(changes(p.coach_evals, start, end))
    if population == "self_evaluated_twice":
        return bool(changes(p.self_evals, start, end))
    raise AssertionError(population)


def value(p: Person, people: list[Person], measure: Measure, start: date,
          end: date) -> Fraction:
    kind = measure.value
    if kind == "one":
        return Fraction(1)
    if kind == "training_hours":
        return sum((Fraction(h) for _, d, h in p.trainings if inside(d, start, end)),
                   Fraction(0))
    if kind == "exited_in":
        return Fraction(last_exit(p, start, end) is not None)
    if kind == "followup_in":
        found = situation(p, start, end, int(measure.params["horizon_months"][0]))
        return Fraction(found in measure.params["situations"])
    if kind == "coach_caseload":
        return Fraction(sum(1 for q in people if main_coach(q, start, end) == p.pid))
    if kind in ("coach_evaluation_change", "self_evaluation_change"):
        found = changes(p.coach_evals if kind.startswith("coach") else p.self_evals, start, end)
        return sum(found, Fraction(0)) / len(found)
    if kind == "support_hours":
        return Fraction(sum(a[2] for a in p.actions if inside(a[1], start, end)), 60)
    raise AssertionError(kind)


def code_of(p: Person, dimension: Dimension, start: date, end: date) -> str | None:
    source = dimension.source
    if source == "worker.target_group":
        return "NON_TARGET" if is_staff(p) else "TG_DISADV"
    if source == "exit.reason":
        exit_ = last_exit(p, start, end)
        return exit_[2] if exit_ else None
    if source in ("exit.situation_6m", "exit.situation_12m"):
        return situation(p, start, end, 6 if source.endswith("6m") else 12) or "NO_OBSERVATION"
    if source == "hire.referral_source":
        rows = sorted((h[1], h[0], h[2]) for h in p.hires if inside(h[1], start, end))
        return rows[0][2] if rows else None
    if source == "support.main_kind":
        return main_by_minutes([(a[3], a[2]) for a in p.actions
                                if inside(a[1], start, end)]) or "NONE"
    if source == "self_evaluation.weakest_item":
        firsts = {}
        for _key, d, item, score in sorted(p.self_evals, key=lambda r: (r[1], r[0])):
            if inside(d, start, end) and item not in firsts:
                firsts[item] = Fraction(score)
        return min(firsts, key=lambda i: (firsts[i], i)) if firsts else "NONE"
    raise AssertionError(source)


def reference(people: list[Person], measure: Measure, dimensions: tuple[Dimension, ...],
              start: date, end: date) -> dict[tuple[str, ...], tuple[int, int, int]]:
    cells: dict[tuple[str, ...], tuple[int, int, int]] = {}
    for p in people:
        if not in_population(p, people, measure.population, start, end):
            continue
        key = []
        for d in dimensions:
            code = code_of(p, d, start, end)
            key.append(next(c for c, codes in d.groups.items() if code in codes))
        lo, hi = fixed_point_range(value(p, people, measure, start, end), measure,
                                   CAT.fixed_point_scale)
        n, s_lo, s_hi = cells.get(tuple(key), (0, 0, 0))
        cells[tuple(key)] = (n + 1, s_lo + lo, s_hi + hi)
    return cells


def groupings(measure: Measure) -> Iterator[tuple[str, ...]]:
    yield ()
    for name, dimension in CAT.dimensions.items():
        if name in NEW_DIMENSIONS and (not dimension.applies_to
                                       or measure.population in dimension.applies_to):
            yield (name,)
    yield ("target_group",)


def compare(runtime: NodeRuntime, people: list[Person], measure_name: str,
            group_by: tuple[str, ...], period: str) -> None:
    measure = CAT.measures[measure_name]
    query = validate(QuerySpec(CAT.version, measure_name, Statistic.COUNT, group_by, (), period,
                               1_000_000), CAT)
    span = parse_period(period)
    want = reference(people, measure, query.dimensions, span.start, span.end)
    for facts in (False, True):
        compiled = compile_query(query, facts=facts)
        with runtime.store.reading() as conn:
            rows = conn.execute(compiled.sql, compiled.params).fetchall()
        got = {tuple(r[:len(group_by)]): (r[len(group_by)], r[len(group_by) + 1]) for r in rows
               if r[len(group_by)]}  # without a group-by, an empty population is one 0 row
        assert set(got) == set(want), (measure_name, group_by, period, facts)
        for key, (n, s) in got.items():
            count, low, high = want[key]
            assert n == count and low <= s <= high, (measure_name, group_by, key, facts)


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeRuntime]:
    directory: Path = tmp_path_factory.mktemp("outcomes")
    opened = open_node(load_node_config(create_node(directory / "node")))
    yield opened
    opened.close()


def test_2027_1_is_2026_2_plus_the_outcome_measures() -> None:
    assert {n: m for n, m in CAT.measures.items() if n in OLD.measures} == dict(OLD.measures)
    assert {n: d for n, d in CAT.dimensions.items() if n in OLD.dimensions} == dict(
        OLD.dimensions)
    assert sorted([
        "training_hours", "hires", "turnover_rate", "exits", "situation_6m", "situation_12m",
        "employment_or_training_6m", "employment_or_training_12m", "coach_caseload",
        "coach_evaluation_change"]) == NEW_MEASURES
    assert sorted(["exit_reason", "situation_6m", "situation_12m", "referral_source",
                   "support_kind", "self_evaluation_item"]) == NEW_DIMENSIONS
    # Every stored code falls in exactly one cell (the parser refuses codes outside these lists).
    covered = {name: {c for codes in CAT.dimensions[name].groups.values() for c in codes}
               for name in NEW_DIMENSIONS}
    assert covered["exit_reason"] == set(EXIT_REASONS)
    assert covered["referral_source"] == set(REFERRAL_SOURCES)
    assert covered["situation_6m"] == covered["situation_12m"] == {*FOLLOWUP_SITUATIONS,
                                                                  "NO_OBSERVATION"}
    assert covered["support_kind"] == {*FED_SUPPORT_ACTIONS, "NONE"}
    assert covered["self_evaluation_item"] == {*SELF_EVALUATION_ITEMS, "NONE"}
    bounds = {n: (str(CAT.measures[n].lower), str(CAT.measures[n].upper)) for n in NEW_MEASURES}
    assert bounds["training_hours"] == ("0", "1000") and bounds["coach_caseload"] == ("0", "60")
    assert bounds["coach_evaluation_change"] == ("-1", "1")
    assert all(b == ("0", "1") for n, b in bounds.items()
               if n not in ("training_hours", "coach_caseload", "coach_evaluation_change"))


@pytest.mark.parametrize("seed", range(6))
def test_compiled_sql_matches_the_per_person_reference(runtime: NodeRuntime, seed: int) -> None:
    people = organisation(seed)
    load(runtime, people)
    for name in NEW_MEASURES:
        for group_by in groupings(CAT.measures[name]):
            for period in ("2025", "2025-Q2"):
                compare(runtime, people, name, group_by, period)
    # The new dimensions under measures of 2026.2 (facts-backed populations included).
    for name in ("support_hours", "reached", "self_evaluation_change"):
        for group_by in (("support_kind",), ("self_evaluation_item",)):
            compare(runtime, people, name, group_by, "2025")


def test_the_reference_can_fail(runtime: NodeRuntime) -> None:
    """A wrong reference (the first exit instead of the last) is caught: the check has teeth."""
    people = organisation(1)
    load(runtime, people)
    swapped = [Person(p.pid, p.contracts, p.actions, p.trainings, p.hires,
                      [(k, d, "RESIGNATION") for k, d, _ in p.exits], p.followups,
                      p.self_evals, p.coach_evals) for p in people]
    with pytest.raises(AssertionError):
        compare(runtime, swapped, "exits", ("exit_reason",), "2025")


def test_the_cli_shows_a_2027_1_rate_in_percent() -> None:
    from cli.render import display_of

    spec = QuerySpec(CAT.version, "turnover_rate", Statistic.MEAN, (), (), "2025", 1)
    assert display_of(spec).unit == " %"
