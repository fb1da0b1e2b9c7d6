"""Importing an organisation's records from CSV exports, all or nothing.

One CSV per table, recognised by its file name (``workers.csv``, ``contracts.csv``, …). Every
row is validated before anything is written; errors name the file, line, column and reason but
never echo the value (it may be sensitive). Raw ids are replaced by pseudonyms, and re-importing
the same file is idempotent (upsert by pseudonymous key).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from node.pseudonyms import Pseudonymiser
from node.store import Store

__all__ = ["TABLES", "ImportFailed", "ImportSummary", "RowError", "import_files"]

Parser = Callable[[str], Any]


class _Invalid(ValueError):
    """A cell failed validation; the message is the reason, never the value."""


def _enum(*allowed: str) -> Parser:
    values = frozenset(allowed)

    def parse(text: str) -> str:
        if text not in values:
            raise _Invalid(f"not one of the {len(values)} allowed codes")
        return text

    return parse


def _pattern(regex: str, what: str) -> Parser:
    compiled = re.compile(regex)

    def parse(text: str) -> str:
        if not compiled.fullmatch(text):
            raise _Invalid(f"not {what}")
        return text

    return parse


def _number(lo: float, hi: float, *, integer: bool = False) -> Parser:
    def parse(text: str) -> float | int:
        try:
            value: float | int = int(text) if integer else float(text)
        except ValueError:
            raise _Invalid("not a number" if not integer else "not a whole number") from None
        if not lo <= value <= hi:
            raise _Invalid(f"outside the allowed range {lo:g}–{hi:g}")
        return value

    return parse


def _date(text: str) -> str:
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise _Invalid("not a date in YYYY-MM-DD form") from None


def _optional_date(text: str) -> str | None:
    return _date(text) if text else None


def _raw_id(text: str) -> str:
    if not text or len(text) > 128:
        raise _Invalid("an id must be 1 to 128 characters")
    return text


GENDERS = ("F", "M", "X", "UNKNOWN")
EDUCATION = ("NONE_OR_PRIMARY", "LOWER_SEC", "UPPER_SEC", "POST_SEC_NON_TERTIARY", "TERTIARY",
             "FOREIGN_UNRECOGNISED", "UNKNOWN")
TARGET_GROUPS = ("TG_DISABILITY", "TG_PSYCHOSOCIAL", "TG_SEVERELY_DISADV", "TG_DISADV",
                 "TG_SOCIAL_ASSIST", "TG_TRAINEE", "NON_TARGET")
REGIONS = ("BE-VLG", "BE-WAL", "BE-BRU")
ROLES = ("TARGET_WORKER", "SUPERVISORY_STAFF", "TRAINEE", "PARTICIPANT")
CONTRACT_TYPES = ("OPEN_ENDED", "FIXED_TERM", "SPECIFIC_TASK", "REPLACEMENT", "ART60_7",
                  "TITRES_SERVICES", "TRANSITION_CONTRACT", "TRAINING_CONTRACT_CISP",
                  "NO_CONTRACT_ACTIVITY", "INTERNSHIP", "STUDENT_FLEXI", "OTHER")
DESTINATIONS = ("REGULAR_EMPLOYEE", "REGULAR_SELF_EMPLOYED", "REGULAR_INTERIM",
                "SUPPORTED_REGULAR", "OTHER_SOCIAL_ECONOMY", "INTERNAL_TO_STAFF",
                "TRAINING_EDUCATION", "JOB_SEEKER", "CARE_OR_DAY_ACTIVITY", "ILLNESS_INVALIDITY",
                "RETIREMENT", "DECEASED", "MOVED_OR_LOST", "UNKNOWN")


@dataclass(frozen=True)
class Column:
    name: str
    parse: Parser
    stored_as: str | None = None  # None: same name; "" : not stored (raw id)


@dataclass(frozen=True)
class TableSpec:
    """How one CSV maps onto one table: its key column, person column and typed columns."""

    table: str
    key_column: str  # raw id column, stored as the pseudonymous primary key
    key_stored_as: str
    key_kind: str
    columns: tuple[Column, ...]
    person_column: str | None = "person_id"


TABLES: dict[str, TableSpec] = {
    spec.table: spec
    for spec in (
        TableSpec("workers", "person_id", "pid", "person", (
            Column("birth_year", _number(1940, 2010, integer=True)),
            Column("gender", _enum(*GENDERS)),
            Column("education_level", _enum(*EDUCATION)),
            Column("target_group", _enum(*TARGET_GROUPS)),
            Column("region", _enum(*REGIONS)),
        ), person_column=None),
        TableSpec("contracts", "contract_id", "contract_key", "contract", (
            Column("role", _enum(*ROLES)),
            Column("contract_type", _enum(*CONTRACT_TYPES)),
            Column("weekly_hours", _number(0, 50)),
            Column("start_date", _date),
            Column("end_date", _optional_date),
        )),
        TableSpec("support_actions", "action_id", "action_key", "action", (
            Column("action_date", _date),
            Column("duration_min", _number(1, 600, integer=True)),
            Column("action_code", _pattern(r"SA\d{2}", "a federation action code (SAnn)")),
        )),
        TableSpec("competence_assessments", "assessment_id", "assessment_key", "assessment", (
            Column("assessment_date", _date),
            Column("competence_code", _pattern(r"[CBT][0-9A-Z:]{1,12}", "a competence code")),
            Column("score_norm", _number(0, 1)),
        )),
        TableSpec("exits", "exit_id", "exit_key", "exit", (
            Column("exit_date", _date),
            Column("destination", _enum(*DESTINATIONS)),
        )),
    )
}
_ORDER = ("workers", "contracts", "support_actions", "competence_assessments", "exits")


@dataclass(frozen=True)
class RowError:
    file: str
    line: int
    column: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: column {self.column}: {self.reason}"


class ImportFailed(Exception):
    """Nothing was written; ``errors`` says where and why (first ones shown)."""

    exit_code = 5

    def __init__(self, errors: Sequence[RowError]) -> None:
        self.errors = list(errors)
        shown = "\n".join(f"  {e}" for e in self.errors[:20])
        more = f"\n  … and {len(self.errors) - 20} more" if len(self.errors) > 20 else ""
        super().__init__(
            f"import refused, nothing was written ({len(self.errors)} problem(s)):\n{shown}{more}"
        )


@dataclass
class ImportSummary:
    """Rows read, and how many were new, per table."""

    rows: dict[str, int] = field(default_factory=dict)
    new: dict[str, int] = field(default_factory=dict)
    dry_run: bool = False


def _table_for(path: Path) -> TableSpec:
    spec = TABLES.get(path.stem)
    if spec is None:
        raise ImportFailed([RowError(path.name, 0, "-", "file name must be one of "
                                     + ", ".join(f"{t}.csv" for t in _ORDER))])
    return spec


def _read(path: Path, spec: TableSpec, pseudo: Pseudonymiser,
          errors: list[RowError]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    persons: dict[str, str] = {}  # raw person id -> pseudonym: a log names each person often
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        needed = [spec.key_column] + ([spec.person_column] if spec.person_column else [])
        needed += [c.name for c in spec.columns]
        missing = [c for c in needed if c not in (reader.fieldnames or [])]
        if missing:
            errors.append(RowError(path.name, 1, ",".join(missing), "missing from the header"))
            return rows
        for record in reader:
            line = reader.line_num
            row: dict[str, Any] = {}
            ok = True
            try:
                row[spec.key_stored_as] = pseudo.pseudonym(
                    spec.key_kind, _raw_id(record[spec.key_column] or "")
                )
                if spec.person_column:
                    raw_person = _raw_id(record[spec.person_column] or "")
                    pid = persons.get(raw_person)
                    if pid is None:
                        pid = persons[raw_person] = pseudo.pseudonym("person", raw_person)
                    row["pid"] = pid
            except _Invalid as exc:
                errors.append(RowError(path.name, line, spec.key_column, str(exc)))
                ok = False
            for column in spec.columns:
                try:
                    row[column.stored_as or column.name] = column.parse(
                        (record[column.name] or "").strip()
                    )
                except _Invalid as exc:
                    errors.append(RowError(path.name, line, column.name, str(exc)))
                    ok = False
            if ok:
                row["_line"] = line
                rows.append(row)
    return rows


def _upsert_sql(spec: TableSpec) -> str:
    names = [spec.key_stored_as] + (["pid"] if spec.person_column else [])
    names += [c.stored_as or c.name for c in spec.columns]
    updates = ", ".join(f"{n} = excluded.{n}" for n in names[1:])
    placeholders = ", ".join(f":{n}" for n in names)
    return (f"INSERT INTO {spec.table} ({', '.join(names)}) VALUES ({placeholders}) "
            f"ON CONFLICT({spec.key_stored_as}) DO UPDATE SET {updates}")


def import_files(store: Store, secret: bytes, paths: Iterable[Path], *,
                 dry_run: bool = False) -> ImportSummary:
    """Validate every row of every file, then write them all in one transaction (or nothing).

    With ``dry_run`` the writes happen inside the transaction (so the counts of new rows are
    exact) and are then rolled back.
    """
    try:
        return _import(store, secret, paths, dry_run=dry_run)
    except _DryRun as rolled_back:
        return rolled_back.summary


def _import(store: Store, secret: bytes, paths: Iterable[Path], *,
            dry_run: bool) -> ImportSummary:
    pseudo = Pseudonymiser(secret)
    errors: list[RowError] = []
    parsed: dict[str, tuple[Path, list[dict[str, Any]]]] = {}
    for path in paths:
        spec = _table_for(path)
        if spec.table in parsed:
            raise ImportFailed([RowError(path.name, 0, "-", "two files for the same table")])
        parsed[spec.table] = (path, _read(path, spec, pseudo, errors))
    for table, (path, rows) in parsed.items():
        if table == "contracts":
            for row in rows:
                if row["end_date"] is not None and row["end_date"] <= row["start_date"]:
                    errors.append(RowError(path.name, row["_line"], "end_date",
                                           "must be after start_date"))
    summary = ImportSummary(dry_run=dry_run)
    with store.transaction() as conn:
        known = {r[0] for r in conn.execute("SELECT pid FROM workers")}
        known |= {row["pid"] for row in parsed.get("workers", (None, []))[1]}
        for table, (path, rows) in parsed.items():
            if TABLES[table].person_column:
                errors.extend(
                    RowError(path.name, row["_line"], "person_id", "no such person in workers")
                    for row in rows if row["pid"] not in known
                )
        if errors:
            raise ImportFailed(errors)
        for table in _ORDER:
            if table not in parsed:
                continue
            spec = TABLES[table]
            rows = parsed[table][1]
            before = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            conn.executemany(_upsert_sql(spec), rows)
            after = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            summary.rows[table] = len(rows)
            summary.new[table] = after - before
        if dry_run:
            raise _DryRun(summary)
    return summary


class _DryRun(Exception):
    """Raised inside the transaction to roll a dry run back; carries the summary out."""

    def __init__(self, summary: ImportSummary) -> None:
        self.summary = summary
