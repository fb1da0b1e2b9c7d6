"""The organisation's own web app: sign-in, guards and page rendering (Starlette + Jinja2).

Server-rendered pages, no JavaScript at all. Every request passes the same guard: the session
from its cookie (or none), the account still enabled and its password unchanged, the role the
page needs, and for every POST the form's CSRF token, a same-origin check and a small size
limit (only URL-encoded forms: no file is ever uploaded or kept). Every response says
``Cache-Control: no-store`` (no page with a record in it lands in the browser's disk cache),
carries a strict Content-Security-Policy, and no page is cached on the server either.

The routes themselves are in ``routes_people`` (record and follow) and ``routes_manage``
(the manager's pages), put together by ``application``; this module holds what they share.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from node.config import NodeConfig
from node.engine.queries import QueryEngine
from node.imports.vocabulary import Vocabulary
from node.organisation.web.accounts import authenticate, get_account
from node.organisation.web.i18n import LANGUAGES, Locale, locale_for
from node.organisation.web.labels import label
from node.organisation.web.sessions import LoginThrottle, Session, SessionStore
from node.organisation.web.vocabulary import effective_vocabulary
from node.store.database import Store

__all__ = ["COOKIE", "Page", "WebSettings", "guarded", "redirect", "render"]

HERE = Path(__file__).parent
COOKIE = "koepel_session"
MAX_FORM_BYTES = 16 * 1024
_CSP = ("default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'")
Handler = Callable[[Request, "Page"], Awaitable[Response]]


@dataclass
class WebSettings:
    """What the app serves from: the opened node's parts, and how it is reached."""

    store: Store
    secret: bytes
    config: NodeConfig
    engine: QueryEngine
    secure: bool = False  # served over TLS: cookies are Secure
    allowed_hosts: tuple[str, ...] = ("127.0.0.1", "localhost")
    idle_timeout: float = 15 * 60
    today: Callable[[], date] = date.today
    sessions: SessionStore = field(init=False)
    throttle: LoginThrottle = field(default_factory=LoginThrottle)

    def __post_init__(self) -> None:
        self.sessions = SessionStore(idle_timeout=self.idle_timeout)


@dataclass
class Page:
    """What a handler gets: the settings, the session and the user's language."""

    settings: WebSettings
    session: Session
    locale: Locale
    form: Mapping[str, str]

    @property
    def user(self) -> str:
        return self.session.username or ""

    def gettext(self, message: str) -> str:
        return self.locale.gettext(message)

    @property
    def vocabulary(self) -> Vocabulary:
        """What a form records with: node.toml's mapping and the codes defined in the app."""
        return effective_vocabulary(self.settings.store, self.settings.config.vocabulary)

    def flash(self, message: str, kind: str = "ok") -> None:
        self.session.flashes.append((kind, message))


@pass_context
def _gettext(context: Any, message: str, **variables: Any) -> str:
    text = str(context["locale"].gettext(message))
    return text % variables if variables else text


@pass_context
def _ngettext(context: Any, singular: str, plural: str, n: int, **variables: Any) -> str:
    text = str(context["locale"].ngettext(singular, plural, n))
    return text % {"num": n, **variables}


def _environment() -> Environment:
    env = Environment(loader=FileSystemLoader(HERE / "templates"),
                      autoescape=select_autoescape(default=True, default_for_string=True),
                      extensions=["jinja2.ext.i18n"], auto_reload=False)
    env.globals.update(gettext=_gettext, _=_gettext, ngettext=_ngettext)
    env.policies["ext.i18n.trimmed"] = True
    env.globals["label"] = label
    return env


TEMPLATES = _environment()


def render(page: Page, template: str, context: Mapping[str, Any] | None = None, *,
           status: int = 200) -> HTMLResponse:
    flashes, page.session.flashes = page.session.flashes, []
    html = TEMPLATES.get_template(template).render(
        locale=page.locale, user=page.session.username, role=page.session.role,
        csrf_token=page.session.csrf, flashes=flashes,
        organisation=page.settings.config.organisation, languages=LANGUAGES,
        **(context or {}))
    return HTMLResponse(html, status_code=status)


def _headers(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    response.headers.setdefault("Content-Security-Policy", _CSP)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"  # no-referrer would make Origin "null"
    response.headers["X-Frame-Options"] = "DENY"
    return response


def _set_cookie(response: Response, settings: WebSettings, session: Session) -> None:
    response.set_cookie(COOKIE, session.token, httponly=True, samesite="strict",
                        secure=settings.secure, path="/")


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return origin is None
    host = urllib.parse.urlsplit(origin).netloc
    return host == request.headers.get("host")


async def _read_form(request: Request) -> dict[str, str] | None:
    """The URL-encoded form of a POST, or None if it is not one (or too large)."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        return None
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            return None
    pairs = urllib.parse.parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True,
                                   max_num_fields=64)
    return dict(pairs)


def _refused(settings: WebSettings, session: Session | None, status: int, message: str
             ) -> Response:
    page = Page(settings, session or settings.sessions.throwaway(),
                locale_for(session.language if session and session.language else "fr"), {})
    return render(page, "error.html", {"status": status, "message": message}, status=status)


def guarded(handler: Handler, *, role: str | None = "any", login: bool = False
            ) -> Callable[[Request], Awaitable[Response]]:
    """Wrap ``handler`` in the guard: session, account, role, CSRF on POST, headers.

    ``role``: None for pages open without an account (sign-in), "any" for any signed-in
    account, "manager" for managers and admins, "admin" for admins only.
    """

    async def endpoint(request: Request) -> Response:
        settings: WebSettings = request.app.state.settings
        session = settings.sessions.get(request.cookies.get(COOKIE))
        if session is not None and session.username is not None:
            account = get_account(settings.store, session.username)
            if (account is None or account.disabled
                    or account.password_changed_at != session.password_changed_at):
                settings.sessions.end(session.token)
                session = None
            else:
                session.role, session.language = account.role, account.language
        form: dict[str, str] = {}
        if request.method == "POST":
            parsed = await _read_form(request)
            if parsed is None or not _same_origin(request):
                return _headers(_refused(settings, session, 400, "bad form"))
            if session is None or not session.check_csrf(parsed.get("csrf_token")):
                return _headers(_refused(settings, session, 403, "csrf"))
            form = parsed
        if role is not None and (session is None or session.username is None):
            # a cookie that names no live session: it ended (idle, disabled, new password)
            ended = session is None and bool(request.cookies.get(COOKIE))
            response: Response = redirect("/login?expired=1" if ended else "/login")
            return _headers(response)
        if session is None:
            session = settings.sessions.new()
        if role == "manager" and session.role not in ("manager", "admin"):
            return _headers(_refused(settings, session, 403, "manager"))
        if role == "admin" and session.role != "admin":
            return _headers(_refused(settings, session, 403, "admin"))
        page = Page(settings, session, locale_for(session.language or _browser_language(
            request)), form)
        response = await handler(request, page)
        if request.cookies.get(COOKIE) != page.session.token:
            _set_cookie(response, settings, page.session)
        return _headers(response)

    return endpoint


def _browser_language(request: Request) -> str:
    accepted = request.headers.get("accept-language", "")
    for part in accepted.split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in LANGUAGES:
            return code
    return "fr"


# ------------------------------------------------------------------------------ sign-in


async def login_form(request: Request, page: Page) -> Response:
    if page.session.username:
        return redirect("/people")
    return render(page, "login.html", {"expired": request.query_params.get("expired")})


async def login(request: Request, page: Page) -> Response:
    settings = page.settings
    username = page.form.get("username", "").strip().lower()[:64]
    password = page.form.get("password", "")
    client = request.client.host if request.client else "?"
    keys = (f"user:{username}", f"addr:{client}")
    wait = settings.throttle.wait(*keys)
    if wait > 0:
        minutes = max(1, round(wait / 60))
        message = page.locale.ngettext(
            "Too many failed attempts. Try again in %(num)d minute.",
            "Too many failed attempts. Try again in %(num)d minutes.", minutes) % {
            "num": minutes}
        return render(page, "login.html", {"error": message, "username": username},
                      status=429)
    account = await run_in_threadpool(authenticate, settings.store, username, password)
    if account is None:
        settings.throttle.failed(*keys)
        return render(page, "login.html", {
            "error": page.gettext("Wrong user name or password, or the account is disabled."),
            "username": username}, status=401)
    settings.throttle.succeeded(keys[0])
    page.session = settings.sessions.sign_in(
        page.session, username=account.username, role=account.role,
        language=account.language, password_changed_at=account.password_changed_at)
    page.locale = locale_for(account.language)
    return redirect("/people")


async def logout(request: Request, page: Page) -> Response:
    page.settings.sessions.end(page.session.token)
    response = redirect("/login")
    response.delete_cookie(COOKIE, path="/")
    return response


async def home(request: Request, page: Page) -> Response:
    return redirect("/people")
