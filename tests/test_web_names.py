"""Names on screen: a job coach enters the name a person is known by, finds them by it in the
people list (case and accents aside), changes or removes it; the name is on the staff's pages
and nowhere else — not in the audit log, the transfer file, the regional forms, the report or a
federated query's answer (a real uvicorn server over a real SQLCipher store)."""

from __future__ import annotations

import io
import json
import urllib.parse
import zipfile
from collections.abc import Callable, Iterator
from datetime import date

import pytest

from node import NodeRuntime, audit_entries
from node.organisation.web import add_account
from node.organisation.web.names import search_key
from node.organisation.web.people import people_page
from tests.web_support import Client, serving, web_settings

PASSWORD = "correct horse battery staple"
PERSON = {"birth_year": "1982", "gender": "F", "education_level": "UPPER_SEC",
          "target_group": "TG_DISADV", "region": "BE-WAL"}
NAME = "Fatima El Amrani-Désiré"


@pytest.fixture
def app(node_factory: Callable[..., NodeRuntime]) -> Iterator[tuple[NodeRuntime, str]]:
    runtime = node_factory()
    add_account(runtime.store, "anna", PASSWORD, role="job_coach", language="fr")
    add_account(runtime.store, "marc", PASSWORD, role="manager", language="nl")
    with serving(web_settings(runtime, today=lambda: date(2025, 11, 15))) as base:
        yield runtime, base


def _signed_in(base: str, user: str = "anna") -> Client:
    client = Client(base)
    assert client.login(user, PASSWORD).status == 303
    return client


def _create(client: Client, raw_id: str, name: str) -> str:
    page = client.get("/people/new")
    reply = client.post("/people/new", {"csrf_token": page.csrf, "person_id": raw_id,
                                        "display_name": name, **PERSON})
    assert reply.status == 303, reply.body
    return reply.headers["location"].rsplit("/", 1)[1]


def test_search_folds_case_accents_and_spacing() -> None:
    assert search_key("  Élise   VAN  den Bosch ") == "elise van den bosch"
    assert search_key("Désiré") == search_key("desire")


def test_find_a_person_by_name_change_it_and_remove_it(app: tuple[NodeRuntime, str]) -> None:
    runtime, base = app
    client = _signed_in(base)
    pid = _create(client, "HR-000145", NAME)
    other = _create(client, "HR-000146", "Bart Peeters")
    nameless = _create(client, "HR-000147", "")
    page = client.get(f"/people/{pid}")
    assert NAME in page.body and "HR-000145" not in page.body
    listing = client.get("/people").body
    assert listing.index("Bart Peeters") < listing.index("Fatima")  # by name
    assert listing.index("Fatima") < listing.index(nameless[:10])  # named people first
    for search in ("amrani", "EL AMR", "desire", "Désiré", "fatima  el"):
        found = client.get(f"/people?q={urllib.parse.quote_plus(search)}")
        assert found.status == 200 and pid in found.body and other not in found.body, search
    assert "Aucune personne avec ce nom" in client.get("/people?q=Nobody").body
    assert client.get("/people?q=100%25").status == 200  # LIKE's wildcards are escaped
    assert pid[:10] in client.get(f"/people?q={pid[:6]}").body  # still by pseudonym

    too_long = client.post(f"/people/{pid}/name", {"csrf_token": page.csrf,
                                                   "display_name": "x" * 101})
    assert too_long.status == 400 and "au plus 100 caractères" in too_long.body
    assert client.post(f"/people/{pid}/name", {"display_name": "Fatima"}).status == 403
    assert client.post(f"/people/{pid}/name", {"csrf_token": page.csrf,
                                               "display_name": " Fatima  Amrani "}
                       ).status == 303
    with runtime.store.reading() as conn:
        assert conn.execute("SELECT display_name, search_key FROM person_names WHERE pid = ?",
                            (pid,)).fetchone() == ("Fatima Amrani", "fatima amrani")
    assert client.post(f"/people/{pid}/name", {"csrf_token": page.csrf,
                                               "display_name": ""}).status == 303
    assert "Fatima" not in client.get(f"/people/{pid}").body
    with runtime.store.reading() as conn:
        assert conn.execute("SELECT count(*) FROM person_names").fetchone()[0] == 1
    actions = [(e.action, e.subject) for e in audit_entries(runtime.store)]
    assert actions.count(("name_edit", pid)) == 2
    today = date(2025, 11, 15)
    first = people_page(runtime.store, today=today)
    assert first.total == 3 and [r.name for r in first.rows] == ["Bart Peeters", "", ""]
    past = people_page(runtime.store, today=today, page=2)  # a page past the end
    assert past.total == 3 and past.rows == ()
    assert people_page(runtime.store, today=today, name="PEETERS").total == 1


def test_the_name_goes_nowhere_but_the_staffs_pages(app: tuple[NodeRuntime, str]) -> None:
    from openpyxl import load_workbook

    from privacy import QuerySpec, Statistic, default_catalogue

    runtime, base = app
    coach = _signed_in(base)
    pid = _create(coach, "HR-000145", NAME)
    token = coach.get(f"/people/{pid}").csrf
    assert coach.post(f"/people/{pid}/contracts", {
        "csrf_token": token, "role": "TARGET_WORKER", "contract_type": "OPEN_ENDED",
        "weekly_hours": "19", "start_date": "2025-01-06", "end_date": "2025-12-20",
        "subsidy_scheme": "WAL_EI_TD"}).status == 303
    assert coach.post(f"/people/{pid}/support-actions", {
        "csrf_token": token, "action_date": "2025-03-04", "duration_min": "90",
        "action_code": "SA02"}).status == 303
    transfer = coach.post(f"/people/{pid}/transfer", {"csrf_token": token,
                                                      "person_id": "HR-000145",
                                                      "recipient": "FOREM"})
    assert transfer.status == 200 and "HR-000145" in transfer.body
    manager = _signed_in(base, "marc")
    reminders = manager.get("/manage/reminders").body
    assert NAME in reminders  # her contract ends within 60 days: the manager knows her name
    forms = manager.get("/manage/forms?year=2025")
    workbook = manager.post("/manage/forms", {"csrf_token": forms.csrf, "year": "2025"})
    cells = " ".join(str(cell.value) for sheet in load_workbook(io.BytesIO(workbook.data))
                     for row in sheet.iter_rows() for cell in row)
    with zipfile.ZipFile(io.BytesIO(workbook.data)) as archive:
        xml = b"".join(archive.read(name) for name in archive.namelist())
    spec = QuerySpec(default_catalogue().version, "headcount", Statistic.COUNT,
                     ("target_group",), (), "2025", 500_000)
    answer = runtime.engine.answer("federation", "names-1", spec)
    outputs = {
        "transfer file": transfer.body,
        "forms (cells)": cells,
        "forms (xml)": xml.decode("utf-8", "replace"),
        "report page": manager.get("/manage/report?period=2025").body,
        "printable report": manager.get("/manage/report/print?period=2025").body,
        "audit log": json.dumps([e.to_json() for e in audit_entries(runtime.store)]),
        "audit page": manager.get("/manage/audit").body,
        "federated answer": repr(answer),
    }
    with runtime.store.reading() as conn:
        for table in [r[0] for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")]:
            if table != "person_names":  # the one place the name is kept
                outputs[f"table {table}"] = repr(conn.execute(
                    f'SELECT * FROM "{table}"').fetchall())
    for where, text in outputs.items():
        for part in ("Fatima", "Amrani", search_key(NAME)):
            assert part not in text, where
