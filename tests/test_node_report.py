"""The organisation's local exact report, and the catalogue diff an operator reviews."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from clirun import koepel
from conftest import FIXTURES, create_node

from node import NodeRuntime, import_files, load_node_config, open_node
from node.engine.catalogue_diff import diff_catalogues
from node.organisation.report import build_report
from privacy import default_catalogue, load_catalogue, shipped_catalogue

CAT = default_catalogue()
OLD = shipped_catalogue("2025.1")  # the diff below changes this version
CATALOGUE_TEXT = (Path(__file__).parents[1] / "privacy" / "catalogues" /
                  "koepel-2025.1.toml").read_text()


def test_the_report_gives_exact_per_person_figures_and_charges_nothing(
        node_factory: Callable[..., NodeRuntime]) -> None:
    runtime = node_factory("r")
    import_files(runtime.store, runtime.secret, sorted((FIXTURES / "small").glob("*.csv")))
    report = build_report(runtime.engine, CAT, node_id="org-test", organisation="Test",
                          period="2025")
    sections = {s.name: s for s in report.sections}
    headcount = dict(sections["headcount"].rows)
    assert headcount["TG_DISABILITY"] == 1 and headcount["NON_TARGET"] == 1
    assert headcount["TG_SEVERELY_DISADV"] == 1 and sections["headcount"].total == 3
    assert round(sections["fte"].total, 2) == 2.83  # 1 + 0.25 + 1 + 0.58, per person capped
    assert sections["reached"].total == 4
    exits = dict(sections["exits"].rows)
    assert exits["REGULAR_JOB"] == 1 and exits["UNEMPLOYMENT"] == 1
    assert exits["TRAINING"] == 0 and sections["exits"].total == 2  # last exit only
    assert sections["support_hours"].total == 157.5  # 6 + 1.5 + 0 + 150 (capped from 200)
    assert "at most 150 hours" in sections["support_hours"].note
    assert "39.4 hours per person reached" in sections["support_hours"].note
    assert runtime.engine.ledger.entries() == []  # nothing charged, nothing recorded


def test_cli_report_table_and_json(tmp_path: Path) -> None:
    config = create_node(tmp_path / "n")
    runtime = open_node(load_node_config(config))
    import_files(runtime.store, runtime.secret, sorted((FIXTURES / "small").glob("*.csv")))
    runtime.close()
    table = koepel("node", "report", "--config", config, "--period", "2025-Q3")
    assert table.returncode == 0, table.stderr
    assert "local only, never sent" in table.stdout and "TG_DISABILITY" in table.stdout
    as_json = koepel("node", "report", "--config", config, "--period", "2025", "--json")
    data = json.loads(as_json.stdout)
    assert data["exact"] and data["local_only"]
    assert data["sections"]["headcount"]["total"] == 3
    assert data["sections"]["exits"]["cells"]["REGULAR_JOB"] == 1
    bad = koepel("node", "report", "--config", config, "--period", "last year")
    assert bad.returncode == 6 and "period must be a year" in bad.stderr


def changed_catalogue(tmp_path: Path) -> Path:
    text = (CATALOGUE_TEXT.replace('version = "2025.1"', 'version = "2026.1"')
            .replace('upper = "150"', 'upper = "200"')
            .replace('"100", "150"]', '"100", "150", "200"]')
            .replace('"TRAINING", "UNEMPLOYMENT"', '"TRAINING", "JOB_SEEKING"')
            .replace('UNEMPLOYMENT = ["JOB_SEEKER"]', 'JOB_SEEKING = ["JOB_SEEKER"]')
            .replace('X_OR_UNKNOWN = ["X", "UNKNOWN"]', 'X_OR_UNKNOWN = ["X"]\n'
                     'UNKNOWN = ["UNKNOWN"]')
            .replace('cells = ["F", "M", "X_OR_UNKNOWN"]',
                     'cells = ["F", "M", "X_OR_UNKNOWN", "UNKNOWN"]'))
    head, _, rest = text.partition("[measures.reached]")
    _, _, rest = rest.partition("[measures.fte]")  # drop `reached`
    text = head + "[measures.fte]" + rest + (
        '\n[measures.tenure]\nlabel = "Tenure"\npopulation = "active_at_end"\nvalue = "tenure"\n'
        'lower = "0"\nupper = "480"\nstatistics = ["sum", "mean"]\n')
    path = tmp_path / "koepel-2026.1.toml"
    path.write_text(text)
    return path


def test_catalogue_diff_lists_additions_removals_and_changes(tmp_path: Path) -> None:
    new = load_catalogue(changed_catalogue(tmp_path))
    result = diff_catalogues(OLD, new, approved=("2025.1",))
    found = {(c.kind, c.name, c.change): c.details for c in result.changes}
    assert found[("catalogue", "2026.1", "changed")] == ("version: 2025.1 → 2026.1",)
    assert found[("measure", "support_hours", "changed")] == (
        "bounds: [0, 150] → [0, 200] (one person can weigh more)",
        "bins: [0, 5, 10, 20, 40, 60, 80, 100, 150] → [0, 5, 10, 20, 40, 60, 80, 100, 150, 200]")
    assert found[("measure", "reached", "removed")] == ()
    assert "bounds [0, 480]" in found[("measure", "tenure", "added")]
    assert found[("dimension", "exit_destination", "changed")] == (
        "cells added: JOB_SEEKING", "cells removed: UNEMPLOYMENT")
    assert found[("dimension", "gender", "changed")] == (
        "cells added: UNKNOWN", "codes in cell X_OR_UNKNOWN removed: UNKNOWN")
    assert len(result.changes) == 6
    assert not result.compilable and "tenure" in result.compile_problem
    assert not result.approved
    same = diff_catalogues(OLD, OLD, approved=("2025.1",))
    assert same.changes == () and same.compilable and same.approved


def test_cli_catalogue_diff(tmp_path: Path) -> None:
    config = create_node(tmp_path / "n")
    out = koepel("node", "catalogue", "diff", "--config", config, changed_catalogue(tmp_path))
    assert out.returncode == 0, out.stderr
    assert "support_hours" in out.stdout and "[0, 200]" in out.stdout
    assert "statistics [mean, sum]" in out.stdout  # markup-looking text is shown as is
    assert "this node cannot serve it" in out.stdout
    as_json = json.loads(koepel("node", "catalogue", "diff", "--config", config, "--json",
                                changed_catalogue(tmp_path)).stdout)
    assert as_json["new_version"] == "2026.1" and not as_json["compilable"]
