"""How long the organisation's own tool takes on a synthetic organisation.

Run from the repository root:
    PYTHONPATH=$PWD python bench/org_tool.py [--people 2500] [--type MAATWERKBEDRIJF]
                                             [--rounds 20]

One node (a real SQLCipher store) holds a synthetic organisation with its accompaniment records.
Measured, median of ``--rounds`` runs: each 2026.1 accompaniment measure's exact per-person SQL
grouped by target group (what a DP answer computes before adding noise), the whole local report
(catalogue figures and organisational figures), its HTML page, the Walloon forms, and one
person's record.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from conftest import create_node  # noqa: E402

from node import import_files, load_node_config, open_node  # noqa: E402
from node.organisation.forms import build_forms  # noqa: E402
from node.organisation.person import person_record  # noqa: E402
from node.organisation.report import build_report  # noqa: E402
from node.organisation.report_html import render_html  # noqa: E402
from node.synthetic.generator import REGION_OF_ORG_TYPE, OrgProfile, generate_organisation  # noqa: E402
from node.synthetic.plans import generate_accompaniment  # noqa: E402
from privacy import QuerySpec, Statistic, ValidatedQuery, default_catalogue, validate  # noqa: E402

NEW_MEASURES = ("plan_coverage", "plan_reviewed", "retention_12m", "self_evaluation_change")


def median_ms(rounds: int, call: Callable[[], object]) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=2500)
    parser.add_argument("--type", default="MAATWERKBEDRIJF")
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    catalogue = default_catalogue()
    with tempfile.TemporaryDirectory(prefix="koepel-bench-") as tmp:
        root = Path(tmp)
        runtime = open_node(load_node_config(create_node(root / "node")))
        profile = OrgProfile("bench", "Bench", args.type, REGION_OF_ORG_TYPE[args.type],
                             args.people)
        org = generate_organisation(profile, 1, 2025)
        paths = [*org.write_csvs(root / "csv").values(),
                 *generate_accompaniment(org, 1, 2025).write_csvs(root / "csv").values()]
        start = time.perf_counter()
        summary = import_files(runtime.store, runtime.secret, paths)
        imported = time.perf_counter() - start
        rows = sum(summary.rows.values())
        print(f"{args.type}, {args.people} people: {rows:,} rows imported in "
              f"{imported:.1f} s ({summary.rows['support_plans']:,} plans, "
              f"{summary.rows['self_evaluations']:,} self-evaluation answers)")
        for name in NEW_MEASURES:
            query = validate(QuerySpec(catalogue.version, name, Statistic.COUNT,
                                       ("target_group",), (), "2025", 1), catalogue)
            def exact(q: ValidatedQuery = query) -> object:
                return runtime.engine.exact_cells(q)

            print(f"  {name:24s} exact cells by target group: "
                  f"{median_ms(args.rounds, exact):7.1f} ms")

        def report() -> object:
            return build_report(runtime.engine, catalogue, node_id="bench", organisation="Bench",
                                period="2025", store=runtime.store)

        local = report()
        rounds = max(3, args.rounds // 4)
        print(f"  whole report (16 figures):           {median_ms(rounds, report):7.1f} ms")
        print(f"  its HTML page:                       "
              f"{median_ms(rounds, lambda: render_html(local, generated_at='now')):7.1f} ms")  # type: ignore[arg-type]
        print(f"  Walloon forms (2 annexes):           "
              f"{median_ms(rounds, lambda: build_forms(runtime.store, period='2025', organisation='B', node_id='b')):7.1f} ms")  # noqa: E501
        with runtime.store.reading() as conn:
            pid = conn.execute("SELECT pid FROM support_plans LIMIT 1").fetchone()[0]
        print(f"  one person's record:                 "
              f"{median_ms(args.rounds, lambda: person_record(runtime.store, pid)):7.1f} ms")
        runtime.close()


if __name__ == "__main__":
    main()
