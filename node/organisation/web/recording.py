"""Recording through the web forms, with the importer's own validation (one layer for both).

A form is a one-row import: its fields are the table's input columns, the row goes through
:func:`node.imports.import_rows` (the same column parsers, decimal commas, score scale,
pseudonyms, period, reference and vocabulary checks, and the same upsert as a file import), and
a refusal comes back as the importer's errors. Here they are turned into messages for the form,
field by field, in the user's language; like the importer's, they never repeat the value.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from node.imports.importer import ImportFailed, RowBatch, import_batches
from node.imports.mapping import ColumnSource, TableMapping
from node.imports.pseudonyms import Pseudonymiser
from node.imports.records import TABLES
from node.imports.validation import VOCABULARY_KIND
from node.imports.vocabulary import Vocabulary
from node.organisation.web.i18n import N_
from node.store.database import Store

__all__ = ["DELETABLE", "FIELDS", "GOAL_SLOTS", "SCORE_SCALE", "FieldError", "FormRefused",
           "delete_record", "record", "record_plan", "record_review", "record_self_evaluation",
           "update_record"]

GOAL_SLOTS = 3  # goals a new plan can be given at once (goal_1_domain, goal_1_status, …)
SCORE_SCALE = (1.0, 5.0)  # the form asks for a score on 1–5; stored on 0–1 like the imports
SCORED = ("competence_assessments", "self_evaluations")
# Record kinds with no end date to close them by: a mistaken one is deleted instead.
DELETABLE = ("support_actions", "competence_assessments", "self_evaluations")

# The fields each form shows (the table's input columns less the ids the app makes itself).
FIELDS: Mapping[str, tuple[str, ...]] = MappingProxyType({
    table: tuple(c.name for c in TABLES[table].columns)
    for table in ("workers", "contracts", "support_actions", "competence_assessments",
                  "support_plans", "plan_goals", "plan_reviews", "self_evaluations")
})

FIELD_LABELS: Mapping[str, str] = MappingProxyType({
    "person_id": N_("The organisation's id of the person"),
    "display_name": N_("Name"),
    "birth_year": N_("Year of birth"),
    "gender": N_("Gender"),
    "education_level": N_("Education"),
    "target_group": N_("Target group"),
    "region": N_("Region"),
    "role": N_("Role"),
    "contract_type": N_("Type of contract"),
    "weekly_hours": N_("Hours per week"),
    "start_date": N_("Start"),
    "end_date": N_("End"),
    "subsidy_scheme": N_("Subsidy scheme"),
    "action_date": N_("Date"),
    "duration_min": N_("Duration (minutes)"),
    "action_code": N_("Kind of support"),
    "assessment_date": N_("Date"),
    "competence_code": N_("Competence"),
    "score_norm": N_("Score (1 to 5)"),
    "assessor": N_("Assessed by"),
    "context": N_("When in the trajectory"),
    "domain": N_("Goal"),
    "status": N_("Status"),
    "review_date": N_("Date of the review"),
    "evaluation_date": N_("Date of the questionnaire"),
    "item_code": N_("Question"),
})

# The importer's reasons (node/imports/records.py, validation.py, importer.py), as patterns,
# with the sentence shown for each; ``{range}`` is filled from the reason.
_REASONS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"not one of the \d+ allowed codes"), N_("choose one of the proposed values")),
    (re.compile(r"outside the allowed range (?P<range>\S+)"),
     N_("must be between {range}")),
    (re.compile(r"outside the mapping file's scale (?P<range>\S+)"),
     N_("must be between {range}")),
    (re.compile(r"not a whole number"), N_("must be a whole number")),
    (re.compile(r"not a number"), N_("must be a number")),
    (re.compile(r"not a date"), N_("must be a date")),
    (re.compile(r"empty"), N_("is required")),
    (re.compile(r"an id must be 1 to 128 characters"), N_("must be 1 to 128 characters")),
    (re.compile(r"must be after start_date"), N_("must be after the start")),
    (re.compile(r"no such person"), N_("this person is not on the node")),
    (re.compile(r"local code not mapped"),
     N_("this code is not mapped to a federation code in node.toml")),
    (re.compile(r"the mapping of a local code changed"),
     N_("the vocabulary in node.toml changed under the same version; ask your administrator")),
)


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str  # translated


class FormRefused(Exception):
    """Nothing was written; ``errors`` says which field and why, in the user's language."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors))
        self.errors = errors


def _message(reason: str, gettext: Callable[[str], str]) -> str:
    for pattern, text in _REASONS:
        found = pattern.search(reason)
        if found:
            values = {k: v.replace("–", " – ") for k, v in found.groupdict().items()}
            return gettext(text).format(**values)
    return reason  # an English reason not known here: shown as the importer wrote it


def _mapping(table: str) -> TableMapping:
    columns: dict[str, ColumnSource] = {}
    if table in SCORED:
        columns["score_norm"] = ColumnSource(column="score_norm", scale=SCORE_SCALE)
    return TableMapping(table, decimal_comma=True, columns=MappingProxyType(columns))


def _write(store: Store, secret: bytes, batches: list[RowBatch], *, vocabulary: Vocabulary,
           gettext: Callable[[str], str],
           field: Callable[[str, str, int], str] | None = None) -> None:
    """Write the batches in one transaction, or raise :class:`FormRefused` with each error on
    the form field it belongs to (``field`` names it from the table, column and row)."""
    try:
        import_batches(store, secret, batches, vocabulary=vocabulary, label="form")
    except ImportFailed as exc:
        errors = []
        for e in exc.errors:
            table = e.file.partition("[")[2].rstrip("]")
            name = field(table, e.column, e.line) if field is not None else e.column
            errors.append(FieldError(name, _message(e.reason, gettext)))
        raise FormRefused(errors) from None


def _row(table: str, form: Mapping[str, str]) -> dict[str, str]:
    return {name: str(form.get(name, "")) for name in FIELDS[table]}


def record(store: Store, secret: bytes, table: str, form: Mapping[str, str], *,
           vocabulary: Vocabulary, gettext: Callable[[str], str],
           person_pid: str | None = None) -> str:
    """Validate and write one row from ``form``; return its stored key (a pseudonym).

    The row's own id is made here (random, then pseudonymised like any imported id); a person
    is created under the organisation's own id, which the form gives.
    """
    spec = TABLES[table]
    row = _row(table, form)
    if table == "workers":
        row["person_id"] = str(form.get("person_id", ""))
        raw_key = row["person_id"]
    else:
        raw_key = f"web-{secrets.token_hex(12)}"
        row[spec.key_column] = raw_key
    _write(store, secret, [RowBatch(table, [row], _mapping(table), person_pid)],
           vocabulary=vocabulary, gettext=gettext)
    return Pseudonymiser(secret).pseudonym(spec.key_kind, raw_key)


def record_plan(store: Store, secret: bytes, form: Mapping[str, str], *, person_pid: str,
                vocabulary: Vocabulary, gettext: Callable[[str], str]) -> str:
    """A support plan with its goals (slots whose domain is left empty are skipped), written
    together or not at all; returns the plan's stored key."""
    raw_plan = f"web-{secrets.token_hex(12)}"
    plan = {**_row("support_plans", form), "plan_id": raw_plan}
    goals, slots = [], []
    for slot in range(1, GOAL_SLOTS + 1):
        domain = str(form.get(f"goal_{slot}_domain", ""))
        if not domain:
            continue
        slots.append(slot)
        goals.append({"goal_id": f"web-{secrets.token_hex(12)}", "plan_id": raw_plan,
                      "domain": domain, "status": str(form.get(f"goal_{slot}_status", ""))})

    def field(table: str, column: str, line: int) -> str:
        if table == "plan_goals" and 1 <= line <= len(slots):
            return f"goal_{slots[line - 1]}_{column}"
        return column

    batches = [RowBatch("support_plans", [plan], person_pid=person_pid)]
    if goals:
        batches.append(RowBatch("plan_goals", goals))
    _write(store, secret, batches, vocabulary=vocabulary, gettext=gettext, field=field)
    return Pseudonymiser(secret).pseudonym("plan", raw_plan)


def record_review(store: Store, secret: bytes, form: Mapping[str, str], *, plan_key: str,
                  vocabulary: Vocabulary, gettext: Callable[[str], str]) -> None:
    """A review of an existing plan (known by its stored key)."""
    row = {**_row("plan_reviews", form), "review_id": f"web-{secrets.token_hex(12)}"}
    _write(store, secret, [RowBatch("plan_reviews", [row], parent_key=plan_key)],
           vocabulary=vocabulary, gettext=gettext)


def record_self_evaluation(store: Store, secret: bytes, form: Mapping[str, str], *,
                           person_pid: str, items: tuple[str, ...], vocabulary: Vocabulary,
                           gettext: Callable[[str], str]) -> int:
    """One questionnaire: an answer (1–5, stored on 0–1) per item answered, written together;
    returns how many answers were recorded. Items left blank are not answered."""
    answered = [item for item in items if str(form.get(f"item_{item}", ""))]
    if not answered:
        raise FormRefused([FieldError("evaluation_date", gettext(
            "answer at least one question"))])
    date = str(form.get("evaluation_date", ""))
    rows = [{"evaluation_id": f"web-{secrets.token_hex(12)}", "evaluation_date": date,
             "item_code": item, "score_norm": str(form.get(f"item_{item}", ""))}
            for item in answered]

    def field(table: str, column: str, line: int) -> str:
        if column == "score_norm" and 1 <= line <= len(answered):
            return f"item_{answered[line - 1]}"
        return column

    _write(store, secret, [RowBatch("self_evaluations", rows, _mapping("self_evaluations"),
                                    person_pid)],
           vocabulary=vocabulary, gettext=gettext, field=field)
    return len(rows)


def _text(value: object) -> str:
    """A stored value back as the text a form or file would give."""
    if value is None:
        return ""
    return repr(value) if isinstance(value, float) else str(value)


def _form_score(value: float) -> str:
    """A stored 0–1 score back on the form's 1–5 scale (the text a form would give)."""
    lo, hi = SCORE_SCALE
    return repr(round(lo + value * (hi - lo), 6))


def update_record(store: Store, secret: bytes, table: str, stored_key: str,
                  changes: Mapping[str, str], *, vocabulary: Vocabulary,
                  gettext: Callable[[str], str], person_pid: str | None = None,
                  parent_key: str | None = None) -> None:
    """Change some columns of a stored row (a contract, a plan's end, a goal's status, a support
    action, an assessment, a self-evaluation answer): the stored row, read back as the text a
    form would give (a vocabulary column as the organisation's own code, a score on the form's
    1–5 scale), with the changes over it, goes through the same validation as a new one (an end
    before the start, an unmapped code, a score out of range are refused) and replaces the
    stored row, or nothing is written. A record whose code is left as it was keeps the mapping
    it was recorded with (its federation code and mapping version), even if that code is no
    longer mapped: an unmapped code never blocks correcting a date or a duration."""
    spec = TABLES[table]
    columns = [c.name for c in spec.columns]
    # a vocabulary column is given back as the organisation's own code (what a form sends)
    coded = next((c for c in spec.columns if c.kind in VOCABULARY_KIND), None)
    read = ["local_code" if c is coded else c.stored_name for c in spec.columns]
    if coded is not None:
        read += [coded.name, "mapping_version"]
    with store.reading() as conn:
        row = conn.execute(f"SELECT {', '.join(read)} FROM {table} "  # names from records.py
                           f"WHERE {spec.key_stored_as} = ?", (stored_key,)).fetchone()
    if row is None:
        raise LookupError("no such record")
    cells = {name: _text(value) for name, value in zip(columns, row, strict=False)}
    if table in SCORED:
        cells["score_norm"] = _form_score(float(row[columns.index("score_norm")]))
    if coded is not None and str(changes.get(coded.name, cells[coded.name])) == cells[coded.name]:
        local, federation, version = cells[coded.name], str(row[-2]), str(row[-1])
        mapping = MappingProxyType({local: federation})
        vocabulary = (Vocabulary(mapping, MappingProxyType({}), version)
                      if coded.kind == "support_action"
                      else Vocabulary(MappingProxyType({}), mapping, version))
    cells.update({name: str(changes[name]) for name in columns if name in changes})
    # Another person a row refers to (a support action's staff member) is stored as a
    # pseudonym, which no form shows or changes: written back as it is.
    kept = {c.stored_name: row[columns.index(c.name)] for c in spec.columns
            if c.kind == "person_ref" and c.name not in changes}
    _write(store, secret, [RowBatch(table, [cells], _mapping(table), person_pid, parent_key,
                                    stored_key, kept)], vocabulary=vocabulary, gettext=gettext)


def delete_record(store: Store, table: str, stored_key: str, *, person_pid: str) -> None:
    """Delete one row of a record kind that has no end to close it by (a support action, an
    assessment, a self-evaluation answer), if it is ``person_pid``'s; the person's facts are
    brought up to date in the same transaction (Store.transaction)."""
    if table not in DELETABLE:
        raise ValueError(f"{table} rows are not deleted here")
    spec = TABLES[table]
    with store.transaction() as conn:
        cursor = conn.execute(f"DELETE FROM {table} WHERE {spec.key_stored_as} = ? "  # known
                              "AND pid = ?", (stored_key, person_pid))
        if cursor.rowcount != 1:
            raise LookupError("no such record")
