"""A node serves every catalogue version its operator approved, each query against its own."""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

import pytest
from conftest import create_node

from node import ConfigError, load_node_config, open_node
from privacy import (
    Accounting,
    CatalogueError,
    CatalogueVersionError,
    QuerySpec,
    Statistic,
    default_catalogue,
    load_catalogue,
    shipped_catalogue,
    shipped_catalogues,
    shipped_versions,
)


def approve(config: Path, line: str) -> Path:
    config.write_text(re.sub(r"approved = \[.*\]", line, config.read_text()))
    return config


def test_shipped_catalogues_and_the_default() -> None:
    assert list(shipped_catalogues()) == ["2025.1", "2026.1", "2026.2", "2026.2-zcdp"]
    assert default_catalogue() is shipped_catalogue("2026.2")
    # 2026.2 is 2026.1 plus the clamped count of support hours (issue 17), nothing else.
    old, new = shipped_catalogue("2026.1"), shipped_catalogue("2026.2")
    assert set(old.measures) == set(new.measures) and old.dimensions == new.dimensions
    changed = {n for n in new.measures if new.measures[n] != old.measures[n]}
    assert changed == {"support_hours"}
    assert new.measures["support_hours"].clamped_share > 0
    with pytest.raises(CatalogueError, match="ships no catalogue"):
        shipped_catalogue("2024.9")


def test_the_zcdp_variant_is_2026_2_under_zcdp_and_nothing_else() -> None:
    pure, zcdp = shipped_catalogue("2026.2"), shipped_catalogue("2026.2-zcdp")
    assert (zcdp.accounting, str(zcdp.delta)) == (Accounting.ZCDP, "0.000001")
    assert zcdp.measures == pure.measures and zcdp.dimensions == pure.dimensions
    assert shipped_versions(Accounting.PURE) == ("2025.1", "2026.1", "2026.2")
    assert shipped_versions(Accounting.ZCDP) == ("2026.2-zcdp",)


def test_a_catalogue_file_may_be_a_variant_of_a_shipped_one_and_nothing_more(
        tmp_path: Path) -> None:
    variant = tmp_path / "ours.toml"
    variant.write_text('extends = "2026.1"\nversion = "ours-1"\naccounting = "zcdp"\n'
                       'delta = "1e-7"\n')
    ours = load_catalogue(variant)
    assert ours.version == "ours-1" and ours.accounting is Accounting.ZCDP
    assert ours.measures == shipped_catalogue("2026.1").measures
    variant.write_text('extends = "2026.1"\nversion = "ours-2"\n[measures.x]\nlabel = "x"\n')
    with pytest.raises(CatalogueError, match="top-level settings only"):
        load_catalogue(variant)
    variant.write_text('extends = "1999.1"\nversion = "ours-3"\n')
    with pytest.raises(CatalogueError, match="not another shipped version"):
        load_catalogue(variant)


def test_a_new_node_approves_every_shipped_version_and_serves_each(tmp_path: Path) -> None:
    config = load_node_config(create_node(tmp_path / "n"))
    assert config.approved_versions == ("2025.1", "2026.1", "2026.2")
    assert config.catalogue.version == "2026.2"
    assert set(config.catalogues) == {"2025.1", "2026.1", "2026.2"}
    old = config.catalogue_for("2025.1")
    assert old is not None and "plan_coverage" not in old.measures


def test_a_node_that_approved_only_2025_1_keeps_serving_it(tmp_path: Path) -> None:
    path = approve(create_node(tmp_path / "n"), 'approved = ["2025.1"]')
    config = load_node_config(path)
    assert config.catalogue.version == "2025.1" and config.catalogue_for("2026.1") is None
    runtime = open_node(config)
    try:
        runtime.engine.answer("federation", "q1", QuerySpec(
            "2025.1", "headcount", Statistic.COUNT, (), (), "2025", 100_000))
        with pytest.raises(CatalogueVersionError, match="not approved on this node"):
            runtime.engine.answer("federation", "q2", QuerySpec(
                "2026.1", "plan_coverage", Statistic.MEAN, (), (), "2025", 100_000))
        # 2025.1 has no plan_coverage even under its own version.
        with pytest.raises(Exception, match="unknown measure 'plan_coverage'"):
            runtime.engine.answer("federation", "q3", QuerySpec(
                "2025.1", "plan_coverage", Statistic.MEAN, (), (), "2025", 100_000))
        assert len(runtime.engine.ledger.entries()) == 1
    finally:
        runtime.close()


def test_an_unknown_approved_version_is_refused(tmp_path: Path) -> None:
    path = approve(create_node(tmp_path / "n"), 'approved = ["2025.1", "2026.7"]')
    with pytest.raises(ConfigError, match=r"'2026\.7' is neither shipped"):
        load_node_config(path)


def test_catalogues_of_different_accounting_cannot_be_served_together(tmp_path: Path) -> None:
    text = resources.files("privacy").joinpath("catalogues/koepel-2025.1.toml").read_text()
    text = text.replace('version = "2025.1"', 'version = "2025.1-zcdp"').replace(
        'accounting = "pure"', 'accounting = "zcdp"\ndelta = "1e-6"')
    config = create_node(tmp_path / "n")
    original = config.read_text()
    (config.parent / "z.toml").write_text(text)
    approve(config, 'path = "z.toml"\napproved = ["2025.1-zcdp", "2026.1"]')
    with pytest.raises(ConfigError, match="a node's ledger has one unit"):
        load_node_config(config)
    config.write_text(original)
    approve(config, 'path = "z.toml"\napproved = ["2025.1-zcdp"]')
    assert load_node_config(config).catalogue.version == "2025.1-zcdp"


def test_a_federation_names_a_shipped_catalogue_by_its_version(tmp_path: Path) -> None:
    from aggregator import load_federation

    path = tmp_path / "federation.toml"
    path.write_text('[federation]\nname = "f"\nquerier_identity = "federation"\n'
                    'catalogue = "2026.2-zcdp"\n\n[[nodes]]\nid = "a"\n'
                    'address = "127.0.0.1:1"\norganisation = "A"\n')
    assert load_federation(path).catalogue is shipped_catalogue("2026.2-zcdp")
