"""The Walloon EI forms against hand-computed cases: a subsidised hire with a neutralised
resignation, a part-time contract under a 37-hour joint committee, a worker eligible at hiring
who is no longer in a target group, the approval's share of disadvantaged workers, and the
``[forms]`` settings that change each assumption.

The organisation: S1 and W2 are staff under full-time contracts since 2020; W2 resigns on
1 May 2025. W3 was hired on 1 January 2023 as a TD worker (attested on 20 December 2022) and is
no longer in a target group. W1 is hired on 1 January 2025 on 18.5 hours a week under a joint
committee whose full-time week is 37 hours, financed as a TD (attested 15 December 2024).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import create_node, write_csv

from node import ConfigError, NodeRuntime, import_files, load_node_config
from node.form_rules import FormRules
from node.imports.pseudonyms import Pseudonymiser
from node.organisation.forms import build_forms, forms_csv

Q2_GLOBAL = 1 + 30 / 91 + 1 + 0.5  # S1, W2 until 1 May (30 of 91 days), W3, W1 at 18.5/37


def files(tmp_path: Path, reason: str) -> list[Path]:
    contract = {"role": "TARGET_WORKER", "contract_type": "OPEN_ENDED", "weekly_hours": "38",
                "end_date": "", "subsidy_scheme": "", "fulltime_ref_hours": ""}
    return [
        write_csv(tmp_path / "workers.csv", [
            {"person_id": pid, "birth_year": "1975", "gender": "F",
             "education_level": "LOWER_SEC", "target_group": group, "region": "BE-WAL"}
            for pid, group in (("S1", "NON_TARGET"), ("W2", "NON_TARGET"),
                               ("W3", "NON_TARGET"), ("W1", "TG_DISADV"))]),
        write_csv(tmp_path / "contracts.csv", [
            {**contract, "contract_id": "CS1", "person_id": "S1", "role": "SUPERVISORY_STAFF",
             "start_date": "2020-01-01"},
            {**contract, "contract_id": "CW2", "person_id": "W2", "role": "SUPERVISORY_STAFF",
             "start_date": "2020-01-01", "end_date": "2025-05-01"},
            {**contract, "contract_id": "CW3", "person_id": "W3", "start_date": "2023-01-01"},
            {**contract, "contract_id": "CW1", "person_id": "W1", "weekly_hours": "18.5",
             "start_date": "2025-01-01", "subsidy_scheme": "WAL_EI_TD",
             "fulltime_ref_hours": "37"}]),
        write_csv(tmp_path / "exits.csv", [
            {"exit_id": "X2", "person_id": "W2", "exit_date": "2025-05-01",
             "destination": "REGULAR_EMPLOYEE", "exit_reason": reason}]),
        write_csv(tmp_path / "hires.csv", [
            {"hire_id": "H1", "person_id": "W1", "hire_date": "2025-01-01",
             "referral_source": "FOREM"},
            {"hire_id": "H3", "person_id": "W3", "hire_date": "2023-01-01",
             "referral_source": "CPAS"}]),
        write_csv(tmp_path / "hiring_eligibility.csv", [
            {"eligibility_id": "G1", "person_id": "W1", "attestation_date": "2024-12-15",
             "scheme": "WAL_EI_TD", "criteria": "NO_CESS;DEI_6M"},
            {"eligibility_id": "G3", "person_id": "W3", "attestation_date": "2022-12-20",
             "scheme": "WAL_EI_TD", "criteria": "AGE_50_PLUS;NO_CESS"}]),
    ]


@pytest.fixture
def org(node_factory: Callable[..., NodeRuntime], tmp_path: Path) -> NodeRuntime:
    runtime = node_factory("org")
    import_files(runtime.store, runtime.secret, files(tmp_path / "in", "RESIGNATION"))
    return runtime


def pid(runtime: NodeRuntime, raw: str) -> str:
    return Pseudonymiser(runtime.secret).pseudonym("person", raw)


def test_annex1_uses_eligibility_at_hiring_and_each_contracts_own_full_time(
        org: NodeRuntime) -> None:
    forms = build_forms(org.store, period="2025", organisation="EI", node_id="ei")
    rows = {r.pseudonym: r for r in forms.annex1}
    assert set(rows) == {pid(org, "W1"), pid(org, "W3")}  # staff S1, W2 are not target workers
    w1, w3 = rows[pid(org, "W1")], rows[pid(org, "W3")]
    # 18.5 h under a 37-hour week is half time (a fixed 38-hour week would make it 0.4868).
    assert (w1.fulltime_ref_hours, w1.fte_fraction, w1.fte_in_year) == (37.0, 0.5, 0.5)
    assert (w1.category, w1.eligibility_scheme, w1.criteria_at_hiring, w1.attestation_date) == (
        "TD", "WAL_EI_TD", "DEI_6M;NO_CESS", "2024-12-15")
    # W3 is no longer in a target group, but was eligible at hiring: still a TD on Annexe 1.
    assert (w3.category, w3.current_target_group, w3.criteria_at_hiring) == (
        "TD", "NON_TARGET", "AGE_50_PLUS;NO_CESS")
    assert (w3.fulltime_ref_hours, w3.fte_in_year) == (38.0, 1.0)
    # Global FTE per quarter uses each contract's own week too: Q1 2025 = 1 + 1 + 1 + 0.5.
    assert forms.annex2[0].fte == 3.5 and forms.reference_fte == 3.0


def test_maintien_per_hire_with_a_neutralised_resignation(org: NodeRuntime) -> None:
    forms = build_forms(org.store, period="2025", organisation="EI", node_id="ei")
    hires = {r.pseudonym: r for r in forms.maintien}
    w1 = hires[pid(org, "W1")]
    # Reference: the 4 quarters before the hire's (2024): S1 + W2 + W3 = 3 FTE; the hire adds
    # 0.5, so 3.5 must be kept.
    assert w1.reference_quarters == ("2024-Q1", "2024-Q2", "2024-Q3", "2024-Q4")
    assert (w1.reference_fte, w1.hire_fte) == (3.0, 0.5)
    q = {x.quarter: x for x in w1.quarters}
    assert list(q) == ["2025-Q1", "2025-Q2", "2025-Q3", "2025-Q4"]
    assert (q["2025-Q1"].fte, q["2025-Q1"].neutralised, q["2025-Q1"].required) == (3.5, 0, 3.5)
    # W2's resignation on 1 May is neutralised: her full time counts from then on (61 of the
    # quarter's 91 days), so the volume stays at 3.5.
    assert q["2025-Q2"].fte == round(Q2_GLOBAL, 4)
    assert q["2025-Q2"].neutralised == round(61 / 91, 4)
    assert q["2025-Q2"].volume == 3.5 and q["2025-Q2"].maintained
    assert (q["2025-Q3"].fte, q["2025-Q3"].neutralised, q["2025-Q3"].volume) == (2.5, 1.0, 3.5)
    assert w1.maintained
    # W3's hire of 2023: reference 2022 (S1 + W2 = 2) + W3's own 1 FTE; three years on, its
    # window runs from 2023-Q1 to 2025-Q4, all maintained.
    w3 = hires[pid(org, "W3")]
    assert (w3.reference_fte, w3.hire_fte) == (2.0, 1.0)
    assert len(w3.quarters) == 12 and w3.quarters[-1].quarter == "2025-Q4" and w3.maintained
    assert forms.flags == ()
    maintien = forms_csv(forms)["maintien-2025.csv"].decode("utf-8-sig").splitlines()
    assert maintien[0].startswith("pseudonym,hire_date,scheme,hire_fte,reference_quarters")
    assert len(maintien) == 1 + 4 + 12


def test_a_dismissal_is_not_neutralised_and_is_flagged(
        org: NodeRuntime, tmp_path: Path) -> None:
    import_files(org.store, org.secret, files(tmp_path / "again", "DISMISSAL")[2:3])
    forms = build_forms(org.store, period="2025", organisation="EI", node_id="ei")
    w1 = {r.pseudonym: r for r in forms.maintien}[pid(org, "W1")]
    q2 = w1.quarters[1]
    assert (q2.neutralised, q2.volume, q2.maintained) == (0.0, round(Q2_GLOBAL, 4), False)
    assert not w1.maintained
    assert any("volume not maintained in 2025-Q2, 2025-Q3, 2025-Q4" in f for f in forms.flags)
    # The same dismissal, neutralised by the organisation's own reading ([forms] setting).
    rules = replace(FormRules(), neutralised_exit_reasons=("DISMISSAL",))
    again = build_forms(org.store, period="2025", organisation="EI", node_id="ei", rules=rules)
    assert all(r.maintained for r in again.maintien)


def test_the_share_of_disadvantaged_workers_is_checked_and_flagged(org: NodeRuntime) -> None:
    forms = build_forms(org.store, period="2025", organisation="EI", node_id="ei")
    share = forms.share
    assert share is not None
    # FTE over 2025: S1 1, W2 120/365, W3 1, W1 0.5. TD at hiring: W3 (though no longer in a
    # target group) and W1: 1.5 of 2.83 = 53 % >= 50 %.
    assert share.workers == round(2.5 + 120 / 365, 4) and share.disadvantaged == 1.5
    assert share.share == pytest.approx(1.5 / (2.5 + 120 / 365), abs=1e-4)
    assert share.flags == ()
    strict = build_forms(org.store, period="2025", organisation="EI", node_id="ei",
                         rules=replace(FormRules(), min_disadvantaged_share=0.6))
    assert strict.flags == ("disadvantaged workers 53.0% < 60%",)
    heads = build_forms(org.store, period="2025", organisation="EI", node_id="ei",
                        rules=replace(FormRules(), share_basis="headcount",
                                      min_severely_disadvantaged_share=0.1))
    assert heads.share is not None and (heads.share.workers, heads.share.disadvantaged) == (3, 2)
    assert heads.flags == ("severely disadvantaged workers 0.0% < 10%",)
    # The default week applies only where a contract has none of its own: W1 keeps 37 hours.
    fixed = build_forms(org.store, period="2025", organisation="EI", node_id="ei",
                        rules=replace(FormRules(), fulltime_hours=38))
    assert fixed.share is not None and fixed.share.disadvantaged == 1.5


def test_the_settings_come_from_node_toml(tmp_path: Path) -> None:
    config = create_node(tmp_path / "n")
    text = config.read_text()
    config.write_text(text + "\n[forms]\nfulltime_hours = 37\nmin_disadvantaged_share = 0.6\n"
                      'neutralised_exit_reasons = ["RESIGNATION", "RETIREMENT"]\n')
    rules = load_node_config(config).forms
    assert (rules.fulltime_hours, rules.min_disadvantaged_share) == (37.0, 0.6)
    assert rules.neutralised_exit_reasons == ("RESIGNATION", "RETIREMENT")
    config.write_text(text + '\n[forms]\nshare_basis = "people"\n')
    with pytest.raises(ConfigError, match=r'\[forms\]: share_basis must be "fte" or'):
        load_node_config(config)
    config.write_text(text + '\n[forms]\nneutralised_exit_reasons = ["QUIT"]\n')
    with pytest.raises(ConfigError, match="neutralised_exit_reasons must be a list of codes"):
        load_node_config(config)
