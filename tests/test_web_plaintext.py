"""Nothing in plaintext on disk from the web app: `koepel node web` runs as a real process with
its own temp dir; a job coach signs in with a password holding a marker and records a person
whose organisation id holds another. Neither marker is then found in any file the node touched
(database, journal, node folder, temp dir, the server's output) — not even after the person's
transfer file and the Walloon forms were downloaded — nor in the decrypted records:
the id is stored only as its HMAC, the password only as its Argon2 hash. The person's name,
entered and searched for, is on the staff's pages, in the encrypted store's ``person_names``
table and nowhere else: not in a file in plaintext, not in the transfer file, not in any
other table."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path

from node import load_node_config
from node.organisation.web import add_account
from node.store.maintenance import open_store
from tests.conftest import create_node
from tests.test_plaintext_scan import containing, files_under
from tests.web_support import Client

ID_MARKER = f"KOEPEL-WEB-ID-{secrets.token_hex(6)}"
NAME_MARKER = f"Koepelname {secrets.token_hex(6)}"
PASSWORD_MARKER = f"KOEPEL-WEB-PW-{secrets.token_hex(6)}"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_no_marker_in_any_file_the_web_app_touched(tmp_path: Path) -> None:
    config_path = create_node(tmp_path / "node")
    config = load_node_config(config_path)
    store = open_store(config)
    try:
        add_account(store, "anna", PASSWORD_MARKER, role="manager", language="fr")
    finally:
        store.close()
    temp, log = tmp_path / "tmp", tmp_path / "web.log"
    temp.mkdir()
    port = _free_port()
    env = {**os.environ, "TMPDIR": str(temp), "SQLITE_TMPDIR": str(temp)}
    with log.open("w") as handle:
        server = subprocess.Popen(
            [sys.executable, "-m", "cli", "node", "web", "--config", str(config_path),
             "--listen", f"127.0.0.1:{port}"], stdout=handle, stderr=subprocess.STDOUT,
            env=env)
    try:
        client = Client(f"http://127.0.0.1:{port}")
        deadline = time.monotonic() + 60
        while True:
            try:
                client.get("/login")
                break
            except OSError:
                assert server.poll() is None, log.read_text()
                assert time.monotonic() < deadline, "the web app did not start"
                time.sleep(0.1)
        assert client.login("anna", PASSWORD_MARKER + "-wrong").status == 401
        assert client.login("anna", PASSWORD_MARKER).status == 303
        form = client.get("/people/new")
        created = client.post("/people/new", {
            "csrf_token": form.csrf, "person_id": ID_MARKER, "display_name": NAME_MARKER,
            "birth_year": "1975",
            "gender": "F", "education_level": "NONE_OR_PRIMARY", "target_group": "TG_DISADV",
            "region": "BE-BRU"})
        assert created.status == 303
        person = created.headers["location"]
        page = client.get(person)
        assert ID_MARKER not in page.body and NAME_MARKER in page.body  # shown to staff
        assert client.post(f"{person}/support-actions", {
            "csrf_token": page.csrf, "action_date": "2025-04-02", "duration_min": "45",
            "action_code": "SA01"}).status == 303
        assert client.get(f"/people?q={ID_MARKER}").headers["location"] == person
        found = client.get(f"/people?q={NAME_MARKER.split()[1]}")  # search by name
        assert person in found.body and NAME_MARKER in found.body
        assert client.get("/manage/report?period=2025").status == 200
        forms = client.get("/manage/forms?year=2025")
        assert client.post("/manage/forms", {"csrf_token": forms.csrf,
                                             "year": "2025"}).status == 200
        transfer = client.post(f"{person}/transfer", {
            "csrf_token": page.csrf, "person_id": ID_MARKER, "recipient": "FOREM"})
        assert transfer.status == 200 and ID_MARKER in transfer.body  # sent, never kept
        assert NAME_MARKER not in transfer.body  # koepel-transfer/1 has no name
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert files_under(temp) == []  # nothing spilled to the temp dir
    paths = [*files_under(tmp_path / "node", temp), log]
    assert len(paths) >= 4
    assert containing(ID_MARKER, paths, {}) == []
    assert containing(PASSWORD_MARKER, paths, {}) == []
    assert containing(NAME_MARKER, paths, {}) == []
    assert containing(NAME_MARKER.split()[1], paths, {}) == []
    store = open_store(config)
    try:
        with store.reading() as conn:
            tables = [r[0] for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")]
            for table in tables:
                for row in conn.execute(f'SELECT * FROM "{table}"'):
                    text = " ".join(str(v) for v in row)
                    assert ID_MARKER not in text and PASSWORD_MARKER not in text, table
                    assert (NAME_MARKER in text) == (table == "person_names"), table
            assert conn.execute("SELECT count(*) FROM workers").fetchone()[0] == 1
    finally:
        store.close()
