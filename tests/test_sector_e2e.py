"""The sector report and `koepel publish` end to end: real node processes and a real aggregator
process over mutual TLS, the CLI as a subprocess, the pages in Debian's headless Chromium.

Three organisations of three kinds answer the sector report for 2023, 2024 and 2025; the
report is written in French, Dutch and English, as HTML, PDF and XLSX, with every measure of the
catalogue, a three-year trend read back from the history and a split by kind of organisation.
Then one result is published to the nodes: the organisation's own report shows its exact figure
beside the sector's, and publishing changed nothing the node keeps about what it sent.
Screenshots are kept in ``$KOEPEL_REPORT_SCREENSHOTS`` (default: a folder in the test's
temporary directory) and their folder printed.
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from openpyxl import load_workbook

from aggregator import NodeOutcome, result_to_proto
from aggregator.indicators import REPORTS
from cli.client import AggregatorClient
from cli.federation_runner import LocalFederation, setup_node
from cli.sector_report import split_result, text_for
from cli.sector_report.pdf import CHROMIUM_ARGS, chromium_path
from node import load_node_config, open_node
from node.synthetic.generator import OrgProfile
from privacy import Statistic, default_catalogue, validate
from protos import pb2, pb2_grpc
from wire.ratelimit import RateLimit
from wire.tls import CA_CERT, TlsFiles, channel_credentials

CAT = default_catalogue()
PROFILES = [
    OrgProfile("eta-1", "Atelier Les Tilleuls", "ETA_WAL", "BE-WAL", 70),
    OrgProfile("ei-1", "Insertion Meuse", "EI_WAL", "BE-WAL", 50),
    OrgProfile("mw-1", "Maatwerk Schelde", "MAATWERKBEDRIJF", "BE-VLG", 90),
]
SECTOR = REPORTS["sector"]


def koepel(*args: str | Path, env: dict[str, str] | None = None
           ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cli", *map(str, args)], capture_output=True,
                          text=True, timeout=300, env=env)


@pytest.fixture(scope="module")
def federation(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalFederation]:
    root = tmp_path_factory.mktemp("sector")
    for index, profile in enumerate(PROFILES):
        setup_node(root / profile.org_id, profile, seed=index + 7, year=2025, cap_epsilon="20")
    with LocalFederation(root) as running:
        for profile in PROFILES:
            running.add_node(profile.org_id, region=profile.region, kind=profile.org_type)
        # A test operator asks ~60 things in a few seconds; a real one is held to 60 a minute.
        running.start(deadline_seconds=30, operator_rate=RateLimit(60_000, 1_000))
        yield running


def _in_parallel(*commands: list[str | Path]) -> list[subprocess.CompletedProcess[str]]:
    """Several CLI runs at once (reports from the history: they ask the nodes nothing)."""
    running = [subprocess.Popen([sys.executable, "-m", "cli", *map(str, c)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for c in commands]
    done = []
    for command, process in zip(commands, running, strict=True):
        out, err = process.communicate(timeout=300)
        done.append(subprocess.CompletedProcess(command, process.returncode, out, err))
    return done


@pytest.fixture(scope="module")
def reports(federation: LocalFederation) -> dict[str, object]:
    """The three years asked for, then the reports written from them."""
    out = federation.root / "reports"
    client = federation.client_args()
    years = (("2023", "1.5"), ("2024", "1.5"), ("2025", "3"))
    asked = {}
    for year, epsilon in years:  # one after the other: each node limits its queries a minute
        done = koepel("report", "--period", year, "--epsilon", epsilon, "--lang", "en",
                      "--json", "--out", out / f"sector-{year}.html", *client)
        assert done.returncode == 0, done.stdout + done.stderr
        asked[year] = json.loads(done.stdout)
    trend = ["report", "--from", "2023", "--to", "2025", *client]
    for done in _in_parallel(
            *([*trend, "--split", "kind", "--lang", language, "--out",
               out / f"trend-{language}.html"] for language in ("fr", "nl", "en")),
            *([*trend, "--lang", "fr", "--format", output, "--out", out / f"trend-fr.{output}"]
              for output in ("pdf", "xlsx"))):
        assert done.returncode == 0, done.stdout + done.stderr
    return {"folder": out, "asked": asked}


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not chromium_path().exists():
        pytest.fail("Debian's chromium is not installed at /usr/bin/chromium: run `make "
                    "browser-deps` (apt-get install -y --no-install-recommends chromium)")
    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(chromium_path()),
                                              args=CHROMIUM_ARGS, headless=True)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = Path(os.environ.get("KOEPEL_REPORT_SCREENSHOTS",
                                 tmp_path_factory.mktemp("report-screenshots")))
    folder.mkdir(parents=True, exist_ok=True)
    print(f"report screenshots in {folder}")
    return folder


def _page(browser: object, path: Path, shot: Path, *, media: str = "screen") -> object:
    context = browser.new_context(viewport={"width": 1000, "height": 1400},  # type: ignore[attr-defined]
                                  offline=True)
    page = context.new_page()
    page.emulate_media(media=media)
    page.goto(path.as_uri())
    page.screenshot(path=str(shot))  # the first screen: a full page is 20 000 px tall
    return page


def test_the_report_holds_every_measure_in_each_language(
        reports: dict[str, object], browser: object, shots: Path) -> None:
    folder = reports["folder"]
    assert isinstance(folder, Path)
    for language in ("fr", "nl", "en"):
        _ = text_for(language)
        page = _page(browser, folder / f"trend-{language}.html", shots / f"sector-{language}.png")
        assert page.locator("html").get_attribute("lang") == language  # type: ignore[attr-defined]
        body = page.locator("body").inner_text()  # type: ignore[attr-defined]
        for indicator in SECTOR:  # every figure, with its translated title
            assert _(indicator.title) in body, (language, indicator.key)
        assert {i.measure for i in SECTOR} == set(CAT.measures)
        assert _("How these figures were made") in body
        assert _("Which organisations answered") in body
        assert _("Over the years, %(first)s to %(last)s", first="2023", last="2025") in body
        # 15 figures, their trends, and one split chart for each single-cell figure
        singles = sum(1 for i in SECTOR
                      if not i.group_by and i.statistic is not Statistic.HISTOGRAM)
        assert page.locator("svg[role=img]").count() == 2 * len(SECTOR) + singles  # type: ignore[attr-defined]
        assert "<script" not in (folder / f"trend-{language}.html").read_text()
    fr = (folder / "trend-fr.html").read_text()
    assert "Qui nous employons" in fr and "Leur progression, dans leurs propres mots" in fr
    assert re.search(r"\d,\d", fr)  # decimal comma


def test_a_three_year_trend_has_an_interval_on_every_point(
        reports: dict[str, object], browser: object, shots: Path) -> None:
    folder = reports["folder"]
    assert isinstance(folder, Path)
    page = _page(browser, folder / "trend-en.html", shots / "trend-en.png")
    trend = page.locator("#trend-retention_12m svg")  # type: ignore[attr-defined]
    page.locator("#trend-headcount_target_group").screenshot(  # type: ignore[attr-defined]
        path=str(shots / "trend-en.png"))
    assert trend.locator("circle").count() == 3  # 2023, 2024, 2025
    assert trend.locator("path").count() == 3  # a 95% interval whisker on each point
    assert trend.locator("polyline").count() == 1  # one definition: one joined line
    text = trend.inner_text() if False else trend.inner_html()
    for year in ("2023", "2024", "2025"):
        assert f">{year}</text>" in text
    asked = reports["asked"]
    assert isinstance(asked, dict)
    for year in ("2023", "2024", "2025"):  # each point is that year's stored result
        ids = {r["result_id"] for r in asked[year]["results"]}
        assert ids & set(re.findall(r"result ([0-9a-f]{32})", folder.joinpath(
            f"sector-{year}.html").read_text()))


def test_a_kind_split_regroups_the_answers_without_asking_again(
        federation: LocalFederation, reports: dict[str, object], browser: object,
        shots: Path) -> None:
    folder = reports["folder"]
    assert isinstance(folder, Path)
    page = _page(browser, folder / "trend-nl.html", shots / "split-kind-nl.png")
    section = page.locator("#transition_rate")  # type: ignore[attr-defined]
    section.screenshot(path=str(shots / "split-kind-nl.png"))
    body = section.inner_text()
    _ = text_for("nl")
    assert _("By %(attribute)s", attribute=_("kind of organisation")) in body
    for profile in PROFILES:
        assert _.label("kind", profile.org_type) in body
    # The split adds up the stored answers: per count cell, the groups' raw estimates add up
    # to the sector's raw estimate exactly (the same noisy answers, regrouped).
    asked = reports["asked"]
    assert isinstance(asked, dict)
    result_id = asked["2025"]["results"][0]["result_id"]  # headcount by target group
    spent = _ledger_sizes(federation)
    with AggregatorClient(federation.connection()) as client:
        full = client.history(result_id, include_receipts=True)[0]
        nodes = [s.node for s in client.nodes()[2]]
    split = split_result(full, nodes, "kind")
    assert sorted(g.value for g in split.groups) == sorted(p.org_type for p in PROFILES)
    for index, cell in enumerate(full.cells):
        total = sum(g.result.cells[index].raw_estimate for g in split.groups)
        assert math.isclose(total, cell.raw_estimate, abs_tol=1e-9)
        assert all(g.result.cells[index].standard_error <= cell.standard_error
                   for g in split.groups)
    assert _ledger_sizes(federation) == spent  # nothing was asked again


def test_the_pdf_and_the_workbook_are_real(reports: dict[str, object], browser: object,
                                           shots: Path) -> None:
    folder = reports["folder"]
    assert isinstance(folder, Path)
    pdf = (folder / "trend-fr.pdf").read_bytes()
    assert pdf.startswith(b"%PDF-")
    pages = len(re.findall(rb"/Type\s*/Page\b", pdf))
    assert pages >= 4  # the figures, the trends and the method page on A4
    assert b"/MediaBox [0 0 594.95996 841.91998]" in pdf  # A4 in points
    # What Chromium printed: the same page under print media, screenshotted.
    _page(browser, folder / "trend-fr.html", shots / "sector-fr-print.png", media="print")
    book = load_workbook(folder / "trend-fr.xlsx", read_only=True)
    assert book.sheetnames == ["Chiffres", "Évolutions", "Organisations"]
    rows = list(book["Chiffres"].iter_rows(values_only=True))
    assert rows[0][:3] == ("partie", "chiffre", "case")
    _ = text_for("fr")
    assert {r[1] for r in rows[1:]} == {_(i.title) for i in SECTOR}
    assert all(isinstance(r[3], float | int) for r in rows[1:] if r[3] is not None)
    trend_years = {r[1] for r in book["Évolutions"].iter_rows(min_row=2, values_only=True)}
    assert trend_years == {"2023", "2024", "2025"}


def _ledger_sizes(federation: LocalFederation) -> dict[str, tuple[int, int]]:
    """Per node: rows in its ledger and stored answers (what it charged and sent)."""
    sizes = {}
    for profile in PROFILES:
        runtime = open_node(load_node_config(federation.root / profile.org_id / "node.toml"))
        try:
            with runtime.store.reading() as conn:
                sizes[profile.org_id] = (
                    conn.execute("SELECT count(*) FROM ledger").fetchone()[0],
                    conn.execute("SELECT count(*) FROM answers").fetchone()[0])
        finally:
            runtime.close()
    return sizes


def _node_stub(federation: LocalFederation, node_id: str, tls: TlsFiles
               ) -> tuple[grpc.Channel, pb2_grpc.NodeServiceStub]:
    options = [("grpc.ssl_target_name_override", "localhost")]
    channel = grpc.secure_channel(f"127.0.0.1:{federation.node_ports[node_id]}",
                                  channel_credentials(tls), options=options)
    return channel, pb2_grpc.NodeServiceStub(channel)


def test_publishing_sends_nothing_from_the_node_and_shows_it_beside_the_sector(
        federation: LocalFederation, reports: dict[str, object], browser: object,
        shots: Path) -> None:
    asked = reports["asked"]
    assert isinstance(asked, dict)
    result_id = asked["2025"]["results"][0]["result_id"]  # headcount by target group
    before = _ledger_sizes(federation)
    done = koepel("publish", result_id, "--json", *federation.client_args())
    assert done.returncode == 0, done.stdout + done.stderr
    outcome = json.loads(done.stdout)
    assert [n["stored"] for n in outcome["nodes"]] == [True, True, True]
    assert _ledger_sizes(federation) == before  # nothing charged, nothing answered

    # The node's reply is empty: publishing reads nothing from it.
    with AggregatorClient(federation.connection()) as client:
        published = client.history(result_id)[0]
    aggregator = TlsFiles(federation.root / "tls" / "aggregator.crt",
                          federation.root / "tls" / "aggregator.key",
                          federation.root / "tls" / CA_CERT)
    channel, stub = _node_stub(federation, "ei-1", aggregator)
    with channel:
        reply = stub.ReceiveSectorResult(pb2.ReceiveSectorResultRequest(
            result=result_to_proto(published)), timeout=10)
        assert reply.ByteSize() == 0 and reply.SerializeToString() == b""
    channel, stub = _node_stub(federation, "ei-1", federation.operator_tls)
    with channel, pytest.raises(grpc.RpcError) as refused:
        stub.ReceiveSectorResult(pb2.ReceiveSectorResultRequest(
            result=result_to_proto(published)), timeout=10)
    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED  # operators may not
    assert _ledger_sizes(federation) == before

    # The organisation's report: its exact figure beside the sector's estimate and interval.
    config = federation.root / "ei-1" / "node.toml"
    page_path = federation.root / "ei-1-report.html"
    env = {**os.environ, "KOEPEL_LANG": "fr"}
    done = koepel("node", "report", "--config", config, "--period", "2025", "--json",
                  "--html", page_path, "--plaintext", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    local = json.loads(done.stdout)
    beside = [b for b in local["beside_sector"] if b["result_id"] == result_id]
    assert len(beside) == 1 and beside[0]["measure"] == "headcount"
    spec = validate(published.spec, CAT)
    runtime = open_node(load_node_config(config))
    try:
        exact, _ = runtime.engine.exact_cells(spec)
    finally:
        runtime.close()
    by_key = {tuple(c["key"]): c for c in beside[0]["cells"]}
    for cell, count, sector in zip(spec.cells, exact, published.cells, strict=True):
        assert by_key[cell]["own"] == count  # the organisation's exact figure
        assert by_key[cell]["sector_estimate"] == pytest.approx(sector.estimate)
        assert by_key[cell]["sector_ci"] == pytest.approx([sector.ci_lower, sector.ci_upper])
    page = _page(browser, page_path, shots / "organisation-beside-sector-fr.png")
    body = page.locator("section.beside-sector").inner_text()  # type: ignore[attr-defined]
    assert "À côté du secteur" in body and "notre organisation" in body
    assert "estimation du secteur" in body and "intervalle à 95 % du secteur" in body
    assert "travailleurs défavorisés" in body
    heading = page.locator("h1").inner_text()  # type: ignore[attr-defined]
    assert heading == "Insertion Meuse : accompagnement et emploi, 2025"
    assert all(r.outcome is NodeOutcome.ANSWERED for r in published.nodes)
