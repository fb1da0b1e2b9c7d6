"""Every node has a node-wide and a lifetime cap, and an auditor sees a cap that protects little.

Before: a node.toml without ``[budget]`` caps ran with no lifetime cap at all, and nothing in an
audit made an unlimited or very high cap stand out.
"""

from __future__ import annotations

import re
from pathlib import Path

from conftest import create_node

from node import load_node_config
from privacy import MICRO
from privacy.audit import CAP_THRESHOLDS_EPSILON, LedgerExport, audit, report_rows
from privacy.receipts import LedgerStatement


def _without_budget_caps(path: Path) -> Path:
    text = re.sub(r"(?m)^(node_cap_epsilon|lifetime_cap_epsilon) = .*\n", "", path.read_text())
    path.write_text(text)
    return path


def test_caps_left_out_get_the_defaults_node_init_writes(tmp_path: Path) -> None:
    path = _without_budget_caps(create_node(tmp_path / "n", queriers={"a": "2", "b": "1.5"}))
    budget = load_node_config(path).budget
    assert budget.node_cap_micro == 3_500_000  # the queriers' caps together
    assert budget.lifetime_cap_micro == 5 * 3_500_000  # never "no long-horizon cap"


def _export(node_cap: int, lifetime_cap: int | None, querier_cap: int = MICRO) -> LedgerExport:
    statement = LedgerStatement(
        node_id="org-x", exported_at="2026-01-01T00:00:00+00:00", head_sequence=0,
        head_hash="0" * 64, accounting="pure", unit="epsilon", delta="0", period="year",
        querier_caps={"federation": querier_cap}, node_cap=node_cap, lifetime_cap=lifetime_cap)
    return LedgerExport("org-x", (), statement.to_payload(), b"sig", b"key")


def _accept(*_: bytes) -> bool:
    return True


def test_an_unlimited_or_high_cap_is_flagged_in_every_audit_without_failing_it() -> None:
    modest = audit(_export(3 * MICRO, 15 * MICRO), (), _accept)
    assert modest.ok and not {"CAP_UNLIMITED", "CAP_HIGH"} & modest.kinds
    unlimited = audit(_export(3 * MICRO, None), (), _accept)
    assert unlimited.ok and "CAP_UNLIMITED" in unlimited.kinds
    high = audit(_export(CAP_THRESHOLDS_EPSILON["node"] + 1, 60 * MICRO, 6 * MICRO), (),
                 _accept)
    assert high.ok
    messages = [f.detail for f in high.findings if f.kind == "CAP_HIGH"]
    assert len(messages) == 3 and all(f.severity == "warning" for f in high.findings)
    assert any("querier federation" in m for m in messages)
    flags = {(r["querier"], r["period"]): r["cap_flag"] for r in report_rows(unlimited)}
    assert flags[("(all queriers)", "(all periods)")] == "unlimited"
    assert {r["cap_flag"] for r in report_rows(high)} == {"above threshold"}
