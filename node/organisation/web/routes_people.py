"""Record and follow: the people list, the person page and its add forms (job coaches).

Every view of a person's record and every change is written to the node's audit log (who, when,
which pseudonymous person, what kind of action; never a value). People are known by their
pseudonym and, when staff entered one, by their name (web/names.py: kept for the screen only);
a job coach finds someone by the organisation's own id (turned into the pseudonym in memory, as
`koepel node person` does), by a part of their name or by the first characters of the pseudonym.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from node.imports.records import (
    ASSESSMENT_CONTEXTS,
    ASSESSORS,
    CONTRACT_TYPES,
    EDUCATION,
    GENDERS,
    GOAL_DOMAINS,
    GOAL_STATUSES,
    REGIONS,
    ROLES,
    SELF_EVALUATION_ITEMS,
    SUBSIDY_SCHEMES,
    TARGET_GROUPS,
)
from node.imports.vocabulary import FED_COMPETENCES, FED_SUPPORT_ACTIONS
from node.organisation.audit_log import record_access
from node.organisation.person import PersonNotFound, person_record, resolve
from node.organisation.web.app import Page, redirect, render
from node.organisation.web.names import MAX_NAME, NameRefused, check_name, name_of, set_name
from node.organisation.web.people import people_page
from node.organisation.web.recording import (
    FIELD_LABELS,
    GOAL_SLOTS,
    FormRefused,
    record,
    record_plan,
    record_review,
    record_self_evaluation,
)

__all__ = ["form_choices", "person_context", "routes"]

_PID = re.compile(r"[0-9a-f]{32}")
_PREFIX = re.compile(r"[0-9a-f]{4,32}")
FORMS = {"contracts": ("contracts", "contract_add"),
         "support-actions": ("support_actions", "support_action_add"),
         "assessments": ("competence_assessments", "assessment_add"),
         "plans": ("support_plans", "plan_add"),
         "self-evaluations": ("self_evaluations", "self_evaluation_add")}


def form_choices(page: Page) -> dict[str, Any]:
    """The choices of the record forms; the codes offered are the mapped ones (node.toml's and
    the app's) and the federation's own, never an unmapped one (the federation could not count
    a record under it)."""
    vocabulary = page.vocabulary
    actions = [(code, code, fed) for code, fed in sorted(vocabulary.support_actions.items())]
    actions += [(code, code, code) for code in FED_SUPPORT_ACTIONS]
    competences = [(code, code, fed) for code, fed in sorted(vocabulary.competences.items())]
    competences += [(code, code, code) for code in FED_COMPETENCES]
    from node.organisation.web.vocabulary import app_terms, labels

    unmapped = sorted(app_terms(page.settings.store).items())
    return {"org_labels": labels(page.settings.store, page.locale.language),
            "unmapped_actions": [c for (k, c), f in unmapped
                                 if k == "support_action" and f is None],
            "unmapped_competences": [c for (k, c), f in unmapped
                                     if k == "competence" and f is None],
            "genders": GENDERS, "education": EDUCATION, "target_groups": TARGET_GROUPS,
            "regions": REGIONS, "roles": ROLES, "contract_types": CONTRACT_TYPES,
            "subsidy_schemes": [s for s in SUBSIDY_SCHEMES if s != "NONE"],
            "assessors": ASSESSORS, "contexts": ASSESSMENT_CONTEXTS,
            "goal_domains": GOAL_DOMAINS, "goal_statuses": GOAL_STATUSES,
            "goal_slots": range(1, GOAL_SLOTS + 1),
            "self_evaluation_items": tuple(SELF_EVALUATION_ITEMS),
            "actions_vocab": actions, "competences_vocab": competences,
            "field_labels": FIELD_LABELS}


def _int(text: str | None) -> int | None:
    return int(text) if text and text.isdigit() and len(text) < 4 else None


async def people_list(request: Request, page: Page) -> Response:
    settings = page.settings
    query = request.query_params
    search = query.get("q", "").strip()
    if search:
        try:
            pid = resolve(settings.store, settings.secret, search)
        except PersonNotFound:
            pid = None
        if pid is not None:
            return redirect(f"/people/{pid}")
    prefix = search.lower() if _PREFIX.fullmatch(search.lower()) else ""
    target_group = query.get("target_group", "")
    if target_group not in TARGET_GROUPS:
        target_group = ""
    ending = _int(query.get("ending"))
    review = _int(query.get("review"))
    result = people_page(settings.store, today=settings.today(), target_group=target_group,
                         ending_within=ending, review_due_within=review, pid_prefix=prefix,
                         name=search[:MAX_NAME], page=_int(query.get("page")) or 1)
    filters = sorted(name for name, used in (("target_group", target_group),
                                             ("ending", ending is not None),
                                             ("review", review is not None),
                                             ("search", bool(search))) if used)
    record_access(settings.store, actor=page.user, action="people_list", subject="*",
                  detail={"via": "web", "filters": filters, "shown": len(result.rows)})
    return render(page, "people.html", {
        "result": result, "search": search, "target_group": target_group, "ending": ending,
        "review": review, "not_found": bool(search) and not result.total,
        "today": settings.today().isoformat(), **form_choices(page)})


async def person_new_form(request: Request, page: Page) -> Response:
    return render(page, "person_new.html", {"values": {}, "errors": {}, **form_choices(page)})


async def person_create(request: Request, page: Page) -> Response:
    settings = page.settings
    values = dict(page.form)
    raw = values.get("person_id", "").strip()
    errors: dict[str, str] = {}
    try:
        name = check_name(values.get("display_name", ""))
    except NameRefused:
        errors["display_name"] = page.gettext(
            "a name has at most 100 characters and no control characters")
    if raw:
        try:
            resolve(settings.store, settings.secret, raw)
            errors["person_id"] = page.gettext("a person with this id is already on the node")
        except PersonNotFound:
            pass
    if not errors:
        try:
            pid = record(settings.store, settings.secret, "workers", values,
                         vocabulary=page.vocabulary, gettext=page.gettext)
        except FormRefused as exc:
            errors = {e.field: e.message for e in exc.errors}
    if errors:
        values.pop("person_id", None)  # the raw id is never sent back in a page
        return render(page, "person_new.html", {"values": values, "errors": errors,
                                                **form_choices(page)}, status=400)
    if name:
        set_name(settings.store, pid, name)
    record_access(settings.store, actor=page.user, action="person_create", subject=pid,
                  detail={"via": "web"})
    page.flash(page.gettext("The person was added."))
    return redirect(f"/people/{pid}")


def _sparkline(rows: list[dict[str, Any]], code_key: str, code: str) -> str:
    """The points of one competence's (or item's) scores over time, for a 120×36 SVG:
    x from the first to the last answer of that code, y from 0 (bottom) to 1 (top)."""
    points = sorted((r["date"], r["key"], float(r["score_norm"])) for r in rows
                    if r[code_key] == code)
    if not points:
        return ""
    first = date.fromisoformat(points[0][0]).toordinal()
    span = max(1, date.fromisoformat(points[-1][0]).toordinal() - first)
    coords = []
    for day, _, score in points:
        x = 4 + 112 * (date.fromisoformat(day).toordinal() - first) / span if len(
            points) > 1 else 60
        coords.append(f"{x:.1f},{4 + 28 * (1 - score):.1f}")
    return " ".join(coords)


def person_context(page: Page, pid: str) -> dict[str, Any]:
    person = person_record(page.settings.store, pid)
    with page.settings.store.reading() as conn:  # the same orders as person_record's
        plan_keys = [r[0] for r in conn.execute(
            "SELECT plan_key FROM support_plans WHERE pid = ? ORDER BY start_date, plan_key",
            (pid,))]
        contract_keys = [r[0] for r in conn.execute(
            "SELECT contract_key FROM contracts WHERE pid = ? "
            "ORDER BY start_date, contract_key", (pid,))]
        goal_keys = {key: [r[0] for r in conn.execute(
            "SELECT goal_key FROM plan_goals WHERE plan_key = ? "
            "ORDER BY domain, status, goal_key", (key,))] for key in plan_keys}
    support = person.support_by_quarter()
    quarters = sorted({s.quarter for s in support})
    hours_by_quarter = [(q, sum(s.hours for s in support if s.quarter == q)) for q in quarters]
    peak = max((h for _, h in hours_by_quarter), default=0.0) or 1.0
    competences = [(line, _sparkline(person.assessments, "federation_code", line.code))
                   for line in person.competences()]
    evaluations = [(line, _sparkline(person.self_evaluations, "item_code", line.code))
                   for line in person.self_evaluation_changes()]
    return {"person": person, "pid": pid, "name": name_of(page.settings.store, pid),
            "competence_lines": competences,
            "evaluation_lines": evaluations,
            "plans": [(key, plan, list(zip(goal_keys[key], plan["goals"], strict=True)))
                      for key, plan in zip(plan_keys, person.plans, strict=True)],
            "contracts": list(zip(contract_keys, person.contracts, strict=True)),
            "competences": person.competences(),
            "evaluations": person.self_evaluation_changes(),
            "hours_by_quarter": hours_by_quarter, "hours_peak": peak,
            "actions": list(reversed(person.support_actions)),
            "assessments": list(reversed(person.assessments)),
            "answers": list(reversed(person.self_evaluations)), **form_choices(page)}


def _not_found(page: Page) -> Response:
    return render(page, "error.html", {"status": 404, "message": "person"}, status=404)


def _person_in_url(request: Request, page: Page) -> tuple[str, dict[str, Any]] | None:
    """The pseudonym in the URL and its page's context, if such a person is on the node."""
    pid = request.path_params["pid"]
    if not _PID.fullmatch(pid):
        return None
    try:
        return pid, person_context(page, pid)
    except PersonNotFound:
        return None


async def person_page(request: Request, page: Page) -> Response:
    found = _person_in_url(request, page)
    if found is None:
        return _not_found(page)
    pid, context = found
    record_access(page.settings.store, actor=page.user, action="person_view", subject=pid,
                  detail={"via": "web"})
    return render(page, "person.html", {**context, "errors": {}, "values": {}, "open": ""})


async def person_add(request: Request, page: Page) -> Response:
    kind = request.path_params["kind"]
    found = _person_in_url(request, page) if kind in FORMS else None
    if found is None:
        return _not_found(page)
    pid, context = found
    table, action = FORMS[kind]
    settings = page.settings
    try:
        if kind == "plans":
            record_plan(settings.store, settings.secret, page.form, person_pid=pid,
                        vocabulary=page.vocabulary, gettext=page.gettext)
        elif kind == "self-evaluations":
            record_self_evaluation(settings.store, settings.secret, page.form,
                                   person_pid=pid, items=tuple(SELF_EVALUATION_ITEMS),
                                   vocabulary=page.vocabulary,
                                   gettext=page.gettext)
        else:
            record(settings.store, settings.secret, table, page.form,
                   vocabulary=page.vocabulary, gettext=page.gettext,
                   person_pid=pid)
    except FormRefused as exc:
        return render(page, "person.html", {
            **context, "errors": {e.field: e.message for e in exc.errors},
            "values": dict(page.form), "open": kind}, status=400)
    record_access(settings.store, actor=page.user, action=action, subject=pid,
                  detail={"via": "web", "table": table})
    page.flash(page.gettext("Saved."))
    return redirect(f"/people/{pid}#{kind}")


async def plan_review(request: Request, page: Page) -> Response:
    pid, plan = request.path_params["pid"], request.path_params["plan"]
    settings = page.settings
    if not (_PID.fullmatch(pid) and _PID.fullmatch(plan)):
        return _not_found(page)
    with settings.store.reading() as conn:
        owned = conn.execute("SELECT 1 FROM support_plans WHERE plan_key = ? AND pid = ?",
                             (plan, pid)).fetchone()
    if owned is None:
        return _not_found(page)
    try:
        record_review(settings.store, settings.secret, page.form, plan_key=plan,
                      vocabulary=page.vocabulary, gettext=page.gettext)
    except FormRefused as exc:
        context = person_context(page, pid)
        return render(page, "person.html", {
            **context, "errors": {e.field: e.message for e in exc.errors},
            "values": dict(page.form), "open": f"review-{plan}"}, status=400)
    record_access(settings.store, actor=page.user, action="plan_review_add", subject=pid,
                  detail={"via": "web", "table": "plan_reviews"})
    page.flash(page.gettext("Saved."))
    return redirect(f"/people/{pid}#plans")


async def person_transfer(request: Request, page: Page) -> Response:
    """The person's record as a koepel-transfer/1 file, at their request (a download), logged
    in the audit log like `koepel node transfer`: who, when, for whom, the file's SHA-256."""
    import hashlib

    from node.organisation.transfer import (
        TRANSFER_FORMAT,
        build_transfer,
        transfer_bytes,
        transfer_counts,
    )

    pid = request.path_params["pid"]
    settings = page.settings
    if not _PID.fullmatch(pid):
        return _not_found(page)
    raw = page.form.get("person_id", "").strip()
    recipient = page.form.get("recipient", "").strip()
    errors: dict[str, str] = {}
    try:
        if resolve(settings.store, settings.secret, raw) != pid:
            errors["transfer_person_id"] = page.gettext("this is not this person's id")
    except PersonNotFound:
        errors["transfer_person_id"] = page.gettext("this is not this person's id")
    if not recipient or len(recipient) > 100:
        errors["recipient"] = page.gettext("the name of a service, 1 to 100 characters")
    if errors:
        context = person_context(page, pid)
        return render(page, "person.html", {**context, "errors": errors,
                                            "values": {"recipient": recipient},
                                            "open": "transfer"}, status=400)
    document = build_transfer(person_record(settings.store, pid),
                              node_id=settings.config.node_id,
                              organisation=settings.config.organisation, person_reference=raw)
    data = transfer_bytes(document)
    record_access(settings.store, actor=page.user, action="transfer_export", subject=pid,
                  detail={"format": TRANSFER_FORMAT, "sha256": hashlib.sha256(data).hexdigest(),
                          "recipient": recipient, "entries": transfer_counts(document),
                          "via": "web"})
    return Response(data, media_type="application/json", headers={
        "Content-Disposition": f'attachment; filename="koepel-transfer-{pid[:10]}.json"'})


async def person_name(request: Request, page: Page) -> Response:
    """Enter, change or (left empty) remove the name a person is known by on screen."""
    found = _person_in_url(request, page)
    if found is None:
        return _not_found(page)
    pid, context = found
    try:
        set_name(page.settings.store, pid, page.form.get("display_name", ""))
    except NameRefused:
        return render(page, "person.html", {**context, "values": dict(page.form), "errors": {
            "display_name": page.gettext(
                "a name has at most 100 characters and no control characters")},
            "open": "name"}, status=400)
    record_access(page.settings.store, actor=page.user, action="name_edit", subject=pid,
                  detail={"via": "web"})
    page.flash(page.gettext("Saved."))
    return redirect(f"/people/{pid}")


async def account_page(request: Request, page: Page) -> Response:
    return render(page, "account.html")


async def account_language(request: Request, page: Page) -> Response:
    from node.organisation.web.accounts import AccountError, set_language

    try:
        set_language(page.settings.store, page.user, page.form.get("language", ""))
    except AccountError:
        return render(page, "account.html", status=400)
    return redirect("/account")


def routes(guarded: Callable[..., Any]) -> list[Route]:
    return [
        Route("/people", guarded(people_list), methods=["GET"]),
        Route("/people/new", guarded(person_new_form), methods=["GET"]),
        Route("/people/new", guarded(person_create), methods=["POST"]),
        Route("/people/{pid}", guarded(person_page), methods=["GET"]),
        Route("/people/{pid}/plans/{plan}/reviews", guarded(plan_review), methods=["POST"]),
        Route("/people/{pid}/transfer", guarded(person_transfer), methods=["POST"]),
        Route("/people/{pid}/name", guarded(person_name), methods=["POST"]),
        Route("/people/{pid}/{kind}", guarded(person_add), methods=["POST"]),
        Route("/account", guarded(account_page), methods=["GET"]),
        Route("/account/language", guarded(account_language), methods=["POST"]),
    ]
