"""`koepel query`, `koepel nodes`, `koepel history`: a federation operator's commands.

Thin: parse, ask the aggregator's service, render. Human tables by default, ``--json`` or
``--csv`` for scripts. ``query --dry-run`` and ``history`` never spend any budget.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from cli.connection import Connection, connection_options
from cli.errors import EXIT, KoepelCliError, handle_errors
from cli.lang import N_, _

if TYPE_CHECKING:
    from aggregator import SectorResult
    from protos import pb2

# The aggregator, grpc, OpenDP (through privacy) and rich load when a command runs, not when
# ``koepel`` or ``koepel query --help`` starts (tests/test_cli_startup.py).

__all__ = ["AGGREGATOR_OPTION", "OUTPUT_OPTIONS", "build_spec", "history", "nodes", "query",
           "show_result"]

F = TypeVar("F", bound=Callable[..., Any])

AGGREGATOR_OPTION = connection_options

_STATISTICS = ("count", "histogram", "mean", "sum")


def OUTPUT_OPTIONS(func: F) -> F:
    """``--json`` and ``--csv``, mutually exclusive; a human table when neither is given."""
    func = click.option("--csv", "as_csv", is_flag=True, help=N_("CSV for spreadsheets."))(func)
    return click.option("--json", "as_json", is_flag=True, help=N_("JSON for scripts."))(func)


def _output(as_json: bool, as_csv: bool) -> str:
    if as_json and as_csv:
        raise KoepelCliError(_("choose one of --json and --csv"), EXIT["usage"])
    return "json" if as_json else "csv" if as_csv else "table"


def build_spec(measure: str, statistic: str, group_by: tuple[str, ...],
               filters: tuple[str, ...], period: str, epsilon: str,
               catalogue_version: str) -> pb2.QuerySpec:
    from protos import pb2

    statistics = {"count": pb2.STATISTIC_COUNT, "sum": pb2.STATISTIC_SUM,
                  "mean": pb2.STATISTIC_MEAN, "histogram": pb2.STATISTIC_HISTOGRAM}
    parsed = []
    for item in filters:
        dimension, sep, values = item.partition("=")
        if not sep or not dimension or not values:
            raise KoepelCliError(_("--filter takes DIMENSION=VALUE[,VALUE…], got {item}")
                                 .format(item=repr(item)), EXIT["usage"])
        parsed.append(pb2.Filter(dimension=dimension, values=values.split(",")))
    return pb2.QuerySpec(
        catalogue_version=catalogue_version, measure=measure,
        statistic=statistics[statistic], group_by=list(group_by), filters=parsed,
        period=period, epsilon=epsilon,
    )


def show_result(result: SectorResult, output: str, *, receipts: bool = False,
                title: str | None = None) -> None:
    """Render one result; node details appear whenever a node is missing or on request."""
    from aggregator import NodeOutcome
    from cli.render import (
        RESULT_CSV_HEADER,
        clamp_notes,
        console,
        dump_json,
        node_reports_table,
        nodes_line,
        publishable_summary,
        quantile_table,
        result_csv,
        result_json,
        result_table,
        styled,
        write_csv,
    )

    if output == "json":
        dump_json(result_json(result, receipts=receipts))
        return
    if output == "csv":
        write_csv(RESULT_CSV_HEADER, result_csv([result]))
        return
    out = console()
    out.print(result_table(result, title=title))
    summary = publishable_summary(result)
    if summary:
        out.print(summary)
    from rich.markup import escape

    for line in clamp_notes(result):
        out.print(styled("yellow", _("clamped:")) + f" {escape(line)}")
    if result.quantiles:
        out.print(quantile_table(result, title=_("Quartiles from the summed histograms")))
    out.print(nodes_line(result))
    if result.aggregation == "secure":
        out.print(_("Secure aggregation: the aggregator saw only the sum over the nodes; its "
                    "noise is the nodes' shares of one central noise."))
    if receipts or any(n.outcome is not NodeOutcome.ANSWERED for n in result.nodes):
        out.print(node_reports_table(result, title=_("Nodes for result {result_id}").format(
            result_id=result.result_id)))
    if receipts:
        for r in result.receipts:
            out.print(_("receipt {node}: {size} bytes, query id {query_id}, received {received}")
                      .format(node=r.node_id, size=len(r.response), query_id=r.query_id,
                              received=r.received_at))


def _query_spec(measure: str | None, statistic: str, group_by: tuple[str, ...],
                filters: tuple[str, ...], period: str | None, epsilon: str | None,
                catalogue_version: str | None) -> pb2.QuerySpec:
    if not measure or not period or not epsilon:
        raise KoepelCliError(_("name a MEASURE with --period and --epsilon (or use --resume "
                               "RESULT_ID to ask a stored query again)"), EXIT["usage"])
    from privacy import default_catalogue

    return build_spec(measure, statistic, group_by, filters, period, epsilon,
                      catalogue_version or default_catalogue().version)


@click.command()
@click.argument("measure", required=False)
@click.option("--stat", "statistic", type=click.Choice(_STATISTICS), default="count",
              show_default=True)
@click.option("--by", "group_by", multiple=True, help=N_("Group-by dimension. Repeatable."))
@click.option("--filter", "filters", multiple=True, metavar="DIM=V1,V2",
              help=N_("Keep only these cells of a dimension. Repeatable."))
@click.option("--period", help=N_("Reference period: 2025 or 2025-Q3."))
@click.option("--epsilon", help=N_("Privacy loss to spend on every node, e.g. 0.5."))
@click.option("--catalogue-version", default=None, help=N_("Default: the shipped catalogue's."))
@click.option("--deadline", type=float, default=0.0,
              help=N_("Per-node deadline in seconds (default: federation.toml)."))
@click.option("--dry-run", is_flag=True,
              help=N_("Show the cost per node and what each would have left; spend nothing."))
@click.option("--resume", "resume_id", default=None, metavar="RESULT_ID",
              help=N_("Ask a stored result's query again with the same query id: nodes that "
                      "charged it replay their answer for free; the others answer now."))
@click.option("--query-id", default="", metavar="ID",
              help=N_("The idempotency key sent to the nodes (default: a new one). Re-using an "
                      "earlier query's id (e.g. from the aggregator's log) for the same query "
                      "returns the nodes' stored answers at no extra cost."))
@click.option("--secure/--per-node", "secure", default=None,
              help=N_("Secure aggregation (the aggregator sees only the nodes' sum, with about one "
                      "central noise; needs a zCDP catalogue) or per-node noise. Default: "
                      "federation.toml's [aggregation] mode."))
@OUTPUT_OPTIONS
@AGGREGATOR_OPTION
@handle_errors
def query(measure: str | None, statistic: str, group_by: tuple[str, ...],
          filters: tuple[str, ...], period: str | None, epsilon: str | None,
          catalogue_version: str | None, deadline: float, dry_run: bool,
          resume_id: str | None, query_id: str, secure: bool | None, as_json: bool,
          as_csv: bool, conn: Connection) -> None:
    """Ask the federation for a DP sector figure of MEASURE.

    Exit code 7 when every node refused for lack of budget (nothing was spent), 9 when the
    result is incomplete (fewer nodes than the quorum answered).
    """
    from aggregator import NodeOutcome, spec_to_proto
    from cli.client import AggregatorClient
    from cli.render import console, dump_json, significant, write_csv
    from cli.render_federation import PLAN_CSV_HEADER, plan_csv, plan_json, plan_table
    from privacy import format_micro

    output = _output(as_json, as_csv)
    if secure and (resume_id or query_id):
        raise KoepelCliError(_("a secure query always gets a fresh round id: it cannot be "
                               "resumed or given --query-id; leave those out, or ask with "
                               "--per-node"), EXIT["usage"])
    with AggregatorClient(conn) as client:
        if resume_id:
            if measure or query_id:
                raise KoepelCliError(_("--resume asks the stored query again with its own "
                                       "id; leave out MEASURE and --query-id"), EXIT["usage"])
            (stored,) = client.history(resume_id)
            spec = spec_to_proto(stored.spec)
            query_id = stored.query_id
        else:
            spec = _query_spec(measure, statistic, group_by, filters, period, epsilon,
                               catalogue_version)
        if dry_run:
            plan = client.plan(spec)
            if output == "json":
                dump_json(plan_json(plan))
            elif output == "csv":
                write_csv(PLAN_CSV_HEADER, plan_csv(plan))
            else:
                out = console()
                out.print(plan_table(plan, title=_(
                    "Dry run: {measure} · {period} · ε={epsilon} per node (nothing spent)")
                    .format(measure=spec.measure, period=spec.period, epsilon=spec.epsilon)))
                answering = sum(1 for n in plan.nodes if n.expected is NodeOutcome.ANSWERED)
                out.print(_("{cells} cells; {answering} of {nodes} nodes would answer, "
                            "spending at most {cost} each (ε={total} over the federation).")
                          .format(cells=plan.cells, answering=answering, nodes=len(plan.nodes),
                                  cost=plan.describe(plan.cost_micro),
                                  total=format_micro(plan.total_epsilon_micro)))
                se = plan.expected_se
                if se and math.isfinite(se.get("per_node", math.nan)):
                    secure_se = se.get("secure", math.nan)
                    number = significant
                    secure_text = (_("{se} with secure aggregation (--secure)").format(
                        se=number(secure_se)) if math.isfinite(secure_se) else
                        _("secure aggregation needs a zCDP catalogue"))
                    out.print(_("Expected standard error of one cell: {se} with per-node "
                                "noise; {secure}; one trusted curator: {central}.").format(
                        se=number(se["per_node"]), secure=secure_text,
                        central=number(se["central"])))
                if not plan.complete_expected:
                    out.print("[yellow]{}[/yellow]".format(
                        _("The result would be INCOMPLETE: {reasons}").format(
                            reasons="; ".join(plan.incomplete_reasons))))
            return
        aggregation = "" if secure is None else ("secure" if secure else "per_node")
        result = client.submit(spec, deadline, query_id, aggregation)
    show_result(result, output)
    _exit_for(result, say=output == "table")


def _exit_for(result: SectorResult, *, say: bool) -> None:
    """Exit 7 when every node refused for budget, 9 when below quorum, else 0.

    With ``say``, one line on stderr says why (JSON and CSV already carry it in the data).
    """
    from aggregator import NodeOutcome

    if result.nodes and all(n.outcome is NodeOutcome.BUDGET_EXHAUSTED for n in result.nodes):
        if say:
            click.echo(_("every node refused: privacy budget exhausted; nothing was spent"),
                       err=True)
        raise SystemExit(EXIT["budget"])
    if not result.complete:
        if say:
            click.echo(_("result incomplete: fewer nodes answered than the federation's "
                         "quorum"), err=True)
        raise SystemExit(EXIT["incomplete"])


@click.command()
@OUTPUT_OPTIONS
@AGGREGATOR_OPTION
@handle_errors
def nodes(as_json: bool, as_csv: bool, conn: Connection) -> None:
    """Each registered node: status, catalogue versions, this federation's ε left, last contact."""
    from cli.client import AggregatorClient
    from cli.render import console, dump_json, write_csv
    from cli.render_federation import NODES_CSV_HEADER, nodes_csv, nodes_json, nodes_table

    output = _output(as_json, as_csv)
    with AggregatorClient(conn) as client:
        federation, version, states = client.nodes()
    if output == "json":
        dump_json(nodes_json(states, federation=federation, catalogue_version=version))
    elif output == "csv":
        write_csv(NODES_CSV_HEADER, nodes_csv(states, catalogue_version=version))
    else:
        console().print(nodes_table(states, federation=federation, catalogue_version=version))


@click.command()
@click.argument("result_id", required=False, default="")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 1000))
@click.option("--receipts", is_flag=True, help=N_("With RESULT_ID: show every node's receipt."))
@OUTPUT_OPTIONS
@AGGREGATOR_OPTION
@handle_errors
def history(result_id: str, limit: int, receipts: bool, as_json: bool, as_csv: bool,
            conn: Connection) -> None:
    """List past results, or re-show one (costs no budget: results are already private)."""
    from cli.client import AggregatorClient
    from cli.render import (
        RESULT_CSV_HEADER,
        console,
        dump_json,
        history_table,
        result_csv,
        result_json,
        write_csv,
    )

    output = _output(as_json, as_csv)
    with AggregatorClient(conn) as client:
        results = client.history(result_id, limit, include_receipts=receipts and bool(result_id))
    if result_id:
        show_result(results[0], output, receipts=receipts)
        return
    if output == "json":
        dump_json([result_json(r) for r in results])
    elif output == "csv":
        write_csv(RESULT_CSV_HEADER, result_csv(results))
    else:
        console().print(history_table(results))
