"""Synthetic accompaniment records: deterministic, importable, plausible, and without any
effect on the organisation's other synthetic tables."""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Callable
from datetime import date
from pathlib import Path

from node import NodeRuntime, import_files
from node.imports.records import GOAL_DOMAINS, GOAL_STATUSES, SELF_EVALUATION_ITEMS
from node.synthetic.generator import OrgProfile, generate_organisation
from node.synthetic.plans import ACCOMPANIMENT_COLUMNS, generate_accompaniment

EI = OrgProfile("org-ei", "Insertion", "EI_WAL", "BE-WAL", 200)
ETA = OrgProfile("org-eta", "Atelier", "ETA_WAL", "BE-WAL", 200)


def test_same_inputs_same_records_and_the_other_tables_untouched() -> None:
    org = generate_organisation(EI, 5, 2025)
    before = copy.deepcopy(org.tables)
    a = generate_accompaniment(org, 5, 2025)
    b = generate_accompaniment(generate_organisation(EI, 5, 2025), 5, 2025)
    assert a.tables == b.tables
    assert org.tables == before
    assert generate_accompaniment(org, 6, 2025).tables != a.tables
    assert set(a.tables) == set(ACCOMPANIMENT_COLUMNS)
    for table, columns in ACCOMPANIMENT_COLUMNS.items():
        assert all(tuple(row) == columns for row in a.tables[table])


def test_records_import_cleanly(node_factory: Callable[..., NodeRuntime], tmp_path: Path
                                ) -> None:
    runtime = node_factory("s")
    org = generate_organisation(ETA, 2, 2025)
    paths = [*org.write_csvs(tmp_path).values(),
             *generate_accompaniment(org, 2, 2025).write_csvs(tmp_path).values()]
    summary = import_files(runtime.store, runtime.secret, paths)
    assert summary.rows["support_plans"] > 100 and summary.rows["self_evaluations"] > 200


def test_shape_is_plausible() -> None:
    org = generate_organisation(EI, 9, 2025)
    tables = generate_accompaniment(org, 9, 2025).tables
    targets = {w["person_id"] for w in org.tables["workers"] if w["target_group"] != "NON_TARGET"}
    planned = {p["person_id"] for p in tables["support_plans"]}
    assert planned <= targets  # supervisory staff have no plan
    assert 0.6 <= len(planned) / len(targets) <= 1.0
    assert len(planned) == len(tables["support_plans"])  # one plan per person
    plans = {p["plan_id"]: p for p in tables["support_plans"]}
    for review in tables["plan_reviews"]:
        plan = plans[review["plan_id"]]
        assert plan["start_date"] < review["review_date"]
        assert not plan["end_date"] or review["review_date"] < plan["end_date"]
    for plan in plans.values():
        assert not plan["end_date"] or plan["start_date"] < plan["end_date"]
    per_plan = Counter(r["plan_id"] for r in tables["plan_reviews"])
    assert 1.0 <= sum(per_plan.values()) / len(plans) <= 4.0
    assert {g["domain"] for g in tables["plan_goals"]} <= set(GOAL_DOMAINS)
    assert {g["status"] for g in tables["plan_goals"]} == set(GOAL_STATUSES)
    answers = tables["self_evaluations"]
    assert {a["item_code"] for a in answers} <= set(SELF_EVALUATION_ITEMS)
    assert {a["score_norm"] for a in answers} <= {"0.00", "0.25", "0.50", "0.75", "1.00"}
    # Answers drift upwards: later answers of a person's item are higher on average.
    by_key: dict[tuple[str, str], list[tuple[date, float]]] = {}
    for a in answers:
        by_key.setdefault((a["person_id"], a["item_code"]), []).append(
            (date.fromisoformat(a["evaluation_date"]), float(a["score_norm"])))
    changes = [sorted(v)[-1][1] - sorted(v)[0][1] for v in by_key.values() if len(v) >= 2]
    assert len(changes) > 50 and sum(changes) / len(changes) > 0
