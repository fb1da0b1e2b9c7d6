"""Column-mapping files: how one HR tool's export maps onto koepel's import tables.

Each HR tool (or spreadsheet) names and formats its columns its own way. Rather than asking
staff to rework every export by hand, the node reads a small TOML file per tool, written once::

    tool = "Acme HR 7 — personeelsexport"

    [workers]
    file = "Personeel*.xlsx"     # which input files hold this table (glob on the file name)
    sheet = "Personeel"          # XLSX only: the worksheet (default: one named like the table,
                                 # else the first)
    date_format = "%d/%m/%Y"     # dates as the tool writes them (ISO dates are always accepted)
    decimal_comma = true         # 19,5 means 19.5
    delimiter = ";"              # CSV only (default: guessed from the header)
    encoding = "cp1252"          # CSV only (default: UTF-8)

    [workers.columns]            # koepel column = source column, or a table:
    person_id = "Stamnummer"
    birth_year = { column = "Geboortedatum", transform = "year" }   # keep only the year
    gender = { column = "Geslacht", values = { V = "F", M = "M", "" = "UNKNOWN" } }
    region = { value = "BE-WAL" }                                    # the same for every row

    [competence_assessments.columns]
    score_norm = { column = "Score", scale = [1, 4] }                # 1–4 scale onto 0–1

Target columns not listed are read from a source column of the same name. Unknown keys, unknown
target columns and malformed entries are refused with the file and entry named.
"""

from __future__ import annotations

import fnmatch
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from node.imports.records import TABLES

__all__ = ["ColumnSource", "MappingError", "TableMapping", "ToolMapping", "load_mapping"]

_TOP_KEYS = {"tool", "format"} | set(TABLES)
_TABLE_KEYS = {"file", "sheet", "date_format", "decimal_comma", "delimiter", "encoding",
               "columns"}
_COLUMN_KEYS = {"column", "value", "values", "transform", "scale"}
_TRANSFORMS = {"year"}


class MappingError(ValueError):
    """A column-mapping file is malformed; the message names the file and entry."""


@dataclass(frozen=True)
class ColumnSource:
    """Where one koepel column's text comes from, and how it is adjusted on the way."""

    column: str | None = None  # source column name; None means ``constant``
    constant: str | None = None
    values: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    transform: str | None = None  # "year": keep the year of a date
    scale: tuple[float, float] | None = None  # (min, max) of the source scale, onto [0, 1]


@dataclass(frozen=True)
class TableMapping:
    table: str
    file: str | None = None  # glob on input file names
    sheet: str | None = None
    date_format: str | None = None
    decimal_comma: bool = False
    delimiter: str | None = None
    encoding: str = "utf-8-sig"
    columns: Mapping[str, ColumnSource] = field(default_factory=lambda: MappingProxyType({}))

    def matches(self, path: Path) -> bool:
        if self.file is None:
            return path.stem.lower() == self.table
        return fnmatch.fnmatch(path.name.lower(), self.file.lower())

    def source_for(self, target: str) -> ColumnSource:
        return self.columns.get(target) or ColumnSource(column=target)


@dataclass(frozen=True)
class ToolMapping:
    """A whole mapping file: one :class:`TableMapping` per table it describes."""

    path: Path | None
    tool: str
    tables: Mapping[str, TableMapping]

    @staticmethod
    def identity() -> ToolMapping:
        """No mapping file: files named after their table, columns named as koepel's."""
        return ToolMapping(None, "koepel CSV", MappingProxyType(
            {name: TableMapping(name) for name in TABLES}))


def _refuse_unknown(where: str, table: Mapping[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise MappingError(f"{where}: unknown key(s) {', '.join(unknown)}")


def _text(where: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise MappingError(f"{where} must be a non-empty string")
    return value


def _column(where: str, raw: Any) -> ColumnSource:
    if isinstance(raw, str):
        return ColumnSource(column=_text(where, raw))
    if not isinstance(raw, dict):
        raise MappingError(f"{where} must be a source column name or a table")
    _refuse_unknown(where, raw, _COLUMN_KEYS)
    if ("column" in raw) == ("value" in raw):
        raise MappingError(f"{where} needs exactly one of column = \"…\" or value = \"…\"")
    values = raw.get("values", {})
    if not isinstance(values, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in values.items()):
        raise MappingError(f"{where}.values must map source values to koepel codes (strings)")
    transform = raw.get("transform")
    if transform is not None and transform not in _TRANSFORMS:
        raise MappingError(f"{where}.transform must be one of {', '.join(sorted(_TRANSFORMS))}")
    scale = raw.get("scale")
    if scale is not None:
        if (not isinstance(scale, list) or len(scale) != 2
                or not all(isinstance(x, int | float) and not isinstance(x, bool)
                           for x in scale) or not scale[0] < scale[1]):
            raise MappingError(f"{where}.scale must be [min, max] with min < max")
        scale = (float(scale[0]), float(scale[1]))
    constant = raw.get("value")
    if constant is not None and not isinstance(constant, str):
        raise MappingError(f"{where}.value must be a string")
    return ColumnSource(
        column=_text(f"{where}.column", raw["column"]) if "column" in raw else None,
        constant=constant, values=MappingProxyType(dict(values)), transform=transform,
        scale=scale,
    )


def _table(path: Path, name: str, raw: Any) -> TableMapping:
    where = f"{path.name} [{name}]"
    if not isinstance(raw, dict):
        raise MappingError(f"{where} must be a table")
    _refuse_unknown(where, raw, _TABLE_KEYS)
    columns_raw = raw.get("columns", {})
    if not isinstance(columns_raw, dict):
        raise MappingError(f"{where}.columns must be a table")
    known = set(TABLES[name].input_columns)
    unknown = sorted(set(columns_raw) - known)
    if unknown:
        raise MappingError(f"{where}.columns: {', '.join(unknown)} is not a column of {name} "
                           f"(its columns: {', '.join(TABLES[name].input_columns)})")
    columns = {target: _column(f"{where}.columns.{target}", value)
               for target, value in columns_raw.items()}
    delimiter = raw.get("delimiter")
    if delimiter is not None and (not isinstance(delimiter, str) or len(delimiter) != 1):
        raise MappingError(f"{where}.delimiter must be a single character")
    decimal_comma = raw.get("decimal_comma", False)
    if not isinstance(decimal_comma, bool):
        raise MappingError(f"{where}.decimal_comma must be true or false")
    date_format = raw.get("date_format")
    if date_format is not None and "%" not in _text(f"{where}.date_format", date_format):
        raise MappingError(f"{where}.date_format must be a strftime pattern such as %d/%m/%Y")
    return TableMapping(
        table=name,
        file=_text(f"{where}.file", raw["file"]) if "file" in raw else None,
        sheet=_text(f"{where}.sheet", raw["sheet"]) if "sheet" in raw else None,
        date_format=date_format,
        decimal_comma=decimal_comma,
        delimiter=delimiter,
        encoding=_text(f"{where}.encoding", raw.get("encoding", "utf-8-sig")),
        columns=MappingProxyType(columns),
    )


def load_mapping(path: Path) -> ToolMapping:
    """Read and check a column-mapping file."""
    try:
        raw = tomllib.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise MappingError(f"no column-mapping file at {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise MappingError(f"{path} is not valid TOML: {exc}") from None
    _refuse_unknown(str(path.name), raw, _TOP_KEYS)
    if raw.get("format", 1) != 1:
        raise MappingError(f"{path.name}: format must be 1")
    tables = {name: _table(path, name, raw[name]) for name in TABLES if name in raw}
    if not tables:
        raise MappingError(f"{path.name} describes no table (use sections such as [workers])")
    return ToolMapping(path, str(raw.get("tool", path.stem)), MappingProxyType(tables))
