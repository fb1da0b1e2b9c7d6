"""Nothing in a reply depends on the records except the noisy values themselves.

* Refusals are the same, word for word, on a node with records and on an empty one.
* Every cell (and every bin) is released, zeros included, in the catalogue's order.
* Every Query reply — answers and refusals — leaves on a multiple of the reply quantum. The
  clock and the sleep are injected, so the rule is checked without timing anything.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc
import pytest
from conftest import FIXTURES

from node import NodeRuntime, ReplyPacer, import_files
from node.service.metrics import NodeMetrics
from node.service.servicer import NodeServicer
from privacy import KoepelError, QuerySpec, Statistic, default_catalogue, validate
from protos import pb2
from wire.limits import QUERIER_HEADER

CAT = default_catalogue()


@pytest.fixture
def pair(node_factory: Callable[..., NodeRuntime]) -> tuple[NodeRuntime, NodeRuntime]:
    """The same policy on a node with records and on an empty one."""
    full = node_factory("full", queriers={"federation": "1"})
    import_files(full.store, full.secret, sorted((FIXTURES / "small").glob("*.csv")))
    empty = node_factory("empty", queriers={"federation": "1"})
    return full, empty


BAD = [
    QuerySpec(CAT.version, "salary", Statistic.COUNT, (), (), "2025", 100_000),
    QuerySpec(CAT.version, "headcount", Statistic.MEAN, (), (), "2025", 100_000),
    QuerySpec(CAT.version, "headcount", Statistic.COUNT, ("name",), (), "2025", 100_000),
    QuerySpec(CAT.version, "support_hours", Statistic.COUNT, (), (("region", ("BE-XX",)),),
              "2025", 100_000),
    QuerySpec("1999.9", "headcount", Statistic.COUNT, (), (), "2025", 100_000),
    QuerySpec(CAT.version, "headcount", Statistic.COUNT, (), (), "2025", 2_000_000),  # over cap
]


def _refusal(runtime: NodeRuntime, spec: QuerySpec, query_id: str = "q") -> tuple[str, str]:
    with pytest.raises(KoepelError) as refused:
        runtime.engine.answer("federation", query_id, spec)
    return refused.value.code, str(refused.value)


@pytest.mark.parametrize("spec", BAD)
def test_refusals_do_not_depend_on_the_records(pair: tuple[NodeRuntime, NodeRuntime],
                                               spec: QuerySpec) -> None:
    full, empty = pair
    assert _refusal(full, spec) == _refusal(empty, spec)


def test_budget_refusals_after_equal_spending_do_not_depend_on_the_records(
        pair: tuple[NodeRuntime, NodeRuntime]) -> None:
    spec = QuerySpec(CAT.version, "support_hours", Statistic.MEAN, ("region",), (), "2025",
                     700_000)
    for runtime in pair:
        runtime.engine.answer("federation", "first", spec)
    assert _refusal(pair[0], spec, "second") == _refusal(pair[1], spec, "second")
    assert _refusal(pair[0], spec, "first-x") == _refusal(pair[1], spec, "first-x")


@pytest.mark.parametrize("statistic,group_by,measure", [
    (Statistic.COUNT, ("target_group", "gender"), "headcount"),
    (Statistic.MEAN, ("exit_destination",), "exited_to_regular_job"),
    (Statistic.HISTOGRAM, ("age_band",), "competence_gain"),
])
def test_every_cell_and_bin_is_released_even_when_empty(
        pair: tuple[NodeRuntime, NodeRuntime], statistic: Statistic,
        group_by: tuple[str, ...], measure: str) -> None:
    spec = QuerySpec(CAT.version, measure, statistic, group_by, (), "2025", 200_000)
    cells = validate(spec, CAT).cells
    n_bins = len(CAT.measures[measure].bins) - 1
    for runtime in pair:
        answer = runtime.engine.answer("federation", "all-cells", spec)
        assert answer.cells == cells
        for vector in answer.release.vectors:
            expected = len(cells) * (n_bins if statistic is Statistic.HISTOGRAM else 1)
            assert len(vector.values) == expected


# ------------------------------------------------------------------ reply pacing


class FakeClock:
    """Returns the given instants in turn; records every sleep."""

    def __init__(self, *instants: float) -> None:
        self.instants = list(instants)
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.instants.pop(0)

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)


def test_pacer_waits_until_the_next_multiple_of_the_quantum() -> None:
    pacer = ReplyPacer(0.05)
    assert pacer.release_time(10.0, 10.013) == pytest.approx(10.05)
    assert pacer.release_time(10.0, 10.05) == pytest.approx(10.05)
    assert pacer.release_time(10.0, 10.051) == pytest.approx(10.10)
    assert pacer.release_time(10.0, 10.0) == pytest.approx(10.05)  # never before one quantum
    assert ReplyPacer(0).release_time(10.0, 10.3) == 10.3
    with pytest.raises(ValueError):
        ReplyPacer(-1)


def test_pacer_also_holds_replies_that_raise() -> None:
    clock = FakeClock(100.0, 100.012)
    pacer = ReplyPacer(0.05, clock=clock, sleep=clock.sleep)
    with pytest.raises(RuntimeError), pacer.paced():
        raise RuntimeError("refused")
    assert clock.slept == [pytest.approx(0.038)]


class FakeContext:
    """The parts of a grpc.ServicerContext the servicer uses."""

    def __init__(self, querier: str) -> None:
        self.querier = querier
        self.status: Any = None

    def invocation_metadata(self) -> tuple[tuple[str, str], ...]:
        return ((QUERIER_HEADER, self.querier),)

    def abort_with_status(self, status: Any) -> None:
        self.status = status
        raise grpc.RpcError(status.details)


def test_the_servicer_paces_answers_and_refusals_alike(
        pair: tuple[NodeRuntime, NodeRuntime]) -> None:
    full, _ = pair
    clock = FakeClock(5.0, 5.020, 7.0, 7.004, 9.0, 9.2)
    servicer = NodeServicer(full.config, full.engine, insecure=True,
                            metrics=NodeMetrics(full.config, full.engine, full.store),
                            pacer=ReplyPacer(0.05, clock=clock, sleep=clock.sleep))
    spec = pb2.QuerySpec(catalogue_version=CAT.version, measure="headcount",
                         statistic=pb2.STATISTIC_COUNT, period="2025", epsilon="0.1")
    answer = servicer.Query(pb2.QueryRequest(query_id="p1", spec=spec), FakeContext("federation"))
    assert answer.query_id == "p1" and answer.receipt.signature
    refused_context = FakeContext("stranger")
    with pytest.raises(grpc.RpcError):
        servicer.Query(pb2.QueryRequest(query_id="p2", spec=spec), refused_context)
    assert refused_context.status.code == grpc.StatusCode.PERMISSION_DENIED
    servicer.Query(pb2.QueryRequest(query_id="p1", spec=spec), FakeContext("federation"))
    # 20 ms → wait 30 ms; 4 ms → wait 46 ms; 200 ms is exactly four quanta → no wait.
    assert clock.slept == [pytest.approx(0.030), pytest.approx(0.046)]


def test_the_quantum_comes_from_node_toml(pair: tuple[NodeRuntime, NodeRuntime]) -> None:
    full, _ = pair
    assert full.config.reply_quantum_ms == 50
    servicer = NodeServicer(full.config, full.engine, insecure=True,
                            metrics=NodeMetrics(full.config, full.engine, full.store))
    assert servicer._pacer.quantum == pytest.approx(0.05)
