"""`koepel node budget | dry-run | ledger | signing-key`: the node operator's privacy books.

These run locally against the node's own files (never over the wire): the budget per querier
and period with the node-wide and long-horizon caps, what a query would cost before anyone asks
it, a signed ledger export for auditors, and the signing key.
"""

from __future__ import annotations

from pathlib import Path

import click
from rich.table import Table

from cli.errors import EXIT, KoepelCliError, handle_errors
from cli.lang import N_, _, micro
from cli.node_options import CONFIG_OPTION, export_options, export_sealing
from cli.render import console, dump_json, styled
from node import BudgetLine, create_signing_key, load_node_config, open_node
from privacy import QuerySpec, Statistic, format_micro, parse_epsilon

__all__ = ["dry_run", "ledger", "node_budget", "signing_key"]

_SCOPES = {"querier": N_("querier"), "node": N_("all queriers"), "lifetime": N_("all periods"),
           "operator": N_("operator")}


def _line_json(line: BudgetLine) -> dict[str, object]:
    return {
        "scope": line.scope, "querier": line.querier, "period": line.period,
        "unit": line.unit, "cap": format_micro(line.cap_micro),
        "spent": format_micro(line.spent_micro),
        "remaining": format_micro(line.remaining_micro),
        "cap_epsilon": format_micro(line.cap_epsilon_micro),
        "spent_epsilon": format_micro(line.spent_epsilon_micro),
        "remaining_epsilon": format_micro(line.remaining_epsilon_micro),
    }


def budget_lines_table(node_id: str, lines: list[BudgetLine], *, title: str) -> Table:
    """One row per scope and period; ρ columns appear under zCDP accounting."""
    zcdp = any(line.unit == "rho" for line in lines)
    table = Table(title=title, title_justify="left")
    for name in (_("node"), _("scope"), _("querier"), _("period")):
        table.add_column(name)
    if zcdp:
        for name in (_("cap ρ"), _("spent ρ"), _("remaining ρ")):
            table.add_column(name, justify="right")
    for name in (_("cap ε"), _("spent ε"), _("remaining ε")):
        table.add_column(name, justify="right")
    for line in lines:
        cells = [node_id, _(_SCOPES.get(line.scope, line.scope)), line.querier, line.period]
        if zcdp:
            cells += [micro(line.cap_micro), micro(line.spent_micro),
                      micro(line.remaining_micro)]
        cells += [micro(line.cap_epsilon_micro), micro(line.spent_epsilon_micro),
                  micro(line.remaining_epsilon_micro)]
        table.add_row(*cells)
    return table


@click.command(name="budget")
@CONFIG_OPTION
@click.option("--json", "as_json", is_flag=True, help=N_("Machine-readable output."))
@handle_errors
def node_budget(config_path: Path, as_json: bool) -> None:
    """Spent and remaining budget per querier and period, node-wide and long-horizon, and
    per operator with a cap of its own (QUERIER/OPERATOR)."""
    runtime = open_node(load_node_config(config_path))
    try:
        lines = runtime.engine.all_budgets() + runtime.engine.operator_budgets()
        rule = runtime.engine.loss_rule
    finally:
        runtime.close()
    if as_json:
        dump_json({"node_id": runtime.config.node_id, "accounting": rule.accounting.value,
                   "delta": str(rule.delta or ""), "lines": [_line_json(x) for x in lines]})
        return
    title = (_("Privacy budget (zCDP, ε at δ={delta})").format(delta=rule.delta) if rule.delta
             else _("Privacy budget (pure ε)"))
    console().print(budget_lines_table(runtime.config.node_id, lines, title=title))


@click.command(name="dry-run")
@CONFIG_OPTION
@click.argument("measure")
@click.option("--stat", "statistic", type=click.Choice([s.value for s in Statistic]),
              default="count", show_default=True)
@click.option("--by", "group_by", multiple=True, help=N_("Group-by dimension. Repeatable."))
@click.option("--filter", "filters", multiple=True, metavar="DIM=V1,V2",
              help=N_("Keep only these cells of a dimension. Repeatable."))
@click.option("--period", required=True, help=N_("Reference period: 2025 or 2025-Q3."))
@click.option("--epsilon", required=True, help=N_("Privacy loss the query would ask for."))
@click.option("--querier", required=True, help=N_("The querier identity that would ask."))
@click.option("--catalogue-version", default=None, help=N_("Default: the node's catalogue."))
@click.option("--json", "as_json", is_flag=True, help=N_("Machine-readable output."))
@handle_errors
def dry_run(config_path: Path, measure: str, statistic: str, group_by: tuple[str, ...],
            filters: tuple[str, ...], period: str, epsilon: str, querier: str,
            catalogue_version: str | None, as_json: bool) -> None:
    """What a query would cost on this node and whether it fits; reads no record."""
    parsed: list[tuple[str, tuple[str, ...]]] = []
    for item in filters:
        dimension, sep, values = item.partition("=")
        if not sep or not dimension or not values:
            raise KoepelCliError(_("--filter takes DIMENSION=VALUE[,VALUE…], got {item}")
                                 .format(item=repr(item)), EXIT["usage"])
        parsed.append((dimension, tuple(values.split(","))))
    config = load_node_config(config_path)
    spec = QuerySpec(catalogue_version or config.catalogue.version, measure,
                     Statistic(statistic), group_by, tuple(parsed), period,
                     parse_epsilon(epsilon))
    runtime = open_node(config)
    try:
        result = runtime.engine.dry_run(querier, spec)
    finally:
        runtime.close()
    if as_json:
        dump_json({"unit": result.unit, "cost": format_micro(result.cost_micro),
                   "cost_epsilon": format_micro(result.cost_epsilon_micro),
                   "mechanism": result.mechanism, "fits": result.fits,
                   "vectors": [{"role": r, "sensitivity": s, "budget": format_micro(b)}
                               for r, s, b in result.vectors],
                   "lines": [_line_json(x) for x in result.lines]})
    else:
        out = console()
        symbol = "ρ" if result.unit == "rho" else "ε"
        shares = ", ".join(_("{role} {budget} (sensitivity {sensitivity})").format(
            role=role, budget=micro(b), sensitivity=s) for role, s, b in result.vectors)
        out.print(_("{mechanism}: would cost {symbol}={cost} (ε={epsilon}); split: {shares}")
                  .format(mechanism=result.mechanism, symbol=symbol,
                          cost=micro(result.cost_micro),
                          epsilon=micro(result.cost_epsilon_micro), shares=shares))
        out.print(budget_lines_table(config.node_id, list(result.lines),
                                     title=_("Budget it would be charged against")))
        out.print(_("fits every cap") if result.fits
                  else styled("red", _("would be refused: over a cap")))
    if not result.fits:
        raise SystemExit(EXIT["budget"])


@click.group()
def ledger() -> None:
    """The node's privacy ledger."""


@ledger.command(name="export")
@CONFIG_OPTION
@click.option("--out", "out_path", type=click.Path(path_type=Path), required=True,
              help=N_("File to write (refused if it exists)."))
@export_options
@handle_errors
def export(config_path: Path, out_path: Path, encrypt_to: tuple[str, ...],
           plaintext: bool) -> None:
    """Write the whole ledger with a signed statement of its head and caps, for auditors.

    The export holds querier identities, query digests and costs; no record of any person.
    """
    from node.store.private_files import ExportExists, write_private

    config = load_node_config(config_path)
    sealing = export_sealing(N_("the ledger export"), config.export_recipients, encrypt_to,
                             plaintext)
    out_path = sealing.path_for(out_path)
    if out_path.exists():
        raise KoepelCliError(_("{path} exists; name a new file").format(path=out_path),
                             EXIT["usage"])
    runtime = open_node(config)
    try:
        exported = runtime.engine.export_ledger()
    finally:
        runtime.close()
    try:
        write_private(out_path, sealing.payload((exported.to_json() + "\n").encode("utf-8")))
    except ExportExists as exc:
        raise KoepelCliError(str(exc), EXIT["usage"]) from None
    head = exported.statement
    click.echo(_("exported {entries} ledger entries of {node} (head {sequence} {digest}…) to "
                 "{path} ({sealing})").format(
        entries=len(exported.records), node=exported.node_id, sequence=head.head_sequence,
        digest=head.head_hash[:16], path=out_path, sealing=sealing.describe()))


@click.command(name="signing-key")
@CONFIG_OPTION
@click.option("--show", is_flag=True, help=N_("Print the existing key's public half (for the "
                 "federation to certify with `koepel certs certify-signing-key`)."))
@handle_errors
def signing_key(config_path: Path, show: bool) -> None:
    """Create the node's Ed25519 signing key (for nodes created before signing existed)."""
    config = load_node_config(config_path)
    path = config.signing_key_file
    if show:
        from node.engine.signing import Signer

        click.echo(Signer.load(path).public_key.hex())
        return
    if path is None or path.exists():
        raise KoepelCliError(_("{path} already exists; nothing was changed").format(path=path),
                             EXIT["usage"])
    public = create_signing_key(path)
    click.echo(_("created {path} (0600); public key {key}").format(path=path,
                                                                  key=public.hex()))
