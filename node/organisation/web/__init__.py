"""The organisation's own web app (`koepel node web`): accounts, record and follow, manage.

A local, server-rendered app over the node's encrypted store, in French, Dutch and English:
staff accounts with roles (``accounts``), in-memory sessions, CSRF tokens and login throttling
(``sessions``), the guard and page rendering (``app``), the people list and reminders
(``people``), the names staff know people by, kept for the screen only (``names``), recording,
changing and deleting through the importer's own validation (``recording``), the
organisation's own codes and words (``vocabulary``), the job coach's routes (``routes_people``,
``routes_records``), the manager's (``routes_manage``, ``routes_report``) and the admin's
(``routes_admin``), the gettext catalogues and locale formats (``i18n``, ``labels``,
``catalogues``, ``translations/``), put together by ``application``.
"""

from node.organisation.web.accounts import (
    ROLES,
    Account,
    AccountError,
    add_account,
    list_accounts,
    reset_password,
    set_disabled,
)
from node.organisation.web.app import COOKIE, WebSettings
from node.organisation.web.application import create_app

__all__ = [
    "COOKIE",
    "ROLES",
    "Account",
    "AccountError",
    "WebSettings",
    "add_account",
    "create_app",
    "list_accounts",
    "reset_password",
    "set_disabled",
]
