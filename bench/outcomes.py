"""What catalogue 2027.1's outcome measures cost on a node, against a floor in the same run.

One command: ``python -m bench.outcomes [--people N] [--runs R]``. It builds one encrypted node
(a synthetic Walloon EI of N people with its accompaniment and outcome records, imported through
``node.import_files``), approves 2027.1, and times ``QueryEngine.exact_cells`` — the compiled
per-person SQL on SQLCipher, what a DP answer spends most of its time on — for every measure
2027.1 adds, interleaved with the floor: ``reached`` (a count read from the per-person facts)
and ``support_hours`` (a sum over each person's support actions), on the same store. It prints
the medians and the ratios to the floor; nothing is asserted (timed tests are not tests).
"""

from __future__ import annotations

import argparse
import re
import tempfile
from pathlib import Path

from bench.measure import interleaved, median
from cli.federation_runner import setup_node
from node import load_node_config, open_node
from node.synthetic.generator import OrgProfile
from privacy import QuerySpec, Statistic, shipped_catalogue, validate

CATALOGUE = shipped_catalogue("2027.1")
CASES = [
    ("training_hours", ()), ("hires", ("referral_source",)), ("turnover_rate", ()),
    ("exits", ("exit_reason",)), ("situation_6m", ("situation_6m",)),
    ("employment_or_training_12m", ()), ("coach_caseload", ()),
    ("coach_evaluation_change", ()), ("support_hours", ("support_kind",)),
    ("self_evaluation_change", ("self_evaluation_item",)),
]
FLOORS = [("reached", ()), ("support_hours", ())]


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.outcomes")
    parser.add_argument("--people", type=int, default=2500)
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="koepel-bench-outcomes-") as tmp:
        root = Path(tmp) / "node"
        setup_node(root, OrgProfile("bench-ei", "Bench EI", "EI_WAL", "BE-WAL", args.people),
                   seed=1, year=2025, cap_epsilon="10")
        config_path = root / "node.toml"
        config_path.write_text(re.sub(r"approved = \[(.*)\]", r'approved = [\1, "2027.1"]',
                                      config_path.read_text()))
        runtime = open_node(load_node_config(config_path))
        try:
            calls = {}
            for measure, group_by in FLOORS + CASES:
                query = validate(QuerySpec(CATALOGUE.version, measure, Statistic.COUNT,
                                           group_by, (), "2025", 1), CATALOGUE)
                name = measure + "".join(f" by {d}" for d in group_by)
                calls[name] = (lambda q=query: runtime.engine.exact_cells(q))
            samples = interleaved(calls, args.runs)
            with runtime.store.reading() as conn:
                people = conn.execute("SELECT count(*) FROM workers").fetchone()[0]
        finally:
            runtime.close()
    floor = {name: median(samples[name]) for name in ("reached", "support_hours")}
    print(f"{people} people, median of {args.runs} interleaved runs (exact_cells, SQLCipher)")
    print(f"{'query':<45} {'ms':>8} {'÷ reached':>10} {'÷ support_hours':>16}")
    for name, values in samples.items():
        ms = median(values) * 1000
        print(f"{name:<45} {ms:8.2f} {ms / (floor['reached'] * 1000):10.1f} "
              f"{ms / (floor['support_hours'] * 1000):16.2f}")


if __name__ == "__main__":
    main()
