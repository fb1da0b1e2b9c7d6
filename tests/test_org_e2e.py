"""End to end for an organisation: import a synthetic organisation with the CLI, produce its
HTML report and its regional forms, then answer a federated DP query on a measure added in
catalogue 2026.1 through real node and aggregator processes — and see a measure an
organisation chose not to share reported as such.

Each released figure is compared with the exact figure computed from the nodes' databases. A
cell passes when its error is within 12 reported standard errors: for the Laplace-type noise
used, P(|error| > 12σ) ≤ e^{-12·√2} ≈ 4·10⁻⁸ per cell, so over the handful of cells here a
false failure has probability below 10⁻⁶.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from clirun import koepel

from cli.federation_runner import LocalFederation, setup_node
from node import load_node_config, open_node
from node.synthetic.generator import OrgProfile
from privacy import QuerySpec, Statistic, default_catalogue, validate

CAT = default_catalogue()
OTHER = OrgProfile("org-b", "Atelier B", "ETA_WAL", "BE-WAL", 180)


@pytest.fixture(scope="module")
def federation(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalFederation]:
    root = tmp_path_factory.mktemp("orgfed")
    # org-a: exactly what an organisation's staff do, with the CLI.
    csv_dir = root / "exports-a"
    for args in (("node", "synth", csv_dir, "--type", "EI_WAL", "--people", "160", "--seed",
                  "4", "--year", "2025"),
                 ("node", "init", root / "org-a", "--id", "org-a", "--organisation",
                  "Insertion A", "--querier", "federation=4")):
        done = koepel(*args)
        assert done.returncode == 0, done.stderr
    done = koepel("node", "import", "--config", root / "org-a" / "node.toml",
                  *sorted(csv_dir.glob("*.csv")))
    assert done.returncode == 0, done.stderr
    assert "support_plans" in done.stdout and "self_evaluations" in done.stdout
    shutil.rmtree(csv_dir)
    # org-b: set up as the demo does, and it does not share self-evaluation with anyone.
    setup_node(root / OTHER.org_id, OTHER, seed=7, year=2025, cap_epsilon="4")
    config = root / OTHER.org_id / "node.toml"
    shared = [m for m in CAT.measures if m != "self_evaluation_change"]
    config.write_text(config.read_text() + "measures = [" + ", ".join(
        f'"{m}"' for m in shared) + "]\n")
    with LocalFederation(root) as running:
        for node_id in ("org-a", OTHER.org_id):
            running.add_node(node_id)
        running.start(deadline_seconds=20)
        yield running


def exact(root: Path, node_ids: tuple[str, ...], measure: str
          ) -> dict[tuple[str, ...], tuple[int, int]]:
    query = validate(QuerySpec(CAT.version, measure, Statistic.COUNT, ("target_group",), (),
                               "2025", 1), CAT)
    totals = {cell: (0, 0) for cell in query.cells}
    for node_id in node_ids:
        runtime = open_node(load_node_config(root / node_id / "node.toml"))
        try:
            counts, sums = runtime.engine.exact_cells(query)
        finally:
            runtime.close()
        for cell, c, s in zip(query.cells, counts, sums, strict=True):
            totals[cell] = (totals[cell][0] + c, totals[cell][1] + s)
    return totals


def test_the_html_report_and_the_forms_of_an_imported_organisation(
        federation: LocalFederation, tmp_path: Path) -> None:
    config = federation.root / "org-a" / "node.toml"
    page = tmp_path / "report.html"
    done = koepel("node", "report", "--config", config, "--period", "2025", "--html", page,
                  "--plaintext")
    assert done.returncode == 0, done.stderr
    html = page.read_text()
    for title in ("Share of people reached who have a support plan",
                  "Competence progression by kind of support received",
                  "People who left (last exit of the period), by destination and tenure"):
        assert title in html
    assert html.count("<svg") >= 15 and "<script" not in html
    forms = tmp_path / "forms"
    key = tmp_path / "administration.key"
    made = koepel("keygen", "--out", key)
    assert made.returncode == 0, made.stderr
    recipient = made.stdout.split()[-1]
    done = koepel("node", "forms", "--config", config, "--period", "2025", "--out", forms,
                  "--xlsx", "--encrypt-to", recipient)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in forms.iterdir()) == [
        "annexe1-2025.csv.age", "annexe2-2025.csv.age", "annexes-2025.xlsx.age",
        "maintien-2025.csv.age"]
    for name in ("annexe1-2025.csv", "annexe2-2025.csv"):  # sealed: opened by the recipient
        opened = koepel("decrypt", forms / f"{name}.age", "--identity", key,
                        "--out", tmp_path / name)
        assert opened.returncode == 0, opened.stderr
    forms = tmp_path
    annex1 = (forms / "annexe1-2025.csv").read_text("utf-8-sig").splitlines()
    assert len(annex1) > 20 and {line.split(",")[2] for line in annex1[1:]} <= {"TD", "TGD"}
    quarters = (forms / "annexe2-2025.csv").read_text("utf-8-sig").splitlines()[1:]
    assert [q.split(",")[0] for q in quarters] == [f"2025-Q{i}" for i in range(1, 5)]
    assert all(float(q.split(",")[1]) > 10 for q in quarters)


def test_a_federated_dp_query_on_a_new_measure(federation: LocalFederation) -> None:
    done = koepel("query", "plan_coverage", "--stat", "mean", "--period", "2025",
                  "--epsilon", "1", "--json", *federation.client_args())
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert [n["outcome"] for n in result["nodes"]] == ["answered", "answered"]
    [cell] = result["cells"]
    count, fixed_sum = _total(exact(federation.root, ("org-a", "org-b"), "plan_coverage"))
    assert count > 250
    truth = fixed_sum / 100 / count
    assert 0.5 < truth < 0.95
    assert abs(cell["estimate"] - truth) <= 12 * cell["standard_error"], (cell, truth)


def test_retention_by_target_group_against_the_exact_counts(
        federation: LocalFederation) -> None:
    done = koepel("query", "retention_12m", "--stat", "sum", "--by", "target_group",
                  "--period", "2025", "--epsilon", "1", "--json", *federation.client_args())
    assert done.returncode == 0, done.stderr
    truth = exact(federation.root, ("org-a", "org-b"), "retention_12m")
    for cell in json.loads(done.stdout)["cells"]:
        retained = truth[tuple(cell["key"])][1] / 100
        assert abs(cell["estimate"] - retained) <= 12 * cell["standard_error"], cell
    quarter = koepel("query", "retention_12m", "--stat", "sum", "--period", "2025-Q2",
                     "--epsilon", "1", *federation.client_args())
    assert "calendar year" in quarter.stdout + quarter.stderr  # refused, nothing spent


def test_a_measure_not_shared_is_reported_as_a_choice(federation: LocalFederation) -> None:
    done = koepel("query", "self_evaluation_change", "--stat", "mean", "--period", "2025",
                  "--epsilon", "1", *federation.client_args())
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"org-b \(not shared by this organisation", done.stdout), done.stdout
    assert "1 of 2 nodes answered" in done.stdout
    as_json = json.loads(koepel("query", "self_evaluation_change", "--stat", "mean",
                                "--period", "2025", "--epsilon", "1", "--json",
                                *federation.client_args()).stdout)
    outcomes = {n["node_id"]: n for n in as_json["nodes"]}
    assert outcomes["org-a"]["outcome"] == "answered"
    assert outcomes["org-b"]["outcome"] == "not_shared"
    assert outcomes["org-b"]["reason"].startswith("NOT_SHARED_BY_ORGANISATION")
    assert outcomes["org-b"]["cost_epsilon"] == "0"


def _total(cells: dict[tuple[str, ...], tuple[int, int]]) -> tuple[int, int]:
    return sum(c for c, _ in cells.values()), sum(s for _, s in cells.values())
