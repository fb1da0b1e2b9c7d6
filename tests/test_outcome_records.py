"""The outcome records (schema version 11) through the importer, and catalogue 2027.1's measures
on them against figures computed by hand.

tests/fixtures/small and tests/fixtures/accompaniment are imported first, then
tests/fixtures/outcomes, which restates the exits with their reasons (an update) and adds
training sessions, hires, follow-ups, staff-attributed support actions, coach evaluations and
eligibility at hiring. Bad rows are refused with their file, line and column, never their value,
and nothing of the import is written.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import FIXTURES, write_csv

from node import ImportFailed, NodeRuntime, import_files
from node.imports.pseudonyms import Pseudonymiser
from privacy import QuerySpec, Statistic, shipped_catalogue, validate

CAT = shipped_catalogue("2027.1")


@pytest.fixture
def org(node_factory: Callable[..., NodeRuntime]) -> NodeRuntime:
    runtime = node_factory("org")
    import_files(runtime.store, runtime.secret, sorted((FIXTURES / "small").glob("*.csv"))
                 + sorted((FIXTURES / "accompaniment").glob("*.csv")))
    summary = import_files(runtime.store, runtime.secret,
                           sorted((FIXTURES / "outcomes").glob("*.csv")))
    assert summary.updated["exits"] == 4  # the reasons came in later, on the same exits
    return runtime


def exact(runtime: NodeRuntime, measure: str, group_by: tuple[str, ...] = ()
          ) -> dict[tuple[str, ...], tuple[int, int]]:
    spec = QuerySpec(CAT.version, measure, Statistic.COUNT, group_by, (), "2025", 1_000_000)
    query = validate(spec, CAT)
    counts, sums = runtime.engine.exact_cells(query)
    return {cell: (c, s) for cell, c, s in zip(query.cells, counts, sums, strict=True)
            if c or s}


def test_the_records_are_stored_under_pseudonyms(org: NodeRuntime) -> None:
    pseudo = Pseudonymiser(org.secret)
    with org.store.reading() as conn:
        staff = {r[0] for r in conn.execute(
            "SELECT staff_pid FROM support_actions WHERE staff_pid IS NOT NULL")}
        criteria = dict(conn.execute("SELECT pid, criteria FROM hiring_eligibility"))
        reasons = dict(conn.execute("SELECT exit_key, exit_reason FROM exits"))
        qualifying = sorted(r[0] for r in conn.execute("SELECT qualifying FROM training_sessions"))
    # A coach's id is pseudonymised as a person's: the coach P3 is a worker of the organisation.
    assert staff == {pseudo.pseudonym("person", "P3"), pseudo.pseudonym("person", "X9")}
    assert "P3" not in staff and "X9" not in staff
    assert criteria == {pseudo.pseudonym("person", "P2"): "DEI_6M;NO_CESS",
                        pseudo.pseudonym("person", "P4"): "DEI_24M;NO_CESS"}
    assert reasons[pseudo.pseudonym("exit", "E2")] == "RESIGNATION"
    assert qualifying == [0, 0, 1, 1]


def test_outcome_measures_against_hand_computed_figures(org: NodeRuntime) -> None:
    # Under contract in 2025: P1, P2, P3, P4 (P5 left in 2024). Training 2025: P1 4 h (the 7 h
    # of 2024-12-31 are outside), P2 7 + 3.5 h.
    assert exact(org, "training_hours") == {(): (4, 1450)}
    # Hired in 2025: P2 (from a CISP) and P4 (again, via the CPAS; the 2024 hire is outside).
    assert exact(org, "hires", ("referral_source",)) == {
        ("CISP_OR_TRAINING",): (1, 100), ("CPAS",): (1, 100)}
    # Left in 2025: P2 (twice: the last exit, a resignation, counts) and P4.
    assert exact(org, "turnover_rate") == {(): (4, 200)}
    assert exact(org, "exits", ("exit_reason",)) == {
        ("RESIGNATION",): (1, 100), ("END_OF_CONTRACT",): (1, 100)}
    # P2 left on 2025-07-02: at work 192 days on, in a qualifying training 378 days on. P4's only
    # follow-up came 61 days after the exit: too early for "about 6 months".
    assert exact(org, "situation_6m", ("situation_6m",)) == {
        ("EMPLOYED",): (1, 100), ("NOT_OBSERVED",): (1, 100)}
    assert exact(org, "situation_12m", ("situation_12m",)) == {
        ("QUALIFYING_TRAINING",): (1, 100), ("NOT_OBSERVED",): (1, 100)}
    assert exact(org, "employment_or_training_6m") == {(): (2, 100)}
    assert exact(org, "employment_or_training_12m") == {(): (2, 100)}
    # P3 is the main coach of P1 and P2; P4's coach X9 is not a person of the organisation.
    assert exact(org, "coach_caseload", ("target_group",)) == {("NON_TARGET",): (1, 200)}
    # The coach's evaluation of P1: SE01 0.25 -> 0.75, SE02 0.5 -> 0.5: a change of 0.25.
    assert exact(org, "coach_evaluation_change") == {(): (1, 25)}
    # Main kind of support in 2025 (minutes): P1 ties SA02/SA03/SA04 at 120 (SA02, the
    # smallest), P2 SA07 90 > SA02 30, P4 SA05, P3 none.
    assert {k: c for k, (c, _) in exact(org, "reached", ("support_kind",)).items()} == {
        ("SA02",): 1, ("SA07",): 1, ("SA05",): 1, ("NONE",): 1}
    # The item each person rated lowest first: P1 SE01 (0.25), P2 SE01, P4 SE04.
    assert {k: c for k, (c, _) in exact(org, "self_evaluation_change",
                                        ("self_evaluation_item",)).items()} == {
        ("SE01",): 2, ("SE04",): 1}


def bad_files(tmp_path: Path) -> list[Path]:
    return [
        write_csv(tmp_path / "hires.csv", [
            {"hire_id": "H9", "person_id": "P1", "hire_date": "2025-02-01",
             "referral_source": "FOREM"}]),
        write_csv(tmp_path / "hiring_eligibility.csv", [
            {"eligibility_id": "G9", "person_id": "P1", "attestation_date": "2025-01-01",
             "scheme": "WAL_EI_TD", "criteria": "NO_CESS;Dupont-Marie"}]),
        write_csv(tmp_path / "exit_followups.csv", [
            {"followup_id": "F9", "person_id": "P2", "exit_id": "E99",
             "observation_date": "2026-01-01", "situation": "JOB_SEEKER"},
            {"followup_id": "F8", "person_id": "P1", "exit_id": "E2",
             "observation_date": "2026-01-01", "situation": "JOB_SEEKER"}]),
        write_csv(tmp_path / "training_sessions.csv", [
            {"session_id": "T9", "person_id": "P1", "session_date": "2025-02-01", "hours": "7",
             "training_type": "CISP_BASE", "qualifying": "yes"}]),
    ]


def test_bad_rows_are_refused_with_where_and_why_and_nothing_is_written(
        org: NodeRuntime, tmp_path: Path) -> None:
    with pytest.raises(ImportFailed) as failed:
        import_files(org.store, org.secret, bad_files(tmp_path))
    text = str(failed.value)
    assert "hiring_eligibility.csv:2: column criteria" in text
    assert "outside the 17 allowed codes" in text
    assert "exit_followups.csv:2: column exit_id" in text and "no such id in exits" in text
    assert "exit_followups.csv:3: column person_id" in text  # E2 is P2's exit, not P1's
    assert "not the person of that id in exits" in text
    assert "training_sessions.csv:2: column qualifying" in text and "1 (yes) or 0 (no)" in text
    assert "Dupont" not in text and "yes" not in text.replace("(yes)", "")
    with org.store.reading() as conn:  # the good hire was not written either
        assert conn.execute("SELECT count(*) FROM hires").fetchone()[0] == 3
