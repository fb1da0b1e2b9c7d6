"""The `koepel` command: one group per role."""

from __future__ import annotations

import click

from cli.aggregator_cmds import aggregator
from cli.audit_cmds import audit
from cli.certs_cmds import certs
from cli.demo import demo
from cli.health_cmds import health
from cli.node_budget_cmds import dry_run, ledger, node_budget, signing_key
from cli.node_cmds import node
from cli.org_cmds import ORG_COMMANDS
from cli.query_cmds import history, nodes, query
from cli.report_cmds import report
from cli.seal_cmds import decrypt, keygen
from cli.web_cmds import WEB_COMMANDS

__all__ = ["cli", "main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option("0.1.0", prog_name="koepel")
def cli() -> None:
    """koepel: differentially private sector statistics for social-economy federations."""


for command in (node_budget, dry_run, ledger, signing_key, *ORG_COMMANDS, *WEB_COMMANDS):
    node.add_command(command)
cli.add_command(node)
cli.add_command(aggregator)
cli.add_command(query)
cli.add_command(nodes)
cli.add_command(history)
cli.add_command(report)
cli.add_command(demo)
cli.add_command(certs)
cli.add_command(health)
cli.add_command(audit)
cli.add_command(keygen)
cli.add_command(decrypt)


def main() -> None:
    cli()
