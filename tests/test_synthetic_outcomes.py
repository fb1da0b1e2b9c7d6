"""Synthetic outcome records: deterministic per seed, realistic in shape, importable as they
are, and leaving the organisation's own tables untouched."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from node import NodeRuntime, import_files
from node.synthetic.generator import OrgProfile, generate_organisation
from node.synthetic.outcomes import OUTCOME_COLUMNS, generate_outcomes
from node.synthetic.plans import generate_accompaniment

EI = OrgProfile("org-ei", "Insertion EI", "EI_WAL", "BE-WAL", 120)
CISP = OrgProfile("org-cisp", "Formation CISP", "CISP_EFT", "BE-WAL", 95)


def test_the_same_seed_gives_the_same_outcomes_and_another_seed_others() -> None:
    org = generate_organisation(EI, 3, 2025)
    first = generate_outcomes(org, 3, 2025)
    assert generate_outcomes(generate_organisation(EI, 3, 2025), 3, 2025).tables == first.tables
    assert generate_outcomes(org, 4, 2025).tables != first.tables
    # The organisation's own tables are only read: exits and support actions are restated with
    # one more column, the same rows otherwise.
    assert [{k: v for k, v in x.items() if k != "exit_reason"} for x in first.tables["exits"]] \
        == org.tables["exits"]
    assert [{k: v for k, v in a.items() if k != "staff_id"}
            for a in first.tables["support_actions"]] == org.tables["support_actions"]
    assert [{k: v for k, v in c.items() if k not in ("fulltime_ref_hours", "subsidy_scheme")}
            for c in first.tables["contracts"]] == org.tables["contracts"]


def test_every_record_kind_has_plausible_data() -> None:
    ei = generate_outcomes(generate_organisation(EI, 1, 2025), 1, 2025).tables
    assert all(ei[table] for table in OUTCOME_COLUMNS), {t: len(r) for t, r in ei.items()}
    # Caseload about 1:20-30: staff ids on actions name a few coaches only.
    coaches = {a["staff_id"] for a in ei["support_actions"] if a["staff_id"]}
    targets = {a["person_id"] for a in ei["support_actions"]}
    assert 2 <= len(coaches) <= len(targets) / 10
    assert {e["scheme"] for e in ei["hiring_eligibility"]} <= {"WAL_EI_TD", "WAL_EI_TGD"}
    assert len({c["fulltime_ref_hours"] for c in ei["contracts"]}) == 1  # one joint committee
    assert any(c["subsidy_scheme"] == "WAL_EI_TD" for c in ei["contracts"])
    cisp = generate_outcomes(generate_organisation(CISP, 1, 2025), 1, 2025).tables
    hours: dict[str, float] = {}
    for s in cisp["training_sessions"]:
        if s["session_date"].startswith("2025"):
            hours[s["person_id"]] = hours.get(s["person_id"], 0.0) + float(s["hours"])
    median = sorted(hours.values())[len(hours) // 2]
    assert 100 <= median <= 700, median  # CISP trainees: ~400 h a year (DOMAIN.md §3.3)
    assert {e["exit_reason"] for e in cisp["exits"]} <= {"TRAINING_COMPLETED",
                                                         "TRAINING_ABANDONED", "RETIREMENT",
                                                         "DEATH", "MEDICAL_FORCE_MAJEURE"}


def test_the_synthetic_files_import_as_they_are(node_factory: Callable[..., NodeRuntime],
                                                tmp_path: Path) -> None:
    runtime = node_factory("org")
    org = generate_organisation(EI, 2, 2025)
    paths = {**org.write_csvs(tmp_path), **generate_accompaniment(org, 2, 2025)
             .write_csvs(tmp_path), **generate_outcomes(org, 2, 2025).write_csvs(tmp_path)}
    summary = import_files(runtime.store, runtime.secret, list(paths.values()))
    for table in OUTCOME_COLUMNS:
        assert summary.rows[table] > 0, table
    with runtime.store.reading() as conn:
        assert conn.execute("SELECT count(*) FROM exits WHERE exit_reason = 'UNKNOWN'"
                            ).fetchone()[0] < summary.rows["exits"]
