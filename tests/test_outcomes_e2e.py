"""End to end: every measure catalogue 2027.1 adds, asked of real node processes over mutual TLS
through a real aggregator process, with the CLI as a subprocess.

The three nodes hold synthetic organisations (an insertion enterprise, a CISP and an ETA) with
the outcome records of node/synthetic/outcomes.py; their operators approved 2027.1 (it is
opt-in) and the federation asks against it (``catalogue =`` in federation.toml). Each released
figure is compared with the exact figure computed from the nodes' encrypted databases: a cell
passes within 12 reported standard errors (P(|error| > 12σ) ≤ 4·10⁻⁸ per cell for
Laplace-type noise, so with about a hundred cells a false failure has probability below 10⁻⁵).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import cli.federation_runner as runner
import privacy
from cli.federation_runner import LocalFederation, setup_node
from node import load_node_config, open_node
from node.synthetic.generator import OrgProfile
from privacy import QuerySpec, Statistic, shipped_catalogue, validate

CAT = shipped_catalogue("2027.1")
CATALOGUE_FILE = Path(privacy.__file__).parent / "catalogues" / "koepel-2027.1.toml"
PROFILES = [
    OrgProfile("org-ei", "Insertion EI", "EI_WAL", "BE-WAL", 160),
    OrgProfile("org-cisp", "Formation CISP", "CISP_EFT", "BE-WAL", 120),
    OrgProfile("org-eta", "Atelier ETA", "ETA_WAL", "BE-WAL", 200),
]
# (measure, statistic, group-by): every measure added in 2027.1, and the new dimensions under
# measures of 2026.2.
QUERIES = [
    ("training_hours", "sum", ("support_kind",)),
    ("hires", "count", ("referral_source",)),
    ("turnover_rate", "mean", ()),
    ("exits", "count", ("exit_reason",)),
    ("situation_6m", "count", ("situation_6m",)),
    ("situation_12m", "count", ("situation_12m",)),
    ("employment_or_training_6m", "mean", ()),
    ("employment_or_training_12m", "sum", ()),
    ("coach_caseload", "mean", ()),
    ("coach_evaluation_change", "mean", ()),
    ("self_evaluation_change", "count", ("self_evaluation_item",)),
]
EPSILON = "0.3"  # 11 queries: 3.3 of each node's cap of 4


def koepel(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cli", *args], capture_output=True, text=True,
                          timeout=120)


@pytest.fixture(scope="module")
def federation(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalFederation]:
    root = tmp_path_factory.mktemp("outcomes-federation")
    for index, profile in enumerate(PROFILES):
        setup_node(root / profile.org_id, profile, seed=index, year=2025, cap_epsilon="4")
        config = root / profile.org_id / "node.toml"
        config.write_text(re.sub(r'approved = \[(.*)\]', r'approved = [\1, "2027.1"]',
                                 config.read_text()))
    original = runner.render_federation

    def with_catalogue(**kwargs: object) -> str:  # the federation asks against 2027.1
        return original(**kwargs).replace(  # type: ignore[arg-type]
            "[federation]\n", f"[federation]\ncatalogue = {json.dumps(str(CATALOGUE_FILE))}\n",
            1)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(runner, "render_federation", with_catalogue)
        with LocalFederation(root) as running:
            for profile in PROFILES:
                running.add_node(profile.org_id)
            running.start(deadline_seconds=30)
            yield running


def exact(root: Path, measure: str, group_by: tuple[str, ...]
          ) -> dict[tuple[str, ...], tuple[int, int]]:
    query = validate(QuerySpec(CAT.version, measure, Statistic.COUNT, group_by, (), "2025", 1),
                     CAT)
    totals = {cell: (0, 0) for cell in query.cells}
    for profile in PROFILES:
        runtime = open_node(load_node_config(root / profile.org_id / "node.toml"))
        try:
            counts, sums = runtime.engine.exact_cells(query)
        finally:
            runtime.close()
        for cell, c, s in zip(query.cells, counts, sums, strict=True):
            totals[cell] = (totals[cell][0] + c, totals[cell][1] + s)
    return totals


def test_every_new_measure_is_answered_by_the_federation(federation: LocalFederation) -> None:
    assert {q[0] for q in QUERIES} >= set(CAT.measures) - set(shipped_catalogue("2026.2")
                                                              .measures)
    checked_means = 0
    for measure, statistic, group_by in QUERIES:
        args = [a for d in group_by for a in ("--by", d)]
        done = koepel("query", measure, "--stat", statistic, *args, "--epsilon", EPSILON,
                      "--catalogue-version", "2027.1", "--period", "2025", "--json",
                      *federation.client_args())
        assert done.returncode == 0, (measure, done.stdout, done.stderr)
        result = json.loads(done.stdout)
        assert [n["outcome"] for n in result["nodes"]] == ["answered"] * 3, measure
        truth = exact(federation.root, measure, group_by)
        assert len(result["cells"]) == len(truth), measure  # every cell, zeros included
        for cell in result["cells"]:
            count, fixed_sum = truth[tuple(cell["key"])]
            if statistic == "mean" and count < 30:
                continue  # a mean over a handful of people has no useful error bar
            se = cell["standard_error"]
            assert se is not None and se > 0, (measure, cell)
            if statistic == "count":
                true_value = float(count)
            elif statistic == "sum":
                true_value = fixed_sum / CAT.fixed_point_scale
            else:
                true_value = fixed_sum / CAT.fixed_point_scale / count
                checked_means += 1
            assert abs(cell["raw_estimate" if "raw_estimate" in cell else "estimate"]
                       - true_value) <= 12 * se, (measure, cell, true_value)
    assert checked_means >= 3
    # The data is not trivially small: people trained, hired, left and were followed up.
    assert sum(c for c, _ in exact(federation.root, "hires", ()).values()) > 30
    assert sum(c for c, _ in exact(federation.root, "situation_6m", ()).values()) > 20
