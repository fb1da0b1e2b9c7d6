"""The `koepel` command: one group per role.

Each command's module is imported only when that command runs (or shows its own help):
``koepel --help`` lists the commands from the table below without loading any of them, so that
starting the CLI costs little more than starting Python (tests/test_cli_startup.py; measured in
bench/). A new command is added to ``_COMMANDS`` with its one-line help.
"""

from __future__ import annotations

import importlib

import click

__all__ = ["cli", "main"]

# name: (module, attribute, the one line ``koepel --help`` shows)
_COMMANDS: dict[str, tuple[str, str, str]] = {
    "aggregator": ("cli.aggregator_cmds", "aggregator", "Run the federation's aggregator."),
    "audit": ("cli.audit_cmds", "audit",
              "Verify nodes' privacy ledgers and report what was spent."),
    "certs": ("cli.certs_cmds", "certs",
              "Create the federation CA and issue certificates (mutual TLS)."),
    "decrypt": ("cli.seal_cmds", "decrypt",
                "Open a sealed export (an .age file) with your identity."),
    "demo": ("cli.demo", "demo",
             "Start a local federation of synthetic organisations and run sector figures."),
    "health": ("cli.health_cmds", "health",
               "Check a koepel server through the standard gRPC health service."),
    "keygen": ("cli.seal_cmds", "keygen",
               "Make an age key pair for receiving sealed exports."),
    "history": ("cli.query_cmds", "history",
                "List past results, or re-show one (costs no budget)."),
    "node": ("cli.node_cmds", "node",
             "Run an organisation's node: its encrypted records and its budget."),
    "nodes": ("cli.query_cmds", "nodes",
              "Each registered node: status, catalogue versions, ε left, last contact."),
    "publish": ("cli.report_cmds", "publish",
                "Send a stored sector result to the nodes (each organisation beside it)."),
    "query": ("cli.query_cmds", "query", "Ask the federation for a DP sector figure of MEASURE."),
    "report": ("cli.report_cmds", "report",
               "Write the sector report (fr/nl/en; HTML, PDF or XLSX), trends and splits."),
}


def _node_group() -> click.Group:
    """The node group with the commands other modules contribute to it."""
    from cli.node_budget_cmds import dry_run, ledger, node_budget, signing_key
    from cli.node_cmds import node
    from cli.org_cmds import ORG_COMMANDS
    from cli.web_cmds import WEB_COMMANDS

    for command in (node_budget, dry_run, ledger, signing_key, *ORG_COMMANDS, *WEB_COMMANDS):
        if command.name not in node.commands:
            node.add_command(command)
    return node


class _LazyGroup(click.Group):
    """A group whose commands are imported when first asked for by name."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(_COMMANDS))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in _COMMANDS and cmd_name not in self.commands:
            module, attribute, _ = _COMMANDS[cmd_name]
            command = (_node_group() if cmd_name == "node"
                       else getattr(importlib.import_module(module), attribute))
            self.add_command(command, cmd_name)
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, _COMMANDS[name][2] if name in _COMMANDS and name not in self.commands
                 else (self.commands[name].get_short_help_str(formatter.width)))
                for name in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option("0.1.0", prog_name="koepel")
def cli() -> None:
    """koepel: differentially private sector statistics for social-economy federations."""


def main() -> None:
    cli()
