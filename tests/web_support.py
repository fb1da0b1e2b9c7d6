"""The web app for tests: a real uvicorn server on loopback over a real node store, and a small
HTTP client that keeps its session cookie (standard library only)."""

from __future__ import annotations

import http.client
import re
import socket
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import uvicorn

from node import NodeRuntime, import_files
from node.organisation.web import WebSettings, create_app
from node.synthetic import OrgProfile, generate_accompaniment, generate_organisation

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@contextmanager
def serving(settings: WebSettings) -> Iterator[str]:
    """The app served on 127.0.0.1 (a free port) in a thread; yields its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(settings), log_level="warning",
                                           access_log=False, lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the web app did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@dataclass
class Reply:
    status: int
    headers: http.client.HTTPMessage
    body: str
    data: bytes = b""

    @property
    def csrf(self) -> str:
        found = CSRF.search(self.body)
        assert found, "no CSRF token in the page"
        return found.group(1)


class Client:
    """One browser-like client: its own cookie, no redirects followed."""

    def __init__(self, base: str) -> None:
        self.host, self.port = urllib.parse.urlsplit(base).hostname, urllib.parse.urlsplit(
            base).port
        self.cookie = ""
        self.set_cookies: list[str] = []

    def request(self, method: str, path: str, form: dict[str, str] | None = None,
                headers: dict[str, str] | None = None) -> Reply:
        conn = http.client.HTTPConnection(str(self.host), self.port, timeout=30)
        body = urllib.parse.urlencode(form) if form is not None else None
        sent = {"Host": f"127.0.0.1:{self.port}", **(headers or {})}
        if body is not None:
            sent.setdefault("Content-Type", "application/x-www-form-urlencoded")
        if self.cookie:
            sent["Cookie"] = self.cookie
        conn.request(method, path, body=body, headers=sent)
        response = conn.getresponse()
        data = response.read()
        text = data.decode("utf-8", "replace")
        for value in response.headers.get_all("set-cookie") or []:
            self.set_cookies.append(value)
            pair = value.split(";")[0]
            self.cookie = "" if pair.endswith("=") or 'Max-Age=0' in value else pair
        conn.close()
        return Reply(response.status, response.headers, text, data)

    def get(self, path: str) -> Reply:
        return self.request("GET", path)

    def post(self, path: str, form: dict[str, str]) -> Reply:
        return self.request("POST", path, form)

    def login(self, username: str, password: str) -> Reply:
        page = self.get("/login")
        return self.post("/login", {"csrf_token": page.csrf, "username": username,
                                    "password": password})


def web_settings(runtime: NodeRuntime, **kwargs: object) -> WebSettings:
    return WebSettings(store=runtime.store, secret=runtime.secret, config=runtime.config,
                       engine=runtime.engine, **kwargs)  # type: ignore[arg-type]


def import_synthetic(runtime: NodeRuntime, people: int, *, seed: int = 7,
                     year: int = 2025) -> None:
    """A synthetic insertion enterprise of about ``people`` people, imported like a real one."""
    profile = OrgProfile("org-web", "Atelier test", "EI_WAL", "BE-WAL", people)
    with tempfile.TemporaryDirectory(prefix="koepel-web-") as tmp:
        org = generate_organisation(profile, seed, year)
        paths = org.write_csvs(Path(tmp))
        plans = generate_accompaniment(org, seed, year).write_csvs(Path(tmp))
        import_files(runtime.store, runtime.secret, [*paths.values(), *plans.values()])
