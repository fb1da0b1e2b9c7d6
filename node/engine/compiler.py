"""Compiling catalogue entries into parameterised SQL against the node's schema.

The catalogue names populations, per-person values and dimension sources; only the ones below
exist. SQL text is assembled from these fixed fragments alone; every code, bound and date is a
bound parameter. The query returns one row per non-empty cell with the number of persons, the
sum of their clamped fixed-point values and the number of persons whose value lay beyond the
bounds and was clamped; the node fills the rest of the public domain with zeros.

Sensitivity rests on two properties of this SQL, each tested: every population yields each
person at most once (``SELECT DISTINCT`` or ``GROUP BY pid``), and each person's value is
aggregated over all their rows, clamped to ``[lower, upper]`` and rounded to fixed point
before the per-cell ``SUM``.

Per-person facts (schema version 8, ``node/store/facts.py``): for the populations of people
under contract, ``compile_query(…, facts=True)`` reads ``person_periods`` instead, one row per
person and period with their flags, FTE, support minutes and worker attributes, kept at write
time. Each person is one row of it (primary key ``(period, pid)``), their value is clamped and
rounded in the same expression, and tests/test_compiler_property.py proves its answers equal
the raw-row SQL's for random stores and random edits. The engine uses it when the period is
covered and no change awaits recomputation (``node.store.facts.covered``).

Speed (DESIGN.md, Performance; measured in bench/): a value that sums one table per person is
a correlated subquery on the population row, walking that person's rows through a ``(pid, …)``
covering index, instead of a ``GROUP BY pid`` over the whole period and a join: the latter
sorts millions of rows in a temporary B-tree, in memory, on every query. On the facts, a
group-by with few cells is one pass with a ``FILTER``ed aggregate per cell instead of a sort
(``node.engine.pivot``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from node.engine.pivot import numbered, pivoted
from privacy import (
    Catalogue,
    CatalogueError,
    Dimension,
    InvalidQueryError,
    Statistic,
    ValidatedQuery,
)

__all__ = [
    "CompiledQuery",
    "check_catalogue",
    "check_period",
    "compile_query",
    "shared_cte",
    "uses_facts",
]

_ACTIVE_DURING = "start_date < :end AND (end_date IS NULL OR end_date > :start)"

POPULATIONS: dict[str, str] = {
    "active_at_end": (
        "SELECT DISTINCT pid FROM contracts "
        "WHERE start_date <= :last_day AND (end_date IS NULL OR end_date > :last_day)"
    ),
    "active_during": f"SELECT DISTINCT pid FROM contracts WHERE {_ACTIVE_DURING}",
    "exited_during": "SELECT pid FROM last_exit",
    "assessed_twice": "SELECT DISTINCT pid FROM competence_pairs",
    # People under contract on the first day of the period (retention's t0).
    "active_at_start": (
        "SELECT DISTINCT pid FROM contracts "
        "WHERE start_date <= :start AND (end_date IS NULL OR end_date > :start)"
    ),
    # People with a support plan active at some time in the period.
    "planned_during": f"SELECT DISTINCT pid FROM support_plans WHERE {_ACTIVE_DURING}",
    "self_evaluated_twice": "SELECT DISTINCT pid FROM self_evaluation_pairs",
}

# Values computed on each population row (``pop.pid``), aggregating that person's rows only;
# NULL (no rows) counts as 0.
PER_PERSON: dict[str, str] = {
    "one": "1.0",
    "fte": (
        "(SELECT SUM(MIN(c.weekly_hours, 38.0) / 38.0 * "
        "(julianday(MIN(COALESCE(c.end_date, :end), :end)) - julianday(MAX(c.start_date, :start)))"
        " / :period_days) FROM contracts c WHERE c.pid = pop.pid "
        "AND c.start_date < :end AND (c.end_date IS NULL OR c.end_date > :start))"
    ),
    "support_hours": (
        "(SELECT SUM(s.duration_min) FROM support_actions s WHERE s.pid = pop.pid "
        "AND s.action_date >= :start AND s.action_date < :end) / 60.0"
    ),
}

# Values that need a shared CTE: a CTE ``val(pid, v)``; persons absent from it have value 0.
VALUES: dict[str, str] = {
    "competence_gain": "SELECT pid, AVG(gain) AS v FROM competence_pairs GROUP BY pid",
    "last_exit_in": "SELECT pid, CASE WHEN destination IN ({codes}) THEN 1.0 ELSE 0.0 END AS v "
    "FROM last_exit",
    "plan_active": (
        f"SELECT pid, 1.0 AS v FROM support_plans WHERE {_ACTIVE_DURING} GROUP BY pid"
    ),
    # A review dated in the period, of any of the person's plans.
    "plan_review_in": (
        "SELECT p.pid AS pid, 1.0 AS v FROM plan_reviews r "
        "JOIN support_plans p ON p.plan_key = r.plan_key "
        "WHERE r.review_date >= :start AND r.review_date < :end GROUP BY p.pid"
    ),
    # Still under contract on the last day of the (calendar-year) period, i.e. 12 months after
    # its first day: reads contracts on that day only, never beyond the period.
    "active_12_months_later": (
        "SELECT pid, 1.0 AS v FROM contracts "
        "WHERE start_date <= :last_day AND (end_date IS NULL OR end_date > :last_day) "
        "GROUP BY pid"
    ),
    "self_evaluation_change": (
        "SELECT pid, AVG(change) AS v FROM self_evaluation_pairs GROUP BY pid"
    ),
}

# Values defined over a whole calendar year only (the period must span their 12 months).
_YEAR_ONLY = frozenset({"active_12_months_later"})

_SHARED_CTES = {
    "last_exit": (
        "last_exit AS (SELECT pid, destination FROM ("
        "SELECT pid, destination, ROW_NUMBER() OVER "
        "(PARTITION BY pid ORDER BY exit_date DESC, exit_key DESC) AS rn "
        "FROM exits WHERE exit_date >= :start AND exit_date < :end) WHERE rn = 1)"
    ),
    "competence_pairs": (
        "competence_pairs AS (SELECT pid, competence_code, "
        "MAX(CASE WHEN rn_last = 1 THEN score_norm END) "
        "- MAX(CASE WHEN rn_first = 1 THEN score_norm END) AS gain FROM ("
        "SELECT pid, competence_code, score_norm, "
        "ROW_NUMBER() OVER (PARTITION BY pid, competence_code "
        "ORDER BY assessment_date, assessment_key) AS rn_first, "
        "ROW_NUMBER() OVER (PARTITION BY pid, competence_code "
        "ORDER BY assessment_date DESC, assessment_key DESC) AS rn_last, "
        "COUNT(*) OVER (PARTITION BY pid, competence_code) AS n "
        "FROM competence_assessments WHERE assessment_date >= :start AND assessment_date < :end)"
        " WHERE n >= 2 GROUP BY pid, competence_code)"
    ),
    # Per person and questionnaire item with >= 2 answers in the period: last minus first.
    "self_evaluation_pairs": (
        "self_evaluation_pairs AS (SELECT pid, item_code, "
        "MAX(CASE WHEN rn_last = 1 THEN score_norm END) "
        "- MAX(CASE WHEN rn_first = 1 THEN score_norm END) AS change FROM ("
        "SELECT pid, item_code, score_norm, "
        "ROW_NUMBER() OVER (PARTITION BY pid, item_code "
        "ORDER BY evaluation_date, evaluation_key) AS rn_first, "
        "ROW_NUMBER() OVER (PARTITION BY pid, item_code "
        "ORDER BY evaluation_date DESC, evaluation_key DESC) AS rn_last, "
        "COUNT(*) OVER (PARTITION BY pid, item_code) AS n "
        "FROM self_evaluations WHERE evaluation_date >= :start AND evaluation_date < :end)"
        " WHERE n >= 2 GROUP BY pid, item_code)"
    ),
}

_WORKER_COLUMNS = {
    "worker.target_group": "w.target_group",
    "worker.gender": "w.gender",
    "worker.education_level": "w.education_level",
    "worker.region": "w.region",
}
DIMENSION_SOURCES = frozenset(_WORKER_COLUMNS) | {"worker.age", "exit.destination"}


@dataclass(frozen=True)
class CompiledQuery:
    """SQL returning rows ``(d0, …, dk[, bin], persons, fixed_point_sum)`` and its parameters.

    The ``bin`` column (a public bin index) is there for histograms only.
    """

    sql: str
    params: dict[str, Any]


def check_catalogue(catalogue: Catalogue) -> None:
    """Refuse a catalogue that uses a population, value or source this node cannot compile."""
    for measure in catalogue.measures.values():
        if measure.population not in POPULATIONS:
            raise CatalogueError(f"measure {measure.name!r}: unknown population")
        if measure.value not in VALUES and measure.value not in PER_PERSON:
            raise CatalogueError(f"measure {measure.name!r}: unknown value")
        if measure.value == "last_exit_in" and not measure.params.get("destinations"):
            raise CatalogueError(f"measure {measure.name!r}: needs params.destinations")
    for dimension in catalogue.dimensions.values():
        if dimension.source not in DIMENSION_SOURCES:
            raise CatalogueError(f"dimension {dimension.name!r}: unknown source")
        if dimension.source == "exit.destination" and dimension.applies_to != {"exited_during"}:
            raise CatalogueError(f"dimension {dimension.name!r}: must apply to exited_during only")
        if dimension.source == "worker.age" and not dimension.age_edges:
            raise CatalogueError(f"dimension {dimension.name!r}: needs age_edges")


def shared_cte(name: str) -> str:
    """A named per-person CTE (``competence_pairs``, ``self_evaluation_pairs``, ``last_exit``),
    for local reports that must define a figure exactly as the catalogue does."""
    return _SHARED_CTES[name]


def check_period(query: ValidatedQuery) -> None:
    """Refuse a period the measure is not defined over (before any data is read).

    Retention after 12 months compares the first and the last day of a calendar year; asked for
    a quarter, it would have to read records from after the period, so it is refused instead.
    """
    period = query.period
    whole_year = (period.start.month, period.start.day) == (1, 1) and \
        period.end == date(period.start.year + 1, 1, 1)
    if query.measure.value in _YEAR_ONLY and not whole_year:
        raise InvalidQueryError(
            f"measure {query.measure.name!r} is defined over a calendar year (its 12 months); "
            "ask for a period such as 2025, not a quarter")


class _Params:
    """Collects bound parameters under generated names."""

    def __init__(self, base: dict[str, Any]) -> None:
        self.values = dict(base)

    def add(self, value: Any) -> str:
        name = f"p{len(self.values)}"
        self.values[name] = value
        return f":{name}"

    def add_list(self, values: tuple[str, ...]) -> str:
        return ", ".join(self.add(v) for v in values)


def _dimension_sql(dimension: Dimension, params: _Params, table: str = "w", *,
                   index: bool = False) -> str:
    """The cell of a person; worker attributes are read from ``table`` (``workers``, or the
    per-person facts that carry them). With ``index``, the cell's position in
    ``dimension.cells`` instead of its name, and ``len(cells)`` where the name would be NULL."""
    def cell_sql(cell: str) -> str:
        return str(dimension.cells.index(cell)) if index else params.add(cell)

    if dimension.source == "worker.age":
        age = f"(:ref_year - {table}.birth_year)"
        branches = [
            f"WHEN {age} < {params.add(edge)} THEN {cell_sql(cell)}"
            for edge, cell in zip(dimension.age_edges, dimension.cells, strict=False)
        ]
        return f"CASE {' '.join(branches)} ELSE {cell_sql(dimension.cells[-1])} END"
    column = "x.destination" if dimension.source == "exit.destination" else (
        table + _WORKER_COLUMNS[dimension.source][1:]
    )
    branches = [
        f"WHEN {column} IN ({params.add_list(codes)}) THEN {cell_sql(cell)}"
        for cell, codes in dimension.groups.items()
    ]
    return f"CASE {' '.join(branches)}{f' ELSE {len(dimension.cells)}' if index else ''} END"


def _bin_sql(query: ValidatedQuery, params: _Params) -> str:
    """The public bin index of the clamped fixed-point value ``v``: bin i holds
    ``[edge_i, edge_i+1)``; the last bin also holds the upper bound (values are clamped)."""
    edges = [query.catalogue.fixed_point(e) for e in query.measure.bins]
    branches = [f"WHEN v < {params.add(edge)} THEN {i}" for i, edge in enumerate(edges[1:-1])]
    return f"CASE {' '.join(branches)} ELSE {len(edges) - 2} END"


# Populations and values read from the per-person facts (node/store/facts.py): one row per
# person under contract in the period, ``f``. Each is the raw-row definition above, kept at
# write time (tests/test_compiler_property.py proves them equal).
FACT_POPULATIONS: dict[str, str] = {
    "active_during": "",
    "active_at_end": " AND f.active_end = 1",
    "active_at_start": " AND f.active_start = 1",
}
FACT_VALUES: dict[str, str] = {
    "one": "1.0",
    "fte": "f.fte",
    "support_hours": "f.support_min / 60.0",
    "active_12_months_later": "(f.active_end * 1.0)",
}
_CONSTANT_FACT_VALUES = frozenset({FACT_VALUES["one"]})


def uses_facts(query: ValidatedQuery) -> bool:
    """Whether ``query``'s population can be read from the per-person facts (its period must
    also be covered: ``node.store.facts.covered``)."""
    return query.measure.population in FACT_POPULATIONS


def _ctes(query: ValidatedQuery, uses_exit: bool) -> list[str]:
    measure = query.measure
    ctes = []
    if uses_exit or measure.value == "last_exit_in":
        ctes.append(_SHARED_CTES["last_exit"])
    if measure.population == "assessed_twice" or measure.value == "competence_gain":
        ctes.append(_SHARED_CTES["competence_pairs"])
    if measure.population == "self_evaluated_twice" or measure.value == "self_evaluation_change":
        ctes.append(_SHARED_CTES["self_evaluation_pairs"])
    return ctes


def _value_cte(query: ValidatedQuery, params: _Params) -> str:
    value_sql = VALUES[query.measure.value]
    if query.measure.value == "last_exit_in":
        value_sql = value_sql.format(codes=params.add_list(query.measure.params["destinations"]))
    return f"val AS ({value_sql})"


def _uses_exit(query: ValidatedQuery) -> bool:
    return query.measure.population == "exited_during" or any(
        d.source == "exit.destination" for d in query.dimensions
    ) or any(query.catalogue.dimensions[n].source == "exit.destination" for n in query.filters)


def _base_params(query: ValidatedQuery) -> _Params:
    period = query.period
    last_day = period.end - timedelta(days=1)
    return _Params({
        "start": period.start.isoformat(),
        "end": period.end.isoformat(),
        "last_day": last_day.isoformat(),
        "ref_year": last_day.year,
        "period_days": float((period.end - period.start).days),
        "lower": float(query.measure.lower),
        "upper": float(query.measure.upper),
        "scale": query.catalogue.fixed_point_scale,
    })


def _clamp_sql(raw: str) -> tuple[str, str]:
    """A person's value clamped and in fixed point, and whether it was clamped (0 or 1)."""
    return (f"CAST(ROUND(MAX(:lower, MIN(:upper, {raw})) * :scale) AS INTEGER)",
            f"({raw} < :lower OR {raw} > :upper)")


def _compile_on_facts(query: ValidatedQuery) -> CompiledQuery:
    """One flat aggregate over the period's facts (which carry the worker attributes).

    Each person is one ``person_periods`` row (primary key ``(period, pid)``), so the per-cell
    ``COUNT`` and ``SUM`` see each person once, their value clamped and rounded as in the
    raw-row SQL."""
    measure = query.measure
    catalogue = query.catalogue
    params = _base_params(query)
    params.values["period"] = query.period.label
    uses_exit = _uses_exit(query)
    ctes = _ctes(query, uses_exit)
    value = FACT_VALUES.get(measure.value)
    join_val = ""
    if value is None:
        ctes.append(_value_cte(query, params))
        value, join_val = "val.v", " LEFT JOIN val ON val.pid = f.pid"
    raw = f"COALESCE({value}, 0.0)"
    v, c = _clamp_sql(raw)  # clamped: as in the raw-row SQL
    where = ["f.period = :period" + FACT_POPULATIONS[measure.population]]
    for name, codes in query.filters.items():
        expression = _dimension_sql(catalogue.dimensions[name], params, "f")
        where.append(f"({expression}) IN ({params.add_list(codes)})")
    dims = [f"{_dimension_sql(d, params, 'f')} AS d{i}" for i, d in enumerate(query.dimensions)]
    source = (" FROM person_periods f" + join_val
              + (" LEFT JOIN last_exit x ON x.pid = f.pid" if uses_exit else "")
              + " WHERE " + " AND ".join(where))
    keys = [f"d{i}" for i in range(len(dims))]
    numbering = [_dimension_sql(d, params, "f", index=True) for d in query.dimensions]
    if query.spec.statistic is Statistic.HISTOGRAM and (numbered_sql := numbered(
            query.dimensions, numbering, params.add, source, v, c, _bin_sql(query, params),
            len(measure.bins) - 1)):
        sql = numbered_sql
    elif query.spec.statistic is Statistic.HISTOGRAM:
        # The bin CASE compares ``v`` with every edge: computed once per person in an
        # unflattened sub-query (``LIMIT -1``), not once per edge (measured: 1.6× at 100k).
        inner = ("SELECT " + "".join(f"{d}, " for d in dims) + f"{v} AS v, {c} AS c" + source
                 + " LIMIT -1")
        sql = ("SELECT " + "".join(f"{k}, " for k in keys) + f"{_bin_sql(query, params)} AS bin, "
               f"COUNT(*), COALESCE(SUM(v), 0), COALESCE(SUM(c), 0) FROM ({inner}) GROUP BY "
               + ", ".join([*keys, "bin"]))
    elif query.dimensions and (pivot := pivoted(
            query.dimensions, numbering, params.add, source, raw, _clamp_sql,
            constant=value in _CONSTANT_FACT_VALUES)):
        ctes.append(pivot[0])
        sql = pivot[1]
    else:
        sums = f"COALESCE(SUM({v}), 0), COALESCE(SUM({c}), 0)"
        if value in _CONSTANT_FACT_VALUES:
            # The same value for everyone (a headcount): its sums are the count times it, the
            # same integers without a per-person expression (measured: 0.8× at 100k).
            sums = f"COUNT(*) * {v}, COUNT(*) * {c}"
        sql = ("SELECT " + "".join(f"{d}, " for d in dims) + f"COUNT(*), {sums}" + source
               + (" GROUP BY " + ", ".join(keys) if keys else ""))
    if ctes:
        sql = "WITH " + ", ".join(ctes) + " " + sql
    return CompiledQuery(sql=sql, params=params.values)


def compile_query(query: ValidatedQuery, *, facts: bool = False) -> CompiledQuery:
    """The per-person, per-cell SQL for ``query``.

    With ``facts`` (when :func:`uses_facts` and the store's facts cover the period), the SQL
    reads the per-person facts: one index range of ``person_periods``, no per-person sub-query.
    """
    check_period(query)
    if facts and uses_facts(query):
        return _compile_on_facts(query)
    measure = query.measure
    catalogue = query.catalogue
    params = _base_params(query)
    uses_exit = _uses_exit(query)
    ctes = _ctes(query, uses_exit)
    ctes.append(f"pop AS ({POPULATIONS[measure.population]})")
    value = PER_PERSON.get(measure.value)
    join_val = ""
    if value is None:
        ctes.append(_value_cte(query, params))
        value, join_val = "val.v", "LEFT JOIN val ON val.pid = pop.pid "

    selected = list(query.dimensions) + [
        catalogue.dimensions[n] for n in query.filters if n not in query.spec.group_by
    ]
    dim_exprs = [f"{_dimension_sql(d, params)} AS d{i}" for i, d in enumerate(selected)]
    where = [
        f"d{i} IN ({params.add_list(query.filters[d.name])})"
        for i, d in enumerate(selected) if d.name in query.filters
    ]
    join_exit = "LEFT JOIN last_exit x ON x.pid = pop.pid" if uses_exit else ""
    # ``LIMIT -1`` (no limit) keeps SQLite from flattening this per-person subquery into the
    # outer aggregate: flattened, every reference to the person's value would recompute it (a
    # correlated subquery over their rows), once per bin edge in a histogram's bin CASE and
    # once more for the clamped flag (measured in bench/: 4.5× slower at 100k people).
    # Unflattened, the raw value ``r`` is computed once; ``v`` (clamped, fixed point) and ``c``
    # (1 when the value lay beyond the bounds and was clamped) are read off it.
    raw_value = (
        f"SELECT COALESCE({value}, 0.0) AS r"
        + "".join(f", {e}" for e in dim_exprs)
        + " FROM pop JOIN workers w ON w.pid = pop.pid "
        + join_val + join_exit + " LIMIT -1"
    )
    names = "".join(f", d{i}" for i in range(len(dim_exprs)))
    inner = (
        "SELECT CAST(ROUND(MAX(:lower, MIN(:upper, r)) * :scale) AS INTEGER) AS v, "
        f"(r < :lower OR r > :upper) AS c{names} FROM ({raw_value})"
    )
    group = [f"d{i}" for i in range(len(query.dimensions))]
    if query.spec.statistic is Statistic.HISTOGRAM:
        group.append(f"{_bin_sql(query, params)} AS bin")
    keys = [g.rsplit(" AS ", 1)[-1] for g in group]
    sql = (
        "WITH " + ", ".join(ctes)
        + " SELECT " + "".join(f"{g}, " for g in group)
        + "COUNT(*), COALESCE(SUM(v), 0), COALESCE(SUM(c), 0)"
        + f" FROM ({inner})"
        + (" WHERE " + " AND ".join(where) if where else "")
        + (" GROUP BY " + ", ".join(keys) if keys else "")
    )
    return CompiledQuery(sql=sql, params=params.values)
