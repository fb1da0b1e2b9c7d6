"""Compiling catalogue entries into parameterised SQL against the node's schema.

The catalogue names populations, per-person values and dimension sources; only the ones in
node/engine/sql_fragments.py exist. SQL text is assembled from those fixed fragments alone;
every code, bound and date is a bound parameter. The query returns one row per non-empty cell
with the number of persons, the sum of their clamped fixed-point values and the number of
persons whose value lay beyond the bounds and was clamped; the node fills the rest of the
public domain with zeros.

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
from node.engine.sql_fragments import (
    CTE_NEEDS,
    CTE_SOURCES,
    DIMENSION_SOURCES,
    FOLLOWUP_COLUMNS,
    PER_PERSON,
    POPULATIONS,
    SHARED_CTES,
    SOURCE_POPULATION,
    VALUES,
    WORKER_COLUMNS,
    YEAR_ONLY,
)
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
        if measure.value == "followup_in" and (
                not measure.params.get("situations")
                or measure.params.get("horizon_months") not in (("6",), ("12",))):
            raise CatalogueError(f"measure {measure.name!r}: needs params.situations and "
                                 'params.horizon_months = ["6"] or ["12"]')
    for dimension in catalogue.dimensions.values():
        if dimension.source not in DIMENSION_SOURCES:
            raise CatalogueError(f"dimension {dimension.name!r}: unknown source")
        only = SOURCE_POPULATION.get(dimension.source)
        if only is not None and dimension.applies_to != {only}:
            raise CatalogueError(f"dimension {dimension.name!r}: must apply to {only} only")
        if dimension.source == "worker.age" and not dimension.age_edges:
            raise CatalogueError(f"dimension {dimension.name!r}: needs age_edges")


def shared_cte(name: str) -> str:
    """A named per-person CTE (``competence_pairs``, ``self_evaluation_pairs``, ``last_exit``,
    …), for local reports that must define a figure exactly as the catalogue does."""
    return SHARED_CTES[name]


def check_period(query: ValidatedQuery) -> None:
    """Refuse a period the measure is not defined over (before any data is read).

    Retention after 12 months compares the first and the last day of a calendar year; asked for
    a quarter, it would have to read records from after the period, so it is refused instead.
    """
    period = query.period
    whole_year = (period.start.month, period.start.day) == (1, 1) and \
        period.end == date(period.start.year + 1, 1, 1)
    if query.measure.value in YEAR_ONLY and not whole_year:
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
    column = (CTE_SOURCES[dimension.source][2] if dimension.source in CTE_SOURCES
              else table + WORKER_COLUMNS[dimension.source][1:])
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
    measure = query.measure
    # A per-person sub-query value the facts do not keep (training hours) reads the raw rows.
    return measure.population in FACT_POPULATIONS and (
        measure.value in FACT_VALUES or measure.value in VALUES)


# The CTEs a population or a value reads.
_POPULATION_CTES = {"exited_during": "last_exit", "assessed_twice": "competence_pairs",
                    "self_evaluated_twice": "self_evaluation_pairs",
                    "coach_evaluated_twice": "coach_evaluation_pairs",
                    "coaching_staff": "main_coach"}
_VALUE_CTES = {"last_exit_in": "last_exit", "exited_in": "last_exit",
               "followup_in": "exit_situation", "competence_gain": "competence_pairs",
               "self_evaluation_change": "self_evaluation_pairs",
               "coach_caseload": "main_coach",
               "coach_evaluation_change": "coach_evaluation_pairs"}


def _used_sources(query: ValidatedQuery) -> list[str]:
    """The CTE-backed dimension sources of the query's group-by and filters."""
    sources = [d.source for d in query.dimensions] + [
        query.catalogue.dimensions[n].source for n in query.filters]
    return [src for src in dict.fromkeys(sources) if src in CTE_SOURCES]


def _ctes(query: ValidatedQuery) -> list[str]:
    """The shared CTEs the query reads, each after the ones it reads."""
    measure = query.measure
    names: list[str] = []

    def need(name: str | None) -> None:
        if name is None:
            return
        for dependency in CTE_NEEDS.get(name, ()):
            need(dependency)
        if name not in names:
            names.append(name)

    need(_POPULATION_CTES.get(measure.population))
    need(_VALUE_CTES.get(measure.value))
    for source in _used_sources(query):
        need(CTE_SOURCES[source][0])
    return [SHARED_CTES[name] for name in names]


def _joins(query: ValidatedQuery, alias: str) -> str:
    """``LEFT JOIN``s of the per-person CTEs the query's dimensions read, on ``alias.pid``."""
    joined = {"x": "last_exit"} if query.measure.population == "exited_during" else {}
    for source in _used_sources(query):
        cte, short, _ = CTE_SOURCES[source]
        joined[short] = cte
    return "".join(f" LEFT JOIN {cte} {short} ON {short}.pid = {alias}.pid"
                   for short, cte in joined.items())


def _value_cte(query: ValidatedQuery, params: _Params) -> str:
    measure = query.measure
    value_sql = VALUES[measure.value]
    if measure.value == "last_exit_in":
        value_sql = value_sql.format(codes=params.add_list(measure.params["destinations"]))
    elif measure.value == "followup_in":
        column = FOLLOWUP_COLUMNS[measure.params["horizon_months"][0]]
        value_sql = value_sql.format(column=column,
                                     codes=params.add_list(measure.params["situations"]))
    return f"val AS ({value_sql})"


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
    ctes = _ctes(query)
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
    source = (" FROM person_periods f" + join_val + _joins(query, "f")
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
    ctes = _ctes(query)
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
        + join_val + _joins(query, "pop") + " LIMIT -1"
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
