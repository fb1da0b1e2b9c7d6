"""federation.toml: loading, validation messages, rendering, and the quorum rule."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from aggregator import (
    FederationError,
    NodeEntry,
    QuorumPolicy,
    evaluate_quorum,
    load_federation,
    render_federation,
)

FULL = """
[federation]
name = "Atout EI"
querier_identity = "atout-ei"
deadline_seconds = 8
retries = 3
quorum = 0.6
quorum_size = 0.75
history = "runs/history.db"

[[nodes]]
id = "ei-01"
address = "127.0.0.1:7701"
organisation = "Insertion Liège"
certificate_identity = "ei-01.atout-ei.be"
region = "BE-WAL"
kind = "EI_WAL"
expected_size = 140
deadline_seconds = 20

[[nodes]]
id = "ei-02"
address = "127.0.0.1:7702"
expected_size = 60
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "federation.toml"
    path.write_text(text)
    return path


def test_a_full_registry_loads_into_frozen_objects(tmp_path: Path) -> None:
    config = load_federation(write(tmp_path, FULL))
    assert (config.name, config.querier_identity, config.deadline_seconds, config.retries) == (
        "Atout EI", "atout-ei", 8.0, 3)
    assert config.quorum == QuorumPolicy(0.6, 0.75)
    assert config.history == tmp_path / "runs" / "history.db"
    first, second = config.nodes
    assert first == NodeEntry("ei-01", "127.0.0.1:7701", "Insertion Liège", "BE-WAL", "EI_WAL",
                              "ei-01.atout-ei.be", 140, 20.0)
    assert (second.organisation, second.certificate_identity, second.deadline_seconds) == (
        "ei-02", "", None)
    assert config.deadline_for(first) == 20.0 and config.deadline_for(second) == 8.0


def test_rendering_round_trips(tmp_path: Path) -> None:
    config = load_federation(write(tmp_path, FULL))
    text = render_federation(name=config.name, querier_identity=config.querier_identity,
                             nodes=list(config.nodes), deadline_seconds=8, quorum=0.6,
                             quorum_size=0.75, retries=3)
    again = load_federation(write(tmp_path, text.replace('"history.db"', '"runs/history.db"')))
    assert again == config


@pytest.mark.parametrize(("text", "message"), [
    ("[federation]\nquorum = 1.5\n", "quorum must be in [0, 1], got 1.5"),
    ("[federation]\nquorum = 'half'\n", "quorum must be a number"),
    ("[federation]\ndeadline_seconds = 0\n", "deadline_seconds must be in (0, 600]"),
    ("[federation]\nretries = -1\n", "retries must be a whole number from 0 to 10"),
    ("[federation]\nretries = true\n", "retries must be a whole number"),
    ("[federation]\nquorom = 0.5\n", "unknown key(s) quorom"),
    ("[[nodes]]\nid = 'a'\n", "id and address are required"),
    ("[[nodes]]\nid = 'a'\naddress = 'x:1'\nexpected_size = 0\n",
     "expected_size must be a positive whole number"),
    ("[[nodes]]\nid = 'a'\naddress = 'x:1'\ncertificate_identity = 7\n",
     "certificate_identity must be a string"),
    ("[[nodes]]\nid = 'a'\naddress = 'x:1'\n[[nodes]]\nid = 'a'\naddress = 'x:2'\n",
     "node id 'a' is listed twice"),
    ("[federation]\nquorum_size = 0.5\n[[nodes]]\nid = 'a'\naddress = 'x:1'\n",
     "quorum_size needs expected_size on every node; missing on a"),
    ("[federation\n", "is not valid TOML"),
])
def test_bad_registries_are_refused_with_a_message_that_says_what_to_fix(
        tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(FederationError) as caught:
        load_federation(write(tmp_path, text))
    assert message in str(caught.value)


def test_a_missing_registry_is_named(tmp_path: Path) -> None:
    with pytest.raises(FederationError, match="no federation configuration at"):
        load_federation(tmp_path / "nope.toml")


def nodes(*sizes: int | None) -> list[NodeEntry]:
    return [NodeEntry(f"n{i}", "x:1", "o", expected_size=s) for i, s in enumerate(sizes)]


def test_quorum_by_share_of_nodes() -> None:
    policy = QuorumPolicy(min_node_share=0.7)
    registry = nodes(*[None] * 10)
    assert evaluate_quorum(policy, registry, [f"n{i}" for i in range(7)]).complete
    short = evaluate_quorum(policy, registry, [f"n{i}" for i in range(6)])
    assert not short.complete and short.reasons == (
        "6 of 10 nodes answered (60%), below the quorum of 70% of nodes",)
    assert math.isnan(short.size_share)
    assert evaluate_quorum(policy, registry, []).reasons == ("no node answered",)
    assert evaluate_quorum(QuorumPolicy(0.0), registry, []).reasons == ("no node answered",)
    assert evaluate_quorum(policy, registry, ["unknown"] * 8).reasons == ("no node answered",)


def test_quorum_by_share_of_expected_size() -> None:
    policy = QuorumPolicy(min_node_share=0.0, min_size_share=0.8)
    registry = nodes(800, 100, 100)
    assert evaluate_quorum(policy, registry, ["n0"]).complete is True
    status = evaluate_quorum(policy, registry, ["n1", "n2"])
    assert status.size_share == pytest.approx(0.2) and not status.complete
    assert evaluate_quorum(policy, nodes(800, None), ["n0"]).reasons == (
        "the size quorum needs an expected size for every node",)
    with pytest.raises(ValueError):
        QuorumPolicy(min_node_share=2.0)
