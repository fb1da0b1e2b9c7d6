"""`koepel query`, `koepel nodes`, `koepel history`: a federation operator's commands."""

from __future__ import annotations

import click

from cli.client import AggregatorClient, Connection, connection_options
from cli.errors import EXIT, KoepelCliError, handle_errors
from cli.render import (
    budget_table,
    console,
    dump_json,
    nodes_line,
    quantile_table,
    result_json,
    result_table,
)
from privacy import default_catalogue
from protos import pb2

__all__ = ["build_spec", "history", "nodes", "query"]

AGGREGATOR_OPTION = connection_options

_STATISTICS = {"count": pb2.STATISTIC_COUNT, "sum": pb2.STATISTIC_SUM, "mean": pb2.STATISTIC_MEAN,
               "histogram": pb2.STATISTIC_HISTOGRAM}


def build_spec(measure: str, statistic: str, group_by: tuple[str, ...],
               filters: tuple[str, ...], period: str, epsilon: str,
               catalogue_version: str) -> pb2.QuerySpec:
    parsed = []
    for item in filters:
        dimension, sep, values = item.partition("=")
        if not sep or not dimension or not values:
            raise KoepelCliError(f"--filter takes DIMENSION=VALUE[,VALUE…], got {item!r}",
                                 EXIT["usage"])
        parsed.append(pb2.Filter(dimension=dimension, values=values.split(",")))
    return pb2.QuerySpec(
        catalogue_version=catalogue_version, measure=measure,
        statistic=_STATISTICS[statistic], group_by=list(group_by), filters=parsed,
        period=period, epsilon=epsilon,
    )


@click.command()
@click.argument("measure")
@click.option("--stat", "statistic", type=click.Choice(sorted(_STATISTICS)), default="count",
              show_default=True)
@click.option("--by", "group_by", multiple=True, help="Group-by dimension. Repeatable.")
@click.option("--filter", "filters", multiple=True, metavar="DIM=V1,V2",
              help="Keep only these cells of a dimension. Repeatable.")
@click.option("--period", required=True, help="Reference period: 2025 or 2025-Q3.")
@click.option("--epsilon", required=True, help="Privacy loss to spend on every node, e.g. 0.5.")
@click.option("--catalogue-version", default=None, help="Default: the shipped catalogue's.")
@click.option("--deadline", type=float, default=0.0, help="Per-node deadline in seconds.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@AGGREGATOR_OPTION
@handle_errors
def query(measure: str, statistic: str, group_by: tuple[str, ...], filters: tuple[str, ...],
          period: str, epsilon: str, catalogue_version: str | None, deadline: float,
          as_json: bool, conn: Connection) -> None:
    """Ask the federation for a DP sector figure of MEASURE."""
    spec = build_spec(measure, statistic, group_by, filters, period, epsilon,
                      catalogue_version or default_catalogue().version)
    with AggregatorClient(conn) as client:
        result = client.submit(spec, deadline)
    if as_json:
        dump_json(result_json(result))
    else:
        out = console()
        title = f"{measure} · {statistic} · {period} · ε={epsilon} per node"
        out.print(result_table(result, title=title, digits=2 if statistic == "mean" else 1))
        if result.quantiles:
            out.print(quantile_table(result, title="Quartiles from the summed histograms"))
        out.print(nodes_line(result))
    _exit_for(result)


def _exit_for(result: pb2.SectorResult) -> None:
    """Exit 7 when every node refused for budget, 9 when below quorum, else 0."""
    outcomes = {n.outcome for n in result.nodes}
    if outcomes == {pb2.NODE_OUTCOME_BUDGET_EXHAUSTED}:
        click.echo("every node refused: privacy budget exhausted; nothing was spent", err=True)
        raise SystemExit(EXIT["budget"])
    if not result.complete:
        click.echo("result incomplete: fewer nodes answered than the federation's quorum",
                   err=True)
        raise SystemExit(EXIT["incomplete"])


@click.command()
@click.option("--json", "as_json", is_flag=True)
@AGGREGATOR_OPTION
@handle_errors
def nodes(as_json: bool, conn: Connection) -> None:
    """Each registered node: reachable or not, catalogue versions, this federation's budget."""
    with AggregatorClient(conn) as client:
        infos = client.nodes()
    if as_json:
        dump_json([{"node_id": n.node_id, "organisation": n.organisation,
                    "reachable": n.reachable, "reason": n.reason,
                    "catalogue_versions": list(n.catalogue_versions),
                    "budget": [{"querier": b.querier, "period": b.period,
                                "scope": b.scope or "querier",
                                "cap_epsilon": b.cap_micro_epsilon / 1e6,
                                "spent_epsilon": b.spent_micro_epsilon / 1e6,
                                "remaining_epsilon": _remaining(b) / 1e6} for b in n.budget]}
                   for n in infos])
        return
    rows = [(n.node_id, b.querier, b.period, b.spent_micro_epsilon / 1e6,
             _remaining(b) / 1e6)
            for n in infos for b in n.budget]
    out = console()
    out.print(budget_table(rows, title="Nodes and this federation's privacy budget"))
    for n in infos:
        if not n.reachable:
            out.print(f"[red]{n.node_id} unreachable[/red]: {n.reason}")


def _remaining(line: pb2.BudgetLine) -> int:
    """The ε a next query could still ask (under zCDP not simply cap minus spent)."""
    if line.scope:
        return line.remaining_micro_epsilon
    return line.cap_micro_epsilon - line.spent_micro_epsilon


@click.command()
@click.argument("result_id", required=False, default="")
@click.option("--limit", default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@AGGREGATOR_OPTION
@handle_errors
def history(result_id: str, limit: int, as_json: bool, conn: Connection) -> None:
    """List past results, or re-show one (costs no budget: results are already private)."""
    with AggregatorClient(conn) as client:
        results = client.history(result_id, limit)
    if as_json:
        dump_json([result_json(r) for r in results])
        return
    out = console()
    if result_id:
        for result in results:
            out.print(result_table(result, title=f"{result.spec.measure} ({result.result_id})"))
            out.print(nodes_line(result))
        return
    for result in results:
        stat = pb2.Statistic.Name(result.spec.statistic).removeprefix("STATISTIC_").lower()
        out.print(f"{result.result_id}  {result.created_at}  {result.spec.measure} {stat} "
                  f"by {','.join(result.group_by) or '-'}  {result.spec.period}  "
                  f"ε={result.spec.epsilon}")
