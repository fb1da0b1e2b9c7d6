"""Changing and deleting support actions, competence assessments and self-evaluation answers in
the web app: through the importer's validation, for the person in the URL only, confirmed, with
CSRF, and each view and change in the audit log without a value (a real uvicorn server over a
real SQLCipher store)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import date

import pytest

from node import NodeRuntime, audit_entries
from node.organisation.web import add_account
from tests.web_support import Client, serving, web_settings

PASSWORD = "correct horse battery staple"
PERSON = {"birth_year": "1982", "gender": "M", "education_level": "UPPER_SEC",
          "target_group": "TG_DISADV", "region": "BE-WAL"}


@pytest.fixture
def app(node_factory: Callable[..., NodeRuntime]) -> Iterator[tuple[NodeRuntime, str]]:
    runtime = node_factory()
    add_account(runtime.store, "anna", PASSWORD, role="job_coach", language="fr")
    with serving(web_settings(runtime, today=lambda: date(2025, 11, 15))) as base:
        yield runtime, base


def _coach(base: str) -> Client:
    client = Client(base)
    assert client.login("anna", PASSWORD).status == 303
    return client


def _person(client: Client, raw_id: str) -> tuple[str, str]:
    page = client.get("/people/new")
    reply = client.post("/people/new", {"csrf_token": page.csrf, "person_id": raw_id,
                                        **PERSON})
    assert reply.status == 303, reply.body
    pid = reply.headers["location"].rsplit("/", 1)[1]
    return pid, page.csrf


def _recorded(runtime: NodeRuntime, client: Client, pid: str, token: str) -> dict[str, str]:
    for kind, form in (
            ("contracts", {"role": "TARGET_WORKER", "contract_type": "OPEN_ENDED",
                           "weekly_hours": "38", "start_date": "2025-01-06", "end_date": ""}),
            ("support-actions", {"action_date": "2025-03-04", "duration_min": "90",
                                 "action_code": "SA02"}),
            ("assessments", {"assessment_date": "2025-02-01", "competence_code": "C01",
                             "score_norm": "2", "assessor": "COACH", "context": "INTAKE"}),
            ("self-evaluations", {"evaluation_date": "2025-03-01", "item_SE01": "2"})):
        assert client.post(f"/people/{pid}/{kind}", {"csrf_token": token,
                                                     **form}).status == 303
    with runtime.store.reading() as conn:
        return {"support_action": conn.execute("SELECT action_key FROM support_actions"
                                               ).fetchone()[0],
                "assessment": conn.execute("SELECT assessment_key FROM competence_assessments"
                                           ).fetchone()[0],
                "self_evaluation": conn.execute("SELECT evaluation_key FROM self_evaluations"
                                                ).fetchone()[0]}


def _support_minutes(runtime: NodeRuntime, pid: str) -> int:
    with runtime.store.reading() as conn:
        return int(conn.execute("SELECT support_min FROM person_periods WHERE pid = ? AND "
                                "period = '2025'", (pid,)).fetchone()[0])


def test_change_a_support_action_an_assessment_and_an_answer(
        app: tuple[NodeRuntime, str]) -> None:
    runtime, base = app
    client = _coach(base)
    pid, token = _person(client, "HR-000145")
    keys = _recorded(runtime, client, pid, token)
    person = client.get(f"/people/{pid}").body
    for what, key in keys.items():
        assert f"/people/{pid}/edit/{what}/{key}" in person
    assert _support_minutes(runtime, pid) == 90

    page = client.get(f"/people/{pid}/edit/support_action/{keys['support_action']}")
    assert page.status == 200 and "Modifier une action d&#39;accompagnement" in page.body
    assert 'value="2025-03-04"' in page.body and 'value="90"' in page.body
    wrong = client.post(f"/people/{pid}/edit/support_action/{keys['support_action']}", {
        "csrf_token": token, "action_date": "2025-03-04", "duration_min": "900",
        "action_code": "NOT_MAPPED"})
    assert wrong.status == 400
    assert "doit être compris entre 1 – 600" in wrong.body
    assert "ce code n&#39;est lié à aucun code de la fédération" in wrong.body
    assert "Rien n&#39;a été enregistré" in wrong.body
    assert client.post(f"/people/{pid}/edit/support_action/{keys['support_action']}", {
        "csrf_token": token, "action_date": "2025-03-05", "duration_min": "120",
        "action_code": "SA05"}).status == 303

    late = client.post(f"/people/{pid}/edit/assessment/{keys['assessment']}", {
        "csrf_token": token, "assessment_date": "2025-02-01", "competence_code": "C01",
        "score_norm": "7", "assessor": "COACH", "context": "INTAKE"})
    assert late.status == 400 and "doit être compris entre 1 – 5" in late.body
    assert client.post(f"/people/{pid}/edit/assessment/{keys['assessment']}", {
        "csrf_token": token, "assessment_date": "2025-02-03", "competence_code": "C04",
        "score_norm": "4,5", "assessor": "SUPERVISOR", "context": "INTAKE"}).status == 303
    answer = client.get(f"/people/{pid}/edit/self_evaluation/{keys['self_evaluation']}")
    assert 'value="2"' in answer.body  # 0.25 stored, 2 on the form's scale
    assert client.post(f"/people/{pid}/edit/self_evaluation/{keys['self_evaluation']}", {
        "csrf_token": token, "evaluation_date": "2025-03-01", "item_code": "SE03",
        "score_norm": "3"}).status == 303

    with runtime.store.reading() as conn:
        assert conn.execute("SELECT pid, action_date, duration_min, action_code, local_code "
                            "FROM support_actions").fetchall() == [
            (pid, "2025-03-05", 120, "SA05", "SA05")]
        assert conn.execute("SELECT assessment_date, competence_code, score_norm, assessor "
                            "FROM competence_assessments").fetchall() == [
            ("2025-02-03", "C04", 0.875, "SUPERVISOR")]
        assert conn.execute("SELECT item_code, score_norm FROM self_evaluations"
                            ).fetchall() == [("SE03", 0.5)]
    assert _support_minutes(runtime, pid) == 120  # the facts follow the change
    entries = audit_entries(runtime.store)
    actions = [e.action for e in entries]
    for action in ("support_action_edit", "assessment_edit", "self_evaluation_edit"):
        assert actions.count(action) == 1, action
    assert actions.count("person_view") >= 3  # the person page and two change pages
    text = json.dumps([e.to_json() for e in entries])
    for value in ("HR-000145", "2025-03-05", "SA05", "C04", "0.875", "SE03", "120"):
        assert value not in text


def test_delete_only_when_confirmed_and_only_the_persons_own(
        app: tuple[NodeRuntime, str]) -> None:
    runtime, base = app
    client = _coach(base)
    pid, token = _person(client, "HR-000145")
    keys = _recorded(runtime, client, pid, token)
    other, _ = _person(client, "HR-000146")
    for what, key in keys.items():  # another person's URL: not found, nothing deleted
        assert client.get(f"/people/{other}/edit/{what}/{key}").status == 404
        assert client.post(f"/people/{other}/delete/{what}/{key}", {
            "csrf_token": token, "confirm": "yes"}).status == 404
    unconfirmed = client.post(f"/people/{pid}/delete/support_action/{keys['support_action']}",
                              {"csrf_token": token})
    assert unconfirmed.status == 400 and "cochez la case" in unconfirmed.body
    forged = client.post(f"/people/{pid}/delete/support_action/{keys['support_action']}",
                         {"csrf_token": "forged", "confirm": "yes"})
    assert forged.status == 403
    with runtime.store.reading() as conn:
        contract = conn.execute("SELECT contract_key FROM contracts").fetchone()[0]
    assert client.post(f"/people/{pid}/delete/contract/{contract}", {  # ended, not deleted
        "csrf_token": token, "confirm": "yes"}).status == 404
    for what, key in keys.items():
        reply = client.post(f"/people/{pid}/delete/{what}/{key}", {"csrf_token": token,
                                                                   "confirm": "yes"})
        assert reply.status == 303 and reply.headers["location"].startswith(f"/people/{pid}#")
        assert client.post(f"/people/{pid}/delete/{what}/{key}", {  # gone: not found
            "csrf_token": token, "confirm": "yes"}).status == 404
    with runtime.store.reading() as conn:
        for table in ("support_actions", "competence_assessments", "self_evaluations"):
            assert conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0, table
        assert conn.execute("SELECT count(*) FROM contracts").fetchone()[0] == 1
    assert _support_minutes(runtime, pid) == 0
    deletions = [(e.action, e.subject, e.actor) for e in audit_entries(runtime.store)
                 if e.action.endswith("_delete")]
    assert deletions == [("support_action_delete", pid, "anna"),
                         ("assessment_delete", pid, "anna"),
                         ("self_evaluation_delete", pid, "anna")]
    assert Client(base).get(f"/people/{pid}/edit/assessment/{keys['assessment']}"
                            ).status == 303  # not signed in: to the login page


def test_changing_a_support_action_keeps_its_staff_member(
        app: tuple[NodeRuntime, str]) -> None:
    """The coach behind an imported action is a pseudonym no form shows: a change made in the
    app writes it back as it was, never pseudonymised a second time."""
    from node.organisation.web.recording import update_record

    runtime, base = app
    client = _coach(base)
    pid, token = _person(client, "HR-000146")
    key = _recorded(runtime, client, pid, token)["support_action"]
    with runtime.store.transaction() as conn:
        conn.execute("UPDATE support_actions SET staff_pid = 'staff-pseudonym' "
                     "WHERE action_key = ?", (key,))
    update_record(runtime.store, runtime.secret, "support_actions", key,
                  {"duration_min": "45"}, vocabulary=runtime.config.vocabulary,
                  gettext=lambda text: text, person_pid=pid)
    with runtime.store.reading() as conn:
        assert conn.execute("SELECT staff_pid, duration_min FROM support_actions WHERE "
                            "action_key = ?", (key,)).fetchone() == ("staff-pseudonym", 45)
