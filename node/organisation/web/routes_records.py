"""Changing and deleting what was recorded about a person (job coaches).

A contract is changed or ended, a plan closed and a goal's status changed in place on the
person page; a support action, a competence assessment and a self-evaluation answer — record
kinds with no end to close them by — each get their own page with a change form and a delete
form. Every change goes through the importer's validation (``recording.update_record``), every
deletion is confirmed by a tick box, both only for a record of the person in the URL, and each
view of such a page and each change is written to the audit log (who, when, the pseudonym,
which kind of action; never a value).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from node.organisation.audit_log import record_access
from node.organisation.web.app import Page, redirect, render
from node.organisation.web.i18n import N_
from node.organisation.web.recording import (
    SCORE_SCALE,
    FormRefused,
    delete_record,
    update_record,
)
from node.organisation.web.routes_people import form_choices, person_context

__all__ = ["EDITABLE", "routes"]

_KEY = re.compile(r"[0-9a-f]{32}")
TITLES = {"support_action": N_("Change a support action"),
          "assessment": N_("Change an assessment"),
          "self_evaluation": N_("Change a self-evaluation answer")}


@dataclass(frozen=True)
class Editable:
    """One kind of stored record a job coach may change (and, without an end, delete)."""

    table: str
    key: str  # the stored key column
    owner_sql: str  # one row if the record (by key) is the person's (by pid)
    edit_action: str  # audit-log action
    delete_action: str | None  # None: closed by its end date, never deleted
    fields: tuple[str, ...]  # the form fields a change sets
    anchor: str  # where on the person page it is shown
    page: bool = False  # has its own change page (else changed on the person page)


def _owned(table: str, key: str) -> str:
    return f"SELECT 1 FROM {table} WHERE {key} = ? AND pid = ?"


EDITABLE: dict[str, Editable] = {
    "contract": Editable("contracts", "contract_key", _owned("contracts", "contract_key"),
                         "contract_edit", None, ("role", "contract_type", "weekly_hours",
                                                 "start_date", "end_date", "subsidy_scheme"),
                         "contracts"),
    "plan": Editable("support_plans", "plan_key", _owned("support_plans", "plan_key"),
                     "plan_close", None, ("end_date",), "plans"),
    "goal": Editable("plan_goals", "goal_key", "SELECT 1 FROM plan_goals g JOIN support_plans p "
                     "ON p.plan_key = g.plan_key WHERE g.goal_key = ? AND p.pid = ?",
                     "goal_edit", None, ("status",), "plans"),
    "support_action": Editable(
        "support_actions", "action_key", _owned("support_actions", "action_key"),
        "support_action_edit", "support_action_delete",
        ("action_date", "duration_min", "action_code"), "support-actions", page=True),
    "assessment": Editable(
        "competence_assessments", "assessment_key",
        _owned("competence_assessments", "assessment_key"), "assessment_edit",
        "assessment_delete",
        ("assessment_date", "competence_code", "score_norm", "assessor", "context"),
        "assessments", page=True),
    "self_evaluation": Editable(
        "self_evaluations", "evaluation_key", _owned("self_evaluations", "evaluation_key"),
        "self_evaluation_edit", "self_evaluation_delete",
        ("evaluation_date", "item_code", "score_norm"), "self-evaluations", page=True),
}

# What the change page shows of the stored row, in form-field order (a vocabulary column as
# the organisation's own code, as the form sends it).
_READ = {
    "support_action": "SELECT action_date, duration_min, local_code, action_code "
                      "FROM support_actions WHERE action_key = ?",
    "assessment": "SELECT assessment_date, local_code, score_norm, assessor, context, "
                  "competence_code FROM competence_assessments WHERE assessment_key = ?",
    "self_evaluation": "SELECT evaluation_date, item_code, score_norm "
                       "FROM self_evaluations WHERE evaluation_key = ?",
}


def _not_found(page: Page) -> Response:
    return render(page, "error.html", {"status": 404, "message": "person"}, status=404)


def _target(request: Request, page: Page, *, own_page: bool = False
            ) -> tuple[str, str, str, Editable] | None:
    """The person, the kind and the key in the URL, if that record is that person's."""
    pid, what, key = (request.path_params[k] for k in ("pid", "what", "key"))
    kind = EDITABLE.get(what)
    if kind is None or (own_page and not kind.page) or not (
            _KEY.fullmatch(pid) and _KEY.fullmatch(key)):
        return None
    with page.settings.store.reading() as conn:
        if conn.execute(kind.owner_sql, (key, pid)).fetchone() is None:
            return None
    return pid, what, key, kind


def _stored_values(page: Page, what: str, key: str) -> tuple[dict[str, str], str]:
    """The stored row as the form shows it, and its federation code ("" if none)."""
    kind = EDITABLE[what]
    with page.settings.store.reading() as conn:
        row = conn.execute(_READ[what], (key,)).fetchone()
    values = {name: "" if v is None else str(v) for name, v in zip(kind.fields, row,
                                                                    strict=False)}
    if "score_norm" in values:
        lo, hi = SCORE_SCALE
        values["score_norm"] = page.locale.number(lo + float(values["score_norm"]) * (hi - lo),
                                                  2)
    federation = str(row[len(kind.fields)]) if len(row) > len(kind.fields) else ""
    return values, federation


def _edit_page(page: Page, pid: str, what: str, key: str, *,
               values: dict[str, str] | None = None, errors: dict[str, str] | None = None,
               status: int = 200) -> Response:
    stored, federation = _stored_values(page, what, key)
    return render(page, "record_edit.html", {
        "pid": pid, "what": what, "key": key, "title": TITLES[what], "kind": EDITABLE[what],
        "federation": federation,
        "values": values if values is not None else stored, "errors": errors or {},
        **form_choices(page)}, status=status)


async def edit_form(request: Request, page: Page) -> Response:
    """The change page of one support action, assessment or self-evaluation answer."""
    target = _target(request, page, own_page=True)
    if target is None:
        return _not_found(page)
    pid, what, key, kind = target
    record_access(page.settings.store, actor=page.user, action="person_view", subject=pid,
                  detail={"via": "web", "table": kind.table})
    return _edit_page(page, pid, what, key)


async def edit(request: Request, page: Page) -> Response:
    """Change a stored record of the person: through the importer's validation, or refused
    with a message on each wrong field (nothing written)."""
    target = _target(request, page)
    if target is None:
        return _not_found(page)
    pid, what, key, kind = target
    settings = page.settings
    parent = None
    if what == "goal":
        with settings.store.reading() as conn:
            parent = str(conn.execute("SELECT plan_key FROM plan_goals WHERE goal_key = ?",
                                      (key,)).fetchone()[0])
    changes = {name: page.form.get(name, "") for name in kind.fields}
    try:
        update_record(settings.store, settings.secret, kind.table, key, changes,
                      vocabulary=page.vocabulary, gettext=page.gettext,
                      person_pid=None if what == "goal" else pid, parent_key=parent)
    except FormRefused as exc:
        errors = {e.field: e.message for e in exc.errors}
        if kind.page:
            return _edit_page(page, pid, what, key, values=dict(page.form), errors=errors,
                              status=400)
        return render(page, "person.html", {
            **person_context(page, pid), "errors": errors, "values": dict(page.form),
            "open": f"{what}-{key}"}, status=400)
    record_access(settings.store, actor=page.user, action=kind.edit_action, subject=pid,
                  detail={"via": "web", "table": kind.table})
    page.flash(page.gettext("Saved."))
    return redirect(f"/people/{pid}#{kind.anchor}")


async def delete(request: Request, page: Page) -> Response:
    """Delete a support action, an assessment or a self-evaluation answer, once confirmed."""
    target = _target(request, page, own_page=True)
    if target is None:
        return _not_found(page)
    pid, what, key, kind = target
    if kind.delete_action is None:
        return _not_found(page)
    if page.form.get("confirm") != "yes":
        return _edit_page(page, pid, what, key, errors={"confirm": page.gettext(
            "tick the box to confirm the deletion")}, status=400)
    try:
        delete_record(page.settings.store, kind.table, key, person_pid=pid)
    except LookupError:
        return _not_found(page)
    record_access(page.settings.store, actor=page.user, action=kind.delete_action, subject=pid,
                  detail={"via": "web", "table": kind.table})
    page.flash(page.gettext("Deleted."))
    return redirect(f"/people/{pid}#{kind.anchor}")


def routes(guarded: Callable[..., Any]) -> list[Route]:
    return [
        Route("/people/{pid}/edit/{what}/{key}", guarded(edit_form), methods=["GET"]),
        Route("/people/{pid}/edit/{what}/{key}", guarded(edit), methods=["POST"]),
        Route("/people/{pid}/delete/{what}/{key}", guarded(delete), methods=["POST"]),
    ]
