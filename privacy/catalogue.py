"""The federation catalogue: the closed list of what may be asked.

A catalogue is published by the federation as a TOML file and approved per version by each
node's operator. It is parsed here into frozen objects (unknown keys are refused, so a typo
never silently changes what is released). The meaning of ``source``, ``population`` and
``value`` is the node's business: the node compiles them into SQL and refuses those it cannot.
"""

from __future__ import annotations

import functools
import itertools
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from enum import Enum
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

from privacy.errors import CatalogueError

__all__ = [
    "LABEL_LANGUAGES",
    "Accounting",
    "Catalogue",
    "Dimension",
    "Measure",
    "Statistic",
    "available_catalogues",
    "catalogue_labels",
    "code_label",
    "default_catalogue",
    "load_catalogue",
    "parse_catalogue",
    "shipped_catalogue",
    "shipped_catalogues",
    "shipped_versions",
]


class Statistic(Enum):
    """What is released per cell."""

    COUNT = "count"  # persons per cell: over one dimension, the histogram of its public domain
    SUM = "sum"
    MEAN = "mean"
    HISTOGRAM = "histogram"  # persons per cell and per public bin of the measure's value


class Accounting(Enum):
    """How privacy losses compose, chosen by the federation for the whole catalogue."""

    PURE = "pure"  # pure ε-DP (discrete Laplace); losses in ε add up
    ZCDP = "zcdp"  # ρ-zCDP (discrete Gaussian); losses in ρ add up, reported as (ε, δ)


@dataclass(frozen=True)
class Dimension:
    """A categorical attribute with a public, closed domain of cells."""

    name: str
    label: str
    source: str
    cells: tuple[str, ...]
    groups: Mapping[str, tuple[str, ...]]  # cell -> stored codes that fall in it
    age_edges: tuple[int, ...] = ()
    applies_to: frozenset[str] = frozenset()  # populations it applies to; empty = all


@dataclass(frozen=True)
class Measure:
    """One bounded value per person for the reference period."""

    name: str
    label: str
    population: str
    value: str
    lower: Decimal
    upper: Decimal
    statistics: frozenset[Statistic]
    params: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: MappingProxyType({}))
    bins: tuple[Decimal, ...] = ()  # public bin edges for histograms, lower … upper
    # The share of a sum's, mean's or histogram's budget spent on counting, per cell, the
    # people whose value lay beyond [lower, upper] and was clamped; 0: the bounds are the
    # value's natural range (a 0/1 flag, an FTE capped at 1), nothing to count.
    clamped_share: Decimal = Decimal(0)

    @property
    def magnitude(self) -> Decimal:
        """The largest absolute value one person can contribute (the sum's L1 sensitivity)."""
        return max(abs(self.lower), abs(self.upper))

    @property
    def bin_labels(self) -> tuple[str, ...]:
        """``[a, b)`` per bin; the last bin is closed, ``[a, b]``, and holds the upper bound."""
        edges = self.bins
        return tuple(
            f"[{edges[i]}, {edges[i + 1]}{']' if i == len(edges) - 2 else ')'}"
            for i in range(len(edges) - 1)
        )


@dataclass(frozen=True)
class Catalogue:
    """A versioned catalogue of dimensions and measures."""

    version: str
    accounting: Accounting
    delta: Decimal | None  # the δ at which zCDP losses are reported; None for pure ε
    fixed_point_scale: int
    mean_sum_share: Decimal
    max_cells: int
    dimensions: Mapping[str, Dimension]
    measures: Mapping[str, Measure]

    def fixed_point(self, value: Decimal) -> int:
        """``value`` in fixed-point units; bounds must be exact at this resolution."""
        scaled = value * self.fixed_point_scale
        if scaled != scaled.to_integral_value():
            raise CatalogueError(f"bound {value} is not a multiple of 1/{self.fixed_point_scale}")
        return int(scaled)


_TOP_KEYS = {"version", "accounting", "delta", "fixed_point_decimals", "mean_sum_share",
             "max_cells", "dimensions", "measures"}
_DIM_KEYS = {"label", "source", "cells", "groups", "age_edges", "applies_to"}
_MEASURE_KEYS = {"label", "population", "value", "lower", "upper", "statistics", "params",
                 "bins", "clamped_share"}
MAX_DELTA = Decimal("1e-4")


def _refuse_unknown(where: str, table: Mapping[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise CatalogueError(f"{where}: unknown key(s) {', '.join(unknown)}")


def _str_list(where: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise CatalogueError(f"{where} must be a list of non-empty strings")
    if len(set(value)) != len(value):
        raise CatalogueError(f"{where} has duplicate entries")
    return tuple(value)


def _decimal(where: str, value: Any) -> Decimal:
    try:
        result = Decimal(str(value))
    except InvalidOperation:
        raise CatalogueError(f"{where} must be a decimal number") from None
    if not result.is_finite():
        raise CatalogueError(f"{where} must be finite")
    return result


def _parse_dimension(name: str, raw: Mapping[str, Any]) -> Dimension:
    where = f"dimensions.{name}"
    _refuse_unknown(where, raw, _DIM_KEYS)
    cells = _str_list(f"{where}.cells", raw.get("cells"))
    raw_groups = raw.get("groups")
    groups: dict[str, tuple[str, ...]]
    if raw_groups is None:
        groups = {cell: (cell,) for cell in cells}
    else:
        if set(raw_groups) != set(cells):
            raise CatalogueError(f"{where}.groups must have exactly one entry per cell")
        groups = {cell: _str_list(f"{where}.groups.{cell}", raw_groups[cell]) for cell in cells}
        codes = [code for members in groups.values() for code in members]
        if len(codes) != len(set(codes)):
            raise CatalogueError(f"{where}.groups puts one code in two cells")
    edges = tuple(raw.get("age_edges", ()))
    if edges and (list(edges) != sorted(set(edges)) or len(edges) != len(cells) - 1):
        raise CatalogueError(f"{where}.age_edges must be increasing, one fewer than the cells")
    return Dimension(
        name=name,
        label=str(raw.get("label", name)),
        source=str(raw.get("source", "")),
        cells=cells,
        groups=MappingProxyType(groups),
        age_edges=edges,
        applies_to=frozenset(_str_list(f"{where}.applies_to", raw.get("applies_to", [])) or ()),
    )


def _parse_measure(name: str, raw: Mapping[str, Any]) -> Measure:
    where = f"measures.{name}"
    _refuse_unknown(where, raw, _MEASURE_KEYS)
    lower = _decimal(f"{where}.lower", raw.get("lower"))
    upper = _decimal(f"{where}.upper", raw.get("upper"))
    if not lower < upper:
        raise CatalogueError(f"{where}: lower must be below upper")
    try:
        stats = frozenset(Statistic(s) for s in _str_list(f"{where}.statistics", raw["statistics"]))
    except (KeyError, ValueError):
        raise CatalogueError(
            f"{where}.statistics must list count, sum, mean and/or histogram"
        ) from None
    bins = _bins(where, raw.get("bins"), lower, upper)
    if Statistic.HISTOGRAM in stats and not bins:
        raise CatalogueError(f"{where}: a histogram needs bins, the public bin edges")
    params = {
        key: _str_list(f"{where}.params.{key}", value)
        for key, value in dict(raw.get("params", {})).items()
    }
    for key in ("population", "value"):
        if not isinstance(raw.get(key), str):
            raise CatalogueError(f"{where}.{key} is required")
    clamped_share = _decimal(f"{where}.clamped_share", raw.get("clamped_share", "0"))
    if not Decimal(0) <= clamped_share < Decimal("0.5"):
        raise CatalogueError(f"{where}.clamped_share must be at least 0 and below 0.5")
    return Measure(
        name=name,
        label=str(raw.get("label", name)),
        population=raw["population"],
        value=raw["value"],
        lower=lower,
        upper=upper,
        statistics=stats,
        params=MappingProxyType(params),
        bins=bins,
        clamped_share=clamped_share,
    )


def _bins(where: str, raw: Any, lower: Decimal, upper: Decimal) -> tuple[Decimal, ...]:
    """Public bin edges: strictly increasing, from ``lower`` to ``upper`` (clamping bounds)."""
    if raw is None:
        return ()
    if not isinstance(raw, list) or len(raw) < 3:
        raise CatalogueError(f"{where}.bins must list at least 3 edges (2 bins)")
    edges = tuple(_decimal(f"{where}.bins", value) for value in raw)
    if any(b <= a for a, b in itertools.pairwise(edges)):
        raise CatalogueError(f"{where}.bins must be strictly increasing")
    if edges[0] != lower or edges[-1] != upper:
        raise CatalogueError(f"{where}.bins must start at lower and end at upper")
    return edges


def _delta(accounting: Accounting, raw: Any) -> Decimal | None:
    if accounting is Accounting.PURE:
        if raw is not None:
            raise CatalogueError("catalogue.delta applies to zcdp accounting only")
        return None
    if not isinstance(raw, str):
        raise CatalogueError('catalogue.delta is required for zcdp, as a string such as "1e-6"')
    delta = _decimal("catalogue.delta", raw)
    if not Decimal(0) < delta <= MAX_DELTA:
        raise CatalogueError(f"catalogue.delta must be in (0, {MAX_DELTA}]")
    return delta


def parse_catalogue(raw: Mapping[str, Any]) -> Catalogue:
    """Build a :class:`Catalogue` from parsed TOML, refusing unknown or inconsistent entries."""
    _refuse_unknown("catalogue", raw, _TOP_KEYS)
    version = raw.get("version")
    if not isinstance(version, str) or not version:
        raise CatalogueError("catalogue.version is required")
    try:
        accounting = Accounting(raw.get("accounting", "pure"))
    except ValueError:
        raise CatalogueError("catalogue.accounting must be 'pure' or 'zcdp'") from None
    delta = _delta(accounting, raw.get("delta"))
    decimals = raw.get("fixed_point_decimals", 2)
    if not isinstance(decimals, int) or not 0 <= decimals <= 6:
        raise CatalogueError("catalogue.fixed_point_decimals must be an integer from 0 to 6")
    share = _decimal("catalogue.mean_sum_share", raw.get("mean_sum_share", "0.5"))
    if not Decimal(0) < share < Decimal(1):
        raise CatalogueError("catalogue.mean_sum_share must be strictly between 0 and 1")
    max_cells = raw.get("max_cells", 2000)
    if not isinstance(max_cells, int) or max_cells < 1:
        raise CatalogueError("catalogue.max_cells must be a positive integer")
    dimensions = {n: _parse_dimension(n, d) for n, d in dict(raw.get("dimensions", {})).items()}
    measures = {n: _parse_measure(n, m) for n, m in dict(raw.get("measures", {})).items()}
    if not measures:
        raise CatalogueError("catalogue defines no measures")
    catalogue = Catalogue(
        version=version,
        accounting=accounting,
        delta=delta,
        fixed_point_scale=10**decimals,
        mean_sum_share=share,
        max_cells=max_cells,
        dimensions=MappingProxyType(dimensions),
        measures=MappingProxyType(measures),
    )
    for measure in measures.values():
        for bound in (measure.lower, measure.upper, *measure.bins):
            catalogue.fixed_point(bound)
    return catalogue


def load_catalogue(path: Path) -> Catalogue:
    """Read and parse a catalogue TOML file."""
    try:
        with path.open("rb") as handle:
            raw = tomllib.load(handle)
    except OSError as exc:
        raise CatalogueError(f"cannot read catalogue {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise CatalogueError(f"catalogue {path} is not valid TOML: {exc}") from None
    return parse_catalogue(_resolve_variant(raw, str(path)))


# The catalogue versions shipped with koepel, oldest first. A new version is added beside the
# old ones (never edited in place), so that queries written against an older version keep
# working on nodes that still approve it. A version may be an *accounting variant* of another
# (``extends = "2026.2"`` in its file): the same measures and dimensions under other top-level
# settings, e.g. zCDP for secure aggregation, whose Gaussian noise shares are never pure ε-DP.
SHIPPED_VERSIONS = ("2025.1", "2026.1", "2026.2", "2026.2-zcdp")
# Shipped too, but served only where an operator approves them by hand: `koepel node init` does
# not approve them and the default stays DEFAULT_VERSION. 2027.1 (issue 15) waits here until the
# federation adopts it, so that no node starts answering new measures unasked.
OPT_IN_VERSIONS = ("2027.1", "2027.1-zcdp")
DEFAULT_VERSION = "2026.2"  # what federations and queries use unless they name another


def _shipped_raw(version: str) -> dict[str, Any]:
    text = resources.files("privacy").joinpath(f"catalogues/koepel-{version}.toml").read_text(
        "utf-8")
    return _resolve_variant(tomllib.loads(text), f"catalogues/koepel-{version}.toml")


def _resolve_variant(raw: dict[str, Any], where: str) -> dict[str, Any]:
    """A catalogue that ``extends`` a shipped version: the base with its top-level settings
    replaced (accounting, delta, version …); measures and dimensions stay the base's."""
    base = raw.pop("extends", None)
    if base is None:
        return raw
    known = SHIPPED_VERSIONS + OPT_IN_VERSIONS
    if base not in known or base == raw.get("version"):
        raise CatalogueError(f"{where} extends {base!r}, which is not another shipped version "
                             f"({', '.join(known)})")
    if any(isinstance(value, dict) for value in raw.values()):
        raise CatalogueError(f"{where} is a variant of {base}: it may change top-level "
                             "settings only, not measures or dimensions")
    merged = _shipped_raw(base)
    if "accounting" in raw and raw["accounting"] != merged.get("accounting"):
        merged.pop("delta", None)  # a delta belongs to the accounting it came with
    merged.update(raw)
    return merged


def shipped_versions(accounting: Accounting | None = None) -> tuple[str, ...]:
    """The shipped versions a new node approves, oldest first; with ``accounting``, only those
    accounted so (opt-in versions are left out).

    A node's ledger keeps one unit for life, so a node approves versions of one accounting:
    pure ε (the default) or zCDP (for secure aggregation).
    """
    if accounting is None:
        return SHIPPED_VERSIONS
    return tuple(v for v in SHIPPED_VERSIONS if shipped_catalogue(v).accounting is accounting)


@functools.cache
def shipped_catalogue(version: str) -> Catalogue:
    """The shipped catalogue ``version`` (``CatalogueError`` if koepel ships no such version)."""
    if version not in SHIPPED_VERSIONS + OPT_IN_VERSIONS:
        raise CatalogueError(f"koepel ships no catalogue {version!r}; shipped: "
                             f"{', '.join(SHIPPED_VERSIONS + OPT_IN_VERSIONS)}")
    catalogue = parse_catalogue(_shipped_raw(version))
    if catalogue.version != version:
        raise CatalogueError(f"catalogues/koepel-{version}.toml declares {catalogue.version!r}")
    return catalogue


def shipped_catalogues() -> Mapping[str, Catalogue]:
    """Every shipped catalogue by version, oldest first."""
    return MappingProxyType({v: shipped_catalogue(v) for v in SHIPPED_VERSIONS})


def available_catalogues() -> Mapping[str, Catalogue]:
    """Every catalogue a node may approve: the shipped ones, then the opt-in ones."""
    return MappingProxyType({v: shipped_catalogue(v)
                             for v in SHIPPED_VERSIONS + OPT_IN_VERSIONS})


def default_catalogue() -> Catalogue:
    """The catalogue federations use unless they name another (2026.2: a superset of 2026.1
    and 2025.1, under pure ε accounting).

    Federations and nodes created now use it; nodes created by `koepel node init` approve every
    shipped version, so queries written against 2025.1 keep working.
    """
    return shipped_catalogue(DEFAULT_VERSION)


LABEL_LANGUAGES = ("fr", "nl", "en")


@functools.cache
def catalogue_labels() -> Mapping[str, Mapping[str, Mapping[str, str]]]:
    """What a person reads for each code, measure and dimension, per language.

    One file for every catalogue version (catalogues/labels.toml): kind (``measure``,
    ``dimension``, a dimension's name for its cells, a record field's name) → code → language
    → text. A malformed entry is a CatalogueError, found when the file is first read.
    """
    text = resources.files("privacy").joinpath("catalogues/labels.toml").read_text("utf-8")
    raw = tomllib.loads(text)
    for kind, codes in raw.items():
        for code, languages in codes.items():
            if not isinstance(languages, dict) or set(languages) != set(LABEL_LANGUAGES) or not all(
                    isinstance(v, str) and v for v in languages.values()):
                raise CatalogueError(f"catalogues/labels.toml: [{kind}] {code} needs a non-empty "
                                     f"{', '.join(LABEL_LANGUAGES)} label, and nothing else")
    return MappingProxyType(raw)


def code_label(kind: str, code: str, language: str) -> str:
    """``code``'s label of ``kind`` in ``language`` (English for another language; the code
    itself where the file has none, so that a new code is shown rather than lost)."""
    labels = catalogue_labels().get(kind, {}).get(code)
    if labels is None:
        return code
    return labels.get(language, labels["en"])
