"""Property: the compiled per-person SQL equals a pure-Python per-person reference.

Hypothesis generates small organisations whose people hold several (overlapping) contracts,
support actions, competence assessments, exits, support plans with reviews and self-evaluation
answers, inside and outside the period. For every
measure of the catalogue, grouped by every dimension that applies (and by two at once), the
SQL's per-cell person count must equal the reference's exactly, and its fixed-point sum must
equal the reference's — where each person contributes exactly one value, aggregated over all
their rows, clamped, then rounded. The reference computes in exact fractions; only a per-person
value lying within 1e-9 of a rounding tie may round either way (floats in SQL), and the sum is
checked against that interval.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from fractions import Fraction
from pathlib import Path

import pytest
from conftest import create_node
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from node import NodeRuntime, load_node_config, open_node
from node.engine.compiler import check_period, compile_query, uses_facts
from node.imports.records import DESTINATIONS, EDUCATION, GENDERS, REGIONS, TARGET_GROUPS
from node.store.facts import covered
from privacy import (
    Catalogue,
    Dimension,
    InvalidQueryError,
    Measure,
    QuerySpec,
    Statistic,
    ValidatedQuery,
    default_catalogue,
    parse_period,
    validate,
)

CAT = default_catalogue()
BASE = date(2024, 7, 1)  # generated dates fall from here over ~20 months, around 2025


@dataclass(frozen=True)
class Contract:
    key: str
    hours: float
    start: date
    end: date | None


@dataclass(frozen=True)
class Person:
    pid: str
    birth_year: int
    gender: str
    education: str
    target_group: str
    region: str
    contracts: tuple[Contract, ...]
    actions: tuple[tuple[str, date, int], ...]  # key, date, minutes
    assessments: tuple[tuple[str, date, str, float], ...]  # key, date, competence, score
    exits: tuple[tuple[str, date, str], ...]  # key, date, destination
    plans: tuple[Plan, ...] = ()
    evaluations: tuple[tuple[str, date, str, float], ...] = ()  # key, date, item, score


@dataclass(frozen=True)
class Plan:
    key: str
    start: date
    end: date | None
    reviews: tuple[tuple[str, date], ...]  # key, date


def day(offset: int) -> date:
    return BASE + timedelta(days=offset)


# Period boundaries (first days of the quarters and years asked for) and the days around them:
# contracts and plans often start or end exactly there, which is where a definition that reads
# one day too far (or too little) shows.
_BOUNDARIES = sorted({(date(y, m, 1) - BASE).days + shift
                      for y, m in ((2024, 1), (2025, 1), (2025, 4), (2025, 7), (2025, 10),
                                   (2026, 1)) for shift in (-1, 0, 1)})


def start_offset(draw: st.DrawFn) -> int:
    return draw(st.one_of(st.integers(-400, 600), st.sampled_from(_BOUNDARIES)))


def length_days(draw: st.DrawFn, start: int) -> int | None:
    """None (still running), a random length, or one ending on a period boundary."""
    ends = [b - start for b in _BOUNDARIES if b > start]
    choices = st.one_of(st.none(), st.integers(1, 500), *([st.sampled_from(ends)] if ends else []))
    result: int | None = draw(choices)
    return result


def coarse_day(draw: st.DrawFn) -> date:
    """A date on a monthly grid, so that same-day assessments and exits (ties the SQL breaks
    by key) are frequent."""
    return day(30 * draw(st.integers(0, 20)))


@st.composite
def person(draw: st.DrawFn, index: int) -> Person:
    pid = f"p{index:02d}"
    contracts = []
    for i in range(draw(st.integers(0, 3))):
        start = start_offset(draw)
        length = length_days(draw, start)
        contracts.append(Contract(f"{pid}c{i}", draw(st.sampled_from([0, 9.5, 19, 28.5, 38,
                                                                      45])),
                                  day(start), None if length is None else day(start + length)))
    actions = tuple((f"{pid}a{i}", day(draw(st.integers(0, 600))), draw(st.integers(1, 600)))
                    for i in range(draw(st.integers(0, 25))))
    assessments = tuple(
        (f"{pid}k{i}", coarse_day(draw), draw(st.sampled_from(["C01", "C02",
                                                                             "B01"])),
         draw(st.integers(0, 20)) / 20)
        for i in range(draw(st.integers(0, 6))))
    exits = tuple((f"{pid}e{i}", coarse_day(draw),
                   draw(st.sampled_from(DESTINATIONS)))
                  for i in range(draw(st.integers(0, 3))))
    plans = []
    for i in range(draw(st.integers(0, 2))):
        start = start_offset(draw)
        length = length_days(draw, start)
        reviews = tuple((f"{pid}p{i}r{j}", coarse_day(draw))
                        for j in range(draw(st.integers(0, 3))))
        plans.append(Plan(f"{pid}p{i}", day(start),
                          None if length is None else day(start + length), reviews))
    evaluations = tuple(
        (f"{pid}s{i}", coarse_day(draw), draw(st.sampled_from(["SE01", "SE02"])),
         draw(st.integers(0, 20)) / 20)
        for i in range(draw(st.integers(0, 6))))
    return Person(pid, draw(st.integers(1940, 2010)), draw(st.sampled_from(GENDERS)),
                  draw(st.sampled_from(EDUCATION)), draw(st.sampled_from(TARGET_GROUPS)),
                  draw(st.sampled_from(REGIONS)), tuple(contracts), actions, assessments, exits,
                  tuple(plans), evaluations)


@st.composite
def organisation(draw: st.DrawFn) -> list[Person]:
    return [draw(person(i)) for i in range(draw(st.integers(1, 10)))]


# ------------------------------------------------------------------------------------------
# The reference: per person, in exact arithmetic, straight from the catalogue's definitions
# ------------------------------------------------------------------------------------------

def in_population(p: Person, population: str, start: date, end: date) -> bool:
    last_day = end - timedelta(days=1)
    if population == "active_at_end":
        return any(c.start <= last_day and (c.end is None or c.end > last_day)
                   for c in p.contracts)
    if population == "active_during":
        return any(c.start < end and (c.end is None or c.end > start) for c in p.contracts)
    if population == "exited_during":
        return any(start <= d < end for _, d, _ in p.exits)
    if population == "assessed_twice":
        return any(n >= 2 for n in competence_counts(p, start, end).values())
    if population == "active_at_start":
        return active_on(p, start)
    if population == "planned_during":
        return any(plan_active(pl, start, end) for pl in p.plans)
    if population == "self_evaluated_twice":
        return any(n >= 2 for n in competence_counts(p, start, end, p.evaluations).values())
    raise AssertionError(population)


def active_on(p: Person, when: date) -> bool:
    return any(c.start <= when and (c.end is None or c.end > when) for c in p.contracts)


def plan_active(plan: Plan, start: date, end: date) -> bool:
    return plan.start < end and (plan.end is None or plan.end > start)


def competence_counts(p: Person, start: date, end: date,
                      rows: tuple[tuple[str, date, str, float], ...] | None = None
                      ) -> dict[str, int]:
    counts: dict[str, int] = {}
    for _, d, code, _ in p.assessments if rows is None else rows:
        if start <= d < end:
            counts[code] = counts.get(code, 0) + 1
    return counts


def mean_change(p: Person, rows: tuple[tuple[str, date, str, float], ...], start: date,
                end: date) -> Fraction:
    """Last minus first per code with >= 2 rows in the period (ties by key), averaged."""
    gains = []
    for code, n in competence_counts(p, start, end, rows).items():
        if n >= 2:
            ordered = sorted((d, k, s) for k, d, c, s in rows if c == code and start <= d < end)
            gains.append(Fraction(ordered[-1][2]) - Fraction(ordered[0][2]))
    return sum(gains, Fraction(0)) / len(gains) if gains else Fraction(0)


def last_exit(p: Person, start: date, end: date) -> tuple[str, date, str] | None:
    inside = [e for e in p.exits if start <= e[1] < end]
    return max(inside, key=lambda e: (e[1], e[0])) if inside else None


def value(p: Person, measure: Measure, start: date, end: date) -> Fraction:
    days = (end - start).days
    if measure.value == "one":
        return Fraction(1)
    if measure.value == "fte":
        total = Fraction(0)
        for c in p.contracts:
            if c.start < end and (c.end is None or c.end > start):
                overlap = (min(c.end or end, end) - max(c.start, start)).days
                total += Fraction(min(c.hours, 38)) / 38 * Fraction(overlap, days)
        return total
    if measure.value == "support_hours":
        return Fraction(sum(m for _, d, m in p.actions if start <= d < end), 60)
    if measure.value == "competence_gain":
        return mean_change(p, p.assessments, start, end)
    if measure.value == "self_evaluation_change":
        return mean_change(p, p.evaluations, start, end)
    if measure.value == "plan_active":
        return Fraction(int(any(plan_active(pl, start, end) for pl in p.plans)))
    if measure.value == "plan_review_in":
        return Fraction(int(any(start <= d < end for pl in p.plans for _, d in pl.reviews)))
    if measure.value == "active_12_months_later":
        return Fraction(int(active_on(p, end - timedelta(days=1))))
    if measure.value == "last_exit_in":
        exit_ = last_exit(p, start, end)
        return Fraction(int(exit_ is not None and exit_[2] in measure.params["destinations"]))
    raise AssertionError(measure.value)


def fixed_point_range(v: Fraction, measure: Measure, scale: int) -> tuple[int, int]:
    """The fixed-point value(s) SQL may produce: round half away from zero, ties either way."""
    x = max(Fraction(measure.lower), min(Fraction(measure.upper), v)) * scale
    floor = math.floor(x)
    if abs(x - floor - Fraction(1, 2)) < Fraction(1, 10**9):
        return floor, floor + 1
    rounded = floor + 1 if x - floor > Fraction(1, 2) else floor
    return rounded, rounded


def cell_of(p: Person, dimension: Dimension, start: date, end: date) -> str | None:
    if dimension.source == "worker.age":
        age = (end - timedelta(days=1)).year - p.birth_year
        for edge, cell in zip(dimension.age_edges, dimension.cells, strict=False):
            if age < edge:
                return cell
        return dimension.cells[-1]
    if dimension.source == "exit.destination":
        exit_ = last_exit(p, start, end)
        code = exit_[2] if exit_ else None
    else:
        code = {"worker.gender": p.gender, "worker.education_level": p.education,
                "worker.target_group": p.target_group, "worker.region": p.region}[
                    dimension.source]
    return next((cell for cell, codes in dimension.groups.items() if code in codes), None)


def reference(people: list[Person], catalogue: Catalogue, measure: Measure,
              dimensions: tuple[Dimension, ...], start: date, end: date
              ) -> dict[tuple[str, ...], tuple[int, int, int]]:
    """Per cell: persons, and the lowest and highest fixed-point sum SQL may return."""
    cells: dict[tuple[str, ...], tuple[int, int, int]] = {}
    for p in people:
        if not in_population(p, measure.population, start, end):
            continue
        key = tuple(cell_of(p, d, start, end) or "?" for d in dimensions)
        lo, hi = fixed_point_range(value(p, measure, start, end), measure,
                                   catalogue.fixed_point_scale)
        n, s_lo, s_hi = cells.get(key, (0, 0, 0))
        cells[key] = (n + 1, s_lo + lo, s_hi + hi)
    return cells


# ------------------------------------------------------------------------------------------
# The property
# ------------------------------------------------------------------------------------------

def load(runtime: NodeRuntime, people: list[Person]) -> None:
    with runtime.store.transaction() as conn:
        for table in ("plan_reviews", "plan_goals", "support_plans", "self_evaluations",
                      "exits", "competence_assessments", "support_actions", "contracts",
                      "workers"):
            conn.execute(f"DELETE FROM {table}")
        conn.executemany("INSERT INTO workers VALUES (?, ?, ?, ?, ?, ?)", [
            (p.pid, p.birth_year, p.gender, p.education, p.target_group, p.region)
            for p in people])
        conn.executemany(
            "INSERT INTO contracts (contract_key, pid, role, contract_type, weekly_hours, "
            "start_date, end_date) VALUES (?, ?, 'TARGET_WORKER', 'OPEN_ENDED', ?, ?, ?)",
            [(c.key, p.pid, c.hours, c.start.isoformat(), c.end and c.end.isoformat())
             for p in people for c in p.contracts])
        conn.executemany(
            "INSERT INTO support_actions (action_key, pid, action_date, duration_min, "
            "action_code) VALUES (?, ?, ?, ?, 'SA02')",
            [(k, p.pid, d.isoformat(), m) for p in people for k, d, m in p.actions])
        conn.executemany(
            "INSERT INTO competence_assessments (assessment_key, pid, assessment_date, "
            "competence_code, score_norm) VALUES (?, ?, ?, ?, ?)",
            [(k, p.pid, d.isoformat(), c, s) for p in people for k, d, c, s in p.assessments])
        conn.executemany("INSERT INTO exits (exit_key, pid, exit_date, destination) "
                         "VALUES (?, ?, ?, ?)",
                         [(k, p.pid, d.isoformat(), dest)
                          for p in people for k, d, dest in p.exits])
        conn.executemany("INSERT INTO support_plans VALUES (?, ?, ?, ?)",
                         [(pl.key, p.pid, pl.start.isoformat(), pl.end and pl.end.isoformat())
                          for p in people for pl in p.plans])
        conn.executemany("INSERT INTO plan_reviews VALUES (?, ?, ?)",
                         [(k, pl.key, d.isoformat())
                          for p in people for pl in p.plans for k, d in pl.reviews])
        conn.executemany("INSERT INTO self_evaluations VALUES (?, ?, ?, ?, ?)",
                         [(k, p.pid, d.isoformat(), item, score)
                          for p in people for k, d, item, score in p.evaluations])


def _rows(runtime: NodeRuntime, query: ValidatedQuery, facts: bool) -> list[tuple[object, ...]]:
    compiled = compile_query(query, facts=facts)
    with runtime.store.reading() as conn:
        if facts and uses_facts(query):
            assert covered(conn, query.period.label), "the facts do not cover the period"
        return sorted(conn.execute(compiled.sql, compiled.params).fetchall(), key=repr)


def raw_rows(runtime: NodeRuntime, query: ValidatedQuery) -> list[tuple[object, ...]]:
    """The compiled SQL's rows computed from the raw records."""
    return _rows(runtime, query, facts=False)


def fact_rows(runtime: NodeRuntime, query: ValidatedQuery) -> list[tuple[object, ...]]:
    """The same rows read from the per-person facts (the raw SQL where facts do not apply)."""
    return _rows(runtime, query, facts=True)


def groupings(measure: Measure) -> Iterator[tuple[str, ...]]:
    yield ()
    applicable = [n for n, d in CAT.dimensions.items()
                  if not d.applies_to or measure.population in d.applies_to]
    for name in applicable:
        yield (name,)
    yield ("gender", "age_band")


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeRuntime]:
    directory: Path = tmp_path_factory.mktemp("property")
    opened = open_node(load_node_config(create_node(directory / "node")))
    yield opened
    opened.close()


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(people=organisation(), period=st.sampled_from(["2025", "2025-Q2", "2025-Q4", "2024"]))
def test_compiled_sql_matches_the_per_person_reference(
        runtime: NodeRuntime, people: list[Person], period: str) -> None:
    load(runtime, people)
    bounds = parse_period(period)
    for measure in CAT.measures.values():
        statistic = next(iter(measure.statistics))
        for group_by in groupings(measure):
            query = validate(QuerySpec(CAT.version, measure.name, statistic, group_by, (),
                                       period, 1_000_000), CAT)
            if measure.value == "active_12_months_later" and "-Q" in period:
                with pytest.raises(InvalidQueryError, match="calendar year"):
                    runtime.engine.exact_cells(query)  # it would read beyond the quarter
                continue
            counts, sums = runtime.engine.exact_cells(query)
            assert raw_rows(runtime, query) == fact_rows(runtime, query), (
                f"{measure.name} by {group_by} in {period}: facts and raw rows disagree")
            expected = reference(people, CAT, measure, query.dimensions, bounds.start,
                                 bounds.end)
            assert set(expected) <= set(query.cells), "a person fell outside every cell"
            for cell, count, total in zip(query.cells, counts, sums, strict=True):
                n, lo, hi = expected.get(cell, (0, 0, 0))
                where = f"{measure.name} by {group_by} in {period}, cell {cell}"
                assert count == n, where
                assert lo <= total <= hi, where


def test_the_reference_can_fail(runtime: NodeRuntime) -> None:
    """A sanity check of the check: a wrong per-person value is caught (so the property is
    not vacuous). Support hours summed per action row instead of per person would exceed the
    clamp; the reference must disagree with such a figure."""
    many = tuple((f"a{i}", date(2025, 3, 1), 600) for i in range(20))  # 200 h, clamped to 150
    p = Person("p00", 1980, "F", "LOWER_SEC", "TG_DISABILITY", "BE-WAL",
               (Contract("c", 38, date(2020, 1, 1), None),), many, (), ())
    load(runtime, [p])
    query = validate(QuerySpec(CAT.version, "support_hours", Statistic.SUM, (), (), "2025",
                               1_000_000), CAT)
    _, sums = runtime.engine.exact_cells(query)
    measure = CAT.measures["support_hours"]
    n, lo, hi = reference([p], CAT, measure, (), date(2025, 1, 1), date(2026, 1, 1))[()]
    assert n == 1 and lo == hi == sums[0] == 15000
    unclamped = sum(Fraction(m, 60) for _, _, m in many) * CAT.fixed_point_scale
    assert not lo <= unclamped <= hi


# ------------------------------------------------------------------------------------------
# The per-person facts under random edits
# ------------------------------------------------------------------------------------------

@st.composite
def edits(draw: st.DrawFn, people: list[Person]) -> list[tuple[str, tuple[object, ...]]]:
    """Random statements on workers, contracts and support actions: new rows, changed
    attributes, dates, hours, minutes and owners, deleted rows (what a re-import or the
    organisation's tool does)."""
    pids = [p.pid for p in people]
    contracts = [c.key for p in people for c in p.contracts]
    actions = [a[0] for p in people for a in p.actions]
    out: list[tuple[str, tuple[object, ...]]] = []
    for i in range(draw(st.integers(1, 8))):
        kind = draw(st.sampled_from(["add_contract", "move_contract", "end_contract",
                                     "hours", "drop_contract", "add_action", "move_action",
                                     "minutes", "drop_action", "worker"]))
        when = day(start_offset(draw)).isoformat()
        pid = draw(st.sampled_from(pids))
        if kind == "add_contract":
            length = length_days(draw, 0)
            end = None if length is None else (date.fromisoformat(when)
                                               + timedelta(days=length)).isoformat()
            out.append(("INSERT INTO contracts (contract_key, pid, role, contract_type, "
                        "weekly_hours, start_date, end_date) VALUES (?, ?, 'TARGET_WORKER', "
                        "'OPEN_ENDED', ?, ?, ?)",
                        (f"new-c{i}", pid, draw(st.sampled_from([9.5, 38, 45])), when, end)))
        elif kind == "worker":
            out.append(("UPDATE workers SET birth_year = ?, gender = ?, region = ?, "
                        "target_group = ? WHERE pid = ?",
                        (draw(st.integers(1940, 2010)), draw(st.sampled_from(GENDERS)),
                         draw(st.sampled_from(REGIONS)), draw(st.sampled_from(TARGET_GROUPS)),
                         pid)))
        elif kind == "add_action":
            out.append(("INSERT INTO support_actions (action_key, pid, action_date, "
                        "duration_min, action_code) VALUES (?, ?, ?, ?, 'SA02')",
                        (f"new-a{i}", pid, when, draw(st.integers(1, 600)))))
        elif kind in ("move_contract", "end_contract", "hours", "drop_contract") and contracts:
            key = draw(st.sampled_from(contracts))
            out.append({
                "move_contract": ("UPDATE contracts SET pid = ? WHERE contract_key = ?",
                                  (pid, key)),
                "end_contract": ("UPDATE contracts SET end_date = ? WHERE contract_key = ? "
                                 "AND start_date < ?", (when, key, when)),
                "hours": ("UPDATE contracts SET weekly_hours = ? WHERE contract_key = ?",
                          (draw(st.sampled_from([0, 19, 38, 45])), key)),
                "drop_contract": ("DELETE FROM contracts WHERE contract_key = ?", (key,)),
            }[kind])
        elif kind in ("move_action", "minutes", "drop_action") and actions:
            key = draw(st.sampled_from(actions))
            out.append({
                "move_action": ("UPDATE support_actions SET pid = ?, action_date = ? "
                                "WHERE action_key = ?", (pid, when, key)),
                "minutes": ("UPDATE support_actions SET duration_min = ? WHERE action_key = ?",
                            (draw(st.integers(1, 600)), key)),
                "drop_action": ("DELETE FROM support_actions WHERE action_key = ?", (key,)),
            }[kind])
    return out


def all_facts(runtime: NodeRuntime) -> list[tuple[object, ...]]:
    with runtime.store.reading() as conn:
        return [(*r[:-1], round(r[-1], 9)) for r in conn.execute(
            "SELECT period, pid, active_start, active_end, support_min, birth_year, gender, "
            "education_level, target_group, region, fte FROM person_periods "
            "ORDER BY period, pid")]


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data(), people=organisation())
def test_facts_kept_through_edits_equal_the_raw_row_definition(
        runtime: NodeRuntime, data: st.DataObject, people: list[Person]) -> None:
    """Edit a random store in one or two transactions; the facts kept incrementally must equal
    facts computed from scratch, and every query on them the raw-row SQL's answer."""
    load(runtime, people)
    statements = data.draw(edits(people))
    split = data.draw(st.integers(0, len(statements)))
    for batch in (statements[:split], statements[split:]):
        with runtime.store.transaction() as conn:
            for sql, args in batch:
                conn.execute(sql, args)
    kept = all_facts(runtime)
    assert runtime.store.rebuild_facts() == len(kept)
    assert all_facts(runtime) == kept, "incrementally kept facts differ from a rebuild"
    for period in ("2025", "2025-Q1", "2024-Q4"):
        for measure in CAT.measures.values():
            if not uses_facts(validate(QuerySpec(CAT.version, measure.name,
                                                 next(iter(measure.statistics)), (), (), "2025",
                                                 1_000_000), CAT)):
                continue
            for statistic in measure.statistics:
                for group_by in ((), ("target_group",), ("gender", "age_band")):
                    spec = QuerySpec(CAT.version, measure.name, statistic, group_by,
                                     (("region", ("BE-WAL", "BE-BRU")),) if group_by else (),
                                     period, 1_000_000)
                    try:
                        query = validate(spec, CAT)
                        check_period(query)
                    except InvalidQueryError:
                        continue
                    assert fact_rows(runtime, query) == raw_rows(runtime, query), (
                        f"{measure.name} {statistic} by {group_by} in {period}")


def test_a_write_outside_a_transaction_sends_queries_back_to_the_raw_rows(
        runtime: NodeRuntime) -> None:
    """Facts are only read when no person awaits recomputation."""
    p = Person("p00", 1980, "F", "LOWER_SEC", "TG_DISABILITY", "BE-WAL",
               (Contract("c", 38, date(2020, 1, 1), None),), (("a", date(2025, 3, 1), 60),),
               (), ())
    load(runtime, [p])
    query = validate(QuerySpec(CAT.version, "support_hours", Statistic.SUM, (), (), "2025",
                               1_000_000), CAT)
    assert runtime.engine.exact_cells(query)[1] == [100]
    with runtime.store.reading() as conn:  # autocommit, bypassing Store.transaction
        conn.execute("UPDATE support_actions SET duration_min = 120")
        assert not covered(conn, "2025")
    assert runtime.engine.exact_cells(query)[1] == [200]
    with runtime.store.transaction():
        pass
    with runtime.store.reading() as conn:
        assert covered(conn, "2025")
    assert runtime.engine.exact_cells(query)[1] == [200]
