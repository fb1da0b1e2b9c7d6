"""The organisation's web app over HTTP: accounts, throttling, CSRF, roles, recording through
the importer's validation, the audit log, and the manager's pages (a real uvicorn server on
loopback over a real SQLCipher store)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

import pytest
from click.testing import CliRunner

from cli.main import cli
from node import NodeRuntime, audit_entries
from node.organisation.web import add_account, set_disabled
from node.organisation.web.accounts import authenticate
from node.organisation.web.sessions import LoginThrottle, SessionStore
from tests.conftest import create_node
from tests.web_support import Client, serving, web_settings

PASSWORD = "correct horse battery staple"
PERSON = {"person_id": "HR-000145", "birth_year": "1982", "gender": "M",
          "education_level": "UPPER_SEC", "target_group": "TG_DISADV", "region": "BE-WAL"}


@pytest.fixture
def app(node_factory: Callable[..., NodeRuntime]) -> Iterator[tuple[NodeRuntime, str]]:
    runtime = node_factory()
    add_account(runtime.store, "anna", PASSWORD, role="job_coach", language="fr")
    add_account(runtime.store, "marc", PASSWORD, role="manager", language="nl")
    settings = web_settings(runtime, today=lambda: date(2025, 11, 15),
                            throttle=LoginThrottle(free=3, base=60.0))
    with serving(settings) as base:
        yield runtime, base


def _signed_in(base: str, user: str = "anna") -> Client:
    client = Client(base)
    assert client.login(user, PASSWORD).status == 303
    return client


def _create_person(client: Client) -> str:
    page = client.get("/people/new")
    reply = client.post("/people/new", {"csrf_token": page.csrf, **PERSON})
    assert reply.status == 303, reply.body
    return reply.headers["location"].rsplit("/", 1)[1]


def test_login_sets_a_strict_http_only_cookie_and_pages_are_not_cached(
        app: tuple[NodeRuntime, str]) -> None:
    _, base = app
    client = Client(base)
    assert client.get("/people").status == 303  # not signed in: to the login page
    reply = client.login("anna", PASSWORD)
    assert reply.status == 303 and reply.headers["location"] == "/people"
    cookie = client.set_cookies[-1].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/" in cookie
    assert "secure" not in cookie  # plain HTTP on loopback; Secure under TLS
    page = client.get("/people")
    assert page.status == 200 and "Personnes" in page.body  # anna reads French
    assert page.headers["cache-control"] == "no-store"
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert "<script" not in page.body


def test_wrong_passwords_are_throttled_even_before_the_right_one(
        app: tuple[NodeRuntime, str]) -> None:
    _, base = app
    client = Client(base)
    for _ in range(3):
        assert client.login("anna", "not the password at all").status == 401
    throttled = client.login("anna", PASSWORD)
    assert throttled.status == 429
    assert "Trop de tentatives" in throttled.body or "Too many" in throttled.body
    # Another address is not blocked from another name, but the same name stays throttled.
    assert Client(base).login("anna", PASSWORD).status == 429


def test_a_form_without_its_csrf_token_is_refused_and_writes_nothing(
        app: tuple[NodeRuntime, str]) -> None:
    runtime, base = app
    client = _signed_in(base)
    assert client.post("/people/new", dict(PERSON)).status == 403
    assert client.post("/people/new", {"csrf_token": "forged", **PERSON}).status == 403
    other = _signed_in(base)  # another session's token is no good either
    assert client.post("/people/new", {"csrf_token": other.get("/people/new").csrf,
                                       **PERSON}).status == 403
    cross = client.request("POST", "/people/new", {"csrf_token": client.get(
        "/people/new").csrf, **PERSON}, headers={"Origin": "http://evil.example"})
    assert cross.status == 400
    with runtime.store.reading() as conn:
        assert conn.execute("SELECT count(*) FROM workers").fetchone()[0] == 0
    assert Client(base).post("/login", {"username": "anna", "password": PASSWORD}).status == 403


def test_a_job_coach_cannot_reach_the_manager_pages(app: tuple[NodeRuntime, str]) -> None:
    _, base = app
    coach, manager = _signed_in(base, "anna"), _signed_in(base, "marc")
    for path in ("/manage/reminders", "/manage/report?period=2025", "/manage/sharing",
                 "/manage/report/print?period=2025"):
        assert coach.get(path).status == 403, path
        reply = manager.get(path)
        assert reply.status == 200, path
    assert "Herinneringen" in manager.get("/manage/reminders").body  # marc reads Dutch
    assert 'href="/manage/report"' not in coach.get("/people").body


def test_record_a_person_through_the_importers_validation_and_the_audit_log(
        app: tuple[NodeRuntime, str]) -> None:
    runtime, base = app
    client = _signed_in(base)
    pid = _create_person(client)
    page = client.get(f"/people/{pid}")
    token = page.csrf
    forms: list[tuple[str, dict[str, str]]] = [
        ("contracts", {"role": "TARGET_WORKER", "contract_type": "FIXED_TERM",
                       "weekly_hours": "12,5", "start_date": "2025-01-06",
                       "end_date": "2025-12-31", "subsidy_scheme": "WAL_EI_TD"}),
        ("support-actions", {"action_date": "2025-03-04", "duration_min": "90",
                             "action_code": "SA02"}),
        ("assessments", {"assessment_date": "2025-02-01", "competence_code": "C01",
                         "score_norm": "2", "assessor": "COACH", "context": "INTAKE"}),
        ("assessments", {"assessment_date": "2025-09-01", "competence_code": "C01",
                         "score_norm": "4", "assessor": "COACH", "context": "PERIODIC"}),
    ]
    for kind, form in forms:
        reply = client.post(f"/people/{pid}/{kind}", {"csrf_token": token, **form})
        assert reply.status == 303, reply.body
    page = client.get(f"/people/{pid}")
    assert "12,5" in page.body and "31/12/2025" in page.body  # Belgian French formats
    assert "entretien individuel de suivi" in page.body  # SA02 in French
    assert "0,25" in page.body and "0,75" in page.body and "+0,50" in page.body
    with runtime.store.reading() as conn:
        stored = conn.execute("SELECT weekly_hours, subsidy_scheme FROM contracts").fetchall()
        scores = [r[0] for r in conn.execute(
            "SELECT score_norm FROM competence_assessments ORDER BY assessment_date")]
    assert stored == [(12.5, "WAL_EI_TD")] and scores == [0.25, 0.75]
    # The person is found by the organisation's own id (HMAC in memory), and listed.
    assert client.get("/people?q=HR-000145").headers["location"] == f"/people/{pid}"
    listing = client.get("/people?ending=60")
    assert pid[:10] in listing.body and "se termine le 31/12/2025" in listing.body
    entries = audit_entries(runtime.store)
    actions = [e.action for e in entries]
    for action in ("person_create", "contract_add", "support_action_add", "assessment_add",
                   "person_view", "people_list"):
        assert action in actions
    assert {e.actor for e in entries} == {"anna"}
    assert all(e.subject in (pid, "*") for e in entries)
    text = json.dumps([e.to_json() for e in entries])
    for value in ("HR-000145", "12.5", "WAL_EI_TD", "SA02", "1982", "2025-03-04"):
        assert value not in text


def test_validation_messages_name_the_field_in_the_users_language(
        app: tuple[NodeRuntime, str]) -> None:
    runtime, base = app
    client = _signed_in(base)
    pid = _create_person(client)
    token = client.get(f"/people/{pid}").csrf
    reply = client.post(f"/people/{pid}/contracts", {
        "csrf_token": token, "role": "TARGET_WORKER", "contract_type": "FIXED_TERM",
        "weekly_hours": "99", "start_date": "2025-05-01", "end_date": "2025-04-01"})
    assert reply.status == 400
    assert "doit être compris entre 0 – 50" in reply.body
    assert "Rien n&#39;a été enregistré" in reply.body
    again = client.post("/people/new", {"csrf_token": token, **PERSON})
    assert again.status == 400 and "déjà sur le nœud" in again.body
    assert "HR-000145" not in again.body  # the raw id is never sent back
    with runtime.store.reading() as conn:
        assert conn.execute("SELECT count(*) FROM contracts").fetchone()[0] == 0


def test_a_disabled_account_is_signed_out_at_once(app: tuple[NodeRuntime, str]) -> None:
    runtime, base = app
    client = _signed_in(base)
    assert client.get("/people").status == 200
    set_disabled(runtime.store, "anna")
    ended = client.get("/people")
    assert ended.status == 303 and ended.headers["location"] == "/login?expired=1"
    assert "Votre session a pris fin" in Client(base).request(
        "GET", "/login?expired=1", headers={"Accept-Language": "fr-BE"}).body
    assert client.login("anna", PASSWORD).status == 401


def test_sessions_end_after_the_idle_timeout() -> None:
    now = [0.0]
    store = SessionStore(idle_timeout=900, lifetime=3600, clock=lambda: now[0])
    session = store.new()
    now[0] = 899
    assert store.get(session.token) is session
    now[0] = 899 + 901
    assert store.get(session.token) is None


def test_passwords_are_argon2id_hashes(node_factory: Callable[..., NodeRuntime]) -> None:
    runtime = node_factory()
    add_account(runtime.store, "admin", PASSWORD, role="admin")
    with runtime.store.reading() as conn:
        digest = conn.execute("SELECT password_hash FROM web_users").fetchone()[0]
    assert digest.startswith("$argon2id$") and PASSWORD not in digest
    assert authenticate(runtime.store, "admin", PASSWORD) is not None
    assert authenticate(runtime.store, "admin", PASSWORD + "x") is None
    assert authenticate(runtime.store, "nobody", PASSWORD) is None


def test_user_commands_and_the_listen_rule(tmp_path: Any) -> None:
    config = create_node(tmp_path / "node")
    runner = CliRunner()
    added = runner.invoke(cli, ["node", "user", "add", "--config", str(config), "anna",
                                "--role", "job_coach"], input=f"{PASSWORD}\n{PASSWORD}\n")
    assert added.exit_code == 0, added.output
    short = runner.invoke(cli, ["node", "user", "reset", "--config", str(config), "anna"],
                          input="short\nshort\n")
    assert short.exit_code == 2 and "12 characters" in short.output
    assert runner.invoke(cli, ["node", "user", "disable", "--config", str(config),
                               "anna"]).exit_code == 0
    listed = runner.invoke(cli, ["node", "user", "list", "--config", str(config)])
    assert "anna\tjob_coach\tfr\tdisabled" in listed.output
    refused = runner.invoke(cli, ["node", "web", "--config", str(config), "--listen",
                                  "0.0.0.0:7780"])
    assert refused.exit_code == 2 and "without TLS" in refused.output


def test_a_plan_with_goals_and_a_review_written_together(app: tuple[NodeRuntime, str]) -> None:
    runtime, base = app
    client = _signed_in(base)
    pid = _create_person(client)
    token = client.get(f"/people/{pid}").csrf
    refused = client.post(f"/people/{pid}/plans", {
        "csrf_token": token, "start_date": "2025-03-01", "end_date": "",
        "goal_1_domain": "WORK_SKILLS", "goal_1_status": "OPEN",
        "goal_3_domain": "NOT_A_DOMAIN", "goal_3_status": "OPEN"})
    assert refused.status == 400 and "choisissez une des valeurs proposées" in refused.body
    with runtime.store.reading() as conn:  # the plan was not written without its goals
        assert conn.execute("SELECT count(*) FROM support_plans").fetchone()[0] == 0
    created = client.post(f"/people/{pid}/plans", {
        "csrf_token": token, "start_date": "2025-03-01", "end_date": "",
        "goal_1_domain": "WORK_SKILLS", "goal_1_status": "OPEN",
        "goal_2_domain": "MOBILITY", "goal_2_status": "ACHIEVED", "goal_3_domain": ""})
    assert created.status == 303, created.body
    with runtime.store.reading() as conn:
        plan = conn.execute("SELECT plan_key FROM support_plans").fetchone()[0]
        goals = conn.execute("SELECT domain, status FROM plan_goals ORDER BY domain").fetchall()
    assert goals == [("MOBILITY", "ACHIEVED"), ("WORK_SKILLS", "OPEN")]
    assert client.post(f"/people/{pid}/plans/{plan}/reviews", {
        "csrf_token": token, "review_date": "2025-09-01"}).status == 303
    page = client.get(f"/people/{pid}")
    assert "compétences professionnelles" in page.body and "mobilité" in page.body
    assert "01/09/2025" in page.body
    listing = client.get("/people?review=120")  # next review due on 2026-03-01
    assert pid[:10] in listing.body and "due le 01/03/2026" in listing.body
    assert "plan_review_add" in [e.action for e in audit_entries(runtime.store)]


def test_host_header_and_session_fixation(app: tuple[NodeRuntime, str]) -> None:
    _, base = app
    client = Client(base)
    rebinding = client.request("GET", "/login", headers={"Host": "evil.example"})
    assert rebinding.status == 400  # a DNS-rebinding page cannot talk to the app
    before = (client.get("/login"), client.cookie)[1]
    assert client.login("anna", PASSWORD).status == 303
    assert client.cookie and client.cookie != before  # a fresh session token on sign-in


def test_the_web_app_over_tls_sets_secure_cookies(tmp_path: Any) -> None:
    import datetime as dt
    import os
    import socket
    import ssl
    import subprocess
    import sys
    import time
    import urllib.request

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    from node import load_node_config
    from node.store.maintenance import open_store

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=1))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]),
                           critical=False)
            .sign(key, hashes.SHA256()))
    (tmp_path / "web.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "web.key").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    os.chmod(tmp_path / "web.key", 0o600)
    config_path = create_node(tmp_path / "node")
    store = open_store(load_node_config(config_path))
    try:
        add_account(store, "anna", PASSWORD, role="job_coach")
    finally:
        store.close()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    log = tmp_path / "web.log"
    with log.open("w") as handle:
        server = subprocess.Popen(
            [sys.executable, "-m", "cli", "node", "web", "--config", str(config_path),
             "--listen", f"127.0.0.1:{port}", "--tls-cert", str(tmp_path / "web.crt"),
             "--tls-key", str(tmp_path / "web.key")], stdout=handle, stderr=subprocess.STDOUT)
    context = ssl.create_default_context(cafile=str(tmp_path / "web.crt"))
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"https://localhost:{port}/login",
                                            context=context, timeout=10) as reply:
                    cookie = reply.headers["set-cookie"]
                break
            except OSError:
                assert server.poll() is None, log.read_text()
                assert time.monotonic() < deadline, "the web app did not start"
                time.sleep(0.1)
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie


def test_a_flood_of_login_pages_does_not_push_out_signed_in_sessions() -> None:
    store = SessionStore()
    store.MAX_SESSIONS = 10  # type: ignore[misc]
    working = store.sign_in(None, username="anna", role="job_coach", language="fr",
                            password_changed_at="")
    for _ in range(50):
        store.new()
    assert store.get(working.token) is working


def test_a_self_evaluation_questionnaire(app: tuple[NodeRuntime, str]) -> None:
    runtime, base = app
    client = _signed_in(base)
    pid = _create_person(client)
    token = client.get(f"/people/{pid}").csrf
    empty = client.post(f"/people/{pid}/self-evaluations", {
        "csrf_token": token, "evaluation_date": "2025-03-01"})
    assert empty.status == 400 and "répondez à au moins une question" in empty.body
    for when, first, second in (("2025-03-01", "2", "3"), ("2025-10-01", "4", "3")):
        assert client.post(f"/people/{pid}/self-evaluations", {
            "csrf_token": token, "evaluation_date": when, "item_SE01": first,
            "item_SE05": second}).status == 303
    with runtime.store.reading() as conn:
        rows = conn.execute("SELECT item_code, score_norm FROM self_evaluations "
                            "ORDER BY evaluation_date, item_code").fetchall()
    assert rows == [("SE01", 0.25), ("SE05", 0.5), ("SE01", 0.75), ("SE05", 0.5)]
    page = client.get(f"/people/{pid}")
    assert "confiance en soi" in page.body and "+0,50" in page.body
    assert "self_evaluation_add" in [e.action for e in audit_entries(runtime.store)]


def test_change_a_contract_close_a_plan_and_change_a_goal(
        app: tuple[NodeRuntime, str]) -> None:
    runtime, base = app
    client = _signed_in(base)
    pid = _create_person(client)
    token = client.get(f"/people/{pid}").csrf
    contract = {"role": "TARGET_WORKER", "contract_type": "OPEN_ENDED", "weekly_hours": "38",
                "start_date": "2024-01-08", "end_date": ""}
    assert client.post(f"/people/{pid}/contracts", {"csrf_token": token,
                                                    **contract}).status == 303
    assert client.post(f"/people/{pid}/plans", {
        "csrf_token": token, "start_date": "2025-01-06", "goal_1_domain": "HOUSING",
        "goal_1_status": "OPEN"}).status == 303
    with runtime.store.reading() as conn:
        key = conn.execute("SELECT contract_key FROM contracts").fetchone()[0]
        plan = conn.execute("SELECT plan_key FROM support_plans").fetchone()[0]
        goal = conn.execute("SELECT goal_key FROM plan_goals").fetchone()[0]
    page = client.get(f"/people/{pid}")
    assert f"/people/{pid}/edit/contract/{key}" in page.body
    early = client.post(f"/people/{pid}/edit/contract/{key}", {
        "csrf_token": token, **contract, "end_date": "2023-12-31"})
    assert early.status == 400 and "doit être après le début" in early.body
    assert client.post(f"/people/{pid}/edit/contract/{key}", {
        "csrf_token": token, **contract, "weekly_hours": "30,4",
        "end_date": "2025-06-30"}).status == 303
    assert client.post(f"/people/{pid}/edit/goal/{goal}", {
        "csrf_token": token, "status": "ACHIEVED"}).status == 303
    assert client.post(f"/people/{pid}/edit/plan/{plan}", {
        "csrf_token": token, "end_date": "2025-09-30"}).status == 303
    other = _create_person_with(client, "HR-000146")
    assert client.post(f"/people/{other}/edit/contract/{key}", {  # not this person's
        "csrf_token": token, **contract}).status == 404
    with runtime.store.reading() as conn:
        assert conn.execute("SELECT weekly_hours, end_date, pid FROM contracts").fetchall() == [
            (30.4, "2025-06-30", pid)]
        assert conn.execute("SELECT status FROM plan_goals").fetchall() == [("ACHIEVED",)]
        assert conn.execute("SELECT end_date FROM support_plans").fetchall() == [
            ("2025-09-30",)]
    actions = [e.action for e in audit_entries(runtime.store)]
    assert {"contract_edit", "goal_edit", "plan_close"} <= set(actions)


def _create_person_with(client: Client, raw_id: str) -> str:
    page = client.get("/people/new")
    reply = client.post("/people/new", {"csrf_token": page.csrf, **PERSON,
                                        "person_id": raw_id})
    assert reply.status == 303, reply.body
    return reply.headers["location"].rsplit("/", 1)[1]


def test_transfer_the_record_at_the_persons_request(app: tuple[NodeRuntime, str]) -> None:
    import hashlib
    from pathlib import Path

    import jsonschema

    runtime, base = app
    client = _signed_in(base)
    pid = _create_person(client)
    token = client.get(f"/people/{pid}").csrf
    assert client.post(f"/people/{pid}/support-actions", {
        "csrf_token": token, "action_date": "2025-03-04", "duration_min": "90",
        "action_code": "SA02"}).status == 303
    wrong = client.post(f"/people/{pid}/transfer", {"csrf_token": token,
                                                     "person_id": "HR-999999",
                                                     "recipient": "FOREM Charleroi"})
    assert wrong.status == 400 and "pas l&#39;identifiant de cette personne" in wrong.body
    reply = client.post(f"/people/{pid}/transfer", {"csrf_token": token,
                                                     "person_id": "HR-000145",
                                                     "recipient": "FOREM Charleroi"})
    assert reply.status == 200
    assert reply.headers["content-disposition"].startswith("attachment;")
    assert reply.headers["cache-control"] == "no-store"
    document = json.loads(reply.body)
    schema = json.loads((Path(__file__).resolve().parent.parent / "docs" /
                         "transfer-format.schema.json").read_text())
    jsonschema.validate(document, schema)
    assert document["person"]["organisation_reference"] == "HR-000145"
    assert len(document["support_actions"]) == 1
    entry = [e for e in audit_entries(runtime.store) if e.action == "transfer_export"][-1]
    assert entry.subject == pid and entry.actor == "anna"
    assert entry.detail["sha256"] == hashlib.sha256(reply.body.encode()).hexdigest()
    assert entry.detail["recipient"] == "FOREM Charleroi"
    assert "HR-000145" not in json.dumps(entry.to_json())


def test_reminders_list_contracts_ending_reviews_due_and_assessments_overdue(
        app: tuple[NodeRuntime, str]) -> None:
    _, base = app  # today is 2025-11-15 for the app
    client = _signed_in(base)
    pid = _create_person(client)
    token = client.get(f"/people/{pid}").csrf
    assert client.post(f"/people/{pid}/contracts", {
        "csrf_token": token, "role": "TARGET_WORKER", "contract_type": "FIXED_TERM",
        "weekly_hours": "38", "start_date": "2024-01-08", "end_date": "2026-01-10",
        "subsidy_scheme": "WAL_EI_TD"}).status == 303
    assert client.post(f"/people/{pid}/plans", {"csrf_token": token,
                                                "start_date": "2025-04-01"}).status == 303
    assert client.post(f"/people/{pid}/assessments", {
        "csrf_token": token, "assessment_date": "2024-06-01", "competence_code": "C01",
        "score_norm": "3", "assessor": "COACH", "context": "INTAKE"}).status == 303
    manager = _signed_in(base, "marc")
    page = manager.get("/manage/reminders").body
    sixty = page.split("Binnen 60 dagen")[1].split("Binnen 90 dagen")[0]
    assert pid[:10] in sixty and "10/01/2026" in sixty  # 56 days from today
    assert "WAL_EI_TD" in sixty  # the subsidy that ends with it
    reviews = page.split("Evaluaties van plannen")[1].split("Competentie-evaluaties te laat")[0]
    assert pid[:10] in reviews and "01/10/2025" in reviews  # six months after the start
    overdue = page.split("Competentie-evaluaties te laat")[1]
    assert pid[:10] in overdue and "01/06/2024" in overdue


def test_what_is_recorded_in_the_browser_counts_in_the_report_and_a_federated_query(
        app: tuple[NodeRuntime, str]) -> None:
    from privacy import QuerySpec, Statistic, default_catalogue, validate

    runtime, base = app
    client = _signed_in(base)
    pid = _create_person(client)
    token = client.get(f"/people/{pid}").csrf
    assert client.post(f"/people/{pid}/contracts", {
        "csrf_token": token, "role": "TARGET_WORKER", "contract_type": "OPEN_ENDED",
        "weekly_hours": "38", "start_date": "2025-01-06", "end_date": ""}).status == 303
    assert client.post(f"/people/{pid}/support-actions", {
        "csrf_token": token, "action_date": "2025-05-05", "duration_min": "120",
        "action_code": "SA02"}).status == 303
    report = _signed_in(base, "marc").get("/manage/report?period=2025").body
    headcount = next(part for part in report.split('<section class="figure">')
                     if "Personen onder contract op de laatste dag" in part)
    assert "<td>kansengroep</td><td class=\"n\">1</td>" in headcount
    catalogue = default_catalogue()
    spec = QuerySpec(catalogue.version, "headcount", Statistic.COUNT, ("target_group",), (),
                     "2025", 500_000)
    counts, _ = runtime.engine.exact_cells(validate(spec, catalogue))
    assert sum(counts) == 1  # the exact cells the DP answer adds its noise to
    answer = runtime.engine.answer("federation", "web-recorded-1", spec)
    assert answer.node_id == runtime.config.node_id and len(answer.cells) == 7
    assert [line.spent_micro for line in runtime.engine.budget("federation")
            if line.scope == "querier"] == [500_000]


def test_the_walloon_forms_for_managers(app: tuple[NodeRuntime, str]) -> None:
    import hashlib
    import io

    from openpyxl import load_workbook

    runtime, base = app
    coach = _signed_in(base)
    pid = _create_person(coach)  # TG_DISADV: a TD worker
    token = coach.get(f"/people/{pid}").csrf
    assert coach.post(f"/people/{pid}/contracts", {
        "csrf_token": token, "role": "TARGET_WORKER", "contract_type": "OPEN_ENDED",
        "weekly_hours": "19", "start_date": "2025-01-06", "end_date": "",
        "subsidy_scheme": "WAL_EI_TD"}).status == 303
    assert coach.get("/manage/forms?year=2025").status == 403
    manager = _signed_in(base, "marc")
    page = manager.get("/manage/forms?year=2025")
    assert page.status == 200 and "1 contract," in page.body and "1 persoon" in page.body
    reply = manager.post("/manage/forms", {"csrf_token": page.csrf, "year": "2025"})
    assert reply.status == 200 and "annexes-2025.xlsx" in reply.headers["content-disposition"]
    workbook = load_workbook(io.BytesIO(reply.data))
    assert workbook.sheetnames == ["Information", "Annexe 1", "Annexe 2"]
    assert workbook["Annexe 1"].max_row == 2  # the header and the one contract
    entry = [e for e in audit_entries(runtime.store) if e.action == "forms_export"][-1]
    assert entry.actor == "marc" and entry.detail["annex1_rows"] == 1
    assert entry.detail["files"]["annexes-2025.xlsx"] == hashlib.sha256(reply.data).hexdigest()


def test_the_web_forms_follow_node_toml_forms_settings(
        node_factory: Callable[..., NodeRuntime]) -> None:
    import dataclasses
    import io

    from openpyxl import load_workbook

    from node.form_rules import FormRules

    runtime = node_factory()
    add_account(runtime.store, "marc", PASSWORD, role="manager", language="en")
    config = dataclasses.replace(runtime.config, forms=FormRules(fulltime_hours=37.0))
    settings = dataclasses.replace(web_settings(runtime, today=lambda: date(2025, 11, 15)),
                                   config=config)
    with serving(settings) as base:
        manager = _signed_in(base, "marc")
        page = manager.get("/manage/forms?year=2025")
        reply = manager.post("/manage/forms", {"csrf_token": page.csrf, "year": "2025"})
    info = dict(load_workbook(io.BytesIO(reply.data))["Information"].values)
    assert info["[forms] fulltime_hours"] == "37"


def test_managers_read_the_audit_log(app: tuple[NodeRuntime, str]) -> None:
    _, base = app
    coach = _signed_in(base)
    pid = _create_person(coach)
    coach.get(f"/people/{pid}")
    assert coach.get("/manage/audit").status == 403
    page = _signed_in(base, "marc").get("/manage/audit")
    assert page.status == 200
    assert "bekeek het dossier van een persoon" in page.body
    assert "voegde een persoon toe" in page.body and f"/people/{pid}" in page.body
    assert "HR-000145" not in page.body


def test_admins_look_after_accounts_in_the_browser(app: tuple[NodeRuntime, str]) -> None:
    runtime, base = app
    add_account(runtime.store, "ines", PASSWORD, role="admin", language="fr")
    assert _signed_in(base, "marc").get("/admin/accounts").status == 403
    admin = _signed_in(base, "ines")
    page = admin.get("/admin/accounts")
    assert page.status == 200 and "Comptes du personnel" in page.body
    new = {"username": "sara", "role": "job_coach", "language": "nl",
           "password": "another long passphrase", "password2": "another long passphrase"}
    short = admin.post("/admin/accounts/add", {"csrf_token": page.csrf, **new,
                                               "password": "short", "password2": "short"})
    assert short.status == 400 and "au moins 12 caractères" in short.body
    assert admin.post("/admin/accounts/add", {"csrf_token": page.csrf, **new}).status == 303
    sara = _signed_in_as(base, "sara", "another long passphrase")
    assert "Personen" in sara.get("/people").body
    assert admin.post("/admin/accounts/disable", {"csrf_token": page.csrf,
                                                  "username": "sara"}).status == 303
    assert sara.get("/people").status == 303  # signed out at once
    assert admin.post("/admin/accounts/reset", {
        "csrf_token": page.csrf, "username": "sara", "password": "a third long passphrase",
        "password2": "a third long passphrase"}).status == 303
    assert _signed_in_as(base, "sara", "a third long passphrase").get("/people").status == 200
    own = admin.post("/admin/accounts/disable", {"csrf_token": page.csrf, "username": "ines"})
    assert own.status == 400
    actions = [(e.action, e.subject) for e in audit_entries(runtime.store)
               if e.action.startswith("account_")]
    assert actions == [("account_add", "account:sara"), ("account_disable", "account:sara"),
                       ("account_reset", "account:sara")]
    assert "another long passphrase" not in json.dumps(
        [e.to_json() for e in audit_entries(runtime.store)])


def _signed_in_as(base: str, user: str, password: str) -> Client:
    client = Client(base)
    assert client.login(user, password).status == 303
    return client


def test_the_organisations_own_words_per_language(
        node_factory: Callable[..., NodeRuntime], tmp_path: Any) -> None:
    from node import import_files, load_node_config, open_node
    from tests.conftest import write_csv

    runtime = node_factory()
    config_text = runtime.config.path.read_text().replace(
        "[vocabulary]\n", '[vocabulary]\nversion = "2025-01"\n').replace(
        '# JOBCOACH = "SA02"', 'GESPREK = "SA02"').replace(
        '# STIPTHEID = "C01"', 'STIPT = "C01"')
    runtime.config.path.write_text(config_text)
    config = load_node_config(runtime.config.path)
    runtime.close()
    runtime = open_node(config)
    try:
        write_csv(tmp_path / "csv" / "workers.csv", [{
            "person_id": "P1", "birth_year": "1980", "gender": "F",
            "education_level": "LOWER_SEC", "target_group": "TG_DISADV", "region": "BE-WAL"}])
        write_csv(tmp_path / "csv" / "support_actions.csv", [{
            "action_id": "A1", "person_id": "P1", "action_date": "2025-02-01",
            "duration_min": "60", "action_code": "OUDCODE"}])
        add_account(runtime.store, "marc", PASSWORD, role="manager", language="nl")
        old = load_node_config(runtime.config.path)  # an old mapping: OUDCODE = SA03
        import_files(runtime.store, runtime.secret, [tmp_path / "csv" / "workers.csv",
                                                     tmp_path / "csv" /
                                                     "support_actions.csv"],
                     vocabulary=type(old.vocabulary)(
                         {"OUDCODE": "SA03"}, {}, "2024-01"))
        with serving(web_settings(runtime)) as base:
            manager = _signed_in(base, "marc")
            page = manager.get("/manage/vocabulary")
            assert page.status == 200
            assert "GESPREK" in page.body and "STIPT" in page.body
            assert "niet gekoppeld" in page.body  # OUDCODE: rows, but no mapping any more
            saved = manager.post("/manage/vocabulary", {
                "csrf_token": page.csrf, "nl:support_action:GESPREK": "Gesprek met de coach",
                "fr:support_action:GESPREK": "Entretien avec le coach",
                "nl:competence:STIPT": "Op tijd komen", "nl:competence:ONBEKEND": "x"})
            assert saved.status == 303
            with runtime.store.reading() as conn:
                pid = conn.execute("SELECT pid FROM workers").fetchone()[0]
            person = manager.get(f"/people/{pid}").body
            assert "GESPREK — Gesprek met de coach" in person  # in the form's choices
            assert "STIPT — Op tijd komen" in person
            assert "OUDCODE — " in person  # its rows are still shown
            too_long = manager.post("/manage/vocabulary", {
                "csrf_token": page.csrf, "nl:competence:STIPT": "x" * 81})
            assert too_long.status == 400
        from node.organisation.web.vocabulary import labels

        assert labels(runtime.store, "fr") == {("support_action", "GESPREK"):
                                               "Entretien avec le coach"}
        assert ("competence", "ONBEKEND") not in labels(runtime.store, "nl")
    finally:
        runtime.close()
