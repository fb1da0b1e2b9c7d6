"""The privacy package's value objects: exact budgets, the catalogue and query validation."""

from __future__ import annotations

import math
import tomllib
from fractions import Fraction

import pytest

from privacy import (
    MICRO,
    BudgetExhaustedError,
    Cap,
    CatalogueError,
    InvalidQueryError,
    QuerySpec,
    Statistic,
    default_catalogue,
    format_micro,
    parse_catalogue,
    parse_epsilon,
    parse_period,
    validate,
)
from privacy.budget import float_at_most, micro_from_float_ceil

CAT = default_catalogue()


@pytest.mark.parametrize("text,micro", [("0.5", 500_000), ("1", MICRO), ("0.000001", 1),
                                        (" 2.25 ", 2_250_000)])
def test_epsilon_parses_exactly(text: str, micro: int) -> None:
    assert parse_epsilon(text) == micro
    assert parse_epsilon(format_micro(micro)) == micro


@pytest.mark.parametrize("text", ["0", "-1", "nan", "inf", "1e400", "0.0000001", "abc", "",
                                  "21"])
def test_bad_epsilon_is_refused_with_a_reason(text: str) -> None:
    with pytest.raises(InvalidQueryError, match="epsilon"):
        parse_epsilon(text)


def test_float_conversions_never_understate_the_loss() -> None:
    for micro in (1, 3, 100_000, 333_333, 1_000_000, 2_718_281):
        bound = float_at_most(micro)
        assert Fraction(bound) <= Fraction(micro, MICRO)
        assert micro_from_float_ceil(bound) <= micro
    assert micro_from_float_ceil(0.1) == 100_001  # 0.1 as a float is slightly above 1/10
    assert micro_from_float_ceil(0.5) == 500_000


def test_cap_check_names_its_numbers() -> None:
    cap = Cap("querier federation in 2025", 1_000_000)
    cap.check(400_000, 600_000)
    with pytest.raises(BudgetExhaustedError) as err:
        cap.check(400_000, 600_001)
    assert (err.value.remaining_micro, err.value.requested_micro) == (600_000, 600_001)


def test_default_catalogue_has_the_skeleton_measures_and_dimensions() -> None:
    assert {"headcount", "fte", "support_hours", "competence_gain",
            "exited_to_regular_job"} <= set(CAT.measures)
    assert {"target_group", "gender", "age_band", "region", "exit_destination"} <= set(
        CAT.dimensions)
    assert CAT.fixed_point(CAT.measures["support_hours"].upper) == 15_000


def _raw() -> dict[str, object]:
    from importlib import resources

    text = resources.files("privacy").joinpath("catalogues/koepel-2025.1.toml").read_text()
    return tomllib.loads(text)


@pytest.mark.parametrize("mutate,message", [
    (lambda r: r.update(colour="blue"), "unknown key"),
    (lambda r: r["measures"]["fte"].update(lower="2"), "lower must be below upper"),
    (lambda r: r["measures"]["headcount"].update(upper="0.001"), "not a multiple"),
    (lambda r: r["dimensions"]["gender"]["groups"].update(F=["F", "M"]), "one code in two"),
    (lambda r: r["dimensions"]["region"].update(cells=["A", "A"]), "duplicate"),
    (lambda r: r.update(mean_sum_share="1"), "strictly between"),
])
def test_malformed_catalogues_are_refused(mutate, message: str) -> None:  # type: ignore[no-untyped-def]
    raw = _raw()
    mutate(raw)
    with pytest.raises(CatalogueError, match=message):
        parse_catalogue(raw)


def test_periods() -> None:
    year = parse_period("2025")
    assert (year.start.isoformat(), year.end.isoformat()) == ("2025-01-01", "2026-01-01")
    q4 = parse_period("2025-Q4")
    assert (q4.start.isoformat(), q4.end.isoformat()) == ("2025-10-01", "2026-01-01")
    for bad in ("2025-Q5", "25", "2025-13", "1800"):
        with pytest.raises(InvalidQueryError):
            parse_period(bad)


def test_validation_builds_every_cell_of_the_public_domain() -> None:
    spec = QuerySpec(CAT.version, "headcount", Statistic.COUNT, ("gender", "region"),
                     (("region", ("BE-WAL", "BE-BRU")),), "2025", 100_000)
    query = validate(spec, CAT)
    assert len(query.cells) == 3 * 2
    assert ("X_OR_UNKNOWN", "BE-BRU") in query.cells


def test_too_many_cells_is_refused() -> None:
    spec = QuerySpec(CAT.version, "headcount", Statistic.COUNT,
                     ("target_group", "gender", "age_band", "education"), (), "2025", 100_000)
    query = validate(spec, CAT)  # 7·3·5·4 = 420 cells: allowed
    assert len(query.cells) == 420
    small = parse_catalogue({**_raw(), "max_cells": 100})
    with pytest.raises(InvalidQueryError, match="at most 100"):
        validate(QuerySpec(small.version, "headcount", Statistic.COUNT,
                           ("target_group", "gender", "age_band", "education"), (), "2025",
                           100_000), small)


def test_digest_ignores_filter_order_but_not_content() -> None:
    a = QuerySpec(CAT.version, "fte", Statistic.SUM, (), (("region", ("BE-WAL", "BE-BRU")),),
                  "2025", 1)
    b = QuerySpec(CAT.version, "fte", Statistic.SUM, (), (("region", ("BE-BRU", "BE-WAL")),),
                  "2025", 1)
    c = QuerySpec(CAT.version, "fte", Statistic.SUM, (), (("region", ("BE-BRU",)),), "2025", 1)
    assert a.digest() == b.digest() != c.digest()
    assert math.isfinite(len(a.digest()))
