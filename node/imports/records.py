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
    "ASSESSMENT_CONTEXTS",
    "ASSESSORS",
    "CONTRACT_TYPES",
    "DESTINATIONS",
    "EDUCATION",
    "ELIGIBILITY_CRITERIA",
    "EXIT_REASONS",
    "FOLLOWUP_SITUATIONS",
    "GENDERS",
    "GOAL_DOMAINS",
    "GOAL_STATUSES",
    "ORDER",
    "REFERRAL_SOURCES",
    "REGIONS",
    "ROLES",
    "SELF_EVALUATION_ITEMS",
    "SUBSIDY_SCHEMES",
    "TABLES",
    "TARGET_GROUPS",
    "TRAINING_TYPES",
    "Column",
    "Invalid",
    "Parent",
    "TableSpec",
    "value_class",
]

Parser = Callable[[str], Any]
Kind = Literal["code", "number", "date", "support_action", "competence", "person_ref"]


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


def _optional_enum(*allowed: str) -> Parser:
    required = _enum(*allowed)

    def parse(text: str) -> str | None:
        return required(text) if text else None

    return parse


def _optional_number(lo: float, hi: float) -> Parser:
    required = _number(lo, hi)

    def parse(text: str) -> float | int | None:
        return required(text) if text else None

    return parse


def _code_text(text: str) -> str:
    if not text:
        raise Invalid("empty")
    return text


def _optional_raw_id(text: str) -> str | None:
    """A raw id that may be left empty (the reader pseudonymises it: ``person_ref`` columns)."""
    return raw_id(text) if text else None


def _code_set(*allowed: str) -> Parser:
    """Several codes in one cell, separated by ``;`` (or ``|``), stored sorted as ``A;B``."""
    values = frozenset(allowed)

    def parse(text: str) -> str:
        codes = [c.strip() for c in text.replace("|", ";").split(";") if c.strip()]
        if not codes:
            raise Invalid("lists no code; separate several codes with ;")
        if any(c not in values for c in codes):
            raise Invalid(f"lists a code outside the {len(values)} allowed codes")
        if len(set(codes)) != len(codes):
            raise Invalid("lists the same code twice")
        return ";".join(sorted(codes))

    return parse


def _flag(text: str) -> int:
    if text not in ("0", "1"):
        raise Invalid("must be 1 (yes) or 0 (no)")
    return int(text)


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
# DOMAIN.md §1.2 subsidy_period.subsidy_type: what finances a job (the Walloon EI forms list the
# TD/TGD-subsidised ones).
SUBSIDY_SCHEMES = ("FL_WOP_COLLECTIVE", "FL_WOP_IMW", "FL_LDE", "FL_TWE",
                   "WAL_AVIQ_ETA_WAGE_SUBSIDY", "WAL_EI_TD", "WAL_EI_TGD", "WAL_EI_SOCIAL_SUPPORT",
                   "WAL_APE", "WAL_SESAM", "WAL_IMPULSION", "ACTIVA_BXL", "ART60_STATE_SUBSIDY",
                   "SINE_LEGACY", "NONE")
# Why a contract or trajectory ended (DOMAIN.md §1.2 exit.exit_reason), beside where the person
# went. The Walloon EI "maintien de l'effectif" neutralises a resignation, a retirement and a
# dismissal for serious fault (DISMISSAL_SERIOUS_FAULT, kept apart from other dismissals).
EXIT_REASONS = ("END_FIXED_TERM", "END_OF_TRAJECTORY_OR_SUBSIDY", "RESIGNATION", "DISMISSAL",
                "DISMISSAL_SERIOUS_FAULT", "MUTUAL_AGREEMENT", "MEDICAL_FORCE_MAJEURE",
                "RETIREMENT", "DEATH", "TRAINING_COMPLETED", "TRAINING_ABANDONED", "OTHER",
                "UNKNOWN")
# Who sent a person to the organisation (the bridges from training and public services).
REFERRAL_SOURCES = ("VDAB", "FOREM", "ACTIRIS", "CPAS", "AVIQ", "PHARE", "GTB_OR_SPECIALISED",
                    "CISP", "OTHER_TRAINING", "OTHER_SOCIAL_ECONOMY", "SELF", "WORD_OF_MOUTH",
                    "INTERIM_AGENCY", "OTHER", "UNKNOWN")
# A person's situation observed after an exit (follow-up at about 6 and 12 months).
FOLLOWUP_SITUATIONS = ("REGULAR_EMPLOYMENT", "SOCIAL_ECONOMY_EMPLOYMENT", "SELF_EMPLOYED",
                       "QUALIFYING_TRAINING", "OTHER_TRAINING", "JOB_SEEKER", "INACTIVE",
                       "ILLNESS_INVALIDITY", "OTHER", "UNKNOWN")
# DOMAIN.md §1.2 training.type.
TRAINING_TYPES = ("ON_THE_JOB", "INTERNAL_COURSE", "EXTERNAL_VOCATIONAL", "BASIC_SKILLS",
                  "SAFETY_CERT", "DRIVING_LICENCE", "CISP_ORIENTATION", "CISP_BASE",
                  "CISP_PROFESSIONNALISANTE")
# The criteria a person met when hired (DOMAIN.md §1.2 target_group_status.criteria).
ELIGIBILITY_CRITERIA = ("NO_CESS", "DEI_6M", "DEI_12M", "DEI_24M", "AGE_18_24", "AGE_50_PLUS",
                        "SINGLE_PARENT", "GENDER_IMBALANCE", "DISCRIMINATED", "AVIQ_DECISION",
                        "ART60", "RIS", "VAPH", "FEDERAL_DISABILITY_ALLOWANCE",
                        "PERMANENT_INCAPACITY", "INVALIDITY_BENEFIT",
                        "ATTEST_RECOGNISED_SERVICE")
ASSESSORS = ("SELF", "COACH", "SUPERVISOR", "EXTERNAL", "UNKNOWN")
ASSESSMENT_CONTEXTS = ("INTAKE", "PERIODIC", "EXIT", "UNKNOWN")
# Support-plan goals (DOMAIN.md §1.2 support_plan.goals).
GOAL_DOMAINS = ("WORK_SKILLS", "ATTITUDE", "HEALTH", "HOUSING", "FINANCE_DEBT", "MOBILITY",
                "FAMILY_CHILDCARE", "ADMIN_RIGHTS", "LANGUAGE", "JUSTICE", "TRANSITION")
GOAL_STATUSES = ("OPEN", "ACHIEVED", "DROPPED")
# The federation's self-evaluation questionnaire items (ordinal answers, normalised to [0, 1]):
# the qualitative side of accompaniment that integration services report beyond counts.
SELF_EVALUATION_ITEMS = {
    "SE01": "self-confidence",
    "SE02": "social participation / social network",
    "SE03": "well-being / perceived health",
    "SE04": "autonomy in daily life",
    "SE05": "motivation and readiness for work",
    "SE06": "managing money and paperwork",
    "SE07": "getting around (mobility)",
    "SE08": "confidence in the language of work",
}


@dataclass(frozen=True)
class Column:
    """One typed column. An ``optional`` column may be missing from an input file altogether
    (older exports); every row then gets ``default`` (before parsing)."""

    name: str
    parse: Parser
    kind: Kind = "code"
    optional: bool = False
    default: str = ""
    stored: str = ""  # the stored column when it differs from the input column's name

    @property
    def stored_name(self) -> str:
        return self.stored or self.name


@dataclass(frozen=True)
class Parent:
    """A row that belongs to a row of another table (a goal to its plan): the input column
    holding the parent's raw id, stored as the parent's pseudonymous key."""

    column: str
    stored_as: str
    kind: str
    table: str


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
    parent: Parent | None = None

    @property
    def input_columns(self) -> tuple[str, ...]:
        """Every column an input file may provide for this table (optional ones included)."""
        person = (self.person_column,) if self.person_column else ()
        parent = (self.parent.column,) if self.parent else ()
        return (self.key_column, *person, *parent, *(c.name for c in self.columns))

    @property
    def period_columns(self) -> tuple[str, str] | None:
        """(start, end) when rows are periods whose end must come after their start."""
        names = {c.name for c in self.columns}
        return ("start_date", "end_date") if {"start_date", "end_date"} <= names else None


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
            Column("subsidy_scheme", _optional_enum(*SUBSIDY_SCHEMES), optional=True),
            # The full-time week of the contract's joint committee (e.g. 37 or 38 hours).
            Column("fulltime_ref_hours", _optional_number(20, 40), "number", optional=True),
        )),
        TableSpec("support_actions", "action_id", "action_key", "action", (
            Column("action_date", parse_date, "date"),
            Column("duration_min", _number(1, 600, integer=True), "number"),
            Column("action_code", _code_text, "support_action"),
            # The staff member who gave the action: their own id, pseudonymised like a person's.
            Column("staff_id", _optional_raw_id, "person_ref", optional=True, stored="staff_pid"),
        )),
        TableSpec("competence_assessments", "assessment_id", "assessment_key", "assessment", (
            Column("assessment_date", parse_date, "date"),
            Column("competence_code", _code_text, "competence"),
            Column("score_norm", _number(0, 1), "number"),
            Column("assessor", _enum(*ASSESSORS), optional=True, default="UNKNOWN"),
            Column("context", _enum(*ASSESSMENT_CONTEXTS), optional=True, default="UNKNOWN"),
        )),
        TableSpec("exits", "exit_id", "exit_key", "exit", (
            Column("exit_date", parse_date, "date"),
            Column("destination", _enum(*DESTINATIONS)),
            Column("exit_reason", _enum(*EXIT_REASONS), optional=True, default="UNKNOWN"),
        )),
        TableSpec("support_plans", "plan_id", "plan_key", "plan", (
            Column("start_date", parse_date, "date"),
            Column("end_date", _optional_date, "date"),
        )),
        TableSpec("plan_goals", "goal_id", "goal_key", "goal", (
            Column("domain", _enum(*GOAL_DOMAINS)),
            Column("status", _enum(*GOAL_STATUSES)),
        ), person_column=None, parent=Parent("plan_id", "plan_key", "plan", "support_plans")),
        TableSpec("plan_reviews", "review_id", "review_key", "review", (
            Column("review_date", parse_date, "date"),
        ), person_column=None, parent=Parent("plan_id", "plan_key", "plan", "support_plans")),
        TableSpec("self_evaluations", "evaluation_id", "evaluation_key", "evaluation", (
            Column("evaluation_date", parse_date, "date"),
            Column("item_code", _enum(*SELF_EVALUATION_ITEMS)),
            Column("score_norm", _number(0, 1), "number"),
        )),
        TableSpec("training_sessions", "session_id", "session_key", "training_session", (
            Column("session_date", parse_date, "date"),
            Column("hours", _number(0.25, 12), "number"),
            Column("training_type", _enum(*TRAINING_TYPES)),
            # Leads to a recognised qualification (certificate, titre de compétence): counts
            # as "qualifying training" in the employment-or-training outcome.
            Column("qualifying", _flag, optional=True, default="0"),
        )),
        TableSpec("hires", "hire_id", "hire_key", "hire", (
            Column("hire_date", parse_date, "date"),
            Column("referral_source", _enum(*REFERRAL_SOURCES)),
        )),
        TableSpec("exit_followups", "followup_id", "followup_key", "followup", (
            Column("observation_date", parse_date, "date"),
            Column("situation", _enum(*FOLLOWUP_SITUATIONS)),
        ), parent=Parent("exit_id", "exit_key", "exit", "exits")),
        TableSpec("coach_evaluations", "evaluation_id", "evaluation_key", "coach_evaluation", (
            Column("staff_id", _optional_raw_id, "person_ref", optional=True, stored="staff_pid"),
            Column("evaluation_date", parse_date, "date"),
            Column("item_code", _enum(*SELF_EVALUATION_ITEMS)),
            Column("score_norm", _number(0, 1), "number"),
        )),
        TableSpec("hiring_eligibility", "eligibility_id", "eligibility_key", "eligibility", (
            Column("attestation_date", parse_date, "date"),
            Column("scheme", _enum(*SUBSIDY_SCHEMES)),
            Column("criteria", _code_set(*ELIGIBILITY_CRITERIA)),
        )),
    )
}
# Import (and write) order: a table comes after every table it refers to.
ORDER = ("workers", "contracts", "support_actions", "competence_assessments", "exits",
         "support_plans", "plan_goals", "plan_reviews", "self_evaluations", "training_sessions",
         "hires", "exit_followups", "coach_evaluations", "hiring_eligibility")

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
