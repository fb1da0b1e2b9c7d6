"""`koepel demo`: a real local federation of synthetic organisations, one sector report."""

from __future__ import annotations

import math
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path

import click
from rich.progress import Progress
from rich.table import Table

from aggregator.federation import AggregationMode
from cli.client import AggregatorClient, Connection
from cli.errors import EXIT, handle_errors
from cli.federation_runner import ZCDP_VERSION, LocalFederation, setup_node
from cli.lang import N_, _
from cli.query_cmds import build_spec
from cli.render import console, nodes_line, result_table
from cli.render_federation import binding_budget
from node.synthetic.generator import sample_federation
from privacy import Accounting, default_catalogue

__all__ = ["demo"]

REPORT = (
    # (title, measure, statistic, group_by)
    (N_("Headcount on 31 December, by target group"), "headcount", "count", ("target_group",)),
    (N_("Share of people leaving who went to a regular job"), "exited_to_regular_job", "mean",
     ()),
    (N_("Support hours per person in the year, by region"), "support_hours", "mean",
     ("region",)),
)


@click.command()
@click.option("--nodes", "n_nodes", default=10, show_default=True, type=click.IntRange(2, 200))
@click.option("--seed", default=2025, show_default=True)
@click.option("--year", default=2025, show_default=True, help=N_("Reference year of the report."))
@click.option("--epsilon", default="0.5", show_default=True, help=N_("ε per figure per node."))
@click.option("--cap", default="3", show_default=True, help=N_("Each node's yearly ε cap."))
@click.option("--workdir", type=click.Path(path_type=Path), default=None,
              help=N_("Keep the federation in this (new) folder instead of a temporary one."))
@click.option("--insecure", is_flag=True,
              help=N_("Plaintext gRPC on loopback instead of mutual TLS with a demo CA (and so "
                      "per-node noise: secure aggregation needs mutual TLS)."))
@click.option("--secure/--per-node", "secure", default=True, show_default=True,
              help=N_("Secure aggregation (the aggregator learns only the nodes' sum, which "
                      "carries about one curator's noise; zCDP accounting) or per-node noise."))
@handle_errors
def demo(n_nodes: int, seed: int, year: int, epsilon: str, cap: str,
         workdir: Path | None, insecure: bool, secure: bool) -> None:
    """Start a local federation of synthetic organisations and run a small sector report."""
    secure = secure and not insecure
    out = console()
    if workdir is not None and workdir.exists():
        raise click.ClickException(_("{folder} exists; name a new folder or omit --workdir")
                                   .format(folder=workdir))
    root = workdir or Path(tempfile.mkdtemp(prefix="koepel-demo-"))
    root.mkdir(parents=True, exist_ok=True)
    profiles = sample_federation(n_nodes, seed)
    try:
        with Progress(console=out, transient=True) as progress:
            task = progress.add_task(_("Creating encrypted nodes"), total=len(profiles))
            for index, profile in enumerate(profiles):
                setup_node(root / profile.org_id, profile, seed=seed + index, year=year,
                           cap_epsilon=cap,
                           accounting=Accounting.ZCDP if secure else Accounting.PURE)
                progress.advance(task)
        sizes = ", ".join(f"{p.org_id} {p.org_type} ({p.n_people})" for p in profiles)
        out.print("[bold]{}[/bold]: {}".format(
            _("{count} synthetic organisations").format(count=len(profiles)), sizes))
        with LocalFederation(root, insecure=insecure) as federation:
            for profile in profiles:
                federation.add_node(profile.org_id, region=profile.region,
                                    kind=profile.org_type, expected_size=profile.n_people)
            with Progress(console=out, transient=True) as progress:
                task = progress.add_task(_("Starting node processes"), total=len(profiles))
                federation.start(on_node=lambda _node: progress.advance(task),
                                 catalogue=ZCDP_VERSION if secure else "",
                                 aggregation=AggregationMode("secure", 0, 1) if secure
                                 else None)
            security = (_("plaintext (--insecure)") if insecure
                        else _("mutual TLS, demo CA in ca/"))
            noise = (_("secure aggregation (catalogue 2026.2-zcdp: the aggregator sees only the "
                       "sum)") if secure else _("per-node noise"))
            out.print(_("aggregator on {address}, {nodes} nodes on loopback, {security}").format(
                address=federation.aggregator_address, nodes=len(profiles),
                security=security) + f", {noise}\n")
            version = ZCDP_VERSION if secure else default_catalogue().version
            incomplete = _report(federation.connection(), year, epsilon, version, secure)
        if incomplete:
            raise SystemExit(EXIT["incomplete"])
    finally:
        if workdir is None:
            shutil.rmtree(root, ignore_errors=True)
        else:
            out.print(_("federation kept in {folder}").format(folder=root))


def _report(conn: Connection, year: int, epsilon: str, version: str, secure: bool) -> bool:
    out = console()
    incomplete = False
    with AggregatorClient(conn) as client:
        for index, (title, measure, statistic, group_by) in enumerate(REPORT):
            spec = build_spec(measure, statistic, group_by, (), str(year), epsilon, version)
            if index == 0:  # what each way of adding noise would give: a free dry run
                out.print(_expected_errors(client.plan(spec).expected_se, secure))
            result = client.submit(spec)
            out.print(result_table(result, title=_("{title} ({year}, ε={epsilon} per node)")
                                   .format(title=_(title), year=year, epsilon=epsilon)))
            out.print(nodes_line(result) + "\n")
            incomplete |= not result.complete
        states = client.nodes()[2]
    table = Table(title=_("Privacy budget left on each node"), title_justify="left")
    for name, justify in ((_("node"), "left"), (_("organisation"), "left"),
                          (_("ε left"), "right")):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for state in states:
        remaining, cap, period = binding_budget(state)
        table.add_row(state.node.node_id, state.node.organisation,
                      _("{remaining} of {cap} ({period})").format(
                          remaining=remaining, cap=cap, period=period) if remaining else "–")
    out.print(table)
    out.print(_("ε left is the cap that binds first on each node: this federation's yearly "
                "cap, or the node-wide or lifetime cap over all queriers (`koepel node budget` "
                "on a node shows all three)."))
    return incomplete


def _expected_errors(expected: Mapping[str, float], secure: bool) -> str:
    """One line: a cell's standard error with per-node noise, secure aggregation, a curator."""
    per_node, central = expected.get("per_node", math.nan), expected.get("central", math.nan)
    safe = expected.get("secure", math.nan)
    if not all(math.isfinite(v) for v in (per_node, central)):
        return ""
    used = _("secure aggregation") if secure else _("per-node noise")
    line = _("Expected standard error of one headcount cell ({used} is in use): per-node noise "
             "{per_node}").format(used=used, per_node=f"{per_node:.3g}")
    if math.isfinite(safe):
        line += _(", secure aggregation {se}").format(se=f"{safe:.3g}")
    return line + _(", one trusted curator {se} (dry run, nothing spent)").format(
        se=f"{central:.3g}") + "\n"
