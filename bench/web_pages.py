"""Server time of the web app's people list and person page on a synthetic organisation.

Part ``web`` of `python -m bench` (issue 13's target: ≤ 100 ms at 3,000 people), and a script
of its own: ``PYTHONPATH=$PWD python -m bench.web_pages [--people 3000] [--runs 30]``.

One node (a real SQLCipher store, node.toml and keys as `koepel node init` makes them) holds a
synthetic insertion enterprise of about ``people`` people with its accompaniment records,
imported like a real one, every person with a name (the list is sorted and searched by it).
A signed-in manager's requests go straight to the ASGI app (no network, no browser): the time
from the request to the last byte of the page, which includes the guard (session, account
lookup), the SQL, the audit-log line written and committed in its own transaction, and the
template. The floor, measured in turn with it, is the page's data alone: ``people_page`` for a
list, ``person_record`` for a person's page.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from bench.measure import Row, interleaved, median
from node import (
    Store,
    create_key_file,
    create_signing_key,
    import_files,
    load_node_config,
    open_node,
    render_node_config,
)
from node.organisation.person import person_record
from node.organisation.web import COOKIE, WebSettings, add_account, create_app
from node.organisation.web.names import search_key
from node.organisation.web.people import people_page, reminders
from node.synthetic.generator import OrgProfile, generate_organisation
from node.synthetic.plans import generate_accompaniment
from privacy import Accounting, shipped_versions

__all__ = ["TARGET_MS", "run_web"]

TARGET_MS = 100.0
TODAY = date(2025, 11, 15)


async def _get(app: Any, path: str, cookie: str) -> int:
    """One GET through the ASGI app; returns the status."""
    route, _, query = path.partition("?")
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": "GET", "scheme": "http", "path": route, "raw_path": route.encode(),
             "query_string": query.encode(), "root_path": "",
             "headers": [(b"host", b"127.0.0.1"), (b"cookie", f"{COOKIE}={cookie}".encode())],
             "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 7780)}
    status = 0

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


def _node(directory: Path, people: int) -> tuple[Any, int]:
    directory.mkdir(parents=True)
    (directory / "node.toml").write_text(render_node_config(
        node_id="bench-web", organisation="Bench", listen="127.0.0.1:0",
        queriers={"federation": "10"}, approved=shipped_versions(Accounting.PURE)))
    key = create_key_file(directory / "keys" / "db.key")
    create_key_file(directory / "keys" / "pseudonym.key")
    create_signing_key(directory / "keys" / "signing.key")
    config = load_node_config(directory / "node.toml")
    Store.open(config.database, key, create=True).close()
    runtime = open_node(config)
    org = generate_organisation(OrgProfile("bench-web", "Bench", "EI_WAL", "BE-WAL", people),
                                1, 2025)
    csv = directory / "csv"
    paths = [*org.write_csvs(csv).values(),
             *generate_accompaniment(org, 1, 2025).write_csvs(csv).values()]
    import_files(runtime.store, runtime.secret, paths)
    for path in paths:
        path.unlink()
    with runtime.store.reading() as conn:
        pids = [str(r[0]) for r in conn.execute("SELECT pid FROM workers ORDER BY pid")]
    with runtime.store.transaction() as conn:  # every person named, as job coaches would
        conn.executemany(
            "INSERT INTO person_names (pid, display_name, search_key) VALUES (?, ?, ?)",
            [(pid, name, search_key(name)) for pid, name in zip(pids, _names(len(pids)),
                                                                   strict=True)])
    return runtime, len(pids)


def _names(count: int) -> list[str]:
    """``count`` made-up Belgian names (first × last, cycled)."""
    first = ("Fatima", "Jan", "Marie", "Mohamed", "Els", "Kevin", "Sofie", "Youssef", "Ana",
             "Luc", "Aïcha", "Bram", "Nathalie", "Dries", "Inès", "Tom", "Zeynep", "Pieter")
    last = ("Janssens", "Peeters", "Maes", "Dubois", "Lambert", "El Amrani", "Claes", "Dupont",
            "Wouters", "Mertens", "Yilmaz", "Goossens", "Renard", "De Smet", "Leroy", "Bah",
            "Vermeulen", "Martin", "Jacobs", "Hermans")
    return [f"{first[i % len(first)]} {last[(i // len(first)) % len(last)]}"
            for i in range(count)]


def run_web(scratch: Path, people: int, runs: int, log: Callable[[str], None]) -> list[Row]:
    """The people list (three filters), a person's page and the reminders, with floors."""
    scratch.mkdir(parents=True, exist_ok=True)
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="koepel-bench-web-", dir=scratch) as tmp:
        runtime, count = _node(Path(tmp) / "node", people)
        try:
            store = runtime.store
            with store.reading() as conn:
                busiest = conn.execute("SELECT pid FROM support_actions GROUP BY pid "
                                       "ORDER BY count(*) DESC, pid LIMIT 1").fetchone()[0]
            add_account(store, "bench", "a long bench password", role="manager")
            settings = WebSettings(store=store, secret=runtime.secret, config=runtime.config,
                                   engine=runtime.engine, today=lambda: TODAY)
            app = create_app(settings)
            with store.reading() as conn:
                changed = conn.execute("SELECT password_changed_at FROM web_users").fetchone()[0]
            session = settings.sessions.sign_in(None, username="bench", role="manager",
                                                language="fr", password_changed_at=changed)
            loop = asyncio.new_event_loop()

            def page(path: str) -> Callable[[], object]:
                def call() -> object:
                    status = loop.run_until_complete(_get(app, path, session.token))
                    assert status == 200, (path, status)
                    return status
                return call

            label = f"{count / 1000:.1f}k people"
            pages: list[tuple[str, str, Callable[[], object], str]] = [
                ("people list, first page", "/people",
                 lambda: people_page(store, today=TODAY), "people_page() alone"),
                ("people list, contracts ending in 60 days", "/people?ending=60",
                 lambda: people_page(store, today=TODAY, ending_within=60),
                 "people_page() alone"),
                ("people list, plan review overdue", "/people?review=0",
                 lambda: people_page(store, today=TODAY, review_due_within=0),
                 "people_page() alone"),
                ("people list, search by name", "/people?q=janssens",
                 lambda: people_page(store, today=TODAY, name="janssens"),
                 "people_page() alone"),
                ("person page (most support actions)", f"/people/{busiest}",
                 lambda: person_record(store, busiest), "person_record() alone"),
                ("reminders (manager)", "/manage/reminders",
                 lambda: reminders(store, today=TODAY), "reminders() alone"),
            ]
            for name, path, floor, floor_name in pages:
                samples = interleaved({"page": page(path), "floor": floor}, runs)
                value = median(samples["page"]) * 1000
                floor_ms = median(samples["floor"]) * 1000
                checks: dict[str, bool | None] = {}
                if not name.startswith("reminders"):
                    checks[f"≤ {TARGET_MS:.0f} ms"] = value <= TARGET_MS
                rows.append(Row("web app", name, label, value, "ms", floor=floor_ms,
                                floor_name=floor_name, target="; ".join(checks),
                                meets=all(checks.values()) if checks else None, checks=checks,
                                samples=[s * 1000 for s in samples["page"]],
                                extra={"path": path.split("/")[1]}))
                log(f"  web {name}: {value:.1f} ms (data alone {floor_ms:.1f} ms)")
            loop.close()
        finally:
            runtime.close()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=3000)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="koepel-bench-web-") as tmp:
        for row in run_web(Path(tmp), args.people, args.runs, print):
            print(f"{row.name:42s} {row.case:12s} {row.value:7.1f} ms  "
                  f"(floor {row.floor or 0:.1f} ms, {row.floor_name})")


if __name__ == "__main__":
    main()
