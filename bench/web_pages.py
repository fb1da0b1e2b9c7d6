"""Server time of the web app's people list and person page on a synthetic organisation.

Run from the repository root:
    PYTHONPATH=$PWD python bench/web_pages.py [--people 3000] [--rounds 30]

One node (a real SQLCipher store) holds a synthetic insertion enterprise of ``--people``
people with its accompaniment records, imported like a real one. A signed-in job coach's
requests go straight to the ASGI app (no network, no browser): the time from the request to the
last byte of the page, which includes the guard (session, account lookup), the SQL, the
audit-log line written in its own transaction, and the template. Median of ``--rounds`` runs
per page; target ≤ 100 ms at 3,000 people (issue 13).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from conftest import create_node

from node import import_files, load_node_config, open_node
from node.organisation.web import COOKIE, WebSettings, add_account, create_app
from node.synthetic.generator import OrgProfile, generate_organisation
from node.synthetic.plans import generate_accompaniment


async def _get(app: Any, path: str, cookie: str) -> tuple[int, int]:
    """One GET through the ASGI app; returns (status, body bytes)."""
    route, _, query = path.partition("?")
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": "GET", "scheme": "http", "path": route, "raw_path": route.encode(),
             "query_string": query.encode(), "root_path": "",
             "headers": [(b"host", b"127.0.0.1"), (b"cookie", f"{COOKIE}={cookie}".encode())],
             "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 7780)}
    status, size = 0, 0

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status, size
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            size += len(message.get("body", b""))

    await app(scope, receive, send)
    return status, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="koepel-bench-web-") as tmp:
        root = Path(tmp)
        runtime = open_node(load_node_config(create_node(root / "node")))
        profile = OrgProfile("bench", "Bench", "EI_WAL", "BE-WAL", args.people)
        org = generate_organisation(profile, 1, 2025)
        paths = [*org.write_csvs(root / "csv").values(),
                 *generate_accompaniment(org, 1, 2025).write_csvs(root / "csv").values()]
        summary = import_files(runtime.store, runtime.secret, paths)
        with runtime.store.reading() as conn:
            people = conn.execute("SELECT count(*) FROM workers").fetchone()[0]
            busiest = conn.execute("SELECT pid FROM support_actions GROUP BY pid "
                                   "ORDER BY count(*) DESC LIMIT 1").fetchone()[0]
            typical = conn.execute("SELECT pid FROM support_plans LIMIT 1").fetchone()[0]
        print(f"{people:,} people, {sum(summary.rows.values()):,} rows imported")
        add_account(runtime.store, "bench", "a long bench password", role="manager")
        settings = WebSettings(store=runtime.store, secret=runtime.secret,
                               config=runtime.config, engine=runtime.engine,
                               today=lambda: date(2025, 11, 15))
        app = create_app(settings)
        account = settings.sessions.sign_in(None, username="bench", role="manager",
                                            language="fr", password_changed_at="")
        with runtime.store.reading() as conn:
            changed = conn.execute("SELECT password_changed_at FROM web_users").fetchone()[0]
        account.password_changed_at = changed
        pages = {
            "people list, first page": "/people",
            "people list, contracts ending in 60 days": "/people?ending=60",
            "people list, plan review overdue": "/people?review=0",
            "people list, page 30": "/people?page=30",
            "person page (typical)": f"/people/{typical}",
            "person page (most support actions)": f"/people/{busiest}",
            "reminders (manager)": "/manage/reminders",
        }
        loop = asyncio.new_event_loop()
        for name, path in pages.items():
            times = []
            for _ in range(args.rounds):
                start = time.perf_counter()
                status, size = loop.run_until_complete(_get(app, path, account.token))
                times.append((time.perf_counter() - start) * 1000)
                assert status == 200, (path, status)
            print(f"  {name:42s} {statistics.median(times):7.1f} ms  "
                  f"(p90 {sorted(times)[int(0.9 * len(times))]:.1f} ms, {size:,} bytes)")
        loop.close()
        runtime.close()


if __name__ == "__main__":
    main()
