"""`koepel demo` as a new user runs it: a real local federation, secure aggregation by default."""

from __future__ import annotations

from pathlib import Path

import pytest
from clirun import koepel

pytestmark = pytest.mark.slow


def test_the_demo_aggregates_securely_and_says_what_it_saves(tmp_path: Path) -> None:
    result = koepel("demo", "--nodes", "3", "--workdir", tmp_path / "fed", timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    out = " ".join(result.stdout.split())
    assert "secure aggregation (catalogue 2026.2-zcdp" in out
    assert "Expected standard error of one headcount cell (secure aggregation is in use)" in out
    assert out.count("3 of 3 nodes answered") == 3
    federation = (tmp_path / "fed" / "federation.toml").read_text()
    assert 'catalogue = "2026.2-zcdp"' in federation and 'mode = "secure"' in federation
    node_toml = (tmp_path / "fed" / "org-01" / "node.toml").read_text()
    assert 'approved = ["2026.2-zcdp"]' in node_toml


def test_the_demo_in_plaintext_falls_back_to_per_node_noise(tmp_path: Path) -> None:
    result = koepel("demo", "--nodes", "2", "--insecure", "--workdir", tmp_path / "fed",
                    timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "per-node noise" in " ".join(result.stdout.split())
    assert "[aggregation]" not in (tmp_path / "fed" / "federation.toml").read_text()
