"""The admin's page: staff accounts (the same operations as `koepel node user …`).

Reachable by admins only. An account is created with a role, a language and a password typed
twice; disabled (kept, so the audit log's "who" keeps naming someone; its sessions end at
their next request); or given a new password (which enables it again and ends its sessions).
Each change is written to the audit log under the subject ``account:<name>``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from node.organisation.audit_log import record_access
from node.organisation.web.accounts import (
    LANGUAGES,
    ROLES,
    AccountError,
    add_account,
    list_accounts,
    reset_password,
    set_disabled,
)
from node.organisation.web.app import Page, redirect, render
from node.organisation.web.i18n import N_

__all__ = ["routes"]

ROLE_LABELS = {"job_coach": N_("job coach"), "manager": N_("manager"), "admin": N_("admin")}
# AccountError messages, in the words shown to an admin (English msgids, translated).
_ERRORS = (
    ("at least 12 characters", N_("a password has at least 12 characters")),
    ("at most 1024", N_("a password has at most 1024 characters")),
    ("different characters", N_("a password needs more than four different characters")),
    ("user name is", N_("a user name is 2 to 40 lower-case letters, digits, '.', '_' or '-'")),
    ("already exists", N_("an account with this name already exists")),
    ("no account named", N_("no account with this name")),
)


def _message(page: Page, error: AccountError) -> str:
    text = str(error)
    for needle, message in _ERRORS:
        if needle in text:
            return page.gettext(message)
    return page.gettext(N_("the account cannot be changed"))


def _page(page: Page, *, status: int = 200, error: str = "", values: dict[str, str] | None = None
          ) -> Response:
    return render(page, "accounts.html", {
        "accounts": list_accounts(page.settings.store), "roles": ROLES,
        "role_labels": ROLE_LABELS, "account_languages": LANGUAGES, "error": error,
        "values": values or {}}, status=status)


async def accounts_page(request: Request, page: Page) -> Response:
    return _page(page)


async def account_change(request: Request, page: Page) -> Response:
    form = page.form
    store = page.settings.store
    what = request.path_params["what"]
    name = form.get("username", "").strip().lower()
    try:
        if what in ("add", "reset") and form.get("password", "") != form.get("password2", ""):
            raise AccountError("the two passwords differ")
        if what == "add":
            add_account(store, name, form.get("password", ""), role=form.get("role", ""),
                        language=form.get("language", ""))
            action = "account_add"
        elif what == "reset":
            reset_password(store, name, form.get("password", ""))
            action = "account_reset"
        elif what == "disable":
            if name == page.user:
                raise AccountError("an admin cannot disable their own account here")
            set_disabled(store, name)
            action = "account_disable"
        else:
            return render(page, "error.html", {"status": 404, "message": ""}, status=404)
    except AccountError as exc:
        text = str(exc)
        if "passwords differ" in text:
            message = page.gettext("the two passwords differ")
        elif "own account" in text:
            message = page.gettext("you cannot disable your own account")
        else:
            message = _message(page, exc)
        return _page(page, status=400, error=message,
                     values={"username": name, "role": form.get("role", ""),
                             "language": form.get("language", "")})
    if what != "add":
        page.settings.sessions.end_user(name)
    record_access(store, actor=page.user, action=action, subject=f"account:{name}",
                  detail={"via": "web"})
    page.flash(page.gettext("Saved."))
    return redirect("/admin/accounts")


def routes(guarded: Callable[..., Any]) -> list[Route]:
    return [
        Route("/admin/accounts", guarded(accounts_page, role="admin"), methods=["GET"]),
        Route("/admin/accounts/{what}", guarded(account_change, role="admin"),
              methods=["POST"]),
    ]
