"""The security parts of node.toml and federation.toml: policy, limits, TLS files.

A typo in a policy must never silently widen what is shared, so every mistake is refused at
load time with a message naming the entry and the key.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import create_node

from aggregator import FederationError, load_federation, render_federation
from node import ConfigError, load_node_config
from node.policy import DEFAULT_MIN_EPSILON_MICRO, AccessPolicy
from privacy import (
    InvalidQueryError,
    PermissionDeniedError,
    QuerySpec,
    Statistic,
    default_catalogue,
    parse_epsilon,
    validate,
)
from wire.limits import channel_options, server_options

CAT = default_catalogue()


def node_toml(tmp_path: Path, extra: str) -> Path:
    path = create_node(tmp_path / "n", queriers={"federation": "3"})
    with path.open("a") as handle:
        handle.write(extra)
    return path


def test_policy_and_limits_load_into_the_config(tmp_path: Path) -> None:
    config = load_node_config(node_toml(tmp_path, (
        'measures = ["headcount", "fte"]\ndimensions = ["region"]\nmin_epsilon = "0.1"\n'
        'max_epsilon = "2"\nmax_cells = 50\n'
        "\n[limits]\nrequests_per_minute = 30\nburst = 5\nmax_concurrent_rpcs = 4\n")))
    access = config.queriers["federation"].access
    assert access == AccessPolicy(frozenset({"headcount", "fte"}), frozenset({"region"}),
                                  100_000, 2_000_000, 50)
    assert (config.limits.rate.per_minute, config.limits.rate.burst) == (30.0, 5)
    assert config.limits.max_concurrent_rpcs == 4
    assert config.tls is not None and config.tls.cert == tmp_path / "n" / "tls" / "node.crt"


def test_defaults_allow_the_catalogue_with_a_smallest_epsilon(tmp_path: Path) -> None:
    access = load_node_config(node_toml(tmp_path, "")).queriers["federation"].access
    assert access.measures is None and access.dimensions is None
    assert access.min_epsilon_micro == DEFAULT_MIN_EPSILON_MICRO == 1_000


@pytest.mark.parametrize("extra,words", [
    ('measures = ["salary"]\n', "unknown measure(s) salary"),
    ('dimensions = ["name"]\n', "unknown dimension(s) name"),
    ('measures = "headcount"\n', "measures must be a list"),
    ('min_epsilon = "0.5"\nmax_epsilon = "0.1"\n', "is larger than max_epsilon"),
    ('max_epsilon = "0.0005"\n', "min_epsilon (0.001) is larger than max_epsilon"),
    ('min_epsilon = "NaN"\n', "min_epsilon must be a finite decimal"),
    ("max_cells = 0\n", "max_cells must be a whole number from 1 to 2000"),
    ("max_cells = 5000\n", "max_cells must be a whole number"),
    ("max_cells = true\n", "max_cells must be a whole number"),
    ("can_do_anything = true\n", "unknown key(s) can_do_anything"),
    ("\n[limits]\nburst = 0\n", "burst must be between 1"),
    ("\n[limits]\nrequests_per_minute = \"fast\"\n", "must be numbers"),
    ("\n[limits]\nmax_concurrent_rpcs = 0\n", "max_concurrent_rpcs must be from 1 to 1024"),
    ("\n[limits]\nthreads = 4\n", "unknown key(s) threads"),
])
def test_policy_mistakes_are_refused_at_load(tmp_path: Path, extra: str, words: str) -> None:
    with pytest.raises(ConfigError) as refused:
        load_node_config(node_toml(tmp_path, extra))
    assert words in str(refused.value)
    assert "[[queriers]] #1" in str(refused.value) or "[limits]" in str(refused.value)


def test_tls_section_is_checked(tmp_path: Path) -> None:
    path = create_node(tmp_path / "n")
    text = path.read_text().replace('ca = "tls/ca.crt"', 'ca = "tls/ca.crt"\npassword = "x"')
    path.write_text(text)
    with pytest.raises(ConfigError, match=r"\[tls\]: unknown key\(s\) password"):
        load_node_config(path)


def test_policy_checks_every_rule() -> None:
    policy = AccessPolicy(frozenset({"headcount"}), frozenset({"gender", "region"}),
                          50_000, 1_000_000, 3)
    def check(measure: str, group_by: tuple[str, ...], micro: int,
              filters: tuple[tuple[str, tuple[str, ...]], ...] = ()) -> None:
        spec = QuerySpec(CAT.version, measure, Statistic.COUNT, group_by, filters, "2025", micro)
        policy.check("fed", validate(spec, CAT))

    check("headcount", ("gender",), 50_000)  # allowed
    for args, words in [
        (("reached", (), 100_000), "measure 'reached' is not allowed"),
        (("headcount", ("age_band",), 100_000), "dimension 'age_band' is not allowed"),
        (("headcount", (), 100_000, (("education", ("LOW",)),)),
         "dimension 'education' is not allowed"),
        (("headcount", (), 49_999), "below the smallest ε"),
        (("headcount", (), 1_000_001), "above the largest ε"),
        (("headcount", ("gender", "region"), 100_000), "releases 9 cells"),
    ]:
        with pytest.raises(PermissionDeniedError, match=words):
            check(*args)  # type: ignore[arg-type]


def test_federation_tls_and_limits(tmp_path: Path) -> None:
    path = tmp_path / "federation.toml"
    path.write_text(render_federation(name="f", querier_identity="federation", nodes=[])
                    + "\n[limits]\nrequests_per_minute = 10\nburst = 2\n")
    config = load_federation(path)
    assert config.tls is not None and config.tls.key == tmp_path / "tls" / "aggregator.key"
    assert (config.operator_rate.per_minute, config.operator_rate.burst) == (10.0, 2)
    path.write_text(path.read_text() + "cheat = 1\n")
    with pytest.raises(FederationError, match="unknown key"):
        load_federation(path)


def test_client_keepalive_respects_the_servers_ping_policy() -> None:
    """A client pinging more often than servers accept would be cut off (too_many_pings)."""
    server = dict(server_options(max_receive_bytes=1, max_send_bytes=1, max_concurrent_streams=1))
    client = dict(channel_options(max_receive_bytes=1))
    assert client["grpc.keepalive_time_ms"] >= \
        server["grpc.http2.min_recv_ping_interval_without_data_ms"]
    assert server["grpc.keepalive_timeout_ms"] < server["grpc.keepalive_time_ms"]


@pytest.mark.parametrize("text", ["1e999999999", "1e999996", "-1e999999999"])
def test_huge_exponents_are_invalid_not_an_overflow(text: str) -> None:
    with pytest.raises(InvalidQueryError):
        parse_epsilon(text)
