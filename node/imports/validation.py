"""Reading and validating the rows of one input table, as the HR tool exported them.

Each cell goes through the column-mapping file's adjustments (value maps, a date format, decimal
commas, keeping only a year, rescaling a score), then through the column's parser. Raw ids become
pseudonyms at once; vocabulary columns keep the organisation's code and its federation code. A
cell that fails is reported by file, line, column, the class of value found and the reason —
never the value itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from node.imports.mapping import ColumnSource, TableMapping
from node.imports.pseudonyms import Pseudonymiser
from node.imports.records import Column, Invalid, TableSpec, parse_date, raw_id, value_class
from node.imports.sources import SourceTable
from node.imports.vocabulary import Vocabulary

__all__ = ["Parsed", "Progress", "RowError", "TableReader", "stored_columns"]

Progress = Callable[[str, int, int | None], None]  # (source label, rows done, rows in total)
PROGRESS_EVERY = 2000
VOCABULARY_KIND = {"support_action": "support_actions", "competence": "competences"}


@dataclass(frozen=True)
class RowError:
    """Where a row (or a whole file, at line 0) failed, and why; never the value itself."""

    file: str
    line: int
    column: str
    reason: str
    value_class: str = ""

    def __str__(self) -> str:
        found = f" ({self.value_class})" if self.value_class else ""
        return f"{self.file}:{self.line}: column {self.column}{found}: {self.reason}"


def _normalise_date(fmt: str | None) -> Callable[[str], str]:
    def normalise(text: str) -> str:
        if not text or fmt is None:
            return text
        try:
            return parse_date(text)
        except Invalid:
            pass
        try:
            return datetime.strptime(text, fmt).date().isoformat()
        except ValueError:
            raise Invalid(f"not a date in the form {fmt} (or YYYY-MM-DD)") from None

    return normalise


def _transform(source: ColumnSource, column: Column | None, tm: TableMapping
               ) -> Callable[[str], str] | None:
    """The text adjustments for one column (value map, decimal comma, dates, year, scale)."""
    steps: list[Callable[[str], str]] = []
    if source.values:
        values = dict(source.values)
        steps.append(lambda text: values.get(text, text))
    if source.transform == "year":
        to_date = _normalise_date(tm.date_format or "%Y-%m-%d")
        steps.append(lambda text: parse_date(to_date(text))[:4] if text else text)
    elif column is not None and column.kind == "date" and tm.date_format:
        steps.append(_normalise_date(tm.date_format))
    if column is not None and column.kind == "number" and tm.decimal_comma:
        steps.append(lambda text: text.replace(",", "."))
    if source.scale is not None:
        lo, hi = source.scale

        def rescale(text: str) -> str:
            try:
                value = float(text.replace(",", "."))
            except ValueError:
                raise Invalid("not a number") from None
            if not lo <= value <= hi:
                raise Invalid(f"outside the mapping file's scale {lo:g}–{hi:g}")
            return repr((value - lo) / (hi - lo))

        steps.append(rescale)
    if not steps:
        return None

    def apply(text: str) -> str:
        for step in steps:
            text = step(text)
        return text

    return apply


@dataclass
class Parsed:
    """The validated rows of one table, as tuples in stored-column order."""

    label: str
    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)
    vocabulary_used: set[tuple[str, str, str]] = field(default_factory=set)


def stored_columns(spec: TableSpec) -> tuple[str, ...]:
    names = [spec.key_stored_as] + (["pid"] if spec.person_column else [])
    names += [spec.parent.stored_as] if spec.parent else []
    names += [c.stored_name for c in spec.columns]
    if any(c.kind in VOCABULARY_KIND for c in spec.columns):
        names += ["local_code", "mapping_version"]
    return tuple(names)


class TableReader:
    """Turns one source table's rows into stored tuples, collecting errors and unmapped codes."""

    def __init__(self, spec: TableSpec, tm: TableMapping, source: SourceTable,
                 pseudo: Pseudonymiser, vocabulary: Vocabulary,
                 errors: list[RowError], unmapped: dict[tuple[str, str], list[Any]]) -> None:
        self.spec, self.source, self.pseudo = spec, source, pseudo
        self.vocabulary, self.errors, self.unmapped = vocabulary, errors, unmapped
        positions: dict[str, int] = {}
        for index, name in enumerate(source.header):
            positions.setdefault(name, index)
        self.getters: dict[str, tuple[int | None, str | None, Callable[[str], str] | None]] = {}
        missing: list[str] = []
        columns = {c.name: c for c in spec.columns}
        for target in spec.input_columns:
            src = tm.source_for(target)
            if src.column is not None and src.column not in positions:
                column = columns.get(target)
                if column is not None and column.optional and target not in tm.columns:
                    # An optional column an older export does not have: its default for all.
                    self.getters[target] = (None, column.default, None)
                    continue
                missing.append(target if src.column == target else f"{target} (from {src.column})")
                continue
            position = positions[src.column] if src.column is not None else None
            self.getters[target] = (position, src.constant,
                                    _transform(src, columns.get(target), tm))
        if missing:
            errors.append(RowError(source.label, 1, ", ".join(missing),
                                   "missing from the header"))
        self.ok = not missing

    def _text(self, target: str, cells: tuple[str, ...]) -> str:
        position, constant, transform = self.getters[target]
        if position is None:
            text = constant or ""
        else:
            text = cells[position] if position < len(cells) else ""
        return transform(text) if transform is not None else text

    def read(self, progress: Progress | None) -> Parsed:
        spec = self.spec
        parsed = Parsed(self.source.label, stored_columns(spec))
        seen: dict[str, int] = {}
        # raw person id -> pseudonym: a log names each person on many rows (measured in bench/)
        persons: dict[str, str] = {}
        version = self.vocabulary.version
        label = self.source.label
        done = 0
        for line, cells in self.source.rows:
            done += 1
            if progress is not None and done % PROGRESS_EVERY == 0:
                progress(label, done, self.source.total)
            values: list[Any] = []
            ok = True
            vocab_entry: tuple[str, str, str] | None = None
            try:
                key = self.pseudo.pseudonym(spec.key_kind, raw_id(self._text(spec.key_column,
                                                                             cells)))
                values.append(key)
                if key in seen:
                    self.errors.append(RowError(label, line, spec.key_column,
                                                f"the same id is also on line {seen[key]}"))
                    ok = False
                else:
                    seen[key] = line
            except Invalid as exc:
                self.errors.append(RowError(label, line, spec.key_column, str(exc), "id"))
                ok = False
            if spec.person_column:
                try:
                    raw_person = raw_id(self._text(spec.person_column, cells))
                    pid = persons.get(raw_person)
                    if pid is None:
                        pid = persons[raw_person] = self.pseudo.pseudonym("person", raw_person)
                    values.append(pid)
                except Invalid as exc:
                    self.errors.append(RowError(label, line, spec.person_column, str(exc), "id"))
                    ok = False
            if spec.parent:
                try:
                    values.append(self.pseudo.pseudonym(
                        spec.parent.kind, raw_id(self._text(spec.parent.column, cells))))
                except Invalid as exc:
                    self.errors.append(RowError(label, line, spec.parent.column, str(exc), "id"))
                    ok = False
            for column in spec.columns:
                text = ""
                try:
                    text = self._text(column.name, cells)
                    value = column.parse(text)
                    if column.kind == "person_ref" and value is not None:
                        value = persons.get(value) or self.pseudo.pseudonym("person", value)
                    elif column.kind in VOCABULARY_KIND:
                        local_code = value
                        value = self._federation_code(column, value, label, line)
                        if value is None:
                            ok = False
                        else:
                            vocab_entry = (column.kind, local_code, value)
                    values.append(value)
                except Invalid as exc:
                    self.errors.append(RowError(label, line, column.name, str(exc),
                                                value_class(text)))
                    ok = False
            if not ok:
                continue
            if vocab_entry is not None:
                values += [vocab_entry[1], version]
                parsed.vocabulary_used.add(vocab_entry)
            parsed.rows.append(tuple(values))
            parsed.lines.append(line)
        if progress is not None:
            progress(label, done, done)
        return parsed

    def _federation_code(self, column: Column, code: str, label: str, line: int) -> str | None:
        kind = VOCABULARY_KIND[column.kind]
        fed = (self.vocabulary.support_action(code) if column.kind == "support_action"
               else self.vocabulary.competence(code))
        if fed is not None:
            return fed
        self.errors.append(RowError(
            label, line, column.name,
            f"local code not mapped to a federation code in node.toml [vocabulary.{kind}]",
            value_class(code)))
        entry = self.unmapped.setdefault((kind, code), [0, f"{label}:{line}"])
        entry[0] += 1
        return None
