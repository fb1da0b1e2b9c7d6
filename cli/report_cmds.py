"""`koepel report`: run a named set of sector indicators and write a self-contained HTML report.

``--dry-run`` shows what the whole set would cost each node; ``--from-history`` rebuilds the
report from stored results (the newest matching each figure) without spending anything.
"""

from __future__ import annotations

import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import click
from rich.progress import Progress

from aggregator import (
    REPORTS,
    Indicator,
    NodeOutcome,
    SectorResult,
    merge_plans,
    report_queries,
    spec_to_proto,
)
from cli.client import AggregatorClient, Connection
from cli.errors import EXIT, KoepelCliError, handle_errors
from cli.query_cmds import AGGREGATOR_OPTION
from cli.render import console, dump_json, result_json
from cli.render_federation import plan_json, plan_table
from cli.report_html import ReportFigure, render_report
from privacy import QuerySpec, default_catalogue, format_micro, parse_epsilon

__all__ = ["report"]

_HISTORY_SCAN = 1000


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(prefix=".koepel-report-", suffix=".html", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.chmod(tmp, 0o644)  # a report is meant to be handed out; it holds only DP figures
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _matches(result: SectorResult, spec: QuerySpec) -> bool:
    s = result.spec
    return (s.catalogue_version, s.measure, s.statistic, s.group_by, s.filters, s.period) == (
        spec.catalogue_version, spec.measure, spec.statistic, spec.group_by, spec.filters,
        spec.period)


def _from_history(client: AggregatorClient,
                  queries: list[tuple[Indicator, QuerySpec]]) -> list[ReportFigure]:
    stored = client.history(limit=_HISTORY_SCAN)  # newest first
    figures, missing = [], []
    for indicator, spec in queries:
        found = next((r for r in stored if _matches(r, spec)), None)
        if found is None:
            missing.append(indicator.key)
        else:
            figures.append(ReportFigure(indicator, found))
    if missing:
        raise KoepelCliError(f"no stored result for {', '.join(missing)} in {spec.period}; "
                             "run the report without --from-history first", EXIT["usage"])
    return figures


@click.command()
@click.option("--name", default="yearly", show_default=True, type=click.Choice(sorted(REPORTS)),
              help="Which set of indicators.")
@click.option("--period", required=True, help="Reference period, e.g. 2025.")
@click.option("--epsilon", default="3", show_default=True,
              help="Total ε each node spends on the whole report (split between figures).")
@click.option("--out", "out_path", type=click.Path(path_type=Path, dir_okay=False),
              default=None, help="Where to write the HTML report (default: report-PERIOD.html).")
@click.option("--title", default=None, help="The report's title.")
@click.option("--deadline", type=float, default=0.0, help="Per-node deadline in seconds.")
@click.option("--dry-run", is_flag=True, help="Show the cost per node; spend nothing.")
@click.option("--from-history", is_flag=True,
              help="Build the report from stored results; spend nothing.")
@click.option("--json", "as_json", is_flag=True, help="Also print the results as JSON.")
@AGGREGATOR_OPTION
@handle_errors
def report(name: str, period: str, epsilon: str, out_path: Path | None, title: str | None,
           deadline: float, dry_run: bool, from_history: bool, as_json: bool,
           conn: Connection) -> None:
    """Run the sector's indicators and write an HTML report with charts and error bars.

    Exit code 9 when a figure is incomplete (the report is written all the same, with warnings).
    """
    if dry_run and from_history:
        raise KoepelCliError("choose one of --dry-run and --from-history", EXIT["usage"])
    total = parse_epsilon(epsilon, field="--epsilon")
    queries = report_queries(name, period=period, epsilon_micro=total,
                             catalogue=default_catalogue())
    out = console()
    with AggregatorClient(conn) as client:
        if dry_run:
            plan = merge_plans([client.plan(spec_to_proto(spec)) for _, spec in queries])
            if as_json:
                dump_json(plan_json(plan))
                return
            out.print(plan_table(plan, title=f"Dry run: report {name!r} for {period}, "
                                             f"{len(queries)} figures (nothing spent)"))
            answering = sum(1 for n in plan.nodes if n.expected is NodeOutcome.ANSWERED)
            out.print(f"{answering} of {len(plan.nodes)} nodes would answer every figure, "
                      f"spending ε={format_micro(total)} each.")
            return
        if from_history:
            figures = _from_history(client, queries)
        else:
            figures = []
            with Progress(console=console(), transient=True) as progress:
                task = progress.add_task("Asking the federation", total=len(queries))
                for indicator, spec in queries:
                    figures.append(ReportFigure(
                        indicator, client.submit(spec_to_proto(spec), deadline)))
                    progress.advance(task)
    federation = figures[0].result.federation or "federation"
    html = render_report(
        title=title or f"Sector indicators {period}", federation=federation, period=period,
        epsilon_micro=sum(f.result.spec.epsilon_micro for f in figures),
        generated_at=datetime.now(UTC).isoformat(timespec="seconds"), figures=figures)
    path = out_path or Path(f"report-{period}.html")
    _write_atomically(path, html)
    if as_json:
        dump_json({"report": str(path), "results": [result_json(f.result) for f in figures]})
    else:
        for figure in figures:
            state = "complete" if figure.result.complete else "[yellow]INCOMPLETE[/yellow]"
            out.print(f"{figure.indicator.title}: {state} ({len(figure.result.answered)} of "
                      f"{len(figure.result.nodes)} nodes, result {figure.result.result_id})")
        out.print(f"report written to {path}")
    if any(not f.result.complete for f in figures):
        raise SystemExit(EXIT["incomplete"])
