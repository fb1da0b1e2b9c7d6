"""`koepel node person | transfer | forms | policy show | audit-log | report --html`, run as
subprocesses against a real node folder holding the small fixture."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import jsonschema
import pytest
from clirun import koepel
from conftest import FIXTURES, create_node

from node import import_files, load_node_config, open_node
from privacy.catalogue import code_label

SCHEMA = json.loads((Path(__file__).resolve().parent.parent / "docs"
                     / "transfer-format.schema.json").read_text())


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = create_node(tmp_path / "n", queriers={"federation": "3", "researcher": "1"})
    text = path.read_text() + (
        '\n[[queriers]]\nidentity = "county"\ncap_epsilon = "0.5"\n'
        'measures = ["headcount", "plan_coverage"]\ndimensions = ["region"]\n'
        'min_epsilon = "0.1"\nmax_epsilon = "0.5"\nmax_cells = 10\n')
    path.write_text(text)
    runtime = open_node(load_node_config(path))
    import_files(runtime.store, runtime.secret,
                 sorted((FIXTURES / "small").glob("*.csv"))
                 + sorted((FIXTURES / "accompaniment").glob("*.csv")))
    runtime.close()
    return path


def audit_rows(config: Path) -> list[dict[str, object]]:
    done = koepel("node", "audit-log", "--config", config, "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def test_person_view_table_json_and_stdin(config: Path) -> None:
    table = koepel("node", "person", "--config", config, "P1")
    assert table.returncode == 0, table.stderr
    # codes with the catalogue's labels, dates as the reader writes them (cli/lang.py)
    for text in ("Contracts", "open-ended", "SA03 on-the-job", "C01 punctuality",
                 "+0.30", "one answer", "work skills: achieved", "15/03/2025",
                 "SE01 self-confidence", "+0.50", "never sent"):
        assert text in table.stdout, text
    as_json = json.loads(koepel("node", "person", "--config", config, "-", "--json",
                                input="P2\n").stdout)
    assert as_json["worker"]["target_group"] == "TG_DISADV"
    assert [c["code"] for c in as_json["competences"]] == ["C01"]
    assert as_json["competences"][0]["change"] == pytest.approx(0.8)
    assert "P2" not in json.dumps(as_json)  # the raw id is not echoed back
    missing = koepel("node", "person", "--config", config, "P42")
    assert missing.returncode == 2 and "no person with this id" in missing.stderr
    assert "P42" not in missing.stderr


def test_transfer_writes_a_private_file_and_an_audit_line(config: Path, tmp_path: Path) -> None:
    out = tmp_path / "p2.json"
    done = koepel("node", "transfer", "--config", config, "P2", "--out", out, "--plaintext",
                  "--recipient", "FOREM Charleroi", "--by", "coach-anna")
    assert done.returncode == 0, done.stderr
    assert out.stat().st_mode & 0o777 == 0o600
    assert "contains personal data" in done.stderr
    document = json.loads(out.read_text())
    assert document["format"] == "koepel-transfer/1"
    assert document["person"]["organisation_reference"] == "P2"
    [entry] = audit_rows(config)
    assert entry["actor"] == "coach-anna" and entry["action"] == "transfer_export"
    detail = entry["detail"]
    assert detail["recipient"] == "FOREM Charleroi"  # type: ignore[index]
    assert detail["entries"] == {"contracts": 1, "exits": 2, "support_actions": 1,  # type: ignore[index]
                                 "competence_assessments": 3, "support_plans": 1,
                                 "self_evaluations": 3}
    assert detail["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()  # type: ignore[index]
    line = json.dumps(entry)
    for value in ("P2", "2025-07-02", "REGULAR_EMPLOYEE", "TG_DISADV", "TRANSITION", "0.8",
                  "SA07", "2002"):
        assert value not in line, value  # no record value in the log line
    again = koepel("node", "transfer", "--config", config, "P2", "--out", out, "--plaintext")
    assert again.returncode == 2 and "already exists" in again.stderr
    assert len(audit_rows(config)) == 1  # a refused export is not logged
    unknown = koepel("node", "transfer", "--config", config, "P42", "--out", tmp_path / "x",
                     "--plaintext")
    assert unknown.returncode == 2 and not (tmp_path / "x").exists()


def test_forms_csv_and_xlsx_with_reidentification(config: Path, tmp_path: Path) -> None:
    out = tmp_path / "forms"
    ids = FIXTURES / "small" / "workers.csv"
    done = koepel("node", "forms", "--config", config, "--period", "2025", "--out", out,
                  "--xlsx", "--ids", ids, "--by", "hr-team", "--plaintext")
    assert done.returncode == 0, done.stderr
    assert "contain personal data" in done.stderr
    assert "maintien de l'effectif 2025" in done.stdout and "3.08 FTE" in done.stdout
    names = sorted(p.name for p in out.iterdir())
    assert names == ["annexe1-2025.csv", "annexe2-2025.csv", "annexes-2025.xlsx",
                     "maintien-2025.csv"]
    assert all((out / n).stat().st_mode & 0o777 == 0o600 for n in names)
    assert out.stat().st_mode & 0o777 == 0o700
    annex1 = (out / "annexe1-2025.csv").read_text("utf-8-sig")
    assert len(re.findall(r",P4,TGD,", annex1)) == 2 and ",P2,TD," in annex1
    [entry] = audit_rows(config)
    assert entry["action"] == "forms_export" and entry["subject"] == "*"
    assert entry["detail"]["people"] == 2 and entry["detail"]["reidentified"] is True  # type: ignore[index]
    again = koepel("node", "forms", "--config", config, "--period", "2025", "--out", out,
                   "--plaintext")
    assert again.returncode == 2 and "already exists" in again.stderr
    assert len(audit_rows(config)) == 1
    quarter = koepel("node", "forms", "--config", config, "--period", "2025-Q2", "--out",
                     tmp_path / "q", "--plaintext")
    assert quarter.returncode == 6 and "yearly" in quarter.stderr


def test_report_html_and_json(config: Path, tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    done = koepel("node", "report", "--config", config, "--period", "2025", "--html", page,
                  "--plaintext")
    assert done.returncode == 0, done.stderr
    assert "Competence progression by kind of support" in done.stdout
    assert "REGULAR_JOB/<1y" in done.stdout and "75.0 %" in done.stdout
    assert page.stat().st_mode & 0o777 == 0o600
    html = page.read_text()
    assert html.count("<svg") >= 15 and "<script" not in html
    data = json.loads(koepel("node", "report", "--config", config, "--period", "2025",
                             "--json").stdout)
    assert data["sections"]["plan_coverage"]["total"] == 0.75
    assert data["sections"]["plan_coverage"]["persons_by_cell"]["NON_TARGET"] == 1
    assert data["sections"]["exits_by_tenure"]["cells"] == {"REGULAR_JOB/<1y": 1,
                                                            "UNEMPLOYMENT/<1y": 1}


def test_policy_show_lists_each_querier_and_measure(config: Path) -> None:
    done = koepel("node", "policy", "show", "--config", config)
    assert done.returncode == 0, done.stderr
    assert "county" in done.stdout and "not shared" in done.stdout
    assert "0.1 to 0.5" in done.stdout and "0.001 to no limit" in done.stdout
    data = json.loads(koepel("node", "policy", "show", "--config", config, "--json").stdout)
    assert data["catalogue_version"] == "2026.2"  # the newest shipped (issue 17 added it)
    assert data["measures"]["plan_coverage"] == {"federation": True, "researcher": True,
                                                 "county": True}
    assert data["measures"]["retention_12m"]["county"] is False
    assert data["dimensions"]["region"]["county"] is True
    assert data["dimensions"]["gender"] == {"federation": True, "researcher": True,
                                            "county": False}
    assert [q["max_cells"] for q in data["queriers"]] == ["catalogue's", "catalogue's", "10"]
    assert len(data["measures"]) == 10


def test_a_refusal_by_choice_is_reported_as_not_shared(config: Path) -> None:
    from node.service.errors import status_for
    from privacy import NotSharedError, QuerySpec, Statistic

    runtime = open_node(load_node_config(config))
    try:
        spec = QuerySpec("2026.1", "retention_12m", Statistic.MEAN, (), (), "2025", 200_000)
        with pytest.raises(NotSharedError) as refused:
            runtime.engine.answer("county", "q1", spec)
        assert refused.value.code == "NOT_SHARED_BY_ORGANISATION"
        assert refused.value.rule == "measure"
        assert "not shared by this organisation" in str(refused.value)
        status = status_for(refused.value)
        assert status.code.name == "PERMISSION_DENIED"
        wide = QuerySpec("2026.1", "headcount", Statistic.COUNT, ("gender",), (), "2025",
                         200_000)
        with pytest.raises(NotSharedError) as by_dimension:
            runtime.engine.answer("county", "q2", wide)
        assert by_dimension.value.rule == "dimension"
        assert runtime.engine.ledger.entries() == []  # a refusal costs nothing
    finally:
        runtime.close()


def test_the_aggregator_tells_a_choice_from_a_refusal() -> None:
    import grpc

    from aggregator.fanout import NodeOutcome, outcome_of
    from aggregator.transport import NodeQueryError

    denied = grpc.StatusCode.PERMISSION_DENIED
    assert outcome_of(NodeQueryError("n", denied, "NOT_SHARED_BY_ORGANISATION", "m")) is (
        NodeOutcome.NOT_SHARED)
    assert outcome_of(NodeQueryError("n", denied, "PERMISSION_DENIED", "m")) is (
        NodeOutcome.REFUSED)


# ------------------------------------------------ the transfer file in the reader's language

def _transfer(config: Path, out: Path, *args: str, lang: str | None = None
              ) -> dict[str, object]:
    language = ("--lang", lang) if lang else ()
    done = koepel(*language, "node", "transfer", "--config", config, "P2", "--out", out,
                  "--plaintext", *args)
    assert done.returncode == 0, done.stderr
    document: dict[str, object] = json.loads(out.read_text())
    jsonschema.Draft202012Validator(SCHEMA).validate(document)
    return document


def _labels(document: dict[str, object]) -> list[tuple[str, str, str]]:
    found = []
    for entry in document["competence_progress"]:  # type: ignore[attr-defined]
        found.append(("competence", entry["code"], entry["label"]))
    for entry in document["support_summary"]:  # type: ignore[attr-defined]
        found.append(("support_action", entry["code"], entry["label"]))
    for entry in document["self_evaluation_progress"]:  # type: ignore[attr-defined]
        found.append(("self_evaluation", entry["code"], entry["label"]))
    return found


def test_the_commands_language_writes_the_files_labels(config: Path, tmp_path: Path) -> None:
    dutch = _transfer(config, tmp_path / "nl.json", lang="nl")
    assert dutch["language"] == "nl" and "vergelijk scores binnen één dossier" in str(
        dutch["notes"])
    labels = _labels(dutch)
    assert labels and all(label == code_label(kind, code, "nl") for kind, code, label in labels)
    assert any(label != code_label(kind, code, "en") for kind, code, label in labels)
    english = _transfer(config, tmp_path / "en.json")
    assert english["language"] == "en"
    assert [(k, c) for k, c, _l in _labels(english)] == [(k, c) for k, c, _l in labels]


def test_language_overrides_the_commands_language(config: Path, tmp_path: Path) -> None:
    french = _transfer(config, tmp_path / "fr.json", "--language", "fr", lang="nl")
    assert french["language"] == "fr"
    assert all(label == code_label(kind, code, "fr") for kind, code, label in _labels(french))
    assert "comparez les scores" in str(french["notes"])


def test_the_organisation_report_reads_dutch_and_every_figure_is_labelled(config: Path) -> None:
    from node.organisation.report import build_report
    from privacy.catalogue import catalogue_labels

    done = koepel("--lang", "nl", "node", "report", "--config", config, "--period", "2025")
    assert done.returncode == 0, done.stderr
    text = " ".join(done.stdout.split())
    assert "Personen onder contract op de laatste dag (personen)" in text
    assert "kansengroep (TG_DISADV)" in text and "totaal" in text
    assert "People under contract" not in text
    node_config = load_node_config(config)
    runtime = open_node(node_config)
    try:
        report = build_report(runtime.engine, node_config.catalogue, node_id="n",
                              organisation="o", period="2025", store=runtime.store)
    finally:
        runtime.close()
    labels = catalogue_labels()
    for section in report.sections:  # the English label is the node's own title: no drift
        assert labels["report_section"][section.name]["en"] == section.title, section.name
        assert section.unit in labels["report_unit"], section.unit
        assert (section.dimension in labels["dimension"]
                or section.dimension in labels["report_dimension"]), section.dimension
