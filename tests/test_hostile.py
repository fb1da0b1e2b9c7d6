"""Hostile input at a real node: every request gets a proper status, and only answers cost.

The property test throws generated malformed and adversarial QueryRequests (and raw bytes that
are not a QueryRequest at all) at a real node gRPC server over mutual TLS, backed by a real
SQLCipher store. For every request: the server answers with OK or a deliberate refusal status
(never INTERNAL, UNKNOWN or a dropped connection); the ledger grows by exactly one entry, with
exactly the answer's cost, for a fresh OK answer and by nothing otherwise; the status message is
short and carries no stack trace, SQL, key or record value. The server is alive at the end.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest
from conftest import FIXTURES, create_node
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from security_support import (
    Pki,
    make_pki,
    node_server,
    node_stub,
    query_request,
    reopen,
    tls_stub,
)

from node import NodeRuntime, import_files
from privacy import default_catalogue
from protos import pb2
from wire.checks import request_problem
from wire.ratelimit import RateLimit, RateLimiter
from wire.tls import channel_credentials

CAT = default_catalogue()
QUERY = "/koepel.v1.NodeService/Query"
PROPER = {
    grpc.StatusCode.OK, grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.PERMISSION_DENIED,
    grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.ALREADY_EXISTS,
    grpc.StatusCode.RESOURCE_EXHAUSTED,
}
LEAKS = ("Traceback", "SELECT", "sqlite", "sqlcipher", "File \"", "Exception", "PRAGMA")


@dataclass
class Target:
    runtime: NodeRuntime
    port: int
    channel: grpc.Channel
    secrets: tuple[str, ...]

    def ledger(self) -> tuple[int, int]:
        entries = self.runtime.engine.ledger.entries()
        return len(entries), sum(e.cost_micro for e in entries)

    def call(self, request: bytes) -> tuple[grpc.StatusCode, str, pb2.QueryResponse | None]:
        method = self.channel.unary_unary(QUERY)  # raw bytes in, raw bytes out
        try:
            reply = method(request, timeout=30)
        except grpc.RpcError as error:
            return error.code(), error.details() or "", None  # type: ignore[attr-defined]
        return grpc.StatusCode.OK, "", pb2.QueryResponse.FromString(reply)


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    root = tmp_path_factory.mktemp("hostile")
    pki: Pki = make_pki(root)
    directory = root / "node"
    config_path = create_node(directory, queriers={"federation": "20"})
    with config_path.open("a") as handle:
        # the federation's policy (keys of the last [[queriers]] entry), then server limits
        handle.write('min_epsilon = "0.005"\nmax_epsilon = "1"\nmax_cells = 100\n'
                     "\n[limits]\nrequests_per_minute = 100000\nburst = 100000\n")
    pki.node_files(directory, "org-test")
    runtime = reopen(directory)
    import_files(runtime.store, runtime.secret, sorted((FIXTURES / "small").glob("*.csv")))
    keys = directory / "keys"
    secrets = (
        (keys / "db.key").read_text().strip(), (keys / "pseudonym.key").read_text().strip(),
        *_key_lines(directory / "tls" / "node.key"), *_key_lines(pki.federation.key),
    )
    try:
        with node_server(runtime) as port:
            channel = grpc.secure_channel(f"127.0.0.1:{port}",
                                          channel_credentials(pki.federation))
            try:
                yield Target(runtime, port, channel, secrets)
            finally:
                channel.close()
    finally:
        runtime.close()


def _key_lines(path: Path) -> list[str]:
    return [line for line in path.read_text().splitlines() if not line.startswith("-----")]


# ------------------------------------------------------------------------- strategies


def mostly(valid: st.SearchStrategy[Any], hostile: st.SearchStrategy[Any]
           ) -> st.SearchStrategy[Any]:
    """Valid nine times in ten, so that whole requests are often valid too."""
    return st.integers(0, 9).flatmap(lambda k: valid if k else hostile)


_text = st.text(max_size=80)
_huge = st.integers(1, 3).map(lambda k: "A" * (k * 40_000))  # 40–120 kB: over the size limit
_versions = mostly(st.just(CAT.version),
                   st.sampled_from(["", "2024.9", "2025.1 ", "../../etc"]) | _text)
_measures = mostly(st.sampled_from(sorted(CAT.measures)),
                   st.sampled_from(["salary", "", "headcount;--", "*"]) | _text)
_statistics = mostly(st.sampled_from([1, 1, 2, 3]), st.integers(-5, 50))
_dimension_names = st.sampled_from(sorted(CAT.dimensions))
_group_by = mostly(st.lists(_dimension_names, max_size=3, unique=True),
                   st.lists(_dimension_names | _text | st.sampled_from(["salary", ""]),
                            max_size=10))
_cells = st.sampled_from(sorted({c for d in CAT.dimensions.values() for c in d.cells}))
_filters = mostly(
    st.lists(_dimension_names.flatmap(lambda name: st.tuples(st.just(name), st.lists(
        st.sampled_from(CAT.dimensions[name].cells), min_size=1, max_size=3, unique=True))),
        max_size=1),
    st.lists(st.tuples(_dimension_names | _text, st.lists(
        _cells | _text | st.sampled_from(["", "' OR 1=1 --", "%", "\x00"]), max_size=6)),
        max_size=5))
_periods = mostly(st.sampled_from(["2025", "2025-Q3"]), st.sampled_from(
    ["2025-Q5", "1989", "2101", "2025\n", "٢٠٢٥", "", "2025-Q0", "20250", "-2025"]) | _text)
_epsilons = mostly(st.sampled_from(["0.002", "0.01", "0.05"]), st.sampled_from([
    "0.5", "20", "20.000001", "21", "0", "-1", "-0.5", "NaN", "nan", "inf", "-inf",
    "Infinity", "1e999999999", "1e-999999999", "1E+5", "0.0000001", " 0.5", "0.5\n", "1_0",
    "0x1", "", "1" * 40, "0." + "0" * 30 + "1", "٠.٥", "1,5", "1e-3",
]) | st.decimals(allow_nan=True, allow_infinity=True).map(str) | _text)
_query_ids = mostly(st.uuids().map(lambda u: u.hex), st.sampled_from(
    ["", "q1", "x" * 65, "../etc/passwd", "q'; DROP TABLE ledger; --", "q\n1", "é"]) | _text)


@st.composite
def query_requests(draw: st.DrawFn) -> bytes:
    spec = pb2.QuerySpec(
        catalogue_version=draw(_versions), measure=draw(_measures),
        statistic=draw(_statistics), group_by=draw(_group_by),
        filters=[pb2.Filter(dimension=d, values=v) for d, v in draw(_filters)],
        period=draw(_periods), epsilon=draw(_epsilons),
    )
    request = pb2.QueryRequest(query_id=draw(_query_ids), spec=spec)
    if draw(st.integers(0, 19)) == 0:  # now and then, one field far over the size limit
        field = draw(st.sampled_from(["query_id", "epsilon", "measure"]))
        target = request if field == "query_id" else request.spec
        setattr(target, field, draw(_huge))
    return request.SerializeToString()


def _valid_bytes() -> bytes:
    return query_request("seed", epsilon="0.01").SerializeToString()


@st.composite
def raw_requests(draw: st.DrawFn) -> bytes:
    """Bytes that are not a well-formed QueryRequest: random, truncated, corrupted."""
    valid = _valid_bytes()
    choice = draw(st.integers(0, 3))
    if choice == 0:
        return draw(st.binary(max_size=512))
    if choice == 1:
        return valid[: draw(st.integers(0, len(valid) - 1))]
    if choice == 2:
        data = bytearray(valid)
        for _ in range(draw(st.integers(1, 6))):
            data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
        return bytes(data)
    # a string field holding invalid UTF-8 (proto3 strings must be UTF-8)
    return b"\x0a\x04\xff\xfe\xfd\xfc" + valid


def check_reply(target: Target, request: bytes) -> grpc.StatusCode:
    """Send ``request``; check its status, its message, and what the ledger did."""
    before_n, before_cost = target.ledger()
    code, message, reply = target.call(request)
    after_n, after_cost = target.ledger()
    assert code in PROPER, (code, message)
    assert len(message) <= 600, message
    for leak in (*LEAKS, *target.secrets):
        if leak.encode() not in request:  # echoing the caller's own words is no leak
            assert leak not in message, (leak, message)
    if code == grpc.StatusCode.OK and reply is not None and not reply.replayed:
        assert (after_n, after_cost) == (before_n + 1, before_cost + reply.cost_micro_epsilon)
    else:
        assert (after_n, after_cost) == (before_n, before_cost), (code, message)
    return code


@settings(max_examples=150, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(request=query_requests())
def test_adversarial_queries_get_a_proper_status_and_cost_nothing(target: Target,
                                                                  request: bytes) -> None:
    event(check_reply(target, request).name)


@settings(max_examples=80, deadline=None, database=None)
@given(request=raw_requests())
def test_malformed_bytes_are_invalid_argument_and_cost_nothing(target: Target,
                                                               request: bytes) -> None:
    check_reply(target, request)


def test_the_node_still_answers_after_the_onslaught(target: Target) -> None:
    assert check_reply(target, query_request("after-all", epsilon="0.01")
                       .SerializeToString()) == grpc.StatusCode.OK


@pytest.mark.parametrize("request_,code,words", [
    (b"\xff\xff\xff", grpc.StatusCode.INVALID_ARGUMENT, "not a valid koepel.v1 message"),
    (query_request("big", measure="m" * 70_000).SerializeToString(),
     grpc.StatusCode.RESOURCE_EXHAUSTED, ""),
    (query_request("e1", epsilon="1e999999999").SerializeToString(),
     grpc.StatusCode.INVALID_ARGUMENT, "spec.epsilon must be a plain positive decimal"),
    (query_request("e2", epsilon="NaN").SerializeToString(),
     grpc.StatusCode.INVALID_ARGUMENT, "spec.epsilon must be a plain positive decimal"),
    (query_request("e3", epsilon="0").SerializeToString(),
     grpc.StatusCode.INVALID_ARGUMENT, "epsilon must be greater than 0"),
    (query_request("e4", epsilon="21").SerializeToString(),
     grpc.StatusCode.INVALID_ARGUMENT, "epsilon must be at most 20"),
    (query_request("m1", measure="salary").SerializeToString(),
     grpc.StatusCode.INVALID_ARGUMENT, "unknown measure 'salary'"),
    (query_request("m2", measure="x" * 65).SerializeToString(),
     grpc.StatusCode.INVALID_ARGUMENT, "spec.measure must be 1–64 characters"),
    (query_request("d1", group_by=("region", "region")).SerializeToString(),
     grpc.StatusCode.INVALID_ARGUMENT, "names a dimension twice"),
    (query_request("d2", group_by=("a",) * 9).SerializeToString(),
     grpc.StatusCode.INVALID_ARGUMENT, "more than 8 dimensions"),
    (query_request("bad id!").SerializeToString(),
     grpc.StatusCode.INVALID_ARGUMENT, "query_id must be 1–64 characters"),
    (query_request("v1", version="2019.1").SerializeToString(),
     grpc.StatusCode.FAILED_PRECONDITION, "not approved on this node"),
])
def test_each_kind_of_bad_input_gets_its_status_and_a_reason(
        target: Target, request_: bytes, code: grpc.StatusCode, words: str) -> None:
    assert check_reply(target, request_) == code
    assert words in target.call(request_)[1]


def test_too_many_cells_or_dimensions_are_refused_before_any_work(target: Target) -> None:
    request = pb2.QueryRequest(query_id="cells", spec=pb2.QuerySpec(
        catalogue_version=CAT.version, measure="headcount", statistic=pb2.STATISTIC_COUNT,
        group_by=["target_group", "gender", "age_band", "education"], period="2025",
        epsilon="0.1"))
    data = request.SerializeToString()
    assert check_reply(target, data) == grpc.StatusCode.PERMISSION_DENIED
    assert "releases 420 cells; this node allows at most 100" in target.call(data)[1]
    request.spec.group_by.append("region")  # 5 dimensions: over the query model's limit
    request.query_id = "cells-2"
    data = request.SerializeToString()
    assert check_reply(target, data) == grpc.StatusCode.INVALID_ARGUMENT
    assert "at most 4 group-by dimensions" in target.call(data)[1]


# ------------------------------------------------------------------------- rate limiting


def test_a_querier_over_its_rate_gets_resource_exhausted_and_spends_nothing(
        tmp_path: Path) -> None:
    pki = make_pki(tmp_path)
    directory = tmp_path / "node"
    config_path = create_node(directory, queriers={"federation": "20"})
    with config_path.open("a") as handle:
        handle.write("\n[limits]\nrequests_per_minute = 1\nburst = 3\n")
    pki.node_files(directory, "org-test")
    runtime = reopen(directory)
    try:
        with node_server(runtime) as port, tls_stub(port, pki.federation) as stub:
            codes = []
            for index in range(5):
                try:
                    stub.Query(query_request(f"rate-{index}", epsilon="0.01"), timeout=10)
                    codes.append(grpc.StatusCode.OK)
                except grpc.RpcError as error:
                    codes.append(error.code())  # type: ignore[attr-defined]
                    message = error.details()  # type: ignore[attr-defined]
            entries = len(runtime.engine.ledger.entries())
    finally:
        runtime.close()
    assert codes == [grpc.StatusCode.OK] * 3 + [grpc.StatusCode.RESOURCE_EXHAUSTED] * 2
    assert "rate limit of 1 requests per minute exceeded for koepel://aggregator/federation" \
        in message
    assert entries == 3


def test_token_bucket_refills_at_its_rate() -> None:
    now = [0.0]
    limiter = RateLimiter(RateLimit(per_minute=60, burst=2), clock=lambda: now[0])
    assert [limiter.acquire("a") for _ in range(3)] == [0.0, 0.0, pytest.approx(1.0)]
    assert limiter.acquire("b") == 0.0  # buckets are per caller
    now[0] = 1.0
    assert limiter.acquire("a") == 0.0
    assert limiter.acquire("a") == pytest.approx(1.0)
    now[0] = 100.0
    assert [limiter.acquire("a") for _ in range(3)][:2] == [0.0, 0.0]  # refills to the burst


def test_the_bucket_table_stays_bounded() -> None:
    limiter = RateLimiter(RateLimit(per_minute=60, burst=1), max_callers=10)
    for index in range(1000):
        limiter.acquire(f"caller-{index}")
    assert len(limiter._buckets) == 10


# ------------------------------------------------------------------------- the checks alone


def test_every_catalogue_name_and_cell_passes_the_wire_checks() -> None:
    """The wire's character rule must never refuse something the catalogue allows."""
    for dimension in CAT.dimensions.values():
        request = pb2.QueryRequest(query_id="q", spec=pb2.QuerySpec(
            catalogue_version=CAT.version, measure=next(iter(CAT.measures)),
            statistic=pb2.STATISTIC_COUNT, group_by=[dimension.name], period="2025-Q4",
            epsilon="0.5", filters=[pb2.Filter(dimension=dimension.name,
                                               values=list(dimension.cells))]))
        assert request_problem(QUERY, request) is None, dimension.name
    for measure in CAT.measures:
        request = query_request("q", measure=measure)
        assert request_problem(QUERY, request) is None, measure


@pytest.mark.parametrize("method,request_,words", [
    ("/koepel.v1.AggregatorService/SubmitQuery",
     pb2.SubmitQueryRequest(spec=query_request("x").spec, deadline_seconds=float("inf")),
     "deadline_seconds must be between"),
    ("/koepel.v1.AggregatorService/SubmitQuery",
     pb2.SubmitQueryRequest(spec=query_request("x").spec, deadline_seconds=-1), "deadline"),
    ("/koepel.v1.AggregatorService/SubmitQuery", pb2.SubmitQueryRequest(), "spec is required"),
    ("/koepel.v1.AggregatorService/SubmitQuery",
     pb2.SubmitQueryRequest(spec=query_request("x").spec, query_id="a b"), "query_id must be"),
    ("/koepel.v1.AggregatorService/PlanQuery", pb2.PlanQueryRequest(), "spec is required"),
    ("/koepel.v1.AggregatorService/PlanQuery",
     pb2.PlanQueryRequest(spec=pb2.QuerySpec(measure="m")), "spec.catalogue_version"),
    ("/koepel.v1.AggregatorService/History", pb2.HistoryRequest(limit=-5), "limit must be"),
    ("/koepel.v1.AggregatorService/History", pb2.HistoryRequest(result_id="../x"), "result_id"),
    ("/koepel.v1.NodeService/ExportLedger", pb2.ExportLedgerRequest(after_sequence=-1),
     "after_sequence"),
    ("/koepel.v1.NodeService/Query", pb2.QueryRequest(query_id="q"), "spec is required"),
    ("/koepel.v1.NodeService/Unknown", pb2.QueryRequest(), "has no request checks"),
])
def test_request_checks_cover_every_method(method: str, request_: object, words: str) -> None:
    problem = request_problem(method, request_)
    assert problem is not None and words in problem


def test_plaintext_header_identity_is_checked_too(tmp_path: Path) -> None:
    """In --insecure mode a missing or malformed header is UNAUTHENTICATED."""
    config_path = create_node(tmp_path / "plain", queriers={"federation": "1"})
    runtime = reopen(config_path.parent)
    try:
        with node_server(runtime, insecure=True) as port, node_stub(port, None) as stub:
            for metadata in ((), (("x-koepel-querier", "bad name!"),)):
                with pytest.raises(grpc.RpcError) as caught:
                    stub.Describe(pb2.DescribeRequest(), timeout=10, metadata=metadata)
                assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED  # type: ignore[attr-defined]
            described = stub.Describe(pb2.DescribeRequest(), timeout=10,
                                      metadata=(("x-koepel-querier", "federation"),))
            assert described.node_id == "org-test"
    finally:
        runtime.close()
