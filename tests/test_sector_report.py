"""The sector report's parts without a network: trends keyed by catalogue version, splits,
published results as a node keeps them, the rate-limit wait and the command's refusals."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import grpc
import pytest
from click.testing import CliRunner

from aggregator import result_to_proto
from aggregator.federation import AggregationMode
from aggregator.indicators import REPORTS
from aggregator.trends import series
from cli import cli, report_cmds
from cli.sector_report import (
    Figure,
    PdfUnavailable,
    SectorReport,
    Trend,
    html_to_pdf,
    render_html,
    render_xlsx,
    split_result,
    text_for,
    year_range,
)
from cli.sector_report.build import patiently
from cli.sector_report.splits import SECURE_REFUSAL, SplitRefused
from node.published import PublishedResult, published_from_proto
from privacy import InvalidQueryError, Statistic, shipped_catalogues
from protos import pb2
from tests import test_cli_operator as cli_operator
from tests.fake_nodes import FakeNode, entry, federation_config, sample_result
from tests.test_cli_operator import Running
from wire.checks import request_problem
from wire.ratelimit import RateLimit

INDICATOR = {i.key: i for i in REPORTS["sector"]}["support_hours"]


def _point(period: str, version: str, created: str, value: float) -> object:
    result = sample_result(f"r{period}{version}")
    spec = replace(result.spec, period=period, catalogue_version=version, filters=(),
                   group_by=("target_group",))
    cells = tuple(replace(c, key=("TG_DISABILITY",), estimate=value) for c in result.cells[:1])
    return replace(result, spec=spec, created_at=created, group_by=("target_group",),
                   cells=cells)


def test_a_trend_joins_identical_definitions_and_breaks_where_a_measure_was_rebounded() -> None:
    catalogues = dict(shipped_catalogues())
    old = catalogues["2026.1"]
    rebounded = replace(old.measures["support_hours"], upper=Decimal(200))
    catalogues["2026.1"] = replace(old, measures={**old.measures, "support_hours": rebounded})
    points = [_point("2023", "2025.1", "2024-01-02", 10.0),
              _point("2024", "2026.1", "2025-01-02", 11.0),
              _point("2025", "2026.2", "2026-01-02", 12.0),
              _point("2025", "2026.2", "2025-06-01", 99.0)]  # older result of 2025: not used
    segments, missing = series(points, measure="support_hours", statistic=Statistic.MEAN,  # type: ignore[arg-type]
                               group_by=("target_group",), periods=("2022", "2023", "2024", "2025"),
                               catalogues=catalogues)
    assert missing == ["2022"]
    assert [s.catalogue_versions for s in segments] == [("2025.1",), ("2026.1",), ("2026.2",)]
    assert [p.cells[0].estimate for s in segments for p in s.points] == [10.0, 11.0, 12.0]
    # With the shipped catalogues (support_hours defined alike throughout) it is one line.
    joined, _ = series(points, measure="support_hours", statistic=Statistic.MEAN,  # type: ignore[arg-type]
                       group_by=("target_group",), periods=("2023", "2024", "2025"),
                       catalogues=shipped_catalogues())
    assert len(joined) == 1 and len(joined[0].points) == 3
    report = SectorReport("T", "F", "2025", "2026-01-15T10:00:00+00:00", (),
                          (Trend(INDICATOR, tuple(segments), tuple(missing)),),
                          ("2022", "2023", "2024", "2025"))
    html = render_html(report, "en")
    assert "Break in the series (2025.1 → 2026.1, 2026.1 → 2026.2)" in html
    assert html.count("<polyline") == 0 and html.count("stroke-dasharray") == 2
    assert "No stored result for 2022." in html
    assert render_xlsx(report, "nl").startswith(b"PK")


def test_a_secure_result_is_not_split_and_the_report_says_why() -> None:
    result = replace(sample_result("s1"), aggregation="secure")
    with pytest.raises(SplitRefused) as refused:
        split_result(result, [entry("n0")], "kind")
    assert str(refused.value) == SECURE_REFUSAL


def test_the_years_of_a_trend_are_checked() -> None:
    assert year_range("2023", "2025") == ("2023", "2024", "2025")
    for first, last in (("2025", "2023"), ("2023", "last"), ("2000", "2030"), ("", "2025")):
        with pytest.raises(ValueError):
            year_range(first, last)


def test_the_report_command_refuses_what_it_cannot_do_before_asking() -> None:
    runner = CliRunner()
    address = ("--aggregator", "127.0.0.1:9", "--insecure")
    done = runner.invoke(cli, ["report", "--dry-run", "--from", "2023", "--to", "2025",
                               *address])
    assert done.exit_code == 2 and "--dry-run spends nothing already" in done.output
    done = runner.invoke(cli, ["report", "--from", "2025", "--to", "2023", *address])
    assert done.exit_code == 2 and "--from must not come after --to" in done.output
    done = runner.invoke(cli, ["report", *address])
    assert done.exit_code == 2 and "say which period" in done.output
    done = runner.invoke(cli, ["report", "--period", "2025", "--lang", "de", *address])
    assert done.exit_code == 2


class _Limited(grpc.RpcError):
    def __init__(self, details: str, code: grpc.StatusCode) -> None:
        self._details, self._code = details, code

    def code(self) -> grpc.StatusCode:
        return self._code

    def details(self) -> str:
        return self._details


def test_a_report_waits_out_the_rate_limit_and_nothing_else() -> None:
    calls, slept = [], []

    def call() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise _Limited("rate limit of 60 requests per minute exceeded for x; retry in 0.8 s",
                           grpc.StatusCode.RESOURCE_EXHAUSTED)
        return "done"

    assert patiently(call, sleep=slept.append) == "done"
    assert len(calls) == 3 and slept == [pytest.approx(0.85)] * 2

    def refused() -> str:
        raise _Limited("the request is larger than X accepts", grpc.StatusCode.RESOURCE_EXHAUSTED)

    with pytest.raises(grpc.RpcError):
        patiently(refused, sleep=slept.append)


def test_a_node_keeps_only_a_well_formed_published_result() -> None:
    result = sample_result("pub-1")
    kept = published_from_proto(result_to_proto(result))
    assert isinstance(kept, PublishedResult)
    assert kept.answered == 1 and kept.registered == 3 and kept.measure == "support_hours"
    assert kept.filters == (("gender", ("F", "M")),)
    again = PublishedResult.from_json(kept.to_json())
    assert again.result_id == kept.result_id and again.filters == kept.filters
    assert math.isnan(again.cells[1].estimate) and again.cells[0].estimate == 53.0
    for broken in (replace(result, result_id="bad id with spaces"),
                   replace(result, cells=(replace(result.cells[0], key=("a", "b")),)),
                   replace(result, cells=(replace(result.cells[0], estimate=math.inf),))):
        with pytest.raises(InvalidQueryError):
            published_from_proto(result_to_proto(broken))


def test_the_report_names_every_organisation_and_what_it_answered() -> None:
    result = sample_result("r1")
    report = SectorReport("T", "F", "2025", "2026-01-15T10:00:00+00:00",
                          (Figure(INDICATOR, result),))
    assert report.organisations() == [("n0", 1, 1), ("n1", 0, 1), ("n2", 0, 1)]
    html = render_html(report, "nl")
    assert "Welke organisaties antwoordden" in html and "1 van 1" in html


@pytest.fixture
def running(monkeypatch: pytest.MonkeyPatch) -> Iterator[Running]:
    # A report asks ~35 things at once; the default operator limit (60 a minute, bursts of 20)
    # would make this test wait (tests/test_sector_report.py checks the wait itself).
    monkeypatch.setattr(cli_operator, "federation_config", lambda nodes, **options: replace(
        federation_config(nodes, **options), operator_rate=RateLimit(60_000, 1_000)))
    nodes = [FakeNode(entry("ok-1", expected_size=100), value=12),
             FakeNode(entry("ok-2", expected_size=80), value=30)]
    federation = Running(nodes, down=())
    yield federation
    federation.close()


def test_a_split_regroups_stored_answers_per_kind_at_no_cost(running: Running,
                                                             tmp_path: Path) -> None:
    path = tmp_path / "split.html"
    done = running.koepel("report", "--period", "2025", "--epsilon", "1.5", "--split", "kind",
                          "--lang", "fr", "--out", str(path))
    assert done.exit_code == 9, done.output  # the fake nodes leave out support hours' clamping
    assert "INCOMPLETE" in done.output
    spent = [n.spent_micro for n in running.nodes]
    html = path.read_text()
    assert html.count("<h4>Par type d&#x27;organisation</h4>") == len(REPORTS["sector"])
    assert "entreprise d&#x27;insertion, Wallonie (EI)" in html
    again = running.koepel("report", "--period", "2025", "--from-history", "--split", "region",
                           "--lang", "nl", "--out", str(tmp_path / "again.html"))
    assert again.exit_code == 9, again.output
    assert "Per regio van de organisatie" in (tmp_path / "again.html").read_text()
    assert [n.spent_micro for n in running.nodes] == spent


def test_a_split_is_refused_before_anything_is_asked_under_secure_aggregation(
        running: Running, tmp_path: Path) -> None:
    running.aggregator.config = replace(running.aggregator.config,
                                        aggregation=AggregationMode("secure"))
    done = running.koepel("report", "--period", "2025", "--split", "kind",
                          "--out", str(tmp_path / "r.html"))
    assert done.exit_code == 2, done.output
    assert "secure aggregation" in done.output and "Nothing was asked" in done.output
    assert all(n.calls == [] for n in running.nodes)
    assert not (tmp_path / "r.html").exists()


@pytest.mark.parametrize("method,request_,words", [
    ("/koepel.v1.AggregatorService/PublishResult", pb2.PublishResultRequest(),
     "result_id is required"),
    ("/koepel.v1.AggregatorService/PublishResult",
     pb2.PublishResultRequest(result_id="../x"), "result_id must be"),
    ("/koepel.v1.AggregatorService/PublishResult",
     pb2.PublishResultRequest(result_id="r1", node_ids=["a", "a"]), "distinct node ids"),
    ("/koepel.v1.AggregatorService/PublishResult",
     pb2.PublishResultRequest(result_id="r1", node_ids=["a b"]), "node_ids entries"),
    ("/koepel.v1.AggregatorService/PublishResult",
     pb2.PublishResultRequest(result_id="r1", deadline_seconds=math.inf), "deadline_seconds"),
    ("/koepel.v1.NodeService/ReceiveSectorResult", pb2.ReceiveSectorResultRequest(),
     "result is required"),
    ("/koepel.v1.NodeService/ReceiveSectorResult",
     pb2.ReceiveSectorResultRequest(result=pb2.SectorResult(result_id="r 1")), "result_id"),
    ("/koepel.v1.NodeService/ReceiveSectorResult",
     pb2.ReceiveSectorResultRequest(result=pb2.SectorResult(result_id="r1")),
     "result.spec.catalogue_version"),
])
def test_publishing_requests_are_checked_at_the_gate(method: str, request_: object,
                                                     words: str) -> None:
    problem = request_problem(method, request_)
    assert problem is not None and words in problem
    good = result_to_proto(sample_result("r1"))
    assert request_problem("/koepel.v1.NodeService/ReceiveSectorResult",
                           pb2.ReceiveSectorResultRequest(result=good)) is None
    assert request_problem("/koepel.v1.AggregatorService/PublishResult",
                           pb2.PublishResultRequest(result_id="r1", node_ids=["n0"])) is None


def test_a_missing_chromium_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KOEPEL_CHROMIUM", "/nonexistent/chromium")
    with pytest.raises(PdfUnavailable, match="apt-get install chromium"):
        html_to_pdf("<p>x</p>")


def test_the_aggregators_reasons_are_translated_with_their_numbers() -> None:
    fr, nl, en = text_for("fr"), text_for("nl"), text_for("en")
    note = "relative standard error may be above 25% (up to 141% within the 95% interval)"
    assert fr.note(note) == ("l'erreur type relative peut dépasser 25% (jusqu'à 141% dans "
                             "l'intervalle à 95 %)")
    assert en.note(note) == note
    assert nl.note("the 95% interval includes 0: relative standard error unbounded") == (
        "het 95%-interval bevat 0: relatieve standaardfout onbegrensd")
    assert fr.note("1 of 3 nodes answered (33%), below the quorum of 50% of nodes") == (
        "organisations ayant répondu : 1 sur 3 (33%), sous le quorum de 50% des organisations")
    assert fr.note("something new") == "something new"


def test_the_history_is_read_a_page_at_a_time(running: Running, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    first = running.koepel("report", "--period", "2025", "--epsilon", "1.5",
                           "--out", str(tmp_path / "a.html"))
    assert first.exit_code == 9, first.output
    monkeypatch.setattr(report_cmds, "HISTORY_SCAN", 4)  # 15 stored results: four pages
    again = running.koepel("report", "--period", "2025", "--from-history",
                           "--out", str(tmp_path / "b.html"))
    assert again.exit_code == 9, again.output
    assert "no stored result" not in again.output
    assert (tmp_path / "b.html").read_text().count("<svg") == len(REPORTS["sector"])


def test_the_report_asks_in_the_federations_own_catalogue() -> None:
    from cli.errors import KoepelCliError
    from cli.report_cmds import _federation_catalogue

    assert _federation_catalogue("2026.2-zcdp").version == "2026.2-zcdp"
    assert _federation_catalogue("").version == "2026.2"
    with pytest.raises(KoepelCliError, match="does not ship"):
        _federation_catalogue("ours-1")
