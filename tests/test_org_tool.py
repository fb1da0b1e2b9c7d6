"""The organisation's own tool, on real encrypted node databases, against hand-computed figures.

Fixture: tests/fixtures/small + tests/fixtures/accompaniment (see test_accompaniment_measures).
Every figure below is worked out by hand from those CSV files; the comments say how.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path

import jsonschema
import pytest
from conftest import FIXTURES, write_csv
from openpyxl import load_workbook

from node import ImportFailed, NodeRuntime, import_files
from node.organisation.audit_log import audit_entries, record_export
from node.organisation.forms import build_forms, forms_csv, forms_xlsx, read_id_list, reidentify
from node.organisation.org_report import tenure_band
from node.organisation.person import PersonNotFound, person_record, resolve
from node.organisation.report import build_report
from node.organisation.report_html import render_html
from node.organisation.transfer import build_transfer, transfer_bytes
from node.store.private_files import ExportExists, write_private
from privacy import InvalidQueryError, default_catalogue

CAT = default_catalogue()
DOCS = Path(__file__).parents[1] / "docs"


def files() -> list[Path]:
    return (sorted((FIXTURES / "small").glob("*.csv"))
            + sorted((FIXTURES / "accompaniment").glob("*.csv")))


@pytest.fixture
def org(node_factory: Callable[..., NodeRuntime]) -> NodeRuntime:
    runtime = node_factory("org")
    import_files(runtime.store, runtime.secret, files())
    return runtime


# ------------------------------------------------------------------------------ import


def test_accompaniment_tables_import_and_reimport_changes_nothing(org: NodeRuntime) -> None:
    with org.store.reading() as conn:
        counts = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                  for t in ("support_plans", "plan_goals", "plan_reviews", "self_evaluations")}
        raw = conn.execute("SELECT plan_key, pid FROM support_plans").fetchall()
    assert counts == {"support_plans": 5, "plan_goals": 5, "plan_reviews": 5,
                      "self_evaluations": 13}
    assert all(len(key) == 32 and not key.startswith("PL") for key, _ in raw)  # pseudonyms
    again = import_files(org.store, org.secret, files())
    assert sum(again.new.values()) == sum(again.updated.values()) == 0


@pytest.mark.parametrize("table,row,column,reason", [
    ("plan_goals", {"goal_id": "G9", "plan_id": "PL1", "domain": "CAREER", "status": "OPEN"},
     "domain", "not one of the 11 allowed codes"),
    ("plan_goals", {"goal_id": "G9", "plan_id": "PL99", "domain": "HEALTH", "status": "OPEN"},
     "plan_id", "no such id in support_plans"),
    ("plan_reviews", {"review_id": "R9", "plan_id": "", "review_date": "2025-01-01"},
     "plan_id", "an id must be 1 to 128 characters"),
    ("support_plans", {"plan_id": "PL9", "person_id": "P1", "start_date": "2025-05-01",
                       "end_date": "2025-04-01"}, "end_date", "must be after start_date"),
    ("support_plans", {"plan_id": "PL9", "person_id": "P77", "start_date": "2025-05-01",
                       "end_date": ""}, "person_id", "no such person in workers"),
    ("self_evaluations", {"evaluation_id": "S99", "person_id": "P1",
                          "evaluation_date": "2025-01-01", "item_code": "SE01",
                          "score_norm": "1.5"}, "score_norm", "outside the allowed range 0–1"),
    ("self_evaluations", {"evaluation_id": "S99", "person_id": "P1",
                          "evaluation_date": "2025-01-01", "item_code": "SE42",
                          "score_norm": "0.5"}, "item_code", "not one of the 8 allowed codes"),
])
def test_a_bad_accompaniment_row_refuses_the_whole_import(
        node_factory: Callable[..., NodeRuntime], tmp_path: Path, table: str,
        row: dict[str, str], column: str, reason: str) -> None:
    runtime = node_factory("bad")
    good = {p.name: p for p in files()}
    rows = [*csvrows(good[f"{table}.csv"]), row]
    good[f"{table}.csv"] = write_csv(tmp_path / f"{table}.csv", rows)
    with pytest.raises(ImportFailed) as failed:
        import_files(runtime.store, runtime.secret, good.values())
    assert [(e.column, e.reason) for e in failed.value.errors] == [(column, reason)]
    with runtime.store.reading() as conn:  # all or nothing: not even the workers
        assert conn.execute("SELECT count(*) FROM workers").fetchone()[0] == 0


def csvrows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_optional_columns_default_or_are_read(node_factory: Callable[..., NodeRuntime],
                                              tmp_path: Path) -> None:
    runtime = node_factory("opt")
    chosen = {p.name: p for p in sorted((FIXTURES / "small").glob("*.csv"))}
    assessments = csvrows(chosen["competence_assessments.csv"])
    assessments[0] |= {"assessor": "COACH", "context": "INTAKE"}
    for row in assessments[1:]:
        row |= {"assessor": "SELF", "context": "PERIODIC"}
    chosen["competence_assessments.csv"] = write_csv(tmp_path / "competence_assessments.csv",
                                                     assessments)
    contracts = csvrows(chosen["contracts.csv"])
    for row in contracts:
        row["subsidy_scheme"] = "WAL_EI_TD" if row["person_id"] == "P2" else ""
    chosen["contracts.csv"] = write_csv(tmp_path / "contracts.csv", contracts)
    import_files(runtime.store, runtime.secret, chosen.values())
    with runtime.store.reading() as conn:
        assert sorted(conn.execute("SELECT assessor, context, count(*) FROM "
                                   "competence_assessments GROUP BY 1, 2").fetchall()) == [
            ("COACH", "INTAKE", 1), ("SELF", "PERIODIC", 9)]
        assert conn.execute("SELECT count(*) FROM contracts WHERE subsidy_scheme = "
                            "'WAL_EI_TD'").fetchone()[0] == 1
        assert conn.execute("SELECT count(*) FROM contracts WHERE subsidy_scheme IS NULL"
                            ).fetchone()[0] == 6
    contracts[0]["subsidy_scheme"] = "SUBSIDY_X"
    with pytest.raises(ImportFailed, match="subsidy_scheme"):
        import_files(runtime.store, runtime.secret,
                     [write_csv(tmp_path / "bad" / "contracts.csv", contracts)])


# ------------------------------------------------------------------------------ person


def test_the_raw_id_resolves_to_the_pseudonym_and_is_never_stored(org: NodeRuntime) -> None:
    pid = resolve(org.store, org.secret, "P1")
    assert pid != "P1" and len(pid) == 32
    assert resolve(org.store, org.secret, " P1 ") == pid
    with pytest.raises(PersonNotFound, match="no person with this id"):
        resolve(org.store, org.secret, "P42")
    with pytest.raises(PersonNotFound, match="1 to 128"):
        resolve(org.store, org.secret, "")


def test_person_record_shows_one_persons_evolution(org: NodeRuntime) -> None:
    record = person_record(org.store, resolve(org.store, org.secret, "P1"))
    assert record.worker["target_group"] == "TG_DISABILITY"
    assert [(c["contract_type"], c["start_date"], c["end_date"]) for c in record.contracts] == [
        ("OPEN_ENDED", "2015-03-01", None), ("FIXED_TERM", "2025-01-01", "2025-07-01")]
    # A4 (2024-12-31), A1 (Feb), A2 (May), A3 (Sep): 2 h each.
    assert [(s.quarter, s.code, s.actions, s.hours) for s in record.support_by_quarter()] == [
        ("2024-Q4", "SA02", 1, 2.0), ("2025-Q1", "SA02", 1, 2.0), ("2025-Q2", "SA03", 1, 2.0),
        ("2025-Q3", "SA04", 1, 2.0)]
    assert [(c.code, c.first, c.last, c.answers, c.change) for c in record.competences()] == [
        ("C01", 0.2, 0.5, 2, 0.3), ("C02", 0.6, 0.4, 2, -0.2), ("C03", 0.9, 0.9, 1, None)]
    assert record.plans == [{"start_date": "2024-03-01", "end_date": None,
                             "goals": [{"domain": "HEALTH", "status": "OPEN"},
                                       {"domain": "WORK_SKILLS", "status": "ACHIEVED"}],
                             "reviews": ["2024-09-01", "2025-03-15"]}]
    assert [(e.code, e.change) for e in record.self_evaluation_changes()] == [
        ("SE01", 0.5), ("SE02", -0.2), ("SE03", None)]
    p4 = person_record(org.store, resolve(org.store, org.secret, "P4"))
    assert [p["start_date"] for p in p4.plans] == ["2023-01-01", "2025-10-01"]
    assert [x["destination"] for x in p4.exits] == ["JOB_SEEKER"]
    assert sum(s.hours for s in p4.support_by_quarter()) == 200.0  # 25 actions of 8 h


# ------------------------------------------------------------------------------ transfer


def test_transfer_document_follows_its_schema_and_holds_the_record(org: NodeRuntime) -> None:
    schema = json.loads((DOCS / "transfer-format.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    for raw in ("P1", "P2", "P3", "P4", "P5"):
        record = person_record(org.store, resolve(org.store, org.secret, raw))
        document = build_transfer(record, node_id="org-test", organisation="Test",
                                  person_reference=raw)
        jsonschema.Draft202012Validator(schema).validate(json.loads(transfer_bytes(document)))
    p2 = build_transfer(person_record(org.store, resolve(org.store, org.secret, "P2")),
                        node_id="org-test", organisation="Test", person_reference="P2")
    assert p2["format"] == "koepel-transfer/1" and p2["person"]["organisation_reference"] == "P2"
    assert [x["destination"] for x in p2["exits"]] == ["TRAINING_EDUCATION", "REGULAR_EMPLOYEE"]
    assert p2["support_summary"] == [{"quarter": "2025-Q1", "code": "SA07",
                                      "label": "job search / transition preparation",
                                      "actions": 1, "hours": 1.5}]
    assert p2["competence_progress"][0]["change"] == pytest.approx(0.8)
    assert p2["self_evaluation_progress"][0]["change"] == pytest.approx(0.6)
    assert p2["support_plans"][0]["goals"] == [{"domain": "TRANSITION", "status": "ACHIEVED"}]
    text = transfer_bytes(p2).decode()
    assert resolve(org.store, org.secret, "P2") not in text  # no internal key, no pseudonym


def test_the_schema_enumerations_are_the_importers() -> None:
    """The documented schema cannot drift from what the importer accepts."""
    from node.imports import records

    schema = json.loads((DOCS / "transfer-format.schema.json").read_text())
    props = schema["properties"]
    assert props["person"]["properties"]["target_group"]["enum"] == list(records.TARGET_GROUPS)
    goal = props["support_plans"]["items"]["properties"]["goals"]["items"]["properties"]
    assert goal["domain"]["enum"] == list(records.GOAL_DOMAINS)
    assert goal["status"]["enum"] == list(records.GOAL_STATUSES)
    item = props["self_evaluations"]["items"]["properties"]["item"]["properties"]["code"]
    assert item["enum"] == list(records.SELF_EVALUATION_ITEMS)
    assert props["exits"]["items"]["properties"]["destination"]["enum"] == list(
        records.DESTINATIONS)


def test_private_files_are_new_and_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    digest = write_private(path, b"{}")
    assert path.stat().st_mode & 0o777 == 0o600 and path.read_bytes() == b"{}"
    assert len(digest) == 64
    with pytest.raises(ExportExists, match="never overwrite"):
        write_private(path, b"other")
    assert path.read_bytes() == b"{}"
    link = tmp_path / "link.json"
    link.symlink_to(tmp_path / "elsewhere.json")
    with pytest.raises(ExportExists):
        write_private(link, b"{}")
    assert not (tmp_path / "elsewhere.json").exists()


def test_the_audit_log_holds_no_record_value_and_is_append_only(org: NodeRuntime) -> None:
    entry = record_export(org.store, actor="coach-1", action="transfer_export",
                          subject="abc", detail={"format": "koepel-transfer/1",
                                                 "entries": {"contracts": 2}})
    assert [e.to_json() for e in audit_entries(org.store)] == [entry.to_json()]
    with pytest.raises(ValueError, match="counts, codes and digests"):
        record_export(org.store, actor="x", action="transfer_export", subject="abc",
                      detail={"value": object()})
    with pytest.raises(ValueError, match="unknown audit action"):
        record_export(org.store, actor="x", action="delete_person", subject="abc", detail={})
    with org.store.reading() as conn, pytest.raises(Exception, match="append-only"):
        conn.execute("DELETE FROM audit_log")
    assert len(audit_entries(org.store)) == 1


# ------------------------------------------------------------------------------ report


def test_report_adds_the_accompaniment_and_organisational_figures(org: NodeRuntime) -> None:
    report = build_report(org.engine, CAT, node_id="org-test", organisation="Test",
                          period="2025", store=org.store)
    s = {section.name: section for section in report.sections}
    # Support hours per person reached, clamped at 150 as the federation's figure:
    # (6 + 1.5 + 0 + 150) / 4 people reached.
    assert s["support_hours_per_person"].total == pytest.approx(39.375)
    assert dict(s["support_hours_per_person"].rows)["TG_SEVERELY_DISADV"] == 150
    assert s["plan_coverage"].total == 0.75 and s["plan_coverage"].persons == 4
    assert s["plan_review_rate"].total == 0.75
    assert dict(s["plan_review_rate"].rows)["TG_DISABILITY"] == 1.0  # P1 and P5, both reviewed
    assert s["retention_12m"].total == 0.75
    assert s["self_evaluation_change"].total == pytest.approx(25 / 300)
    assert s["competence_progression"].total == pytest.approx((0.05 + 0.8) / 2)
    assert dict(s["competence_progression"].rows)["TG_DISADV"] == pytest.approx(0.8)
    assert s["transition_regular_economy"].total == 0.5
    # Organisational figures: P1 (gain 0.05) received SA02, SA03, SA04; P2 (0.8) SA07.
    by_kind = s["competence_by_support_kind"]
    assert [(label.split()[0], round(v, 6), n) for (label, v), n in
            zip(by_kind.rows, by_kind.row_persons, strict=True)] == [
        ("SA02", 0.05, 1), ("SA03", 0.05, 1), ("SA04", 0.05, 1), ("SA07", 0.8, 1)]
    hours = s["support_hours_by_kind"]
    assert [(label.split()[0], v) for label, v in hours.rows] == [
        ("SA02", 2.0), ("SA03", 2.0), ("SA04", 2.0), ("SA05", 200.0), ("SA07", 1.5)]
    assert hours.total == 207.5 and hours.persons == 3  # not capped, P3 received nothing
    # Goals of plans active in 2025: PL1 (2), PL2 (1), PL4 (1), PL5 (none); PL3 ended.
    assert dict(s["plan_goals"].rows) == {"HEALTH/OPEN": 1, "TRANSITION/ACHIEVED": 1,
                                          "WORK_SKILLS/ACHIEVED": 1, "WORK_SKILLS/OPEN": 1}
    assert s["plan_goals"].persons == 4
    # P2 left for a regular job after half a year; P4 for job seeking after 10 months.
    assert dict(s["exits_by_tenure"].rows) == {"REGULAR_JOB/<1y": 1, "UNEMPLOYMENT/<1y": 1}
    last_year = build_report(org.engine, CAT, node_id="org-test", organisation="Test",
                             period="2024", store=org.store)
    exits_2024 = {x.name: x for x in last_year.sections}["exits_by_tenure"]
    assert dict(exits_2024.rows) == {"RETIREMENT/2-5y": 1}  # P5: 2020-01-01 to 2024-06-30
    assert org.engine.ledger.entries() == []  # nothing charged


def test_report_for_a_quarter_skips_retention_and_says_why(org: NodeRuntime) -> None:
    report = build_report(org.engine, CAT, node_id="org-test", organisation="Test",
                          period="2025-Q1", store=org.store)
    assert "retention_12m" not in {s.name for s in report.sections}
    assert any(s.startswith("retention_12m:") and "calendar year" in s for s in report.skipped)
    plan = {s.name: s for s in report.sections}["plan_coverage"]
    assert plan.total == 0.5  # see test_accompaniment_measures: 2 of 4 in Q1


def test_tenure_bands() -> None:
    assert [tenure_band(y) for y in (0, 0.99, 1, 4.5, 5, 10, 30)] == [
        "<1y", "<1y", "1-2y", "2-5y", "5-10y", "10y+", "10y+"]


def test_html_page_is_self_contained_printable_and_escaped(org: NodeRuntime) -> None:
    report = build_report(org.engine, CAT, node_id="org-test",
                          organisation="<script>alert(1)</script> & Co", period="2025",
                          store=org.store)
    page = render_html(report, generated_at="2026-01-05T09:00+00:00")
    assert page.startswith("<!DOCTYPE html>")
    assert "<script" not in page and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co" in page
    assert page.count("<svg") == len(report.sections) == page.count("<section>")
    lowered = page.lower()
    for remote in ("http://", "https://", "src=", "@import", "url("):
        assert remote not in lowered.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "@page" in page and "page-break-inside: avoid" in page
    assert "75.0 %" in page  # plan coverage
    assert "—" in page  # a share over nobody is not shown as 0 %


# ------------------------------------------------------------------------------ forms


def test_forms_annexes_against_hand_computed_figures(org: NodeRuntime) -> None:
    forms = build_forms(org.store, period="2025", organisation="Test", node_id="org-test")
    # Annexe 1: P2 (TD) C3 19 h, 182 days; P4 (TGD) C5 to 1 April (90 days) and C6 from
    # 1 September (122 days in 2025).
    rows = sorted((r.category, r.contract_type, r.weekly_hours, r.days_in_year, r.fte_in_year)
                  for r in forms.annex1)
    assert rows == [("TD", "FIXED_TERM", 19.0, 182, round(0.5 * 182 / 365, 4)),
                    ("TGD", "FIXED_TERM", 38.0, 122, round(122 / 365, 4)),
                    ("TGD", "TRANSITION_CONTRACT", 38.0, 90, round(90 / 365, 4))]
    assert forms.people == 2 and all(r.organisation_id == "" for r in forms.annex1)
    # Annexe 2: Q1 P1 1 (capped) + P2 .5 + P3 1 + P4 1 = 3.5; Q2 1 + .5 + 1 = 2.5;
    # Q3 1 + .5/92 + 1 + 30/92 = 2.33; Q4 3. Reference 2024: (3 + (3 + 90/91 + 30/91) + 3 + 3)/4.
    reference = (3 + 2 + 90 / 91 + 30 / 91 + 3 + 3) / 4
    assert forms.reference_fte == round(reference, 2) == 3.08
    assert [(r.quarter, r.fte, r.maintained) for r in forms.annex2] == [
        ("2025-Q1", 3.5, True), ("2025-Q2", 2.5, False), ("2025-Q3", 2.33, False),
        ("2025-Q4", 3.0, False)]
    assert forms.annex2[0].difference == round(3.5 - reference, 2)
    with pytest.raises(InvalidQueryError, match="yearly"):
        build_forms(org.store, period="2025-Q1", organisation="Test", node_id="org-test")


def test_forms_files_and_reidentification(org: NodeRuntime, tmp_path: Path) -> None:
    ids_file = tmp_path / "ids.txt"
    ids_file.write_text("P2\nP1\nP9\n")
    ids = reidentify(org.secret, read_id_list(ids_file))
    assert len(ids) == 3 and "P2" in ids.values()
    workers = FIXTURES / "small" / "workers.csv"  # a CSV with a person_id column works too
    assert read_id_list(workers) == ["P1", "P2", "P3", "P4", "P5"]
    forms = build_forms(org.store, period="2025", organisation="Test", node_id="org-test",
                        ids=ids)
    assert {r.organisation_id for r in forms.annex1} == {"P2", ""}
    assert forms.unmatched == 1  # P4 is not in the list
    csvs = forms_csv(forms)
    annex1 = csvs["annexe1-2025.csv"].decode("utf-8-sig").splitlines()
    assert annex1[0].startswith("pseudonym,organisation_id,category,")
    assert len(annex1) == 4 and sum(",P2,TD," in line for line in annex1) == 1
    annex2 = csvs["annexe2-2025.csv"].decode("utf-8-sig").splitlines()
    assert annex2 == ["quarter,fte,reference_fte,difference,maintained",
                      "2025-Q1,3.5,3.08,0.42,yes", "2025-Q2,2.5,3.08,-0.58,no",
                      "2025-Q3,2.33,3.08,-0.75,no", "2025-Q4,3.0,3.08,-0.08,no"]
    workbook = load_workbook(io.BytesIO(forms_xlsx(forms)), read_only=True)
    assert workbook.sheetnames == ["Information", "Annexe 1", "Annexe 2"]
    sheet2 = [list(r) for r in workbook["Annexe 2"].iter_rows(values_only=True)]
    assert sheet2[1][:5] == ["2025-Q1", 3.5, 3.08, 0.42, "yes"]  # the per-hire table is below
    assert len(list(workbook["Annexe 1"].iter_rows())) == 4
    info = dict(workbook["Information"].iter_rows(values_only=True))
    assert "PERSONAL DATA" in info["contains"]
    workbook.close()


def test_a_questionnaire_tool_export_maps_onto_self_evaluations(
        node_factory: Callable[..., NodeRuntime], tmp_path: Path) -> None:
    """An XLSX workbook from a questionnaire tool, its 1–5 answers and own item names mapped
    by a column-mapping file; plans in the same workbook."""
    from openpyxl import Workbook

    from node.imports.mapping import load_mapping

    runtime = node_factory("xlsx")
    import_files(runtime.store, runtime.secret, sorted((FIXTURES / "small").glob("*.csv")))
    book = Workbook()
    plans = book.active
    plans.title = "Plannen"
    plans.append(["Plan", "Persoon", "Van", "Tot"])
    plans.append(["X1", "P1", "01/02/2025", ""])
    answers = book.create_sheet("Vragenlijst")
    answers.append(["Nr", "Persoon", "Datum", "Vraag", "Antwoord"])
    answers.append(["V1", "P1", "10/02/2025", "zelfvertrouwen", 2])
    answers.append(["V2", "P1", "10/11/2025", "zelfvertrouwen", 4])
    path = tmp_path / "begeleiding.xlsx"
    book.save(path)
    mapping = tmp_path / "mapping.toml"
    mapping.write_text('''
tool = "Vragenlijst-app"
[support_plans]
file = "begeleiding.xlsx"
sheet = "Plannen"
date_format = "%d/%m/%Y"
[support_plans.columns]
plan_id = "Plan"
person_id = "Persoon"
start_date = "Van"
end_date = "Tot"
[self_evaluations]
file = "begeleiding.xlsx"
sheet = "Vragenlijst"
date_format = "%d/%m/%Y"
[self_evaluations.columns]
evaluation_id = "Nr"
person_id = "Persoon"
evaluation_date = "Datum"
item_code = { column = "Vraag", values = { zelfvertrouwen = "SE01" } }
score_norm = { column = "Antwoord", scale = [1, 5] }
''')
    summary = import_files(runtime.store, runtime.secret, [path], mapping=load_mapping(mapping))
    assert summary.rows == {"support_plans": 1, "self_evaluations": 2}
    record = person_record(runtime.store, resolve(runtime.store, runtime.secret, "P1"))
    assert record.plans[0]["start_date"] == "2025-02-01"
    [change] = record.self_evaluation_changes()
    assert (change.code, change.first, change.last, change.change) == ("SE01", 0.25, 0.75, 0.5)
