"""`koepel report` and `koepel publish`: the sector report, and the figures sent back to nodes.

`koepel report` asks every figure of a named indicator set (by default ``sector``: every
measure of the current catalogue) and writes the report in French, Dutch or English, as HTML,
PDF or XLSX. ``--dry-run`` shows what the whole set would cost each node; ``--from-history``
rebuilds the report from stored results without spending anything; ``--from/--to`` adds the
trend over those years from the history (free); ``--split kind`` or ``--split region`` adds,
per figure, the figure for each kind or region of organisation registered in federation.toml
(re-combined from the answers the aggregator holds: no new query).

`koepel publish ID` sends a stored result to the nodes, which keep it and show their own exact
figure beside it; nothing comes back from a node but whether it stored the result.
"""

from __future__ import annotations

import functools
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import click
from rich.markup import escape
from rich.progress import Progress

from aggregator import (
    REPORTS,
    Indicator,
    NodeEntry,
    NodeOutcome,
    SectorResult,
    merge_plans,
    report_queries,
    spec_to_proto,
)
from aggregator.serde import node_report_from_proto
from cli.client import AggregatorClient, Connection
from cli.errors import EXIT, KoepelCliError, handle_errors
from cli.query_cmds import AGGREGATOR_OPTION
from cli.render import console, dump_json, result_json, status_name
from cli.render_federation import plan_json, plan_table
from cli.sector_report import (
    HISTORY_SCAN,
    Figure,
    PdfUnavailable,
    SectorReport,
    ask,
    default_title,
    html_to_pdf,
    matching,
    patiently,
    render_html,
    render_xlsx,
    split_figures,
    trends,
    year_range,
)
from i18n import LANGUAGES, choose_language
from privacy import (
    Catalogue,
    QuerySpec,
    available_catalogues,
    default_catalogue,
    format_micro,
    parse_epsilon,
)
from protos import pb2

__all__ = ["publish", "report"]

_FORMATS = ("html", "pdf", "xlsx")
_ATTRIBUTES = ("kind", "region")


def write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` whole or not at all (a report holds only DP figures: 0644)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(prefix=".koepel-report-", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _render(report: SectorReport, output: str, language: str) -> bytes:
    if output == "xlsx":
        return render_xlsx(report, language)
    html = render_html(report, language)
    if output == "html":
        return html.encode("utf-8")
    try:
        return html_to_pdf(html)
    except PdfUnavailable as error:
        raise KoepelCliError(str(error), EXIT["usage"]) from None


def _federation_catalogue(version: str) -> Catalogue:
    """The catalogue the federation asks in (a zCDP federation's nodes serve only zCDP
    versions, so the report must not ask in the default one)."""
    if not version:
        return default_catalogue()
    known = available_catalogues()
    if version not in known:
        raise KoepelCliError(f"the federation asks in catalogue {version!r}, which koepel does not "
                             f"ship ({', '.join(known)}); the report's figures are defined for "
                             "shipped catalogues only", EXIT["usage"])
    return known[version]


def _dry_run(client: AggregatorClient, name: str, period: str, total: int,
             queries: list[tuple[Indicator, QuerySpec]], as_json: bool) -> None:
    plan = merge_plans([patiently(functools.partial(client.plan, spec_to_proto(spec)))
                        for _, spec in queries])
    if as_json:
        dump_json(plan_json(plan))
        return
    out = console()
    out.print(plan_table(plan, title=f"Dry run: report {name!r} for {period}, "
                                     f"{len(queries)} figures (nothing spent)"))
    answering = sum(1 for n in plan.nodes if n.expected is NodeOutcome.ANSWERED)
    out.print(f"{answering} of {len(plan.nodes)} nodes would answer every figure, "
              f"spending ε={format_micro(total)} each.")


def _stored(client: AggregatorClient) -> list[SectorResult]:
    """Every stored result, newest first, a page at a time (results are DP: reading is free)."""
    stored: list[SectorResult] = []
    while True:
        page = patiently(functools.partial(client.history, limit=HISTORY_SCAN,
                                           offset=len(stored)))
        stored.extend(page)
        if len(page) < HISTORY_SCAN:
            return stored


@click.command()
@click.option("--name", default="sector", show_default=True, type=click.Choice(sorted(REPORTS)),
              help="Which set of indicators (sector: every measure of the catalogue).")
@click.option("--period", default=None, help="Reference period, e.g. 2025 (default: --to).")
@click.option("--epsilon", default="3", show_default=True,
              help="Total ε each node spends on the whole report (split between figures).")
@click.option("--from", "first", default=None, help="First year of a trend (from the history).")
@click.option("--to", "last", default=None, help="Last year of a trend (from the history).")
@click.option("--split", "splits", multiple=True, type=click.Choice(_ATTRIBUTES),
              help="Also show each figure per kind or region of organisation (no new query).")
@click.option("--format", "output", default="html", show_default=True,
              type=click.Choice(_FORMATS), help="html, pdf (printed by Chromium) or xlsx.")
@click.option("--lang", "language", default=None, type=click.Choice(LANGUAGES),
              help="Language of the report (default: KOEPEL_LANG, then the locale).")
@click.option("--out", "out_path", type=click.Path(path_type=Path, dir_okay=False),
              default=None, help="Where to write the report (default: report-PERIOD.FORMAT).")
@click.option("--title", default=None, help="The report's title.")
@click.option("--deadline", type=float, default=0.0, help="Per-node deadline in seconds.")
@click.option("--dry-run", is_flag=True, help="Show the cost per node; spend nothing.")
@click.option("--from-history", is_flag=True,
              help="Build the report from stored results; spend nothing.")
@click.option("--json", "as_json", is_flag=True, help="Also print the results as JSON.")
@AGGREGATOR_OPTION
@handle_errors
def report(name: str, period: str | None, epsilon: str, first: str | None, last: str | None,
           splits: tuple[str, ...], output: str, language: str | None, out_path: Path | None,
           title: str | None, deadline: float, dry_run: bool, from_history: bool,
           as_json: bool, conn: Connection) -> None:
    """Run the sector's indicators and write the report (charts, 95% intervals, method page).

    With --from and --to the report shows each figure over those years from the history and
    asks nothing. Exit code 9 when a figure is incomplete (the report is written all the same,
    with warnings).
    """
    if dry_run and (from_history or first or last):
        raise KoepelCliError("--dry-run spends nothing already; leave out --from-history, "
                             "--from and --to", EXIT["usage"])
    periods: tuple[str, ...] = ()
    if first or last:
        try:
            periods = year_range(first or "", last or "")
        except ValueError as error:
            raise KoepelCliError(str(error), EXIT["usage"]) from None
        if period is not None and period != periods[-1]:
            raise KoepelCliError("with --from/--to the report's period is --to; leave out "
                                 "--period", EXIT["usage"])
        period = periods[-1]
    if period is None:
        raise KoepelCliError("say which period: --period 2025 (or --from 2023 --to 2025)",
                             EXIT["usage"])
    language = choose_language(language)
    total = parse_epsilon(epsilon, field="--epsilon")
    out = console()
    with AggregatorClient(conn) as client:
        (_federation, version, states), mode = patiently(client.nodes_and_mode)
        queries = report_queries(name, period=period, epsilon_micro=total,
                                 catalogue=_federation_catalogue(version))
        if dry_run:
            _dry_run(client, name, period, total, queries, as_json)
            return
        nodes: list[NodeEntry] = []
        if splits:
            nodes = [s.node for s in states]
            if mode == "secure" and not (from_history or periods):
                raise KoepelCliError(
                    "--split needs each organisation's own answer, but this federation asks "
                    "by secure aggregation (federation.toml [aggregation] mode = \"secure\"), "
                    "where only the sum over all organisations is learnt; a split would need "
                    "one secure round per group, which koepel does not run yet. Nothing was "
                    "asked: leave out --split", EXIT["usage"])
        stored = _stored(client) if (from_history or periods) else []
        if periods:
            figures, missing = matching(stored, queries)
            for key in missing:
                out.print(f"[yellow]no stored result for {key} in {period}; left out[/yellow]")
        elif from_history:
            figures, missing = matching(stored, queries)
            if missing:
                raise KoepelCliError(f"no stored result for {', '.join(missing)} in {period}; "
                                     "run the report without --from-history first",
                                     EXIT["usage"])
        else:
            with Progress(console=out, transient=True) as progress:
                task = progress.add_task("Asking the federation", total=len(queries))
                figures = ask(client, queries, deadline,
                              advance=lambda: progress.advance(task))
        if splits and figures:
            figures = split_figures(client, figures, splits, nodes)
        trend = trends(stored, [i for i, _ in queries], periods) if periods else []
    if not figures and not any(t.segments for t in trend):
        raise KoepelCliError(f"nothing stored for {', '.join(periods)}: run `koepel report "
                             "--period YEAR` for those years first", EXIT["usage"])
    federation = next((f.result.federation for f in figures), "") or (
        next((p.federation for t in trend for s in t.segments for p in s.points), "")
        or "federation")
    sector = SectorReport(
        title=title or default_title(language, period, periods),
        federation=federation, period=period,
        generated_at=datetime.now(UTC).isoformat(timespec="seconds"), figures=tuple(figures),
        trends=tuple(trend), periods=periods)
    path = out_path or Path(f"report-{period}.{output}")
    write_atomically(path, _render(sector, output, language))
    _summary(figures, path, as_json, splits)
    if any(not f.result.complete for f in figures):
        raise SystemExit(EXIT["incomplete"])


def _summary(figures: list[Figure], path: Path, as_json: bool, splits: tuple[str, ...]) -> None:
    if as_json:
        dump_json({"report": str(path), "results": [result_json(f.result) for f in figures]})
        return
    out = console()
    for figure in figures:
        state = "complete" if figure.result.complete else "[yellow]INCOMPLETE[/yellow]"
        out.print(f"{figure.indicator.title}: {state} ({len(figure.result.answered)} of "
                  f"{len(figure.result.nodes)} nodes, result {figure.result.result_id})")
    if splits and any(s.refused for f in figures for s in f.splits):
        out.print("[yellow]some figures were made by secure aggregation and cannot be split "
                  "(the federation learnt only their sum); the report says so[/yellow]")
    out.print(f"report written to {path}")


@click.command()
@click.argument("result_id")
@click.option("--node", "node_ids", multiple=True,
              help="Send to this node only (repeatable; default: every registered node).")
@click.option("--deadline", type=float, default=0.0, help="Per-node deadline in seconds.")
@click.option("--json", "as_json", is_flag=True, help="Print the outcome as JSON.")
@AGGREGATOR_OPTION
@handle_errors
def publish(result_id: str, node_ids: tuple[str, ...], deadline: float, as_json: bool,
            conn: Connection) -> None:
    """Send stored result RESULT_ID to the nodes, to show each organisation beside its sector.

    The result is DP output (no receipt, no transcript goes with it); each node keeps it and
    answers with an empty reply: publishing spends nothing and reads nothing from a node.
    Exit code 9 when a node did not store it.
    """
    with AggregatorClient(conn) as client:
        response = client.publish(pb2.PublishResultRequest(
            result_id=result_id, node_ids=list(node_ids), deadline_seconds=deadline))
    reports = [node_report_from_proto(n) for n in response.nodes]
    if as_json:
        dump_json({"result_id": response.result_id,
                   "nodes": [{"node_id": r.node_id, "stored": r.outcome is NodeOutcome.ANSWERED,
                              "outcome": r.outcome.value, "reason": r.reason} for r in reports]})
    else:
        out = console()
        for r in reports:
            state = "stored" if r.outcome is NodeOutcome.ANSWERED else (
                f"[yellow]not stored: {status_name(r.outcome)} ({escape(r.reason)})[/yellow]")
            out.print(f"{escape(r.node_id)}: {state}")
        stored = sum(r.outcome is NodeOutcome.ANSWERED for r in reports)
        out.print(f"result {response.result_id} published to {stored} of {len(reports)} nodes")
    if any(r.outcome is not NodeOutcome.ANSWERED for r in reports):
        raise SystemExit(EXIT["incomplete"])
