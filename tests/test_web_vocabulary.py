"""The organisation's own codes defined in the app: a manager defines a kind of support and a
competence with its words and federation code (or none yet), the forms record with it, a new
mapping is a new mapping version, and an unmapped code blocks nothing: it is not offered in the
forms, and a record already under it can still be corrected (a real uvicorn server over a real
SQLCipher store)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import MappingProxyType

from node import NodeRuntime, audit_entries, import_files
from node.imports.vocabulary import Vocabulary
from node.organisation.web import add_account
from tests.conftest import write_csv
from tests.web_support import Client, serving, web_settings

PASSWORD = "correct horse battery staple"


def _signed_in(base: str, user: str) -> Client:
    client = Client(base)
    assert client.login(user, PASSWORD).status == 303
    return client


def test_define_codes_record_with_them_and_remap(
        node_factory: Callable[..., NodeRuntime], tmp_path: Path) -> None:
    runtime = node_factory()
    add_account(runtime.store, "marc", PASSWORD, role="manager", language="nl")
    add_account(runtime.store, "anna", PASSWORD, role="job_coach", language="fr")
    write_csv(tmp_path / "workers.csv", [{
        "person_id": "P1", "birth_year": "1980", "gender": "F", "education_level": "LOWER_SEC",
        "target_group": "TG_DISADV", "region": "BE-WAL"}])
    write_csv(tmp_path / "support_actions.csv", [{
        "action_id": "A1", "person_id": "P1", "action_date": "2025-02-01",
        "duration_min": "60", "action_code": "OUDCODE"}])
    import_files(runtime.store, runtime.secret,  # an old mapping node.toml no longer has
                 [tmp_path / "workers.csv", tmp_path / "support_actions.csv"],
                 vocabulary=Vocabulary(MappingProxyType({"OUDCODE": "SA03"}),
                                       MappingProxyType({}), "2024-01"))
    with runtime.store.reading() as conn:
        pid = conn.execute("SELECT pid FROM workers").fetchone()[0]
        old_key = conn.execute("SELECT action_key FROM support_actions").fetchone()[0]
    with serving(web_settings(runtime)) as base:
        manager, coach = _signed_in(base, "marc"), _signed_in(base, "anna")
        page = manager.get("/manage/vocabulary")
        token = page.csrf

        def define(**form: str) -> int:
            return manager.post("/manage/vocabulary/define", {"csrf_token": token, **form}
                                ).status

        assert define(kind="support_action", code="ATELIER", federation_code="SA03",
                      label_fr="Accompagnement à l'atelier",
                      label_nl="Begeleiding in het atelier") == 303
        assert define(kind="competence", code="BOEKHOUDEN", federation_code="") == 303
        for wrong, message in (
                ({"kind": "support_action", "code": "SA02", "federation_code": "SA02"},
                 "federatiecode of is in node.toml"),
                ({"kind": "support_action", "code": "slecht code!", "federation_code": "SA02"},
                 "een code telt 1 tot 40"),
                ({"kind": "competence", "code": "NETJES", "federation_code": "SA03"},
                 "kies een van de voorgestelde waarden"),
                ({"kind": "competence", "code": "NETJES", "federation_code": "C07",
                  "label_nl": "x" * 81}, "hoogstens 80 tekens")):
            reply = manager.post("/manage/vocabulary/define", {"csrf_token": token, **wrong})
            assert reply.status == 400 and message in reply.body, wrong
        assert coach.post("/manage/vocabulary/define", {  # a job coach defines nothing
            "csrf_token": coach.get("/people").csrf, "kind": "competence", "code": "X1",
            "federation_code": "C01"}).status == 403
        listing = manager.get("/manage/vocabulary").body
        assert "ATELIER" in listing and "BOEKHOUDEN" in listing and "NETJES" not in listing
        assert listing.count("niet gekoppeld") >= 2  # BOEKHOUDEN, and OUDCODE's rows

        person = coach.get(f"/people/{pid}")
        assert "ATELIER — Accompagnement à l&#39;atelier" in person.body
        assert 'value="BOEKHOUDEN"' not in person.body  # unmapped: not offered, and said so
        assert ("Non proposés tant qu&#39;un responsable ne les a pas liés à un code de la "
                "fédération : BOEKHOUDEN.") in person.body
        assert coach.post(f"/people/{pid}/support-actions", {
            "csrf_token": person.csrf, "action_date": "2025-03-04", "duration_min": "90",
            "action_code": "ATELIER"}).status == 303
        # The unmapped code's record is still corrected, under the mapping it was made with.
        assert coach.post(f"/people/{pid}/edit/support_action/{old_key}", {
            "csrf_token": person.csrf, "action_date": "2025-02-01", "duration_min": "45",
            "action_code": "OUDCODE"}).status == 303
        # A new mapping of ATELIER is a new mapping version: older records keep theirs.
        assert define(kind="support_action", code="ATELIER", federation_code="SA10") == 303
        assert coach.post(f"/people/{pid}/support-actions", {
            "csrf_token": person.csrf, "action_date": "2025-04-04", "duration_min": "30",
            "action_code": "ATELIER"}).status == 303
    with runtime.store.reading() as conn:
        rows = conn.execute("SELECT action_date, duration_min, action_code, local_code, "
                            "mapping_version FROM support_actions ORDER BY action_date"
                            ).fetchall()
        mapped = conn.execute("SELECT local_code, fed_code, mapping_version FROM vocabulary_map"
                              " WHERE local_code = 'ATELIER' ORDER BY fed_code").fetchall()
    (_, d0, c0, l0, v0), (_, d1, c1, l1, v1), (_, d2, c2, l2, v2) = rows
    assert (d0, c0, l0, v0) == (45, "SA03", "OUDCODE", "2024-01")
    assert (d1, c1, l1) == (90, "SA03", "ATELIER") and (d2, c2, l2) == (30, "SA10", "ATELIER")
    assert v1.startswith(runtime.config.vocabulary.version + "+app-") and v2 != v1
    assert mapped == [("ATELIER", "SA03", v1), ("ATELIER", "SA10", v2)]
    edits = [e for e in audit_entries(runtime.store) if e.action == "vocabulary_edit"]
    assert len(edits) == 3 and all(e.actor == "marc" for e in edits)
