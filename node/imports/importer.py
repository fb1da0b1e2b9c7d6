"""Importing an organisation's records from its HR tool's exports (CSV or XLSX), all or nothing.

Every row of every file is validated before anything is written; the errors name the file,
line, column, the *class* of the value found (empty, whole number, date-like text, …) and the
reason, but never the value itself (it may be sensitive, and error reports travel). Raw ids are
replaced by pseudonyms. The organisation's own support-action and competence codes are mapped to
the federation vocabulary through node.toml [vocabulary]; a code that maps to nothing refuses the
import and is listed, so that it is never silently dropped. Re-importing the same file changes
nothing (upsert by pseudonymous key, and rows that did not change are not even rewritten);
``dry_run`` reports how many rows would be new, updated and unchanged, and writes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from node.imports.mapping import TableMapping, ToolMapping
from node.imports.pseudonyms import Pseudonymiser
from node.imports.records import ORDER, TABLES, TableSpec
from node.imports.sources import SourceError, SourceTable, open_csv, open_xlsx, xlsx_sheet_names
from node.imports.validation import Parsed, Progress, RowError, TableReader, stored_columns
from node.imports.vocabulary import Vocabulary
from node.store.database import Store

__all__ = [
    "TABLES",
    "ImportFailed",
    "ImportSummary",
    "Progress",
    "RowBatch",
    "RowError",
    "UnmappedCode",
    "import_batches",
    "import_files",
    "import_rows",
    "stored_columns",
]

_CSV_SUFFIXES = {".csv", ".txt", ".tsv"}
_XLSX_SUFFIXES = {".xlsx", ".xlsm"}


@dataclass(frozen=True)
class UnmappedCode:
    """An organisation code that maps to no federation code.

    The code itself is kept for the operator's own terminal (``--list-unmapped``) but left out
    of the default message: a code column can hold anything a person typed into it.
    """

    kind: str  # "support_actions" or "competences", as in node.toml [vocabulary.<kind>]
    code: str
    rows: int
    first_at: str

    def describe(self, *, show_code: bool) -> str:
        rows = f"{self.rows} row{'s' if self.rows != 1 else ''}"
        if show_code:
            return f"{self.code} ({rows}, first at {self.first_at})"
        return f"a code first at {self.first_at} ({rows})"


class ImportFailed(Exception):
    """Nothing was written; ``errors`` says where and why (first ones shown)."""

    exit_code = 5

    def __init__(self, errors: Sequence[RowError], unmapped: Sequence[UnmappedCode] = ()) -> None:
        self.errors = list(errors)
        self.unmapped = list(unmapped)
        super().__init__(self.describe(show_codes=False))

    def describe(self, *, show_codes: bool) -> str:
        """The report; with ``show_codes`` the unmapped local codes are printed as they are."""
        shown = "\n".join(f"  {e}" for e in self.errors[:20])
        more = f"\n  … and {len(self.errors) - 20} more" if len(self.errors) > 20 else ""
        text = (f"import refused, nothing was written ({len(self.errors)} problem(s)):\n"
                f"{shown}{more}")
        for kind in sorted({u.kind for u in self.unmapped}):
            codes = [u for u in self.unmapped if u.kind == kind]
            text += (f"\n{len(codes)} distinct local code(s) map to no federation code; add "
                     f"each to node.toml [vocabulary.{kind}]:\n"
                     + "\n".join(f"  {u.describe(show_code=show_codes)}" for u in codes[:50]))
            if len(codes) > 50:
                text += f"\n  … and {len(codes) - 50} more"
            if not show_codes:
                text += ("\n  (run again with --list-unmapped to print the codes themselves on "
                         "this terminal)")
        return text


@dataclass
class ImportSummary:
    """Per table: rows read, and how many are new, updated and unchanged."""

    rows: dict[str, int] = field(default_factory=dict)
    new: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)
    unchanged: dict[str, int] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)  # table -> where it was read from
    mapping_version: str = ""
    dry_run: bool = False
    notes: list[str] = field(default_factory=list)


# ------------------------------------------------------------------------------------------
# Which file (or worksheet) holds which table
# ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Input:
    path: Path
    mapping: TableMapping
    sheet: str | None  # XLSX only

    def open(self) -> SourceTable:
        if self.sheet is not None:
            return open_xlsx(self.path, self.sheet)
        return open_csv(self.path, delimiter=self.mapping.delimiter,
                        encoding=self.mapping.encoding)


def _plan(paths: Iterable[Path], mapping: ToolMapping,
          notes: list[str]) -> tuple[dict[str, _Input], list[RowError]]:
    inputs: dict[str, _Input] = {}
    errors: list[RowError] = []
    described = ", ".join(f"{t}.csv" for t in ORDER if t in mapping.tables)

    def add(table: str, item: _Input, label: str) -> None:
        if table in inputs:
            errors.append(RowError(label, 0, "-", f"a second input for table {table}"))
        else:
            inputs[table] = item

    for path in paths:
        suffix = path.suffix.lower()
        matching = [t for t in ORDER if t in mapping.tables and mapping.tables[t].matches(path)]
        if suffix in _CSV_SUFFIXES:
            if len(matching) != 1:
                reason = (f"the file name must match exactly one table ({described})"
                          if mapping.path is None else
                          f"matches {len(matching)} of the tables in {mapping.path.name}; "
                          "adjust their file patterns")
                errors.append(RowError(path.name, 0, "-", reason))
                continue
            add(matching[0], _Input(path, mapping.tables[matching[0]], None), path.name)
        elif suffix in _XLSX_SUFFIXES:
            try:
                sheets = xlsx_sheet_names(path)
            except SourceError as exc:
                errors.append(RowError(path.name, 0, "-", str(exc)))
                continue
            by_name = {s.strip().lower(): s for s in sheets}
            used: set[str] = set()
            for table in ORDER:
                if table not in mapping.tables:
                    continue
                tm = mapping.tables[table]
                sheet = tm.sheet if tm.matches(path) else None
                if sheet is None and (tm.file is None or tm.matches(path)):
                    sheet = by_name.get(table)
                if sheet is None and tm.matches(path) and len(matching) == 1:
                    sheet = sheets[0]
                if sheet is not None:
                    if sheet not in sheets:
                        errors.append(RowError(path.name, 0, "-",
                                               f"has no worksheet {sheet!r} for {table}"))
                        continue
                    used.add(sheet)
                    add(table, _Input(path, tm, sheet), f"{path.name}[{sheet}]")
            if not used:
                errors.append(RowError(path.name, 0, "-", "no worksheet is named after a "
                                       f"table ({', '.join(ORDER)}) or mapped to one"))
            ignored = [s for s in sheets if s not in used]
            if used and ignored:
                notes.append(f"{path.name}: worksheet(s) {', '.join(ignored)} not imported")
        else:
            errors.append(RowError(path.name, 0, "-", "unsupported file type; use .csv or "
                                   ".xlsx"))
    return inputs, errors


# ------------------------------------------------------------------------------------------
# Reading and validating rows
# ------------------------------------------------------------------------------------------

# ------------------------------------------------------------------------------------------
# Writing
# ------------------------------------------------------------------------------------------

def _upsert_sql(spec: TableSpec, names: tuple[str, ...]) -> str:
    # Table and column names come from node/imports/records.py only, never from an input file.
    updates = ", ".join(f"{n} = excluded.{n}" for n in names[1:])
    placeholders = ", ".join("?" for _ in names)
    return (f"INSERT INTO {spec.table} ({', '.join(names)}) VALUES ({placeholders}) "
            f"ON CONFLICT({spec.key_stored_as}) DO UPDATE SET {updates}")


def _known_keys(conn: Any, parsed: dict[str, Parsed], table: str) -> set[str]:
    """The keys of ``table``: already stored, or in this import."""
    key = TABLES[table].key_stored_as
    known = {r[0] for r in conn.execute(f"SELECT {key} FROM {table}")}
    if table in parsed:
        known.update(row[0] for row in parsed[table].rows)
    return known


def _owners(conn: Any, parsed: dict[str, Parsed], table: str) -> dict[str, str]:
    """Key -> person of every row of ``table``: already stored, or in this import."""
    key = TABLES[table].key_stored_as
    owners = {r[0]: r[1] for r in conn.execute(f"SELECT {key}, pid FROM {table}")}
    if table in parsed:
        owners.update((row[0], row[1]) for row in parsed[table].rows)
    return owners


def _check_references(conn: Any, parsed: dict[str, Parsed], errors: list[RowError]) -> None:
    known = _known_keys(conn, parsed, "workers")
    for table, part in parsed.items():
        spec = TABLES[table]
        if spec.person_column:
            errors.extend(RowError(part.label, line, "person_id", "no such person in workers")
                          for row, line in zip(part.rows, part.lines, strict=True)
                          if row[1] not in known)
        if spec.parent:
            parents = _known_keys(conn, parsed, spec.parent.table)
            at = part.columns.index(spec.parent.stored_as)
            errors.extend(RowError(part.label, line, spec.parent.column,
                                   f"no such id in {spec.parent.table}")
                          for row, line in zip(part.rows, part.lines, strict=True)
                          if row[at] not in parents)
            if spec.person_column:  # a row of a person's record (an exit) is that person's
                owners = _owners(conn, parsed, spec.parent.table)
                errors.extend(RowError(part.label, line, spec.person_column,
                                       f"not the person of that id in {spec.parent.table}")
                              for row, line in zip(part.rows, part.lines, strict=True)
                              if row[at] in owners and owners[row[at]] != row[1])


def _check_vocabulary(conn: Any, parsed: dict[str, Parsed], version: str,
                      errors: list[RowError]) -> set[tuple[str, str, str]]:
    used = set().union(*(p.vocabulary_used for p in parsed.values()))
    known = {(k, local): fed for k, local, fed in conn.execute(
        "SELECT kind, local_code, fed_code FROM vocabulary_map WHERE mapping_version = ?",
        (version,))}
    for kind, local, fed in sorted(used):
        if known.get((kind, local), fed) != fed:
            errors.append(RowError(
                "node.toml", 0, f"[vocabulary] {kind}",
                f"the mapping of a local code changed under the same version {version!r}; "
                "give [vocabulary] a new version", "code-like text"))
    return used


def import_files(store: Store, secret: bytes, paths: Iterable[Path], *,
                 dry_run: bool = False, mapping: ToolMapping | None = None,
                 vocabulary: Vocabulary | None = None,
                 progress: Progress | None = None) -> ImportSummary:
    """Validate every row of every file, then write them all in one transaction (or nothing).

    ``mapping`` describes the HR tool's export (default: koepel's own CSV layout);
    ``vocabulary`` maps the organisation's codes (default: federation codes only);
    ``progress`` is told how far each file has been read.
    """
    mapping = mapping or ToolMapping.identity()
    vocabulary = vocabulary or Vocabulary()
    pseudo = Pseudonymiser(secret)
    summary = ImportSummary(dry_run=dry_run, mapping_version=vocabulary.version)
    inputs, errors = _plan(list(paths), mapping, summary.notes)
    if errors:
        raise ImportFailed(errors)
    unmapped: dict[tuple[str, str], list[Any]] = {}
    parsed: dict[str, Parsed] = {}
    for table in ORDER:
        if table not in inputs:
            continue
        item = inputs[table]
        try:
            source = item.open()
        except SourceError as exc:
            errors.append(RowError(item.path.name, 0, "-", str(exc)))
            continue
        try:
            reader = TableReader(TABLES[table], item.mapping, source, pseudo, vocabulary,
                                  errors, unmapped)
            if reader.ok:
                parsed[table] = reader.read(progress)
                summary.sources[table] = source.label
        except SourceError as exc:
            errors.append(RowError(item.path.name, 0, "-", str(exc)))
        finally:
            source.close()
    _finish(store, parsed, summary, errors, unmapped, vocabulary, dry_run=dry_run)
    return summary


def _finish(store: Store, parsed: dict[str, Parsed], summary: ImportSummary,
            errors: list[RowError], unmapped: dict[tuple[str, str], list[Any]],
            vocabulary: Vocabulary, *, dry_run: bool) -> None:
    """The checks across rows and tables (periods, references, vocabulary), then the write."""
    for table, part in parsed.items():
        if (span := TABLES[table].period_columns) is None:
            continue
        start, end = part.columns.index(span[0]), part.columns.index(span[1])
        errors.extend(RowError(part.label, line, "end_date", "must be after start_date",
                               "date-like text")
                      for row, line in zip(part.rows, part.lines, strict=True)
                      if row[end] is not None and row[end] <= row[start])
    unmapped_codes = sorted((UnmappedCode(kind, code, count, first)
                             for (kind, code), (count, first) in unmapped.items()),
                            key=lambda u: (u.kind, -u.rows, u.first_at))
    if dry_run:
        with store.reading() as conn:
            _write(conn, parsed, summary, errors, unmapped_codes, vocabulary, write=False)
    else:
        with store.transaction() as conn:
            _write(conn, parsed, summary, errors, unmapped_codes, vocabulary, write=True)


@dataclass(frozen=True)
class RowBatch:
    """Rows for one table given as text cells by column name (a web form's fields).

    ``person_pid`` gives the rows' person by pseudonym and ``parent_key`` their parent's stored
    key (a goal's plan): records already on the node, whose raw ids the caller does not hold;
    the matching input column is then not read. ``stored_key`` makes the (single) row an update
    of the row stored under that key: its id column is not read either. ``kept`` gives stored
    values (by stored column name) written as they are, e.g. the pseudonymous staff member of a
    support action a form changes: a pseudonym read back must not be pseudonymised again.
    """

    table: str
    rows: Sequence[Mapping[str, str]]
    mapping: TableMapping | None = None
    person_pid: str | None = None
    parent_key: str | None = None
    stored_key: str | None = None
    kept: Mapping[str, Any] = field(default_factory=dict)


def _read_batch(batch: RowBatch, secret: bytes, vocabulary: Vocabulary, label: str,
                errors: list[RowError], unmapped: dict[tuple[str, str], list[Any]]
                ) -> Parsed | None:
    if batch.table not in TABLES:
        raise ValueError(f"unknown table {batch.table!r}")
    spec = TABLES[batch.table]
    header = spec.input_columns
    fixed: dict[str, str] = {}
    if batch.person_pid is not None and spec.person_column:
        fixed[spec.person_column] = "-"
    if batch.parent_key is not None and spec.parent:
        fixed[spec.parent.column] = "-"
    if batch.stored_key is not None:
        if len(batch.rows) != 1:
            raise ValueError("an update by stored key takes exactly one row")
        fixed[spec.key_column] = "-"
    for column in spec.columns:
        if column.stored_name in batch.kept:
            fixed[column.name] = ""  # read nothing; the kept value is put in below
    cells = [(line, tuple(fixed.get(name, str(row.get(name, ""))).strip() for name in header))
             for line, row in enumerate(batch.rows, start=1)]
    source = SourceTable(label, header, iter(cells), len(cells), lambda: None)
    reader = TableReader(spec, batch.mapping or TableMapping(batch.table), source,
                         Pseudonymiser(secret), vocabulary, errors, unmapped)
    if not reader.ok:
        return None
    part = reader.read(None)
    if batch.person_pid is not None and spec.person_column:
        part.rows = [(row[0], batch.person_pid, *row[2:]) for row in part.rows]
    if batch.parent_key is not None and spec.parent:
        at = part.columns.index(spec.parent.stored_as)
        part.rows = [(*row[:at], batch.parent_key, *row[at + 1:]) for row in part.rows]
    if batch.stored_key is not None:
        part.rows = [(batch.stored_key, *row[1:]) for row in part.rows]
    for name, value in batch.kept.items():
        at = part.columns.index(name)
        part.rows = [(*row[:at], value, *row[at + 1:]) for row in part.rows]
    return part


def import_batches(store: Store, secret: bytes, batches: Sequence[RowBatch], *,
                   vocabulary: Vocabulary | None = None, label: str = "form",
                   dry_run: bool = False) -> ImportSummary:
    """Validate and write rows given as text cells (web forms), all tables in one transaction.

    The same path as a file import: the same column parsers, mapping adjustments (a decimal
    comma, a score scale), pseudonyms, period, reference and vocabulary checks, and the same
    upsert; only the source differs. Raises :class:`ImportFailed` with the errors; nothing is
    written unless every row of every batch is valid. One batch per table, in import order.
    """
    vocabulary = vocabulary or Vocabulary()
    errors: list[RowError] = []
    unmapped: dict[tuple[str, str], list[Any]] = {}
    summary = ImportSummary(dry_run=dry_run, mapping_version=vocabulary.version)
    parsed: dict[str, Parsed] = {}
    for batch in sorted(batches, key=lambda b: ORDER.index(b.table)):
        if batch.table in parsed:
            raise ValueError(f"two batches for table {batch.table!r}")
        part = _read_batch(batch, secret, vocabulary, f"{label}[{batch.table}]", errors,
                           unmapped)
        if part is not None:
            parsed[batch.table] = part
            summary.sources[batch.table] = label
    _finish(store, parsed, summary, errors, unmapped, vocabulary, dry_run=dry_run)
    return summary


def import_rows(store: Store, secret: bytes, table: str, rows: Sequence[Mapping[str, str]], *,
                mapping: TableMapping | None = None, vocabulary: Vocabulary | None = None,
                label: str = "form", person_pid: str | None = None,
                dry_run: bool = False) -> ImportSummary:
    """:func:`import_batches` for the rows of one table."""
    return import_batches(store, secret, [RowBatch(table, rows, mapping, person_pid)],
                          vocabulary=vocabulary, label=label, dry_run=dry_run)


def _write(conn: Any, parsed: dict[str, Parsed], summary: ImportSummary,
           errors: list[RowError], unmapped: list[UnmappedCode], vocabulary: Vocabulary, *,
           write: bool) -> None:
    _check_references(conn, parsed, errors)
    used = _check_vocabulary(conn, parsed, vocabulary.version, errors)
    if errors:
        raise ImportFailed(errors, unmapped)
    for table, part in parsed.items():
        spec = TABLES[table]
        existing = {row[0]: tuple(row) for row in conn.execute(
            f"SELECT {', '.join(part.columns)} FROM {table}")}
        changed = [row for row in part.rows if existing.get(row[0]) != row]
        new = sum(1 for row in changed if row[0] not in existing)
        summary.rows[table] = len(part.rows)
        summary.new[table] = new
        summary.updated[table] = len(changed) - new
        summary.unchanged[table] = len(part.rows) - len(changed)
        if write and changed:
            conn.executemany(_upsert_sql(spec, part.columns), changed)
    if write and used:
        today = datetime.now(UTC).date().isoformat()
        conn.executemany(
            "INSERT OR IGNORE INTO vocabulary_map (kind, local_code, fed_code, mapping_version,"
            " first_used) VALUES (?, ?, ?, ?, ?)",
            [(kind, local, fed, vocabulary.version, today) for kind, local, fed in used])
