"""The importer: HR-tool exports (CSV and XLSX) through column-mapping files, local vocabulary
codes, errors that locate without echoing, and new/updated/unchanged counts."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from clirun import koepel
from conftest import FIXTURES, create_node, write_csv
from openpyxl import Workbook

from node import ImportFailed, NodeRuntime, Vocabulary, import_files
from node.imports.mapping import MappingError, load_mapping
from node.imports.vocabulary import parse_vocabulary

SECRET = "Dupont-Marie-85.07.30-123.45"  # looks like what must never reach an error message


def rows_of(runtime: NodeRuntime, sql: str) -> list[tuple[Any, ...]]:
    with runtime.store.reading() as conn:
        return [tuple(r) for r in conn.execute(sql).fetchall()]


def write_text(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))
    return path


MAPPING = """
tool = "Acme HR 7"

[workers]
file = "personeel*.csv"
delimiter = ";"
encoding = "cp1252"
[workers.columns]
person_id = "Stamnr"
birth_year = { column = "Geboortedatum", transform = "year" }
gender = { column = "Geslacht", values = { V = "F", M = "M", "" = "UNKNOWN" } }
education_level = { column = "Opleiding", values = { laag = "LOWER_SEC", hoog = "TERTIARY" } }
target_group = "Doelgroep"
region = { value = "BE-VLG" }

[contracts]
file = "contracten*.csv"
delimiter = ";"
date_format = "%d/%m/%Y"
decimal_comma = true
[contracts.columns]
contract_id = "Contractnr"
person_id = "Stamnr"
role = { value = "TARGET_WORKER" }
contract_type = { column = "Type", values = { OBD = "OPEN_ENDED", BD = "FIXED_TERM" } }
weekly_hours = "Uren/week"
start_date = "Begin"
end_date = "Einde"

[competence_assessments]
file = "evaluaties*.csv"
[competence_assessments.columns]
assessment_id = "id"
person_id = "Stamnr"
assessment_date = "datum"
competence_code = "competentie"
score_norm = { column = "score", scale = [1, 4] }
"""


def acme_exports(directory: Path) -> list[Path]:
    """An HR tool's exports: Windows-1252, semicolons, Belgian dates, decimal commas."""
    return [
        write_text(directory / "personeel-2025.csv",
                   "Stamnr;Geboortedatum;Geslacht;Opleiding;Doelgroep\n"
                   "001;1980-03-14;V;laag;TG_DISABILITY\n"
                   "002;2001-11-02;M;hoog;TG_DISADV\n"
                   "003;1975-06-30;;laag;TG_DISABILITY\n", "cp1252"),
        write_text(directory / "contracten-2025.csv",
                   "Contractnr;Stamnr;Type;Uren/week;Begin;Einde\n"
                   "K1;001;OBD;38;01/03/2015;\n"
                   "K2;002;BD;19,5;01/01/2025;02/07/2025\n"
                   "K3;003;OBD;30,4;15/09/2020;\n", "cp1252"),
        write_text(directory / "evaluaties-2025.csv",
                   "id,Stamnr,datum,competentie,score\n"
                   "E1,001,2025-02-01,STIPT,1\n"
                   "E2,001,2025-11-01,STIPT,4\n"
                   "E3,002,2025-02-01,C03,2.5\n"),
    ]


def acme_node(factory: Callable[..., NodeRuntime]) -> NodeRuntime:
    return factory("acme")


VOCAB = parse_vocabulary("test", {"version": "acme-1",
                                  "support_actions": {"JOBCOACH": "SA02", "WERKPLEK": "SA03"},
                                  "competences": {"STIPT": "C01"}})


def test_an_hr_tool_export_imports_through_its_mapping_file(
        node_factory: Callable[..., NodeRuntime], tmp_path: Path) -> None:
    node = acme_node(node_factory)
    mapping = load_mapping(write_text(tmp_path / "acme.toml", MAPPING))
    summary = import_files(node.store, node.secret, acme_exports(tmp_path / "in"),
                           mapping=mapping, vocabulary=VOCAB)
    assert summary.new == {"workers": 3, "contracts": 3, "competence_assessments": 3}
    assert summary.sources["workers"] == "personeel-2025.csv"
    workers = sorted(rows_of(node, "SELECT birth_year, gender, education_level, region "
                                   "FROM workers"))
    assert workers == [(1975, "UNKNOWN", "LOWER_SEC", "BE-VLG"),
                       (1980, "F", "LOWER_SEC", "BE-VLG"),
                       (2001, "M", "TERTIARY", "BE-VLG")]
    contracts = sorted(rows_of(node, "SELECT contract_type, weekly_hours, start_date, end_date "
                                     "FROM contracts"))
    assert contracts == [("FIXED_TERM", 19.5, "2025-01-01", "2025-07-02"),
                         ("OPEN_ENDED", 30.4, "2020-09-15", None),
                         ("OPEN_ENDED", 38.0, "2015-03-01", None)]
    scores = sorted(rows_of(node, "SELECT local_code, competence_code, score_norm, "
                                  "mapping_version FROM competence_assessments"))
    assert scores == [("C03", "C03", 0.5, "acme-1"), ("STIPT", "C01", 0.0, "acme-1"),
                      ("STIPT", "C01", 1.0, "acme-1")]


def test_xlsx_workbooks_import_by_sheet_with_real_date_and_number_cells(
        node_factory: Callable[..., NodeRuntime], tmp_path: Path) -> None:
    node = node_factory("x")
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "workers"
    sheet.append(["person_id", "birth_year", "gender", "education_level", "target_group",
                  "region"])
    sheet.append(["P1", 1980, "F", "LOWER_SEC", "TG_DISABILITY", "BE-WAL"])
    sheet.append(["P2", 1999.0, "M", "UPPER_SEC", "TG_DISADV", "BE-WAL"])
    contracts = book.create_sheet("Contracts")
    contracts.append(["contract_id", "person_id", "role", "contract_type", "weekly_hours",
                      "start_date", "end_date"])
    contracts.append(["C1", "P1", "TARGET_WORKER", "OPEN_ENDED", 38, date(2015, 3, 1), None])
    contracts.append(["C2", "P2", "TARGET_WORKER", "FIXED_TERM", 19.5,
                      datetime(2025, 1, 1), datetime(2025, 7, 1)])
    contracts.append([None] * 7)  # an empty row, as spreadsheets often have
    book.create_sheet("Notes").append(["free text the importer must not read"])
    path = tmp_path / "export.xlsx"
    book.save(path)
    summary = import_files(node.store, node.secret, [path])
    assert summary.new == {"workers": 2, "contracts": 2}
    assert summary.sources["contracts"] == "export.xlsx[Contracts]"
    assert summary.notes == ["export.xlsx: worksheet(s) Notes not imported"]
    assert sorted(rows_of(node, "SELECT weekly_hours, start_date, end_date FROM contracts")) \
        == [(19.5, "2025-01-01", "2025-07-01"), (38.0, "2015-03-01", None)]
    # Errors in a worksheet are located by sheet and row.
    contracts["E2"] = "veertig"
    book.save(path)
    with pytest.raises(ImportFailed, match=r"export.xlsx\[Contracts\]:2: column weekly_hours "
                                           r"\(text\): not a number"):
        import_files(node.store, node.secret, [path])


def test_errors_give_file_line_column_and_value_class_but_never_the_value(
        node_factory: Callable[..., NodeRuntime], tmp_path: Path) -> None:
    node = node_factory()
    ok = {"person_id": "A", "birth_year": "1980", "gender": "F", "education_level": "LOWER_SEC",
          "target_group": "TG_DISABILITY", "region": "BE-WAL"}
    workers = write_csv(tmp_path / "in" / "workers.csv", [
        ok,
        {**ok, "person_id": "B", "gender": SECRET},
        {**ok, "person_id": "C", "birth_year": "1901"},
        {**ok, "person_id": "A"},
        {**ok, "person_id": "", "region": ""},
    ])
    contracts = write_csv(tmp_path / "in" / "contracts.csv", [
        {"contract_id": "K", "person_id": "A", "role": "TARGET_WORKER",
         "contract_type": "OPEN_ENDED", "weekly_hours": "38", "start_date": "2025-02-01",
         "end_date": "2025-01-01"},
    ])
    with pytest.raises(ImportFailed) as failed:
        import_files(node.store, node.secret, [workers, contracts])
    text = str(failed.value)
    assert "workers.csv:3: column gender (text): not one of the 4 allowed codes" in text
    assert "workers.csv:4: column birth_year (whole number): outside the allowed range " \
           "1940–2010" in text
    assert "workers.csv:5: column person_id: the same id is also on line 2" in text
    assert "workers.csv:6: column person_id (id): an id must be 1 to 128 characters" in text
    assert "workers.csv:6: column region (empty): not one of the 3 allowed codes" in text
    assert "contracts.csv:2: column end_date (date-like text): must be after start_date" in text
    assert SECRET not in text and "1901" not in text
    assert rows_of(node, "SELECT count(*) FROM workers") == [(0,)]


def test_an_error_in_the_last_file_writes_nothing_from_the_first(
        node_factory: Callable[..., NodeRuntime], tmp_path: Path) -> None:
    node = node_factory()
    files = sorted((FIXTURES / "small").glob("*.csv"))
    exits = tmp_path / "exits.csv"
    exits.write_text((FIXTURES / "small" / "exits.csv").read_text().replace("JOB_SEEKER",
                                                                            "FIRED"))
    with pytest.raises(ImportFailed, match=r"exits\.csv:4: column destination"):
        import_files(node.store, node.secret, [f for f in files if f.name != "exits.csv"]
                     + [exits])
    for table in ("workers", "contracts", "support_actions", "competence_assessments"):
        assert rows_of(node, f"SELECT count(*) FROM {table}") == [(0,)]


def test_local_support_action_codes_are_mapped_and_both_codes_are_stored(
        node_factory: Callable[..., NodeRuntime], tmp_path: Path) -> None:
    node = node_factory()
    workers = FIXTURES / "small" / "workers.csv"
    actions = write_csv(tmp_path / "support_actions.csv", [
        {"action_id": "A1", "person_id": "P1", "action_date": "2025-02-01",
         "duration_min": "60", "action_code": "JOBCOACH"},
        {"action_id": "A2", "person_id": "P1", "action_date": "2025-03-01",
         "duration_min": "60", "action_code": "WERKPLEK"},
        {"action_id": "A3", "person_id": "P2", "action_date": "2025-03-01",
         "duration_min": "30", "action_code": "SA10"},  # a federation code, used as is
    ])
    import_files(node.store, node.secret, [workers, actions], vocabulary=VOCAB)
    assert sorted(rows_of(node, "SELECT local_code, action_code, mapping_version "
                                "FROM support_actions")) == [
        ("JOBCOACH", "SA02", "acme-1"), ("SA10", "SA10", "acme-1"),
        ("WERKPLEK", "SA03", "acme-1")]
    assert sorted(rows_of(node, "SELECT kind, local_code, fed_code, mapping_version "
                                "FROM vocabulary_map")) == [
        ("support_action", "JOBCOACH", "SA02", "acme-1"),
        ("support_action", "SA10", "SA10", "acme-1"),
        ("support_action", "WERKPLEK", "SA03", "acme-1")]
    # Changing a mapping without a new version would make old figures ambiguous: refused.
    changed = parse_vocabulary("test", {"version": "acme-1",
                                        "support_actions": {"JOBCOACH": "SA05",
                                                            "WERKPLEK": "SA03"}})
    with pytest.raises(ImportFailed, match="give \\[vocabulary\\] a new version"):
        import_files(node.store, node.secret, [workers, actions], vocabulary=changed)
    renamed = parse_vocabulary("test", {"version": "acme-2",
                                        "support_actions": {"JOBCOACH": "SA05",
                                                            "WERKPLEK": "SA03"}})
    summary = import_files(node.store, node.secret, [workers, actions], vocabulary=renamed)
    assert summary.updated["support_actions"] == 3  # new federation code or mapping version
    assert ("JOBCOACH", "SA05") in rows_of(node, "SELECT local_code, action_code "
                                                 "FROM support_actions")


def test_unmapped_local_codes_refuse_the_import_and_are_listed(
        node_factory: Callable[..., NodeRuntime], tmp_path: Path) -> None:
    node = node_factory()
    rows = [{"action_id": f"A{i}", "person_id": "P1", "action_date": "2025-02-01",
             "duration_min": "60", "action_code": code}
            for i, code in enumerate(["JOBCOACH", "MENTOR", "MENTOR", "BUDDY", SECRET])]
    actions = write_csv(tmp_path / "support_actions.csv", rows)
    with pytest.raises(ImportFailed) as failed:
        import_files(node.store, node.secret, [FIXTURES / "small" / "workers.csv", actions],
                     vocabulary=VOCAB)
    text = str(failed.value)
    assert "support_actions.csv:3: column action_code (code-like text): local code not mapped " \
           "to a federation code in node.toml [vocabulary.support_actions]" in text
    assert "3 distinct local code(s) map to no federation code; add each to node.toml " \
           "[vocabulary.support_actions]" in text
    assert "a code first at support_actions.csv:3 (2 rows)" in text
    assert "a code first at support_actions.csv:5 (1 row)" in text
    assert SECRET not in text and "MENTOR" not in text  # a code column can hold anything
    listed = failed.value.describe(show_codes=True)  # the operator's explicit choice
    assert "MENTOR (2 rows, first at support_actions.csv:3)" in listed
    assert "BUDDY (1 row, first at support_actions.csv:5)" in listed
    assert {u.code for u in failed.value.unmapped} == {"MENTOR", "BUDDY", SECRET}
    assert rows_of(node, "SELECT count(*) FROM workers") == [(0,)]


def test_reimport_counts_new_updated_unchanged_and_dry_run_writes_nothing(
        node_factory: Callable[..., NodeRuntime], tmp_path: Path) -> None:
    node = node_factory()
    files = sorted((FIXTURES / "small").glob("*.csv"))
    dry = import_files(node.store, node.secret, files, dry_run=True)
    assert dry.dry_run and dry.new["workers"] == 5 and dry.unchanged["workers"] == 0
    assert rows_of(node, "SELECT count(*) FROM workers") == [(0,)]
    import_files(node.store, node.secret, files)
    workers = tmp_path / "workers.csv"
    text = (FIXTURES / "small" / "workers.csv").read_text()
    workers.write_text(text.replace("P2,2002,M", "P2,2002,X") + "P9,1970,F,TERTIARY,"
                       "NON_TARGET,BE-BRU\n")
    again = import_files(node.store, node.secret, [workers], dry_run=True)
    assert (again.new["workers"], again.updated["workers"], again.unchanged["workers"]) \
        == (1, 1, 4)
    assert rows_of(node, "SELECT count(*) FROM workers") == [(5,)]
    done = import_files(node.store, node.secret, [workers])
    assert (done.new["workers"], done.updated["workers"]) == (1, 1)
    same = import_files(node.store, node.secret, [workers])
    assert (same.new["workers"], same.updated["workers"], same.unchanged["workers"]) \
        == (0, 0, 6)


def test_progress_is_reported_for_large_files(
        node_factory: Callable[..., NodeRuntime], tmp_path: Path) -> None:
    node = node_factory()
    workers = write_csv(tmp_path / "workers.csv", [
        {"person_id": f"P{i}", "birth_year": "1980", "gender": "F",
         "education_level": "LOWER_SEC", "target_group": "TG_DISABILITY", "region": "BE-WAL"}
        for i in range(4500)])
    calls: list[tuple[str, int, int | None]] = []
    import_files(node.store, node.secret, [workers],
                 progress=lambda *args: calls.append(args))
    assert calls == [("workers.csv", 2000, 4500), ("workers.csv", 4000, 4500),
                     ("workers.csv", 4500, 4500)]


@pytest.mark.parametrize(("text", "message"), [
    ('[workers]\nfle = "x.csv"\n', "unknown key"),
    ('[workers.columns]\nbirthday = "x"\n', "birthday is not a column of workers"),
    ('[workers.columns]\ngender = { column = "G", value = "F" }\n', "exactly one of"),
    ('[competence_assessments.columns]\nscore_norm = { column = "s", scale = [4, 1] }\n',
     "min < max"),
    ('[workers.columns]\nbirth_year = { column = "b", transform = "age" }\n', "transform"),
    ('tool = "x"\n', "describes no table"),
])
def test_malformed_mapping_files_are_refused(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(MappingError, match=message):
        load_mapping(write_text(tmp_path / "m.toml", text))


def test_vocabulary_in_node_toml_is_checked() -> None:
    with pytest.raises(ValueError, match="not a federation support-action"):
        parse_vocabulary("node.toml [vocabulary]", {"support_actions": {"JOBCOACH": "SA77"}})
    with pytest.raises(ValueError, match="local code"):
        parse_vocabulary("node.toml [vocabulary]", {"competences": {"bad code!": "C01"}})
    auto = parse_vocabulary("v", {"competences": {"STIPT": "C01"}})
    assert auto.version.startswith("auto-") and Vocabulary().version == "identity"
    assert auto.competence("T:72") == "T:72" and auto.competence("X1") is None


def test_cli_import_with_mapping_dry_run_json_and_unmapped_codes(tmp_path: Path) -> None:
    config = create_node(tmp_path / "n")
    config.write_text(config.read_text().replace('# STIPTHEID = "C01"', 'STIPT = "C01"'))
    mapping = write_text(tmp_path / "acme.toml", MAPPING)
    exports = acme_exports(tmp_path / "in")
    dry = koepel("node", "import", "--config", config, "--mapping", mapping, "--dry-run",
                 "--json", *exports)
    assert dry.returncode == 0, dry.stderr
    assert '"new": 3' in dry.stdout and '"dry_run": true' in dry.stdout
    done = koepel("node", "import", "--config", config, "--mapping", mapping, *exports)
    assert done.returncode == 0 and "contracten-2025.csv" in done.stdout, done.stderr
    again = koepel("node", "import", "--config", config, "--mapping", mapping, "--json",
                   *exports)
    assert '"unchanged": 3' in again.stdout and '"new": 0' in again.stdout
    bad = exports[2]
    bad.write_text(bad.read_text() + "E4,002,2025-03-01,ONBEKEND,2\n")
    refused = koepel("node", "import", "--config", config, "--mapping", mapping, *exports)
    assert refused.returncode == 5, refused.stderr
    assert "a code first at evaluaties-2025.csv:5 (1 row)" in refused.stderr
    assert "[vocabulary.competences]" in refused.stderr and "ONBEKEND" not in refused.stderr
    listed = koepel("node", "import", "--config", config, "--mapping", mapping,
                    "--list-unmapped", *exports)
    assert listed.returncode == 5
    assert "ONBEKEND (1 row, first at evaluaties-2025.csv:5)" in listed.stderr
