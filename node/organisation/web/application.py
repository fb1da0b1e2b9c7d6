"""The web app put together: sign-in, the job coach's, the manager's and the admin's routes,
and the static files."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from node.organisation.web import (
    routes_admin,
    routes_manage,
    routes_people,
    routes_records,
    routes_report,
)
from node.organisation.web.app import HERE, WebSettings, guarded, home, login, login_form, logout

__all__ = ["create_app"]


def create_app(settings: WebSettings) -> Starlette:
    """The ASGI app over an opened node (the caller keeps the store open while it runs)."""
    routes = [
        Route("/", guarded(home), methods=["GET"]),
        Route("/login", guarded(login_form, role=None), methods=["GET"]),
        Route("/login", guarded(login, role=None), methods=["POST"]),
        Route("/logout", guarded(logout), methods=["POST"]),
        *routes_records.routes(guarded),
        *routes_people.routes(guarded),
        *routes_manage.routes(guarded),
        *routes_report.routes(guarded),
        *routes_admin.routes(guarded),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    app = Starlette(routes=routes, middleware=[
        Middleware(TrustedHostMiddleware, allowed_hosts=list(settings.allowed_hosts))])
    app.state.settings = settings
    return app
