"""The manager's pages: reminders, the Walloon forms, what is shared, the budget, the audit log
and the organisation's own words (the report is ``routes_report``'s).

Reachable by managers and admins only (the guard refuses a job coach with 403). Sharing and
budget are read from node.toml and the ledger and said in plain words.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from node.organisation.audit_log import record_access
from node.organisation.sharing import sharing_decisions
from node.organisation.web.app import Page, redirect, render
from node.organisation.web.i18n import N_, Locale
from node.organisation.web.names import names_of
from node.organisation.web.people import reminders
from privacy import InvalidQueryError

__all__ = ["routes"]

SCOPES = {"querier": N_("this year"), "node": N_("all queriers together, this year"),
          "lifetime": N_("all queriers, all years")}

async def reminders_page(request: Request, page: Page) -> Response:
    today = page.settings.today()
    found = reminders(page.settings.store, today=today)
    names = names_of(page.settings.store, (pid for pid, _, _ in found.assessments))
    return render(page, "reminders.html", {"reminders": found, "today": today.isoformat(),
                                           "names": names})


def _epsilon(locale: Locale, micro: int) -> str:
    return locale.number(micro / 1_000_000, 3)


async def sharing_page(request: Request, page: Page) -> Response:
    settings = page.settings
    config = settings.config
    decisions = sharing_decisions(config)
    locale = page.locale
    queriers = []
    for index, q in enumerate(config.queriers.values()):
        access = q.access
        queriers.append({
            "identity": q.identity, "cap": _epsilon(locale, q.cap_micro),
            "min": _epsilon(locale, access.min_epsilon_micro),
            "max": None if access.max_epsilon_micro is None else _epsilon(
                locale, access.max_epsilon_micro),
            "shared": [m for m, shared in decisions.measures if shared[index]],
            "withheld": [m for m, shared in decisions.measures if not shared[index]],
            "dimensions": [d for d, shared in decisions.dimensions if shared[index]],
        })
    budgets = []
    for line in settings.engine.all_budgets():
        spent = line.spent_epsilon_micro
        cap = line.cap_epsilon_micro
        budgets.append({
            "querier": line.querier, "period": line.period, "scope": line.scope,
            "spent": _epsilon(locale, spent), "cap": _epsilon(locale, cap),
            "remaining": _epsilon(locale, line.remaining_epsilon_micro),
            "share": locale.percent(spent / cap) if cap else "—",
            "used": min(100, round(100 * spent / cap)) if cap else 0,
        })
    return render(page, "sharing.html", {"queriers": queriers, "budgets": budgets,
                                         "scopes": SCOPES,
                                         "catalogue": decisions.catalogue_version})


def _year(request: Request, page: Page, form: bool = False) -> str:
    text = (page.form if form else request.query_params).get("year", "")
    return text if re.fullmatch(r"\d{4}", text) else str(page.settings.today().year - 1)


async def forms_page(request: Request, page: Page) -> Response:
    from node.organisation.forms import build_forms

    settings = page.settings
    year = _year(request, page)
    try:
        forms = build_forms(settings.store, period=year,
                            organisation=settings.config.organisation,
                            node_id=settings.config.node_id, rules=settings.config.forms)
    except InvalidQueryError:
        return render(page, "error.html", {"status": 400, "message": "period"}, status=400)
    locale = page.locale
    quarters = [{"quarter": r.quarter, "fte": locale.fixed(r.fte),
                 "difference": ("+" if r.difference > 0 else "") + locale.fixed(r.difference),
                 "maintained": r.maintained} for r in forms.annex2]
    return render(page, "forms.html", {
        "year": year, "quarters": quarters, "reference": locale.fixed(forms.reference_fte),
        "rows": len(forms.annex1), "people": forms.people})


async def forms_download(request: Request, page: Page) -> Response:
    """The Walloon EI annexes of a year as one XLSX workbook (identity-level: pseudonyms),
    logged in the audit log like `koepel node forms`."""
    import hashlib

    from node.organisation.audit_log import record_export
    from node.organisation.forms import build_forms, forms_xlsx

    settings = page.settings
    year = _year(request, page, form=True)
    try:
        forms = build_forms(settings.store, period=year,
                            organisation=settings.config.organisation,
                            node_id=settings.config.node_id, rules=settings.config.forms)
    except InvalidQueryError:
        return render(page, "error.html", {"status": 400, "message": "period"}, status=400)
    data = forms_xlsx(forms)
    name = f"annexes-{forms.year}.xlsx"
    record_export(settings.store, actor=page.user, action="forms_export", subject="*", detail={
        "year": forms.year, "people": forms.people, "annex1_rows": len(forms.annex1),
        "reidentified": False, "files": {name: hashlib.sha256(data).hexdigest()},
        "via": "web"})
    return Response(data, headers={"Content-Disposition": f'attachment; filename="{name}"'},
                    media_type="application/vnd.openxmlformats-officedocument.spreadsheetml"
                               ".sheet")


ACTION_LABELS = {
    "person_view": N_("viewed a person's record"),
    "person_create": N_("added a person"),
    "contract_add": N_("added a contract"),
    "contract_edit": N_("changed a contract"),
    "support_action_add": N_("added a support action"),
    "assessment_add": N_("added an assessment"),
    "plan_add": N_("added a support plan"),
    "plan_review_add": N_("recorded a plan review"),
    "plan_close": N_("closed a support plan"),
    "goal_edit": N_("changed a goal"),
    "self_evaluation_add": N_("recorded a self-evaluation"),
    "support_action_edit": N_("changed a support action"),
    "support_action_delete": N_("deleted a support action"),
    "assessment_edit": N_("changed an assessment"),
    "assessment_delete": N_("deleted an assessment"),
    "self_evaluation_edit": N_("changed a self-evaluation answer"),
    "self_evaluation_delete": N_("deleted a self-evaluation answer"),
    "name_edit": N_("changed a person's name"),
    "people_list": N_("listed people"),
    "report_view": N_("viewed the report"),
    "transfer_export": N_("exported a person's record"),
    "forms_export": N_("exported the Walloon forms"),
    "account_add": N_("created a staff account"),
    "account_reset": N_("reset a staff account's password"),
    "account_disable": N_("disabled a staff account"),
    "vocabulary_edit": N_("changed the organisation's labels"),
}
AUDIT_PAGE = 100


async def audit_page(request: Request, page: Page) -> Response:
    """The node's audit log, newest first: who did what to whose record (never a value)."""
    store = page.settings.store
    text = request.query_params.get("page", "1")
    number = int(text) if text.isdigit() and len(text) < 6 else 1
    number = max(1, number)
    with store.reading() as conn:
        total = int(conn.execute("SELECT count(*) FROM audit_log").fetchone()[0])
        rows = conn.execute(
            "SELECT seq, created_at, actor, action, subject FROM audit_log "
            "ORDER BY seq DESC LIMIT ? OFFSET ?", (AUDIT_PAGE, (number - 1) * AUDIT_PAGE)
        ).fetchall()
    locale = page.locale
    entries = [{"seq": seq, "day": locale.date(created[:10]), "time": created[11:16],
                "actor": actor, "action": locale.gettext(ACTION_LABELS.get(action, action)),
                "subject": subject} for seq, created, actor, action, subject in rows]
    return render(page, "audit.html", {"entries": entries, "page": number,
                                       "pages": max(1, -(-total // AUDIT_PAGE)),
                                       "total": total})


_LABEL_FIELD = re.compile(r"(fr|nl|en):(support_action|competence):(.{1,40})")


def _vocabulary_page(page: Page, *, status: int = 200, error: str = "",
                     errors: dict[str, str] | None = None,
                     values: dict[str, str] | None = None) -> Response:
    from node.imports.vocabulary import FED_COMPETENCES, FED_SUPPORT_ACTIONS
    from node.organisation.web.vocabulary import federation_label, terms

    found = terms(page.settings.store, page.settings.config.vocabulary)
    rows = [{"kind": t.kind, "code": t.local_code, "federation": t.federation_code,
             "federation_label": federation_label(t.kind, t.federation_code),
             "labels": t.labels, "defined_in": t.defined_in} for t in found]
    return render(page, "vocabulary.html", {
        "terms": rows, "error": error, "errors": errors or {}, "values": values or {},
        "federation_actions": tuple(FED_SUPPORT_ACTIONS),
        "federation_competences": tuple(FED_COMPETENCES)}, status=status)


async def vocabulary_define(request: Request, page: Page) -> Response:
    """Define one of the organisation's codes in the app (or change the mapping of one defined
    here), with its words; a code node.toml maps is refused (it is changed there)."""
    from node.organisation.web.vocabulary import TermRefused, define_term, set_labels

    store, form = page.settings.store, page.form
    kind, code = form.get("kind", ""), form.get("code", "").strip()
    federation = form.get("federation_code", "") or None
    words = {lang: form.get(f"label_{lang}", "") for lang in ("fr", "nl", "en")}
    try:
        if any(len(" ".join(v.split())) > 80 for v in words.values()):
            raise TermRefused(N_("A label has at most 80 characters; nothing was saved."))
        define_term(store, page.settings.config.vocabulary, kind, code, federation)
    except TermRefused as exc:
        return _vocabulary_page(page, status=400, errors={"code": page.gettext(str(exc))},
                                values=dict(form))
    set_labels(store, kind, code, {k: v for k, v in words.items() if v.strip()})
    record_access(store, actor=page.user, action="vocabulary_edit", subject="*",
                  detail={"via": "web", "codes": 1, "defined": True})
    page.flash(page.gettext("Saved."))
    return redirect("/manage/vocabulary")


async def vocabulary_page(request: Request, page: Page) -> Response:
    return _vocabulary_page(page)


async def vocabulary_save(request: Request, page: Page) -> Response:
    from node.organisation.web.vocabulary import MAX_LABEL, set_labels, terms

    store = page.settings.store
    known = {(t.kind, t.local_code) for t in terms(store, page.settings.config.vocabulary)}
    changes: dict[tuple[str, str], dict[str, str]] = {}
    for name, value in page.form.items():
        found = _LABEL_FIELD.fullmatch(name)
        if found and (found.group(2), found.group(3)) in known:
            changes.setdefault((found.group(2), found.group(3)), {})[found.group(1)] = value
    if any(len(" ".join(v.split())) > MAX_LABEL for c in changes.values() for v in c.values()):
        return _vocabulary_page(page, status=400, error=page.gettext(
            "A label has at most 80 characters; nothing was saved."))
    for (kind, code), values in changes.items():
        set_labels(store, kind, code, values)
    record_access(store, actor=page.user, action="vocabulary_edit", subject="*",
                  detail={"via": "web", "codes": len(changes)})
    page.flash(page.gettext("Saved."))
    return redirect("/manage/vocabulary")


def routes(guarded: Callable[..., Any]) -> list[Route]:
    return [
        Route("/manage/reminders", guarded(reminders_page, role="manager"), methods=["GET"]),
        Route("/manage/sharing", guarded(sharing_page, role="manager"), methods=["GET"]),
        Route("/manage/forms", guarded(forms_page, role="manager"), methods=["GET"]),
        Route("/manage/audit", guarded(audit_page, role="manager"), methods=["GET"]),
        Route("/manage/vocabulary", guarded(vocabulary_page, role="manager"), methods=["GET"]),
        Route("/manage/vocabulary", guarded(vocabulary_save, role="manager"),
              methods=["POST"]),
        Route("/manage/vocabulary/define", guarded(vocabulary_define, role="manager"),
              methods=["POST"]),
        Route("/manage/forms", guarded(forms_download, role="manager"), methods=["POST"]),
    ]
