"""What an import may contain: one spec per table, with a parser per column.

Each column has a kind (id, code, number, date, vocabulary code) so that a column-mapping file
can normalise an HR tool's dates and decimal commas before the parser sees them, and a parser
that turns the text into the stored value or raises :class:`Invalid` with a reason. Reasons and
value classes describe what is wrong without repeating the value: an import file holds personal
data, and error reports end up in e-mails and tickets.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

__all__ = [
    "CONTRACT_TYPES",
    "DESTINATIONS",
    "EDUCATION",
    "GENDERS",
    "ORDER",
    "REGIONS",
    "ROLES",
    "TABLES",
    "TARGET_GROUPS",
    "Column",
    "Invalid",
    "TableSpec",
    "value_class",
]

Parser = Callable[[str], Any]
Kind = Literal["code", "number", "date", "support_action", "competence"]


class Invalid(ValueError):
    """A cell failed validation; the message is the reason, never the value."""


def _enum(*allowed: str) -> Parser:
    values = frozenset(allowed)

    def parse(text: str) -> str:
        if text not in values:
            raise Invalid(f"not one of the {len(values)} allowed codes")
        return text

    return parse


def _number(lo: float, hi: float, *, integer: bool = False) -> Parser:
    def parse(text: str) -> float | int:
        try:
            value: float | int = int(text) if integer else float(text)
        except ValueError:
            raise Invalid("not a number" if not integer else "not a whole number") from None
        if value != value or not lo <= value <= hi:  # NaN, or out of range
            raise Invalid(f"outside the allowed range {lo:g}–{hi:g}")
        return value

    return parse


def parse_date(text: str) -> str:
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise Invalid("not a date in YYYY-MM-DD form (or the mapping file's date_format)") \
            from None


def _optional_date(text: str) -> str | None:
    return parse_date(text) if text else None


def _code_text(text: str) -> str:
    if not text:
        raise Invalid("empty")
    return text


def raw_id(text: str) -> str:
    if not text or len(text) > 128:
        raise Invalid("an id must be 1 to 128 characters")
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
    kind: Kind = "code"


@dataclass(frozen=True)
class TableSpec:
    """How one input table maps onto one stored table: its id column, person column and typed
    columns. Raw ids are stored only as pseudonyms (``key_stored_as``, ``pid``)."""

    table: str
    key_column: str  # raw id column, stored as the pseudonymous primary key
    key_stored_as: str
    key_kind: str
    columns: tuple[Column, ...]
    person_column: str | None = "person_id"

    @property
    def input_columns(self) -> tuple[str, ...]:
        """Every column an input file must provide for this table."""
        person = (self.person_column,) if self.person_column else ()
        return (self.key_column, *person, *(c.name for c in self.columns))


TABLES: dict[str, TableSpec] = {
    spec.table: spec
    for spec in (
        TableSpec("workers", "person_id", "pid", "person", (
            Column("birth_year", _number(1940, 2010, integer=True), "number"),
            Column("gender", _enum(*GENDERS)),
            Column("education_level", _enum(*EDUCATION)),
            Column("target_group", _enum(*TARGET_GROUPS)),
            Column("region", _enum(*REGIONS)),
        ), person_column=None),
        TableSpec("contracts", "contract_id", "contract_key", "contract", (
            Column("role", _enum(*ROLES)),
            Column("contract_type", _enum(*CONTRACT_TYPES)),
            Column("weekly_hours", _number(0, 50), "number"),
            Column("start_date", parse_date, "date"),
            Column("end_date", _optional_date, "date"),
        )),
        TableSpec("support_actions", "action_id", "action_key", "action", (
            Column("action_date", parse_date, "date"),
            Column("duration_min", _number(1, 600, integer=True), "number"),
            Column("action_code", _code_text, "support_action"),
        )),
        TableSpec("competence_assessments", "assessment_id", "assessment_key", "assessment", (
            Column("assessment_date", parse_date, "date"),
            Column("competence_code", _code_text, "competence"),
            Column("score_norm", _number(0, 1), "number"),
        )),
        TableSpec("exits", "exit_id", "exit_key", "exit", (
            Column("exit_date", parse_date, "date"),
            Column("destination", _enum(*DESTINATIONS)),
        )),
    )
}
ORDER = ("workers", "contracts", "support_actions", "competence_assessments", "exits")

_WHOLE = re.compile(r"[-+]?\d+")
_DECIMAL = re.compile(r"[-+]?(\d+[.,]\d*|[.,]\d+)([eE][-+]?\d+)?")
_DATE_LIKE = re.compile(r"\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}([ T].*)?")
_CODE_LIKE = re.compile(r"[A-Z0-9][A-Z0-9_:.-]*")


def value_class(text: str) -> str:
    """The shape of a value, to say what was found without saying what it was."""
    if not text:
        return "empty"
    if _WHOLE.fullmatch(text):
        return "whole number"
    if _DECIMAL.fullmatch(text):
        return "decimal number"
    if _DATE_LIKE.fullmatch(text):
        return "date-like text"
    if _CODE_LIKE.fullmatch(text):
        return "code-like text"
    return "text"
